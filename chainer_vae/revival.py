"""Chainer 7.8.1 on today's Python, NumPy and CuPy: the one place we patch around it.

Chainer's last release (2020) predates NumPy 2, Python 3.12 and CuPy 8+. Five
things break or make noise when it is imported today; each patch below applies only when its
piece is really missing, so on an old stack (NumPy 1.26, Python 3.11 with
setuptools < 82) ``apply()`` changes nothing.

1. NumPy 2 removed ``np.sctypes``; ``chainer.functions.array.as_strided`` reads
   it at import time. We restore the NumPy 1.x table.
2. ``chainer._environment_check`` imports ``numpy.distutils`` (gone with
   Python 3.12 / NumPy 2) and ``pkg_resources`` (gone from setuptools >= 82),
   and ``chainer.testing`` (behind ``chainer.gradient_check``) needs
   ``pkg_resources`` too. We register small stand-ins for exactly the names
   chainer uses, built on ``importlib.metadata``.
3. Chainer's version check (chainer/_environment_check.py, line 64) warns that
   any CuPy >= 8 "may not be compatible", but only for the package names it
   knows (chainer/_version.py: ``cupy`` and ``cupy-cuda80`` ... ``cupy-cuda120``;
   today's ``cupy-cuda12x`` / ``cupy-cuda13x`` wheels are not among them). Where
   such a CuPy >= 8 is installed (plain ``cupy`` built against a system CUDA
   toolkit, say) we switch the check off with chainer's own switch,
   ``CHAINER_WARN_VERSION_MISMATCH=0``, unless the user set it.
4. ``chainer.training`` imports ``cupy.cuda.nccl`` at chainer's import time
   (chainer/training/updaters/multiprocess_parallel_updater.py, line 15); a CuPy
   without NCCL warns that its library could not be loaded. This VAE never
   uses NCCL: where a CuPy is installed we import that wrapper first with
   exactly that warning ignored, so chainer's import finds it loaded.
5. Chainer warns "cuDNN is not enabled" the first time a model moves to the
   GPU (chainer/backends/cuda.py, line 155) when ``import cupy.cudnn`` fails,
   as it always does with CuPy 14 (no cuDNN at all). Chainer then uses its own
   kernels, which is all this model needs. Where CuPy's cuDNN cannot be
   imported we tell chainer so with its own switch, ``CHAINER_CUDNN=0``,
   unless the user set it.

``chainer_vae/__init__.py`` calls ``apply()`` before anything imports chainer.
"""
import importlib.metadata
import importlib.util
import os
import re
import sys
import types
import warnings

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
        with warnings.catch_warnings():  # NumPy 1.x warns that numpy.distutils is deprecated
            warnings.simplefilter('ignore', DeprecationWarning)
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


# chainer/_version.py: the CuPy package names chainer's version check knows
_CHECKED_CUPY = re.compile(r'cupy(-cuda(80|9[0-2]|10[0-2]|11[0-6]|120))?')


def _installed_cupy():
    """(name, major version) of the installed CuPy distribution, or None."""
    for dist in importlib.metadata.distributions():
        name = (dist.metadata['Name'] or '').lower()
        if name == 'cupy' or name.startswith('cupy-cuda') or name.startswith('cupy-rocm'):
            major = dist.version.split('.')[0]
            return name, int(major) if major.isdigit() else 0
    return None


def _import_quietly(module_name, library):
    """Import ``module_name`` with CuPy's warnings about ``library`` ignored; None if it fails."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='(?is).*%s' % library)
        try:
            return importlib.import_module(module_name)
        except Exception:  # chainer catches any failure of these imports too
            return None


def _cupy_patches(cupy):
    """Patches 3-5 for the installed CuPy ``(name, major)``; return their names."""
    applied = []
    name, major = cupy
    if ('CHAINER_WARN_VERSION_MISMATCH' not in os.environ and major >= 8
            and _CHECKED_CUPY.fullmatch(name)):
        os.environ['CHAINER_WARN_VERSION_MISMATCH'] = '0'
        applied.append('cupy-version-warning')
    if _import_quietly('cupy', 'nccl') is None:
        return applied  # CuPy itself fails to load: chainer_vae.gpu says why, on --gpu
    nccl = _import_quietly('cupy.cuda.nccl', 'nccl')
    if nccl is not None and not getattr(nccl, 'available', True):
        applied.append('nccl-warning')
    if 'CHAINER_CUDNN' not in os.environ and (
            _import_quietly('cupy.cuda.cudnn', 'cudnn') is None
            or _import_quietly('cupy.cudnn', 'cudnn') is None):
        os.environ['CHAINER_CUDNN'] = '0'
        applied.append('cudnn-warning')
    return applied


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
    cupy = _installed_cupy()
    if cupy is not None:
        applied += _cupy_patches(cupy)
    return applied

