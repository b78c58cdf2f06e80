"""The run folder (``train_vae.py --out``) from open to finish, and reading a run back.

A run folder holds config.json, log.csv, graph.dot, ``checkpoint.npz`` -- the state at
the end of the last finished epoch: model, Adam state, epoch, NumPy's random state and
the epoch's log row -- and, once the run is done, the legacy pair ``mlp_<dimz>.model`` /
``mlp_<dimz>.state``. ``RunFolder`` owns all of it:

    folder = RunFolder(out, final).open(force=..., resume=...)  # locked till exit
    folder.restore(model, optimizer)     # a resumed run: weights, Adam, RNG, log.csv
    folder.write_config(config)
    folder.write_graph(dot)              # epoch 1, batch 0
    folder.end_epoch(model, optimizer, losses)   # checkpoint.npz, then log.csv
    folder.finish(model, optimizer)      # the final pair: mlp_<dimz>.model / .state

``resume_point`` says for both training commands from which epoch a folder goes on, or
why it cannot (chainer_vae/spine.py reconciles the flags with the run's settings).

- Every file goes through a temporary name, fsync and rename (chainer_vae/files.py), and
  is recorded in the folder's .written list: ``--force`` removes exactly those.
- A folder holding an earlier run is refused unless the run resumes it or ``--force``
  replaces it; one process writes it at a time (files.Lock).
- Nothing is unpickled; an npz is checked against the model's shapes from its array
  headers before any array is read, and every value read back is checked.
"""
import contextlib
import hashlib
import json
import os
import shlex
import time
import zipfile
import zlib

import numpy as np

import chainer
from chainer import serializers

from chainer_vae import config as run_config, errors, files, interrupt, net, runlog

RUN_NAMES = (files.CONFIG, files.LOG, files.GRAPH, files.CHECKPOINT)  # and the legacy pair


class CheckpointError(errors.Failure):
    """A run folder or checkpoint that cannot be used; the message is one line."""


# ---- npz files: checked from their headers, read without pickle -----------------

def save_npz(path, obj, folder=None):
    """serializers.save_npz (a Link or an Optimizer: compressed, as chainer writes it)
    through write_atomic; recorded in ``folder`` where given."""
    arrays = {}
    serializers.DictionarySerializer(arrays).save(obj)
    write = lambda f: files.write_npz(f, arrays, compress=True)  # noqa: E731
    if folder is None:
        files.write_atomic(path, write)
    else:
        files.write_into(folder, os.path.basename(path), write)


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
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
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
    """np.load(path) without pickle, its shapes checked before: what fails inside is
    damage (a bad CRC, a torn deflate block), one line."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            yield npz
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise CheckpointError('%s is damaged (%s)' % (path, why)) from None


def load_npz(path, obj):
    """serializers.load_npz, checked first, without pickle (chainer's passes allow_pickle=True)."""
    check_shapes(path, checked_headers(path), obj)
    with _reading(path) as npz:
        serializers.NpzDeserializer(npz).load(obj)


def load_run(run_dir):
    """A finished run's config (chainer_vae.config) and its trained model, rebuilt from
    config.json and loaded from mlp_<n_latent>.model."""
    path = os.path.join(run_dir, files.CONFIG)
    if not os.path.isfile(path):
        raise CheckpointError('%s has no config.json: is it a train_vae.py --out directory?'
                              % run_dir)
    config = run_config.read(path)
    m = config['model']
    model = net.VAE(m['n_in'], m['n_latent'], m['n_h'], act_func=net.ACTIVATIONS[m['activation']])
    model_path, _ = files.legacy_paths(run_dir, m['n_latent'])
    if not os.path.isfile(model_path):
        raise CheckpointError('%s is missing: the run did not finish' % model_path)
    epochs, done = config['training']['epoch'], saved_epoch(run_dir)
    if done is not None and done != epochs:  # None: the legacy files alone
        # a run extended with --resume-from --epoch and stopped before its new end keeps
        # the model of its earlier end beside a later checkpoint
        raise CheckpointError(
            '%s is not of the run\'s last epoch: config.json plans %d epochs, checkpoint.npz '
            'is at %d (train_vae.py --resume-from %s goes on; --epoch %d ends it there)'
            % (model_path, epochs, done, shlex.quote(run_dir), done))
    load_npz(model_path, model)
    return config, model


def model_sha256(run_dir, config):
    """The sha256 of a finished run's mlp_<n_latent>.model: a run trained on after another
    run learnt from it (M1+M2 from its M1) has another."""
    model_path, _ = files.legacy_paths(run_dir, config['model']['n_latent'])
    try:
        with open(model_path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError as e:
        raise CheckpointError('%s: %s' % (model_path, e.strerror)) from None


# ---- checkpoint.npz ----------------------------------------------------------------

def _checkpoint_arrays(model, optimizer, row, generator=None):
    arrays = {'log_row': np.array(row[1:], np.float64)}
    serializers.DictionarySerializer(arrays, path='model/').save(model)
    serializers.DictionarySerializer(arrays, path='optimizer/').save(optimizer)
    _, keys, pos, has_gauss, cached_gaussian = np.random.get_state()
    arrays.update({'epoch': np.int64(row[0]), 'rng/keys': keys, 'rng/pos': np.int64(pos),
                   'rng/has_gauss': np.int64(has_gauss),
                   'rng/cached_gaussian': np.float64(cached_gaussian)})
    if generator is not None:
        arrays[PCG64] = _pcg64_words(generator.bit_generator.state)
    return arrays


# a run's own PCG64 Generator (M2's fast-1/2 noise), where it has one: its 128-bit state and
# increment as 64-bit halves, then has_uint32 and uinteger
PCG64 = 'rng/pcg64'
_HALF = (1 << 64) - 1


def _pcg64_words(state):
    inner = state['state']
    return np.array([inner['state'] >> 64, inner['state'] & _HALF, inner['inc'] >> 64,
                     inner['inc'] & _HALF, state['has_uint32'], state['uinteger']], np.uint64)


def _pcg64_state(path, words):
    state_hi, state_lo, inc_hi, inc_lo, has_uint32, uinteger = (int(w) for w in words)
    if has_uint32 not in (0, 1) or uinteger >= 1 << 32 or not inc_lo & 1:
        raise CheckpointError('%s is damaged (its PCG64 state %s)' % (path, words.tolist()))
    return {'bit_generator': 'PCG64', 'has_uint32': has_uint32, 'uinteger': uinteger,
            'state': {'state': state_hi << 64 | state_lo, 'inc': inc_hi << 64 | inc_lo}}


STATE = {  # what checkpoint.npz holds besides model/ and optimizer/: (shape, dtype kind)
    'epoch': ((), 'i'), 'log_row': ((len(runlog.COLUMNS) - 1,), 'f'), 'rng/keys': ((624,), 'u'),
    'rng/pos': ((), 'i'), 'rng/has_gauss': ((), 'i'), 'rng/cached_gaussian': ((), 'f')}


def _read_state(path, npz):
    """The checkpoint's epoch, log row and NumPy random state, each checked."""
    state = {key: npz[key] for key in STATE}
    epoch, row = int(state['epoch']), state['log_row']
    pos, has_gauss = int(state['rng/pos']), int(state['rng/has_gauss'])
    if epoch < 1 or not np.isfinite(row).all() or not 0 <= pos <= 624 or has_gauss not in (0, 1):
        raise CheckpointError('%s is damaged (epoch %d, log row %s, random state at %d)'
                              % (path, epoch, row.tolist(), pos))
    rng = ('MT19937', state['rng/keys'].astype(np.uint32), pos, has_gauss,
           float(state['rng/cached_gaussian']))
    return (epoch,) + tuple(float(v) for v in row), rng


def saved_epoch(out):
    """The epoch of the checkpoint in ``out``, or None where there is none to read."""
    try:
        with np.load(os.path.join(out, files.CHECKPOINT), allow_pickle=False) as npz:
            epoch = int(npz['epoch'])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error):
        return None
    return epoch if epoch >= 1 else None


def resume_point(out):
    """The epoch the run in ``out`` goes on from: its checkpoint's. CheckpointError saying
    why it cannot go on: its checkpoint damaged, only the legacy pair there, or no epoch
    finished. (Its log.csv is checked against the checkpoint as the run is restored.)"""
    done = saved_epoch(out)
    if done is not None:
        return done
    if os.path.isfile(os.path.join(out, files.CHECKPOINT)):
        raise CheckpointError('cannot resume %s: its %s is damaged' % (out, files.CHECKPOINT))
    legacy = sorted(n for n in _names(out) if n.startswith('mlp_') and n.endswith('.model'))
    why = ('only %s: -m and -r load the legacy files into a new run' % legacy[0] if legacy
           else 'no epoch of that run finished')
    raise CheckpointError('cannot resume %s: no %s there (%s)' % (out, files.CHECKPOINT, why))


def _names(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


# ---- the run folder ------------------------------------------------------------------

class RunFolder:
    """``--out`` of one run, locked for this process from ``open`` until it ends;
    ``final``: the names of the files the run writes at its end (the VAE's legacy pair;
    none for M2), ``columns``: its log.csv's, epoch first and wall_time last (another
    loop's, as chainer_vae/m2_train.py's: end_epoch's losses are the columns between);
    ``generator``: a PCG64 Generator of the run's own (M2's fast-1/2 noise), or None."""

    def __init__(self, path, final=(), columns=runlog.COLUMNS, generator=None):
        self.path = path
        self.generator = generator  # a numpy Generator saved and restored with NumPy's
        self.final = tuple(final)
        self.columns = columns
        self.rows = []  # log.csv's rows so far (epoch first)
        self._lock = files.Lock(path)
        self._clock = time.time()  # wall_time counts from here (less a resumed run's)

    @property
    def epoch(self):
        """The last finished epoch (0 before the first)."""
        return len(self.rows)

    def file(self, name):
        return os.path.join(self.path, name)

    def open(self, force=False, resume=False):
        """Create and lock the folder; refuse an earlier run unless resuming it or
        ``force`` (which removes what was written there first, nothing else)."""
        self._lock.acquire()
        files.clear_temporary(self.path, RUN_NAMES)  # what a kill left half-written
        if resume:
            return self
        earlier = self._earlier_run()
        if earlier and not force:
            go_on = (' or --resume-from %s to continue it' % shlex.quote(self.path)
                     if files.CHECKPOINT in earlier else '')
            raise CheckpointError('--out %s holds an earlier run (%s); pass --force to '
                                  'replace it%s' % (self.path, ', '.join(earlier[:3]), go_on))
        if earlier:
            # a run made before the .written list: its fixed names and final files
            files.remove_written(self.path, also=RUN_NAMES + self.final)
        return self

    def _earlier_run(self):
        names = set(files.written(self.path)) | set(RUN_NAMES) | set(self.final)
        return sorted(n for n in names if os.path.exists(self.file(n)))

    def restore(self, model, optimizer):
        """Load checkpoint.npz into model, optimizer and NumPy's generator (and the run's
        own, where the checkpoint has its state) and make log.csv end at its epoch; return
        that epoch."""
        path = self.file(files.CHECKPOINT)
        headers = checked_headers(path)
        check_shapes(path, headers, model, 'model/')
        check_shapes(path, headers, optimizer, 'optimizer/')
        state = dict(STATE, log_row=((len(self.columns) - 1,), 'f'))
        for key, (shape, kind) in state.items():
            if (key not in headers or tuple(headers[key][0]) != shape
                    or headers[key][1].kind != kind):
                raise CheckpointError('%s lacks the epoch, its log row or the random state'
                                      % path)
        pcg64 = self.generator is not None and PCG64 in headers  # else: seeded by the run
        if pcg64 and (tuple(headers[PCG64][0]) != (6,) or headers[PCG64][1].kind != 'u'):
            raise CheckpointError('%s is damaged (its PCG64 state)' % path)
        with _reading(path) as npz:
            row, rng = _read_state(path, npz)
            generator_state = _pcg64_state(path, npz[PCG64]) if pcg64 else None
            serializers.NpzDeserializer(npz, path='model/').load(model)
            serializers.NpzDeserializer(npz, path='optimizer/').load(optimizer)
        try:
            rows = runlog.repair(self.file(files.LOG), row[0], row, self.columns)
        except runlog.LogError as e:
            raise CheckpointError('cannot resume %s: %s' % (self.path, e)) from None
        np.random.set_state(rng)
        if generator_state:
            self.generator.bit_generator.state = generator_state
        if files.read_or_none(self.file(files.LOG)) != runlog.text(rows, self.columns):
            self._write_log(rows)  # rows after the checkpoint cut, its own row put back
        self.rows = rows
        self._clock = time.time() - row[-1]  # wall_time goes on from the checkpoint's
        return row[0]

    def write_config(self, config):
        text = json.dumps(config, indent=1).encode()
        if files.read_or_none(self.file(files.CONFIG)) != text:  # else: resumed, same settings
            files.write_into(self.path, files.CONFIG, lambda f: f.write(text))

    def write_graph(self, dot):
        files.write_into(self.path, files.GRAPH, lambda f: f.write(dot.encode()))

    def end_epoch(self, model, optimizer, losses):
        """Save the epoch's checkpoint, then its log.csv row, with signals held so that
        both are written: the checkpoint holds the row, so a kill between the two loses
        nothing (restore puts the row back). Return the row."""
        row = (self.epoch + 1,) + tuple(losses) + (round(time.time() - self._clock, 3),)
        arrays = _checkpoint_arrays(model, optimizer, row, self.generator)
        with interrupt.deferred():
            files.write_into(self.path, files.CHECKPOINT,
                             lambda f: files.write_npz(f, arrays, compress=False))
            self._write_log(self.rows + [row])
        self.rows.append(row)
        return row

    def _write_log(self, rows):
        files.write_into(self.path, files.LOG,
                         lambda f: f.write(runlog.text(rows, self.columns)))

    def finish(self, model, optimizer):
        """The notebook's last lines: the model and the optimizer, as the final pair."""
        model_name, state_name = self.final
        with interrupt.deferred():  # the pair is written whole, not one file of it
            save_npz(self.file(model_name), model, self.path)
            save_npz(self.file(state_name), optimizer, self.path)

    def close(self):
        """Let go of the folder's lock before this process ends (a notebook's kernel goes on
        after its run; the pictures then read the folder)."""
        self._lock.release()

    def resume_hint(self, command):
        """What is kept and how to go on: one sentence for a line that ends a run (its
        checkpoint read back from the folder where this process has not yet restored it)."""
        epoch = self.epoch or saved_epoch(self.path)
        if not epoch:
            return 'No epoch finished: nothing to resume'
        return ('%s keeps the checkpoint of epoch %d: %s --resume-from %s goes on'
                % (self.path, epoch, command, shlex.quote(self.path)))
