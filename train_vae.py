#!/usr/bin/env python
"""Train the VAE of the slides on MNIST, as the 2017 notebook did.

    python train_vae.py --gpu 0                        # the legacy run, on a GPU
    python train_vae.py --dataset sample --epoch 10    # quick, on the bundled subset

Story: flags -> data (chainer_vae.data) -> model (chainer_vae.net.VAE) ->
the original learning loop (chainer_vae.train) -> files in --out.
"""
import argparse
import json
import os
import sys
import zipfile

import numpy as np

import chainer_vae  # noqa: F401  (revives chainer before it is imported below)
import chainer
from chainer import optimizers

from chainer_vae import data, download, gpu, net, train

class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not usage + message
        self.exit(2, '%s: error: %s\n' % (self.prog, message))


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be a positive integer, got %s' % text)
    return value


def parse_args(argv=None):
    p = Parser(prog='train_vae.py', description='Chainer example: VAE (the 2017 notebook, revived)')
    p.add_argument('--gpu', '-g', type=int, default=-1,
                   help='GPU ID (negative value indicates CPU); needs CuPy')
    p.add_argument('--epoch', '-e', type=positive_int, default=100,
                   help='number of epochs to learn')
    p.add_argument('--dimz', '-z', type=positive_int, default=20,
                   help='dimension of the latent space z')
    p.add_argument('--batchsize', '-b', type=positive_int, default=100,
                   help='learning minibatch size')
    p.add_argument('--n-hidden', type=positive_int, default=500,
                   help='units in each hidden layer')
    p.add_argument('--activation', choices=sorted(net.ACTIVATIONS), default='softplus',
                   help='activation of the hidden layers (the legacy run used softplus)')
    p.add_argument('--initmodel', '-m', default='',
                   help='initialize the model from given file (mlp_<dimz>.model)')
    p.add_argument('--resume', '-r', default='',
                   help='resume the optimization from snapshot (mlp_<dimz>.state)')
    p.add_argument('--test', action='store_true',
                   help='legacy test mode: the first 100 images, 30 to train and 70 to test')
    p.add_argument('--out', '-o', default='result',
                   help='directory for graph.dot, log.csv, config.json and the mlp_<dimz> files')
    p.add_argument('--seed', type=int, default=None,
                   help='seed NumPy (and CuPy) so that a run can be repeated exactly')
    p.add_argument('--dataset', choices=('mnist', 'sample'), default='mnist',
                   help="'mnist': the full set, from --data-dir or else the cache "
                        "(downloaded from a mirror the first time); "
                        "'sample': the 4,000 + 1,000 digits shipped in the package")
    p.add_argument('--data-dir', default=None,
                   help='directory holding the four MNIST IDX .gz files (no download)')
    return p.parse_args(argv)


def fail(message, code=1):
    sys.stderr.write('train_vae.py: error: %s\n' % message)
    sys.exit(code)


def load_checkpoint(path, obj, flag):
    if not os.path.isfile(path):
        fail('%s %s: file not found' % (flag, path))
    if not zipfile.is_zipfile(path):
        fail('%s %s is not an .npz checkpoint written by this program' % (flag, path))
    try:
        train.load_npz_safe(path, obj)
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as e:
        fail('%s %s does not fit this model (check --dimz and --n-hidden): %s'
             % (flag, path, str(e).splitlines()[0] if str(e) else type(e).__name__))


def main(argv=None):
    args = parse_args(argv)
    try:
        run(args)
    except KeyboardInterrupt:  # before training started: nothing was written
        fail('interrupted', 130)


def run(args):
    try:
        xp = gpu.array_module(args.gpu)  # numpy, or cupy once the GPU is known to work
    except gpu.GPUError as e:
        fail(e)
    if args.seed is not None:
        np.random.seed(args.seed)
        if xp is not np:
            xp.random.seed(args.seed)

    try:
        x_train, x_test, _, _ = data.load(args.dataset, args.data_dir)
    except (data.DataError, download.DownloadError) as e:
        fail(e)
    if args.test:  # the legacy data.py held train + test as one array of 70,000
        x_all = np.concatenate([x_train, x_test])[:100]
        x_train, x_test = np.split(x_all, [30])

    # Prepare VAE model, defined in net.py
    model = net.VAE(784, args.dimz, args.n_hidden, act_func=net.ACTIVATIONS[args.activation])
    if args.initmodel:
        load_checkpoint(args.initmodel, model, '--initmodel')
    if args.gpu >= 0:
        chainer.backends.cuda.get_device_from_id(args.gpu).use()
        model.to_gpu()
    # Setup an optimizer
    optimizer = optimizers.Adam()
    optimizer.setup(model)
    if args.resume:
        load_checkpoint(args.resume, optimizer, '--resume')

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, 'config.json'), 'w') as f:  # for chainer_vae.visualize
        json.dump(vars(args), f, indent=1)
    try:
        train.train(model, optimizer, x_train, x_test, n_epoch=args.epoch,
                    batchsize=args.batchsize, xp=xp, out=args.out)
    except train.TrainingError as e:
        fail('%s; stopped, no checkpoint saved (log.csv keeps the finished epochs)' % e)
    except KeyboardInterrupt:
        fail('interrupted; no checkpoint saved (log.csv keeps the finished epochs)', 130)


if __name__ == '__main__':
    main()
