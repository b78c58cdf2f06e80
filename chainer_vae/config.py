"""config.json: what a run was made with, enough to rebuild its model anywhere.

    {"model":    {"n_in": 784, "n_latent": 20, "n_h": 500, "activation": "softplus"},
     "training": {"epoch": 100, "batchsize": 100, "seed": 0, "gpu": -1, "test": false,
                  "debug": false, "initmodel": null, "resume": null, "communicator": null},
     "data":     {"dataset": "mnist", "data_dir": null, "binarize": false, "image_size": null,
                  "n_train": null},
     "versions": {"python": "3.12.1", "numpy": "2.5.5", "chainer": "7.8.1", "cupy": null,
                  "chainer_vae": "1.0.0"}}

train_vae.py writes it, ``--resume-from`` takes the run's settings from it and
``python -m chainer_vae.visualize`` rebuilds the model from it. The paths a run reads
(``data_dir``, ``initmodel``, ``resume``, a ``dataset`` of one's own images) are kept
absolute, or null; ``--out`` is not kept, so a moved run folder still resumes and redraws.
The flat form of earlier runs (train_vae.py's flags by name) still reads.
"""
import json
import os
import platform

import numpy as np

import chainer

import chainer_vae
from chainer_vae import data, net

FLAGS = {  # train_vae.py's flag: (section, key) in config.json
    'dimz': ('model', 'n_latent'), 'n_hidden': ('model', 'n_h'),
    'activation': ('model', 'activation'),
    'epoch': ('training', 'epoch'), 'batchsize': ('training', 'batchsize'),
    'seed': ('training', 'seed'), 'gpu': ('training', 'gpu'), 'test': ('training', 'test'),
    'debug': ('training', 'debug'), 'initmodel': ('training', 'initmodel'),
    'resume': ('training', 'resume'), 'communicator': ('training', 'communicator'),
    'dataset': ('data', 'dataset'), 'data_dir': ('data', 'data_dir'),
    'binarize': ('data', 'binarize'), 'image_size': ('data', 'image_size'),
    'n_train': ('data', 'n_train'),
}
PATH_FLAGS = ('data_dir', 'initmodel', 'resume')


def _positive(v):
    return type(v) is int and v > 0


# what a config must hold, and what each entry must be; the rest has defaults
REQUIRED = {
    ('model', 'n_in'): _positive, ('model', 'n_latent'): _positive, ('model', 'n_h'): _positive,
    ('model', 'activation'): lambda v: v in net.ACTIVATIONS,
    ('training', 'epoch'): _positive, ('training', 'batchsize'): _positive,
    ('training', 'seed'): lambda v: v is None or (type(v) is int and 0 <= v < 2 ** 32),
    ('training', 'test'): lambda v: type(v) is bool,
    ('data', 'dataset'): lambda v: v in data.DATASETS or (isinstance(v, str) and os.path.isabs(v)),
    ('data', 'data_dir'): lambda v: v is None or isinstance(v, str),
}
DEFAULTS = {('training', 'gpu'): -1, ('training', 'debug'): False, ('data', 'binarize'): False,
            ('data', 'image_size'): None, ('data', 'n_train'): None,
            ('training', 'communicator'): None,
            ('training', 'initmodel'): None, ('training', 'resume'): None}


class ConfigError(Exception):
    """A config.json that cannot be used; the message is one line for the user."""


def versions(gpu=False):
    """The versions that made a run (CuPy's only where it ran on a GPU)."""
    return {'python': platform.python_version(), 'numpy': np.__version__,
            'chainer': chainer.__version__,
            'cupy': chainer.backends.cuda.cupy.__version__ if gpu else None,
            'chainer_vae': chainer_vae.__version__}


def make(flags, n_in, versions):
    """The config of a run from train_vae.py's flags ({name: value}), its images'
    size and ``versions()``; the paths absolute where given (an empty -m/-r: null)."""
    config = {'model': {'n_in': n_in}, 'training': {}, 'data': {}, 'versions': versions}
    for flag, (section, key) in FLAGS.items():
        value = flags[flag]
        if flag in PATH_FLAGS:
            value = os.path.abspath(value) if value else None
        if flag == 'dataset' and value not in data.DATASETS:  # one's own images
            value = os.path.abspath(value)
        config[section][key] = value
    return config


def flags_of(config):
    """train_vae.py's flags ({name: value}) of a (read) config."""
    return {flag: config[section][key] for flag, (section, key) in FLAGS.items()}


def _from_flat(flat):
    """The sections of an earlier run's flat config (its flags by name, --out among them)."""
    config = {'model': {'n_in': 784}, 'training': {}, 'data': {}, 'versions': {}}
    for flag, (section, key) in FLAGS.items():
        if flag in flat:
            empty = flag in PATH_FLAGS and not flat[flag]
            config[section][key] = None if empty else flat[flag]
    return config


def read(path):
    """The config.json at ``path``, checked, with defaults filled in and an earlier
    run's flat form read as the sections; ConfigError for anything unusable."""
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError) as e:
        raise ConfigError('%s: not a readable run config (%s)' % (path, e)) from None
    if not isinstance(config, dict):
        raise ConfigError('%s: not a run config' % path)
    flat = 'model' not in config
    if flat:
        config = _from_flat(config)
    flag_of = {place: flag for flag, place in FLAGS.items()}
    for (section, key), fits in REQUIRED.items():
        name = flag_of.get((section, key), key) if flat else '%s.%s' % (section, key)
        part = config.get(section)
        if not isinstance(part, dict) or key not in part:
            raise ConfigError('%s: %s is missing' % (path, name))
        if not fits(part[key]):
            raise ConfigError('%s: %s is invalid: %r' % (path, name, part[key]))
    for (section, key), value in DEFAULTS.items():
        config[section].setdefault(key, value)
    config.setdefault('versions', {})
    return config
