"""MNIST that loads today: verified downloads from mirrors into a cache.

yann.lecun.com, where the 2017 loader and chainer.datasets.get_mnist() fetch
MNIST, has answered 403/404 for years. We try mirrors in order and accept a
file only when the md5 of its *decompressed* content is the official one (a
faithful re-gzip passes, corruption never does). Each file is written to a
temporary name beside its target, verified, then renamed: the cache never
holds a partial or wrong file.

Cache: $CHAINER_DATASET_ROOT/chainer_vae/mnist (chainer's root, default
~/.chainer/dataset). Mirrors: $CHAINER_VAE_MNIST_MIRRORS, comma-separated base
URLs, replaces the list below ("" means none: no download).
"""
import gzip
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
import zlib

MIRRORS = ('https://ossci-datasets.s3.amazonaws.com/mnist/',
           'https://storage.googleapis.com/cvdf-datasets/mnist/')

# md5 of the decompressed files: the checksums published with MNIST
MD5 = {
    'train-images-idx3-ubyte.gz': '6bbc9ace898e44ae57da46a324031adb',
    'train-labels-idx1-ubyte.gz': 'a25bea736e30d166cdddb491f175f624',
    't10k-images-idx3-ubyte.gz': '2646ac647ad5339dbf082846283269ea',
    't10k-labels-idx1-ubyte.gz': '27ae3e4e09519cfbb04c329615203637',
}
TIMEOUT = 30  # seconds to connect, and for each read
DEADLINE = 600  # seconds for one whole file: a mirror that sends a byte now and then fails too


class DownloadError(Exception):
    """No mirror gave a verified file; the message is one line for the user."""


class PastDeadline(TimeoutError):
    """A file took longer than its deadline in all."""


def cache_dir():
    root = os.environ.get('CHAINER_DATASET_ROOT', os.path.expanduser('~/.chainer/dataset'))
    return os.path.join(root, 'chainer_vae', 'mnist')


def mirrors():
    listed = os.environ.get('CHAINER_VAE_MNIST_MIRRORS')
    if listed is None:
        return MIRRORS
    return tuple(url.strip().rstrip('/') + '/' for url in listed.split(',') if url.strip())


def verified(path, md5):
    """True when ``path`` is a gzip file whose decompressed content has this md5."""
    digest = hashlib.md5()
    try:
        with gzip.open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
    except (OSError, EOFError, zlib.error):
        return False
    return digest.hexdigest() == md5


def _fetch(url, path, timeout, deadline):
    """Write the body at ``url`` to ``path``; raise OSError or HTTPException on failure,
    TimeoutError once ``deadline`` seconds have passed."""
    give_up = time.monotonic() + deadline
    with urllib.request.urlopen(url, timeout=timeout) as response, open(path, 'wb') as f:
        total = int(response.headers.get('Content-Length') or 0)
        done = 0
        for block in iter(lambda: response.read1(1 << 16), b''):
            if time.monotonic() > give_up:
                raise PastDeadline('timed out after %g s in all' % deadline)
            f.write(block)
            done += len(block)
            if total and sys.stderr.isatty():
                sys.stderr.write('\r%s: %3d%% of %.1f MB' % (url, 100 * done // total, total / 1e6))
        if total and sys.stderr.isatty():
            sys.stderr.write('\n')
        if total and done != total:
            raise http.client.IncompleteRead(b'', total - done)


def _why(error):
    if isinstance(error, urllib.error.HTTPError):
        return 'HTTP %d %s' % (error.code, error.reason)
    if isinstance(error, urllib.error.URLError):
        error = error.reason
    if isinstance(error, PastDeadline):
        return str(error)
    if isinstance(error, TimeoutError) or 'timed out' in str(error):
        return 'timed out'
    if isinstance(error, http.client.IncompleteRead):
        return 'truncated body (%d bytes missing)' % error.expected
    return getattr(error, 'strerror', None) or str(error) or type(error).__name__


def download(name, directory, urls, md5, timeout=TIMEOUT, deadline=DEADLINE):
    """Fetch ``name`` from the first of ``urls`` that gives a verified file; return its path.
    The .part file is removed whatever happens, a signal included (chainer_vae.interrupt)."""
    if not urls:
        raise DownloadError('no MNIST mirrors to download %s from (CHAINER_VAE_MNIST_MIRRORS '
                            'is empty); pass --data-dir DIR, or copy the four MNIST .gz files '
                            'into %s' % (name, directory))
    failures = []
    for base in urls:
        try:
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.part', dir=directory)
        except OSError as e:
            raise DownloadError('cannot write in the MNIST cache %s: %s; set '
                                'CHAINER_DATASET_ROOT to a writable folder, or pass --data-dir'
                                % (directory, e.strerror)) from None
        os.close(fd)
        try:
            _fetch(base + name, tmp, timeout, deadline)
            if verified(tmp, md5):
                target = os.path.join(directory, name)
                os.replace(tmp, target)
                return target
            failures.append('%s: checksum mismatch' % base)
        except (OSError, http.client.HTTPException, ValueError) as e:
            failures.append('%s: %s' % (base, _why(e)))
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    raise DownloadError(
        'could not download MNIST %s (%s); put the four MNIST .gz files in a directory and '
        'pass --data-dir DIR, or copy them into %s' % (name, '; '.join(failures), directory))


def ensure_mnist(directory=None, urls=None, checksums=MD5, timeout=TIMEOUT, deadline=DEADLINE):
    """The cache directory, holding every file of ``checksums`` verified; downloads what is
    missing."""
    directory = directory or cache_dir()
    urls = mirrors() if urls is None else urls
    for name, md5 in checksums.items():
        if not verified(os.path.join(directory, name), md5):
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as e:
                raise DownloadError('cannot create the MNIST cache %s: %s; set '
                                    'CHAINER_DATASET_ROOT to a writable folder, or pass '
                                    '--data-dir' % (directory, e.strerror)) from None
            download(name, directory, urls, md5, timeout, deadline)
    return directory
