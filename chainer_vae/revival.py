"""Chainer 7.8.1 on today's Python, NumPy and CuPy: the one place we patch around it.

Chainer's last release (2020) predates NumPy 2, Python 3.12 and CuPy 8+. Five
things break or make noise when it is imported today, and three of its functions fail;
each patch below applies only when its piece is really missing, so on an old stack
(NumPy 1.23, Python 3.11 with setuptools < 82) ``apply()`` changes nothing.

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

Then chainer is imported, and three of its functions that NumPy 2 broke are mended,
each only where its cause is present (a function or a name replaced, never a module):

6. ``F.resize_images`` asks for ``numpy.float`` (chainer/functions/array/
   resize_images.py, ``compute_indices_and_weights``, lines 179-196), an alias of the
   builtin float that NumPy 1.24 removed. Where NumPy lacks it, that one function is
   re-made from chainer's own code with a view of NumPy that adds ``float`` (= the
   builtin, as the alias was) as its ``numpy``; NumPy itself is not touched.
7. ``F.pad_sequence`` writes its Python-int ``padding`` into arrays of the input's
   dtype (chainer/functions/array/pad_sequence.py, line 55). NumPy 2's integer rules
   (NEP 50) refuse an int out of the dtype's range, e.g. -1 into uint8, which NumPy 1
   wrapped (to 255). Under NumPy 2, ``PadSequence.forward`` casts the padding to the
   dtype first, as NumPy 1 did.
8. ``Categorical.log_prob`` adds a list to ``numpy.meshgrid(...)``
   (chainer/distributions/categorical.py, line 74), which NumPy 2 returns as a tuple.
   Under NumPy 2 it is replaced by the same function with the grids made a list.

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


class _NumpyWithFloat(types.ModuleType):
    """NumPy, as one chainer function sees it, with NumPy 1's alias ``float`` (patch 6)."""
    float = float

    def __getattr__(self, name):
        return getattr(numpy, name)


def _with_numpy_float(function):
    """``function`` (chainer's code) whose global ``numpy`` has NumPy 1's ``float``."""
    scope = dict(function.__globals__, numpy=_NumpyWithFloat('numpy'))
    remade = types.FunctionType(function.__code__, scope, function.__name__,
                                function.__defaults__, function.__closure__)
    remade.__doc__, remade.__wrapped__ = function.__doc__, function
    return remade


def _pad_sequence_forward(original):
    """PadSequence.forward with an int padding cast to the arrays' dtype (patch 7)."""
    def forward(self, xs):
        padding = self.padding
        if xs and isinstance(padding, int) and not isinstance(padding, bool):
            # NumPy 1 wrapped an out-of-range int (C cast): -1 into uint8 gives 255
            self.padding = numpy.asarray(padding).astype(xs[0].dtype)[()]
        try:
            return original(self, xs)
        finally:
            self.padding = padding
    forward.__doc__, forward.__wrapped__ = original.__doc__, original
    return forward


def _categorical_log_prob(self, x):
    """chainer's Categorical.log_prob, the meshgrid made a list (patch 8)."""
    import chainer
    mg = list(numpy.meshgrid(*(range(i) for i in self.batch_shape), indexing='ij'))
    if isinstance(x, chainer.Variable):
        return self.log_p[tuple(mg + [x.data.astype(numpy.int32)])]
    return self.log_p[tuple(mg + [x.astype(numpy.int32)])]


def _library_patches():
    """Patches 6-8 in chainer's own functions; return their names."""
    from chainer.distributions import categorical
    from chainer.functions.array import pad_sequence, resize_images
    applied = []
    if not hasattr(numpy, 'float') and not hasattr(resize_images.compute_indices_and_weights,
                                                   '__wrapped__'):
        resize_images.compute_indices_and_weights = _with_numpy_float(
            resize_images.compute_indices_and_weights)
        applied.append('resize_images-numpy.float')
    numpy2 = int(numpy.__version__.split('.')[0]) >= 2
    if numpy2 and not hasattr(pad_sequence.PadSequence.forward, '__wrapped__'):
        pad_sequence.PadSequence.forward = _pad_sequence_forward(
            pad_sequence.PadSequence.forward)
        applied.append('pad_sequence-nep50')
    if (isinstance(numpy.meshgrid([0], [0]), tuple)
            and categorical.Categorical.log_prob is not _categorical_log_prob):
        categorical.Categorical.log_prob = _categorical_log_prob
        applied.append('categorical-meshgrid')
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
    return applied + _library_patches()

