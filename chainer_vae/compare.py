"""The verdict: a run of the legacy configuration against the 2017 run.

    python -m chainer_vae.compare RUN_DIR          # a train_vae.py --out folder
    python -m chainer_vae.compare LOG.csv          # a log alone (the 2017 log itself, say)

Two references ship in chainer_vae/reference/: the 2017 run's log (its printed numbers,
epoch by epoch) and the band of this revival, the per-epoch mean, minimum, maximum and sd of
seeded runs of the legacy configuration on full MNIST (made by chainer_vae.seed_band, 5
seeds x 100 epochs, the raw logs and command in results/seed_band/). Two independent
runs of the same process do not agree to the digit (the 2017 run was unseeded, on a GPU),
so the question is whether a run lies where one more seeded run of this revival would, as
the 2017 run does. For results/mnist_dimz20 (seed 0, made on NumPy 2.5 where the band's
seed 0 ran on NumPy 2.4: the same start, float sums apart in their last bits):

    test loss inside the 5-seed band at 78 of 100 epochs (the 2017 run: 76 of 100)
    epoch 100: test loss 97.08 against the 2017 run's 97.19 (band 97.08 to 97.25)
    verdict: reproduced: within 3 sd of the seeds' mean at 100 of 100 epochs, 75 needed (the
             2017 run: 100)

and how far it is from the 2017 log epoch by epoch; the epochs of a run past the band's have
no verdict, and a line says so. A run that is not the legacy
configuration gets one line saying what differs, and no verdict.
"""
import os

import numpy as np

from chainer_vae import cli, config as run_config, errors, files, runlog

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'reference')
LEGACY_LOG = os.path.join(REFERENCE, 'qiita_log_100epochs.csv')
BAND = os.path.join(REFERENCE, 'seed_band.csv')
# the 2017 run: VAE(784, 20, 500, softplus), batch 100, the full MNIST grey levels
LEGACY = {('model', 'n_in'): 784, ('model', 'n_latent'): 20, ('model', 'n_h'): 500,
          ('model', 'activation'): 'softplus', ('training', 'batchsize'): 100,
          ('training', 'test'): False, ('training', 'initmodel'): None,
          ('data', 'dataset'): 'mnist', ('data', 'binarize'): False, ('training', 'lr'): 0.001,
          ('training', 'weight_decay'): 0.0, ('training', 'grad_clip'): None,
          ('training', 'beta'): 1.0, ('training', 'k'): 1}
STATS = ('mean', 'min', 'max', 'sd')  # band.csv's, per loss and epoch, over the seeds
# The verdict asks whether a run lies where one more seed of the band would. A seed is
# often outside the min-max band of five others (each of 6 runs is the lowest or the
# highest with chance 2/6), so the band's edges cannot be the test. It asks instead for
# SPREAD standard deviations of the seeds around their mean, the sd pooled over the POOL
# epochs around each (five seeds give a noisy sd at any one epoch), at SHARE % of the
# run's epochs. SHARE is set by the band's own seeds: each, judged against a band of the
# other four, is reproduced (results/README.md, "The seed band").
SPREAD = 3
POOL = 9
SHARE = 75
SHOWN = (1, 2, 5, 10, 20, 50, 100)  # the epochs of the table


class BandError(errors.Failure):
    """A band file that cannot be read; the message is one line."""


def differences(config):
    """What makes a run's config other than the legacy configuration, as phrases."""
    found = []
    for (section, key), value in LEGACY.items():
        if config[section].get(key, value) != value:  # absent: a config of before the entry
            found.append('%s %s, not %s' % (key, config[section][key], value))
    return found


def read_band(path=BAND):
    """({key: (mean, min, max, sd) arrays over epochs 1, 2, ...}, the number of seeds) of
    a seed band's band.csv."""
    columns = ('seeds',) + tuple('%s_%s' % (k, s) for k in runlog.LOSSES for s in STATS)
    try:
        rows = runlog.parse(path, ('epoch',) + columns)
    except runlog.LogError as e:
        raise BandError(str(e).replace('loss log', 'seed band')) from None
    if not rows:
        raise BandError('%s: no epochs in the band' % path)
    seeds = {row[1] for row in rows}
    if len(seeds) != 1 or int(rows[0][1]) != rows[0][1] or rows[0][1] < 2:
        raise BandError('%s: the seeds column says %s: one number of seeds, at least 2, on '
                        'every row' % (path, ', '.join('%g' % s for s in sorted(seeds))))
    table = np.array([row[2:] for row in rows])
    band = {k: tuple(table[:, len(STATS) * i + j] for j in range(len(STATS)))
            for i, k in enumerate(runlog.LOSSES)}
    return band, int(rows[0][1])


HALF = 5e-5  # band.csv keeps 4 decimals: a seed of the band is inside it


def inside(values, band, key='test_loss'):
    """The epochs (1-based) at which ``values`` (a log's column) lie in the band."""
    low, high = band[key][1:3]
    n = min(len(values), len(low))
    return [e + 1 for e in range(n) if low[e] - HALF <= values[e] <= high[e] + HALF]


def pooled_sd(sd):
    """The seeds' sd at each epoch pooled over the POOL epochs around it (fewer at the
    ends): the root of the mean of their variances."""
    half = POOL // 2
    return np.array([np.sqrt(np.mean(np.square(sd[max(0, e - half):e + half + 1])))
                     for e in range(len(sd))])


def within(values, band, key='test_loss'):
    """The epochs (1-based) at which ``values`` lie within SPREAD standard deviations of
    the seeds' mean (the sd pooled over POOL epochs): where one more seed is expected."""
    mean, sd = band[key][0], pooled_sd(band[key][3])
    n = min(len(values), len(mean))
    return [e + 1 for e in range(n) if abs(values[e] - mean[e]) <= SPREAD * sd[e] + HALF]


def verdict(log, legacy, band, seeds):
    """The verdict's lines for a log ({column: list}) of the legacy configuration."""
    n = min(len(log['epoch']), len(band['test_loss'][0]))
    ours, theirs = inside(log['test_loss'][:n], band), inside(legacy['test_loss'][:n], band)
    low, high = band['test_loss'][1:3]
    last = n - 1
    lines = ['test loss inside the %d-seed band at %d of %d epochs (the 2017 run: %d of %d)'
             % (seeds, len(ours), n, len(theirs), n),
             'epoch %d: test loss %.2f against the 2017 run\'s %.2f (band %.2f to %.2f)'
             % (n, log['test_loss'][last], legacy['test_loss'][last], low[last], high[last])]
    m = min(len(log['epoch']), len(legacy['test_loss']))
    if m > n:
        lines.append('epoch %d (past the band\'s %d epochs): test loss %.2f against the 2017 '
                     'run\'s %.2f' % (m, n, log['test_loss'][m - 1], legacy['test_loss'][m - 1]))
    diff = np.abs(np.array(log['test_loss'][:m]) - np.array(legacy['test_loss'][:m]))
    late = diff[9:] if m > 10 else diff
    lines.append('from the 2017 log: test loss %.2f nats apart on average over epochs %d to %d '
                 '(at most %.2f, at epoch %d)' % (late.mean(), m - len(late) + 1, m, late.max(),
                                                  m - len(late) + 1 + int(late.argmax())))
    near, near_2017 = within(log['test_loss'][:n], band), within(legacy['test_loss'][:n], band)
    needed = -(-SHARE * n // 100)  # SHARE % of the epochs, rounded up
    lines.append('verdict: %s: within %d sd of the seeds\' mean at %d of %d epochs, %d needed '
                 '(the 2017 run: %d)' % ('reproduced' if len(near) >= needed else
                                         'not reproduced', SPREAD, len(near), n, needed,
                                         len(near_2017)))
    if n < len(band['test_loss'][0]):
        lines.append('(over its %d epochs; the band has %d)' % (n, len(band['test_loss'][0])))
    if len(log['epoch']) > n:
        lines.append('epochs %d to %d lie beyond the band\'s %d epochs and have no verdict'
                     % (n + 1, len(log['epoch']), n))
    return lines


def table(log, legacy, band):
    """Markdown: the run beside the 2017 run and the band at a few epochs."""
    n = min(len(log['epoch']), len(legacy['test_loss']))  # past the band: its cells empty
    lines = ['| epoch | test loss: this run | 2017 | band mean [min, max] | train loss: this run '
             '| 2017 | band mean [min, max] |', '|---|---|---|---|---|---|---|']
    for e in sorted({e for e in SHOWN if e <= n} | {n}):
        cells = []
        for key in ('test_loss', 'train_loss'):
            spread = ('%.2f [%.2f, %.2f]' % tuple(a[e - 1] for a in band[key][:3])
                      if e <= len(band[key][0]) else '')
            cells += ['%.2f' % log[key][e - 1], '%.2f' % legacy[key][e - 1], spread]
        lines.append('| %d | %s |' % (e, ' | '.join(cells)))
    return lines


def report(run, legacy_path=LEGACY_LOG, band_path=BAND):
    """(lines, markdown or None) comparing ``run`` (a run folder or a log file) with the
    2017 run: the verdict for the legacy configuration, else one line of what differs."""
    if os.path.isdir(run):
        config = run_config.read(os.path.join(run, files.CONFIG))
        log = runlog.read(os.path.join(run, files.LOG))
        name = 'the run in %s' % run
        differ = differences(config)
    else:
        log, name, differ = runlog.read(run), run, []
    if differ:
        return (['%s is not the legacy configuration (%s): no verdict against the 2017 run; '
                 'its loss curves beside the 2017 run\'s show their shape only'
                 % (name, '; '.join(differ))], None)
    legacy, (band, seeds) = runlog.read(legacy_path), read_band(band_path)
    lines = ['%s against the 2017 run (%s):' % (name, 'a log without config.json, taken as '
                                                'the legacy configuration' if not
                                                os.path.isdir(run) else 'the legacy '
                                                'configuration')]
    lines += verdict(log, legacy, band, seeds)
    markdown = '\n'.join(['# %s' % lines[0], ''] + ['- ' + line for line in lines[1:]] + [''] +
                         table(log, legacy, band) + ['', 'Band: %d seeded runs of this revival '
                                                     '(chainer_vae/reference/seed_band.csv).'
                                                     % seeds]) + '\n'
    return lines, markdown


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.compare', name='compare', description=__doc__)
    p.add_argument('run', help='a train_vae.py --out folder, or a log.csv')
    p.add_argument('--legacy-log', type=cli.existing_file, default=LEGACY_LOG,
                   help='the 2017 run\'s log')
    p.add_argument('--band', type=cli.existing_file,
                   help="a band of seeded runs (chainer_vae.seed_band's band.csv; default: the "
                        "band shipped in the package, 5 seeds x 100 epochs)")
    args = p.parse_args(argv)
    if not os.path.exists(args.run):
        p.error('%s: no such run folder or log' % args.run)
    with cli.command('compare'):
        lines, _ = report(args.run, args.legacy_log, args.band or BAND)
        print('\n'.join(lines))


if __name__ == '__main__':
    main()
