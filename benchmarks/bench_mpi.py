#!/usr/bin/env python
"""The data-parallel loop on 1 and 2 MPI ranks of this machine, the all-reduce's share,
and what they say about more machines.

    python benchmarks/bench_mpi.py --data-dir DIR [--epoch 3] [--report results/benchmarks/mpi.md]

- epoch times: ``mpiexec -n P python train_vae.py --communicator naive --epoch E --seed 0``
  for P = 1 and 2 (one BLAS thread a rank, chainer_vae/mpi.py), from log.csv's wall
  times; epoch 1 is left out (graph.dot, warm-up), the median of the rest is taken.
- all-reduce: ``--worker allreduce`` below, under ``mpiexec -n 2``: ChainerMN's
  ``multi_node_mean_grad`` of the legacy model's gradients (1,316,824 float32, 5.3 MB),
  timed 200 times; the median. An epoch of 60,000 images in batches of 100 does 600.
- the estimate: a step of P ranks takes about t_compute(batch / P) + t_allreduce(P); on
  more machines, a ring all-reduce sends 2 (P - 1) / P x 5.3 MB per rank over the network.
"""
import argparse
import csv
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

from chainer_vae import cli, files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEPS = 600  # an epoch: 60,000 images in batches of 100
GRAD_MB = 1316824 * 4 / 1e6


def mpiexec():
    bin_dir = os.path.dirname(sys.executable)
    path = os.path.join(bin_dir, 'mpiexec')
    return path if os.path.exists(path) else 'mpiexec'


def allreduce_worker(repeats=200):
    import chainer_vae  # noqa: F401
    import chainer.functions as F
    import numpy as np
    from chainer_vae import mpi, net
    comm = mpi.communicator('naive')
    model = net.VAE(784, 20, 500, act_func=F.softplus)
    for p in model.params():
        p.grad = np.ones_like(p.array)
    times = []
    for _ in range(repeats):
        comm.mpi_comm.Barrier()
        start = time.perf_counter()
        comm.multi_node_mean_grad(model)
        times.append(time.perf_counter() - start)
    if comm.rank == 0:
        print(statistics.median(times))


def epoch_seconds(ranks, data_dir, epochs):
    """Median wall seconds of an epoch (training and evaluation) after the first."""
    with tempfile.TemporaryDirectory() as out:
        data = ['--data-dir', data_dir] if data_dir else []
        subprocess.run([mpiexec(), '-n', str(ranks), sys.executable,
                        os.path.join(REPO, 'train_vae.py'), '--communicator', 'naive',
                        '--epoch', str(epochs), '--seed', '0', '-o', out] + data,
                       check=True, stdout=subprocess.DEVNULL, cwd=REPO)
        with open(os.path.join(out, 'log.csv')) as f:
            walls = [float(r['wall_time']) for r in csv.DictReader(f)]
    return statistics.median(b - a for a, b in zip(walls, walls[1:]))  # epochs 2 ... E


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--data-dir', help='the four MNIST .gz files (default: the cache)')
    p.add_argument('--epoch', type=cli.bounded_int(3, 1000), default=3)
    p.add_argument('--report', default=os.path.join(REPO, 'results', 'benchmarks', 'mpi.md'))
    p.add_argument('--worker', choices=['allreduce'])
    args = p.parse_args()
    if args.worker:
        return allreduce_worker()
    one, two = (epoch_seconds(n, args.data_dir, args.epoch) for n in (1, 2))
    allreduce = float(subprocess.run(
        [mpiexec(), '-n', '2', sys.executable, os.path.abspath(__file__), '--worker',
         'allreduce'], check=True, capture_output=True, text=True, cwd=REPO).stdout.split()[-1])
    step_one = one / STEPS  # training and evaluation, per training step
    share = STEPS * allreduce / two
    lines = [
        '# The loop data-parallel on MPI ranks of one machine', '',
        'Made by `python benchmarks/bench_mpi.py --data-dir DIR --epoch %d` on %s.'
        % (args.epoch, time.strftime('%Y-%m-%d')), '',
        'Machine: %s, %d cores; Python %s; MPICH, ChainerMN naive communicator, one BLAS '
        'thread a rank.' % (platform.processor() or platform.machine(), os.cpu_count(),
                            platform.python_version()), '',
        '| ranks | epoch s (train + test) | speed-up |', '|---|---|---|',
        '| 1 | %.2f | 1.00 |' % one, '| 2 | %.2f | %.2f |' % (two, one / two), '',
        'One all-reduce of the gradients (%.1f MB float32) over 2 local ranks: %.2f ms '
        '(median of 200); %d an epoch: %.2f s, %.1f %% of the 2-rank epoch.'
        % (GRAD_MB, 1e3 * allreduce, STEPS, STEPS * allreduce, 100 * share), '',
        '## What this says about more machines', '',
        'A step of P ranks costs about t_c / P + t_a(P): t_c, the computation of a step of '
        'batch 100 on one rank (%.1f ms here, from the 1-rank epoch), shrinks with P; t_a, the '
        'all-reduce, does not. A ring all-reduce sends and receives 2 (P - 1) / P x %.1f MB '
        'per rank a step: over 10 Gbit/s Ethernet (1.25 GB/s) about %.1f ms for large P, '
        'over 100 Gbit/s InfiniBand about %.2f ms, plus latency.'
        % (1e3 * step_one, GRAD_MB, 2 * GRAD_MB / 1.25, 2 * GRAD_MB / 12.5), '',
        '- At the legacy batch of 100, adding ranks stops paying once t_c / P falls to t_a, '
        'and a step is never faster than t_a: over 10 Gbit/s at P of about %.1f (a speed-up '
        'of at most %.1f); over 100 Gbit/s InfiniBand at P of about %.0f.'
        % (step_one / (2 * GRAD_MB / 1.25e3), step_one / (2 * GRAD_MB / 1.25e3),
           step_one / (2 * GRAD_MB / 12.5e3)),
        '- t_c grows with the batch and t_a does not: P ranks pay (t_a at most a tenth of the '
        'step) from a global batch of about 100 x 10 x P x t_a / t_c images, e.g. %d for 8 '
        'ranks on 10 Gbit/s; but a larger batch changes the optimisation (fewer Adam steps an '
        'epoch), which the legacy numbers do not allow.'
        % round(100 * 10 * 8 * (2 * GRAD_MB / 1.25e3) / step_one),
        '- On one 2-core machine, 2 ranks compete with each other for the same cores and '
        'memory bandwidth: the table above is the whole of what it can show.', '']
    text = '\n'.join(lines)
    print(text)
    files.write_bytes(args.report, text.encode())


if __name__ == '__main__':
    main()
