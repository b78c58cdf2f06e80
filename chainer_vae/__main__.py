"""Train the VAE of the slides on MNIST, as the 2017 notebook did.

    python train_vae.py --gpu 0                        # the legacy run, on a GPU
    python train_vae.py                                # the same on the CPU
    python train_vae.py --dataset sample --epoch 10    # quick, on the bundled subset
    python train_vae.py --resume-from result           # go on after an interruption

(``python -m chainer_vae ...`` is the same command, for an installed package.)
Story: flags -> data (chainer_vae.data) -> model (chainer_vae.net.VAE) -> the run
folder (chainer_vae.checkpoint) -> the original learning loop (chainer_vae.train).
"""
import argparse
import os
import sys

import numpy as np

import chainer
from chainer.optimizer_hooks import GradientClipping, WeightDecay

from chainer_vae import (checkpoint, cli, config, cpu_kernels, data, errors, files, mpi, net,
                         paper, progress, spine, train)

PROG = 'train_vae.py'
# what a resumed run takes from its config.json, refusing a different value given (-m and
# -r are refused with --resume-from: the run keeps what it began from, not loaded again)
RUN_SETTINGS = ('dimz', 'batchsize', 'n_hidden', 'activation', 'test', 'seed', 'dataset',
                'data_dir', 'binarize', 'image_size', 'n_train', 'lr', 'weight_decay',
                'grad_clip', 'beta', 'k', 'initmodel', 'resume')


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
    p = cli.Parser(prog=PROG, description='Chainer example: VAE (the 2017 notebook, revived)')
    p.add_argument('--gpu', '-g', type=int, default=-1,
                   help='GPU ID (negative value indicates CPU); needs CuPy')
    p.add_argument('--epoch', '-e', type=cli.positive_int, default=100,
                   help='number of epochs to learn')
    p.add_argument('--dimz', '-z', type=cli.positive_int, default=20,
                   help='dimension of the latent space z')
    p.add_argument('--batchsize', '-b', type=cli.positive_int, default=100,
                   help='learning minibatch size')
    p.add_argument('--n-hidden', type=cli.positive_int, default=500,
                   help='units in each hidden layer')
    p.add_argument('--activation', choices=sorted(net.ACTIVATIONS), default='softplus',
                   help='activation of the hidden layers (the legacy run used softplus)')
    p.add_argument('--initmodel', '-m', default='',
                   help='initialize the model from given file (mlp_<dimz>.model)')
    p.add_argument('--resume', '-r', default='',
                   help='resume the optimization from snapshot (mlp_<dimz>.state, with -m); '
                        'a run folder: as --resume-from')
    p.add_argument('--resume-from', metavar='RUN_DIR', type=cli.existing_dir,
                   help='continue the run in RUN_DIR at the epoch after its last checkpoint, '
                        'with its settings (--epoch may extend it)')
    p.add_argument('--force', action='store_true',
                   help='replace an earlier run in --out (the files it wrote are removed)')
    p.add_argument('--test', action='store_true',
                   help='legacy test mode: the first 100 images, 30 to train and 70 to test')
    p.add_argument('--out', '-o', default='result',
                   help='directory for graph.dot, log.csv, config.json, checkpoint.npz and '
                        'the mlp_<dimz> files')
    p.add_argument('--seed', type=cli.seed, default=None,
                   help='seed NumPy (and CuPy) so that a run can be repeated exactly '
                        '(without it, as in 2017, every run differs)')
    p.add_argument('--dataset', type=dataset_name, default='mnist',
                   metavar='{%s} or PATH' % ','.join(data.DATASETS),
                   help="'mnist', 'fashion-mnist', 'kmnist': the full set, from --data-dir, "
                        "else a system package's copy (Debian's dataset-fashion-mnist), else "
                        "the cache (downloaded from a mirror the first time); "
                        "'sample': the 4,000 + 1,000 digits shipped in the package; PATH: a "
                        "folder of PNG/JPEG images or an .npz of your own (README: Data)")
    p.add_argument('--data-dir', default=None,
                   help='directory holding the four IDX .gz files of --dataset (no download; '
                        "without it: a system package's copy, else the cache)")
    p.add_argument('--image-size', type=image_size, metavar='HxW',
                   help='resize your own images (--dataset PATH) to HxW (without it they must '
                        'all have one size, which is kept)')
    p.add_argument('--binarize', action='store_true',
                   help='opt-in, not the legacy: dynamically binarised MNIST, each pixel drawn '
                        'as Bernoulli(grey level) at every step (the likelihood papers\' data)')
    p.add_argument('--n-train', type=cli.positive_int, metavar='N',
                   help="opt-in: train on the first N training images only; the semi-supervised "
                        "papers' split uses 50000, the last 10000 being their validation set "
                        "(python -m chainer_vae.m2)")
    p.add_argument('--lr', type=cli.positive_float, default=0.001,
                   help="Adam's step size alpha (default: chainer's %(default)s, the legacy "
                        "run's; the M1 that reached Kingma's M1+M2: 3e-4)")
    p.add_argument('--weight-decay', type=cli.non_negative_float, default=0.0, metavar='RATE',
                   help='opt-in: L2 weight decay on every parameter, added to its gradient '
                        '(an N(0, I) prior over n images: 1/n; the M1 of M1+M2: 2e-5)')
    p.add_argument('--grad-clip', type=cli.positive_float, metavar='NORM',
                   help='opt-in: scale the gradient down to this L2 norm over all parameters '
                        'where it is larger (the M1 of M1+M2: 5)')
    p.add_argument('--beta', type=cli.non_negative_float, default=1.0,
                   help='opt-in: the weight of the KL term, the slides\' C (chainer v7.8.1\'s '
                        'example calls it beta; the legacy run: %(default)s)')
    p.add_argument('-k', type=cli.positive_int, default=1,
                   help='opt-in: samples of z an image in training, the slides\' k (the test '
                        'loss takes 10 as in 2017; the legacy run: %(default)s)')
    cli.add_presets(p, {'m1': paper.M1_PRESET},
                    help="opt-in: m1, the M1 of M1+M2 as the re-implementation nearest Table 1 "
                         "trained it (chainer_vae/paper.py); the flags given override it")
    p.add_argument('--communicator', choices=('naive', 'flat', 'non_cuda_aware', 'pure_nccl'),
                   help='under mpiexec: the ChainerMN communicator of a data-parallel run '
                        '(chainer_vae/mpi.py; naive on CPUs, pure_nccl a GPU a rank)')
    p.add_argument('--debug', action='store_true',
                   help="chainer's type checks on (off by default: chainer_vae/cpu_kernels.py)")
    return p


def parse_args(argv=None):
    """The flags, and the set of those given on the command line."""
    parser = make_parser()
    args, given = cli.parse_given(parser, argv)
    if args.resume and os.path.isdir(args.resume):  # -r RUN_DIR: as --resume-from
        args.resume_from, args.resume = args.resume, ''
    if 'resume' in given and args.resume_from:
        given = (given - {'resume'}) | {'resume_from'}
    if args.data_dir is not None and args.dataset == 'sample':
        parser.error('--data-dir: --dataset sample is the subset shipped in the package and '
                     'reads no folder')
    if args.image_size is not None and args.dataset in data.DATASETS:
        parser.error('--image-size resizes your own images (--dataset PATH); %s is %dx%d'
                     % (args.dataset, 28, 28))
    if args.n_train and args.test:
        parser.error('--n-train: the legacy --test chooses its own images (the first 100)')
    if args.resume and not args.initmodel and not args.resume_from:
        parser.error('--resume %s needs --initmodel: the optimizer state alone would go on '
                     'from random weights' % args.resume)
    return args, given


def invocation():
    """How the user started this command, for the line that says how to go on."""
    if os.path.basename(sys.argv[0]) == 'train_vae.py':
        return 'python train_vae.py'
    return 'python -m chainer_vae'


def main(argv=None):
    args, given = parse_args(argv)
    with cli.command(PROG, writes_in='--out %s' % (args.resume_from or args.out)) as this:
        run(args, given, this)


def settings_of_run(args, given):
    """The flags of a resumed run (spine.settings_of_run): its settings from config.json,
    with --epoch if given; -m/-r, which load legacy files into a new run, refused."""
    if args.initmodel or args.resume:
        raise checkpoint.CheckpointError('-m/-r load legacy files into a new run; '
                                         '--resume-from %s continues a run' % args.resume_from)
    return spine.settings_of_run(
        args, given, RUN_SETTINGS, config.read, config.flags_of,
        final_of=lambda flags: files.legacy_names(flags['dimz']))[0]


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
        raise errors.Failure('--n-hidden %d: the model needs about %.1f GB, this machine has '
                             '%.1f GB available' % (n_h, need / 1e9, available / 1e9))


def run(args, given, this):
    resuming = bool(args.resume_from)
    if resuming:
        args = settings_of_run(args, given)
    comm = None
    if args.communicator:  # data-parallel over MPI ranks (chainer_vae/mpi.py)
        comm = mpi.communicator(args.communicator, args.gpu)
        if comm.rank:  # only rank 0 prints and writes the run folder
            cli.quiet()
            sys.stdout = open(os.devnull, 'w')
        mpi.check_batch(comm, args.batchsize)
        args.seed = mpi.shared_seed(comm, args.seed)
        if args.gpu >= 0:
            args.gpu += comm.intra_rank  # a GPU a rank
        if comm.rank:
            args.out = mpi.scratch_out(args.out, resuming)
    xp = spine.start(args.gpu, args.seed, debug=args.debug)

    # data: MNIST's 60,000 + 10,000 images as rows of 784 grey levels in [0, 1]
    x_train, x_test = data.prepare(args.dataset, args.data_dir, args.image_size,
                                   args.binarize, args.n_train)[:2]
    if args.test:  # the legacy data.py held train + test as one array of 70,000
        x_all = np.concatenate([x_train, x_test])[:100]
        x_train, x_test = np.split(x_all, [30])
    n_in = x_test.shape[1]  # 784 pixels (x_train may be data.Binarized, not an array)
    if comm is not None:  # each rank its share of every batch
        x_train, x_test = (mpi.Share(x, comm.rank, comm.size) for x in (x_train, x_test))

    # Prepare VAE model, defined in net.py
    check_memory(n_in, args.dimz, args.n_hidden)
    model = net.VAE(n_in, args.dimz, args.n_hidden, act_func=net.ACTIVATIONS[args.activation])
    if args.initmodel and not resuming:
        checkpoint.load_npz(args.initmodel, model)
    if args.gpu >= 0:
        chainer.backends.cuda.get_device_from_id(args.gpu).use()
        model.to_gpu()
    # Setup an optimizer: chainer's Adam, bitwise, with fewer trips through memory
    optimizer = cpu_kernels.Adam(alpha=args.lr)
    optimizer.setup(model)
    if args.grad_clip:  # opt-in, before the decay as in PyTorch's clip_grad_norm_ + Adam
        optimizer.add_hook(GradientClipping(args.grad_clip))
    if args.weight_decay:
        optimizer.add_hook(WeightDecay(args.weight_decay))
    if args.resume and not resuming:
        checkpoint.load_npz(args.resume, optimizer)

    # the run folder: locked until this process ends; a resumed run goes on from its
    # checkpoint (weights, Adam, NumPy's generator, log.csv)
    folder = spine.open_folder(args, this, invocation(),
                               config.make(vars(args), n_in, config.versions(args.gpu)),
                               model, optimizer, final=files.legacy_names(args.dimz))
    if comm is not None:  # gradients averaged over the ranks before each step
        optimizer = mpi.data_parallel(optimizer, model, comm)

    # the notebook's loop, a progress line on stderr where it is a terminal
    with progress.bar(folder.epoch, args.epoch, len(x_train), args.batchsize,
                      shown=comm is None or comm.rank == 0) as update:
        train.train(model, optimizer, x_train, x_test, folder, n_epoch=args.epoch,
                    batchsize=args.batchsize, xp=xp,
                    total=None if comm is None else mpi.total(comm), progress=update,
                    C=args.beta, k=args.k)
    if comm is None or comm.rank == 0:
        progress.next_step(args.out)  # at a terminal: where the finished run leads


if __name__ == '__main__':
    main()
