"""The spine of a run that can be stopped and resumed, one for both training commands
(train_vae.py, chainer_vae/__main__.py, and M2's, chainer_vae/m2.py):

    args = settings_of_run(args, given, ...)   # --resume-from: the run's own settings
    xp = start(args.gpu, args.seed)             # kernels, the device, the seeds
    folder = open_folder(...)                   # locked, restored, config.json written

Each command gives its schema as data (which flags a resumed run keeps, how its
config.json is read, which files it writes at its end); the rules and their words are
these, the same in both.
"""
import argparse
import os

import numpy as np
import threadpoolctl

from chainer_vae import checkpoint, config, cpu_kernels, files, gpu, runlog


def settings_of_run(args, given, settings, read_config, flags_of, final_of, identify=None):
    """(The flags of the run resumed from ``args.resume_from``, its config.json as read):
    its ``settings`` (the flags a resumed run keeps) as ``flags_of(read_config(path))``
    gives them, --epoch and --gpu where given. CheckpointError, one line, for a folder
    that cannot go on (checkpoint.resume_point), a flag that contradicts the run's
    settings, or an --epoch before the run's last. ``final_of(flags)``: the files the run
    writes at its end; ``identify``: {flag: same(value given, config)} for the inputs known
    by what they are, not where they are (an M1 by its model's sha256: a moved M1 is the
    same M1, and the run goes on reading it where it is now)."""
    out, identify = args.resume_from, identify or {}
    if 'out' in given and os.path.abspath(args.out) != os.path.abspath(out):
        raise checkpoint.CheckpointError('--out %s: a resumed run stays in its folder %s'
                                         % (args.out, out))
    done = checkpoint.resume_point(out)
    try:
        before = read_config(os.path.join(out, files.CONFIG))
    except config.ConfigError as e:
        raise checkpoint.CheckpointError('cannot resume %s: %s' % (out, e)) from None
    flags = flags_of(before)
    resumed = argparse.Namespace(**vars(args))
    for name in settings:
        value = config.normalized(name, getattr(args, name))
        if name in given and name in identify:
            same = identify[name](value, before)
        else:
            same = name not in given or value == flags[name]
        if not same:
            raise checkpoint.CheckpointError(
                '--%s %s: the run in %s was made with %s; a resumed run keeps its settings'
                % (name.replace('_', '-'), getattr(args, name), out, flags[name]))
        setattr(resumed, name, value if name in given else flags[name])
    resumed.epoch = args.epoch if 'epoch' in given else flags['epoch']
    resumed.gpu = args.gpu if 'gpu' in given else flags['gpu']  # --gpu -1 goes on on the CPU
    ended = done == flags['epoch'] and all(os.path.isfile(os.path.join(out, name))
                                           for name in final_of(flags))
    if resumed.epoch < done or (resumed.epoch == done and ended):
        raise checkpoint.CheckpointError(
            '--epoch %d: the run in %s has finished %d epochs; --epoch N above %d extends it'
            % (resumed.epoch, out, done, done))
    resumed.out = out
    return resumed, before


def start(gpu_id, seed, debug=False):
    """The head of a run: one BLAS thread unless OMP_NUM_THREADS or OPENBLAS_NUM_THREADS
    says otherwise (on the idle 2-core machine here two threads made a sample epoch 7 %
    faster, beside one busy process 2.3 times slower, beside more up to 12 times:
    results/benchmarks/blas_threads.md), chainer's fast settings (chainer_vae/cpu_kernels.py;
    ``debug``: its type checks), the array module of the device (numpy, or cupy once the
    GPU is known to work), NumPy's (and CuPy's) generator seeded where ``seed`` is given."""
    if 'OMP_NUM_THREADS' not in os.environ and 'OPENBLAS_NUM_THREADS' not in os.environ:
        threadpoolctl.threadpool_limits(1)
    cpu_kernels.configure(debug=debug)
    xp = gpu.array_module(gpu_id)
    if seed is not None:
        np.random.seed(seed)
        if xp is not np:
            xp.random.seed(seed)
    return xp


def open_folder(args, this, command, run_config, model, optimizer, final=(),
                columns=runlog.COLUMNS, generator=None):
    """The run folder ``args.out``, locked until this process ends (checkpoint.RunFolder):
    a new run's (``--force`` replaces an earlier one), or the resumed run's, restored from
    its checkpoint (weights, Adam, NumPy's generator and ``generator``, the run's own
    where it has one, log.csv); ``run_config`` written.
    ``this`` (cli.command's) learns what a line that ends the run says is kept."""
    resuming = bool(args.resume_from)
    folder = checkpoint.RunFolder(args.out, final, columns, generator)
    folder.open(force=args.force, resume=resuming)
    this.kept = lambda: folder.resume_hint(command)
    if resuming:  # a checkpoint refused here: its line alone (the folder is unchanged)
        folder.restore(model, optimizer)
    folder.write_config(run_config)
    return folder
