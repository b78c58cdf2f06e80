"""A stand-in CuPy package, written into a folder for PYTHONPATH, so that the GPU
switch and the CuPy patches of chainer_vae/revival/__init__.py can be tested on a machine
without a GPU.

It is just enough of CuPy for ``import chainer`` to find ``cuda.available`` True
(or False, with ``libraries=False``), and it fails the way today's CuPy 14 wheels
fail: NCCL that warns on import, no cuDNN module, a runtime without a driver.
"""
import os
import textwrap

PACKAGE = {
    'cupy/__init__.py': '''
        __version__ = '{version}'


        class ndarray:
            pass


        def memoize(for_each_device=False):
            return lambda f: f


        def get_default_memory_pool():
            return None


        def get_default_pinned_memory_pool():
            return None


        class _Inert:
            """Whatever else chainer touches at import time (kernels, fuse, ...)."""
            def __init__(self, *args, **kwargs):
                pass

            def __call__(self, *args, **kwargs):
                return args[0] if len(args) == 1 and callable(args[0]) else _Inert()

            def __getattr__(self, name):
                if name.startswith('__'):
                    raise AttributeError(name)
                return _Inert()


        def __getattr__(name):
            if name.startswith('__') or name in ('cuda', '_util'):  # real submodules
                raise AttributeError(name)
            return _Inert()


        from cupy import cuda, _util  # noqa: E402
    ''',
    'cupy/_util.py': '''
        class PerformanceWarning(RuntimeWarning):
            pass
    ''',
    'cupy/cuda/__init__.py': '''
        class Device:
            def __init__(self, device=None):
                self.id = device or 0

            def use(self):
                pass


        class Event:
            pass


        class Stream:
            pass


        from cupy.cuda import cublas, runtime  # noqa: E402
    ''',
    'cupy/cuda/cublas.py': '''
        if not {libraries}:
            raise ImportError('libcublasLt.so.12: cannot open shared object file: '
                              'No such file or directory')
    ''',
    'cupy/cuda/runtime.py': '''
        class CUDARuntimeError(RuntimeError):
            pass


        DEVICES = {devices}


        def getDeviceCount():
            if DEVICES is None:
                raise CUDARuntimeError('cudaErrorInsufficientDriver: CUDA driver version '
                                       'is insufficient for CUDA runtime version')
            return DEVICES
    ''',
    'cupy/cuda/nccl.py': '''
        import warnings

        available = {nccl}
        if not available:
            warnings.warn('CuPy failed to load libnccl.so.2: nccl library could not be loaded')
    ''',
    'cupyx/__init__.py': '',
    'cupyx/scipy/__init__.py': '',
    'cupyx/scipy/linalg.py': '',
    'cupyx/scipy/special.py': '',
}
CUDNN = {  # a CuPy with cuDNN (CuPy 13 and older): chainer reads its constants
    'cupy/cudnn.py': '''
        def __getattr__(name):
            if name.startswith('__'):
                raise AttributeError(name)
            return 0
    ''',
    'cupy/cuda/cudnn.py': '''
        available = True


        def getVersion():
            return 8000


        def __getattr__(name):
            if name.startswith('__'):
                raise AttributeError(name)
            return 0
    ''',
}


def write(root, dist='cupy-cuda13x', version='14.2.0', libraries=True, devices=None,
          nccl=False, cudnn=False):
    """Write the fake CuPy into ``root``; return ``root`` (a str) for PYTHONPATH.

    devices: the GPU count the runtime reports, None for "no driver".
    """
    files = dict(PACKAGE, **(CUDNN if cudnn else {}))
    info = '%s-%s.dist-info/METADATA' % (dist.replace('-', '_'), version)
    files[info] = 'Metadata-Version: 2.1\nName: %s\nVersion: %s\n' % (dist, version)
    for name, text in files.items():
        path = os.path.join(str(root), name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write(textwrap.dedent(text).lstrip('\n').format(
                version=version, libraries=libraries, devices=devices, nccl=nccl))
    return str(root)
