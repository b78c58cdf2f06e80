"""config.json: what a run was made with, enough to rebuild its model anywhere.

    {"model":    {"n_in": 784, "n_latent": 20, "n_h": 500, "activation": "softplus"},
     "training": {"epoch": 100, "batchsize": 100, "seed": 0, "gpu": -1, "test": false,
                  "debug": false, "initmodel": null, "resume": null, "communicator": null,
                  "lr": 0.001, "weight_decay": 0.0, "grad_clip": null},
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
import math
import os
import platform

import numpy as np

import chainer

import chainer_vae
from chainer_vae import data, errors, net

FLAGS = {  # train_vae.py's flag: (section, key) in config.json
    'dimz': ('model', 'n_latent'), 'n_hidden': ('model', 'n_h'),
    'activation': ('model', 'activation'),
    'epoch': ('training', 'epoch'), 'batchsize': ('training', 'batchsize'),
    'seed': ('training', 'seed'), 'gpu': ('training', 'gpu'), 'test': ('training', 'test'),
    'debug': ('training', 'debug'), 'lr': ('training', 'lr'),
    'weight_decay': ('training', 'weight_decay'), 'grad_clip': ('training', 'grad_clip'), 'initmodel': ('training', 'initmodel'),
    'resume': ('training', 'resume'), 'communicator': ('training', 'communicator'),
    'dataset': ('data', 'dataset'), 'data_dir': ('data', 'data_dir'),
    'binarize': ('data', 'binarize'), 'image_size': ('data', 'image_size'),
    'n_train': ('data', 'n_train'),
}
PATH_FLAGS = ('data_dir', 'initmodel', 'resume')


def _positive(v):
    return type(v) is int and v > 0


def _number(v):
    return type(v) in (int, float) and math.isfinite(v)


def _path(v):
    return v is None or isinstance(v, str)


# what each entry of a config must be: those of REQUIRED must be there, the others
# default to DEFAULTS' values (configs written before they existed)
REQUIRED = {
    ('model', 'n_in'): _positive, ('model', 'n_latent'): _positive, ('model', 'n_h'): _positive,
    ('model', 'activation'): lambda v: isinstance(v, str) and v in net.ACTIVATIONS,
    ('training', 'epoch'): _positive, ('training', 'batchsize'): _positive,
    ('training', 'seed'): lambda v: v is None or (type(v) is int and 0 <= v < 2 ** 32),
    ('training', 'test'): lambda v: type(v) is bool,
    ('data', 'dataset'): lambda v: isinstance(v, str) and (v in data.DATASETS or os.path.isabs(v)),
    ('data', 'data_dir'): lambda v: v is None or isinstance(v, str),
}
DEFAULTS = {('training', 'gpu'): -1, ('training', 'debug'): False, ('data', 'binarize'): False,
            ('data', 'image_size'): None, ('data', 'n_train'): None,
            ('training', 'communicator'): None,
            ('training', 'initmodel'): None, ('training', 'resume'): None,
            ('training', 'lr'): 0.001, ('training', 'weight_decay'): 0.0,
            ('training', 'grad_clip'): None}
OPTIONAL = {
    ('training', 'gpu'): lambda v: type(v) is int,
    ('training', 'debug'): lambda v: type(v) is bool,
    ('data', 'binarize'): lambda v: type(v) is bool,
    ('data', 'image_size'): lambda v: v is None or (isinstance(v, list) and len(v) == 2
                                                     and all(map(_positive, v))),
    ('data', 'n_train'): lambda v: v is None or _positive(v),
    ('training', 'communicator'): lambda v: v is None or v in COMMUNICATORS,
    ('training', 'initmodel'): _path, ('training', 'resume'): _path,
    ('training', 'lr'): lambda v: _number(v) and v > 0,
    ('training', 'weight_decay'): lambda v: _number(v) and v >= 0,
    ('training', 'grad_clip'): lambda v: v is None or (_number(v) and v > 0),
}
COMMUNICATORS = ('naive', 'flat', 'non_cuda_aware', 'pure_nccl')


class ConfigError(errors.Failure):
    """A config.json that cannot be used; the message is one line for the user."""


def versions(gpu=-1):
    """The versions that made a run; where it ran on GPU ``gpu``, CuPy's and the GPU's name."""
    found = {'python': platform.python_version(), 'numpy': np.__version__,
             'chainer': chainer.__version__, 'cupy': None, 'chainer_vae': chainer_vae.__version__}
    if gpu >= 0:
        cupy = chainer.backends.cuda.cupy
        found['cupy'] = cupy.__version__
        found['gpu'] = cupy.cuda.runtime.getDeviceProperties(gpu)['name'].decode()
    return found


def normalized(flag, value):
    """A flag's value as config.json keeps it: the paths a run reads absolute (an empty
    -m/-r: null), one's own images' path absolute."""
    if flag in PATH_FLAGS:
        return os.path.abspath(value) if value else None
    if flag == 'dataset' and value not in data.DATASETS:
        return os.path.abspath(value)
    return value


def make(flags, n_in, versions):
    """The config of a run from train_vae.py's flags ({name: value}), its images'
    size and ``versions()``."""
    config = {'model': {'n_in': n_in}, 'training': {}, 'data': {}, 'versions': versions}
    for flag, (section, key) in FLAGS.items():
        config[section][key] = normalized(flag, flags[flag])
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
    except (OSError, ValueError, RecursionError) as e:
        raise ConfigError('%s: not a readable run config (%s)'
                          % (path, getattr(e, 'strerror', None) or e)) from None
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
        if not OPTIONAL[section, key](config[section][key]):
            name = flag_of.get((section, key), key) if flat else '%s.%s' % (section, key)
            raise ConfigError('%s: %s is invalid: %r' % (path, name, config[section][key]))
    if not isinstance(config.setdefault('versions', {}), dict):
        raise ConfigError('%s: versions is invalid: %r' % (path, config['versions']))
    return config
