"""Chainer 7.8.1 on today's Python, NumPy and CuPy: the one place we patch around it.

Chainer's last release (2020) predates NumPy 2, Python 3.12 and CuPy 8+. Three
things break when it is imported today; each patch below applies only when its
piece is really missing, so on an old stack (NumPy 1.26, Python 3.11 with
setuptools < 82) ``apply()`` changes nothing.

1. NumPy 2 removed ``np.sctypes``; ``chainer.functions.array.as_strided`` reads
   it at import time. We restore the NumPy 1.x table.
2. ``chainer._environment_check`` imports ``numpy.distutils`` (gone with
   Python 3.12 / NumPy 2) and ``pkg_resources`` (gone from setuptools >= 82),
   and ``chainer.testing`` (behind ``chainer.gradient_check``) needs
   ``pkg_resources`` too. We register small stand-ins for exactly the names
   chainer uses, built on ``importlib.metadata``.
3. Chainer's version check knows CuPy only up to 7.x and warns about any newer
   CuPy. Where a CuPy >= 8 is installed we switch that check off with chainer's
   own switch, ``CHAINER_WARN_VERSION_MISMATCH=0``, unless the user set it.

``chainer_vae/__init__.py`` calls ``apply()`` before anything imports chainer.
"""
import importlib.metadata
import importlib.util
import os
import sys
import types

import numpy

# The table NumPy 1.x exposed as np.sctypes (kinds chainer looks up: int, float).
_SCTYPES = {
    'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
    'uint': [numpy.uint8, numpy.uint16, numpy.uint32, numpy.uint64],
    'float': [numpy.float16, numpy.float32, numpy.float64, numpy.longdouble],
    'complex': [numpy.complex64, numpy.complex128, numpy.clongdouble],
    'others': [bool, object, bytes, str, numpy.void],
}

def _missing(module_name):
    """True when ``module_name`` cannot be imported (a parent missing counts)."""
    if module_name in sys.modules:  # imported already, or our stand-in
        return False
    try:
        return importlib.util.find_spec(module_name) is None
    except ImportError:
        return True


def _pkg_resources_standin():
    """What chainer uses of pkg_resources: require, get_distribution, errors."""
    from packaging.requirements import Requirement

    mod = types.ModuleType('pkg_resources')
    mod.__doc__ = 'chainer_vae stand-in for the removed pkg_resources'

    class ResolutionError(Exception):
        pass

    class DistributionNotFound(ResolutionError):
        pass

    class VersionConflict(ResolutionError):
        pass

    def get_distribution(name):
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            raise DistributionNotFound(name) from None
        return types.SimpleNamespace(project_name=name, version=version)

    def require(*requirements):
        for text in requirements:
            req = Requirement(text)
            version = get_distribution(req.name).version
            if not req.specifier.contains(version, prereleases=True):
                raise VersionConflict(text)

    class WorkingSet:
        def require(self, *requirements):
            require(*requirements)

    for obj in (ResolutionError, DistributionNotFound, VersionConflict,
                get_distribution, require, WorkingSet):
        setattr(mod, obj.__name__, obj)
    return mod


def _numpy_distutils_standin():
    """chainer only asks numpy.distutils for the macOS BLAS: answer 'none found'."""
    pkg = types.ModuleType('numpy.distutils')
    pkg.__path__ = []
    info = types.ModuleType('numpy.distutils.system_info')
    info.get_info = lambda name, notfound_action=0: {}
    pkg.system_info = info
    return {'numpy.distutils': pkg, 'numpy.distutils.system_info': info}


def _newer_cupy_installed():
    """Is CuPy 8 or newer installed, under any of its names (cupy, cupy-cuda12x, ...)?"""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata['Name'] or '').lower()
        major = dist.version.split('.')[0]
        if (name == 'cupy' or name.startswith('cupy-')) and major.isdigit() and int(major) >= 8:
            return True
    return False


def apply():
    """Apply the patches that this Python/NumPy/CuPy needs; return their names."""
    applied = []
    if not hasattr(numpy, 'sctypes'):  # NumPy 2 raises AttributeError here
        numpy.sctypes = _SCTYPES
        applied.append('numpy.sctypes')
    if _missing('numpy.distutils.system_info'):
        sys.modules.update(_numpy_distutils_standin())
        applied.append('numpy.distutils')
    if _missing('pkg_resources'):
        sys.modules['pkg_resources'] = _pkg_resources_standin()
        applied.append('pkg_resources')
    if 'CHAINER_WARN_VERSION_MISMATCH' not in os.environ and _newer_cupy_installed():
        os.environ['CHAINER_WARN_VERSION_MISMATCH'] = '0'
        applied.append('cupy-version-warning')
    return applied

