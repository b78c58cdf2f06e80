"""MNIST (and Fashion-MNIST, Kuzushiji-MNIST) that load today: verified downloads from
mirrors into a cache, or a system package's copy read in place.

yann.lecun.com, where the 2017 loader and chainer.datasets.get_mnist() fetch
MNIST, has answered 403/404 for years. We try mirrors in order and accept a
file only when its md5 is the published one: for MNIST and Fashion-MNIST, of its
*decompressed* content (a faithful re-gzip, by a mirror or a package, passes;
a changed byte never does); for KMNIST only the .gz files' md5 is published, so
the .gz file itself is checked. Each file is written to a temporary name beside
its target, verified, then renamed: the cache never holds a partial or wrong file.

A dataset an operating system ships (SYSTEM_DIRS: Debian's dataset-fashion-mnist)
is read from the package's folder, before the cache and the mirrors, once all four
files there pass the same check; a copy there that fails it is refused with one
line, never written to and never passed over for a download.

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
    # Xiao, Rasul & Vollgraf 2017 (MIT licence); md5 of the decompressed files (those of the
    # published .gz files 8d4fb7e6..., 25c81989..., bef4ecab..., bb300cfd..., which torchvision
    # lists and which Debian's package, re-gzipped with other headers, does not match)
    'fashion-mnist': Source('Fashion-MNIST', (
        'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
        'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/'), {
        'train-images-idx3-ubyte.gz': 'f4a8712d7a061bf5bd6d2ca38dc4d50a',
        'train-labels-idx1-ubyte.gz': '9018921c3c673c538a1fc5bad174d6f9',
        't10k-images-idx3-ubyte.gz': '8181f5470baa50b63fa0f6fddb340f0a',
        't10k-labels-idx1-ubyte.gz': '15d484375f8d13e6eb1aabb0c3f46965'}, gz=False),
    # Clanuwat et al. 2018 (CC BY-SA 4.0); md5 of the .gz files: the only ones published,
    # so a re-gzipped copy of the same content is refused
    'kmnist': Source('Kuzushiji-MNIST', ('http://codh.rois.ac.jp/kmnist/dataset/kmnist/',), {
        'train-images-idx3-ubyte.gz': 'bdb82020997e1d708af4cf47b453dcf7',
        'train-labels-idx1-ubyte.gz': 'e144d726b3acfaa3e44228e80efcd344',
        't10k-images-idx3-ubyte.gz': '5c965bf0a639b31b8f53240b1b52f4d7',
        't10k-labels-idx1-ubyte.gz': '7320c461ea6c1c855c0b718fb2a4b134'}, gz=True),
}
# Folders where a system package puts a dataset's four files: read in place, never written.
# Tests replace this table in-process (tests/conftest.py empties it).
SYSTEM_DIRS = {'fashion-mnist': ('/usr/share/datasets/fashion-mnist',)}  # Debian, bookworm on
TIMEOUT = 30  # seconds to connect, and for each read
DEADLINE = 600  # seconds for one whole file: a mirror that sends a byte now and then fails too
# what each message offers besides the cache: the training command's flag (old Chainer code
# fetching through the revival has none, and passes '')
DATA_DIR = ', or pass --data-dir DIR'


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


# more than any file of these sets holds decompressed (the largest, the 60,000 training
# images, 47,040,016 bytes): a file that inflates past it is refused when it does, not
# hashed to its end (a gzip bomb of a few MB inflates to many GB)
MAX_CONTENT = 1 << 26


def verified(path, md5, gz=False):
    """True when ``path`` is a gzip file whose decompressed content has this md5 (or, with
    ``gz``, a file whose own bytes have it)."""
    digest = hashlib.md5()
    size = 0
    try:
        with (open(path, 'rb') if gz else gzip.open(path, 'rb')) as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                size += len(block)
                if not gz and size > MAX_CONTENT:
                    return False
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
             source=SOURCES['mnist'], dataset='mnist', or_else=DATA_DIR):
    """Fetch ``name`` from the first of ``urls`` that gives a verified file; return its path.
    The .part file is removed whatever happens, a signal included (chainer_vae.interrupt).
    ``or_else``: what the messages offer besides the cache (DATA_DIR)."""
    title = source.title
    if not urls:
        raise DownloadError('no %s mirrors to download %s from (%s is empty); copy the four %s '
                            '.gz files into %s%s'
                            % (title, name, mirrors_variable(dataset), title, directory, or_else))
    failures = []
    for base in urls:
        try:
            fd, tmp = tempfile.mkstemp(prefix='.%s.' % name, suffix='.part', dir=directory)
        except OSError as e:
            raise DownloadError('cannot write in the %s cache %s: %s; set '
                                'CHAINER_DATASET_ROOT to a writable folder%s'
                                % (title, directory, e.strerror, or_else)) from None
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
        'could not download %s %s (%s); copy the four %s .gz files into %s%s'
        % (title, name, '; '.join(failures), title, directory, or_else))


def system_copy(dataset, checksums=None, or_else=DATA_DIR):
    """The first of the dataset's SYSTEM_DIRS that holds any of its files, all of them
    verified; None where no folder holds one. A copy there that fails is refused, not passed
    over for the cache: the user installed it to be used, and a download would hide that it
    is damaged (and could not mend it: the folder is not ours to write)."""
    source = SOURCES[dataset]
    checksums = checksums or source.md5
    for folder in SYSTEM_DIRS.get(dataset, ()):
        if not any(os.path.exists(os.path.join(folder, name)) for name in checksums):
            continue
        for name, md5 in checksums.items():
            path = os.path.join(folder, name)
            if not verified(path, md5, source.gz):
                raise DownloadError(
                    '%s: %s, not the published %s file; reinstall the package that put it '
                    'there%s' % (path, 'checksum mismatch' if os.path.isfile(path) else 'missing',
                                 source.title, or_else))
        return folder
    return None


def ensure(dataset='mnist', directory=None, urls=None, checksums=None, timeout=TIMEOUT,
           deadline=DEADLINE, or_else=DATA_DIR):
    """The folder of the dataset's files, every file of its checksums verified: without
    ``directory``, a system package's copy (system_copy) where one is installed, else the
    cache; downloads into the cache what is missing there. ``or_else``: as download's."""
    source = SOURCES[dataset]
    if directory is None:
        installed = system_copy(dataset, checksums, or_else)
        if installed:
            return installed
        directory = cache_dir(dataset)
    urls = mirrors(dataset) if urls is None else urls
    for name, md5 in (checksums or source.md5).items():
        if not verified(os.path.join(directory, name), md5, source.gz):
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as e:
                raise DownloadError('cannot create the %s cache %s: %s; set '
                                    'CHAINER_DATASET_ROOT to a writable folder%s'
                                    % (source.title, directory, e.strerror, or_else)) from None
            download(name, directory, urls, md5, timeout, deadline, source, dataset, or_else)
    return directory
