"""config.json: what a run was made with, enough to rebuild its model anywhere.

    {"model":    {"n_in": 784, "n_latent": 20, "n_h": 500, "activation": "softplus"},
     "training": {"epoch": 100, "batchsize": 100, "seed": 0, "gpu": -1, "test": false,
                  "debug": false, "initmodel": null, "resume": null, "communicator": null,
                  "lr": 0.001, "weight_decay": 0.0, "grad_clip": null, "beta": 1.0, "k": 1},
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
    'weight_decay': ('training', 'weight_decay'), 'grad_clip': ('training', 'grad_clip'),
    'beta': ('training', 'beta'), 'k': ('training', 'k'),
    'initmodel': ('training', 'initmodel'), 'resume': ('training', 'resume'),
    'communicator': ('training', 'communicator'),
    'dataset': ('data', 'dataset'), 'data_dir': ('data', 'data_dir'),
    'binarize': ('data', 'binarize'), 'image_size': ('data', 'image_size'),
    'n_train': ('data', 'n_train'),
}
PATH_FLAGS = ('data_dir', 'initmodel', 'resume', 'm1')  # m1: M2's (chainer_vae/m2.py)


def _positive(v):
    return type(v) is int and v > 0


def _number(v):
    return type(v) in (int, float) and math.isfinite(v)


def _path(v):
    return v is None or isinstance(v, str)


REQUIRED = object()  # a schema's default for an entry every config has


def _is(*types):
    return lambda v: type(v) in types


def _positive_or_null(v):
    return v is None or _positive(v)


def _seed(v):
    return type(v) is int and 0 <= v < 2 ** 32


COMMUNICATORS = ('naive', 'flat', 'non_cuda_aware', 'pure_nccl')
INITS = ('kingma', 'chainer')  # M2's --init: Kingma's N(0, 0.001^2), or chainer's default
# M2's --kernels (chainer_vae/m2_net.py): chainer's functions and NumPy's legacy generator
# (the runs made before the flag), or cpu_kernels.py's fused ones and a PCG64 generator
# (fast-1: its ziggurat normals; fast-2: its uniforms by Box-Muller; fast-3: softplus by
# NumPy's log1p and expm1), each set of fused kernels with all of the sets before it
KERNELS = ('chainer-1', 'fast-1', 'fast-2', 'fast-3')

# Each command's config.json as data: {(section, key): (what its value must be, its
# default)}; a default fills in what configs written before the entry existed lack.
SCHEMA = {  # train_vae.py's
    ('model', 'n_in'): (_positive, REQUIRED), ('model', 'n_latent'): (_positive, REQUIRED),
    ('model', 'n_h'): (_positive, REQUIRED),
    ('model', 'activation'): (lambda v: isinstance(v, str) and v in net.ACTIVATIONS, REQUIRED),
    ('training', 'epoch'): (_positive, REQUIRED), ('training', 'batchsize'): (_positive, REQUIRED),
    ('training', 'seed'): (lambda v: v is None or _seed(v), REQUIRED),
    ('training', 'test'): (_is(bool), REQUIRED),
    ('data', 'dataset'): (lambda v: isinstance(v, str) and (v in data.DATASETS
                                                            or os.path.isabs(v)), REQUIRED),
    ('data', 'data_dir'): (_path, REQUIRED),
    ('training', 'gpu'): (_is(int), -1), ('training', 'debug'): (_is(bool), False),
    ('data', 'binarize'): (_is(bool), False),
    ('data', 'image_size'): (lambda v: v is None or (isinstance(v, list) and len(v) == 2
                                                     and all(map(_positive, v))), None),
    ('data', 'n_train'): (_positive_or_null, None),
    ('training', 'communicator'): (lambda v: v is None or v in COMMUNICATORS, None),
    ('training', 'initmodel'): (_path, None), ('training', 'resume'): (_path, None),
    ('training', 'lr'): (lambda v: _number(v) and v > 0, 0.001),
    ('training', 'weight_decay'): (lambda v: _number(v) and v >= 0, 0.0),
    ('training', 'grad_clip'): (lambda v: v is None or (_number(v) and v > 0), None),
    ('training', 'beta'): (lambda v: _number(v) and v >= 0, 1.0),
    ('training', 'k'): (_positive, 1),
}
M2_MODELS = ('M2', 'M1+M2')  # an M2 run's config.json's "model"
M2_SCHEMA = {  # python -m chainer_vae.m2's: its flags, as the command names them
    ('flags', 'labels'): (_positive, REQUIRED), ('flags', 'm1'): (_path, REQUIRED),
    ('flags', 'n_train'): (_positive, REQUIRED),
    ('flags', 'dataset'): (lambda v: v in data.DATASETS, REQUIRED),
    ('flags', 'data_dir'): (_path, REQUIRED), ('flags', 'grey'): (_is(bool), REQUIRED),
    ('flags', 'n_hidden'): (_positive, REQUIRED), ('flags', 'dimz'): (_positive, REQUIRED),
    ('flags', 'steps'): (_positive_or_null, REQUIRED), ('flags', 'seed'): (_seed, REQUIRED),
    ('flags', 'epoch'): (_positive, REQUIRED),
    ('flags', 'init'): (lambda v: v in INITS, INITS[0]),
    ('flags', 'reshuffle'): (_is(bool), False),
    ('flags', 'gpu'): (_is(int), -1),  # a run from before --gpu: the CPU
    ('flags', 'kernels'): (lambda v: v in KERNELS, KERNELS[0]),  # before --kernels: chainer-1
    ('flags', 'kernels_from_epoch'): (_positive, 1),  # the first epoch learnt with them
}


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


def _checked(path, config, schema, name_of=None):
    """``config`` with the defaults of ``schema`` filled in, each entry checked;
    ConfigError naming the first that is missing or invalid (``name_of``: an entry's
    name for the user, else section.key)."""
    for (section, key), (fits, default) in schema.items():
        name = (name_of or {}).get((section, key), '%s.%s' % (section, key))
        part = config.get(section)
        if not isinstance(part, dict) or (key not in part and default is REQUIRED):
            raise ConfigError('%s: %s is missing' % (path, name))
        if not fits(part.setdefault(key, default)):
            raise ConfigError('%s: %s is invalid: %r' % (path, name, part[key]))
    return config


def _load(path, what):
    try:
        with open(path) as f:
            config = json.load(f)
    except (OSError, ValueError, RecursionError) as e:
        raise ConfigError('%s: not a readable %s (%s)'
                          % (path, what, getattr(e, 'strerror', None) or e)) from None
    if not isinstance(config, dict):
        raise ConfigError('%s: not a %s' % (path, what))
    return config


def read(path):
    """train_vae.py's config.json at ``path``, checked, with defaults filled in and an
    earlier run's flat form read as the sections; ConfigError for anything unusable."""
    config = _load(path, 'run config')
    flat = 'model' not in config
    if flat:
        config = _from_flat(config)
    _checked(path, config, SCHEMA, {place: flag for flag, place in FLAGS.items()} if flat else None)
    if not isinstance(config.setdefault('versions', {}), dict):
        raise ConfigError('%s: versions is invalid: %r' % (path, config['versions']))
    return config


def read_m2(path):
    """An M2 or M1+M2 run's config.json (python -m chainer_vae.m2) at ``path``, checked:
    {"model", "flags", "derived", "versions"}; ConfigError (one line) for anything else."""
    config = _load(path, 'M2 run config')
    if config.get('model') not in M2_MODELS:
        raise ConfigError('%s: model is invalid: %r' % (path, config.get('model')))
    _checked(path, config, M2_SCHEMA)
    config.setdefault('derived', {})
    for part in ('derived', 'versions'):
        if not isinstance(config.setdefault(part, {}), dict):
            raise ConfigError('%s: %s is invalid: %r' % (path, part, config[part]))
    return config
