#!/usr/bin/env python
"""Milliseconds of an M2 training step, this project's (chainer_vae/m2_net.py and
m2_train.py) against a PyTorch twin of the same math, in one run:

    python benchmarks/bench_m2.py [--rounds 8] [--steps 20] [--threads 1 2]
                                  [--report results/benchmarks/m2.md]

- The two cases of Kingma's Table 1 that cost the most: M1+M2 at N = 100 (a step of 1
  labelled + 499 unlabelled codes of M1, n_x = 13 Gaussian values, H = 300, z of 50) and
  M2 on the pixels at N = 3000 (15 + 235 binarised 784-pixel images, Bernoulli, H = 500).
  The images are random (a step costs the same whatever their values).
- Ours: m2_net.M2 (Kingma's first weights, seed 0) with each set of kernels it has
  (config.KERNELS), m2_train.optimizer_for's Adam, and the step as m2_train.train_epoch
  does it (the loss and its terms read back to the host).
- The twin (``torch_m2`` below): the same layers, loss and optimizer in PyTorch, its
  weights copied from ours. Before any timing, both losses on the same weights and the
  same noise of z are printed with their relative difference.
- Threads: each thread count runs in its own subprocess whose environment sets
  OPENBLAS_NUM_THREADS, OMP_NUM_THREADS and MKL_NUM_THREADS; inside it, ours runs Adam's
  blocks on as many threads (cpu_kernels.THREADS) and the twin calls
  torch.set_num_threads.
- Timing: the contenders alternate round by round; each round is one untimed step, then
  ``--steps`` timed steps; each figure is the median of the rounds' ms a step (the
  fastest round beside it).
"""
import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, 'benchmarks'))
import chainer_vae  # noqa: E402,F401  (revives chainer before it is imported)
import chainer  # noqa: E402

from chainer_vae import config, cpu_kernels, files, m2_net, m2_train, paper  # noqa: E402

import bench_step  # noqa: E402  (its alternating rounds)

N_TRAIN = paper.KINGMA['n_train']
CASES = {  # name: (what, labels N, n_x, Gaussian x, H, labelled, unlabelled a step)
    'm1m2_n100': ('M1+M2, N = 100', 100, 13, True, 300, 1, 499),
    'm2_n3000': ('M2 on the pixels, N = 3000', 3000, 784, False, 500, 15, 235),
}


# ---- the contenders -------------------------------------------------------------------

def case_data(case, seed=0):
    """x_l, y_l, x_u of one step of ``case``: M1's codes drawn from N(0, 1), or pixels 0/1
    (about MNIST's share of ink)."""
    _, _, n_x, gaussian_x, _, n_l, n_u = CASES[case]
    rng = np.random.RandomState(seed)
    if gaussian_x:
        x = rng.standard_normal((n_l + n_u, n_x)).astype(np.float32)
    else:
        x = (rng.rand(n_l + n_u, n_x) < 0.13).astype(np.float32)
    y = rng.randint(0, 10, n_l).astype(np.int32)
    return x[:n_l], y, x[n_l:]


def ours(case, kernels):
    """(model, optimizer) of ours for ``case``: Kingma's first weights, seed 0."""
    _, _, n_x, gaussian_x, n_h, _, _ = CASES[case]
    np.random.seed(0)
    model = m2_net.M2(n_x, n_h, paper.KINGMA['dimz'], gaussian_x=gaussian_x,
                      **({'kernels': kernels} if kernels else {}))
    return model, m2_train.optimizer_for(model, N_TRAIN)


def our_step(model, optimizer, x_l, y_l, x_u, beta):
    """m2_train.train_epoch's step: the update, the loss and its terms read back."""
    optimizer.update(model.loss, x_l, y_l, x_u, beta)
    return [float(model.total.array)] + [float(s.array) for s in model.sums]


def torch_m2(model):
    """The twin of ``model`` (an m2_net.M2) in PyTorch, its weights copied from it, and its
    Adam (m2_train.optimizer_for's: the same rate, moments, eps and weight decay on the
    same parameters): (twin, optimizer). ``twin.loss(x_l, y_l, x_u, beta, eps)`` is
    M2.loss with the noise of z ``eps`` (one row per labelled image, then per unlabelled
    image and label, label-major)."""
    import torch
    import torch.nn.functional as F

    class Twin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.n_y, self.gaussian_x = model.n_y, model.gaussian_x
            for name, link in model.namedlinks(skipself=True):
                W = link.W.array
                layer = torch.nn.Linear(W.shape[1], W.shape[0], bias=link.b is not None)
                with torch.no_grad():
                    layer.weight.copy_(torch.from_numpy(W))
                    if link.b is not None:
                        layer.bias.copy_(torch.from_numpy(link.b.array))
                setattr(self, name.lstrip('/'), layer)

        def loss(self, x_l, y_l, x_u, beta, eps=None):
            n_l, n_u, n_y = len(x_l), len(x_u), self.n_y
            x = torch.cat((x_l, x_u))
            hx = self.qz_x(x)
            rows = torch.cat((hx[:n_l], hx[n_l:].repeat(n_y, 1)))  # label-major
            labels = torch.cat((y_l, torch.arange(n_y).repeat_interleave(n_u)))
            y = F.one_hot(labels, n_y).float()
            h = F.softplus(rows + self.qz_y(y))
            mu, ln_var = self.qz_mu(h), self.qz_ln_var(h)
            eps = torch.randn_like(mu) if eps is None else eps
            z = mu + torch.exp(0.5 * ln_var) * eps
            h = F.softplus(self.px_h(torch.cat((z, y), 1)))
            xs = torch.cat((x_l, x_u.repeat(n_y, 1)))
            mean = self.px_mu(h)
            if self.gaussian_x:
                ln_var_x = self.px_ln_var(h)
                rec = 0.5 * (math.log(2 * math.pi) + ln_var_x
                             + (xs - mean) ** 2 * torch.exp(-ln_var_x))
            else:
                rec = F.binary_cross_entropy_with_logits(mean, xs, reduction='none')
            kl = 0.5 * (mu * mu + torch.exp(ln_var) - ln_var - 1)
            neg_l = rec.sum(1) + kl.sum(1) + math.log(n_y)
            logits = self.qy_logits(F.softplus(self.qy_h(x)))
            log_q = F.log_softmax(logits[n_l:], 1)
            neg_l_u = neg_l[n_l:].reshape(n_y, n_u).t()
            neg_u = (torch.exp(log_q) * (neg_l_u + log_q)).sum(1)
            classification = F.cross_entropy(logits[:n_l], y_l.long(), reduction='sum')
            self.sums = (neg_l[:n_l].sum(), neg_u.sum(), classification)
            return (self.sums[0] + beta * classification + self.sums[1]) / (n_l + n_u)

    twin = Twin()
    decayed = [p for name, p in twin.named_parameters()
               if name.endswith('.weight') or name.startswith('qy_')]
    others = [p for name, p in twin.named_parameters()
              if not (name.endswith('.weight') or name.startswith('qy_'))]
    optimizer = torch.optim.Adam(
        [{'params': decayed, 'weight_decay': 1.0 / N_TRAIN}, {'params': others}],
        lr=paper.ADAM['alpha'], betas=(paper.ADAM['beta1'], paper.ADAM['beta2']), eps=1e-8)
    return twin, optimizer


def twin_step(twin, optimizer, x_l, y_l, x_u, beta):
    optimizer.zero_grad()
    loss = twin.loss(x_l, y_l, x_u, beta)
    loss.backward()
    optimizer.step()
    return [loss.item()] + [s.item() for s in twin.sums]


def loss_and_noise(model, x_l, y_l, x_u, beta):
    """ours' loss and the noise of z it drew: its generator wound back and the draw
    repeated (the loss draws nothing else)."""
    shape = (len(x_l) + model.n_y * len(x_u), model.qz_mu.W.shape[0])
    generator = getattr(model, 'generator', None)
    before = np.random.get_state() if generator is None else generator.bit_generator.state
    with chainer.no_backprop_mode():
        loss = float(model.loss(x_l, y_l, x_u, beta).array)
    if generator is None:  # chainer's F.gaussian: NumPy's global generator, float64 cast
        np.random.set_state(before)
        return loss, np.random.standard_normal(shape).astype(np.float32)
    generator.bit_generator.state = before
    return loss, model.noise(shape, np.float32)


# ---- one thread count: a worker subprocess --------------------------------------------

def worker(case, threads, rounds, steps):
    """The losses of ours and the twin on the same weights and noise, then the ms of a
    step of each, alternating; a JSON line."""
    import torch
    torch.set_num_threads(threads)
    cpu_kernels.THREADS = threads
    cpu_kernels.configure()
    _, labels, *_ = CASES[case]
    beta = paper.ALPHA * N_TRAIN / labels
    x_l, y_l, x_u = case_data(case)
    tx_l, ty_l, tx_u = (torch.from_numpy(a) for a in (x_l, y_l.astype(np.int64), x_u))
    torch.manual_seed(0)
    contenders, losses = {}, {}
    for kernels in getattr(config, 'KERNELS', (None,)):
        model, optimizer = ours(case, kernels)  # the same first weights for each kernels
        if 'twin' not in contenders:
            twin, twin_optimizer = torch_m2(model)
            contenders['twin'] = lambda: twin_step(twin, twin_optimizer, tx_l, ty_l, tx_u, beta)
        ours_loss, eps = loss_and_noise(model, x_l, y_l, x_u, beta)
        with torch.no_grad():
            twin_loss = float(twin.loss(tx_l, ty_l, tx_u, beta, torch.from_numpy(eps)))
        name = 'ours' if kernels is None else 'ours %s' % kernels
        losses[name] = {'ours': ours_loss, 'twin': twin_loss,
                        'relative_difference': abs(ours_loss - twin_loss) / abs(twin_loss)}
        contenders[name] = lambda m=model, o=optimizer: our_step(m, o, x_l, y_l, x_u, beta)
    times = bench_step.alternating(contenders, rounds, steps)
    print(json.dumps({'losses': losses, 'times': times}))



# ---- the run: a subprocess a case and thread count, the report ---------------------------

def run_worker(case, threads, rounds, steps):
    env = dict(os.environ, **{name: str(threads) for name in (
        'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')})
    result = subprocess.run([sys.executable, os.path.abspath(__file__), '--worker', case,
                             '--threads', str(threads), '--rounds', str(rounds),
                             '--steps', str(steps)],
                            capture_output=True, text=True, env=env, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def cpu_name():
    with open('/proc/cpuinfo') as f:
        return next((line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')), platform.processor())


def report(args, results, load):
    import torch
    lines = ['# An M2 training step: ours against a PyTorch twin', '',
             'Made by `%s` on %s.' % (' '.join(['python benchmarks/bench_m2.py'] + sys.argv[1:]),
                                      time.strftime('%Y-%m-%d')), '',
             'Machine: %s, %d cores, load average %.2f at the start and %.2f at the end (other '
             'jobs inflate the absolute times; the ratios within one run are what count); '
             'Python %s, NumPy %s, Chainer %s, PyTorch %s.'
             % (cpu_name(), os.cpu_count(), load, os.getloadavg()[0], sys.version.split()[0],
                np.__version__, chainer.__version__, torch.__version__), '',
             'Each thread count runs in its own subprocess (OPENBLAS_NUM_THREADS, '
             'OMP_NUM_THREADS, MKL_NUM_THREADS; ours: Adam\'s blocks on as many threads, the '
             'twin: torch.set_num_threads); the contenders alternate round by round, %d rounds '
             'of %d steps; ms a step, median of the rounds (fastest round).'
             % (args.rounds, args.steps), '',
             '| case | threads | contender | ms a step | ours / twin |', '|---|---|---|---|---|']
    for (case, threads), result in results.items():
        twin = statistics.median(result['times']['twin'])
        for name, times in result['times'].items():
            ratio = '' if name == 'twin' else '**%.2f** (%.2f)' % (
                statistics.median(times) / twin, min(times) / min(result['times']['twin']))
            lines.append('| %s | %d | %s | %.1f (%.1f) | %s |' % (
                CASES[case][0], threads, name, statistics.median(times), min(times), ratio))
    lines += ['', 'The losses on the same weights (ours copied into the twin) and the same '
              'noise of z, before any step (1 thread):', '',
              '| case | contender | ours | twin | relative difference |', '|---|---|---|---|---|']
    for (case, threads), result in results.items():
        if threads == min(args.threads):
            for name, loss in result['losses'].items():
                lines.append('| %s | %s | %.7g | %.7g | %.1e |' % (
                    CASES[case][0], name, loss['ours'], loss['twin'],
                    loss['relative_difference']))
    return lines


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--rounds', type=int, default=8)
    p.add_argument('--steps', type=int, default=20)
    p.add_argument('--threads', type=int, nargs='+', default=[1, 2])
    p.add_argument('--cases', nargs='+', choices=CASES, default=list(CASES))
    p.add_argument('--report', default=os.path.join(REPO, 'results', 'benchmarks', 'm2.md'))
    p.add_argument('--worker', choices=CASES, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args.worker, args.threads[0], args.rounds, args.steps)
    load = os.getloadavg()[0]
    results = {}
    for case in args.cases:
        for threads in args.threads:
            results[case, threads] = run_worker(case, threads, args.rounds, args.steps)
            print(case, threads, json.dumps(results[case, threads]['losses']), flush=True)
    lines = report(args, results, load)
    print('\n'.join(lines))
    files.write_bytes(args.report, ('\n'.join(lines) + '\n').encode())


if __name__ == '__main__':
    main()
