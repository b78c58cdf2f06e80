"""The loop data-parallel under mpiexec -n 2 (ChainerMN's naive communicator)."""
import csv
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from chainer_vae import mpi

from helpers import REPO, run_cli

MPIEXEC = shutil.which('mpiexec', path=os.pathsep.join(
    [os.path.dirname(sys.executable), os.environ.get('PATH', '')]))
ARGS = ['--dataset', 'sample', '-e', '3', '--n-hidden', '100', '--seed', '0']


def losses(run):
    with open(os.path.join(str(run), 'log.csv')) as f:
        return np.array([row[1:5] for row in csv.reader(f)][1:], float)


@pytest.mark.slow  # two MPI ranks on full epochs of the sample: most of a minute
@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install -e '.[mpi]' (CI has it)")
def test_two_ranks_train_as_one_process_and_rank_0_alone_writes(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO, TMPDIR=str(tmp_path / 'scratch'))
    os.makedirs(env['TMPDIR'])
    done = subprocess.run([MPIEXEC, '-n', '2', sys.executable, os.path.join(REPO, 'train_vae.py'),
                           '--communicator', 'naive', '-o', str(tmp_path / 'two')] + ARGS,
                          capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines.count('epoch 1') == 1 and lines.count('graph generated') == 1  # rank 0 only
    assert sorted(os.listdir(str(tmp_path / 'two'))) == [
        '.lock', '.written', 'checkpoint.npz', 'config.json', 'graph.dot', 'log.csv',
        'mlp_20.model', 'mlp_20.state']
    assert os.listdir(env['TMPDIR']) == []  # rank 1's scratch folder is gone
    one = run_cli(*ARGS, '-o', tmp_path / 'one')
    assert one.returncode == 0, one.stderr
    # the same global batches and the same gradient average; only the noise of z is drawn
    # in other shapes (two draws of 50 rows instead of one of 100): within 1 %
    np.testing.assert_allclose(losses(tmp_path / 'two'), losses(tmp_path / 'one'), rtol=0.01)
    assert not np.array_equal(losses(tmp_path / 'two'), losses(tmp_path / 'one'))


def test_a_share_is_every_pth_row_of_the_batch():
    x = np.arange(20).reshape(10, 2)
    shares = [mpi.Share(x, r, 3) for r in range(3)]
    assert [len(s) for s in shares] == [10, 10, 10]
    rows = np.array([7, 1, 4, 9, 0])
    assert sorted(np.concatenate([s[rows] for s in shares])[:, 0]) == sorted(x[rows][:, 0])
    np.testing.assert_array_equal(shares[1][rows], x[[1, 0]])
    np.testing.assert_array_equal(shares[0][2:8], x[[2, 5]])


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec: pip install -e '.[mpi]' (CI has it)")
def test_a_batch_that_does_not_split_is_one_line(tmp_path):
    done = subprocess.run([MPIEXEC, '-n', '2', sys.executable, os.path.join(REPO, 'train_vae.py'),
                           '--communicator', 'naive', '-b', '99', '--dataset', 'sample', '-o',
                           str(tmp_path / 'run')], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=REPO), cwd=REPO)
    assert done.returncode != 0
    assert done.stderr.count('train_vae.py: error: --batchsize 99 does not split over 2 ranks') == 1
    assert not (tmp_path / 'run').exists()
