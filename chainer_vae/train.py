"""The original learning loop of the 2017 notebook (chainer's v1/v2 examples/vae).

It prints the legacy lines exactly, writes graph.dot at epoch 1, i = 0, and saves
mlp_<n_latent>.model / .state at the end. Beside them the run folder
(chainer_vae/checkpoint.py) keeps, as each epoch ends, checkpoint.npz and log.csv (the
printed numbers and the wall time): a resumed run goes on after the folder's last epoch.
"""
import math

import numpy as np
import six

import chainer
from chainer import computational_graph

from chainer_vae import errors


class TrainingError(errors.Failure):
    """The run cannot go on (a NaN loss); the message is one line for the user."""


def finite(loss, epoch, split, i):
    if not math.isfinite(float(loss.data)):
        raise TrainingError('the loss became %s at epoch %d, %s batch %d'
                            % (float(loss.data), epoch, split, i))


def train(model, optimizer, x_train, x_test, folder, n_epoch=100, batchsize=100, xp=np,
          total=None, progress=None, C=1.0, k=1):
    """Train as the notebook did, from the epoch after ``folder``'s last (a
    checkpoint.RunFolder, open). ``total`` adds the loss sums over the MPI ranks of a
    data-parallel run (chainer_vae/mpi.py); ``progress(epoch, i)`` is told of each
    training batch (chainer_vae/progress.py). ``C`` weights the KL term and ``k`` is the
    samples of z an image in training (the slides' get_loss_func(C, k); the legacy: 1, 1)."""
    N, N_test = len(x_train), len(x_test)
    for epoch in six.moves.range(folder.epoch + 1, n_epoch + 1):
        print('epoch', epoch)

        # training
        perm = np.random.permutation(N)
        sum_loss = 0       # total loss
        sum_rec_loss = 0   # reconstruction loss
        for i in six.moves.range(0, N, batchsize):
            x = chainer.Variable(xp.asarray(x_train[perm[i:i + batchsize]]))
            optimizer.update(model.get_loss_func(C, k), x)
            if epoch == 1 and i == 0:
                g = computational_graph.build_computational_graph((model.loss,))
                folder.write_graph(g.dump())
                print('graph generated')
            finite(model.loss, epoch, 'training', i)
            sum_loss += float(model.loss.data) * len(x.data)
            sum_rec_loss += float(model.rec_loss.data) * len(x.data)
            if progress:
                progress(epoch, i + batchsize)
        if total:
            sum_loss, sum_rec_loss = total(sum_loss, sum_rec_loss)
        train_loss, train_rec_loss = sum_loss / N, sum_rec_loss / N
        print('train mean loss={}, mean reconstruction loss={}'
              .format(train_loss, train_rec_loss))

        # evaluation: -ELBO with k = 10 samples of z
        sum_loss = 0
        sum_rec_loss = 0
        with chainer.no_backprop_mode():
            for i in six.moves.range(0, N_test, batchsize):
                x = chainer.Variable(xp.asarray(x_test[i:i + batchsize]))
                loss_func = model.get_loss_func(C, k=10)
                loss_func(x)
                finite(model.loss, epoch, 'test', i)
                sum_loss += float(model.loss.data) * len(x.data)
                sum_rec_loss += float(model.rec_loss.data) * len(x.data)
                del model.loss
        if total:
            sum_loss, sum_rec_loss = total(sum_loss, sum_rec_loss)
        test_loss, test_rec_loss = sum_loss / N_test, sum_rec_loss / N_test
        print('test  mean loss={}, mean reconstruction loss={}'
              .format(test_loss, test_rec_loss))

        # the resume point: checkpoint.npz, then the epoch's row of log.csv
        folder.end_epoch(model, optimizer, (train_loss, train_rec_loss, test_loss,
                                            test_rec_loss))

    folder.finish(model, optimizer)  # mlp_<n_latent>.model / .state
    return folder.rows
