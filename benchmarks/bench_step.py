#!/usr/bin/env python
"""Where a training step of the legacy loop spends its time, in one process:

    python benchmarks/bench_step.py [--rounds 8] [--report results/benchmarks/step.md]

- A whole training step of the legacy model (784-500-500-20 softplus, batch 100):
  ours (``Adam.update`` with the notebook's loss function) and, where torch is
  importable, the same step in PyTorch (bench_epoch.py's model), alternating round by
  round; and NumPy's matrix products of such a step alone (bench_epoch.py's floor).
- Adam's update (chainer_vae/cpu_kernels.py) of the legacy model's 1.3 million parameters, its
  blocks on 1 and on 2 threads (cpu_kernels.THREADS), alternating round by round; the median
  milliseconds of an update.
- Chainer's own cost of a step: a training step of the same graph on a tiny model
  (7-5-5-20 softplus, batch 2), whose arithmetic is next to nothing, so what is left is
  Python: the FunctionNode calls a step, the milliseconds of a step and of its update.

What stays of our step while chainer runs as it does and computes the same bits: the
products, Adam's update, and chainer's Python but the update (already in Adam's).
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
import chainer_vae  # noqa: E402,F401  (revives chainer before it is imported)
import chainer  # noqa: E402
import chainer.functions as F  # noqa: E402
from chainer import function_node  # noqa: E402

import bench_epoch  # noqa: E402
from chainer_vae import files, net, cpu_kernels  # noqa: E402


def model_and_optimizer(n_in, n_h, batch):
    np.random.seed(0)
    model = net.VAE(n_in, 20, n_h, act_func=F.softplus)
    optimizer = cpu_kernels.Adam()
    optimizer.setup(model)
    x = np.random.rand(batch, n_in).astype(np.float32)
    optimizer.update(model.get_loss_func(), chainer.Variable(x))  # m, v and the grads
    return model, optimizer, x


def adam_ms(rounds, updates=50):
    """{threads: median ms of an update} of the legacy model, 1 and 2 threads alternating."""
    _, optimizer, _ = model_and_optimizer(784, 500, 100)
    times = {1: [], 2: []}
    for _ in range(rounds):
        for threads in times:
            cpu_kernels.THREADS = threads
            start = time.perf_counter()
            for _ in range(updates):
                optimizer.update()  # the same gradients again: only the update is timed
            times[threads].append((time.perf_counter() - start) / updates * 1000)
    return {t: statistics.median(v) for t, v in times.items()}


def legacy_step_ms(rounds, steps=50):
    """{contender: median ms of a training step} of the legacy model, on random images."""
    _, optimizer, x = model_and_optimizer(784, 500, 100)
    lossfun = optimizer.target.get_loss_func
    steps_of = {'ours': lambda: optimizer.update(lossfun(), chainer.Variable(x))}
    try:
        import torch
    except ImportError:
        torch = None
    if torch:
        torch.manual_seed(0)
        model, torch_optimizer = bench_epoch.torch_vae(20, torch.device('cpu'))
        tx = torch.from_numpy(x)
        steps_of['pytorch'] = lambda: bench_epoch.torch_step(model, torch_optimizer, tx)
    return {name: statistics.median(v) for name, v in alternating(steps_of, rounds, steps).items()}


def alternating(steps_of, rounds, steps):
    """{name: [ms a step, one a round]} of the contenders ({name: step()}) in turn, round by
    round, so that what the machine does meanwhile falls on each alike."""
    times = {name: [] for name in steps_of}
    for _ in range(rounds):
        for name, step in steps_of.items():
            step()  # its first step after the other's: not timed
            start = time.perf_counter()
            for _ in range(steps):
                step()
            times[name].append((time.perf_counter() - start) / steps * 1000)
    return times


def chainer_step(rounds, steps=200):
    """FunctionNode calls a training step, and the median ms of a step and of its
    optimizer's update alone, on a tiny model."""
    model, optimizer, x = model_and_optimizer(7, 5, 2)
    calls = [0]
    apply = function_node.FunctionNode.apply

    def counted(self, inputs):
        calls[0] += 1
        return apply(self, inputs)
    function_node.FunctionNode.apply = counted
    optimizer.update(model.get_loss_func(), chainer.Variable(x))
    function_node.FunctionNode.apply = apply
    times = {'step': [], 'update': []}
    for _ in range(rounds):
        for part, run in (('step', lambda: optimizer.update(model.get_loss_func(),
                                                           chainer.Variable(x))),
                          ('update', optimizer.update)):
            start = time.perf_counter()
            for _ in range(steps):
                run()
            times[part].append((time.perf_counter() - start) / steps * 1000)
    return calls[0], statistics.median(times['step']), statistics.median(times['update'])


def torch_version():
    try:
        import torch
    except ImportError:
        return '(not installed)'
    return torch.__version__


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--rounds', type=int, default=8)
    p.add_argument('--report', default=os.path.join(os.path.dirname(HERE), 'results', 'benchmarks',
                                                 'step.md'))
    args = p.parse_args()
    cpu_kernels.configure()
    adam = adam_ms(args.rounds)
    cpu_kernels.THREADS = min(2, len(os.sched_getaffinity(0)))
    calls, step, update = chainer_step(args.rounds)
    whole = legacy_step_ms(args.rounds)
    steps = bench_epoch.N_TRAIN // bench_epoch.BATCH
    products = bench_epoch.matmul_floor(20)['train'] / steps * 1000
    python = step - update  # chainer's Python of a step, but the update (in adam)
    kept = products + adam[cpu_kernels.THREADS] + python
    lines = ['# Where a training step spends its time', '',
             'Made by `%s` on %s.' % (
                 ' '.join(['python benchmarks/bench_step.py'] + sys.argv[1:]),
                 time.strftime('%Y-%m-%d')), '',
             'Machine: %s, %d cores; Python %s, NumPy %s.' % (
                 bench_epoch.cpu_name(), os.cpu_count(), sys.version.split()[0],
                 np.__version__), '',
             '| measure | value |', '|---|---|',
             '| a training step of the legacy loop, ours (ms, median of %d rounds) | %.2f |'
             % (args.rounds, whole['ours']),
             '| the same step in PyTorch %s (ms) | %s |' % (
                 torch_version(), '%.2f' % whole['pytorch'] if 'pytorch' in whole else 'n/a'),
             '| NumPy\'s matrix products of that step alone (ms, best of 3 epochs\' worth) | %.2f |'
             % products,
             '| Adam update, legacy model, 1 thread (ms, median of %d rounds) | %.2f |'
             % (args.rounds, adam[1]),
             '| Adam update, legacy model, 2 threads (ms) | %.2f |' % adam[2],
             '| FunctionNode calls a training step | %d |' % calls,
             '| a training step of the same graph on a tiny model (ms, Python alone) | %.2f |'
             % step,
             '| that, over an epoch of 600 steps (s) | %.2f |' % (step * 600 / 1000),
             '| of that step, its optimizer\'s update alone (ms) | %.2f |' % update,
             '| products + Adam (%d threads) + chainer\'s Python: what stays of our step '
             'while chainer runs as it does and computes the same bits (ms) | %.2f |'
             % (cpu_kernels.THREADS, kept),
             '| products + chainer\'s Python but the update, over the products | %.2f |'
             % ((products + python) / products),
             '| what stays, over the products | %.2f |' % (kept / products),
             '| our step over the products | %.2f |' % (whole['ours'] / products),
             '| PyTorch\'s step over the products | %s |' % (
                 '%.2f' % (whole['pytorch'] / products) if 'pytorch' in whole else 'n/a'),
             '| our step over PyTorch\'s | %s |' % (
                 '%.2f' % (whole['ours'] / whole['pytorch']) if 'pytorch' in whole else 'n/a')]
    print('\n'.join(lines))
    files.write_bytes(args.report, ('\n'.join(lines) + '\n').encode())


if __name__ == '__main__':
    main()
