"""The semi-supervised M2 and M1+M2 of the slides' last part (Kingma, Rezende, Mohamed &
Welling 2014, "Semi-supervised Learning with Deep Generative Models", sec. 2-4, Table 1),
built from the slides' VAE's blocks (chainer_vae/net.py).

    python -m chainer_vae.m2 --labels 100 --m1 M1_RUN -o RUN_DIR   # M1+M2
    python -m chainer_vae.m2 --labels 3000 -o RUN_DIR               # M2 on the pixels
    python -m chainer_vae.m2 --resume-from RUN_DIR [--epoch E]      # go on after a stop
    python -m chainer_vae.m2 --labels 3000 --gpu 0 -o RUN_DIR       # ... on GPU 0 (CuPy)

Story: flags -> data (chainer_vae/m2_data.py) -> the model (M2 below) -> the run folder
(chainer_vae.checkpoint.RunFolder: config.json, log.csv, checkpoint.npz each epoch) -> the
loop (``learn``).

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

their mean over the step's images, plus the N(0, I) prior on the weights as weight decay
1 / 50,000. q(y|x) is x-H-10, q(z|x,y) (x,y)-H-(mu, ln var), p(x|y,z) (y,z)-H-x, softplus,
H = 500 hidden units (Kingma's M1+M2 at N = 100: 300, run_2layer_ssl.py), z of 50
dimensions; weights drawn from N(0, 0.001^2), biases 0; Adam with lr 3e-4, beta1 0.9,
beta2 0.999; Kingma's batches (chainer_vae/m2_data.py).

M2 learns from the dynamically binarised pixels (``--grey``: the grey levels), a Bernoulli
p(x|y,z). M1+M2 (``--m1 M1_RUN``) learns from the codes of M1 (a VAE learnt by
``python train_vae.py --dimz 50 --binarize --n-train 50000``), a Gaussian p(x|y,z) with a
learnt mean and log variance for each dimension. Each epoch the validation and test
error of q(y|x) (its most probable label) go to log.csv; ``python -m
chainer_vae.m2_results`` puts the runs beside Table 1.

Where this differs from Kingma's code: chainer's Adam corrects its moments' initial bias
and adds eps = 1e-8 (the code's, adam.py:48-55, computes the correction and does not use
it); one z is drawn for each of the 10 labels of an image in one pass, as there; on the
CPU softplus is chainer's with a faster forward, within 5 ulp of the exact value and not
chainer's bits (chainer_vae/cpu_kernels.py, 5.; the runs in results/m2 of before the
*_g600e172 ones had chainer's).
``--init chainer`` (opt-in, not Kingma's) starts from chainer's default weights, N(0, 1 /
inputs), as re-implementations that start from their framework's default do;
``--n-hidden`` departs from his hidden units, ``--reshuffle`` from his batches, cut once;
m2_results names each departure.

On a GPU (``--gpu N``, CuPy) the images of each step are drawn on the host as on the CPU
and sent to the GPU; CuPy draws the noise of z, and as it cannot export its generator, a
resumed GPU run repeats the batches and the pixels but not that noise (as train_vae.py).
"""
import argparse
import json
import math
import os

import numpy as np

import chainer
import chainer.functions as F
import chainer.links as L
from chainer import initializers
from chainer.functions.loss.vae import gaussian_kl_divergence
from chainer.optimizer_hooks import WeightDecay

from chainer_vae import (checkpoint, cli, config, cpu_kernels, data, files, gpu, m2_data, progress,
                         train)

PROG = 'm2'
COMMAND = 'python -m chainer_vae.m2'
MODELS = ('M2', 'M1+M2')  # config.json's "model"
LOG_COLUMNS = ('epoch', 'loss', 'labelled_loss', 'unlabelled_loss', 'classification_loss',
               'valid_error', 'test_error', 'wall_time')  # log.csv's (chainer_vae/runlog.py)
ALPHA = 0.1  # the weight of the labelled images' classification term, per image of the set
INIT_SD = 0.001  # Kingma's init_w(1e-3)
INITS = ('kingma', 'chainer')  # --init: N(0, INIT_SD^2), or chainer's default (LeCunNormal)
KINGMA_INIT = INITS[0]
ADAM = dict(alpha=3e-4, beta1=0.9, beta2=0.999)  # the paper, sec. 4.4; learn_yz_x_ss.py:307


def hidden_of(n_labels, m1):
    """Kingma's hidden units: 300 for M1+M2 below N = 600, else 500 (run_2layer_ssl.py;
    the paper's M2 on pixels: 500)."""
    return 300 if m1 and n_labels < 600 else 500


def one_hot(labels, n_y, dtype=np.float32):
    xp = chainer.backend.get_array_module(labels)
    return xp.eye(n_y, dtype=dtype)[labels]


class M2(chainer.Chain):
    """p(x|y,z), q(z|x,y) and q(y|x) of M2; x of n_x values (pixels, or M1's codes)."""

    def __init__(self, n_x, n_h=500, n_z=50, n_y=10, gaussian_x=False,
                 init=KINGMA_INIT):
        super(M2, self).__init__()
        self.n_y, self.gaussian_x = n_y, gaussian_x
        w = initializers.Normal(INIT_SD) if init == KINGMA_INIT else None  # None: chainer's
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

    def classify(self, x):
        """The logits of q(y|x)."""
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

    def terms(self, x_l, y_l, x_u):
        """Per image: -L(x,y) and -log q(y|x) of the labelled (x_l, y_l), -U(x) of the
        unlabelled x_u. The unlabelled images go through q(z|x,y) and p(x|y,z) once with
        each label, in one pass beside the labelled ones."""
        n_l, n_u, n_y, xp = len(x_l), len(x_u), self.n_y, self.xp
        x = F.concat((x_l, x_u), axis=0)
        hx = self.qz_x(x)
        rows = F.concat((hx[:n_l], F.tile(hx[n_l:], (n_y, 1))), axis=0)  # label-major
        labels = xp.concatenate((y_l, xp.repeat(xp.arange(n_y, dtype=y_l.dtype), n_u)))
        neg_l = self.neg_elbo(F.concat((x_l, F.tile(x_u, (n_y, 1))), axis=0), rows, labels)
        logits = self.classify(x)
        log_q = F.log_softmax(logits[n_l:])
        neg_l_u = F.transpose(F.reshape(neg_l[n_l:], (n_y, n_u)))  # (image, label)
        neg_u = F.sum(F.exp(log_q) * (neg_l_u + log_q), axis=1)  # sum_y q (-L) - H(q)
        return neg_l[:n_l], F.softmax_cross_entropy(logits[:n_l], y_l, reduce='no'), neg_u

    def loss(self, x_l, y_l, x_u, beta):
        """The step's objective: the mean over its images of the labelled images'
        -L(x,y) - beta log q(y|x) and the unlabelled ones' -U(x); its terms (their sums)
        are kept in ``self.sums`` for the log."""
        neg_l, neg_log_q, neg_u = self.terms(x_l, y_l, x_u)
        self.sums = tuple(F.sum(t) for t in (neg_l, neg_u, neg_log_q))
        labelled, unlabelled, classification = self.sums
        self.total = (labelled + beta * classification + unlabelled) / (len(x_l) + len(x_u))
        return self.total


def optimizer_for(model, n_train):
    """Adam, and the N(0, I) prior of the weights as weight decay 1 / n_train: Kingma's
    code adds the prior's gradient divided by the number of images (learn_yz_x_ss.py:
    289-296) on every weight of q(z|x,y) and p(x|y,z) (VAE_YZ_X.py:124-144) and on the
    classifier's weights and biases (MLP_Categorical.py:34-36)."""
    optimizer = cpu_kernels.Adam(**ADAM)  # chainer's arithmetic (chainer_vae/cpu_kernels.py)
    optimizer.setup(model)
    for name, param in model.namedparams():
        if name.endswith('/W') or name.startswith('/qy_'):
            param.update_rule.add_hook(WeightDecay(1.0 / n_train))
    return optimizer


def train_epoch(model, optimizer, x_train, y_train, layout, beta, epoch, update=None):
    """One pass over the training images in the batches of ``layout``; the means of the
    loss, -L of the labelled, -U of the unlabelled and -log q(y|x) of the labelled.
    ``update(epoch, step)`` is told of each step (progress.bar's). The images are drawn
    on the host and sent to the model's device step by step, as the notebook did."""
    sums, xp = np.zeros(4), model.xp
    for i, (labelled, unlabelled) in enumerate(layout):
        x_l, x_u = xp.asarray(x_train[labelled]), xp.asarray(x_train[unlabelled])
        optimizer.update(model.loss, x_l, xp.asarray(y_train[labelled]), x_u, beta)
        train.finite(model.total, epoch, 'training', i)
        sums += [float(model.total.array) * (len(x_l) + len(x_u))] + [
            float(s.array) for s in model.sums]
        if update:
            update(epoch, i + 1)
    n_l = sum(len(labelled) for labelled, _ in layout)
    return tuple(sums / [len(x_train), n_l, len(x_train) - n_l, n_l])


def error_percent(model, x, y, batchsize=2000):
    """Test error % of q(y|x): the share of images whose most probable label is not y."""
    wrong, xp = 0, model.xp
    with chainer.no_backprop_mode():
        for i in range(0, len(x), batchsize):
            logits = model.classify(xp.asarray(x[i:i + batchsize])).array
            wrong += int((logits.argmax(axis=1) != xp.asarray(y[i:i + batchsize])).sum())
    return 100.0 * wrong / len(x)


def learn(model, optimizer, d, layout, beta, folder, n_epoch, update=None, reshuffle=False):
    """The epochs after ``folder``'s last (a checkpoint.RunFolder, open) to n_epoch, each
    ending with its checkpoint and log.csv row; ``reshuffle``: each in batches drawn anew
    from ``layout`` (not from the epoch before's: a resumed run draws them as the whole)."""
    for epoch in range(folder.epoch + 1, n_epoch + 1):
        print('epoch', epoch)
        batches = m2_data.reshuffled(layout) if reshuffle else layout
        losses = train_epoch(model, optimizer, d.x_train, d.y_train, batches, beta, epoch,
                             update)
        print('train loss=%.4f: labelled -L(x,y)=%.4f, unlabelled -U(x)=%.4f, '
              '-log q(y|x)=%.4f' % losses)
        errors = (error_percent(model, d.x_valid, d.y_valid),
                  error_percent(model, d.x_test, d.y_test))
        print('validation error=%.2f%%, test error=%.2f%%' % errors)
        folder.end_epoch(model, optimizer, losses + errors)  # checkpoint.npz, then log.csv


# ---- the run's settings: config.json -------------------------------------------------------

def _positive(v):
    return type(v) is int and v > 0


def _path(v):
    return v is None or isinstance(v, str)


# what a resumed run takes from its config.json's "flags", refusing a different value
# given, and what each must be there
RUN_SETTINGS = {
    'labels': _positive, 'm1': _path, 'n_train': _positive,
    'dataset': lambda v: v in data.DATASETS, 'data_dir': _path,
    'grey': lambda v: type(v) is bool, 'n_hidden': _positive, 'dimz': _positive,
    'steps': lambda v: v is None or _positive(v),
    'seed': lambda v: type(v) is int and 0 <= v < 2 ** 32, 'init': lambda v: v in INITS,
    'reshuffle': lambda v: type(v) is bool,
}
PATH_SETTINGS = ('m1', 'data_dir')  # kept absolute
LATER_SETTINGS = {'init': KINGMA_INIT, 'reshuffle': False}  # what a run from before these ran with
NAMED_SETTINGS = tuple(n for n in RUN_SETTINGS if n not in LATER_SETTINGS)  # in every config.json


def run_config(args, d, beta, layout):
    """config.json: the flags (what --resume-from takes back), what follows from them and
    from the data ``d`` (m2_data.SemiSupervised), the versions."""
    flags = {name: getattr(args, name) for name in tuple(RUN_SETTINGS) + ('epoch', 'gpu')}
    for name in PATH_SETTINGS:
        flags[name] = flags[name] and os.path.abspath(flags[name])
    kept = None if d.kept is None else d.kept.tolist()
    return {'model': MODELS[bool(args.m1)], 'flags': flags,
            'derived': {'n_x': d.x_valid.shape[1], 'm1_dims_kept': kept,
                        'm1_model_sha256': d.m1_sha256, 'beta': beta,
                        'weight_decay': 1.0 / args.n_train, 'adam': ADAM,
                        'steps': len(layout), 'labelled_per_step': len(layout[0][0]),
                        'unlabelled_per_step': len(layout[0][1])},
            'versions': config.versions(args.gpu)}


def read_config(path):
    """The M2 run config at ``path``, its model and flags checked; ConfigError (one line)
    for anything else."""
    try:
        with open(path) as f:
            run = json.load(f)
        model, flags = run['model'], run['flags']
        flags = dict({name: flags[name] for name in NAMED_SETTINGS + ('epoch',)},
                     gpu=flags.get('gpu', -1),  # a run from before --gpu: the CPU
                     **{name: flags.get(name, v) for name, v in LATER_SETTINGS.items()})
    except (OSError, ValueError, TypeError, KeyError, RecursionError) as e:
        why = getattr(e, 'strerror', None) or ('no %s' % e if isinstance(e, KeyError) else e)
        raise config.ConfigError('%s: not an M2 run config (%s)' % (path, why)) from None
    if model not in MODELS:
        raise config.ConfigError('%s: model is invalid: %r' % (path, model))
    derived = run.get('derived', {})
    if not isinstance(derived, dict):
        raise config.ConfigError('%s: derived is invalid: %r' % (path, derived))
    for name, fits in list(RUN_SETTINGS.items()) + [('epoch', _positive),
                                                    ('gpu', lambda v: type(v) is int)]:
        if not fits(flags[name]):
            raise config.ConfigError('%s: flags.%s is invalid: %r' % (path, name, flags[name]))
    return dict(run, flags=flags, derived=derived)


DATA_DERIVED = ('m1_model_sha256', 'm1_dims_kept', 'n_x')  # what a resumed run's data must keep


def check_same_data(out, run, before):
    """A resumed run learns from the data it began with: CheckpointError (one line) if
    what config.json's "derived" says of them (``before``; a config older than
    m1_model_sha256 lacks it) differs from ``run``'s, as when the M1 of an M1+M2 run was
    trained on since."""
    for name in DATA_DERIVED:
        if name in before and before[name] != run['derived'][name]:
            m1 = run['flags']['m1']
            what = ('its M1 run %s has changed since it began' % m1 if m1
                    else 'its images have changed since it began')
            raise checkpoint.CheckpointError(
                'cannot resume %s: %s (config.json\'s derived.%s was %s, is now %s); it goes '
                'on only with the data it began with' % (out, what, name, before[name],
                                                        run['derived'][name]))


def settings_of_run(args, given):
    """The flags of a resumed run: its settings from config.json, with --epoch if given;
    flags that contradict them refused (checkpoint.CheckpointError)."""
    out = args.resume_from
    if 'out' in given and os.path.abspath(args.out) != os.path.abspath(out):
        raise checkpoint.CheckpointError('--out %s: a resumed run stays in its folder %s'
                                         % (args.out, out))
    done = checkpoint.saved_epoch(out)
    if done is None:
        raise checkpoint.CheckpointError('--resume-from %s: no readable %s there (no epoch of '
                                         'that run finished)' % (out, files.CHECKPOINT))
    try:
        flags = read_config(os.path.join(out, files.CONFIG))['flags']
        problem = settings_problem(argparse.Namespace(**flags))
        if problem:
            raise config.ConfigError('%s: %s' % (files.CONFIG, problem))
    except config.ConfigError as e:
        raise checkpoint.CheckpointError('cannot resume %s: %s' % (out, e)) from None
    for name in RUN_SETTINGS:
        value = getattr(args, name)
        if name in PATH_SETTINGS and value:
            value = os.path.abspath(value)
        if name in given and value != flags[name]:
            raise checkpoint.CheckpointError(
                '--%s %s: the run in %s was made with %s; a resumed run keeps its settings'
                % (name.replace('_', '-'), getattr(args, name), out, flags[name]))
    resumed = argparse.Namespace(**dict(vars(args), **flags))
    resumed.epoch = args.epoch if 'epoch' in given else flags['epoch']
    resumed.gpu = args.gpu if 'gpu' in given else flags['gpu']  # --gpu -1 goes on on the CPU
    if resumed.epoch <= done:
        raise checkpoint.CheckpointError(
            '--epoch %d: the run in %s has finished %d epochs; --epoch N above %d extends it'
            % (resumed.epoch, out, done, done))
    resumed.out = out
    return resumed


# ---- the command ---------------------------------------------------------------------

def make_parser():
    p = cli.Parser(prog=COMMAND, name=PROG, description=__doc__)
    p.add_argument('--gpu', '-g', type=int, default=-1,
                   help='GPU ID (negative value indicates CPU); needs CuPy')
    p.add_argument('--labels', type=cli.positive_int, default=100, metavar='N',
                   help='labelled training images, N / 10 of each digit (a multiple of 10; '
                        'Table 1: 100, 600, 1000, 3000)')
    p.add_argument('--m1', metavar='M1_RUN', type=cli.existing_dir,
                   help='M1+M2: learn from the codes of this M1 run (train_vae.py --dimz 50 '
                        '--binarize --n-train 50000); without it M2 learns from the pixels')
    p.add_argument('--epoch', '-e', type=cli.positive_int, default=1000,
                   help='epochs (passes over the training images); Kingma ran 3000')
    p.add_argument('--seed', type=cli.seed, default=0,
                   help='seeds the labelled draw, the batches, the weights and the noise '
                        '(default: %(default)s)')
    p.add_argument('--n-train', type=cli.positive_int, default=50000, metavar='N',
                   help='the first N training images are the training set, the rest the '
                        'validation set (the papers\' 50000 + 10000)')
    p.add_argument('--steps', type=cli.positive_int, metavar='S',
                   help='steps an epoch (default: Kingma\'s, 100 for N < 600, else 200)')
    p.add_argument('--n-hidden', type=cli.positive_int, metavar='H',
                   help='units of the hidden layer of each network (default: Kingma\'s, 300 '
                        'for M1+M2 below 600 labels, else 500)')
    p.add_argument('--dimz', '-z', type=cli.positive_int, default=50, help='dimensions of z')
    p.add_argument('--init', choices=INITS, default=KINGMA_INIT,
                   help='the weights\' first values: Kingma\'s N(0, 0.001^2), or chainer\'s '
                        'default, N(0, 1 / inputs) (default: %(default)s)')
    p.add_argument('--reshuffle', action='store_true',
                   help='draw the images into the batches anew every epoch (Kingma\'s code '
                        'cuts them once)')
    p.add_argument('--grey', action='store_true',
                   help='M2: the grey levels, not the dynamically binarised pixels')
    p.add_argument('--dataset', choices=data.DATASETS, default='mnist',
                   help='MNIST, or a data set read the same way (sample: the bundled subset)')
    p.add_argument('--data-dir', help='the four IDX .gz files of --dataset (without it: the '
                                      'cache, or the --m1 run\'s data_dir)')
    p.add_argument('--out', '-o', default='result_m2',
                   help='run folder: config.json, log.csv, checkpoint.npz')
    p.add_argument('--force', action='store_true',
                   help='replace an earlier run in --out (the files it wrote are removed)')
    p.add_argument('--resume-from', metavar='RUN_DIR', type=cli.existing_dir,
                   help='continue the run in RUN_DIR after its last checkpoint, with its '
                        'settings (--epoch may extend it)')
    return p


def settings_problem(args):
    """What is wrong with a run's settings taken together, or None."""
    if args.labels % 10 or args.labels > args.n_train:
        return ('--labels %d: must be a multiple of 10 (N / 10 of each digit) and at most '
                '--n-train %d' % (args.labels, args.n_train))
    if args.steps and args.steps > args.labels:
        return ('--steps %d: more steps than the %d labelled images (each step takes at least '
                'one)' % (args.steps, args.labels))
    if args.m1 and args.grey:
        return '--grey: M1+M2 learns from M1\'s codes, not the pixels'
    return None


def parse_args(argv=None):
    """The flags, checked, and the set of those given on the command line."""
    parser = make_parser()
    args, given = cli.parse_given(parser, argv)
    problem = None if args.resume_from else settings_problem(args)
    if problem:
        parser.error(problem)
    if args.n_hidden is None and not args.resume_from:
        args.n_hidden = hidden_of(args.labels, args.m1)
    return args, given


def main(argv=None):
    args, given = parse_args(argv)
    with cli.command(PROG, writes_in='--out %s' % (args.resume_from or args.out)) as this:
        run(args, given, this)


def run(args, given, this):
    resuming = bool(args.resume_from)
    if resuming:
        args = settings_of_run(args, given)
    cpu_kernels.configure()
    xp = gpu.array_module(args.gpu)  # numpy, or cupy once the GPU is known to work
    np.random.seed(args.seed)  # the draw, the batches, the weights (and the pixels or codes)
    if xp is not np:
        xp.random.seed(args.seed)  # the noise of z on the GPU
    d = m2_data.load(args.dataset, args.data_dir, args.n_train, args.m1, args.grey)
    labelled, unlabelled = m2_data.split(d.y_train, args.labels, args.seed)
    layout = m2_data.batches(labelled, unlabelled, args.steps or m2_data.steps_of(args.labels))
    beta = ALPHA * args.n_train / args.labels
    written = run_config(args, d, beta, layout)
    if resuming:
        check_same_data(args.out, written,
                        read_config(os.path.join(args.out, files.CONFIG))['derived'])
    model = M2(d.x_valid.shape[1], args.n_hidden, args.dimz, gaussian_x=bool(args.m1),
               init=args.init)
    if args.gpu >= 0:
        chainer.backends.cuda.get_device_from_id(args.gpu).use()
        model.to_gpu()
    optimizer = optimizer_for(model, args.n_train)

    # the run folder: locked until this process ends; a resumed run goes on from its
    # checkpoint (weights, Adam, NumPy's generator, log.csv)
    folder = checkpoint.RunFolder(args.out, args.dimz, LOG_COLUMNS).open(force=args.force,
                                                                         resume=resuming)
    this.kept = lambda: folder.resume_hint(COMMAND)
    if resuming:
        folder.restore(model, optimizer)
    folder.write_config(written)
    with progress.bar(folder.epoch, args.epoch, len(layout), 1) as update:
        learn(model, optimizer, d, layout, beta, folder, args.epoch, update, args.reshuffle)


if __name__ == '__main__':
    main()
