"""Shared paths and helpers. Tests that need ../shared skip where it is absent."""
import os
import subprocess
import sys

import pytest

import chainer_vae  # noqa: F401  (revives chainer first)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(REPO), 'shared')
SHARED_MNIST = os.path.join(SHARED, 'mnist')
LEGACY = os.path.join(SHARED, 'legacy')

needs_shared_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(SHARED_MNIST, 'train-images-idx3-ubyte.gz')),
    reason='../shared/mnist is absent')
needs_legacy = pytest.mark.skipif(
    not os.path.isfile(os.path.join(LEGACY, 'graph.dot')), reason='../shared/legacy is absent')


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No test reaches the real mirrors or the user's cache: an empty cache and a
    mirror list whose only entry refuses connections (port 9 on loopback)."""
    monkeypatch.setenv('CHAINER_DATASET_ROOT', str(tmp_path / 'dataset-root'))
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', 'http://127.0.0.1:9/')


def run_cli(*args, timeout=300):
    """Run train_vae.py in a subprocess; return the CompletedProcess (text)."""
    return subprocess.run([sys.executable, os.path.join(REPO, 'train_vae.py')] + list(args),
                          capture_output=True, text=True, timeout=timeout, cwd=REPO)
