"""The run spine both training commands share (chainer_vae/spine.py): runs of earlier code
go on bitwise; an input known by what it is (a moved M1); the same resume rules and words
in train_vae.py and m2; the faults of a copied wing closed."""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from chainer_vae import checkpoint, files

from helpers import REPO, run_cli, run_module
from test_m2 import TINY, assert_m2_error, log_rows

RUNS_V1_0 = os.path.join(REPO, 'tests', 'data', 'runs_v1_0')  # tests/data/README.md
RUNS_FAST = os.path.join(REPO, 'tests', 'data', 'runs_%s')


def m2_one_blas_thread(*args):
    """python -m chainer_vae.m2 ARGS with one BLAS thread, as tests/data's runs were made
    (OpenBLAS's sums differ in their last bits with the number of its threads)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS='1')
    return subprocess.run([sys.executable, '-m', 'chainer_vae.m2'] + [str(a) for a in args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=600)


def digests(path):
    """What tests/data/runs_v1_0/epoch4.json keeps of a checkpoint: each array's sha256
    (the log row without its wall time)."""
    with np.load(str(path)) as npz:
        return {key: hashlib.sha256(np.ascontiguousarray(
            npz[key][:-1] if key == 'log_row' else npz[key]).tobytes()).hexdigest()
            for key in npz.files}


@pytest.fixture
def runs_v1_0(tmp_path):
    shutil.copytree(RUNS_V1_0, str(tmp_path / 'runs'))
    return tmp_path / 'runs'


def test_runs_of_before_the_spine_go_on_bitwise(runs_v1_0):
    """tests/data's M2 and M1+M2 runs, made by the code of before and stopped at epoch 2,
    reach epoch 4 with the bits of the same runs never stopped under that code; the M1+M2
    run's M1 has moved (its config.json names /tmp/gen/m1) and is given where it is now."""
    expected = json.loads((runs_v1_0 / 'epoch4.json').read_text())
    for run, more in (('m2', []), ('m1m2', ['--m1', runs_v1_0 / 'm1'])):
        result = m2_one_blas_thread('--resume-from', runs_v1_0 / run, '--epoch', 4, *more)
        assert result.returncode == 0, result.stderr
        assert digests(runs_v1_0 / run / 'checkpoint.npz') == expected[run]['checkpoint_sha256']
        assert log_rows(runs_v1_0 / run) == expected[run]['log_rows_but_wall_time']
    written = json.loads((runs_v1_0 / 'm1m2' / 'config.json').read_text())
    assert written['flags']['m1'] == str(runs_v1_0 / 'm1')  # where it goes on reading it


@pytest.mark.parametrize('kernels', ['fast-1', 'fast-2'])
def test_a_fast_run_of_before_the_next_kernels_goes_on_bitwise(tmp_path, kernels):
    """tests/data/runs_fast_1's and runs_fast_2's M1+M2 runs, learnt with --kernels fast-1
    by the code of before fast-2 and with fast-2 by the code of before fast-3, stopped at
    epoch 2, keep their kernels and reach epoch 4 with the bits of the same runs never
    stopped under that code."""
    runs = tmp_path / 'runs'
    shutil.copytree(RUNS_FAST % kernels.replace('-', '_'), str(runs))
    expected = json.loads((runs / 'epoch4.json').read_text())['m1m2']
    result = m2_one_blas_thread('--resume-from', runs / 'm1m2', '--epoch', 4,
                                '--m1', os.path.join(RUNS_V1_0, 'm1'))
    assert result.returncode == 0, result.stderr
    assert json.loads((runs / 'm1m2' / 'config.json').read_text())['flags']['kernels'] == kernels
    assert digests(runs / 'm1m2' / 'checkpoint.npz') == expected['checkpoint_sha256']
    assert log_rows(runs / 'm1m2') == expected['log_rows_but_wall_time']


@pytest.mark.parametrize('kernels', ['fast-1', 'fast-2'])
def test_fast_1_and_2_on_the_pixels_learn_the_bits_of_before_fast_3(tmp_path, kernels):
    """M2 on the pixels (-log p(x|y,z) Bernoulli: BernoulliNLLRows, which fast-3 changed;
    the runs above are M1+M2's, Gaussian) learns with fast-1 and fast-2 to epoch 2 the bits
    that the code of before fast-3 learnt (tests/data/runs_fast_2/m2_epoch2.json)."""
    out = tmp_path / 'm2'
    result = m2_one_blas_thread(*TINY + ['--kernels', kernels, '--epoch', 2, '-o', out])
    assert result.returncode == 0, result.stderr
    expected = json.loads(open(os.path.join(RUNS_FAST % 'fast_2', 'm2_epoch2.json')).read())
    assert digests(out / 'checkpoint.npz') == expected[kernels]['checkpoint_sha256']
    assert log_rows(out) == expected[kernels]['log_rows_but_wall_time']


def test_a_moved_m1_is_the_same_m1_and_another_is_refused(runs_v1_0, tmp_path):
    run, gone = runs_v1_0 / 'm1m2', str(tmp_path / 'gone' / 'm1')
    written = json.loads((run / 'config.json').read_text())
    (run / 'config.json').write_text(json.dumps(dict(written, flags=dict(written['flags'],
                                                                         m1=gone))))
    # the M1 not given: its recorded place is gone; one line says how to name it
    result = run_module('m2', '--resume-from', run, '--epoch', 3)
    assert_m2_error(result, 'cannot resume', 'its M1 %s is not there any more' % gone, '--m1',
                    code=1)
    # another M1 (its model trained on) is not the run's M1, wherever it is
    other = tmp_path / 'other'
    shutil.copytree(str(runs_v1_0 / 'm1'), str(other))
    model = other / 'mlp_4.model'
    model.write_bytes(model.read_bytes()[:-1] + bytes([model.read_bytes()[-1] ^ 1]))
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    result = run_module('m2', '--resume-from', run, '--epoch', 3, '--m1', other)
    assert_m2_error(result, '--m1 %s: the run in %s was made with %s' % (other, run, gone),
                    code=1)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_a_log_whose_line_ends_were_made_crlf_again_resumes(runs_v1_0):
    """An editor or git's autocrlf turns log.csv's CRLF into CR CR LF: every number is
    intact, the run goes on (and log.csv is written whole again)."""
    log = runs_v1_0 / 'm2' / 'log.csv'
    clean = log.read_bytes()
    log.write_bytes(clean.replace(b'\r\n', b'\r\r\n'))
    result = run_module('m2', '--resume-from', runs_v1_0 / 'm2', '--epoch', 3)
    assert result.returncode == 0, result.stderr
    assert log.read_bytes().startswith(clean) and len(log_rows(runs_v1_0 / 'm2')) == 4


@pytest.mark.parametrize('damage', ['empty', 'truncated'])
def test_a_damaged_checkpoint_is_named_damaged_by_both_commands(runs_v1_0, tmp_path, damage):
    vae = tmp_path / 'vae'
    assert run_cli('--dataset', 'sample', '--test', '-e', '1', '-o', vae).returncode == 0
    for run in (runs_v1_0 / 'm2', vae):
        path = run / 'checkpoint.npz'
        path.write_bytes(b'' if damage == 'empty' else path.read_bytes()[:1000])
    m2_line = run_module('m2', '--resume-from', runs_v1_0 / 'm2', '--epoch', 3)
    vae_line = run_cli('--resume-from', vae, '--epoch', 2)
    for result, prog, run in ((m2_line, 'm2', runs_v1_0 / 'm2'), (vae_line, 'train_vae.py', vae)):
        assert_m2_error(result, 'cannot resume %s: its checkpoint.npz is damaged' % run,
                        code=1, prog=prog)
        assert 'No epoch finished' not in result.stderr


def test_a_refused_resume_says_which_checkpoint_is_kept(runs_v1_0):
    """A resume refused as the folder is restored (its log.csv lost the rows before its
    checkpoint's) says the checkpoint there is kept, not 'no epoch finished'."""
    log = runs_v1_0 / 'm2' / 'log.csv'
    log.write_bytes(log.read_bytes().splitlines(keepends=True)[0])
    result = run_module('m2', '--resume-from', runs_v1_0 / 'm2', '--epoch', 3)
    assert_m2_error(result, 'cannot resume', 'the rows between are lost',
                    'keeps the checkpoint of epoch 2', code=1)
    assert 'No epoch finished' not in result.stderr


def test_the_resume_hint_of_a_folder_with_spaces_can_be_pasted(tmp_path):
    out = tmp_path / 'my run'
    result = run_cli('--dataset', 'sample', '--test', '-e', '1', '-o', out)
    assert result.returncode == 0, result.stderr
    result = run_cli('--dataset', 'sample', '--test', '-e', '1', '-o', out)
    assert result.returncode == 1 and ("--resume-from '%s'" % out) in result.stderr
    folder = checkpoint.RunFolder(str(out), files.legacy_names(20))
    folder.rows = [(1,)]
    assert ("--resume-from '%s' goes on" % out) in folder.resume_hint('python train_vae.py')


def test_an_m2_folder_does_not_count_a_vae_model_as_an_earlier_run(tmp_path):
    """RunFolder knows only the end-of-run files its command names: the train_vae.py model
    of the dimz of an M2 run (TINY's 4) is no M2 run's, does not make m2 refuse the folder,
    and is not removed."""
    out = tmp_path / 'run'
    out.mkdir()
    (out / 'mlp_4.model').write_bytes(b'somebody else\'s')
    result = run_module('m2', *TINY + ['--epoch', 1, '-o', out])
    assert result.returncode == 0, result.stderr
    assert (out / 'mlp_4.model').read_bytes() == b'somebody else\'s'


def test_both_commands_end_a_run_at_its_last_epoch_on_the_same_rule(runs_v1_0, tmp_path):
    """--epoch equal to the epochs done: refused where the run has ended there, accepted
    where it was planned longer (it ends there), in both commands alike."""
    vae = tmp_path / 'vae'
    assert run_cli('--dataset', 'sample', '--test', '-e', '2', '-o', vae).returncode == 0
    refused = run_cli('--resume-from', vae, '--epoch', '2')
    ended = run_module('m2', '--resume-from', runs_v1_0 / 'm2', '--epoch', 4)
    assert ended.returncode == 0, ended.stderr
    again = run_module('m2', '--resume-from', runs_v1_0 / 'm2', '--epoch', 4)
    for result, prog, run in ((refused, 'train_vae.py', vae), (again, 'm2', runs_v1_0 / 'm2')):
        assert_m2_error(result, '--epoch', 'the run in %s has finished' % run, code=1, prog=prog)
    # the M2 run planned for 4, stopped at 2: --epoch 2 ends it there
    stopped = tmp_path / 'stopped'
    shutil.copytree(os.path.join(RUNS_V1_0, 'm2'), str(stopped))
    written = json.loads((stopped / 'config.json').read_text())
    written['flags']['epoch'] = 4
    (stopped / 'config.json').write_text(json.dumps(written))
    result = run_module('m2', '--resume-from', stopped, '--epoch', 2)
    assert result.returncode == 0, result.stderr
    assert json.loads((stopped / 'config.json').read_text())['flags']['epoch'] == 2
    assert len(log_rows(stopped)) == 3


def test_an_m1_given_by_a_relative_path_is_recorded_absolute(runs_v1_0, tmp_path):
    """config.json keeps the paths a run reads absolute, M2's --m1 among them, so that the
    run goes on from any folder."""
    out = tmp_path / 'run'
    result = run_module('m2', *TINY + ['--epoch', 1, '--m1', os.path.relpath(
        str(runs_v1_0 / 'm1'), REPO), '-o', out])
    assert result.returncode == 0, result.stderr
    assert json.loads((out / 'config.json').read_text())['flags']['m1'] == str(runs_v1_0 / 'm1')


@pytest.mark.skipif(os.cpu_count() < 2, reason='one core: one BLAS thread whatever is asked')
def test_a_run_has_one_blas_thread_unless_the_environment_says_otherwise():
    """spine.start: one BLAS thread by default (results/benchmarks/blas_threads.md: two
    spin on a busy machine), as many as OPENBLAS_NUM_THREADS or OMP_NUM_THREADS ask."""
    probe = ('import threadpoolctl; from chainer_vae import spine; spine.start(-1, None); '
             'print(max(p["num_threads"] for p in threadpoolctl.threadpool_info() '
             'if p["user_api"] == "blas"))')
    plain = {k: v for k, v in os.environ.items()
             if k not in ('OMP_NUM_THREADS', 'OPENBLAS_NUM_THREADS')}
    for env, threads in ((plain, '1'), (dict(plain, OPENBLAS_NUM_THREADS='2'), '2'),
                         (dict(plain, OMP_NUM_THREADS='2'), '2')):
        found = subprocess.run([sys.executable, '-c', probe], capture_output=True, text=True,
                               cwd=REPO, env=env, check=True)
        assert found.stdout.split() == [threads], (env.get('OMP_NUM_THREADS'), found)
