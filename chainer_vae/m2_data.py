"""What the semi-supervised M2 and M1+M2 (chainer_vae/m2.py) learn from: the papers' split of
MNIST, Kingma's batch layout, and M1's codes as M1+M2's data.

- The split (Kingma, Rezende, Mohamed & Welling 2014, sec. 4.1; Kingma's code,
  dpkingma/nips14-ssl, anglepy/data/mnist.py): the first 50,000 training images are the
  training set, N of them labelled (N / 10 of each digit, a seeded draw) and the rest
  unlabelled; the last 10,000 are the validation set; the 10,000 test images give the
  test error.
- The batches (learn_yz_x_ss.py:190-213 and adam.py:32-39): the labelled and the
  unlabelled images are each shuffled once and cut into as many batches as there are
  steps in an epoch, a labelled and an unlabelled batch a step, in the same order every
  epoch; 100 steps at N = 100 (1 labelled + 499 unlabelled images a step), 200 for the
  larger N (3 + 247, 5 + 245, 15 + 235; run_2layer_ssl.py).
- M1+M2's data (learn_yz_x_ss.py:56-76): M1, a VAE learnt without labels on the 50,000
  (``train_vae.py --dimz 50 --binarize --n-train 50000``), encodes every image once;
  the latent dimensions whose mean code varies (std over the training images > 0.1) are
  kept; M2 learns from a fresh draw z ~ q(z|x) of each image at every step, and
  classifies the validation and test images by their mean codes.
"""
import collections

import numpy as np

from chainer_vae import checkpoint, data, evaluate

KEEP_STD = 0.1  # the kept dimensions of M1's codes: std of their mean over the images above this


SemiSupervised = collections.namedtuple(
    'SemiSupervised', 'x_train y_train x_valid y_valid x_test y_test kept m1_sha256')


def load(dataset, data_dir, n_train, m1_run=None, grey=False):
    """The SemiSupervised data of a run: x_train, indexed by rows, gives the training
    images (M2: dynamically binarised, or the grey levels; M1+M2: a draw of the M1 codes of
    ``m1_run``); the validation and test images as fixed arrays (one binarisation, or
    the grey levels; M1+M2: the mean codes); ``kept``: M1's kept dimensions, and
    ``m1_sha256``: its model file's (checkpoint.model_sha256), or None.
    Without ``data_dir`` an M1+M2 run reads its images where its M1 run read them."""
    m1 = checkpoint.load_run(m1_run) if m1_run else None
    if m1 and data_dir is None:
        data_dir = m1[0]['data']['data_dir']
    d = data.load_set(dataset, data_dir)
    if not 0 < n_train < len(d.x_train):
        raise data.DataError('--n-train %d: %s has %d training images, and the validation set '
                             'is the rest' % (n_train, dataset, len(d.x_train)))
    y_train, y_valid = d.y_train[:n_train], d.y_train[n_train:]
    if m1:
        x_train, x_valid, x_test, kept = m1_codes(m1_run, m1, dataset, n_train, d.x_train,
                                                  d.x_test)
        return SemiSupervised(x_train, y_train, x_valid, y_valid, x_test, d.y_test, kept,
                              checkpoint.model_sha256(m1_run, m1[0]))
    x_train, x_valid, x_test = d.x_train[:n_train], d.x_train[n_train:], d.x_test
    if not grey:  # the paper's dynamic binarisation; the validation and test images drawn once
        x_train = data.Binarized(x_train)
        x_valid, x_test = np.split(data.binarize_test(np.concatenate([x_valid, x_test])),
                                   [len(x_valid)])
    return SemiSupervised(x_train, y_train, x_valid, y_valid, x_test, d.y_test, None, None)


def split(y_train, n_labels, seed):
    """(labelled, unlabelled): the indices of the training images, N / 10 of each digit
    labelled (data.balanced_draw), each set in its own seeded random order."""
    fewest = np.bincount(y_train, minlength=10).min()
    if n_labels // 10 > fewest:
        raise data.DataError('%d labels need %d images of each digit; the training set has %d '
                             'of one' % (n_labels, n_labels // 10, fewest))
    rng = np.random.RandomState(seed)
    labelled = rng.permutation(data.balanced_draw(y_train, n_labels, rng))
    rest = np.setdiff1d(np.arange(len(y_train)), labelled)
    return labelled, rng.permutation(rest)


def batches(labelled, unlabelled, steps):
    """Kingma's layout: [(labelled indices, unlabelled indices)] of each step."""
    return list(zip(np.array_split(labelled, steps), np.array_split(unlabelled, steps)))


def reshuffled(layout):
    """``layout``'s labelled and unlabelled images drawn anew into as many batches (NumPy's
    global generator, so --seed and a resume repeat it): python -m chainer_vae.m2
    --reshuffle, each epoch."""
    labelled, unlabelled = (np.random.permutation(np.concatenate(part)) for part in zip(*layout))
    return batches(labelled, unlabelled, len(layout))


class Codes:
    """M1's codes of images as M2's data: x[rows] is a fresh draw z ~ N(mu, exp(ln_var))
    of those rows, from NumPy's global generator (so --seed and a resume repeat it), as
    data.Binarized draws its pixels."""

    def __init__(self, mu, ln_var):
        self.mu, self.sigma = mu, np.exp(0.5 * ln_var)

    def __len__(self):
        return len(self.mu)

    def __getitem__(self, rows):
        mu = self.mu[rows]
        return (mu + self.sigma[rows] * np.random.standard_normal(mu.shape)).astype(np.float32)


def m1_codes(run_dir, m1_run, dataset, n_train, x_train, x_test):
    """M1+M2's data from the M1 run in ``run_dir`` (``m1_run``: its config and model,
    checkpoint.load_run's): (Codes of the n_train training images, mean codes of the
    validation images, of the test images, the kept dimensions). M1 must have learnt from
    the same data set's first n_train images alone: one that saw the validation images is
    refused (CheckpointError, one line)."""
    config, model = m1_run
    d = config['data']
    if d['n_train'] != n_train or d['dataset'] != dataset:
        seen = ('all %s training images' % d['dataset'] if d['n_train'] is None
                else 'the first %d %s training images' % (d['n_train'], d['dataset']))
        raise checkpoint.CheckpointError(
            '--m1 %s learnt from %s; M1+M2 needs an M1 of the first %d %s images alone (the '
            'rest are its validation set): train_vae.py --dataset %s --n-train %d --binarize'
            % (run_dir, seen, n_train, dataset, dataset, n_train))
    if config['model']['n_in'] != x_train.shape[1]:
        raise checkpoint.CheckpointError('--m1 %s takes images of %d pixels, these have %d'
                                         % (run_dir, config['model']['n_in'], x_train.shape[1]))
    # the grey levels, also for a --binarize M1 (as Kingma's code and chainer_vae.m1 do)
    mu, ln_var = (a.astype(np.float32) for a in evaluate.encode_all(model, x_train))
    kept = np.flatnonzero(mu[:n_train].std(axis=0) > KEEP_STD)
    if not len(kept):
        raise checkpoint.CheckpointError('--m1 %s: no latent dimension varies (std of z_mu > %g)'
                                         % (run_dir, KEEP_STD))
    mu, ln_var = mu[:, kept], ln_var[:, kept]
    test_mu = evaluate.encode_all(model, x_test)[0][:, kept].astype(np.float32)
    return Codes(mu[:n_train], ln_var[:n_train]), mu[n_train:], test_mu, kept
