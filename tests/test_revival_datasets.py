"""Patch 19 (chainer_vae/revival/datasets.py): chainer.datasets.get_mnist and old code's own
downloaders get the verified files of chainer_vae.download, from a server on 127.0.0.1."""
import gzip
import hashlib
import os
import subprocess
import sys
import urllib.request

import numpy as np
import pytest
import six

import chainer

from chainer_vae import data, download
from chainer_vae.revival import datasets

from helpers import REPO
from test_download import serving

DEAD = 'http://yann.lecun.com/exdb/mnist/'


def small_set(seed):
    """The four IDX .gz files of a tiny MNIST-like set, their content checksums, and the
    arrays they hold."""
    rng = np.random.RandomState(seed)
    arrays = {'train-images': rng.randint(0, 256, (6, 28, 28)), 'train-labels': rng.randint(
        0, 10, 6), 't10k-images': rng.randint(0, 256, (4, 28, 28)),
        't10k-labels': rng.randint(0, 10, 4)}
    files, checksums = {}, {}
    for name in download.MD5:
        raw = data.encode_idx(arrays[name.split('-idx')[0]])
        files[name] = gzip.compress(raw)
        checksums[name] = hashlib.md5(raw).hexdigest()
    return files, checksums, arrays


@pytest.fixture
def chainer_root(tmp_path, monkeypatch):
    """chainer's own dataset root (read once, at chainer's import), in this test's folder."""
    root = str(tmp_path / 'chainer-root')
    monkeypatch.setattr(chainer.dataset.download, '_dataset_root', root)
    return root


@pytest.fixture
def small_mnist(monkeypatch):
    """A tiny MNIST with its own checksums, served on 127.0.0.1 as the mirror of MNIST."""
    files, checksums, arrays = small_set(0)
    monkeypatch.setitem(download.SOURCES, 'mnist', download.SOURCES['mnist']._replace(
        md5=checksums))
    with serving(files) as (server, base):
        monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', base + 'missing/,' + base + 'ok/')
        yield server, base, arrays


def files_in(directory):
    return sorted(os.path.relpath(os.path.join(d, f), directory)
                  for d, _, names in os.walk(directory) for f in names)


def test_get_mnist_is_served_verified_files_and_keeps_chainers_cache(small_mnist, chainer_root,
                                                                     monkeypatch):
    server, _, arrays = small_mnist
    train, test = chainer.datasets.get_mnist()
    x, t = chainer.dataset.concat_examples(train[:])
    assert x.dtype == np.float32 and x.max() <= 1
    assert np.array_equal(np.rint(x * 255), arrays['train-images'].reshape(6, 784))
    assert np.array_equal(t, arrays['train-labels'])
    assert np.array_equal(chainer.dataset.concat_examples(test[:])[1], arrays['t10k-labels'])
    assert sorted(h.split('/')[1] for h in server.hits) == ['missing'] * 4 + ['ok'] * 4
    assert {'pfnet/chainer/mnist/train.npz', 'pfnet/chainer/mnist/test.npz'} <= set(
        files_in(chainer_root))  # chainer's own cache, as it always wrote it
    assert files_in(download.cache_dir()) == sorted(download.MD5)  # the training command's
    server.shutdown()
    server.server_close()  # no server now: chainer's cache answers
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', 'http://127.0.0.1:9/')
    again, _ = chainer.datasets.get_mnist(ndim=2)
    assert np.array_equal(chainer.dataset.concat_examples(again[:])[0], x.reshape(6, 28, 28))


def test_a_damaged_file_is_refused_in_one_line(small_mnist, chainer_root, monkeypatch):
    _, base, _ = small_mnist
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', base + 'corrupt/')
    with pytest.raises(download.DownloadError) as caught:
        chainer.datasets.get_mnist()
    message = str(caught.value)
    assert '\n' not in message and message.startswith(DEAD + 'train-images-idx3-ubyte.gz: ')
    assert 'corrupt/: checksum mismatch' in message and '--data-dir' not in message
    assert [f for f in files_in(chainer_root) if f.endswith('.npz')] == []
    assert files_in(download.cache_dir()) == []


def test_old_codes_own_downloader_gets_the_same_verified_bytes(small_mnist, tmp_path):
    """The v1 examples' data.py: six.moves' urlretrieve of the dead URL, then its parser."""
    server, base, _ = small_mnist
    name = 't10k-images-idx3-ubyte.gz'
    six.moves.urllib.request.urlretrieve(DEAD + name, str(tmp_path / name))
    assert (tmp_path / name).read_bytes() == server.files[name]['ok']
    with urllib.request.urlopen(urllib.request.Request('https://YANN.lecun.com/exdb/mnist/'
                                                       + name)) as response:
        assert response.read() == server.files[name]['ok']
    del server.hits[:]  # the control: any other URL goes to urlopen as before
    with urllib.request.urlopen(base + 'ok/' + name) as response:
        assert response.read() == server.files[name]['ok']
    assert server.hits == ['/ok/' + name]


@pytest.mark.parametrize('url, found', [
    (DEAD + 'train-labels-idx1-ubyte.gz', ('mnist', 'train-labels-idx1-ubyte.gz')),
    ('http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/t10k-images-idx3-ubyte.gz',
     ('fashion-mnist', 't10k-images-idx3-ubyte.gz')),
    ('http://codh.rois.ac.jp/kmnist/dataset/kmnist/train-images-idx3-ubyte.gz',
     ('kmnist', 'train-images-idx3-ubyte.gz')),
    (DEAD, None), (DEAD + 'index.html', None), (DEAD + 'train-labels-idx1-ubyte.gz?x=1', None),
    ('ftp://yann.lecun.com/exdb/mnist/train-labels-idx1-ubyte.gz', None),
    ('http://example.org/exdb/mnist/train-labels-idx1-ubyte.gz', None)])
def test_which_urls_are_served_verified_files(url, found):
    assert datasets.verified_source(url) == found


def test_get_fashion_mnist_reads_the_system_package(tmp_path, chainer_root, monkeypatch):
    """Debian's dataset-fashion-mnist (here a folder of a tiny set with its own checksums)."""
    files, checksums, arrays = small_set(1)
    package = tmp_path / 'package'
    package.mkdir()
    for name, body in files.items():
        (package / name).write_bytes(body)
    monkeypatch.setitem(download.SOURCES, 'fashion-mnist', download.SOURCES[
        'fashion-mnist']._replace(md5=checksums, mirrors=()))
    monkeypatch.setattr(download, 'SYSTEM_DIRS', {'fashion-mnist': (str(package),)})
    train, _ = chainer.datasets.get_fashion_mnist(withlabel=False, scale=255)
    assert np.array_equal(train, arrays['train-images'].reshape(6, 784))
    assert not os.path.exists(download.cache_dir('fashion-mnist'))  # read in place


SCRIPT = '''
import chainer
chainer.datasets.get_mnist()
print('not reached')
'''


def test_the_revival_ends_a_failed_download_with_one_line(tmp_path):
    files, _, _ = small_set(2)  # not MNIST: every file fails the published checksums
    (tmp_path / 'old.py').write_text(SCRIPT)
    with serving(files) as (_, base):
        result = subprocess.run(
            [sys.executable, '-m', 'chainer_vae.revival', 'old.py'], capture_output=True,
            text=True, cwd=str(tmp_path), timeout=120, env=dict(
                os.environ, PYTHONPATH=REPO, CHAINER_DATASET_ROOT=str(tmp_path / 'root'),
                CHAINER_VAE_MNIST_MIRRORS=base + 'ok/,http://127.0.0.1:9/'))
    assert result.returncode == 1 and result.stdout == ''
    lines = result.stderr.splitlines()
    assert lines[-1].startswith('revival: error: ' + DEAD + 'train-images-idx3-ubyte.gz: could '
                                'not download MNIST')
    assert 'ok/: checksum mismatch; http://127.0.0.1:9/: ' in lines[-1]
    assert lines[:-1] == ['Downloading from %strain-images-idx3-ubyte.gz...' % DEAD]  # chainer's
