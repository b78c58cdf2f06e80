"""The original learning loop of the 2017 notebook (chainer's v1/v2 examples/vae).

It prints the legacy lines exactly, writes graph.dot at epoch 1, i = 0, and saves
mlp_<n_latent>.model / .state at the end. Beside them it writes log.csv (the
printed numbers of each epoch and the wall time, a row as each epoch ends) and,
just before that row, checkpoint.npz: a resumed run (``start_epoch``) goes on from there.
"""
import csv
import math
import os
import time

import numpy as np
import six

import chainer
from chainer import computational_graph

from chainer_vae import checkpoint, interrupt

LOG_FIELDS = ('epoch', 'train_loss', 'train_rec_loss', 'test_loss', 'test_rec_loss', 'wall_time')


class TrainingError(Exception):
    """The run cannot go on (a NaN loss); the message is one line for the user."""


def finite(loss, epoch, split, i):
    if not math.isfinite(float(loss.data)):
        raise TrainingError('the loss became %s at epoch %d, %s batch %d'
                            % (float(loss.data), epoch, split, i))


def one_process(*sums):
    return sums


def train(model, optimizer, x_train, x_test, n_epoch=100, batchsize=100, xp=np, out='.',
          start_epoch=1, elapsed=0.0, total=one_process):
    """Train as the notebook did; return this call's per-epoch rows, also in out/log.csv.
    A resumed run starts at ``start_epoch``, its log.csv holding the rows before it
    and ``elapsed`` seconds of wall time. ``total`` adds the loss sums over the MPI
    ranks of a data-parallel run (chainer_vae/mpi.py)."""
    N, N_test = len(x_train), len(x_test)
    start = time.time() - elapsed
    rows = []
    mode = 'w' if start_epoch == 1 else 'a'  # a resumed run appends
    with open(os.path.join(out, 'log.csv'), mode, newline='') as log_file:
        log = csv.writer(log_file)
        if start_epoch == 1:
            log.writerow(LOG_FIELDS)
        for epoch in six.moves.range(start_epoch, n_epoch + 1):
            print('epoch', epoch)

            # training
            perm = np.random.permutation(N)
            sum_loss = 0       # total loss
            sum_rec_loss = 0   # reconstruction loss
            for i in six.moves.range(0, N, batchsize):
                x = chainer.Variable(xp.asarray(x_train[perm[i:i + batchsize]]))
                optimizer.update(model.get_loss_func(), x)
                if epoch == 1 and i == 0:
                    with open(os.path.join(out, 'graph.dot'), 'w') as o:
                        g = computational_graph.build_computational_graph((model.loss,))
                        o.write(g.dump())
                    print('graph generated')
                finite(model.loss, epoch, 'training', i)
                sum_loss += float(model.loss.data) * len(x.data)
                sum_rec_loss += float(model.rec_loss.data) * len(x.data)
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
                    loss_func = model.get_loss_func(k=10)
                    loss_func(x)
                    finite(model.loss, epoch, 'test', i)
                    sum_loss += float(model.loss.data) * len(x.data)
                    sum_rec_loss += float(model.rec_loss.data) * len(x.data)
                    del model.loss
            sum_loss, sum_rec_loss = total(sum_loss, sum_rec_loss)
            test_loss, test_rec_loss = sum_loss / N_test, sum_rec_loss / N_test
            print('test  mean loss={}, mean reconstruction loss={}'
                  .format(test_loss, test_rec_loss))

            row = (epoch, train_loss, train_rec_loss, test_loss, test_rec_loss,
                   round(time.time() - start, 3))
            with interrupt.deferred():  # a signal waits: the checkpoint comes with its row
                checkpoint.save(out, model, optimizer, row)  # the resume point, the row inside
                log.writerow(row)
                log_file.flush()
            rows.append(row)

    model_path, state_path = checkpoint.legacy_paths(out, model.le3_mu.out_size)
    with interrupt.deferred():  # the pair is written whole, not one file of it
        checkpoint.save_npz_atomic(model_path, model)
        checkpoint.save_npz_atomic(state_path, optimizer)
    return rows
