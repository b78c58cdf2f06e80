"""Nothing lost: a run killed at any moment resumes to the same numbers and weights,
one run at a time in a folder, and an earlier run is never clobbered."""
import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from chainer_vae import checkpoint, files

from helpers import run_cli, run_module, start_cli
from test_cli import assert_one_line_error

EPOCHS = 12


def run_args(out, epochs=EPOCHS):
    """A seeded legacy-configuration run in the legacy test mode (30 + 70 images)."""
    return ['--dataset', 'sample', '--test', '--seed', '3', '--epoch', epochs, '-o', out]


def arrays(path):
    with np.load(str(path), allow_pickle=False) as npz:
        return {key: npz[key] for key in npz.files}


def assert_same_arrays(a, b):
    assert sorted(a) == sorted(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def log_rows(out):
    """log.csv without its wall_time column."""
    with open(os.path.join(str(out), 'log.csv')) as f:
        return [line.rstrip('\r\n').rsplit(',', 1)[0] for line in f]


def contents(out):
    return {name: open(os.path.join(str(out), name), 'rb').read()
            for name in sorted(os.listdir(str(out))) if name != files.LOCK}


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp('uninterrupted')
    result = run_cli(*run_args(out))
    assert result.returncode == 0, result.stderr
    return out


def assert_checkpoint_readable(out, epochs=EPOCHS):
    """The latest checkpoint (of a run of ``epochs``) loads whole and agrees with log.csv."""
    path = os.path.join(str(out), files.CHECKPOINT)
    if not os.path.exists(path):
        return 0
    saved = arrays(path)  # reads every array: a torn file would fail here
    epoch = int(saved['epoch'])
    assert 1 <= epoch <= epochs and len(log_rows(out)) - 1 >= epoch - 1
    return epoch


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_killed_at_random_moments_then_resumed_equals_uninterrupted(tmp_path, uninterrupted,
                                                                    signum):
    rng = random.Random(signum)
    out = tmp_path / 'run'
    kills = 0
    for attempt in range(4):
        if attempt == 0:
            args = run_args(out)
        elif os.path.exists(str(out / files.CHECKPOINT)):
            args = ['--resume-from', out]
        else:  # stopped before its first epoch ended: nothing to resume
            args = run_args(out) + ['--force']
        proc = start_cli(*args)
        if attempt < 3:  # stop it at a random moment of training (checkpoint writes included)
            for line in proc.stdout:
                if line.startswith('epoch'):
                    break
            time.sleep(rng.uniform(0, 0.3))
            proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
        if attempt == 3 or proc.returncode == 0:
            assert proc.returncode == 0, err
            break
        kills += 1
        if signum == signal.SIGKILL:
            assert proc.returncode == -signal.SIGKILL
        else:
            assert proc.returncode == 128 + signum
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith(
                'train_vae.py: error: interrupted (%s)' % signal.Signals(signum).name), err
        assert_checkpoint_readable(out)
    assert kills >= 2  # it really was stopped, and resumed, more than once
    assert log_rows(out) == log_rows(uninterrupted)
    for name in ('mlp_20.model', 'mlp_20.state'):
        assert_same_arrays(arrays(out / name), arrays(uninterrupted / name))
    resumed = arrays(out / files.CHECKPOINT)
    whole = arrays(uninterrupted / files.CHECKPOINT)
    resumed['log_row'][-1] = whole['log_row'][-1]  # all but the wall time
    assert_same_arrays(resumed, whole)
    assert not [n for n in os.listdir(str(out)) if n.endswith('.tmp')]


def test_resume_goes_on_and_can_extend(tmp_path, uninterrupted):
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=5)).returncode == 0
    result = run_cli('--resume-from', out, '--epoch', EPOCHS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == 'epoch 6'  # not 1: it continues
    assert log_rows(out) == log_rows(uninterrupted)
    assert_same_arrays(arrays(out / 'mlp_20.model'), arrays(uninterrupted / 'mlp_20.model'))
    with open(str(out / 'log.csv')) as f:
        times = [float(line.split(',')[-1]) for line in list(f)[1:]]
    assert times == sorted(times)  # wall time goes on from where it was


def test_an_extension_stopped_early_is_not_taken_for_its_earlier_end(tmp_path, uninterrupted):
    """A run finished at epoch 2, extended to 200 and stopped: its mlp_20.model is still
    epoch 2's. The commands that read a finished run refuse it (they would read epoch 2's
    weights as the run's) and keep it; --epoch at the stop ends the run there."""
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=2)).returncode == 0
    earlier = (out / 'mlp_20.model').read_bytes()
    extended = start_cli('--resume-from', out, '--epoch', 200)
    for line in extended.stdout:
        if line.startswith('epoch 5'):
            break
    extended.send_signal(signal.SIGTERM)
    extended.communicate(timeout=60)
    done = assert_checkpoint_readable(out, epochs=200)
    assert done >= 4
    refused = run_module('visualize', out, '--only', 'samples')
    assert refused.returncode == 1 and 'Traceback' not in refused.stderr
    assert refused.stderr.strip() == (
        'visualize: error: %s is not of the run\'s last epoch: config.json plans 200 epochs, '
        'checkpoint.npz is at %d (train_vae.py --resume-from %s goes on; --epoch %d ends it '
        'there)'
        % (out / 'mlp_20.model', done, out, done))
    assert (out / 'mlp_20.model').read_bytes() == earlier
    ended = run_cli('--resume-from', out, '--epoch', done)
    assert ended.returncode == 0, ended.stderr
    assert log_rows(out) == log_rows(uninterrupted)[:done + 1]
    saved, model = arrays(out / files.CHECKPOINT), arrays(out / 'mlp_20.model')
    assert model and all(np.array_equal(model[k], saved['model/' + k]) for k in model)
    assert run_module('visualize', out, '--only', 'samples').returncode == 0
    assert_one_line_error(run_cli('--resume-from', out, '--epoch', done),
                          'has finished %d epochs' % done)


def test_a_log_row_lost_after_its_checkpoint_is_restored(tmp_path, uninterrupted):
    """A kill between saving checkpoint.npz and appending its row to log.csv."""
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=4)).returncode == 0
    lines = open(str(out / 'log.csv'), newline='').read().splitlines(True)
    open(str(out / 'log.csv'), 'w', newline='').write(''.join(lines[:-1]))  # epoch 4's row gone
    assert run_cli('--resume-from', out, '--epoch', EPOCHS).returncode == 0
    assert log_rows(out) == log_rows(uninterrupted)


def test_two_runs_into_one_folder(tmp_path):
    out = tmp_path / 'run'
    first = start_cli(*run_args(out, epochs=200))
    for line in first.stdout:
        if line.startswith('epoch 1'):
            break
    second = run_cli(*run_args(out, epochs=200))
    assert first.poll() is None, 'the first run should still be training'
    assert_one_line_error(second, 'is in use by another process of chainer_vae (pid %d)'
                          % first.pid)
    first.send_signal(signal.SIGTERM)
    first.communicate(timeout=60)
    # what the first run left is one consistent run: its checkpoint and its log agree
    epoch = assert_checkpoint_readable(out, epochs=200)
    assert epoch >= 1 and len(log_rows(out)) - 1 == epoch
    result = run_cli('--resume-from', out, '--epoch', epoch + 1)
    assert result.returncode == 0, result.stderr


def test_an_earlier_run_is_refused_then_replaced_with_force(tmp_path):
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=2)).returncode == 0
    assert run_module('visualize', out, '--only', 'samples').returncode == 0  # recorded
    users = {'notes.txt': b'the user\'s own file', 'mlp_best_of_all_runs.model': b'a model',
             'vae_mine.gif': b'a picture', 'kl_visualize_2016.gif': b'another'}
    for name, content in users.items():
        (out / name).write_bytes(content)
    before = contents(out)
    assert_one_line_error(run_cli(*run_args(out, epochs=1)),
                          'holds an earlier run', '--force', '--resume-from')
    assert contents(out) == before
    result = run_cli(*run_args(out, epochs=1) + ['--force'])
    assert result.returncode == 0, result.stderr
    after = contents(out)
    assert 'samples.png' not in after  # what this project wrote there, and nothing else
    assert {name: after[name] for name in users} == users
    assert len(log_rows(out)) == 2


def test_a_log_without_its_last_newline_resumes_whole(tmp_path, uninterrupted):
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=4)).returncode == 0
    text = (out / 'log.csv').read_bytes()
    (out / 'log.csv').write_bytes(text.rstrip(b'\r\n'))  # as an editor may save it
    assert run_cli('--resume-from', out, '--epoch', EPOCHS).returncode == 0
    assert log_rows(out) == log_rows(uninterrupted)


def test_killed_before_the_first_log_row_resumes(tmp_path, uninterrupted):
    """kill -9 (or a full disk) after epoch 1's checkpoint, before log.csv was written."""
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=1)).returncode == 0
    (out / 'log.csv').unlink()
    for name in ('mlp_20.model', 'mlp_20.state'):  # the run had not got that far
        (out / name).unlink()
    assert run_cli('--resume-from', out, '--epoch', EPOCHS).returncode == 0
    assert log_rows(out) == log_rows(uninterrupted)


def test_a_folder_being_drawn_is_not_replaced(tmp_path):
    """visualize holds the folder it writes, so a --force run waits its turn (refused)."""
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=1)).returncode == 0
    holder = subprocess.Popen([sys.executable, '-c', HOLD % str(out)], stdout=subprocess.PIPE,
                              text=True)
    assert holder.stdout.readline() == 'locked\n'
    try:
        before = contents(out)
        assert_one_line_error(run_cli(*run_args(out, epochs=1) + ['--force']),
                              'in use by another process of chainer_vae (pid %d)' % holder.pid)
        assert contents(out) == before
    finally:
        holder.kill()
        holder.wait()


HOLD = '''
import time
from chainer_vae import files
files.Lock(%r).acquire()
print('locked', flush=True)
time.sleep(60)
'''


def test_a_killed_runs_temporary_files_are_cleared(tmp_path):
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=2)).returncode == 0
    (out / '.checkpoint.npz.abc123.tmp').write_bytes(b'half a checkpoint')
    assert run_cli('--resume-from', out, '--epoch', 3).returncode == 0
    assert not (out / '.checkpoint.npz.abc123.tmp').exists()


@pytest.mark.parametrize('flags, words', [
    (['--dimz', '2'], ['--dimz 2: the run in', 'made with 20']),
    (['--out', 'elsewhere'], ['a resumed run stays in its folder']),
    (['-m', 'x.model'], ['--resume-from', 'continues a run']),
])
def test_resume_refuses_other_settings(tmp_path, flags, words):
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=1)).returncode == 0
    before = contents(out)
    assert_one_line_error(run_cli('--resume-from', out, *flags), *words)
    assert contents(out) == before


def test_r_with_a_run_folder_resumes(tmp_path):
    out = tmp_path / 'run'
    assert run_cli(*run_args(out, epochs=1)).returncode == 0
    result = run_cli('-r', out, '--epoch', 2)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('epoch 2\n')


def test_checkpoint_headers_are_read_without_the_data(tmp_path):
    path = str(tmp_path / 'c.npz')
    np.savez(path, a=np.zeros((3, 4), np.float32), b=np.arange(5))
    headers = checkpoint.npz_headers(path)
    assert {k: (tuple(s), str(d)) for k, (s, d) in headers.items()} == \
        {'a': ((3, 4), 'float32'), 'b': ((5,), 'int64')}


def test_the_legacy_files_load_with_chainers_own_load_npz(uninterrupted):
    import chainer.functions as F
    from chainer import optimizers, serializers
    from chainer_vae import net
    model = net.VAE(784, 20, 500, act_func=F.softplus)
    serializers.load_npz(str(uninterrupted / 'mlp_20.model'), model)
    optimizer = optimizers.Adam()
    optimizer.setup(model)
    serializers.load_npz(str(uninterrupted / 'mlp_20.state'), optimizer)
    saved = arrays(uninterrupted / 'mlp_20.model')
    np.testing.assert_array_equal(model.ld3.W.array, saved['ld3/W'])
    assert optimizer.t == EPOCHS  # one update an epoch in the legacy test mode


def test_a_signal_in_a_deferred_block_acts_when_the_block_ends():
    from chainer_vae import interrupt
    saved = {s: signal.getsignal(s) for s in interrupt.SIGNALS}
    interrupt.install()
    done = []
    try:
        with pytest.raises(interrupt.Interrupted) as caught:
            with interrupt.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler has run by now, and waited
                done.append('the whole block')
        assert done == ['the whole block']
        assert caught.value.name == 'SIGTERM' and caught.value.exit_code == 143
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)
