"""The VAE of the slides (Kingma & Welling 2014, Matsui's "Introduction of
Variational Autoencoder" / the 2017 Qiita notebook), as written there.

Encoder q(z|x) = N(mu, diag(exp(ln_var))); decoder p(x|z) = Bernoulli(sigmoid(.)).
The loss is -ELBO (paper eq. 10): a Monte Carlo reconstruction term over k
samples of z plus the closed-form KL(q(z|x) || N(0, I)) (paper appendix B).
"""
import numpy as np
import six

import chainer
import chainer.functions as F
import chainer.links as L
from chainer.functions.loss.vae import gaussian_kl_divergence

# the --activation choices (the legacy run used softplus; the class default is tanh)
ACTIVATIONS = {'softplus': F.softplus, 'tanh': F.tanh, 'relu': F.relu, 'sigmoid': F.sigmoid}


def xavier_uniform(fan_in, fan_out):
    """The notebook's Glorot/Xavier initializer: W ~ U(-a, a), a = sqrt(6 / (fan_in + fan_out))."""
    a = np.sqrt(6.0 / (fan_in + fan_out))
    return np.random.uniform(-a, a, (fan_out, fan_in)).astype(np.float32)


class VAE(chainer.Chain):
    """Variational AutoEncoder"""

    def __init__(self, n_in, n_latent, n_h, act_func=F.tanh):
        super(VAE, self).__init__()
        self.act_func = act_func
        with self.init_scope():
            # encoder
            self.le1 = L.Linear(n_in, n_h, initialW=xavier_uniform(n_in, n_h))
            self.le2 = L.Linear(n_h, n_h, initialW=xavier_uniform(n_h, n_h))
            self.le3_mu = L.Linear(n_h, n_latent, initialW=xavier_uniform(n_h, n_latent))
            self.le3_ln_var = L.Linear(n_h, n_latent, initialW=xavier_uniform(n_h, n_latent))
            # decoder
            self.ld1 = L.Linear(n_latent, n_h, initialW=xavier_uniform(n_latent, n_h))
            self.ld2 = L.Linear(n_h, n_h, initialW=xavier_uniform(n_h, n_h))
            self.ld3 = L.Linear(n_h, n_in, initialW=xavier_uniform(n_h, n_in))

    def __call__(self, x, sigmoid=True):
        """AutoEncoder: decode the mean code of x."""
        return self.decode(self.encode(x)[0], sigmoid)

    def encode(self, x):
        if not isinstance(x, chainer.Variable):
            x = chainer.Variable(x)
        x.name = "x"
        h1 = self.act_func(self.le1(x))
        h1.name = "enc_h1"
        h2 = self.act_func(self.le2(h1))
        h2.name = "enc_h2"
        mu = self.le3_mu(h2)
        mu.name = "z_mu"
        ln_var = self.le3_ln_var(h2)  # ln_var = log(sigma**2)
        ln_var.name = "z_ln_var"
        return mu, ln_var

    def decode(self, z, sigmoid=True):
        h1 = self.act_func(self.ld1(z))
        h1.name = "dec_h1"
        h2 = self.act_func(self.ld2(h1))
        h2.name = "dec_h2"
        h3 = self.ld3(h2)
        h3.name = "dec_h3"
        if sigmoid:
            return F.sigmoid(h3)
        return h3

    def get_loss_func(self, C=1.0, k=1):
        """Return lf(x) = -ELBO per image; C weights the KL term, k is the number of z samples."""
        def lf(x):
            mu, ln_var = self.encode(x)
            batchsize = len(mu.data)
            # reconstruction error: -E_q[log p(x|z)], z = mu + sigma * eps (reparameterisation)
            rec_loss = 0
            for l in six.moves.range(k):
                z = F.gaussian(mu, ln_var)
                z.name = "z"
                rec_loss += F.bernoulli_nll(x, self.decode(z, sigmoid=False)) / (k * batchsize)
            self.rec_loss = rec_loss
            self.rec_loss.name = "reconstruction error"
            # latent loss: KL(q(z|x) || N(0, I)) = 1/2 sum(mu^2 + sigma^2 - log sigma^2 - 1)
            self.latent_loss = C * gaussian_kl_divergence(mu, ln_var) / batchsize
            self.latent_loss.name = "latent loss"
            self.loss = self.rec_loss + self.latent_loss
            self.loss.name = "loss"
            return self.loss
        return lf
