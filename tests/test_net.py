"""The slides' VAE: its math against NumPy closed forms, gradients, names, save/load."""
import numpy as np
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check, optimizers

from chainer_vae import checkpoint, net


def small_batch(seed=0, n=8, n_in=12):
    return np.random.RandomState(seed).rand(n, n_in).astype(np.float32)


def numpy_encode(model, x, act=np.tanh):
    lin = lambda link, h: h @ link.W.array.T + link.b.array  # noqa: E731
    h = act(lin(model.le2, act(lin(model.le1, x))))
    return lin(model.le3_mu, h), lin(model.le3_ln_var, h), lin


@pytest.mark.parametrize('k', [1, 3])
def test_losses_equal_the_slides_closed_forms(k):
    np.random.seed(1)
    model = net.VAE(12, 3, 7)  # class default act_func=F.tanh, as in the slides
    x = small_batch()
    np.random.seed(5)
    loss = model.get_loss_func(C=0.7, k=k)(chainer.Variable(x))

    mu, ln_var, lin = numpy_encode(model, x.astype(np.float64))
    np.random.seed(5)  # F.gaussian draws eps ~ N(0, I) from NumPy's global generator
    rec = 0.0
    for _ in range(k):
        z = mu + np.exp(0.5 * ln_var) * np.random.standard_normal(mu.shape).astype(np.float32)
        logits = lin(model.ld3, np.tanh(lin(model.ld2, np.tanh(lin(model.ld1, z)))))
        p = 1 / (1 + np.exp(-logits))
        rec += -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))  # Bernoulli log-likelihood
    rec /= k * len(x)
    kl = 0.5 * np.sum(mu ** 2 + np.exp(ln_var) - ln_var - 1) / len(x)

    np.testing.assert_allclose(float(model.rec_loss.array), rec, rtol=1e-5)
    np.testing.assert_allclose(float(model.latent_loss.array), 0.7 * kl, rtol=1e-5)
    np.testing.assert_allclose(float(loss.array), rec + 0.7 * kl, rtol=1e-5)
    assert model.loss is loss


@pytest.mark.parametrize('act', [F.tanh, F.softplus])
def test_gradients_pass_gradient_check(act):
    np.random.seed(2)
    model = net.VAE(6, 2, 4, act_func=act)
    for p in model.params():  # float64 so that the numerical gradient is exact enough
        p.array = p.array.astype(np.float64)
    x = small_batch(n=3, n_in=6).astype(np.float64)
    lf = model.get_loss_func(k=2)

    def loss(x):
        np.random.seed(7)  # the same eps at every evaluation
        return lf(x)

    params = [link.W for link in model.children()] + [link.b for link in model.children()]
    gradient_check.check_backward(loss, x, None, params=params,
                                  atol=1e-4, rtol=1e-4)


def test_xavier_uniform_bounds_and_shapes():
    np.random.seed(3)
    model = net.VAE(784, 20, 500)
    for name, (fan_in, fan_out) in {'le1': (784, 500), 'le2': (500, 500), 'le3_mu': (500, 20),
                                    'le3_ln_var': (500, 20), 'ld1': (20, 500),
                                    'ld2': (500, 500), 'ld3': (500, 784)}.items():
        link = getattr(model, name)
        a = np.sqrt(6.0 / (fan_in + fan_out))
        assert link.W.shape == (fan_out, fan_in) and link.W.dtype == np.float32
        assert np.abs(link.W.array).max() <= a
        np.testing.assert_allclose(link.W.array.std(), a / np.sqrt(3), rtol=0.05)  # U(-a, a)
        assert not link.b.array.any()


def test_node_names_and_call():
    np.random.seed(4)
    model = net.VAE(12, 3, 7)
    x = small_batch()
    mu, ln_var = model.encode(x)
    assert (mu.name, ln_var.name) == ('z_mu', 'z_ln_var')
    y = model(x)
    assert y.name is None and 0 < y.array.min() and y.array.max() < 1  # sigmoid output
    logits = model.decode(mu, sigmoid=False)
    assert logits.name == 'dec_h3'
    np.testing.assert_allclose(y.array, F.sigmoid(logits).array, rtol=1e-6)
    model.get_loss_func()(chainer.Variable(x))
    assert (model.rec_loss.name, model.latent_loss.name, model.loss.name) == (
        'reconstruction error', 'latent loss', 'loss')


def test_save_then_load_restores_identical_outputs(tmp_path):
    np.random.seed(5)
    model = net.VAE(12, 3, 7, act_func=F.softplus)
    opt = optimizers.Adam()
    opt.setup(model)
    x = small_batch()
    for _ in range(3):
        opt.update(model.get_loss_func(), chainer.Variable(x))
    checkpoint.save_npz(str(tmp_path / 'm.model'), model)
    checkpoint.save_npz(str(tmp_path / 'm.state'), opt)

    np.random.seed(6)
    other = net.VAE(12, 3, 7, act_func=F.softplus)
    other_opt = optimizers.Adam()
    other_opt.setup(other)
    assert not np.array_equal(other(x).array, model(x).array)
    checkpoint.load_npz(str(tmp_path / 'm.model'), other)
    checkpoint.load_npz(str(tmp_path / 'm.state'), other_opt)
    np.testing.assert_array_equal(other(x).array, model(x).array)
    for a, b in zip(model.encode(x), other.encode(x)):
        np.testing.assert_array_equal(a.array, b.array)
    assert other_opt.t == opt.t == 3
    np.testing.assert_array_equal(other.le1.W.update_rule.state['m'],
                                  model.le1.W.update_rule.state['m'])
