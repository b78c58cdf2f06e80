"""One convention for every command: bad usage and a missing folder are one line and exit 2,
a failure exit 1, a signal 128 + its number -- from the command's first line on, a burst of
them included, and with stderr closed."""
import os
import signal
import subprocess
import sys
import time

import pytest

from helpers import REPO

# (how it is started, its name in its lines, bad usage, a folder that is not there)
COMMANDS = [
    (['train_vae.py'], 'train_vae.py', ['--epoch', '0'], ['--resume-from', '{missing}']),
    (['-m', 'chainer_vae'], 'train_vae.py', ['--dimz', 'two'], ['--resume-from', '{missing}']),
    (['-m', 'chainer_vae.visualize'], 'visualize', ['{run}', '--only', 'nothing'], ['{missing}']),
    (['-m', 'chainer_vae.evaluate'], 'evaluate', ['{run}', '--k', '0'], ['{missing}']),
    (['-m', 'chainer_vae.m1'], 'm1', ['{run}', '--draws', '0'], ['{missing}']),
    (['-m', 'chainer_vae.m2'], 'm2', ['--labels', '15'], ['--resume-from', '{missing}']),
    (['-m', 'chainer_vae.seed_band'], 'seed_band', ['--out', '{tmp}', '--seeds', '-1', '2'],
     ['--out', '{tmp}', '--data-dir', '{missing}']),
    (['-m', 'chainer_vae.compare'], 'compare', [], ['{missing}']),
    (['-m', 'chainer_vae.revival'], 'revival', [], ['{missing}']),
]
IDS = [c[1] if c[0][0] != '-m' else c[0][1] for c in COMMANDS]


def start(command, args, tmp_path, **how):
    fill = dict(missing=tmp_path / 'missing', run=tmp_path, tmp=tmp_path)
    argv = [sys.executable] + command + [str(a).format(**fill) for a in args]
    return subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **how)


def assert_one_line(proc, name, code, *words, timeout=120):
    _, err = proc.communicate(timeout=timeout)
    lines = err.strip().splitlines()
    assert proc.returncode == code and len(lines) == 1, err
    assert lines[0].startswith(name + ': error: '), err
    for word in words:
        assert word in lines[0], err


@pytest.mark.parametrize('command, name, usage, missing', COMMANDS, ids=IDS)
def test_bad_usage_and_a_missing_folder_are_one_line_and_exit_2(tmp_path, command, name,
                                                                 usage, missing):
    assert_one_line(start(command, usage, tmp_path), name, 2)
    assert_one_line(start(command, missing, tmp_path), name, 2, 'missing')


@pytest.mark.parametrize('command, name, usage, missing', COMMANDS, ids=IDS)
def test_sigint_while_importing_is_one_line_and_exit_130(tmp_path, command, name, usage, missing):
    """Ctrl-C in the first second, while chainer and numpy are imported."""
    script = tmp_path / 'wait.py'
    script.write_text('import time\ntime.sleep(60)\n')
    args = {'revival': [script], 'seed_band': ['--out', tmp_path / 'band'],
            'train_vae.py': ['--dataset', 'sample', '-o', tmp_path / 'run'],
            'm2': ['--dataset', 'sample', '-o', tmp_path / 'run']}
    proc = start(command, args.get(name, [tmp_path]), tmp_path, preexec_fn=_sigint_acts)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    assert_one_line(proc, name, 130, 'interrupted (SIGINT)')
    assert not os.path.exists(str(tmp_path / 'run')) and not os.path.exists(str(tmp_path / 'band'))


@pytest.mark.parametrize('command, name', [(['train_vae.py'], 'train_vae.py'),
                                           (['-m', 'chainer_vae.revival'], 'revival')])
def test_a_burst_of_ctrl_c_ends_with_one_line(tmp_path, command, name):
    script = tmp_path / 'wait.py'
    script.write_text('import time\ntime.sleep(60)\n')
    args = [script] if name == 'revival' else ['--dataset', 'sample', '-o', tmp_path / 'run']
    proc = start(command, args, tmp_path, preexec_fn=_sigint_acts)
    time.sleep(2.5)
    for _ in range(8):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.01)
    assert_one_line(proc, name, 130, 'interrupted (SIGINT)')


@pytest.mark.parametrize('signum, args, code', [
    (None, ['--epoch', '0'], 2),
    (signal.SIGTERM, ['--dataset', 'sample', '-o', '{tmp}/run'], 128 + signal.SIGTERM)])
def test_with_stderr_closed_the_exit_codes_hold(tmp_path, signum, args, code):
    def closed_stderr():
        _sigint_acts()
        os.close(2)
    proc = start(['train_vae.py'], args, tmp_path, preexec_fn=closed_stderr)
    if signum:
        time.sleep(1)
        proc.send_signal(signum)
    proc.communicate(timeout=120)
    assert proc.returncode == code


def _sigint_acts():
    """SIGINT as at a terminal (a test run in the background ignores it)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
