"""The run-to-run spread of the legacy configuration: a band over seeds, and the 2017
curve over it.

    python -m chainer_vae.seed_band --out DIR [--seeds 0 1 2 3 4] [--epoch 100]
                                    [--data-dir MNIST_DIR] [--legacy-log CSV]

Trains ``python -m chainer_vae --seed S --epoch E`` (train_vae.py's command) into
DIR/seed<S> for each seed -- a finished run is kept, a stopped one resumed, and a folder
holding a run of other settings refused; a signal to this command, even kill -9 (on Linux),
ends the seed's run too, its last epoch kept -- then writes into DIR:
  band.csv  per epoch and loss: the mean, min, max and standard deviation over the seeds
            (and their number)
  band.md   the band at a few epochs beside the 2017 run, and at how many epochs the
            2017 value lies inside the band
  band.png  the test and train loss bands with the 2017 curve over them, and the test
            loss's last half on a scale of its own
A band ships in the package (chainer_vae/reference/seed_band.csv, 5 seeds x 100 epochs):
chainer_vae.compare's verdict is made against it.
"""
import csv
import ctypes
import io
import os
import signal
import subprocess
import sys

import numpy as np

from chainer_vae import cli, compare, config as run_config, errors, files, interrupt, runlog
from chainer_vae.plotting import plt, save_figure

OUTPUTS = ('band.csv', 'band.md', 'band.png')


class SeedRunError(errors.Failure):
    """A seed's run that cannot be used or did not finish; the message is one line."""


def check_folder(run, seed, data_dir):
    """Refuse a seed folder that holds a run of other settings than this band's: the
    legacy configuration, this seed, this data."""
    path = os.path.join(run, files.CONFIG)
    if not os.path.exists(path):
        others = [name for name in (os.listdir(run) if os.path.isdir(run) else ())
                  if name not in (files.LOCK, files.WRITTEN) and not name.endswith('.tmp')]
        if others:  # log.csv of an unknown run, say
            raise SeedRunError('%s holds files (%s) but no config.json of a run: move them '
                               'away or choose another --out' % (run, ', '.join(sorted(others))))
        return
    config = run_config.read(path)
    differ = compare.differences(config)
    if config['training']['seed'] != seed:
        differ.insert(0, 'seed %s' % config['training']['seed'])
    # the cache holds the published MNIST (md5-checked); a --data-dir may hold anything
    if config['data']['data_dir'] not in (None, os.path.abspath(data_dir) if data_dir else None):
        differ.append('data from %s' % config['data']['data_dir'])
    if differ:
        raise SeedRunError('%s holds a run of other settings (%s); move it away or choose '
                           'another --out' % (run, '; '.join(differ)))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def ended_with_this_process():
    """A preexec_fn for a seed's run: Linux sends it SIGTERM when this process dies, even
    by kill -9 (prctl's PR_SET_PDEATHSIG), so that no orphan trains on holding its folder's
    lock, which would refuse the same command run again; the run's SIGTERM keeps its last
    finished epoch. None elsewhere (there an orphan is ended by hand)."""
    if not sys.platform.startswith('linux'):
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls
    parent = os.getpid()

    def in_the_child():
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # died before the line above: no signal would come
            os._exit(128 + signal.SIGTERM)

    return in_the_child


def train_seed(out, seed, epochs, data_dir, this):
    """The seed's run in out/seed<seed>, trained, resumed or kept; return its folder."""
    run = os.path.join(out, 'seed%d' % seed)
    check_folder(run, seed, data_dir)
    log = os.path.join(run, files.LOG)
    if os.path.isfile(log) and len(runlog.parse(log)) >= epochs:
        return run
    if os.path.isfile(os.path.join(run, files.CHECKPOINT)):
        command = ['--resume-from', run, '--epoch', str(epochs)]
    else:  # new, or stopped in its first epoch (nothing to keep: its files are replaced)
        command = ['--seed', str(seed), '--epoch', str(epochs), '--out', run, '--force']
        if data_dir:
            command += ['--data-dir', data_dir]
    print('seed %d: python -m chainer_vae %s' % (seed, ' '.join(command)), flush=True)
    child = subprocess.Popen([sys.executable, '-m', 'chainer_vae'] + command,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                             preexec_fn=ended_with_this_process())
    this.kept = lambda: 'the runs keep their checkpoints: the same command goes on'
    try:
        _, err = child.communicate()
    except KeyboardInterrupt as e:  # pass the signal on and let the run save its epoch
        with interrupt.deferred():
            child.send_signal(getattr(e, 'signum', signal.SIGINT))
            child.communicate()
        raise
    if child.returncode:
        lines = err.strip().splitlines()
        why = lines[-1] if lines else 'exit %d' % child.returncode
        if child.returncode < 0:
            why = 'killed by signal %d' % -child.returncode
        raise SeedRunError('the run of seed %d stopped (%s)' % (seed, why))
    return run


def band(runs, epochs):
    """{key: (mean, min, max, sd) arrays over epochs 1..epochs} of the runs' logs (compare.
    STATS; sd the sample standard deviation)."""
    logs = [runlog.read(os.path.join(run, files.LOG)) for run in runs]
    spread = {}
    for key in runlog.LOSSES:
        values = np.stack([log[key][:epochs] for log in logs])
        spread[key] = (values.mean(axis=0), values.min(axis=0), values.max(axis=0),
                       values.std(axis=0, ddof=1))
    return spread


def each_against_the_others(runs, epochs):
    """For each run, the epochs (of ``epochs``) at which its test loss is within the
    verdict's spread (compare.within) of a band of the other runs: how the verdict judges
    a seed that is not in the band (compare.SHARE is set by these)."""
    if len(runs) < 3:  # a band of one run has no spread
        return []
    logs = [runlog.read(os.path.join(run, files.LOG))['test_loss'] for run in runs]
    return [len(compare.within(logs[i], band(runs[:i] + runs[i + 1:], epochs)))
            for i in range(len(runs))]


def csv_text(spread, seeds):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(['epoch', 'seeds'] + ['%s_%s' % (k, s) for k in runlog.LOSSES
                                          for s in compare.STATS])
    for e in range(len(spread[runlog.LOSSES[0]][0])):
        writer.writerow([e + 1, seeds] + ['%.4f' % spread[k][i][e] for k in runlog.LOSSES
                                          for i in range(len(compare.STATS))])
    return out.getvalue()


def markdown(spread, legacy, seeds, others=()):
    n = len(spread['test_loss'][0])
    shown = sorted({e for e in compare.SHOWN if e <= n} | {n})
    lines = ['| epoch | test loss: mean [min, max] over %d seeds | 2017 | train loss: mean '
             '[min, max] | 2017 |' % len(seeds), '|---|---|---|---|---|']
    for e in shown:
        cells = []
        for key in ('test_loss', 'train_loss'):
            mean, low, high = (a[e - 1] for a in spread[key][:3])
            cells.append('%.2f [%.2f, %.2f]' % (mean, low, high))
            cells.append('%.2f' % legacy[key][e - 1] if e <= len(legacy[key]) else '')
        lines.append('| %d | ' % e + ' | '.join(cells) + ' |')
    lines.append('')
    lines.append('Seeds %s, %d epochs each.' % (', '.join(map(str, seeds)), n))
    for key in ('test_loss', 'train_loss'):
        hits = compare.inside(legacy[key], spread, key)
        m = min(n, len(legacy[key]))
        lines.append('The 2017 %s lies inside the band at %d of %d epochs%s.'
                     % (key.replace('_', ' '), len(hits), m,
                        ' (%s)' % ', '.join(map(str, hits)) if hits else ''))
    near = compare.within(legacy['test_loss'], spread)
    lines.append("The 2017 test loss lies within %d sd of the seeds' mean (the verdict's "
                 "measure, chainer_vae.compare) at %d of %d epochs."
                 % (compare.SPREAD, len(near), min(n, len(legacy['test_loss']))))
    if others:
        lines.append('Each seed against a band of the other %d: within %d sd of their mean at '
                     '%s of %d epochs (seeds %s; the verdict needs %d%%).'
                     % (len(seeds) - 1, compare.SPREAD, ', '.join(map(str, others)), n,
                        ', '.join(map(str, seeds)), compare.SHARE))
    return '\n'.join(lines) + '\n'


def plot(spread, legacy, path):
    """The test and train loss bands over all epochs, and the test loss's over the second
    half, where the seeds differ by tenths of a nat, on a scale of its own."""
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5), dpi=100)
    last = len(spread['test_loss'][0])
    panels = (('test_loss', 1), ('test_loss', last // 2 + 1), ('train_loss', 1))
    for ax, (key, first) in zip(axes, panels):
        mean, low, high, _ = (a[first - 1:] for a in spread[key])
        wide = compare.SPREAD * compare.pooled_sd(spread[key][3])[first - 1:]
        epochs = np.arange(first, first + len(mean))
        ax.fill_between(epochs, mean - wide, mean + wide, color='C0', alpha=0.12,
                        label="mean +- %d sd (pooled over %d epochs: the verdict's)"
                        % (compare.SPREAD, compare.POOL))
        ax.fill_between(epochs, low, high, color='C0', alpha=0.3, label='min-max over seeds')
        ax.plot(epochs, mean, color='C0', label='mean over seeds')
        n = max(0, min(len(legacy[key]) - first + 1, len(mean)))
        ax.plot(epochs[:n], legacy[key][first - 1:first - 1 + n], 'k--', label='2017 run')
        ax.set_xlabel('epoch')
        ax.set_ylabel('-ELBO, nats per image')
        ax.set_title(key.replace('_', ' ') + (', epochs %d to %d' % (first, last)
                                               if first > 1 else ''))
        if first == 1:  # from epoch 2 on: the first epoch's loss is far above the rest
            ax.set_ylim(low.min() - 2, high[min(1, len(high) - 1)] + 5)
        else:
            ax.set_ylim((mean - wide).min() - 0.2, (mean + wide).max() + 0.2)
        ax.legend()
    fig.tight_layout()
    save_figure(fig, path)


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.seed_band', name='seed_band',
                   description=__doc__)
    p.add_argument('--out', required=True, help='the folder of the runs and the band')
    p.add_argument('--seeds', type=cli.seed, nargs='+', default=[0, 1, 2, 3, 4], help='seeds')
    p.add_argument('--epoch', type=cli.positive_int, default=100,
                   help="epochs of each run (the legacy run's 100)")
    p.add_argument('--data-dir', type=cli.existing_dir,
                   help='the four MNIST .gz files (default: the cache)')
    p.add_argument('--legacy-log', type=cli.existing_file, default=compare.LEGACY_LOG,
                   help="the log laid over the band: the 2017 run's, shipped in the package")
    args = p.parse_args(argv)
    if len(set(args.seeds)) < 2 or len(set(args.seeds)) < len(args.seeds):
        p.error('--seeds: at least two seeds, each once')
    with cli.command('seed_band', writes_in=args.out) as this:
        legacy = runlog.read(args.legacy_log)
        with files.Lock(args.out).acquire():
            runs = [train_seed(args.out, s, args.epoch, args.data_dir, this) for s in args.seeds]
            spread = band(runs, args.epoch)
            table = markdown(spread, legacy, args.seeds,
                             each_against_the_others(runs, args.epoch))
            files.write_bytes(os.path.join(args.out, OUTPUTS[0]),
                              csv_text(spread, len(args.seeds)).encode())
            files.write_bytes(os.path.join(args.out, OUTPUTS[1]), table.encode())
            plot(spread, legacy, os.path.join(args.out, OUTPUTS[2]))
            files.record(args.out, OUTPUTS)
    print(table, end='')


if __name__ == '__main__':
    main()
