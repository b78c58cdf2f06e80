"""Fixtures and hooks: no test reaches the network or the user's cache; gpu-marked
tests skip where no GPU is visible. Shared helpers are in helpers.py."""
import pytest

import chainer_vae  # noqa: F401  (revives chainer first)
import chainer

from chainer_vae import download


def gpu_visible():
    from chainer_vae import gpu
    try:
        return chainer.backends.cuda.available and gpu.device_count() > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    """Tests marked gpu run where CuPy sees a GPU, and skip, saying why, elsewhere."""
    if not any('gpu' in item.keywords for item in items) or gpu_visible():
        return
    skip = pytest.mark.skip(reason='no GPU visible (needs CuPy and a CUDA device)')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def offline(tmp_path, monkeypatch):
    """No test reaches the real mirrors, the user's cache or a system package's copy: an
    empty cache, a mirror list whose only entry refuses connections (port 9 on loopback),
    and no system folders in this process (a test that wants one sets its own)."""
    monkeypatch.setenv('CHAINER_DATASET_ROOT', str(tmp_path / 'dataset-root'))
    monkeypatch.setattr(download, 'SYSTEM_DIRS', {})
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', 'http://127.0.0.1:9/')
