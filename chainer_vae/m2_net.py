"""M2 of the slides' last part (Kingma, Rezende, Mohamed & Welling 2014, "Semi-supervised
Learning with Deep Generative Models", sec. 2-4), built from the slides' VAE's blocks
(chainer_vae/net.py): the chain and its loss, as net.py holds the VAE's.

M2 makes the digit's label y a second latent variable: p(x, y, z) = p(y) p(z) p(x|y,z),
p(y) uniform over the 10 labels, p(z) = N(0, I), and infers q(z|x,y) and q(y|x), the
classifier. Its objective, minimised, per image (eqs. 6-9; Kingma's code,
dpkingma/nips14-ssl, learn_yz_x_ss.py:240-296):

- labelled (x, y):  -L(x,y) - beta log q(y|x), where
      -L(x,y) = -E_q(z|x,y)[log p(x|y,z)] + KL(q(z|x,y) || p(z)) - log p(y)
  with one z drawn, the KL in closed form, and beta = 0.1 * 50,000 / N (the paper's
  alpha = 0.1 N, the code's weight of a labelled image);
- unlabelled x:  -U(x) = sum_y q(y|x) (-L(x,y)) - H(q(y|x)), the sum over all 10 labels,
  never a sampled y (a sampled one leaves the classifier near chance: research note);

their mean over the step's images (the N(0, I) prior on the weights is the optimizer's
weight decay: chainer_vae/m2_train.py). q(y|x) is x-H-10, q(z|x,y) (x,y)-H-(mu, ln var),
p(x|y,z) (y,z)-H-x, softplus; weights drawn from N(0, 0.001^2), biases 0
(chainer_vae/paper.py holds Kingma's settings). M2 on the pixels has a Bernoulli
p(x|y,z); M1+M2, on the codes of M1, a Gaussian one with a learnt mean and log variance
for each dimension.

One z is drawn for each of the 10 labels of an image in one pass, as Kingma's code does.
The arithmetic is one of four sets of kernels (``kernels``, config.KERNELS; a run's
config.json records its own, and from which epoch):

- chainer-1: chainer's functions, softplus with a faster forward within 5 ulp of the
  exact value (chainer_vae/cpu_kernels.py 5.; the runs in results/m2 of before the
  *_g600e172 ones had chainer's own), z's noise from NumPy's global legacy generator
  (F.gaussian). The runs made before --kernels; a GPU's.
- fast-1 (CPU): the same math in fewer, fused nodes (cpu_kernels.py 6.: the labels
  enumerated inside q(z|x,y)'s and p(x|y,z)'s first layers, softplus and its gradient
  from one pass, z with its KL, -log p(x|y,z) by rows), each within a few ulp of chainer's
  functions; z's noise float32 normals (ziggurat) of the model's own PCG64 ``generator``
  (saved in the checkpoint).
- fast-2 (CPU): fast-1 with z's noise from the same generator by the Box-Muller
  transform of its float32 uniforms (cpu_kernels.box_muller, twice as fast), the
  objective in one node (cpu_kernels.M2Objective) and p(x|y,z)'s label columns' gradient
  as sums by label, within a few ulp of chainer's functions too. A new run's where NumPy's
  float32 log1p and expm1 are scalar loops (m2.new_run_kernels).
- fast-3 (CPU, a new run's where NumPy 2 vectorises them): fast-2 with the softplus by
  NumPy's log1p (six passes a block where fast-2 makes fifteen), its gradient from its
  output, sigmoid = -expm1(-y) (no sigmoid kept: cpu_kernels.softplus_log1p,
  softplus_gradient), and p(x|y,z)'s first bias's gradient from the sums by label.
"""
import math

import numpy as np

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import initializers
from chainer.functions.loss.vae import gaussian_kl_divergence

from chainer_vae import config, cpu_kernels, paper


def one_hot(labels, n_y, dtype=np.float32):
    xp = chainer.backend.get_array_module(labels)
    return xp.eye(n_y, dtype=dtype)[labels]


class M2(chainer.Chain):
    """p(x|y,z), q(z|x,y) and q(y|x) of M2; x of n_x values (pixels, or M1's codes)."""

    def __init__(self, n_x, n_h=500, n_z=50, n_y=10, gaussian_x=False,
                 init=paper.KINGMA['init'], kernels=config.KERNELS[0], noise_seed=0):
        super(M2, self).__init__()
        self.n_y, self.gaussian_x, self.kernels = n_y, gaussian_x, kernels
        # fast-1 on: the noise of z from this PCG64 generator (saved in checkpoint.npz)
        self.generator = None if kernels == 'chainer-1' else np.random.default_rng(noise_seed)
        w = initializers.Normal(paper.INIT_SD) if init == 'kingma' else None  # None: chainer's
        with self.init_scope():
            # q(y|x), the classifier
            self.qy_h = L.Linear(n_x, n_h, initialW=w)
            self.qy_logits = L.Linear(n_h, n_y, initialW=w)
            # q(z|x,y): the first layer's x part (with the bias) apart from its y part, as in
            # Kingma's VAE_YZ_X.py:59, so that x's is computed once for an image's 10 labels
            self.qz_x = L.Linear(n_x, n_h, initialW=w)
            self.qz_y = L.Linear(n_y, n_h, initialW=w, nobias=True)
            self.qz_mu = L.Linear(n_h, n_z, initialW=w)
            self.qz_ln_var = L.Linear(n_h, n_z, initialW=w)
            # p(x|y,z): Bernoulli logits of the pixels, or the mean and ln var of M1's codes
            self.px_h = L.Linear(n_z + n_y, n_h, initialW=w)
            self.px_mu = L.Linear(n_h, n_x, initialW=w)
            if gaussian_x:
                self.px_ln_var = L.Linear(n_h, n_x, initialW=w)

    def since(self, kernels):
        """Whether this model's kernels are ``kernels`` or a later set (config.KERNELS)."""
        return config.KERNELS.index(self.kernels) >= config.KERNELS.index(kernels)

    def classify(self, x):
        """The logits of q(y|x)."""
        if self.generator:
            return self.qy_logits(cpu_kernels.linear_softplus(x, self.qy_h,
                                                              self.since('fast-3')))
        return self.qy_logits(cpu_kernels.softplus(self.qy_h(x)))

    def neg_elbo(self, x, hx, y):
        """-L(x,y) of each row: -log p(x|y,z) for one z ~ q(z|x,y), + KL(q(z|x,y) || N(0, I))
        in closed form, - log p(y); ``hx`` is the x part of q(z|x,y)'s first layer."""
        y = one_hot(y, self.n_y, x.dtype)
        h = cpu_kernels.softplus(hx + self.qz_y(y))
        mu, ln_var = self.qz_mu(h), self.qz_ln_var(h)
        z = F.gaussian(mu, ln_var)
        h = cpu_kernels.softplus(self.px_h(F.concat((z, y))))
        if self.gaussian_x:
            rec = F.gaussian_nll(x, self.px_mu(h), self.px_ln_var(h), reduce='no')
        else:
            rec = F.bernoulli_nll(x, self.px_mu(h), reduce='no')
        kl = gaussian_kl_divergence(mu, ln_var, reduce='no')
        return F.sum(rec, axis=1) + F.sum(kl, axis=1) + math.log(self.n_y)

    def neg_elbo_fused(self, x_l, x_u, x, labels):
        """neg_elbo of the rows of ``terms`` with the fused kernels (cpu_kernels.py 6.):
        the labels enumerated inside q(z|x,y)'s first layer, z's noise from ``generator``,
        each pair of heads (mu and ln var) in one product, z and the KL in one node,
        -log p(x|y,z) of each row in one."""
        log1p = self.since('fast-3')
        h = cpu_kernels.labelled_softplus(self.qz_x(x), self.qz_y.W, labels[:len(x_l)],
                                          self.n_y, log1p)
        stats = cpu_kernels.linear_heads(h, self.qz_mu, self.qz_ln_var)  # mu, ln var
        eps = self.noise((len(labels), self.qz_mu.W.shape[0]), stats.dtype)
        z, kl = cpu_kernels.gaussian_sample_kl(stats, eps)
        h = cpu_kernels.labelled_linear_softplus(z, labels[:len(x_l)], self.n_y, self.px_h,
                                                 self.since('fast-2'), log1p)
        heads = (self.px_mu, self.px_ln_var) if self.gaussian_x else (self.px_mu,)
        rec = cpu_kernels.nll_rows(x_l, x_u, self.n_y, cpu_kernels.linear_heads(h, *heads),
                                   self.gaussian_x, log1p)
        return rec + kl + math.log(self.n_y)

    def noise(self, shape, dtype=np.float32):
        """The fused kernels' noise of z: normals of ``generator`` in ``dtype``, fast-1's
        by its ziggurat, fast-2's and fast-3's by Box-Muller."""
        if self.kernels == 'fast-1':
            return self.generator.standard_normal(shape, dtype=dtype)
        return cpu_kernels.box_muller(self.generator, shape, dtype)

    def rows(self, x_l, y_l, x_u):
        """-L(x,y) of each row (the labelled images with their labels, then every unlabelled
        image with each label, label-major: the unlabelled ones go through q(z|x,y) and
        p(x|y,z) once with each label, in one pass beside the labelled ones), and the
        logits of q(y|x) of each image."""
        n_l, n_u, n_y, xp = len(x_l), len(x_u), self.n_y, self.xp
        x = F.concat((x_l, x_u), axis=0)
        labels = xp.concatenate((y_l, xp.repeat(xp.arange(n_y, dtype=y_l.dtype), n_u)))
        if self.generator:
            neg_l = self.neg_elbo_fused(x_l, x_u, x, labels)
        else:
            hx = self.qz_x(x)
            rows = F.concat((hx[:n_l], F.tile(hx[n_l:], (n_y, 1))), axis=0)  # label-major
            neg_l = self.neg_elbo(F.concat((x_l, F.tile(x_u, (n_y, 1))), axis=0), rows, labels)
        return neg_l, self.classify(x)

    def terms(self, x_l, y_l, x_u):
        """Per image: -L(x,y) and -log q(y|x) of the labelled (x_l, y_l), -U(x) of the
        unlabelled x_u."""
        n_l, n_u, n_y = len(x_l), len(x_u), self.n_y
        neg_l, logits = self.rows(x_l, y_l, x_u)
        log_q = F.log_softmax(logits[n_l:])
        neg_l_u = F.transpose(F.reshape(neg_l[n_l:], (n_y, n_u)))  # (image, label)
        neg_u = F.sum(F.exp(log_q) * (neg_l_u + log_q), axis=1)  # sum_y q (-L) - H(q)
        return neg_l[:n_l], F.softmax_cross_entropy(logits[:n_l], y_l, reduce='no'), neg_u

    def loss(self, x_l, y_l, x_u, beta):
        """The step's objective: the mean over its images of the labelled images'
        -L(x,y) - beta log q(y|x) and the unlabelled ones' -U(x); its terms (their sums)
        are kept in ``self.sums`` for the log. fast-2 and fast-3 take it from the rows in one
        node (cpu_kernels.M2Objective), the others with chainer's functions."""
        if self.since('fast-2'):
            outputs = cpu_kernels.m2_objective(*self.rows(x_l, y_l, x_u), y_l, self.n_y, beta)
            self.total, self.sums = outputs[0], outputs[1:]
            return self.total
        neg_l, neg_log_q, neg_u = self.terms(x_l, y_l, x_u)
        self.sums = tuple(F.sum(t) for t in (neg_l, neg_u, neg_log_q))
        labelled, unlabelled, classification = self.sums
        self.total = (labelled + beta * classification + unlabelled) / (len(x_l) + len(x_u))
        return self.total
