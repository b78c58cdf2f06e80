"""MNIST (and Fashion-MNIST, Kuzushiji-MNIST) that load today: verified downloads from
mirrors into a cache.

yann.lecun.com, where the 2017 loader and chainer.datasets.get_mnist() fetch
MNIST, has answered 403/404 for years. We try mirrors in order and accept a
file only when its md5 is the published one: for MNIST, of its *decompressed*
content (a faithful re-gzip passes, corruption never does); for Fashion-MNIST
and KMNIST only the .gz files' md5 is published, so the .gz file itself is
checked. Each file is written to a temporary name beside its target, verified,
then renamed: the cache never holds a partial or wrong file.

Cache: $CHAINER_DATASET_ROOT/chainer_vae/<dataset> (chainer's root, default
~/.chainer/dataset). Mirrors: $CHAINER_VAE_MNIST_MIRRORS (and
CHAINER_VAE_FASHION_MNIST_MIRRORS, CHAINER_VAE_KMNIST_MIRRORS), comma-separated
base URLs, replaces the dataset's list below ("" means none: no download).
"""
import collections
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

from chainer_vae import errors

MIRRORS = ('https://ossci-datasets.s3.amazonaws.com/mnist/',
           'https://storage.googleapis.com/cvdf-datasets/mnist/')

# md5 of the decompressed files: the checksums published with MNIST
MD5 = {
    'train-images-idx3-ubyte.gz': '6bbc9ace898e44ae57da46a324031adb',
    'train-labels-idx1-ubyte.gz': 'a25bea736e30d166cdddb491f175f624',
    't10k-images-idx3-ubyte.gz': '2646ac647ad5339dbf082846283269ea',
    't10k-labels-idx1-ubyte.gz': '27ae3e4e09519cfbb04c329615203637',
}

# A dataset in MNIST's four IDX files: its name in messages, its mirrors, the md5 of each
# file and whether that md5 is of the .gz file itself (``gz``) or of its content.
Source = collections.namedtuple('Source', 'title mirrors md5 gz')
SOURCES = {
    'mnist': Source('MNIST', MIRRORS, MD5, gz=False),
    # Xiao, Rasul & Vollgraf 2017 (MIT licence); md5 of the .gz files as torchvision lists them
    'fashion-mnist': Source('Fashion-MNIST', (
        'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
        'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'), {
        'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
        'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
        't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
        't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310'}, gz=True),
    # Clanuwat et al. 2018 (CC BY-SA 4.0); md5 of the .gz files
    'kmnist': Source('Kuzushiji-MNIST', ('http://codh.rois.ac.jp/kmnist/dataset/kmnist/',), {
        'train-images-idx3-ubyte.gz': 'bdb82020997e1d708af4cf47b453dcf7',
        'train-labels-idx1-ubyte.gz': 'e144d726b3acfaa3e44228e80efcd344',
        't10k-images-idx3-ubyte.gz': '5c965bf0a639b31b8f53240b1b52f4d7',
        't10k-labels-idx1-ubyte.gz': '7320c461ea6c1c855c0b718fb2a4b134'}, gz=True),
}
TIMEOUT = 30  # seconds to connect, and for each read
DEADLINE = 600  # seconds for one whole file: a mirror that sends a byte now and then fails too


class DownloadError(errors.Failure):
    """No mirror gave a verified file; the message is one line for the user."""


class PastDeadline(TimeoutError):
    """A file took longer than its deadline in all."""


def cache_dir(dataset='mnist'):
    root = os.environ.get('CHAINER_DATASET_ROOT', os.path.expanduser('~/.chainer/dataset'))
    return os.path.join(root, 'chainer_vae', dataset)


def mirrors_variable(dataset='mnist'):
    return 'CHAINER_VAE_%s_MIRRORS' % dataset.upper().replace('-', '_')


def mirrors(dataset='mnist'):
    listed = os.environ.get(mirrors_variable(dataset))
    if listed is None:
        return SOURCES[dataset].mirrors
    return tuple(url.strip().rstrip('/') + '/' for url in listed.split(',') if url.strip())


def verified(path, md5, gz=False):
    """True when ``path`` is a gzip file whose decompressed content has this md5 (or, with
    ``gz``, a file whose own bytes have it)."""
    digest = hashlib.md5()
    try:
        with (open(path, 'rb') if gz else gzip.open(path, 'rb')) as f:
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


def download(name, directory, urls, md5, timeout=TIMEOUT, deadline=DEADLINE,
             source=SOURCES['mnist'], dataset='mnist'):
    """Fetch ``name`` from the first of ``urls`` that gives a verified file; return its path.
    The .part file is removed whatever happens, a signal included (chainer_vae.interrupt)."""
    title = source.title
    if not urls:
        raise DownloadError('no %s mirrors to download %s from (%s is empty); pass --data-dir '
                            'DIR, or copy the four %s .gz files into %s'
                            % (title, name, mirrors_variable(dataset), title, directory))
    failures = []
    for base in urls:
        try:
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.part', dir=directory)
        except OSError as e:
            raise DownloadError('cannot write in the %s cache %s: %s; set '
                                'CHAINER_DATASET_ROOT to a writable folder, or pass --data-dir'
                                % (title, directory, e.strerror)) from None
        os.close(fd)
        try:
            _fetch(base + name, tmp, timeout, deadline)
            if verified(tmp, md5, source.gz):
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
        'could not download %s %s (%s); put the four %s .gz files in a directory and '
        'pass --data-dir DIR, or copy them into %s'
        % (title, name, '; '.join(failures), title, directory))


def ensure(dataset='mnist', directory=None, urls=None, checksums=None, timeout=TIMEOUT,
           deadline=DEADLINE):
    """The dataset's cache directory, holding every file of its checksums verified;
    downloads what is missing."""
    source = SOURCES[dataset]
    directory = directory or cache_dir(dataset)
    urls = mirrors(dataset) if urls is None else urls
    for name, md5 in (checksums or source.md5).items():
        if not verified(os.path.join(directory, name), md5, source.gz):
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as e:
                raise DownloadError('cannot create the %s cache %s: %s; set '
                                    'CHAINER_DATASET_ROOT to a writable folder, or pass '
                                    '--data-dir' % (source.title, directory, e.strerror)) from None
            download(name, directory, urls, md5, timeout, deadline, source, dataset)
    return directory
