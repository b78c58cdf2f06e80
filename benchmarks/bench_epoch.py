#!/usr/bin/env python
"""Epochs of the legacy configuration, timed in one run: this project's loop, the same
model and loop in PyTorch (where torch is importable), and the floor of the matrix
products that such an epoch needs.

    python benchmarks/bench_epoch.py --data-dir DIR [--epoch 4] [--rounds 2] [--gpu 0]
                                     [--report results/benchmarks/cpu.md]

- ours: ``python train_vae.py --data-dir DIR --seed 0`` itself, in a subprocess; the
  parts of each epoch are timed from when its printed lines arrive (``epoch N``,
  ``train mean loss=...``, ``test  mean loss=...``, the next ``epoch``).
- PyTorch: ``--worker torch`` below, the same model (784-500-500-z softplus,
  Xavier-uniform weights, zero biases), Adam with the same defaults, batch 100,
  evaluation with k = 10, printing the same lines, in its own subprocess.
- floor: NumPy's matrix products of exactly the shapes one epoch multiplies (the
  forward pass, and for training the two backward products of every layer but the
  input's gradient), in this process, with the same BLAS threads.

Epoch 1 (warm-up, graph.dot) and the last epoch are left out; each figure is the median
over the remaining epochs of every round; the contenders alternate round by round.
Peak RSS is each subprocess's own (wait4). The table goes to stdout and to --out.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

from chainer_vae import cli, files

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N_TRAIN, N_TEST, BATCH, K, N_IN, N_H = 60000, 10000, 100, 10, 784, 500


# ---- the PyTorch contender ------------------------------------------------------

def torch_vae(dimz, device):
    """The legacy model in PyTorch and its Adam: (model, optimizer); model.loss(x, k)
    gives (-ELBO, reconstruction loss) per image, as the notebook's loss function."""
    import torch
    import torch.nn.functional as F

    def linear(n_in, n_out):
        layer = torch.nn.Linear(n_in, n_out)
        torch.nn.init.xavier_uniform_(layer.weight)
        torch.nn.init.zeros_(layer.bias)
        return layer

    class VAE(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.le1, self.le2 = linear(N_IN, N_H), linear(N_H, N_H)
            self.le3_mu, self.le3_ln_var = linear(N_H, dimz), linear(N_H, dimz)
            self.ld1, self.ld2, self.ld3 = linear(dimz, N_H), linear(N_H, N_H), linear(N_H, N_IN)

        def loss(self, x, k=1):
            h = F.softplus(self.le2(F.softplus(self.le1(x))))
            mu, ln_var = self.le3_mu(h), self.le3_ln_var(h)
            rec = 0
            for _ in range(k):
                z = mu + torch.exp(0.5 * ln_var) * torch.randn_like(mu)
                logits = self.ld3(F.softplus(self.ld2(F.softplus(self.ld1(z)))))
                nll = F.binary_cross_entropy_with_logits(logits, x, reduction='sum')
                rec = rec + nll / (k * len(x))
            kl = 0.5 * torch.sum(mu * mu + torch.exp(ln_var) - ln_var - 1) / len(x)
            return rec + kl, rec

    model = VAE().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    return model, optimizer


def torch_step(model, optimizer, x):
    """One training step; the loss and the reconstruction loss as Python floats."""
    optimizer.zero_grad()
    loss, rec = model.loss(x)
    loss.backward()
    optimizer.step()
    return loss.item(), rec.item()


def torch_worker(data_dir, dimz, epochs, seed, gpu=-1):
    """The legacy loop in PyTorch, printing the legacy lines."""
    import torch
    sys.path.insert(0, REPO)
    from chainer_vae import data

    torch.manual_seed(seed)
    x_train, x_test, _, _ = data.load('mnist', data_dir)  # the same verified loader
    device = torch.device('cuda:%d' % gpu if gpu >= 0 else 'cpu')
    x_train, x_test = torch.from_numpy(x_train).to(device), torch.from_numpy(x_test).to(device)
    model, optimizer = torch_vae(dimz, device)
    for epoch in range(1, epochs + 1):
        print('epoch', epoch, flush=True)
        perm = torch.randperm(N_TRAIN, device=device)
        sum_loss = sum_rec = 0.0
        for i in range(0, N_TRAIN, BATCH):
            x = x_train[perm[i:i + BATCH]]
            loss, rec = torch_step(model, optimizer, x)
            sum_loss += loss * len(x)
            sum_rec += rec * len(x)
        print('train mean loss={}, mean reconstruction loss={}'.format(
            sum_loss / N_TRAIN, sum_rec / N_TRAIN), flush=True)
        sum_loss = sum_rec = 0.0
        with torch.no_grad():
            for i in range(0, N_TEST, BATCH):
                x = x_test[i:i + BATCH]
                loss, rec = model.loss(x, k=K)
                sum_loss += loss.item() * len(x)
                sum_rec += rec.item() * len(x)
        print('test  mean loss={}, mean reconstruction loss={}'.format(
            sum_loss / N_TEST, sum_rec / N_TEST), flush=True)


# ---- the floor ------------------------------------------------------------------

def matmul_floor(dimz, repeats=3):
    """Seconds of the matrix products of one training epoch and one evaluation, best of
    ``repeats``: float32 GEMMs of the legacy shapes, nothing else."""
    rng = np.random.RandomState(0)
    layers = [(N_IN, N_H), (N_H, N_H), (N_H, dimz), (N_H, dimz),  # (in, out): the encoder,
              (dimz, N_H), (N_H, N_H), (N_H, N_IN)]                 # the decoder
    W = [rng.standard_normal((o, i)).astype(np.float32) for i, o in layers]
    xs = {n: rng.standard_normal((BATCH, n)).astype(np.float32) for n in (N_IN, N_H, dimz)}

    def train_step():
        for j, ((n_in, n_out), w) in enumerate(zip(layers, W)):
            x = xs[n_in]
            y = x @ w.T                    # forward
            _ = y.T @ x                    # gW = gy^T x (gy has y's shape)
            if j != 0:
                _ = y @ w                  # gx = gy W (none for the input images)

    def eval_step():
        for j, ((n_in, n_out), w) in enumerate(zip(layers, W)):
            for _ in range(1 if j < 4 else K):  # the encoder once, the decoder k times
                _ = xs[n_in] @ w.T

    best = {}
    for name, step, n in (('train', train_step, N_TRAIN), ('eval', eval_step, N_TEST)):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(n // BATCH):
                step()
            times.append(time.perf_counter() - start)
        best[name] = min(times)
    return best


# ---- running and timing the contenders --------------------------------------------

def timed_run(command, epochs):
    """Run ``command``; return per-epoch (train, eval, total) seconds of epochs 2..N-1,
    from when its lines arrive, and its peak RSS in MiB."""
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=REPO, env=env)
    marks = []  # (time, kind, epoch)
    epoch = 0
    for line in proc.stdout:
        now = time.perf_counter()
        if line.startswith('epoch '):
            epoch = int(line.split()[1])
            marks.append((now, 'start', epoch))
        elif line.startswith('train mean loss'):
            marks.append((now, 'train', epoch))
        elif line.startswith('test  mean loss'):
            marks.append((now, 'test', epoch))
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        sys.exit('bench_epoch.py: %s failed (status %d)' % (' '.join(command), status))
    at = {(kind, e): t for t, kind, e in marks}
    parts = []
    for e in range(2, epochs):
        parts.append((at['train', e] - at['start', e], at['test', e] - at['train', e],
                      at['start', e + 1] - at['start', e]))
    return parts, usage.ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--data-dir', help='the four MNIST .gz files (default: the cache, '
                                      'downloaded once)')
    p.add_argument('--epoch', type=cli.bounded_int(3, 1000), default=4,
                   help='epochs per run: the first and the last are left out of the timing')
    p.add_argument('--rounds', type=int, default=2, help='alternating rounds of the contenders')
    p.add_argument('--dimz', type=int, nargs='+', default=[20, 2])
    p.add_argument('--report', help='default: results/benchmarks/cpu.md (gpu.md with --gpu)')
    p.add_argument('--worker', choices=['torch'], help=argparse.SUPPRESS)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--gpu', type=int, default=-1,
                   help='run both contenders on this GPU (no floor: it is NumPy\'s)')
    args = p.parse_args()
    if args.worker == 'torch':
        return torch_worker(args.data_dir, args.dimz[0], args.epoch, args.seed, args.gpu)
    try:
        import torch
        torch_version = torch.__version__
    except ImportError:
        torch_version = None

    data_flag = ['--data-dir', args.data_dir] if args.data_dir else []
    rows = []
    for dimz in args.dimz:
        results = {'ours': [], 'pytorch': []}
        rss = {}
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as out:
                ours = [sys.executable, 'train_vae.py', '--seed', str(args.seed), '--epoch',
                        str(args.epoch), '--dimz', str(dimz), '--gpu', str(args.gpu),
                        '-o', out] + data_flag
                parts, rss['ours'] = timed_run(ours, args.epoch)
                results['ours'] += parts
            if torch_version:
                theirs = [sys.executable, os.path.abspath(__file__), '--worker', 'torch',
                          '--epoch', str(args.epoch), '--dimz', str(dimz),
                          '--seed', str(args.seed), '--gpu', str(args.gpu)] + data_flag
                parts, rss['pytorch'] = timed_run(theirs, args.epoch)
                results['pytorch'] += parts
        floor = matmul_floor(dimz) if args.gpu < 0 else None
        med = {name: [statistics.median(p[j] for p in parts) for j in range(3)]
               for name, parts in results.items() if parts}
        rows.append((dimz, med, floor, rss))

    args.report = args.report or os.path.join(REPO, 'results', 'benchmarks',
                                        'gpu.md' if args.gpu >= 0 else 'cpu.md')
    lines = report(args, rows, torch_version)
    print('\n'.join(lines))
    os.makedirs(os.path.dirname(os.path.abspath(args.report)), exist_ok=True)
    files.write_bytes(args.report, ('\n'.join(lines) + '\n').encode())


def cpu_name():
    with open('/proc/cpuinfo') as f:
        return next((line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')), platform.processor())


def gpu_name(gpu):
    """'NAME, CuPy VERSION' of GPU ``gpu`` (as CuPy, which ours runs on, sees it)."""
    try:
        import cupy
        name = cupy.cuda.runtime.getDeviceProperties(gpu)['name']  # bytes in CuPy <= 14
        return '%s, CuPy %s' % (name.decode() if isinstance(name, bytes) else name,
                                cupy.__version__)
    except Exception as e:  # no CuPy, no driver: the run itself said why
        return 'not named: %s' % str(e).split('\n')[0]


def report(args, rows, torch_version):
    import numpy
    cpu = cpu_name()
    where = 'GPU %d (%s)' % (args.gpu, gpu_name(args.gpu)) if args.gpu >= 0 else 'a CPU'
    lines = ['# One epoch of the legacy configuration on %s' % where, '',
             'Made by `python benchmarks/bench_epoch.py %s` on %s.' % (
                 ' '.join(sys.argv[1:]), time.strftime('%Y-%m-%d')),
             '', 'Machine: %s, %d cores; Python %s, NumPy %s, PyTorch %s; BLAS threads: %s.' % (
                 cpu, os.cpu_count(), platform.python_version(), numpy.__version__,
                 torch_version or 'not installed',
                 os.environ.get('OMP_NUM_THREADS', 'default')), '',
             'Seconds per epoch (median of epochs 2..%d over %d rounds, alternating); images/s '
             'for training (60,000 images) and evaluation (10,000 images, k = 10); floor: the '
             'NumPy matrix products of the same shapes alone.' % (args.epoch - 1, args.rounds), '',
             '| dimz | contender | train s | eval s | epoch s | train img/s | eval img/s | '
             'peak RSS MiB |', '|---|---|---|---|---|---|---|---|']
    for dimz, med, floor, rss in rows:
        for name in ('ours', 'pytorch'):
            if name in med:
                tr, ev, tot = med[name]
                lines.append('| %d | %s | %.2f | %.2f | %.2f | %.0f | %.0f | %.0f |' % (
                    dimz, name, tr, ev, tot, N_TRAIN / tr, N_TEST / ev, rss[name]))
        if floor:
            lines.append('| %d | floor (matmul) | %.2f | %.2f | %.2f | | | |' % (
                dimz, floor['train'], floor['eval'], floor['train'] + floor['eval']))
    lines += ['', '| dimz | ours / PyTorch (epoch) | ours / floor (train) | ours / floor (eval) |',
              '|---|---|---|---|']
    for dimz, med, floor, rss in rows:
        ratio = ('%.2f' % (med['ours'][2] / med['pytorch'][2])) if 'pytorch' in med else 'n/a'
        lines.append('| %d | %s | %s | %s |' % (
            dimz, ratio, '%.2f' % (med['ours'][0] / floor['train']) if floor else 'n/a',
            '%.2f' % (med['ours'][1] / floor['eval']) if floor else 'n/a'))
    lines.append('')
    lines.append('Raw medians: ' + json.dumps([
        {'dimz': d, 'median_s': m, 'floor_s': f, 'peak_rss_mib': r} for d, m, f, r in rows]))
    return lines


if __name__ == '__main__':
    main()
