"""The seed band: runs trained (or kept, or resumed) per seed, and their spread."""
import csv
import os
import subprocess
import sys

import numpy as np

from chainer_vae import data, visualize

from helpers import REPO, run_cli


def band_command(out, *extra):
    return subprocess.run([sys.executable, '-m', 'chainer_vae.seed_band', '--out', str(out),
                           '--seeds', '0', '1', '2', '--epoch', '2', '--data-dir',
                           data.SAMPLE_DIR] + list(extra), capture_output=True, text=True,
                          cwd=REPO, timeout=900)


def test_the_band_is_the_spread_of_the_seeds_runs(tmp_path):
    # seed 2 stopped after its first epoch: the band resumes it
    first = run_cli('--seed', '2', '-e', '1', '--data-dir', data.SAMPLE_DIR, '-o',
                    tmp_path / 'seed2')
    assert first.returncode == 0, first.stderr
    legacy = os.path.join(REPO, 'results', 'legacy', 'qiita_log_100epochs.csv')
    done = band_command(tmp_path, '--legacy-log', legacy)
    assert done.returncode == 0, done.stderr
    logs = [visualize.read_log(str(tmp_path / ('seed%d' % s) / 'log.csv')) for s in (0, 1, 2)]
    assert [len(log['epoch']) for log in logs] == [2, 2, 2]
    test_loss = np.stack([log['test_loss'] for log in logs])
    assert len({tuple(row) for row in test_loss}) == 3  # three different runs
    with open(str(tmp_path / 'band.csv')) as f:
        rows = list(csv.DictReader(f))
    for e, row in enumerate(rows):
        np.testing.assert_allclose([float(row['test_loss_' + s]) for s in ('mean', 'min', 'max')],
                                   [test_loss[:, e].mean(), test_loss[:, e].min(),
                                    test_loss[:, e].max()], atol=1e-4)
    legacy_test = visualize.read_log(legacy)['test_loss'][:2]
    inside = sum(test_loss[:, e].min() <= legacy_test[e] <= test_loss[:, e].max()
                 for e in range(2))
    assert ('The 2017 test loss lies inside the band at %d of 2 epochs' % inside) in done.stdout
    assert (tmp_path / 'band.png').stat().st_size > 0

    # again: every run is kept, not trained anew
    times = [os.stat(str(tmp_path / ('seed%d' % s) / 'log.csv')).st_mtime_ns for s in (0, 1, 2)]
    again = band_command(tmp_path)
    assert again.returncode == 0 and 'python train_vae.py' not in again.stdout
    assert times == [os.stat(str(tmp_path / ('seed%d' % s) / 'log.csv')).st_mtime_ns
                     for s in (0, 1, 2)]


def test_one_seed_is_no_band(tmp_path):
    done = subprocess.run([sys.executable, '-m', 'chainer_vae.seed_band', '--out', str(tmp_path),
                           '--seeds', '3'], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2 and done.stderr.startswith('seed_band: error: ')
