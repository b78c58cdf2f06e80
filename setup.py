import re

from setuptools import setup

# the one version string is chainer_vae.__version__ (importing the package would revive chainer)
with open('chainer_vae/__init__.py') as f:
    VERSION = re.search(r"^__version__ = '([^']+)'", f.read(), re.M).group(1)

setup(
    name='chainer_vae',
    version=VERSION,
    description='The Chainer VAE of the slides and the 2017 Qiita notebook, revived',
    packages=['chainer_vae', 'chainer_vae.revival'],
    package_data={'chainer_vae': ['mnist_sample/*.gz', 'reference/*.csv', 'reference/*.md']},
    python_requires='>=3.11,<3.14',  # what the README promises and CI tests
    install_requires=[
        'chainer==7.8.1',  # its sdist needs setuptools<82 to build: see README
        'numpy>=1.26',  # the oldest CI tests (.ci/run: 1.26.x and 2.x)
        'six',
        'matplotlib',
        'Pillow',  # the GIFs (matplotlib's PillowWriter) and your own images (images.py)
        'packaging',  # the pkg_resources stand-in in chainer_vae/revival/__init__.py
        'tqdm',  # the progress line at a terminal (chainer_vae/progress.py)
        'threadpoolctl',  # one BLAS thread by default (chainer_vae/spine.py)
    ],
    extras_require={
        'test': ['pytest', 'pytest-xdist', 'hypothesis', 'ruff', 'scikit-learn',
                 # chainer's own tests (scripts/chainer_suite.py) import mock; h5py for
                 # its HDF5 serializer's; pytest-timeout turns a hang into a named failure
                 'mock', 'h5py', 'pytest-timeout',
                 'mpi4py', 'mpich',  # the mpiexec -n 2 test
                 # tests/test_notebook.py runs notebooks/chainer_vae.ipynb in a real kernel
                 'nbclient', 'nbformat', 'ipykernel', 'ipywidgets'],
        'notebook': ['ipywidgets'],  # notebooks/chainer_vae.ipynb: its progress bar a widget
        'eval': ['scikit-learn'],  # python -m chainer_vae.m1
        'mpi': ['mpi4py', 'mpich'],  # mpiexec ... --communicator (README)
        'bench': ['torch'],  # benchmarks/ only; make bench pins the local CPU build
        # CuPy 14 finds pip's CUDA libraries only through its [ctk] extra (README: GPU)
        'gpu': ['cupy-cuda12x[ctk]>=14,<15'],
        'gpu-cuda13': ['cupy-cuda13x[ctk]>=14,<15'],
    },
)
