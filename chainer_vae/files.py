"""Files in a run folder: written whole or not at all, recorded, and locked.

- ``write_atomic``: every file this project writes goes to a unique temporary name
  beside its target, is fsynced, then renamed over it (and the folder fsynced): a kill
  or a power cut at any instant leaves the old file or the new one, never a part.
- ``write_into``: the same into a run folder, the file's name then recorded in the
  folder's ``.written`` list, so that ``--force`` removes exactly what this project
  wrote there, never a file of the user's that merely looks like one of ours.
- ``Lock``: a command that writes a folder holds an exclusive lock on its ``.lock``
  (its pid inside) until the process ends; the kernel drops it even on kill -9.
"""
import contextlib
import fcntl
import glob
import os
import tempfile
import zipfile

import numpy as np

from chainer_vae import errors

# the run folder's own files (train_vae.py --out)
CONFIG = 'config.json'
LOG = 'log.csv'
GRAPH = 'graph.dot'
CHECKPOINT = 'checkpoint.npz'
LOCK = '.lock'
WRITTEN = '.written'  # the names of the files written here, one a line

_UMASK = os.umask(0o022)
os.umask(_UMASK)


class FolderError(errors.Failure):
    """A folder that cannot be written or locked; the message is one line."""


def legacy_names(n_latent):
    """The notebook's names of the model and the optimizer: mlp_<n_latent>.model / .state."""
    return 'mlp_%d.model' % n_latent, 'mlp_%d.state' % n_latent


def legacy_paths(out, n_latent):
    """Where the notebook saved the model and the optimizer."""
    return tuple(os.path.join(out, name) for name in legacy_names(n_latent))


def write_atomic(path, write):
    """Call write(f) on a unique temporary file beside ``path``, fsync it, rename it
    over ``path``: readers see the old file or the new one, never a part."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.%s.' % os.path.basename(path), suffix='.tmp',
                               dir=directory)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # as open() would make it, not mkstemp's 0600
        with os.fdopen(fd, 'wb') as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):  # gone already if the rename was done
            os.remove(tmp)
        raise
    fsync_folder(directory)


def fsync_folder(directory):
    """Make the renames and removals in ``directory`` survive a power cut."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(tmp, path):
    """Move the finished file ``tmp`` (in the same file system) over ``path``, durably."""
    with open(tmp, 'rb') as f:
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_folder(os.path.dirname(os.path.abspath(path)))


def read_or_none(path):
    """The bytes of the file at ``path``, or None where there is none."""
    try:
        with open(path, 'rb') as f:
            return f.read()
    except FileNotFoundError:
        return None


def write_bytes(path, data):
    write_atomic(path, lambda f: f.write(data))


def write_npz(f, arrays, compress):
    """np.savez / np.savez_compressed into the open file ``f``, with the zip closed on
    failure too (numpy leaves it to the garbage collector, which prints a traceback on a
    full disk)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, 'w', compression=method, allowZip64=True) as z:
        for key, value in arrays.items():
            with z.open(key + '.npy', 'w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)


# ---- what was written here --------------------------------------------------------

def written(folder):
    """The names recorded in ``folder``'s .written list (empty where there is none)."""
    try:
        with open(os.path.join(folder, WRITTEN), encoding='utf-8') as f:
            names = f.read().splitlines()
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as e:
        raise FolderError('%s: cannot read the list of files written there (%s)'
                          % (folder, getattr(e, 'strerror', None) or e)) from None
    return [n for n in names if n and os.path.basename(n) == n and not n.startswith('.')]


def record(folder, names):
    """Add ``names`` to ``folder``'s .written list (kept in the order first written)."""
    known = written(folder)
    new = [n for n in names if n not in known]
    if new:
        text = ''.join(n + '\n' for n in known + new).encode()
        write_bytes(os.path.join(folder, WRITTEN), text)


def write_into(folder, name, write):
    """write_atomic of ``folder``/``name``, then its name recorded."""
    write_atomic(os.path.join(folder, name), write)
    record(folder, [name])


def remove_written(folder, also=()):
    """Remove the files recorded in ``folder`` (and the names ``also``), then the list."""
    for name in written(folder) + list(also):
        with contextlib.suppress(FileNotFoundError):
            os.remove(os.path.join(folder, name))
    with contextlib.suppress(FileNotFoundError):
        os.remove(os.path.join(folder, WRITTEN))
    fsync_folder(folder)


def clear_temporary(folder, names=()):
    """Remove the temporary files that a kill left of write_atomic's writes of ``names``
    and of the recorded files (``.<name>.<random>.tmp``)."""
    for name in set(names) | set(written(folder)) | {WRITTEN}:
        for stale in glob.glob(os.path.join(glob.escape(folder), '.%s.*.tmp' % glob.escape(name))):
            with contextlib.suppress(FileNotFoundError):
                os.remove(stale)


# ---- one writer at a time ---------------------------------------------------------

class Lock:
    """An exclusive lock on ``folder``/.lock, held until ``release`` or the process ends."""

    def __init__(self, folder, what='--out'):
        self.folder, self.what = folder, what
        self._fd = None

    def acquire(self):
        """Create the folder if need be and lock it; FolderError where another process
        holds it, or the folder cannot be made or written."""
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise FolderError('%s %s is a file, not a directory' % (self.what, self.folder))
        try:
            os.makedirs(self.folder, exist_ok=True)
            self._fd = os.open(os.path.join(self.folder, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise FolderError('cannot write in %s %s: %s'
                              % (self.what, self.folder, e.strerror)) from None
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(self._fd, 32).decode(errors='replace').strip() or '?'
            os.close(self._fd)
            self._fd = None
            raise FolderError('%s %s is in use by another process of chainer_vae (pid %s)'
                              % (self.what, self.folder, pid)) from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, b'%d\n' % os.getpid())
        return self

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
