"""The evaluation beyond the ELBO: importance-weighted log-likelihood, KL per dimension,
active units; against direct NumPy computations on a tiny model."""
import json
import math
import subprocess
import sys
import time

import numpy as np
import pytest

import chainer
import chainer.functions as F

from chainer_vae import data, evaluate, net, cpu_kernels

from helpers import REPO, run_cli, run_module, trained_run


@pytest.fixture(scope='module')
def tiny():
    """A 784-32-32-3 softplus VAE after 200 Adam steps on the sample, and 40 test images."""
    x_train, x_test, _, _ = data.load('sample')
    rng = np.random.RandomState(0)
    np.random.seed(0)
    model = net.VAE(784, 3, 32, act_func=F.softplus)
    optimizer = cpu_kernels.Adam()
    optimizer.setup(model)
    for _ in range(200):
        optimizer.update(model.get_loss_func(), chainer.Variable(x_train[rng.choice(4000, 50)]))
    return model, x_test[:40]


def softplus(a):
    return np.logaddexp(0, a)


def numpy_encoder(model, x):
    p = {name: (link.W.array.astype(np.float64), link.b.array.astype(np.float64))
         for name, link in model.namedlinks(skipself=True)}
    affine = {name: (lambda h, W=W, b=b: h @ W.T + b) for name, (W, b) in p.items()}
    h = softplus(affine['/le2'](softplus(affine['/le1'](x.astype(np.float64)))))
    return affine['/le3_mu'](h), affine['/le3_ln_var'](h), affine


def numpy_log_likelihood(model, x, k, seed):
    """log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x) for each image, all in float64."""
    rng = np.random.RandomState(seed)
    mu, ln_var, affine = numpy_encoder(model, x)
    out = []
    for n in range(len(x)):
        eps = rng.standard_normal((k, mu.shape[1]))
        z = mu[n] + np.exp(0.5 * ln_var[n]) * eps
        y = affine['/ld3'](softplus(affine['/ld2'](softplus(affine['/ld1'](z)))))
        log_px = (x[n] * y - softplus(y)).sum(1)
        log_pz = -0.5 * (z ** 2).sum(1) - 0.5 * z.shape[1] * math.log(2 * math.pi)
        log_qz = (-0.5 * (eps ** 2).sum(1) - 0.5 * ln_var[n].sum()
                  - 0.5 * z.shape[1] * math.log(2 * math.pi))
        lw = log_px + log_pz - log_qz
        out.append(lw.max() + math.log(np.exp(lw - lw.max()).mean()))
    return np.array(out)


def test_the_estimate_is_a_direct_numpy_computation(tiny):
    model, x = tiny
    ours = evaluate.iw_log_likelihood(model, x, [1, 50], np.random.RandomState(5), rows=64)
    # the model's float32 decoder against float64 throughout
    np.testing.assert_allclose(ours[50], numpy_log_likelihood(model, x, 50, seed=5), atol=2e-3)
    # k = 1 is the first of the same 50 samples alone: log w_1
    eps = np.random.RandomState(5).standard_normal((len(x), 50, 3))[:, :1]
    np.testing.assert_allclose(ours[1], evaluate.log_weights(model, x, eps)[:, 0], atol=1e-9)


def test_batching_does_not_change_the_estimate(tiny):
    model, x = tiny
    ks = [1, 10, 300]
    wide = evaluate.iw_log_likelihood(model, x, ks, np.random.RandomState(1), rows=100000)
    narrow = evaluate.iw_log_likelihood(model, x, ks, np.random.RandomState(1), rows=7)
    for k in ks:
        np.testing.assert_allclose(wide[k], narrow[k], atol=1e-9)


def test_the_estimate_bounds_the_elbo_and_grows_with_k(tiny):
    model, x = tiny
    ks = [1, 10, 100, 1000]
    estimates = evaluate.iw_log_likelihood(model, x, ks, np.random.RandomState(2))
    means = [estimates[k].mean() for k in ks]
    np.random.seed(3)
    elbo = -evaluate.neg_elbo(model, x, k=10)
    noise = 3 * estimates[1].std() / math.sqrt(len(x))  # of the one-sample mean
    assert means[0] == pytest.approx(elbo, abs=noise)  # k = 1 is an ELBO estimate
    assert means[-1] >= elbo - noise / 10  # far above it: noise of the k = 1000 mean
    for smaller, larger in zip(means, means[1:]):
        assert larger >= smaller - noise / 10
    # per image too, never below its own ELBO (analytic KL, 10 samples) beyond noise
    np.random.seed(3)
    per_image = np.array([-evaluate.neg_elbo(model, x[i:i + 1], k=10) for i in range(len(x))])
    assert (estimates[1000] >= per_image - 1.0).all()


def test_active_units_and_kl_per_dimension_are_numpy_computations(tiny):
    model, x = tiny
    model = model.copy(mode='copy')
    model.le3_mu.W.array[1] = 0  # dimension 1 can no longer carry anything
    model.le3_mu.b.array[1] = 0.3
    kl, activity = evaluate.latent_statistics(model, x, batchsize=7)
    mu, ln_var, _ = numpy_encoder(model, x)
    np.testing.assert_allclose(activity, mu.var(axis=0), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(
        kl, (0.5 * (mu ** 2 + np.exp(ln_var) - ln_var - 1)).mean(axis=0), rtol=1e-5)
    assert activity[1] == 0
    result = evaluate.evaluate(model, x, ks=(1, 10))
    assert result['active_units'] == int((mu.var(axis=0) > 0.01).sum())
    assert result['active_units'] < 3


def test_the_command_writes_evaluation_json(tmp_path):
    run = trained_run(tmp_path / 'run', '--test', '-e', '2', '-z', '3', '--n-hidden', '32')
    done = run_module('evaluate', run, '--k', '1', '20', '--n-test', '30')
    assert done.returncode == 0, done.stderr
    written = json.loads((run / 'evaluation.json').read_text())
    assert written['n_images'] == 30 and not written['binarized']
    assert set(written['neg_log_likelihood']) == {'1', '20'}
    assert written['neg_log_likelihood']['20'] <= written['neg_log_likelihood']['1']
    assert 'active units' in done.stdout and 'not binarised' in done.stdout


def test_a_folder_that_is_no_run_is_one_line(tmp_path):
    done = run_module('evaluate', tmp_path)
    assert done.returncode == 1 and done.stderr.startswith('evaluate: error: ')
    assert len(done.stderr.strip().splitlines()) == 1 and 'has no config.json' in done.stderr


# evaluate, stopped once it has read the run's model until the file RELEASE appears
PAUSED_AFTER_LOADING = '''
import os, sys, time, runpy
from chainer_vae import checkpoint
load_run = checkpoint.load_run
def paused(run_dir):
    found = load_run(run_dir)
    open(%(loaded)r, 'w').close()
    while not os.path.exists(%(release)r):
        time.sleep(0.05)
    return found
checkpoint.load_run = paused
sys.argv[0] = 'evaluate'
runpy.run_module('chainer_vae.evaluate', run_name='__main__')
'''


def test_a_run_replaced_while_it_is_evaluated_is_refused(tmp_path):
    """issue 21: evaluate read the old model, train_vae.py --force replaced the run, and the
    old model's evaluation.json landed in the new run; the folder is locked from the read on."""
    run = trained_run(tmp_path / 'run', '--test', '-e', '1', '-z', '3', '--n-hidden', '32')
    loaded, release = tmp_path / 'loaded', tmp_path / 'release'
    prelude = PAUSED_AFTER_LOADING % {'loaded': str(loaded), 'release': str(release)}
    evaluating = subprocess.Popen([sys.executable, '-c', prelude, str(run), '--k', '1', '5'],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                  cwd=REPO)
    try:
        deadline = time.time() + 300
        while not loaded.exists() and evaluating.poll() is None and time.time() < deadline:
            time.sleep(0.05)
        assert loaded.exists(), evaluating.stderr.read() if evaluating.poll() is not None else ''
        before = (run / 'mlp_3.model').read_bytes()
        replaced = run_cli('--dataset', 'sample', '--test', '-e', '1', '-z', '3', '--n-hidden',
                           '32', '--seed', '1', '-o', run, '--force')
        assert replaced.returncode == 1 and 'in use by another process' in replaced.stderr
        assert (run / 'mlp_3.model').read_bytes() == before
    finally:
        release.touch()
        _, err = evaluating.communicate(timeout=300)
    assert evaluating.returncode == 0, err
