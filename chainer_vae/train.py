"""The original learning loop of the 2017 notebook (chainer's v1/v2 examples/vae).

It prints the legacy lines exactly, writes graph.dot at epoch 1, i = 0, and saves
mlp_<n_latent>.model / .state at the end. Beside them it writes log.csv: the
printed numbers of each epoch and the wall time, one row as each epoch ends.
"""
import csv
import math
import os
import time

import numpy as np
import six

import chainer
from chainer import computational_graph, serializers

LOG_FIELDS = ('epoch', 'train_loss', 'train_rec_loss', 'test_loss', 'test_rec_loss', 'wall_time')


class TrainingError(Exception):
    """The run cannot go on (a NaN loss); the message is one line for the user."""


def checkpoint_paths(out, n_latent):
    """Where the loop saves the model and the optimizer: mlp_<n_latent>.model / .state."""
    stem = os.path.join(out, 'mlp_%d' % n_latent)
    return stem + '.model', stem + '.state'


def save_npz_atomic(path, obj):
    """serializers.save_npz through a temporary file: an interrupt never leaves half a file."""
    tmp = path + '.tmp'
    try:
        with open(tmp, 'wb') as f:
            serializers.save_npz(f, obj)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def load_npz_safe(path, obj):
    """serializers.load_npz without pickle (chainer's own passes allow_pickle=True)."""
    with np.load(path, allow_pickle=False) as npz:
        serializers.NpzDeserializer(npz).load(obj)


def _batch_losses(model, x, sum_loss, sum_rec_loss, where):
    loss = float(model.loss.data)
    if not math.isfinite(loss):
        raise TrainingError('the loss became %s at %s' % (loss, where))
    n = len(x.data)
    return sum_loss + loss * n, sum_rec_loss + float(model.rec_loss.data) * n


def train(model, optimizer, x_train, x_test, n_epoch=100, batchsize=100, xp=np, out='.'):
    """Train as the notebook did; return the per-epoch rows also written to out/log.csv."""
    N, N_test = len(x_train), len(x_test)
    start = time.time()
    rows = []
    with open(os.path.join(out, 'log.csv'), 'w', newline='') as log_file:
        log = csv.writer(log_file)
        log.writerow(LOG_FIELDS)
        for epoch in six.moves.range(1, n_epoch + 1):
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
                sum_loss, sum_rec_loss = _batch_losses(
                    model, x, sum_loss, sum_rec_loss, 'epoch %d, training batch %d' % (epoch, i))
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
                    sum_loss, sum_rec_loss = _batch_losses(
                        model, x, sum_loss, sum_rec_loss, 'epoch %d, test batch %d' % (epoch, i))
                    del model.loss
            test_loss, test_rec_loss = sum_loss / N_test, sum_rec_loss / N_test
            print('test  mean loss={}, mean reconstruction loss={}'
                  .format(test_loss, test_rec_loss))

            row = (epoch, train_loss, train_rec_loss, test_loss, test_rec_loss,
                   round(time.time() - start, 3))
            log.writerow(row)
            log_file.flush()
            rows.append(row)

    model_path, state_path = checkpoint_paths(out, model.le3_mu.out_size)
    save_npz_atomic(model_path, model)
    save_npz_atomic(state_path, optimizer)
    return rows
