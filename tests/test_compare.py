"""The verdict against 2017: inside the band or not, epoch by epoch, and one line (no
verdict) for a run that is not the legacy configuration."""
import csv
import json
import os

import numpy as np
import pytest

from chainer_vae import compare, runlog

from helpers import REPO, run_module

LEGACY = runlog.read(compare.LEGACY_LOG)


def write_band(path, centre, width, seeds=5):
    """A band.csv as seed_band writes it: each loss centre +- width, the mean the centre,
    the standard deviation half the width."""
    with open(str(path), 'w', newline='') as f:
        out = csv.writer(f)
        out.writerow(['epoch', 'seeds'] + ['%s_%s' % (k, s) for k in runlog.LOSSES
                                           for s in compare.STATS])
        for e in range(len(centre['test_loss'])):
            out.writerow([e + 1, seeds] + [v for k in runlog.LOSSES for v in (
                centre[k][e], centre[k][e] - width, centre[k][e] + width, width / 2)])


def write_run(folder, columns, **config_changes):
    """A run folder of the legacy configuration (or changed) with this log."""
    os.makedirs(str(folder))
    config = {'model': {'n_in': 784, 'n_latent': 20, 'n_h': 500, 'activation': 'softplus'},
              'training': {'epoch': 100, 'batchsize': 100, 'seed': 0, 'test': False},
              'data': {'dataset': 'mnist', 'data_dir': None}}
    for key, value in config_changes.items():
        section, name = key.split('__')
        config[section][name] = value
    (folder / 'config.json').write_text(json.dumps(config))
    n = len(columns['test_loss'])
    rows = [(e + 1,) + tuple(columns[k][e] for k in runlog.LOSSES) + (float(e),) for e in range(n)]
    (folder / 'log.csv').write_bytes(runlog.text(rows))


def shifted(log, by, epochs=100):
    return {k: [v + by for v in log[k][:epochs]] for k in runlog.LOSSES}


def test_a_run_inside_the_band_is_reproduced(tmp_path):
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)
    write_run(tmp_path / 'run', shifted(LEGACY, 0.2))
    lines, markdown = compare.report(str(tmp_path / 'run'), band_path=str(tmp_path / 'band.csv'))
    assert lines[1] == 'test loss inside the 5-seed band at 100 of 100 epochs (the 2017 run: ' \
                       '100 of 100)'
    assert lines[2] == "epoch 100: test loss %.2f against the 2017 run's %.2f (band %.2f to %.2f)" \
        % (LEGACY['test_loss'][-1] + 0.2, LEGACY['test_loss'][-1],
           LEGACY['test_loss'][-1] - 0.5, LEGACY['test_loss'][-1] + 0.5)
    assert '0.20 nats apart on average over epochs 10 to 100' in lines[3]
    assert lines[4].startswith('verdict: reproduced')
    assert '| 100 | %.2f | %.2f |' % (LEGACY['test_loss'][-1] + 0.2, LEGACY['test_loss'][-1]) \
        in markdown


def test_a_run_outside_the_band_is_not(tmp_path):
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)
    write_run(tmp_path / 'run', shifted(LEGACY, 2.0))
    lines, _ = compare.report(str(tmp_path / 'run'), band_path=str(tmp_path / 'band.csv'))
    assert 'inside the 5-seed band at 0 of 100 epochs' in lines[1]
    assert lines[4] == "verdict: not reproduced: within 3 sd of the seeds' mean at 0 of 100 " \
                       "epochs, %d needed (the 2017 run: 100)" % compare.SHARE


def test_outside_the_seeds_min_max_but_where_one_more_seed_lies_is_reproduced(tmp_path):
    """One more seed is outside the min-max band of five at many epochs (each of six runs is
    the lowest or the highest with chance 2/6): the verdict asks for SPREAD sd around the
    mean, at SHARE % of the epochs."""
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)  # sd 0.25: within 3 sd is +- 0.75
    write_run(tmp_path / 'run', shifted(LEGACY, 0.7))
    lines, _ = compare.report(str(tmp_path / 'run'), band_path=str(tmp_path / 'band.csv'))
    assert 'inside the 5-seed band at 0 of 100 epochs' in lines[1]
    assert lines[4].startswith("verdict: reproduced: within 3 sd of the seeds' mean at 100 of")


@pytest.mark.parametrize('far', [100 - compare.SHARE, 101 - compare.SHARE])
def test_the_verdict_needs_share_of_the_epochs(tmp_path, far):
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)
    run = shifted(LEGACY, 0.0)
    run['test_loss'][-far:] = [v + 0.8 for v in run['test_loss'][-far:]]
    write_run(tmp_path / 'run', run)
    lines, _ = compare.report(str(tmp_path / 'run'), band_path=str(tmp_path / 'band.csv'))
    assert lines[4] == "verdict: %s: within 3 sd of the seeds' mean at %d of 100 epochs, %d " \
        "needed (the 2017 run: 100)" % ('reproduced' if far == 100 - compare.SHARE else
                                        'not reproduced', 100 - far, compare.SHARE)


def test_the_sd_is_pooled_over_neighbouring_epochs(tmp_path):
    """One epoch whose seeds happened to agree (sd near 0) does not call a run that lies
    where the seeds lie at the epochs around it an outlier there."""
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)
    rows = (tmp_path / 'band.csv').read_text().splitlines()
    header = rows[0].split(',')
    cells = rows[50].split(',')
    cells[header.index('test_loss_sd')] = '0.0001'
    rows[50] = ','.join(cells)
    (tmp_path / 'band.csv').write_text('\n'.join(rows) + '\n')
    band, _ = compare.read_band(str(tmp_path / 'band.csv'))
    assert 50 in compare.within(np.array(LEGACY['test_loss']) + 0.5, band)


def test_the_pooled_sd_is_the_root_mean_variance_of_the_epochs_around():
    """POOL = 9: the 4 epochs each side, fewer at the ends (band.png draws the same)."""
    sd = np.zeros(20)
    sd[0] = 3.0
    pooled = compare.pooled_sd(sd)
    assert pooled[0] == pytest.approx(np.sqrt(9 / 5)) and pooled[4] == pytest.approx(1.0)
    assert pooled[5] == 0 and len(pooled) == 20
    assert compare.pooled_sd(np.full(20, 0.7)) == pytest.approx(np.full(20, 0.7))


def test_fewer_epochs_are_compared_over_those_epochs(tmp_path):
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)
    write_run(tmp_path / 'run', shifted(LEGACY, 0.1, epochs=20))
    lines, _ = compare.report(str(tmp_path / 'run'), band_path=str(tmp_path / 'band.csv'))
    assert 'at 20 of 20 epochs' in lines[1] and lines[-1].startswith('(over its 20 epochs')


@pytest.mark.parametrize('change, said', [
    (dict(data__dataset='sample'), 'dataset sample, not mnist'),
    (dict(model__n_latent=2), 'n_latent 2, not 20'),
    (dict(training__batchsize=50), 'batchsize 50, not 100'),
    (dict(data__binarize=True), 'binarize True, not False')])
def test_another_configuration_gets_one_line_and_no_verdict(tmp_path, change, said):
    write_run(tmp_path / 'run', shifted(LEGACY, 0.0), **change)
    result = run_module('compare', tmp_path / 'run')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and said in lines[0] and 'no verdict' in lines[0]


def test_the_verdict_on_the_committed_run_and_on_the_2017_log():
    """The README's figures: results/mnist_dimz20 and the 2017 log itself, against the band
    shipped in the package."""
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    for what in (os.path.join(REPO, 'results', 'mnist_dimz20'), compare.LEGACY_LOG):
        result = run_module('compare', what)
        assert result.returncode == 0, result.stderr
        assert 'test loss inside the 5-seed band at' in result.stdout
        assert 'verdict: reproduced' in result.stdout
        if what != compare.LEGACY_LOG:  # the README shows lines of this output as they are
            shown = readme.split('legacy run (`python -m chainer_vae.compare '
                                 'results/mnist_dimz20`) ends:\n\n')[1].split('\n\n')[0]
            shown = [line[4:] for line in shown.splitlines()]
            printed = result.stdout.splitlines()
            assert shown == [line for line in printed if line in shown], shown  # in order
            assert shown[-1] == printed[-1] and shown[-1].startswith('verdict: ')
        assert ' of 100 epochs (the 2017 run: ' in result.stdout  # the band has all 100


def test_a_band_shorter_than_the_run_and_a_seed_of_the_band(tmp_path):
    """A run is judged inside the band's epochs and against the 2017 log beyond them; a run
    of the band is inside it, whatever band.csv's rounding to 4 decimals does to its edge."""
    from chainer_vae import seed_band
    member = shifted(LEGACY, -0.123456)
    spread = {k: (np.array(LEGACY[k][:20]), np.array(member[k][:20]),
                  np.array(LEGACY[k][:20]) + 1, np.full(20, 0.05)) for k in runlog.LOSSES}
    (tmp_path / 'band.csv').write_text(seed_band.csv_text(spread, 5))
    write_run(tmp_path / 'run', member)
    lines, _ = compare.report(str(tmp_path / 'run'), band_path=str(tmp_path / 'band.csv'))
    assert 'at 20 of 20 epochs' in lines[1]
    assert lines[3] == "epoch 100 (past the band's 20 epochs): test loss %.2f against the " \
        "2017 run's %.2f" % (member['test_loss'][-1], LEGACY['test_loss'][-1])
    assert 'over epochs 10 to 100' in lines[4] and lines[5].startswith('verdict: reproduced')
    assert lines[6:] == ["epochs 21 to 100 lie beyond the band's 20 epochs and have no verdict"]


def test_the_epochs_of_a_run_past_the_band_are_said_to_have_no_verdict(tmp_path):
    """A run of 150 epochs: the verdict is on the band's 100, and a line says the rest have
    none (it said nothing of them)."""
    longer = {k: v + [v[-1]] * 50 for k, v in shifted(LEGACY, 0.2).items()}
    write_run(tmp_path / 'run', longer)
    result = run_module('compare', tmp_path / 'run')
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-2].startswith('verdict: reproduced: within 3 sd of the seeds\' mean at ')
    assert ' of 100 epochs, 75 needed' in lines[-2]
    assert lines[-1] == "epochs 101 to 150 lie beyond the band's 100 epochs and have no verdict"


def test_the_band_file_is_the_seed_bands(tmp_path):
    """compare reads what seed_band writes (its csv_text)."""
    from chainer_vae import seed_band
    spread = {k: (np.array(LEGACY[k]), np.array(LEGACY[k]) - 1, np.array(LEGACY[k]) + 1,
                  np.linspace(0.1, 2, 100)) for k in runlog.LOSSES}
    (tmp_path / 'band.csv').write_text(seed_band.csv_text(spread, 3))
    band, seeds = compare.read_band(str(tmp_path / 'band.csv'))
    assert seeds == 3
    np.testing.assert_allclose(band['test_loss'][1], np.array(LEGACY['test_loss']) - 1, atol=1e-4)
    np.testing.assert_allclose(band['train_rec_loss'][3], np.linspace(0.1, 2, 100), atol=1e-4)


@pytest.mark.parametrize('damage, said', [
    (lambda rows: rows[:1] + [[c.replace(',5,', ',4,', 1) for c in rows[1:2]][0]] + rows[2:],
     'the seeds column says 4, 5'),
    (lambda rows: [rows[0].replace(',test_loss_sd', ',test_loss_spread')] + rows[1:],
     'no column test_loss_sd')])
def test_a_damaged_band_is_one_line(tmp_path, damage, said):
    write_band(tmp_path / 'band.csv', LEGACY, 0.5)
    rows = (tmp_path / 'band.csv').read_text().splitlines()
    (tmp_path / 'band.csv').write_text('\n'.join(damage(rows)) + '\n')
    result = run_module('compare', compare.LEGACY_LOG, '--band', tmp_path / 'band.csv')
    assert result.returncode == 1 and result.stdout == ''
    assert result.stderr.startswith('compare: error: ') and said in result.stderr
    assert len(result.stderr.splitlines()) == 1
