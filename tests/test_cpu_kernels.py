"""chainer_vae/cpu_kernels.py changes the speed, never the numbers: bitwise against chainer
(M2's softplus alone: within 5 ulp of the exact value; M2's fused kernels of fast-1,
fast-2 and fast-3: within the ulps stated of the exact value and of chainer's functions, and
chainer's gradient_check; fast-2's normals: Box-Muller's within 8 ulp, and normal)."""
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check, optimizers
from chainer.functions.activation import softplus as chainer_softplus
from chainer.functions.loss.vae import gaussian_kl_divergence

from chainer_vae import cpu_kernels, m2_net, net

from helpers import REPO, run_cli
from test_checkpoint import arrays, log_rows, run_args


@pytest.fixture
def fast():
    cpu_kernels.configure()
    yield
    cpu_kernels.configure(debug=True)  # chainer's own again for the other tests


def bits(array):
    return np.ascontiguousarray(array).view(np.int32)


def special_values(shape, seed=0):
    x = (np.random.RandomState(seed).standard_normal(shape) * 30).astype(np.float32)
    x.flat[:10] = [np.nan, -np.nan, 0.0, -0.0, np.inf, -np.inf, 1e-45, -1e-45, 88.7, -103.9]
    return x


@pytest.mark.parametrize('shape', [(100, 500), (100, 784), (7,)])
def test_softplus_is_chainers_bit_for_bit(fast, shape):
    x = special_values(shape)
    ours = F.softplus(x).array
    theirs = cpu_kernels.CHAINER_SOFTPLUS(chainer_softplus.Softplus(), (x,))[0]
    np.testing.assert_array_equal(bits(ours), bits(theirs))


@pytest.mark.filterwarnings('ignore::RuntimeWarning')  # inf and nan among the values
@pytest.mark.parametrize('shape', [(100, 500), (100, 784), (7,)])
def test_softplus_gradient_is_chainers_bit_for_bit(fast, shape):
    x, gy = special_values(shape), special_values(shape, seed=1)
    grad = chainer_softplus.SoftplusGrad((1.0,))
    ours = grad.forward_cpu((x, gy))[0]
    theirs = cpu_kernels.CHAINER_SOFTPLUS_GRAD(chainer_softplus.SoftplusGrad((1.0,)), (x, gy))[0]
    np.testing.assert_array_equal(bits(ours), bits(theirs))


def test_softplus_gradient_of_large_inputs_is_exact_and_silent(fast):
    """exp(x) overflows for x > 88: chainer's own warns (the control), ours gives the same
    exact gradient, gy, without a RuntimeWarning on the run's stderr."""
    x = np.array([88.8, 100.0, 1e4, 3e38], dtype=np.float32)
    gy = np.array([0.5, -2.0, 3.0, 1.0], dtype=np.float32)
    with pytest.warns(RuntimeWarning, match='overflow'):
        theirs = cpu_kernels.CHAINER_SOFTPLUS_GRAD(chainer_softplus.SoftplusGrad((1.0,)),
                                                   (x, gy))[0]
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        ours = chainer_softplus.SoftplusGrad((1.0,)).forward_cpu((x, gy))[0]
    np.testing.assert_array_equal(bits(ours), bits(theirs))
    np.testing.assert_array_equal(ours, gy)


@pytest.mark.filterwarnings('ignore::RuntimeWarning')
def test_softplus_with_another_beta_is_chainers(fast):
    x, gy = special_values((50,)), special_values((50,), seed=1)
    theirs = cpu_kernels.CHAINER_SOFTPLUS(chainer_softplus.Softplus(2.0), (x,))[0]
    np.testing.assert_array_equal(bits(F.softplus(x, beta=2.0).array), bits(theirs))
    ours = chainer_softplus.SoftplusGrad((2.0,)).forward_cpu((x, gy))[0]
    theirs = cpu_kernels.CHAINER_SOFTPLUS_GRAD(chainer_softplus.SoftplusGrad((2.0,)), (x, gy))[0]
    np.testing.assert_array_equal(bits(ours), bits(theirs))


def test_debug_puts_chainers_own_back():
    cpu_kernels.configure()
    assert chainer_softplus.Softplus.forward_cpu is cpu_kernels.softplus_forward_cpu
    assert chainer_softplus.SoftplusGrad.forward_cpu is cpu_kernels.softplus_grad_forward_cpu
    assert not chainer.config.type_check
    cpu_kernels.configure(debug=True)
    assert chainer_softplus.Softplus.forward_cpu is cpu_kernels.CHAINER_SOFTPLUS
    assert chainer_softplus.SoftplusGrad.forward_cpu is cpu_kernels.CHAINER_SOFTPLUS_GRAD
    assert chainer.config.type_check


def train_steps(optimizer, n_steps=4, hook=None):
    """A small softplus VAE after n Adam steps: its parameters and Adam's m and v."""
    np.random.seed(0)
    model = net.VAE(784, 5, 300, act_func=F.softplus)  # le1/W: 235,200 > one block
    optimizer.setup(model)
    if hook is not None:
        optimizer.add_hook(hook)
    for step in range(n_steps):
        x = np.random.RandomState(step).rand(20, 784).astype(np.float32)
        optimizer.update(model.get_loss_func(), chainer.Variable(x))
    found = {}
    for name, param in model.namedparams():
        found[name] = param.array
        for key, value in param.update_rule.state.items():
            found[name + '/' + key] = value
    return found


@pytest.mark.parametrize('amsgrad', [False, True])  # AMSGrad: chainer's own update
def test_adam_is_chainers_bit_for_bit(amsgrad):
    ours = train_steps(cpu_kernels.Adam(amsgrad=amsgrad))
    theirs = train_steps(optimizers.Adam(amsgrad=amsgrad))
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        np.testing.assert_array_equal(bits(ours[key]), bits(theirs[key]), err_msg=key)


@pytest.mark.parametrize('threads', [1, 3])  # and THREADS (2 on a 2-core machine) above
def test_adam_over_any_number_of_threads_is_chainers_bit_for_bit(monkeypatch, threads):
    monkeypatch.setattr(cpu_kernels, 'THREADS', threads)
    ours, theirs = train_steps(cpu_kernels.Adam()), train_steps(optimizers.Adam())
    for key in ours:
        np.testing.assert_array_equal(bits(ours[key]), bits(theirs[key]), err_msg=key)


STOPPED_AT_RANDOM = """
import os, random, signal
from chainer_vae import cpu_kernels, interrupt
import chainer, chainer.functions as F, numpy as np
interrupt.install()
signal.signal(signal.SIGALRM, lambda *_: os.kill(os.getpid(), signal.SIGINT))  # Ctrl-C
cpu_kernels.THREADS = 2
model = chainer.links.Linear(3, 2)
optimizer = cpu_kernels.Adam()
optimizer.setup(model)
x = np.ones((4, 3), np.float32)
rng, stops, pools = random.Random(0), 0, []
while stops < 200:
    signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-5, 2e-3))
    try:
        for _ in range(20):
            pools.append(cpu_kernels._pool(1))  # kept: its thread ends at exit, as Adam's
            cpu_kernels._pool.cache_clear()  # each update starts a pool's thread anew
            optimizer.update(lambda: F.sum(model(x)))
        signal.setitimer(signal.ITIMER_REAL, 0)
    except interrupt.Interrupted:
        stops += 1
print(stops)
"""


def test_adam_stopped_by_signals_at_any_moment_lets_the_process_end():
    """Ctrl-C, SIGTERM or SIGHUP (interrupt.Interrupted) while Adam's pool starts its
    thread: had the thread started unknown to the pool, the interpreter would wait on it at
    exit, forever (a train_vae.py run stopped in its first step once hung so in CI)."""
    result = subprocess.run([sys.executable, '-c', STOPPED_AT_RANDOM], capture_output=True,
                            text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0 and result.stdout.split() == ['200'], result.stderr


def test_a_post_update_hook_sees_the_updated_weights():
    """A hook after the update reads each step's new weights, as with chainer's Adam."""
    def seen_by_a_hook(optimizer):
        seen = []

        def hook(opt):
            seen.append(opt.target.le1.W.array.copy())
        hook.timing = 'post'
        final = train_steps(optimizer, n_steps=3, hook=hook)
        return seen, final['/le1/W']
    (ours, ours_final), (theirs, _) = seen_by_a_hook(cpu_kernels.Adam()), \
        seen_by_a_hook(optimizers.Adam())
    assert len(ours) == len(theirs) == 3
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(bits(a), bits(b))
    np.testing.assert_array_equal(bits(ours[-1]), bits(ours_final))


def test_a_run_with_debug_is_the_same_run(tmp_path):
    """--debug: chainer's type checks and softplus; the same numbers and weights."""
    for name, extra in (('fast', []), ('debug', ['--debug'])):
        result = run_cli(*run_args(tmp_path / name, epochs=3) + extra)
        assert result.returncode == 0, result.stderr
    assert log_rows(tmp_path / 'fast') == log_rows(tmp_path / 'debug')
    fast_model, debug_model = arrays(tmp_path / 'fast' / 'mlp_20.model'), \
        arrays(tmp_path / 'debug' / 'mlp_20.model')
    for key in fast_model:
        np.testing.assert_array_equal(bits(fast_model[key]), bits(debug_model[key]))


def test_adam_asks_no_gradient_for_the_images():
    """The same step, without multiplying the gradient back onto the 784 inputs."""
    for optimizer, images_get_a_gradient in ((optimizers.Adam(), True),
                                             (cpu_kernels.Adam(), False)):
        model = net.VAE(784, 5, 30, act_func=F.softplus)
        optimizer.setup(model)
        x = chainer.Variable(np.random.RandomState(0).rand(20, 784).astype(np.float32))
        optimizer.update(model.get_loss_func(), x)
        assert (x.grad is not None) == images_get_a_gradient
        assert model.le1.W.grad is not None


def test_m2_softplus_is_within_5_ulp_of_the_exact_with_chainers_gradient(fast):
    """M2's softplus (not chainer's bits): near the exact value wherever it is a normal
    float32, chainer's where it is not a number or infinite; its gradient chainer's."""
    x = special_values((100, 500))
    x.flat[10:20010] = np.linspace(-87, 20, 20000)  # outputs down to the smallest normal
    ours = cpu_kernels.softplus(x).array
    assert ours.dtype == np.float32
    with np.errstate(invalid='ignore'):  # inf and nan among the values
        exact = np.logaddexp(0, x.astype(np.float64))
        ulp = np.abs(ours - exact) / np.spacing(exact.astype(np.float32))
    normal = np.isfinite(exact) & (exact >= np.finfo(np.float32).tiny)
    assert ulp[normal].max() <= 5  # chainer's own: 3 (from exp and log1p)
    theirs = cpu_kernels.CHAINER_SOFTPLUS(chainer_softplus.Softplus(), (x,))[0]
    np.testing.assert_array_equal(ours[~normal], theirs[~normal])  # nan, inf, 0
    gy = special_values(x.shape, seed=1)
    grads = []
    for f in (cpu_kernels.softplus, F.softplus):
        v = chainer.Variable(x)
        y = f(v)
        y.grad = gy
        with np.errstate(invalid='ignore'):  # inf and nan among the values
            y.backward()
        grads.append(bits(v.grad))
    np.testing.assert_array_equal(*grads)


# ---- M2's fused kernels (fast-1, fast-2, fast-3) -----------------------------------------

def ulps(ours, exact):
    """|ours - exact| in units of the last place of exact rounded to float32."""
    return np.abs(ours - exact) / np.spacing(np.abs(exact).astype(np.float32))


def test_fused_softplus_and_sigmoid_are_within_5_and_4_ulp_of_the_exact():
    """softplus (as 5.) and its gradient, the sigmoid, from one pass over blocks: near the
    exact value wherever it is a normal float32 (chainer's sigmoid, 1 - 1 / (1 + exp(x)),
    loses everything below 6e-8: 0 where ours is exact), nan and inf as chainer's."""
    x = special_values((100, 500))
    x.flat[10:40010] = np.linspace(-100, 30, 40000)
    y, s = cpu_kernels.softplus_and_sigmoid(x)
    assert y.dtype == s.dtype == np.float32
    with np.errstate(invalid='ignore', over='ignore'):
        exact = np.logaddexp(0, x.astype(np.float64))
        sigmoid = 1 / (1 + np.exp(-x.astype(np.float64)))
        for ours, value, most in ((y, exact, 5), (s, sigmoid, 4)):
            normal = np.isfinite(value) & (value >= np.finfo(np.float32).tiny)
            assert ulps(ours[normal], value[normal]).max() <= most
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(x))
        theirs = 1 - 1 / (1 + np.exp(x))  # chainer's SoftplusGrad, beta = 1
    assert np.abs(s - theirs)[~np.isnan(x)].max() <= np.spacing(np.float32(1))
    np.testing.assert_array_equal(y[np.isinf(x)], [np.inf if v > 0 else 0 for v in x[np.isinf(x)]])


def test_fast_3s_softplus_and_its_gradient_from_the_output_are_within_3_and_5_ulp():
    """fast-3's softplus by log1p, and its gradient taken from the output, -expm1(-y), with
    and without a bias, in the blocks of the nodes (softplus_gradient) or beside the output
    (BernoulliNLLRows'): near the exact values wherever they are normal float32, nan and inf
    as chainer's."""
    x = special_values((100, 500))
    x.flat[10:40010] = np.linspace(-100, 30, 40000)
    bias = np.linspace(-1, 1, 500, dtype=np.float32)
    y = cpu_kernels.softplus_log1p(x)
    sigmoid = np.empty_like(x)
    with_bias = cpu_kernels.softplus_log1p(x - bias, bias, sigmoid=sigmoid)
    gy = np.random.RandomState(3).standard_normal(x.shape).astype(np.float32)
    g = cpu_kernels.softplus_gradient(y, gy)
    assert y.dtype == sigmoid.dtype == g.dtype == np.float32
    with np.errstate(invalid='ignore', over='ignore'):
        x64 = x.astype(np.float64)
        exact, slope = np.logaddexp(0, x64), 1 / (1 + np.exp(-x64))
        for ours, value, most in ((y, exact, 3), (g, gy * slope, 5.5)):
            normal = np.isfinite(value) & (np.abs(value) >= np.finfo(np.float32).tiny)
            assert ulps(ours[normal], value[normal]).max() <= most
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(x))
        exact = 1 / (1 + np.exp(-((x - bias) + bias).astype(np.float64)))
        normal = np.isfinite(exact) & (exact >= np.finfo(np.float32).tiny)
        assert ulps(sigmoid[normal], exact[normal]).max() <= 5
    np.testing.assert_array_equal(with_bias, cpu_kernels.softplus_log1p((x - bias) + bias))
    np.testing.assert_array_equal(y[np.isinf(x)], [np.inf if v > 0 else 0 for v in x[np.isinf(x)]])
    np.testing.assert_array_equal(g[np.isinf(x)], gy[np.isinf(x)] * (x[np.isinf(x)] > 0))


def test_fast_3_is_for_where_numpy_vectorises_log1p_and_expm1():
    """cpu_kernels.vectorised reads NumPy's dispatch: with NumPy's AVX-512 loops switched off
    (NPY_DISABLE_CPU_FEATURES) log1p and expm1 are its scalar baseline loops and a new M2
    run's kernels are fast-2; where they are on, fast-3."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
        from numpy.lib.introspect import opt_func_info  # noqa: F401  (NumPy >= 2)
    except ImportError:
        assert not cpu_kernels.vectorised('log1p')
        pytest.skip('NumPy 1: its dispatch is not read; a new run learns with fast-2')
    # all of them: NumPy 2.0 to 2.3 run their AVX512_SKX loops while AVX512F and AVX512CD
    # are on (2.4 names the group X86_V4)
    avx512 = [name for name, on in __cpu_features__.items()
              if on and (name.startswith('AVX512') or name == 'X86_V4')]
    code = ('from chainer_vae import cpu_kernels, m2; '
            'print(cpu_kernels.vectorised("log1p", "expm1"), cpu_kernels.vectorised("exp"), '
            'm2.new_run_kernels(-1), m2.new_run_kernels(0))')
    runs = {}
    for off in ([], avx512):  # []: this process's own features
        env = dict(os.environ, **({'NPY_DISABLE_CPU_FEATURES': ' '.join(off)} if off else {}))
        result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                                cwd=REPO, env=env, timeout=120)
        assert result.returncode == 0, result.stderr
        runs[bool(off)] = result.stdout.split()
    here = cpu_kernels.vectorised('log1p', 'expm1')
    assert runs[False] == [str(here), str(cpu_kernels.vectorised('exp')),
                           'fast-3' if here else 'fast-2', 'chainer-1']
    if not (here and avx512):
        pytest.skip('no AVX-512 here: NumPy\'s log1p and expm1 are scalar loops already')
    assert runs[True] == ['False', 'True', 'fast-2', 'chainer-1']


def tiny_rows(rng, n_l=3, n_u=4, n_y=10, width=6):
    """Inputs of the fused kernels: labels, and arrays of the rows of M2.terms."""
    labels = rng.randint(0, n_y, n_l).astype(np.int32)
    return labels, n_l + n_y * n_u, n_l + n_u


def labelled_softplus_by_chainer(hx, W, labels, n_y):
    n_l = len(labels)
    rows = F.concat((hx[:n_l], F.tile(hx[n_l:], (n_y, 1))), axis=0)
    every = np.concatenate((labels, np.repeat(np.arange(n_y, dtype=np.int32), len(hx) - n_l)))
    return F.softplus(rows + F.linear(m2_net.one_hot(every, n_y, hx.dtype), W))


LOG1P = pytest.mark.parametrize('log1p', [False, True], ids=['fast-1,2', 'fast-3'])


@LOG1P
def test_labelled_softplus_is_chainers_tile_concat_linear_and_softplus(log1p):
    """q(z|x,y)'s first layer over the enumerated labels: within 8 ulp of chainer's tile,
    concat, one-hot product and softplus (5 ulp of the softplus, 3 of chainer's); the
    gradients pass chainer's gradient_check."""
    rng = np.random.RandomState(0)
    labels, rows, images = tiny_rows(rng)
    hx, W = (rng.standard_normal(s).astype(np.float32) * 4 for s in ((images, 6), (6, 10)))
    ours = cpu_kernels.labelled_softplus(hx, W, labels, 10, log1p).array
    theirs = labelled_softplus_by_chainer(hx, W, labels, 10).array
    assert ulps(ours, theirs).max() <= 8
    hx, W = hx.astype(np.float64), W.astype(np.float64)
    gradient_check.check_backward(
        lambda hx, W: cpu_kernels.labelled_softplus(hx, W, labels, 10, log1p), (hx, W),
        rng.standard_normal((rows, 6)), dtype=np.float64)


def test_gaussian_sample_and_kl_are_chainers():
    """z bitwise F.gaussian's with the same noise; each row's KL the row sum of
    gaussian_kl_divergence within 2 ulp (the half taken after the sum); gradient_check."""
    rng = np.random.RandomState(1)
    mu, ln_var, eps = (rng.standard_normal((30, 50)).astype(np.float32) for _ in range(3))
    stats = np.concatenate((mu, ln_var), axis=1)
    z, kl = (v.array for v in cpu_kernels.gaussian_sample_kl(stats, eps))
    np.testing.assert_array_equal(z, F.gaussian(mu, ln_var, eps=eps).array)
    theirs = F.sum(gaussian_kl_divergence(mu, ln_var, reduce='no'), axis=1).array
    assert ulps(kl, theirs).max() <= 2
    gradient_check.check_backward(
        lambda stats: cpu_kernels.gaussian_sample_kl(stats, eps.astype(np.float64)),
        stats.astype(np.float64), (rng.standard_normal((30, 50)), rng.standard_normal(30)),
        dtype=np.float64)


@pytest.mark.parametrize('gaussian_x, log1p', [(False, False), (False, True), (True, False)],
                         ids=['Bernoulli', 'Bernoulli-fast-3', 'Gaussian'])
def test_nll_rows_are_chainers_row_sums(gaussian_x, log1p):
    """-log p(x|y,z) of each row with its target tiled as M2.terms does: the row sums of
    F.gaussian_nll / F.bernoulli_nll within 4 ulp a term of a row's sum of absolute terms
    (other rounding order inside a row); gradient_check."""
    rng = np.random.RandomState(2)
    labels, rows, images = tiny_rows(rng)
    n_l, width = len(labels), 784 if not gaussian_x else 13
    x = (rng.standard_normal((images, width)) if gaussian_x
         else rng.random_sample((images, width)) < 0.2).astype(np.float32)
    params = [rng.standard_normal((rows, width)).astype(np.float32) * 3
              for _ in range(1 + gaussian_x)]
    targets = np.concatenate((x[:n_l], np.tile(x[n_l:], (10, 1))))
    side_by_side = np.concatenate(params, axis=1)
    ours = cpu_kernels.nll_rows(x[:n_l], x[n_l:], 10, side_by_side, gaussian_x, log1p).array
    terms = (F.gaussian_nll(targets, *params, reduce='no') if gaussian_x
             else F.bernoulli_nll(targets, *params, reduce='no')).array
    scale = np.abs(terms).sum(axis=1)
    assert (np.abs(ours - terms.sum(axis=1)) / np.spacing(scale)).max() <= 4 * width
    x64 = x.astype(np.float64)
    gradient_check.check_backward(
        lambda p: cpu_kernels.nll_rows(x64[:n_l], x64[n_l:], 10, p, gaussian_x, log1p),
        side_by_side.astype(np.float64), rng.standard_normal(rows), dtype=np.float64)


def test_linear_heads_are_chainers_linear_side_by_side():
    """Two Linear links on the same x from one product: their F.linear outputs side by
    side within 2 ulp of a row's sum of absolute products; gradient_check."""
    rng = np.random.RandomState(4)
    x = rng.standard_normal((40, 7)).astype(np.float32)
    links = [chainer.links.Linear(7, n) for n in (5, 3)]
    for link in links:
        link.b.array[...] = rng.standard_normal(link.b.shape)
    ours = cpu_kernels.linear_heads(x, *links).array
    theirs = np.concatenate([link(x).array for link in links], axis=1)
    scale = np.abs(x).dot(np.abs(np.concatenate([link.W.array for link in links])).T)
    assert (np.abs(ours - theirs) / np.spacing(scale + 1)).max() <= 2 * 7
    params = [a for link in links for a in (link.W.array, link.b.array)]
    gradient_check.check_backward(
        lambda *inputs: cpu_kernels.LinearHeads().apply(inputs)[0],
        [a.astype(np.float64) for a in [x] + params], rng.standard_normal((40, 8)),
        dtype=np.float64)


@LOG1P
def test_linear_softplus_is_chainers_linear_and_softplus(log1p):
    """softplus(x W^T + b) in one node: within 8 ulp of chainer's F.linear and softplus
    (5 ulp of the softplus, 3 of chainer's); gradient_check."""
    rng = np.random.RandomState(3)
    x, W, b = (rng.standard_normal(s).astype(np.float32) * 2 for s in ((40, 7), (9, 7), (9,)))
    link = chainer.links.Linear(7, 9)
    link.W.array[...], link.b.array[...] = W, b
    ours = cpu_kernels.linear_softplus(x, link, log1p).array
    assert ulps(ours, F.softplus(F.linear(x, W, b)).array).max() <= 8
    gradient_check.check_backward(
        lambda x, W, b: cpu_kernels.LinearSoftplus(log1p).apply((x, W, b))[0],
        [a.astype(np.float64) for a in (x, W, b)], rng.standard_normal((40, 9)),
        dtype=np.float64)


@pytest.mark.parametrize('sums_by_label, log1p', [(False, False), (True, False), (True, True)],
                         ids=['fast-1', 'fast-2', 'fast-3'])
def test_labelled_linear_softplus_is_chainers_concat_linear_and_softplus(sums_by_label, log1p):
    """p(x|y,z)'s first layer with the labels' columns as a table, on M2.terms' rows (4
    labelled, then 4 unlabelled with each label): chainer's F.concat((z, one-hot y)),
    F.linear and softplus within 8 ulp, and the softplus's slope times 3 ulp of the sum of
    the absolute terms of each input (another order of the sum); gradient_check, the label
    columns' gradient by sums of rows (fast-2, fast-3: the bias's too) or a product with
    one-hot labels (fast-1)."""
    rng = np.random.RandomState(5)
    labelled = rng.randint(0, 10, 4)
    labels = np.concatenate((labelled, np.repeat(np.arange(10), 4)))
    z, W, b = (rng.standard_normal(s).astype(np.float32) * 2 for s in ((44, 4), (9, 14), (9,)))
    link = chainer.links.Linear(14, 9)
    link.W.array[...], link.b.array[...] = W, b
    ours = cpu_kernels.labelled_linear_softplus(z, labelled, 10, link, sums_by_label,
                                                log1p).array
    zy = F.concat((z, m2_net.one_hot(labels, 10))).array
    theirs = F.softplus(F.linear(zy, W, b)).array
    terms = np.abs(zy).dot(np.abs(W).T) + np.abs(b)
    slope = 1 / (1 + np.exp(-F.linear(zy, W, b).array))
    assert (np.abs(ours - theirs) <= 8 * np.spacing(theirs) + 3 * slope * np.spacing(terms)).all()
    gradient_check.check_backward(
        lambda z, W, b: cpu_kernels.LabelledLinearSoftplus(
            labelled, 10, sums_by_label, log1p).apply((z, W, b))[0],
        [a.astype(np.float64) for a in (z, W, b)], rng.standard_normal((44, 9)),
        dtype=np.float64)


def test_box_mullers_normals_are_the_transform_of_the_generators_uniforms():
    """fast-2's noise: of the generator's float32 uniforms u, v, sqrt(-2 log(1 - u)) times
    cos(2 pi v), then the sines, each within 8 ulp of the exact value (of the radius, or of
    1 where it is smaller: the angle's rounding); float64 as asked; an odd count."""
    n = 200001
    z = cpu_kernels.box_muller(np.random.default_rng(7), (n,))
    u, v = np.random.default_rng(7).random((2, (n + 1) // 2), dtype=np.float32)
    radius = np.sqrt(-2 * np.log1p(-u.astype(np.float64)))
    angle = 2 * np.pi * v.astype(np.float64)
    exact = np.concatenate((radius * np.cos(angle), radius * np.sin(angle)))[:n]
    scale = np.maximum(np.concatenate((radius, radius))[:n], 1).astype(np.float32)
    assert z.dtype == np.float32
    assert (np.abs(z - exact) <= 8 * np.spacing(scale)).all()
    assert cpu_kernels.box_muller(np.random.default_rng(7), (3, 5), np.float64).dtype == np.float64


def test_box_mullers_normals_are_standard_normal():
    """Mean, variance and Kolmogorov-Smirnov of 400,000 draws against N(0, 1), and the
    cosines' and sines' halves uncorrelated."""
    from scipy import stats
    z = cpu_kernels.box_muller(np.random.default_rng(11), (4000, 100)).astype(np.float64)
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.var() - 1) < 5 * np.sqrt(2 / z.size)
    assert stats.kstest(z.ravel(), 'norm').pvalue > 1e-3
    cosines, sines = z.reshape(2, -1)
    assert abs(np.corrcoef(cosines, sines)[0, 1]) < 5 / np.sqrt(len(cosines))


def test_m2s_objective_in_one_node_is_chainers_functions():
    """fast-2's M2Objective: the objective and its three sums as M2.loss takes them with
    chainer's functions (log_softmax, softmax_cross_entropy, sums) within 4 ulp of their
    magnitudes, and chainer's gradient_check of all four outputs."""
    rng = np.random.RandomState(8)
    n_l, n_u, n_y, beta = 3, 5, 10, 7.0
    labels = rng.randint(0, n_y, n_l)
    neg_l = (rng.standard_normal(n_l + n_y * n_u) * 3 + 20).astype(np.float32)
    logits = (rng.standard_normal((n_l + n_u, n_y)) * 2).astype(np.float32)
    ours = [float(v.array) for v in cpu_kernels.m2_objective(neg_l, logits, labels, n_y, beta)]
    log_q = F.log_softmax(logits[n_l:])
    neg_u = F.sum(F.exp(log_q) * (F.transpose(F.reshape(neg_l[n_l:], (n_y, n_u))) + log_q),
                  axis=1)
    sums = [F.sum(neg_l[:n_l]), F.sum(neg_u),
            F.sum(F.softmax_cross_entropy(logits[:n_l], labels, reduce='no'))]
    total = (sums[0] + beta * sums[2] + sums[1]) / (n_l + n_u)
    for got, want in zip(ours, [float(v.array) for v in [total] + sums]):
        assert abs(got - want) <= 4 * np.spacing(np.float32(max(abs(want), 1)))
    gradient_check.check_backward(
        lambda neg_l, logits: cpu_kernels.M2Objective(labels, n_y, beta).apply((neg_l, logits)),
        (neg_l.astype(np.float64), logits.astype(np.float64)),
        tuple(rng.standard_normal(()) for _ in range(4)), dtype=np.float64)
