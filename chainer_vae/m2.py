"""The command of the semi-supervised M2 and M1+M2 of the slides' last part (Kingma,
Rezende, Mohamed & Welling 2014, "Semi-supervised Learning with Deep Generative Models",
Table 1), as chainer_vae/__main__.py is the VAE's.

    python -m chainer_vae.m2 --labels 100 --m1 M1_RUN -o RUN_DIR   # M1+M2
    python -m chainer_vae.m2 --labels 3000 -o RUN_DIR               # M2 on the pixels
    python -m chainer_vae.m2 --resume-from RUN_DIR [--epoch E]      # go on after a stop
    python -m chainer_vae.m2 --labels 3000 --gpu 0 -o RUN_DIR       # ... on GPU 0 (CuPy)

Story: flags -> data (chainer_vae/m2_data.py) -> the model (chainer_vae/m2_net.py) -> the
run folder (chainer_vae/spine.py, checkpoint.py: config.json, log.csv, checkpoint.npz each
epoch) -> the loop (chainer_vae/m2_train.py). Its defaults are Kingma's settings
(chainer_vae/paper.py): Adam with lr 3e-4, weight decay 1 / 50,000, his batches, H = 500
hidden units (300 for M1+M2 at N = 100), z of 50 dimensions.

M2 learns from the dynamically binarised pixels (``--grey``: the grey levels). M1+M2
(``--m1 M1_RUN``) learns from the codes of M1, a VAE learnt by ``python train_vae.py
--dimz 50 --n-train 50000`` (see results/README.md for the M1s of the committed runs).
Each epoch the validation and test error of q(y|x) (its most probable label) go to
log.csv; ``python -m chainer_vae.m2_results`` puts the runs beside Table 1.
``--init chainer`` (opt-in, not Kingma's) starts from chainer's default weights, N(0, 1 /
inputs); ``--n-hidden`` departs from his hidden units, ``--reshuffle`` from his batches,
cut once; m2_results names each departure.

On a GPU (``--gpu N``, CuPy) CuPy draws the noise of z, and as it cannot export its
generator, a resumed GPU run repeats the batches and the pixels but not that noise (as
train_vae.py). ``--kernels`` (chainer_vae/m2_net.py): a new run on the CPU learns with
fast-3 where NumPy 2 vectorises float32 log1p and expm1 (AVX-512 on Linux), else fast-2; on
a GPU with chainer-1; a resumed run keeps its own unless --kernels is given.
"""
import argparse
import os


import chainer

from chainer_vae import (checkpoint, cli, config, cpu_kernels, data, files, m2_data, m2_net,
                         m2_train, paper, progress, spine)

PROG = 'm2'
COMMAND = 'python -m chainer_vae.m2'
LOG_COLUMNS = ('epoch', 'loss', 'labelled_loss', 'unlabelled_loss', 'classification_loss',
               'valid_error', 'test_error', 'wall_time')  # log.csv's (chainer_vae/runlog.py)
# what a resumed run takes from its config.json's "flags", refusing a different value given
# (--epoch, --gpu and --kernels may change at a resume)
CHANGEABLE = ('epoch', 'gpu', 'kernels', 'kernels_from_epoch')
RUN_SETTINGS = tuple(key for (_, key) in config.M2_SCHEMA if key not in CHANGEABLE)


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
    p.add_argument('--n-train', type=cli.positive_int, default=paper.KINGMA['n_train'],
                   metavar='N',
                   help='the first N training images are the training set, the rest the '
                        'validation set (the papers\' 50000 + 10000)')
    p.add_argument('--steps', type=cli.positive_int, metavar='S',
                   help='steps an epoch (default: Kingma\'s, 100 for N < 600, else 200)')
    p.add_argument('--n-hidden', type=cli.positive_int, metavar='H',
                   help='units of the hidden layer of each network (default: Kingma\'s, 300 '
                        'for M1+M2 below 600 labels, else 500)')
    p.add_argument('--dimz', '-z', type=cli.positive_int, default=paper.KINGMA['dimz'],
                   help='dimensions of z')
    p.add_argument('--init', choices=config.INITS, default=paper.KINGMA['init'],
                   help='the weights\' first values: Kingma\'s N(0, 0.001^2), or chainer\'s '
                        'default, N(0, 1 / inputs) (default: %(default)s)')
    p.add_argument('--reshuffle', action='store_true',
                   help='draw the images into the batches anew every epoch (Kingma\'s code '
                        'cuts them once)')
    p.add_argument('--kernels', choices=config.KERNELS,
                   help='the arithmetic M2 learns with: fast-3, fast-2 with softplus by '
                        'NumPy\'s log1p and expm1 (a new CPU run\'s where NumPy 2 vectorises '
                        'them: AVX-512 on Linux); fast-2, NumPy\'s fused kernels and a PCG64 '
                        'generator\'s normals by Box-Muller (a new CPU run\'s elsewhere); '
                        'fast-1, the fused kernels of before fast-2 (runs made then); chainer-1, '
                        'chainer\'s functions and NumPy\'s legacy generator (a GPU run\'s, and '
                        'runs made before the flag); with --resume-from: from the next epoch on '
                        '(config.json records which and from when)')
    p.add_argument('--grey', action='store_true',
                   help='M2: the grey levels, not the dynamically binarised pixels')
    p.add_argument('--dataset', choices=data.DATASETS, default=paper.KINGMA['dataset'],
                   help='MNIST, or a data set read the same way (sample: the bundled subset)')
    p.add_argument('--data-dir', help='the four IDX .gz files of --dataset (without it: the '
                                      'cache, or the --m1 run\'s data_dir)')
    p.add_argument('--out', '-o', default='result_m2',
                   help='run folder: config.json, log.csv, checkpoint.npz')
    p.add_argument('--force', action='store_true',
                   help='replace an earlier run in --out (the files it wrote are removed)')
    cli.add_presets(p, paper.PRESETS, help="a cell of Table 1: its --labels and Kingma's "
                    "3000 epochs (the m1m2 ones with --m1 M1_RUN); the flags given override it")
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
    if (args.preset or '').startswith('m1m2') and not args.m1 and not args.resume_from:
        parser.error('--preset %s: M1+M2 learns from an M1: --m1 M1_RUN (train_vae.py '
                     '--preset m1 trains one)' % args.preset)
    if args.n_hidden is None and not args.resume_from:
        args.n_hidden = paper.hidden_of(args.labels, args.m1)
    return args, given


def read_config(path):
    """The M2 run config at ``path``, its flags checked alone and together."""
    run = config.read_m2(path)
    problem = settings_problem(argparse.Namespace(**run['flags']))
    if problem:
        raise config.ConfigError('%s: %s' % (files.CONFIG, problem))
    return run


def same_m1(m1_run, before):
    """Whether ``m1_run`` (--m1 given to a resumed run) is the M1 the run began with: its
    model's sha256 is the one its config.json recorded, so a moved M1 is the same M1 (a
    run of before that digest: the same path)."""
    if 'm1_model_sha256' not in before['derived']:
        return m1_run == before['flags']['m1']
    m1_config = config.read(os.path.join(m1_run, files.CONFIG))
    return checkpoint.model_sha256(m1_run, m1_config) == before['derived']['m1_model_sha256']


def run_config(args, d, beta, layout):
    """config.json: the flags (what --resume-from takes back), what follows from them and
    from the data ``d`` (m2_data.SemiSupervised), the versions."""
    flags = {name: config.normalized(name, getattr(args, name))
             for name in RUN_SETTINGS + CHANGEABLE}
    kept = None if d.kept is None else d.kept.tolist()
    return {'model': config.M2_MODELS[bool(args.m1)], 'flags': flags,
            'derived': {'n_x': d.x_valid.shape[1], 'm1_dims_kept': kept,
                        'm1_model_sha256': d.m1_sha256, 'beta': beta,
                        'weight_decay': 1.0 / args.n_train, 'adam': paper.ADAM,
                        'steps': len(layout), 'labelled_per_step': len(layout[0][0]),
                        'unlabelled_per_step': len(layout[0][1])},
            'versions': config.versions(args.gpu)}


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


def new_run_kernels(gpu):
    """A new run's kernels: on a GPU chainer-1; on the CPU fast-3, whose softplus takes
    NumPy's log1p and expm1, where NumPy (2 or later: 1.26 cannot say) computes them with
    SIMD, else fast-2 (where they are scalar loops, fast-3 is slower than fast-2)."""
    if gpu >= 0:
        return 'chainer-1'
    return 'fast-3' if cpu_kernels.vectorised('log1p', 'expm1') else 'fast-2'


def choose_kernels(args, given, before):
    """args.kernels and args.kernels_from_epoch: a new run's --kernels (new_run_kernels),
    from epoch 1; a resumed run's recorded ones, or --kernels given from the epoch after its
    checkpoint's. CheckpointError (one line) for fused ones on a GPU."""
    if before is None:
        args.kernels = args.kernels or new_run_kernels(args.gpu)
        args.kernels_from_epoch = 1
    elif 'kernels' in given and args.kernels != before['flags']['kernels']:
        args.kernels_from_epoch = checkpoint.resume_point(args.out) + 1
    else:
        args.kernels = before['flags']['kernels']
        args.kernels_from_epoch = before['flags']['kernels_from_epoch']
    if args.kernels != 'chainer-1' and args.gpu >= 0:
        whose = '--kernels %s' % args.kernels  # the flag given, or the run's recorded one
        if before is not None and 'kernels' not in given:
            whose = '%s learns with %s' % (args.out, whose)
        raise checkpoint.CheckpointError(
            '%s: its kernels are NumPy\'s, for the CPU; on a GPU a run learns with --kernels '
            'chainer-1 (a resumed run switches to it from its next epoch)' % whose)


def main(argv=None):
    args, given = parse_args(argv)
    with cli.command(PROG, writes_in='--out %s' % (args.resume_from or args.out)) as this:
        run(args, given, this)


def run(args, given, this):
    resuming = bool(args.resume_from)
    if resuming:
        args, before = spine.settings_of_run(args, given, RUN_SETTINGS, read_config,
                                             lambda run: run['flags'], lambda flags: (),
                                             identify={'m1': same_m1})
        if args.m1 and not os.path.isdir(args.m1):
            raise checkpoint.CheckpointError(
                'cannot resume %s: its M1 %s is not there any more; --m1 M1_RUN names it where '
                'it is now (known by its model\'s sha256)' % (args.out, args.m1))
    choose_kernels(args, given, before if resuming else None)
    spine.start(args.gpu, args.seed)  # the draw, the batches, the weights, the noise

    # data: the papers' split, Kingma's batches; M1+M2: the codes of M1
    d = m2_data.load(args.dataset, args.data_dir, args.n_train, args.m1, args.grey)
    labelled, unlabelled = m2_data.split(d.y_train, args.labels, args.seed)
    layout = m2_data.batches(labelled, unlabelled, args.steps or paper.steps_of(args.labels))
    beta = paper.ALPHA * args.n_train / args.labels
    written = run_config(args, d, beta, layout)
    if resuming:
        check_same_data(args.out, written, before['derived'])

    # M2, defined in m2_net.py; Adam with the weights' prior (m2_train.py)
    model = m2_net.M2(d.x_valid.shape[1], args.n_hidden, args.dimz, gaussian_x=bool(args.m1),
                      init=args.init, kernels=args.kernels,
                      noise_seed=[args.seed, args.kernels_from_epoch])
    if args.gpu >= 0:
        chainer.backends.cuda.get_device_from_id(args.gpu).use()
        model.to_gpu()
    optimizer = m2_train.optimizer_for(model, args.n_train)

    # the run folder, locked; a resumed run goes on from its checkpoint
    folder = spine.open_folder(args, this, COMMAND, written, model, optimizer,
                               columns=LOG_COLUMNS, generator=model.generator)
    with progress.bar(folder.epoch, args.epoch, len(layout), 1) as update:
        m2_train.learn(model, optimizer, d, layout, beta, folder, args.epoch, update,
                       args.reshuffle)


if __name__ == '__main__':
    main()
