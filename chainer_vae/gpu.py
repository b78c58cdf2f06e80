"""The --gpu switch: CuPy as the 2017 notebook used it, with one clear line for each way it fails.

The notebook moved the model with ``model.to_gpu()`` and each batch with
``xp.asarray`` (xp = cupy). Today a GPU run can fail before that in four ways,
and ``array_module(gpu_id)`` tells them apart before anything is written:

1. CuPy is not installed.
2. CuPy is installed but cannot load its CUDA libraries: CuPy 14 wheels find
   pip's CUDA libraries only through their ``[ctk]`` extra, otherwise a system
   CUDA toolkit.
3. CuPy loads, but there is no driver or no GPU.
4. The GPU id is out of range.
"""
import importlib.util

import numpy as np

import chainer

from chainer_vae import errors

INSTALL = ("pip install -e '.[gpu]' (driver for CUDA 12) or -e '.[gpu-cuda13]' "
           "(driver R580 or newer)")


class GPUError(errors.Failure):
    """The GPU cannot be used; the message is one line for the user."""


def cupy_installed():
    try:
        return importlib.util.find_spec('cupy') is not None
    except (ImportError, ValueError):
        return False


def device_count():
    """CuPy's count of visible GPUs; raises CuPy's CUDARuntimeError without a driver."""
    return chainer.backends.cuda.cupy.cuda.runtime.getDeviceCount()


def array_module(gpu_id):
    """numpy for gpu_id < 0, else cupy once GPU ``gpu_id`` is known to be usable."""
    if gpu_id < 0:
        return np
    cuda = chainer.backends.cuda
    flag = '--gpu %d' % gpu_id
    if not cuda.available:
        if not cupy_installed():
            raise GPUError('%s needs CuPy, which is not installed: %s, or run with --gpu -1'
                           % (flag, INSTALL))
        why = str(getattr(cuda, '_resolution_error', '')).strip().splitlines()
        raise GPUError('%s: CuPy is installed but cannot load its CUDA libraries (%s); '
                       'install CuPy with its [ctk] extra (%s) or a CUDA toolkit'
                       % (flag, why[0] if why else 'unknown error', INSTALL))
    try:
        count = device_count()
    except Exception as e:  # CUDARuntimeError: no driver, or no device
        raise GPUError('%s: no usable GPU (%s); check the NVIDIA driver with nvidia-smi, '
                       'or run with --gpu -1' % (flag, str(e).splitlines()[0])) from None
    if count == 0:
        raise GPUError('%s: no GPU is visible; run with --gpu -1' % flag)
    if gpu_id >= count:
        raise GPUError('%s: this machine has %d GPU%s (ids 0 to %d)'
                       % (flag, count, '' if count == 1 else 's', count - 1))
    return cuda.cupy
