#!/usr/bin/env python
"""Train the VAE of the slides on MNIST, as the 2017 notebook did.

    python train_vae.py --gpu 0                        # the legacy run, on a GPU
    python train_vae.py --dataset sample --epoch 10    # quick, on the bundled subset
    python train_vae.py --resume-from result           # go on after an interruption

Story: flags -> data (chainer_vae.data) -> model (chainer_vae.net.VAE) -> the run
folder (chainer_vae.checkpoint) -> the original learning loop (chainer_vae.train).
"""
import argparse
import os
import sys

import numpy as np

import chainer_vae  # noqa: F401  (revives chainer before it is imported below)
import chainer

from chainer_vae import (checkpoint, cli, config, data, download, gpu, interrupt, mpi, net,
                         speed, train)

# what a resumed run takes from its config.json, refusing a different value given
RUN_SETTINGS = ('dimz', 'batchsize', 'n_hidden', 'activation', 'test', 'seed', 'dataset',
                'data_dir', 'binarize', 'image_size', 'n_train')


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError('must be a positive integer, got %s' % text)
    return value


def seed_int(text):
    value = int(text)
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError('must be between 0 and 2**32 - 1, got %s' % text)
    return value


def dataset_name(text):
    if text in data.DATASETS or os.path.exists(text):
        return text
    raise argparse.ArgumentTypeError('%s: not one of %s, nor a folder of images or an .npz file'
                                     % (text, ', '.join(data.DATASETS)))


def image_size(text):
    """'HxW' (or 'N' for N x N) as [H, W]."""
    try:
        size = [int(v) for v in text.lower().split('x')] * (1 if 'x' in text.lower() else 2)
    except ValueError:
        size = []
    if len(size) != 2 or min(size) < 1:
        raise argparse.ArgumentTypeError('expected HxW (or N), got %s' % text)
    return size


def make_parser():
    p = cli.Parser(prog='train_vae.py',
                   description='Chainer example: VAE (the 2017 notebook, revived)')
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
                   help='resume the optimization from snapshot (mlp_<dimz>.state, with -m); '
                        'a run folder: as --resume-from')
    p.add_argument('--resume-from', metavar='RUN_DIR', default='',
                   help='continue the run in RUN_DIR at the epoch after its last checkpoint, '
                        'with its settings (--epoch may extend it)')
    p.add_argument('--force', action='store_true',
                   help='replace an earlier run in --out (its files are removed)')
    p.add_argument('--test', action='store_true',
                   help='legacy test mode: the first 100 images, 30 to train and 70 to test')
    p.add_argument('--out', '-o', default='result',
                   help='directory for graph.dot, log.csv, config.json, checkpoint.npz and '
                        'the mlp_<dimz> files')
    p.add_argument('--seed', type=seed_int, default=None,
                   help='seed NumPy (and CuPy) so that a run can be repeated exactly '
                        '(without it, as in 2017, every run differs)')
    p.add_argument('--dataset', type=dataset_name, default='mnist',
                   metavar='{%s} or PATH' % ','.join(data.DATASETS),
                   help="'mnist', 'fashion-mnist', 'kmnist': the full set, from --data-dir or "
                        "else the cache (downloaded from a mirror the first time); "
                        "'sample': the 4,000 + 1,000 digits shipped in the package; PATH: a "
                        "folder of PNG/JPEG images or an .npz of your own (README: Data)")
    p.add_argument('--data-dir', default=None,
                   help='directory holding the four IDX .gz files of --dataset (no download; '
                        'without it: the cache)')
    p.add_argument('--image-size', type=image_size, metavar='HxW',
                   help='resize your own images to HxW (without it they must all have one '
                        'size, which is kept)')
    p.add_argument('--binarize', action='store_true',
                   help='opt-in, not the legacy: dynamically binarised MNIST, each pixel drawn '
                        'as Bernoulli(grey level) at every step (the likelihood papers\' data)')
    p.add_argument('--n-train', type=positive_int, metavar='N',
                   help="opt-in: train on the first N training images only; the semi-supervised "
                        "papers' split uses 50000, the last 10000 being their validation set "
                        "(chainer_vae/m2.py)")
    p.add_argument('--communicator', choices=('naive', 'flat', 'non_cuda_aware', 'pure_nccl'),
                   help='under mpiexec: the ChainerMN communicator of a data-parallel run '
                        '(chainer_vae/mpi.py; naive on CPUs, pure_nccl a GPU a rank)')
    p.add_argument('--debug', action='store_true',
                   help="chainer's type checks on (off by default: chainer_vae/speed.py)")
    return p


def parse_args(argv=None):
    """The flags, and the set of those given on the command line."""
    return cli.parse_given(make_parser(), argv)


QUIET = []  # set on the MPI ranks but rank 0: the same error once, not once a rank


def fail(message, code=1):
    if QUIET:
        sys.exit(code)
    cli.fail('train_vae.py', message, code)


def settings_of_run(args, given):
    """For a resumed run: its settings from config.json; flags that contradict them refused."""
    if args.initmodel or args.resume:
        fail('-m/-r load legacy files into a new run; --resume-from %s continues a run'
             % args.resume_from)
    if 'out' in given and os.path.abspath(args.out) != os.path.abspath(args.resume_from):
        fail('--out %s: a resumed run stays in its folder %s' % (args.out, args.resume_from))
    args.out = args.resume_from
    if not os.path.isfile(os.path.join(args.out, checkpoint.CHECKPOINT)):
        fail('--resume-from %s: no %s there (no epoch of that run finished)'
             % (args.out, checkpoint.CHECKPOINT))
    try:
        flags = config.flags_of(config.read(os.path.join(args.out, checkpoint.CONFIG)))
    except config.ConfigError as e:
        fail('cannot resume %s: %s' % (args.out, e))
    for name in RUN_SETTINGS:
        value = getattr(args, name)
        if value and (name in config.PATH_FLAGS
                      or (name == 'dataset' and value not in data.DATASETS)):
            value = os.path.abspath(value)
        if name in given and value != flags[name]:
            fail('--%s %s: the run in %s was made with %s; a resumed run keeps its settings'
                 % (name.replace('_', '-'), getattr(args, name), args.out, flags[name]))
    for name in RUN_SETTINGS + ('epoch',):
        if name not in given:
            setattr(args, name, flags[name])
    args.initmodel, args.resume = flags['initmodel'], flags['resume']  # kept, not loaded again


def check_memory(n_in, n_latent, n_h):
    """Refuse a model whose weights, gradients and Adam state (4 x float32 a parameter)
    do not fit in the memory available (Linux: MemAvailable), before allocating it."""
    n_params = 2 * (n_in * n_h + n_h * n_h + n_h * n_latent) + n_h * n_latent
    need = 16 * n_params + 8 * n_h * max(n_h, n_in)  # + the float64 draw of the largest W
    try:
        with open('/proc/meminfo') as f:
            available = next(int(line.split()[1]) * 1024 for line in f
                             if line.startswith('MemAvailable:'))
    except (OSError, StopIteration, ValueError):
        return
    if need > available:
        fail('--n-hidden %d: the model needs about %.1f GB, this machine has %.1f GB available'
             % (n_h, need / 1e9, available / 1e9))


def main(argv=None):
    args, given = parse_args(argv)
    sys.stdout = interrupt.OutputUntilClosed(sys.stdout)  # `| head` ends the output only
    interrupt.install()  # SIGTERM, SIGHUP: one line, as Ctrl-C
    try:
        run(args, given)
    except KeyboardInterrupt as e:  # before training started: nothing was written
        name, code = interrupt.stopped_by(e)
        fail('interrupted (%s)' % name, code)


def run(args, given):
    if args.resume and os.path.isdir(args.resume):  # -r RUN_DIR: as --resume-from
        args.resume_from, args.resume = args.resume, ''
    resuming = bool(args.resume_from)
    if resuming:
        settings_of_run(args, given)
    elif args.resume and not args.initmodel:
        fail('--resume %s needs --initmodel: the optimizer state alone would go on from '
             'random weights' % args.resume)
    speed.configure(debug=args.debug)
    comm = None
    if args.communicator:  # data-parallel over MPI ranks (chainer_vae/mpi.py)
        try:
            comm = mpi.communicator(args.communicator, args.gpu)
            if comm.rank:  # only rank 0 prints and writes the run folder
                QUIET.append(comm.rank)
                sys.stdout = open(os.devnull, 'w')
            mpi.check_batch(comm, args.batchsize)
        except mpi.MPIError as e:
            fail(e)
        args.seed = mpi.shared_seed(comm, args.seed)
        if args.gpu >= 0:
            args.gpu += comm.intra_rank  # a GPU a rank
        if comm.rank:
            args.out = mpi.scratch_out(args.out, resuming)
    try:
        xp = gpu.array_module(args.gpu)  # numpy, or cupy once the GPU is known to work
    except gpu.GPUError as e:
        fail(e)
    if args.seed is not None:
        np.random.seed(args.seed)
        if xp is not np:
            xp.random.seed(args.seed)

    try:
        x_train, x_test = data.load_set(args.dataset, args.data_dir, args.image_size)[:2]
    except (data.DataError, download.DownloadError) as e:
        fail(e)
    if args.n_train:  # opt-in: the rest of the training images stay unseen (chainer_vae/m2.py)
        if args.test or args.n_train > len(x_train):
            fail('--n-train %d: %s' % (args.n_train, 'the legacy --test chooses its own images'
                                       if args.test else 'the training set has only %d images'
                                       % len(x_train)), 2)
        x_train = x_train[:args.n_train]
    if args.test:  # the legacy data.py held train + test as one array of 70,000
        x_all = np.concatenate([x_train, x_test])[:100]
        x_train, x_test = np.split(x_all, [30])
    n_in = x_train.shape[1]  # 784 pixels
    if args.binarize:  # opt-in (chainer_vae/data.py); the legacy used the grey levels
        x_train, x_test = data.Binarized(x_train), data.binarize_test(x_test)
    if comm is not None:  # each rank its share of every batch
        x_train, x_test = (mpi.Share(x, comm.rank, comm.size) for x in (x_train, x_test))

    # Prepare VAE model, defined in net.py
    check_memory(n_in, args.dimz, args.n_hidden)
    model = net.VAE(n_in, args.dimz, args.n_hidden, act_func=net.ACTIVATIONS[args.activation])
    folder = checkpoint.RunFolder(args.out)
    try:
        if args.initmodel and not resuming:
            checkpoint.load_npz(args.initmodel, model)
        if args.gpu >= 0:
            chainer.backends.cuda.get_device_from_id(args.gpu).use()
            model.to_gpu()
        # Setup an optimizer: chainer's Adam, bitwise, with fewer trips through memory
        optimizer = speed.Adam()
        optimizer.setup(model)
        if args.resume and not resuming:
            checkpoint.load_npz(args.resume, optimizer)
        folder.open(force=args.force, resume=resuming)  # locked until this process ends
        start_epoch, elapsed = 1, 0.0
        if resuming:
            row = checkpoint.restore(args.out, model, optimizer)  # weights, Adam, NumPy RNG
            start_epoch, elapsed = row[0] + 1, folder.cut_log(row)
        folder.write_config(config.make(vars(args), n_in, config.versions(gpu=args.gpu >= 0)))
        if comm is not None:  # gradients averaged over the ranks before each step
            optimizer = mpi.data_parallel(optimizer, model, comm)
    except checkpoint.CheckpointError as e:
        fail(e)
    except OSError as e:
        fail('cannot write in --out %s: %s' % (args.out, e.strerror or e))

    try:
        train.train(model, optimizer, x_train, x_test, n_epoch=args.epoch,
                    batchsize=args.batchsize, xp=xp, out=args.out,
                    start_epoch=start_epoch, elapsed=elapsed,
                    total=train.one_process if comm is None else mpi.total(comm))
    except train.TrainingError as e:
        fail('%s; stopped. %s' % (e, resume_hint(args.out)))
    except MemoryError as e:  # CuPy's OutOfMemoryError too
        why = str(e).splitlines()[0] if str(e) else 'MemoryError'
        fail('out of memory (%s); stopped. %s' % (why, resume_hint(args.out)))
    except OSError as e:  # a full disk, say
        fail('cannot write in --out %s: %s; stopped. %s'
             % (args.out, e.strerror or e, resume_hint(args.out)))
    except KeyboardInterrupt as e:
        name, code = interrupt.stopped_by(e)
        fail('interrupted (%s). %s' % (name, resume_hint(args.out)), code)


def resume_hint(out):
    epoch = checkpoint.saved_epoch(out)
    if epoch is None:
        return 'No epoch finished: nothing to resume'
    return ('%s keeps the checkpoint of epoch %d: python train_vae.py --resume-from %s goes on'
            % (out, epoch, out))


if __name__ == '__main__':
    main()
