"""The run-to-run spread of the legacy configuration: a band over seeds, and the 2017
curve over it.

    python -m chainer_vae.seed_band --out DIR [--seeds 0 1 2 3 4] [--epoch 20]
                                    [--data-dir MNIST_DIR] [--legacy-log CSV]

Trains ``python train_vae.py --seed S --epoch E`` into DIR/seed<S> for each seed (a
finished run is kept, a stopped one resumed), then writes into DIR:
  band.csv  per epoch and loss: the mean, min and max over the seeds
  band.md   the band at a few epochs beside the 2017 run, and at how many epochs the
            2017 value lies inside the band
  band.png  the test and train loss bands with the 2017 curve over them
"""
import csv
import os
import subprocess
import sys

import numpy as np
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from chainer_vae import checkpoint, cli, visualize  # noqa: E402

TRAIN_VAE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         'train_vae.py')
KEYS = ('train_loss', 'train_rec_loss', 'test_loss', 'test_rec_loss')


def train_seed(out, seed, epochs, data_dir):
    """The seed's run in out/seed<seed>, trained, resumed or kept; return its folder."""
    run = os.path.join(out, 'seed%d' % seed)
    log = os.path.join(run, checkpoint.LOG)
    if os.path.isfile(log) and len(visualize.read_log(log)['epoch']) >= epochs:
        return run
    if os.path.isfile(os.path.join(run, checkpoint.CHECKPOINT)):
        command = ['--resume-from', run, '--epoch', str(epochs)]
    else:
        command = ['--seed', str(seed), '--epoch', str(epochs), '--out', run]
        if data_dir:
            command += ['--data-dir', data_dir]
    print('seed %d: python train_vae.py %s' % (seed, ' '.join(command)), flush=True)
    done = subprocess.run([sys.executable, TRAIN_VAE] + command, stdout=subprocess.DEVNULL)
    if done.returncode:
        cli.fail('seed_band', 'the run of seed %d stopped (exit %d); run the command again '
                 'to go on' % (seed, done.returncode), done.returncode)
    return run


def band(runs, epochs):
    """{key: (mean, min, max) arrays over epochs 1..epochs} of the runs' logs."""
    logs = [visualize.read_log(os.path.join(run, checkpoint.LOG)) for run in runs]
    return {key: tuple(f(np.stack([log[key][:epochs] for log in logs]), axis=0)
                       for f in (np.mean, np.min, np.max)) for key in KEYS}


def inside(spread, legacy, key):
    """Epochs (1-based) at which the 2017 value of ``key`` lies in [min, max]."""
    _, low, high = spread[key]
    values = legacy[key][:len(low)]
    return [e + 1 for e, v in enumerate(values) if low[e] <= v <= high[e]]


def write_csv(spread, path):
    with open(path, 'w', newline='') as f:
        out = csv.writer(f)
        out.writerow(['epoch'] + ['%s_%s' % (k, s) for k in KEYS for s in ('mean', 'min', 'max')])
        for e in range(len(spread[KEYS[0]][0])):
            out.writerow([e + 1] + ['%.4f' % spread[k][i][e] for k in KEYS for i in range(3)])


def write_markdown(spread, legacy, seeds, path):
    n = len(spread['test_loss'][0])
    shown = sorted({e for e in (1, 2, 5, 10, 20, 50, 100) if e <= n} | {n})
    lines = ['| epoch | test loss: mean [min, max] over %d seeds | 2017 | train loss: mean '
             '[min, max] | 2017 |' % len(seeds), '|---|---|---|---|---|']
    for e in shown:
        cells = []
        for key in ('test_loss', 'train_loss'):
            mean, low, high = (a[e - 1] for a in spread[key])
            cells.append('%.2f [%.2f, %.2f]' % (mean, low, high))
            cells.append('%.2f' % legacy[key][e - 1] if legacy is not None else '')
        lines.append('| %d | ' % e + ' | '.join(cells) + ' |')
    lines.append('')
    lines.append('Seeds %s, %d epochs each.' % (', '.join(map(str, seeds)), n))
    if legacy is not None:
        for key in ('test_loss', 'train_loss'):
            hits = inside(spread, legacy, key)
            lines.append('The 2017 %s lies inside the band at %d of %d epochs%s.'
                         % (key.replace('_', ' '), len(hits), n,
                            ' (%s)' % ', '.join(map(str, hits)) if hits else ''))
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def plot(spread, legacy, path):
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    for ax, key in zip(axes, ('test_loss', 'train_loss')):
        mean, low, high = spread[key]
        epochs = np.arange(1, len(mean) + 1)
        ax.fill_between(epochs, low, high, color='C0', alpha=0.3, label='min-max over seeds')
        ax.plot(epochs, mean, color='C0', label='mean over seeds')
        if legacy is not None:
            ax.plot(epochs, legacy[key][:len(mean)], 'k--', label='2017 run')
        ax.set_xlabel('epoch')
        ax.set_ylabel('-ELBO, nats per image')
        ax.set_title(key.replace('_', ' '))
        ax.set_ylim(low.min() - 2, high[min(1, len(high) - 1)] + 5)  # from epoch 2 on
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.seed_band', name='seed_band',
                   description=__doc__)
    p.add_argument('--out', required=True, help='folder of the runs and the band')
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2, 3, 4], help='seeds')
    p.add_argument('--epoch', type=int, default=20, help='epochs of each run')
    p.add_argument('--data-dir', help='the four MNIST .gz files (default: the cache)')
    p.add_argument('--legacy-log', help='the 2017 log to lay over the band')
    args = p.parse_args(argv)
    if args.epoch < 1 or len(set(args.seeds)) < 2:
        p.error('--epoch must be positive, and --seeds at least two different seeds')
    legacy = None
    try:
        if args.legacy_log:
            legacy = visualize.read_log(args.legacy_log)
        runs = [train_seed(args.out, s, args.epoch, args.data_dir) for s in args.seeds]
        spread = band(runs, args.epoch)
        write_csv(spread, os.path.join(args.out, 'band.csv'))
        write_markdown(spread, legacy, args.seeds, os.path.join(args.out, 'band.md'))
        plot(spread, legacy, os.path.join(args.out, 'band.png'))
    except visualize.VisualizeError as e:
        cli.fail('seed_band', e)
    except OSError as e:
        cli.fail('seed_band', 'cannot write in %s: %s' % (args.out, e.strerror or e))
    except KeyboardInterrupt:
        cli.fail('seed_band', 'interrupted; run the command again to go on', 130)
    with open(os.path.join(args.out, 'band.md')) as f:
        print(f.read(), end='')


if __name__ == '__main__':
    main()
