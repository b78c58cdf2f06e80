#!/usr/bin/env python
"""Seconds a sample epoch with one and with two BLAS threads, on the machine as it is and
with busy processes added beside it.

    python benchmarks/bench_blas_threads.py [--epoch 6] [--rounds 3] [--busy 0 1]
                                            [--report results/benchmarks/blas_threads.md]

Each run is ``python train_vae.py --dataset sample --seed 0 --epoch E`` in a subprocess with
OPENBLAS_NUM_THREADS (and OMP_NUM_THREADS) 1 or 2, alternating round by round; an epoch's
seconds are the steps of log.csv's wall_time, epoch 1 (warm-up, graph.dot) left out, the
median over the rounds' epochs. ``--busy N``: N processes spinning on a core each while
those runs go (a machine shared with other work); the load average is read before each
condition. The table goes to stdout and to --report.
"""
import datetime
import multiprocessing
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile

import numpy as np

from chainer_vae import cli, files, runlog

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def spin():
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the command's handler: terminate ends it
    while True:
        pass


def epoch_seconds(threads, epochs):
    """The seconds of epochs 2..E of one sample run with ``threads`` BLAS threads."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([sys.executable, os.path.join(REPO, 'train_vae.py'), '--dataset',
                        'sample', '--seed', '0', '--epoch', str(epochs), '-o', out],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        wall = runlog.read(os.path.join(out, files.LOG), runlog.COLUMNS)['wall_time']
    return [b - a for a, b in zip(wall, wall[1:])]


def main(argv=None):
    p = cli.Parser(prog='bench_blas_threads.py', description=__doc__)
    p.add_argument('--epoch', type=cli.positive_int, default=6)
    p.add_argument('--rounds', type=cli.positive_int, default=3)
    p.add_argument('--busy', type=int, nargs='+', default=[0, 1],
                   help='busy processes beside the runs, one condition each')
    p.add_argument('--report', help='also write the table here')
    args = p.parse_args(argv)
    with cli.command('bench_blas_threads.py'):
        rows = []
        for busy in args.busy:
            spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(busy)]
            for s in spinners:
                s.start()
            load = os.getloadavg()[0]
            try:
                seconds = {1: [], 2: []}
                for _ in range(args.rounds):
                    for threads in (1, 2):
                        seconds[threads] += epoch_seconds(threads, args.epoch)
            finally:
                for s in spinners:
                    s.terminate()
            one, two = (statistics.median(seconds[t]) for t in (1, 2))
            rows.append('| %d | %.2f | %.2f | %.2f | %.2f |' % (busy, load, one, two, two / one))
        table = '\n'.join([
            '# A sample epoch with one and two BLAS threads', '',
            'Made by `python benchmarks/bench_blas_threads.py --epoch %d --rounds %d --busy %s` '
            'on %s.' % (args.epoch, args.rounds, ' '.join(map(str, args.busy)),
                        datetime.date.today()), '',
            'Machine: %s, %d cores; Python %s, NumPy %s. Seconds an epoch of `train_vae.py '
            '--dataset sample --seed 0`: the median of epochs 2..%d over %d rounds.'
            % (platform.machine(), os.cpu_count(), platform.python_version(), np.__version__,
               args.epoch, args.rounds), '',
            '| busy processes added | load average (1 min) before | 1 thread: s an epoch | '
            '2 threads: s an epoch | 2 / 1 |', '|---|---|---|---|---|'] + rows) + '\n'
        print(table, end='')
        if args.report:
            files.write_bytes(args.report, table.encode())


if __name__ == '__main__':
    main()
