"""Fixtures and hooks: no test reaches the network or the user's cache; gpu-marked
tests skip where no GPU is visible. Shared helpers are in helpers.py."""
import signal

import pytest

import chainer_vae  # noqa: F401  (revives chainer first)
import chainer

from chainer_vae import download


@pytest.fixture(autouse=True)
def signals_at_their_defaults():
    """The tests send SIGINT, SIGTERM and SIGHUP to the commands they run, as a user at a
    terminal would. A test run started with them ignored (a background job, nohup, a CI
    harness, an xdist worker) would pass that on to every command, where it rightly stays
    ignored: the defaults first. (A test of an ignored signal ignores it in its own child.)"""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(signum) is signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def gpu_visible():
    from chainer_vae import gpu
    try:
        return chainer.backends.cuda.available and gpu.device_count() > 0
    except Exception:
        return False


def pytest_addoption(parser):
    parser.addoption('--run-slow', action='store_true',
                     help='also run the tests marked slow (minutes of CPU each)')


def pytest_collection_modifyitems(config, items):
    """Tests marked gpu run where CuPy sees a GPU, and skip, saying why, elsewhere; tests
    marked slow run with --run-slow (make test ARGS=--run-slow) alone."""
    if not config.getoption('--run-slow'):
        skip = pytest.mark.skip(reason='slow: make test ARGS=--run-slow runs it')
        for item in items:
            if 'slow' in item.keywords:
                item.add_marker(skip)
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
