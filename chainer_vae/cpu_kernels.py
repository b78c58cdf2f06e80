"""Faster CPU paths that compute the same bits: Chainer's own settings, and Adam's update
with fewer trips through memory (1-4, measured by benchmarks/bench_epoch.py); and M2's
softplus (5.) and fused kernels (6., M2's fast-1, fast-2 and fast-3;
benchmarks/bench_m2.py), which do not.

1. ``configure(debug)``: ``chainer.config.type_check = debug``. Chainer checks the
   shapes and dtypes of every function call (about 60,000 calls an epoch); the
   model's shapes never change, so the checks are off unless ``--debug``.
2. ``Adam``: chainer's Adam whose CPU update does chainer's arithmetic, in the same
   order and the same float32 rounding, so the weights are bitwise the same
   (tests/test_cpu_kernels.py), but in place, in blocks that stay in the CPU's cache:
   chainer's own update (chainer/optimizers/adam.py, AdamRule.update_core_cpu)
   makes nine full-size temporary arrays per parameter per step and walks
   through memory a dozen times. Anything but the plain float32 Adam the
   notebook uses (AMSGrad, AdaBound, weight decay, another dtype, a GPU) goes
   to chainer's own update. The blocks of all parameters are gathered during
   ``update`` and shared out over two threads (NumPy lets go of the GIL inside
   each operation): every block is one thread's alone and its arithmetic is the
   same, so the bits are too. Where a post-update hook would read the new
   weights, each parameter is updated at once, as chainer does.
3. ``configure`` also gives chainer's softplus a CPU forward (the legacy run's
   activation, and inside F.bernoulli_nll on the 784 logits) that does its
   operations in place: chainer's (chainer/functions/activation/softplus.py,
   Softplus.forward_cpu) makes eight passes, each a new array, one of them
   np.fabs, which NumPy does not vectorise (np.absolute gives the same bits).
   Same operations, same order, bitwise the same output (tests/test_cpu_kernels.py),
   4x faster on (100, 500) float32; ``configure(debug=True)`` puts chainer's back.
   The class is chainer's own, so graph.dot does not change. Its gradient
   (SoftplusGrad.forward_cpu, six new arrays) is done in place the same way.
4. ``Adam.update`` gives the loss function the images as a Variable that needs no
   gradient. The notebook's ``chainer.Variable(x)`` asks for one, so chainer
   multiplies the first layer's gradient back onto the 784 inputs, a tenth of
   the training's matrix products, for a gradient nobody reads. The loss, the
   weights' gradients and graph.dot are the same.
5. ``softplus``: chainer's softplus for M2 (chainer_vae/m2_net.py), whose M1+M2 step spends
   about 40 % of its time in softplus over (5000, H) arrays, most of it in log1p: NumPy's
   float32 log1p is a scalar loop except on x86-64 Linux with AVX-512 (vectorised() below),
   its log is vectorised (6 times as fast as that loop here). Its CPU forward takes
   log1p(e) as log(u) - ((u - 1) - e) / u with u = 1 + e rounded, the log of u less the
   rounding of 1 + e (exact in float32 for e in [0, 1]): within 5 ulp of the exact softplus
   (tests/test_cpu_kernels.py; chainer's: 3), other bits than chainer's; an M1+M2 step
   takes about a fifth less time (measured A/B here, on 2 cores). Not for the legacy
   VAE, whose numbers stay chainer's bit for bit; its gradient and the GPU are chainer's.
"""
import concurrent.futures
import functools
import math
import os

import numpy as np

import chainer
from chainer import optimizers
from chainer.functions.activation import softplus as chainer_softplus

from chainer_vae import interrupt

BLOCK = 1 << 16  # float32 elements per block: 256 KB an array (fastest here, 2 cores)


def configure(debug=False):
    """Chainer's type checks off and the in-place softplus in, unless ``debug``."""
    chainer.config.type_check = debug
    chainer_softplus.Softplus.forward_cpu = CHAINER_SOFTPLUS if debug else softplus_forward_cpu
    chainer_softplus.SoftplusGrad.forward_cpu = (CHAINER_SOFTPLUS_GRAD if debug
                                                 else softplus_grad_forward_cpu)


class AdamRule(optimizers.adam.AdamRule):

    def __init__(self, hyperparam, optimizer):
        super(AdamRule, self).__init__(parent_hyperparam=hyperparam)
        self.optimizer = optimizer  # where the step's blocks are gathered (Adam.update)

    def _plain(self, param):
        hp = self.hyperparam
        arrays = (param.data, param.grad, self.state['m'], self.state['v'])
        return (not hp.amsgrad and not hp.adabound and hp.weight_decay_rate == 0
                and hp.eta == 1 and all(isinstance(a, np.ndarray) and a.dtype == np.float32
                                        and a.flags.c_contiguous for a in arrays))

    def update_core_cpu(self, param):
        if param.grad is None:
            return
        if not self._plain(param):
            return super(AdamRule, self).update_core_cpu(param)
        hp = self.hyperparam
        step = (1.0 - hp.beta1, 1.0 - hp.beta2, self.alpha_t, hp.eps)
        arrays = tuple(a.reshape(-1) for a in (param.grad, self.state['m'], self.state['v'],
                                               param.data))
        blocks = [(arrays, step, s) for s in range(0, param.size, BLOCK)]
        if (self.optimizer.blocks is None or self._use_fp32_update  # now, not later:
                or self._hookable._post_update_hooks):  # the result is read next
            adam_blocks(blocks)
        else:
            self.optimizer.blocks += blocks


def adam_blocks(blocks):
    """chainer's Adam arithmetic on each (arrays, step, start) block, in place."""
    buf = np.empty(BLOCK, np.float32)
    for (g, m, v, p), (a1, a2, alpha_t, eps), s in blocks:
        gs, ms, vs, ps = g[s:s + BLOCK], m[s:s + BLOCK], v[s:s + BLOCK], p[s:s + BLOCK]
        b = buf[:len(ps)]
        np.subtract(gs, ms, out=b)  # m += (1 - beta1) * (grad - m)
        b *= a1
        ms += b
        np.multiply(gs, gs, out=b)  # v += (1 - beta2) * (grad * grad - v)
        b -= vs
        b *= a2
        vs += b
        np.sqrt(vs, out=b)  # step = alpha_t / (sqrt(v) + eps)
        b += eps
        np.divide(alpha_t, b, out=b)
        b *= ms  # param -= step * m (chainer: param += -1.0 * (step * m), the same bits)
        ps -= b


class Adam(optimizers.Adam):
    """chainer.optimizers.Adam with AdamRule above; its state and npz files are chainer's."""

    blocks = None  # during update: the blocks of every parameter, then done by THREADS

    def create_update_rule(self):
        return AdamRule(self.hyperparam, self)

    def update(self, lossfun=None, *args, **kwds):
        """chainer's update, the input Variables (not Parameters) without a gradient, the
        parameters' blocks shared out over THREADS (each block is one thread's alone)."""
        args = [chainer.Variable(a.array, name=a.name, requires_grad=False)
                if type(a) is chainer.Variable and a.creator is None else a for a in args]
        if self._hookable._post_update_hooks:  # a hook reads the new weights: no waiting
            return super(Adam, self).update(lossfun, *args, **kwds)
        self.blocks = []
        try:
            super(Adam, self).update(lossfun, *args, **kwds)
            shares = [self.blocks[i::THREADS] for i in range(THREADS)]
        finally:
            self.blocks = None
        with interrupt.deferred():  # a signal while the pool starts its thread would leave
            # that thread unknown to the pool: the interpreter would wait on it at exit, forever
            others = [_pool(THREADS - 1).submit(adam_blocks, share)
                      for share in shares[1:] if share]
        adam_blocks(shares[0])  # this thread's share; NumPy lets go of the GIL inside each
        for done in others:
            done.result()


THREADS = min(2, len(os.sched_getaffinity(0)))  # benchmarks/bench_step.py measures 1 and 2


@functools.lru_cache()
def _pool(workers):
    return concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix='adam')


CHAINER_SOFTPLUS = chainer_softplus.Softplus.forward_cpu
CHAINER_SOFTPLUS_GRAD = chainer_softplus.SoftplusGrad.forward_cpu


def softplus_forward_cpu(self, inputs):
    """Softplus.forward_cpu in place (beta = 1; chainer's own for any other beta)."""
    if self.beta != 1.0:
        return CHAINER_SOFTPLUS(self, inputs)
    self.retain_inputs((0,))
    x, = inputs
    # chainer: y = (fmax(bx, 0) + log1p(exp(-fabs(bx)))) * beta_inv, with bx = beta * x
    a = np.absolute(x)
    np.negative(a, out=a)
    np.exp(a, out=a)
    np.log1p(a, out=a)
    y = np.fmax(x, 0)
    y += a
    return y,


def softplus_grad_forward_cpu(self, inputs):
    """SoftplusGrad.forward_cpu in place (beta = 1; chainer's own for any other beta)."""
    if self.beta != 1.0:
        return CHAINER_SOFTPLUS_GRAD(self, inputs)
    self.retain_inputs((0, 1))
    x, gy = inputs
    # chainer: gx = (1 - 1 / (1 + exp(beta * x))) * gy; beta * x is x for beta = 1. exp
    # overflows to inf for x > 88 (float32), and 1 - 1 / inf is then 1, the exact gradient:
    # no RuntimeWarning for it (a Fashion-MNIST dimz 2 run printed one mid-run)
    with np.errstate(over='ignore'):
        gx = np.exp(x)
    gx += 1
    np.divide(1, gx, out=gx)
    np.subtract(1, gx, out=gx)
    gx *= gy
    return gx,


class Softplus(chainer_softplus.Softplus):
    """chainer's Softplus (beta = 1), its CPU forward as in 5. above."""

    def forward_cpu(self, inputs):
        self.retain_inputs((0,))  # for chainer's gradient
        x, = inputs
        e = np.absolute(x)  # softplus(x) = max(x, 0) + log1p(e), e = exp(-|x|) in [0, 1]
        np.negative(e, out=e)
        np.exp(e, out=e)
        u = e + 1
        rounding = u - 1
        rounding -= e
        rounding /= u
        np.log(u, out=u)
        u -= rounding  # log1p(e) = log(u - (u - 1 - e)) = log(u) - (u - 1 - e) / u + ...
        y = np.fmax(x, 0)
        y += u
        return y,


def softplus(x):
    """softplus(x) of M2, chainer's F.softplus with 5.'s CPU forward."""
    return Softplus().apply((x,))[0]


# ---- 6. M2's fused kernels (m2_net.py's kernels 'fast-1', 'fast-2', 'fast-3') ---------
#
# Each is one FunctionNode computing in NumPy what a chain of chainer's functions would,
# its temporaries in blocks of BLOCK elements that stay in the CPU's cache, its gradient
# from what the forward kept (first order: chainer's gradient_check, tests/test_cpu_kernels.py).

def _rows_a_block(rows):
    """How many whole rows of a 2-d array make about BLOCK elements (in the CPU's cache)."""
    return max(1, BLOCK // rows.shape[1])


def _row_blocks(rows):
    """Slices of whole rows of a 2-d array, _rows_a_block each."""
    step = _rows_a_block(rows)
    return [slice(start, start + step) for start in range(0, len(rows), step)]


def _block_array(rows):
    """An empty array of the size of the largest of _row_blocks(rows), for temporaries."""
    return np.empty((min(len(rows), _rows_a_block(rows)), rows.shape[1]), rows.dtype)


def _as_rows(a):
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


def softplus_and_sigmoid(x, bias=None, out=None, sigmoid=None):
    """(softplus(x + bias), sigmoid(x + bias)) of a float32 array of rows (``bias``: one
    value a column, or none), computed block by block of whole rows: the softplus as 5.
    above (within 5 ulp of the exact value), the sigmoid, its gradient, as e / (1 + e)
    below 0 and 1 / (1 + e) above, e = exp(-|x|) (within 4 ulp). ``out``, ``sigmoid``: the
    arrays they are written to (out may be x itself: in place). fast-1's and fast-2's."""
    rows = _as_rows(x)
    y = np.empty_like(x) if out is None else out
    s = np.empty_like(x) if sigmoid is None else sigmoid
    y_rows, s_rows = y.reshape(rows.shape), s.reshape(rows.shape)
    e, u, r = (_block_array(rows) for _ in range(3))
    for block in _row_blocks(rows):
        xs, ys, ss = rows[block], y_rows[block], s_rows[block]
        n = len(xs)
        es, us, rs = e[:n], u[:n], r[:n]
        if bias is not None:
            np.add(xs, bias, out=ys)
            xs = ys
        np.absolute(xs, out=es)
        np.negative(es, out=es)
        np.exp(es, out=es)  # e = exp(-|x|), in [0, 1]
        np.add(es, 1, out=us)  # u = 1 + e, rounded
        np.divide(1, us, out=ss)
        np.subtract(us, 1, out=rs)  # the rounding of u, over u
        rs -= es
        rs *= ss
        np.log(us, out=us)
        us -= rs  # log1p(e) = log(u) - (u - 1 - e) / u + ...
        np.greater_equal(xs, 0, out=rs, casting='unsafe')  # 1 where x >= 0, else 0: and
        np.maximum(rs, es, out=rs)  # as e <= 1, max(that, e) is e below 0, 1 above (a
        ss *= rs  # masked copy of e is 20 times slower)
        np.fmax(xs, 0, out=ys)
        ys += us
    return y, s


def vectorised(*names):
    """Whether this NumPy computes each float32 ufunc of ``names`` with the CPU's SIMD
    instructions, not its scalar baseline loop (numpy.lib.introspect, NumPy >= 2; False
    before, where NumPy cannot say). log1p and expm1 are, on x86-64 Linux with AVX-512
    (NumPy links Intel's SVML; 1.26 too); elsewhere each is a scalar loop (forced here: 15-20
    times an exp), and a new run learns with fast-2 (m2.py)."""
    try:
        from numpy.lib.introspect import opt_func_info
    except ImportError:
        return False
    found = opt_func_info(func_name='|'.join('^%s$' % name for name in names),
                          signature='float32')
    return all(not found.get(name, {}).get('ff', {}).get('current', 'baseline')
               .startswith('baseline') for name in names)


def softplus_log1p(x, bias=None, out=None, sigmoid=None):
    """fast-3's softplus(x + bias) of a float32 array of rows, block by block: max(x, 0) +
    log1p(exp(-|x|)) with NumPy's log1p (within 3 ulp of the exact value), six passes in
    the cache where softplus_and_sigmoid makes fifteen. No sigmoid is kept: its gradient
    comes from the output (softplus_gradient), unless ``sigmoid``, an array, asks for it
    (-expm1(-y), as there). ``out``: where y goes (x itself: in place)."""
    rows = _as_rows(x)
    y = np.empty_like(x) if out is None else out
    y_rows = y.reshape(rows.shape)
    s_rows = None if sigmoid is None else sigmoid.reshape(rows.shape)
    e = _block_array(rows)
    for block in _row_blocks(rows):
        xs, ys = rows[block], y_rows[block]
        es = e[:len(xs)]
        if bias is not None:
            np.add(xs, bias, out=ys)
            xs = ys
        np.absolute(xs, out=es)
        np.negative(es, out=es)
        np.exp(es, out=es)  # exp(-|x|), in [0, 1]
        np.log1p(es, out=es)
        np.fmax(xs, 0, out=ys)
        ys += es
        if s_rows is not None:
            _sigmoid_of_softplus(ys, out=s_rows[block])
    return y


def _sigmoid_of_softplus(y, out):
    """sigmoid(x) of y = softplus(x): 1 - exp(-y), as -expm1(-y) (no cancellation where
    sigmoid(x) is small, y too: within 5 ulp of the exact sigmoid, 2 of them the output's)."""
    np.negative(y, out=out)
    np.expm1(out, out=out)
    np.negative(out, out=out)
    return out


def softplus_gradient(y, gy, out=None):
    """fast-3's gradient of softplus from its output y: gy * sigmoid(x), the sigmoid as
    _sigmoid_of_softplus, block by block of rows (nothing kept from the forward)."""
    g = np.empty_like(gy) if out is None else out
    y_rows, gy_rows, g_rows = _as_rows(y), _as_rows(gy), _as_rows(g)
    for block in _row_blocks(y_rows):
        gs = _sigmoid_of_softplus(y_rows[block], out=g_rows[block])
        gs *= gy_rows[block]
    return g


def box_muller(generator, shape, dtype=np.float32):
    """Normals of ``generator`` (fast-2's noise of z): the Box-Muller transform of its
    uniforms u, v in [0, 1), sqrt(-2 log(1 - u)) times cos(2 pi v) and sin(2 pi v), in
    ``dtype`` (|z| < 5.8 in float32: 1 - u >= 2^-24). NumPy vectorises float32 log, sqrt,
    cos and sin; its float32 ziggurat (fast-1's ``standard_normal``) takes twice as long."""
    n = math.prod(shape)
    half = (n + 1) // 2
    radius, angle = generator.random((2, half), dtype=dtype)
    np.subtract(1, radius, out=radius)  # in (0, 1], exactly
    np.log(radius, out=radius)
    radius *= -2
    np.sqrt(radius, out=radius)
    angle *= np.dtype(dtype).type(2 * math.pi)
    z = np.empty((2, half), dtype)
    np.cos(angle, out=z[0])
    np.sin(angle, out=z[1])
    z *= radius
    return z.reshape(-1)[:n].reshape(shape)


def _variables(*arrays):
    """Gradients as FunctionNode.backward returns them (None where there is none)."""
    return tuple(None if a is None else chainer.Variable(a, requires_grad=False)
                 for a in arrays)


class SoftplusNode(chainer.function_node.FunctionNode):
    """A node whose output is a softplus, and the softplus's gradient: fast-1's and
    fast-2's from the sigmoid their forward keeps (softplus_and_sigmoid), fast-3's
    (``log1p``) from the output (softplus_log1p, softplus_gradient)."""

    sigmoid = None

    def __init__(self, log1p=False):
        self.log1p = log1p

    def start(self, y):
        """Before the softplus of the output ``y``'s rows: fast-1's and fast-2's sigmoid is
        kept beside it, fast-3 keeps the output."""
        if self.log1p:
            self.retain_outputs((0,))
        else:
            self.sigmoid = np.empty_like(y)

    def softplus(self, x, bias=None, out=None, rows=slice(None)):
        """softplus(x + bias) into ``out``, the output's ``rows`` (start first)."""
        if self.log1p:
            return softplus_log1p(x, bias, out)
        return softplus_and_sigmoid(x, bias, out, self.sigmoid[rows])[0]

    def gradient(self, gy, rows=slice(None), out=None):
        """gy's ``rows`` times the softplus's gradient there."""
        if self.log1p:
            return softplus_gradient(self.get_retained_outputs()[0].array[rows], gy[rows], out)
        return np.multiply(gy[rows], self.sigmoid[rows], out=out)


class LinearSoftplus(SoftplusNode):
    """softplus(x W^T + b): F.linear and softplus in one node, the bias added inside the
    softplus's blocks."""

    def forward_cpu(self, inputs):
        x, W, b = inputs
        self.retain_inputs((0, 1))
        y = x.dot(W.T)
        self.start(y)
        return self.softplus(y, b, out=y),

    def backward(self, indexes, grad_outputs):
        x, W = (v.array for v in self.get_retained_inputs())
        g = self.gradient(grad_outputs[0].array)
        g_x = g.dot(W) if 0 in indexes else None
        return _variables(g_x, g.T.dot(x), g.sum(axis=0))


def linear_softplus(x, link, log1p=False):
    """softplus(link(x)) of a chainer Linear ``link``, in one node."""
    return LinearSoftplus(log1p).apply((x, link.W, link.b))[0]


def softplus_by_label(node, out, table, labels, x=None):
    """The softplus (``node``'s: a SoftplusNode) of the rows of M2.terms, each with its
    label's row of ``table`` (labels, H) added, into ``out``: the first len(``labels``) rows
    with their own labels, then the unlabelled images' rows with each label in turn
    (label-major). The rows are ``out``'s own (in place), or ``x``'s of each image (the
    labelled, then the unlabelled ones, the same for every label). Label by label, the row
    added inside the softplus's blocks, not in a pass of its own over all rows."""
    n_l, n_y = len(labels), len(table)
    node.start(out)
    np.add(out[:n_l] if x is None else x[:n_l], table[labels], out=out[:n_l])
    node.softplus(out[:n_l], out=out[:n_l], rows=slice(0, n_l))
    n_u = (len(out) - n_l) // n_y
    for label in range(n_y):
        rows = slice(n_l + label * n_u, n_l + (label + 1) * n_u)
        node.softplus(out[rows] if x is None else x[n_l:], table[label], out=out[rows],
                      rows=rows)
    return out


class LabelledLinearSoftplus(SoftplusNode):
    """p(x|y,z)'s first layer: softplus(W (z, y) + b) of each row's z and one-hot label y,
    the rows of M2.terms (the first ``labels`` rows with their own labels, then the
    unlabelled ones with each of the ``n_y`` labels, label-major): W's label columns (with
    b) added to a label's rows as one row, not multiplied by one-hot labels. Their gradient:
    each label's rows summed (``sums_by_label``, fast-2 on; fast-3 sums b's from those sums,
    not from the rows), or fast-1's product of the rows with one-hot labels (its bits)."""

    def __init__(self, labels, n_y, sums_by_label, log1p=False):
        super(LabelledLinearSoftplus, self).__init__(log1p)
        self.labels, self.n_y, self.sums_by_label = labels, n_y, sums_by_label

    def forward_cpu(self, inputs):
        z, W, b = inputs
        self.retain_inputs((0, 1))
        n_z = z.shape[1]
        y = z.dot(W[:, :n_z].T)
        table = W[:, n_z:].T + b  # a label's row: its column of W and the bias
        return softplus_by_label(self, y, table, self.labels),

    def backward(self, indexes, grad_outputs):
        z, W = (v.array for v in self.get_retained_inputs())
        g = self.gradient(grad_outputs[0].array)
        n_l, n_z, n_y = len(self.labels), z.shape[1], self.n_y
        if self.sums_by_label:
            g_table = g[n_l:].reshape(n_y, -1, g.shape[1]).sum(axis=1)
            np.add.at(g_table, self.labels, g[:n_l])
            g_labels = g_table.T
            g_b = g_table.sum(axis=0) if self.log1p else g.sum(axis=0)  # fast-3: of the sums
        else:
            row_labels = np.concatenate((self.labels, np.repeat(np.arange(n_y),
                                                                (len(z) - n_l) // n_y)))
            g_labels = g.T.dot(np.eye(n_y, dtype=g.dtype)[row_labels])
            g_b = g.sum(axis=0)
        g_W = np.concatenate((g.T.dot(z), g_labels), axis=1)
        return _variables(g.dot(W[:, :n_z]), g_W, g_b)


def labelled_linear_softplus(z, labels, n_y, link, sums_by_label, log1p=False):
    """softplus(link((z, one-hot label))) of each row of M2.terms (the first ``labels``
    rows' own labels, then each of the ``n_y`` labels, label-major) of a chainer Linear
    ``link``, in one node."""
    return LabelledLinearSoftplus(labels, n_y, sums_by_label, log1p).apply(
        (z, link.W, link.b))[0]


class LabelledSoftplus(SoftplusNode):
    """q(z|x,y)'s first layer, enumerating the labels: softplus(hx + W y) of each row, where
    hx (images, H) is its x part and W (H, labels) its y part, for the first ``labels`` rows'
    own labels and then for every unlabelled image with each label, label-major (the rows
    of M2.terms) -- without tiling hx or multiplying by one-hot labels."""

    def __init__(self, labels, n_y, log1p=False):
        super(LabelledSoftplus, self).__init__(log1p)
        self.labels, self.n_y = labels, n_y

    def forward_cpu(self, inputs):
        hx, W = inputs
        n_l = len(self.labels)
        y = np.empty((n_l + self.n_y * (len(hx) - n_l), hx.shape[1]), hx.dtype)
        return softplus_by_label(self, y, W.T, self.labels, hx),

    def backward(self, indexes, grad_outputs):
        gy, n_l, n_y = grad_outputs[0].array, len(self.labels), self.n_y
        n_u = (len(gy) - n_l) // n_y
        g_hx = np.zeros((n_l + n_u, gy.shape[1]), gy.dtype)
        g_WT = np.zeros((n_y, gy.shape[1]), gy.dtype)
        g = np.empty_like(g_hx[n_l:])
        for label in range(n_y):  # a label's rows at a time, in the cache: no full-size g
            self.gradient(gy, slice(n_l + label * n_u, n_l + (label + 1) * n_u), out=g)
            g_hx[n_l:] += g
            g.sum(axis=0, out=g_WT[label])
        self.gradient(gy, slice(0, n_l), out=g_hx[:n_l])
        np.add.at(g_WT, self.labels, g_hx[:n_l])
        return _variables(g_hx, np.ascontiguousarray(g_WT.T))


def labelled_softplus(hx, W, labels, n_y, log1p=False):
    return LabelledSoftplus(labels, n_y, log1p).apply((hx, W))[0]


class LinearHeads(chainer.function_node.FunctionNode):
    """Linear links on the same x, their outputs side by side in one array: one product,
    one gradient into x (where F.linear a link adds a gradient of x's size per link)."""

    def forward_cpu(self, inputs):
        x, params = inputs[0], inputs[1:]
        self.retain_inputs((0,))
        self.W = np.concatenate(params[0::2])
        self.cuts = np.cumsum([len(W) for W in params[0::2]])[:-1]
        y = x.dot(self.W.T)
        y += np.concatenate(params[1::2])
        return y,

    def backward(self, indexes, grad_outputs):
        x, = self.get_retained_inputs()
        g = grad_outputs[0].array
        grads = [g.dot(self.W) if 0 in indexes else None]
        for g_W, g_b in zip(np.split(g.T.dot(x.array), self.cuts),
                            np.split(g.sum(axis=0), self.cuts)):
            grads += [g_W, g_b]
        return _variables(*grads)


def linear_heads(x, *links):
    """The outputs of the Linear ``links`` on ``x``, side by side, from one node."""
    return LinearHeads().apply((x,) + sum(((link.W, link.b) for link in links), ()))[0]


def _halves(stats):
    """The mean and the log variance of a Gaussian given side by side (linear_heads')."""
    half = stats.shape[1] // 2
    return stats[:, :half], stats[:, half:]


class GaussianSampleKL(chainer.function_node.FunctionNode):
    """Of a Gaussian's mean mu and log variance ln_var side by side: z = mu + exp(ln_var / 2)
    eps (F.gaussian with the noise ``eps`` given), and each row's KL(N(mu, exp(ln_var)) ||
    N(0, I)) (the row sums of gaussian_kl_divergence). The halves are copied out first:
    NumPy's exp is vectorised on contiguous arrays only (the same bits, faster)."""

    def __init__(self, eps):
        self.eps = eps

    def forward_cpu(self, inputs):
        mu, ln_var = (np.ascontiguousarray(half) for half in _halves(inputs[0]))
        self.mu = mu
        self.sd = np.exp(ln_var * ln_var.dtype.type(0.5))
        z = self.sd * self.eps
        z += mu
        self.var = np.exp(ln_var)
        kl = mu * mu
        kl += self.var
        kl -= ln_var
        kl -= 1
        return z, kl.sum(axis=1) * kl.dtype.type(0.5)

    def backward(self, indexes, grad_outputs):
        gz, gkl = (None if g is None else g.array for g in grad_outputs)
        g_mu, g_ln_var = np.zeros_like(self.mu), np.zeros_like(self.var)
        if gkl is not None:  # d KL / d mu = mu, d KL / d ln_var = (var - 1) / 2
            np.multiply(gkl[:, None], self.mu, out=g_mu)
            np.subtract(self.var, 1, out=g_ln_var)
            g_ln_var *= gkl[:, None] * 0.5
        if gz is not None:  # d z / d mu = 1, d z / d ln_var = eps sd / 2
            g_mu += gz
            gz = gz * self.eps
            gz *= self.sd
            gz *= 0.5
            g_ln_var += gz
        return _variables(np.concatenate((g_mu, g_ln_var), axis=1))


def gaussian_sample_kl(stats, eps):
    """(z, each row's KL) of the mean and log variance ``stats`` (side by side)."""
    return GaussianSampleKL(eps).apply((stats,))


class M2Objective(chainer.function_node.FunctionNode):
    """M2's objective in one node (fast-2; M2.loss does it with chainer's functions
    otherwise): of each row's -L(x,y) (M2.terms' rows) and the logits of q(y|x) of each
    image (the first ``labels`` labelled), the mean over the images of -L(x_l,y_l) - beta
    log q(y_l|x_l) and -U(x_u) = sum_y q(y|x_u) (-L(x_u,y) + log q(y|x_u)); and, for the
    log, the sums of the three terms (0-d arrays)."""

    def __init__(self, labels, n_y, beta):
        self.labels, self.n_y, self.beta = labels, n_y, beta

    def forward_cpu(self, inputs):
        neg_l, logits = inputs
        n_l, n_images, one = len(self.labels), len(logits), neg_l.dtype.type
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_q = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.q = np.exp(log_q)
        self.terms = neg_l[n_l:].reshape(self.n_y, -1).T + log_q[n_l:]  # (image, label)
        self.neg_u = (self.q[n_l:] * self.terms).sum(axis=1)
        sums = (neg_l[:n_l].sum(), self.neg_u.sum(), -log_q[np.arange(n_l), self.labels].sum())
        total = (sums[0] + one(self.beta) * sums[2] + sums[1]) / one(n_images)
        return tuple(np.asarray(v, neg_l.dtype) for v in (total,) + sums)

    def backward(self, indexes, grad_outputs):
        g_total, g_l, g_u, g_c = (0 if g is None else g.array for g in grad_outputs)
        n_l, q = len(self.labels), self.q
        per_image = g_total / len(q)
        c_l, c_u, c_c = per_image + g_l, per_image + g_u, per_image * self.beta + g_c
        g_neg_l = np.empty(n_l + q[n_l:].size, q.dtype)
        g_neg_l[:n_l] = c_l
        g_neg_l[n_l:] = (c_u * q[n_l:]).T.ravel()  # d -U / d -L(x,y) = q(y|x), label-major
        g_logits = np.empty_like(q)  # d -U / d logit_y = q(y|x) (-L(x,y) + log q(y|x) + U)
        np.subtract(self.terms, self.neg_u[:, None], out=g_logits[n_l:])
        g_logits[n_l:] *= q[n_l:]
        g_logits[n_l:] *= c_u
        g_logits[:n_l] = q[:n_l]  # d -log q(y|x) / d logits = q - one-hot y
        g_logits[np.arange(n_l), self.labels] -= 1
        g_logits[:n_l] *= c_c
        return _variables(g_neg_l, g_logits)


def m2_objective(neg_l, logits, labels, n_y, beta):
    """(the objective, the sums of -L(x_l,y_l), -U(x_u) and -log q(y_l|x_l)): M2Objective."""
    return M2Objective(labels, n_y, beta).apply((neg_l, logits))


def _images_of_rows(n_l, n_u, n_y):
    """The image of each row of M2.terms: the labelled ones, then the unlabelled ones once
    per label, label-major."""
    return np.concatenate((np.arange(n_l), n_l + np.tile(np.arange(n_u), n_y)))


class BernoulliNLLRows(chainer.function_node.FunctionNode):
    """Each row's -log p(x|y,z) of Bernoulli pixels x with the logits given: the row sums
    of F.bernoulli_nll(x, logits, reduce='no') = softplus(logits) - x logits, block by
    block of rows (each block's targets gathered there, never a tiled copy of them)."""

    def __init__(self, x, images, log1p=False):
        self.x, self.images, self.log1p = x, images, log1p

    def forward_cpu(self, inputs):
        logits, = inputs
        nll = np.empty(len(logits), logits.dtype)
        self.gradient = np.empty_like(logits)  # of each entry: sigmoid(logits) - x
        for rows in _row_blocks(logits):
            x, ls, gradient = self.x[self.images[rows]], logits[rows], self.gradient[rows]
            if self.log1p:  # fast-3
                ys = softplus_log1p(ls, sigmoid=gradient)
            else:
                ys, _ = softplus_and_sigmoid(ls, sigmoid=gradient)
            gradient -= x
            x *= ls
            ys -= x
            nll[rows] = ys.sum(axis=1)
        return nll,

    def backward(self, indexes, grad_outputs):
        return _variables(grad_outputs[0].array[:, None] * self.gradient)


class GaussianNLLRows(chainer.function_node.FunctionNode):
    """Each row's -log N(x; mean, exp(ln_var)) of the mean and log variance side by side:
    the row sums of F.gaussian_nll(x, mean, ln_var, reduce='no') = (ln_var + log 2 pi) / 2
    + (x - mean)^2 exp(-ln_var) / 2."""

    def __init__(self, x):
        self.x = x

    def forward_cpu(self, inputs):
        mean, ln_var = _halves(inputs[0])
        self.diff = self.x - mean
        self.prec = np.exp(-ln_var)
        self.power = self.diff * self.diff * self.prec  # (x - mean)^2 / var
        nll = ln_var + self.power
        nll += ln_var.dtype.type(math.log(2 * math.pi))
        return nll.sum(axis=1) * nll.dtype.type(0.5),

    def backward(self, indexes, grad_outputs):
        g = grad_outputs[0].array[:, None]
        return _variables(np.concatenate((-g * self.diff * self.prec,
                                          g * 0.5 * (1 - self.power)), axis=1))


def nll_rows(x_l, x_u, n_y, params, gaussian_x, log1p=False):
    """-log p(x|y,z) of each row of M2.terms (the targets ``x_l``, then ``x_u`` with each of
    the ``n_y`` labels): Bernoulli of the logits ``params`` (its softplus fast-3's with
    ``log1p``), or Gaussian of the mean and log variance ``params`` (side by side)."""
    x, images = np.concatenate((x_l, x_u)), _images_of_rows(len(x_l), len(x_u), n_y)
    if gaussian_x:
        return GaussianNLLRows(x[images]).apply((params,))[0]
    return BernoulliNLLRows(x, images, log1p).apply((params,))[0]
