"""The run folder and its checkpoints: save, resume, lock.

A run folder (``train_vae.py --out``) holds config.json, log.csv, graph.dot,
``checkpoint.npz`` -- the state at the end of the last finished epoch: model,
Adam state, epoch, NumPy's random state and the epoch's log row -- and, once the
run is done, the legacy pair ``mlp_<dimz>.model`` / ``mlp_<dimz>.state``.

- Every file is written under a unique temporary name, fsynced, then renamed
  over its target: a kill at any instant leaves the previous version whole.
- A run holds an exclusive lock on ``.lock`` (its pid inside) while it writes;
  the kernel drops the lock when the process dies, even by kill -9.
- A folder holding an earlier run is refused unless the run resumes it or
  ``--force`` replaces it.
- Nothing is unpickled, and an npz is checked against the model's shapes from
  its array headers before any array is read.
"""
import contextlib
import csv
import fcntl
import glob
import json
import os
import tempfile
import zipfile

import numpy as np

import chainer
from chainer import serializers

from chainer_vae import config as run_config, net

CHECKPOINT = 'checkpoint.npz'
LOCK = '.lock'
CONFIG = 'config.json'
LOG = 'log.csv'
# what a run and `python -m chainer_vae.visualize` (evaluate, m1) write: --force removes these
RUN_FILES = (CONFIG, LOG, 'graph.dot', CHECKPOINT, 'mlp_*.model', 'mlp_*.state')
PICTURE_FILES = ('reconstructions.png', 'samples.png', 'latent_scatter.png', 'mapping.png',
                 'vae_*.gif', 'kl_visualize*.gif', 'loss_curves.png', 'legacy_comparison.md',
                 'graph.png', 'graph.svg',
                 'evaluation.json', 'm1.json', 'm1.md')  # and chainer_vae.evaluate's, m1's


_UMASK = os.umask(0o022)
os.umask(_UMASK)


class CheckpointError(Exception):
    """A run folder or checkpoint that cannot be used; the message is one line."""


def legacy_paths(out, n_latent):
    """Where the notebook saved the model and the optimizer: mlp_<n_latent>.model / .state."""
    stem = os.path.join(out, 'mlp_%d' % n_latent)
    return stem + '.model', stem + '.state'


# ---- writing ------------------------------------------------------------------

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
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


def write_npz(f, arrays, compress):
    """np.savez / np.savez_compressed into the open file ``f``, with the zip closed on
    failure too (numpy leaves it to the garbage collector, which prints a traceback on a
    full disk)."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(f, 'w', compression=method, allowZip64=True) as z:
        for key, value in arrays.items():
            with z.open(key + '.npy', 'w', force_zip64=True) as entry:
                np.lib.format.write_array(entry, np.asanyarray(value), allow_pickle=False)


def save_npz_atomic(path, obj):
    """serializers.save_npz (a Link or an Optimizer: compressed, as chainer writes it)
    through write_atomic."""
    arrays = {}
    serializers.DictionarySerializer(arrays).save(obj)
    write_atomic(path, lambda f: write_npz(f, arrays, compress=True))


def save(out, model, optimizer, row, extra=None):
    """checkpoint.npz: everything a resumed run needs to go on as if never stopped, and
    the epoch's log.csv row (written after it: see RunFolder.cut_log); ``extra``: more
    arrays by name (chainer_vae.m2's labelled draw and batch layout)."""
    epoch = row[0]
    arrays = dict(extra or {}, log_row=np.array(row[1:], np.float64))
    serializers.DictionarySerializer(arrays, path='model/').save(model)
    serializers.DictionarySerializer(arrays, path='optimizer/').save(optimizer)
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    arrays.update({'epoch': np.int64(epoch), 'rng/keys': keys, 'rng/pos': np.int64(pos),
                   'rng/has_gauss': np.int64(has_gauss),
                   'rng/cached_gaussian': np.float64(cached_gaussian)})
    write_atomic(os.path.join(out, CHECKPOINT), lambda f: write_npz(f, arrays, compress=False))


# ---- reading ------------------------------------------------------------------

def npz_headers(path):
    """{key: (shape, dtype)} of an npz, read from the array headers alone."""
    headers = {}
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            with z.open(info) as f:
                version = np.lib.format.read_magic(f)
                read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                        else np.lib.format.read_array_header_2_0)
                shape, _, dtype = read(f)
            headers[info.filename[:-len('.npy')]] = (shape, dtype)
    return headers


def _expected_shape(obj, key):
    """The shape ``key`` must have in an npz of ``obj`` (a Link or an Optimizer), or None
    for a key this program never reads."""
    if isinstance(obj, chainer.Link):
        params = dict(obj.namedparams())
        return params['/' + key].shape if '/' + key in params else None
    if key in ('t', 'epoch'):
        return ()
    params = dict(obj.target.namedparams())
    param, _, state = ('/' + key).rpartition('/')
    if param not in params:
        return None
    return () if state == 't' else params[param].shape  # Adam's m and v match their param


def checked_headers(path):
    """npz_headers of an existing npz file; CheckpointError for anything else."""
    if not os.path.isfile(path):
        raise CheckpointError('%s: file not found' % path)
    if not zipfile.is_zipfile(path):
        raise CheckpointError('%s is not an .npz checkpoint written by this program' % path)
    try:
        return npz_headers(path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise CheckpointError('%s is damaged (%s)' % (path, e)) from None


def check_shapes(path, headers, obj, prefix=''):
    """Raise CheckpointError unless ``headers`` (of the npz at ``path``) hold ``obj``'s
    arrays in its shapes: read from the headers, so that a crafted one never allocates."""
    for key, (shape, dtype) in headers.items():
        if not key.startswith(prefix):
            continue
        expected = _expected_shape(obj, key[len(prefix):])
        if dtype.hasobject or (expected is not None and tuple(shape) != tuple(expected)):
            raise CheckpointError(
                '%s does not fit this model: %s has shape %s, the model needs %s (check '
                '--dimz and --n-hidden)' % (path, key, tuple(shape), tuple(expected or ())))
    if isinstance(obj, chainer.Link):  # every parameter must be there
        names = [n.lstrip('/') for n, _ in obj.namedparams()]
        missing = [n for n in names if prefix + n not in headers]
        if missing:
            raise CheckpointError('%s does not fit this model: it lacks %s (check --dimz and '
                                  '--n-hidden)' % (path, ', '.join(missing[:3])))


@contextlib.contextmanager
def _reading(path):
    """np.load(path) without pickle; a key, shape or data fault inside is one line."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            yield npz
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError('%s does not fit this model (check --dimz and --n-hidden): %s'
                              % (path, why)) from None


def load_npz(path, obj):
    """serializers.load_npz, checked first, without pickle (chainer's passes allow_pickle=True)."""
    check_shapes(path, checked_headers(path), obj)
    with _reading(path) as npz:
        serializers.NpzDeserializer(npz).load(obj)


def load_run(run_dir):
    """A finished run's config (chainer_vae.config) and its trained model, rebuilt from
    config.json and loaded from mlp_<n_latent>.model."""
    path = os.path.join(run_dir, CONFIG)
    if not os.path.isfile(path):
        raise CheckpointError('%s has no config.json: is it a train_vae.py --out directory?'
                              % run_dir)
    try:
        config = run_config.read(path)
    except run_config.ConfigError as e:
        raise CheckpointError(e) from None
    m = config['model']
    model = net.VAE(m['n_in'], m['n_latent'], m['n_h'], act_func=net.ACTIVATIONS[m['activation']])
    model_path, _ = legacy_paths(run_dir, m['n_latent'])
    if not os.path.isfile(model_path):
        raise CheckpointError('%s is missing: the run did not finish' % model_path)
    load_npz(model_path, model)
    return config, model


RNG_SHAPES = {'epoch': (), 'rng/keys': (624,), 'rng/pos': (), 'rng/has_gauss': (),
              'rng/cached_gaussian': (), 'log_row': (5,)}


def restore(out, model, optimizer, shapes=None):
    """Load checkpoint.npz of ``out`` into model, optimizer and NumPy's generator;
    return its log.csv row (epoch first). ``shapes``: {name: shape} of more arrays it
    must hold (save's ``extra``), or of another program's log row."""
    path = os.path.join(out, CHECKPOINT)
    headers = checked_headers(path)
    check_shapes(path, headers, model, 'model/')
    check_shapes(path, headers, optimizer, 'optimizer/')
    for key, shape in dict(RNG_SHAPES, **(shapes or {})).items():
        if key not in headers or tuple(headers[key][0]) != shape or headers[key][1].hasobject:
            what = key if key not in RNG_SHAPES else 'the epoch, its log row or the random state'
            raise CheckpointError('%s lacks %s' % (path, what))
    with _reading(path) as npz:
        serializers.NpzDeserializer(npz, path='model/').load(model)
        serializers.NpzDeserializer(npz, path='optimizer/').load(optimizer)
        np.random.set_state(('MT19937', npz['rng/keys'].astype(np.uint32), int(npz['rng/pos']),
                             int(npz['rng/has_gauss']), float(npz['rng/cached_gaussian'])))
        return (int(npz['epoch']),) + tuple(float(v) for v in npz['log_row'])


def saved_epoch(out):
    """The epoch of the checkpoint in ``out``, or None where there is none to read."""
    try:
        with np.load(os.path.join(out, CHECKPOINT), allow_pickle=False) as npz:
            return int(npz['epoch'])
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return None


# ---- the run folder -----------------------------------------------------------

class RunFolder:
    """``--out``, locked for this process from ``open`` until the process ends."""

    def __init__(self, path):
        self.path = path
        self._lock_fd = None

    def file(self, name):
        return os.path.join(self.path, name)

    def open(self, force=False, resume=False):
        """Create and lock the folder; refuse an earlier run unless resuming it or
        ``force`` (which removes the earlier run's files first)."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise CheckpointError('--out %s is a file, not a directory' % self.path)
        try:
            os.makedirs(self.path, exist_ok=True)
            self._lock_fd = os.open(self.file(LOCK), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            raise CheckpointError('cannot write in --out %s: %s'
                                  % (self.path, e.strerror)) from None
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.read(self._lock_fd, 32).decode(errors='replace').strip() or '?'
            raise CheckpointError('--out %s is in use by another run (pid %s)'
                                  % (self.path, pid)) from None
        os.ftruncate(self._lock_fd, 0)
        os.write(self._lock_fd, b'%d\n' % os.getpid())
        for pattern in RUN_FILES:  # temporary files of a run killed while writing
            for stale in glob.glob(self.file('.%s.*.tmp' % pattern)):
                os.remove(stale)
        earlier = self.run_files()
        if resume or not earlier:
            return
        if not force:
            raise CheckpointError(
                '--out %s holds an earlier run (%s); pass --force to replace it, or '
                '--resume-from %s to continue it' % (self.path, ', '.join(earlier[:3]), self.path))
        for name in self.run_files(PICTURE_FILES):
            os.remove(self.file(name))

    def run_files(self, also=()):
        return sorted({os.path.basename(p) for pattern in RUN_FILES + tuple(also)
                       for p in glob.glob(self.file(pattern))})

    def write_config(self, config):
        text = json.dumps(config, indent=1).encode()
        try:
            with open(self.file(CONFIG), 'rb') as f:
                if f.read() == text:  # a resumed run with the same settings
                    return
        except OSError:
            pass
        write_atomic(self.file(CONFIG), lambda f: f.write(text))

    def cut_log(self, row):
        """Make log.csv end at the checkpoint's epoch: drop rows after it, and add its
        row where the run stopped between saving the checkpoint and writing the row.
        Return the wall time of that row."""
        epoch = row[0]
        try:
            with open(self.file(LOG), newline='') as f:
                rows = list(csv.reader(f))
            kept = rows[:1 + epoch]
            if len(kept) == epoch:  # the checkpoint's own row is missing
                kept.append([repr(v) for v in row])
            if [int(r[0]) for r in kept[1:]] != list(range(1, epoch + 1)):
                raise ValueError('its epochs are not 1 to %d' % epoch)
        except (OSError, ValueError, IndexError) as e:
            raise CheckpointError('cannot resume %s: %s does not match its checkpoint of epoch '
                                  '%d (%s)' % (self.path, LOG, epoch, e)) from None
        if kept != rows:
            text = ''.join(','.join(r) + '\r\n' for r in kept).encode()
            write_atomic(self.file(LOG), lambda f: f.write(text))
        return row[-1]
