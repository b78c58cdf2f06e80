"""Past one machine: the legacy loop data-parallel under ChainerMN and MPI.

    mpiexec -n P python train_vae.py --communicator naive ...        # CPU ranks
    mpiexec -n P python train_vae.py --communicator pure_nccl --gpu 0 ...   # a GPU a rank

- Every rank holds the whole model and the same generator state (the seed, drawn by
  rank 0 where none is given, is broadcast), so every rank draws the same permutation.
  Of each global batch of ``--batchsize`` images a rank takes rows rank, rank + P, ...
  (``Share``); ChainerMN's multi-node optimizer averages the P gradients (an all-reduce)
  before each Adam step: the step of the global batch's mean loss.
- The test set is split the same way; the loop's sums are added over the ranks
  (``total``) before the means are printed.
- Rank 0 alone prints the legacy lines and writes graph.dot, log.csv, the checkpoints
  and config.json; the other ranks write into a scratch folder that is removed.
- One BLAS thread per rank, as every run has unless the user sets OMP_NUM_THREADS or
  OPENBLAS_NUM_THREADS (chainer_vae/spine.py): P ranks with a thread per core each would
  oversubscribe the cores many times over.

Installed by the ``mpi`` extra (mpi4py and the MPICH wheel, whose ``mpiexec`` lands in
the environment's bin/). mpi4py and ChainerMN are imported only with ``--communicator``.
"""
import os
import shutil
import tempfile

import numpy as np

from chainer_vae import errors, files


class MPIError(errors.Failure):
    """MPI cannot be used as asked; the message is one line for the user."""


class Share:
    """The rows of a data set that are this rank's: x[rows] gives the rank's share of
    those rows; len() is the whole set's, as the loop divides the summed losses by it."""

    def __init__(self, x, rank, size):
        self.x, self.rank, self.size = x, rank, size

    def __len__(self):
        return len(self.x)

    def __getitem__(self, rows):
        return self.x[rows][self.rank::self.size]


def communicator(name, gpu=-1):
    """The ChainerMN communicator ``name`` of this MPI job."""
    try:
        import mpi4py.MPI  # noqa: F401  (chainermn needs it; say so if absent)
    except ImportError as e:
        raise MPIError("--communicator needs mpi4py and an MPI: pip install -e '.[mpi]' (%s)"
                       % e) from None
    import chainermn
    if gpu < 0 and name != 'naive':
        raise MPIError('--communicator %s needs --gpu; on CPUs use naive' % name)
    return chainermn.create_communicator(name)


def check_batch(comm, batchsize):
    if batchsize % comm.size:
        raise MPIError('--batchsize %d does not split over %d ranks' % (batchsize, comm.size))


def shared_seed(comm, seed):
    """The seed every rank uses: the given one, or one rank 0 draws."""
    if seed is None:
        seed = int(np.random.randint(2 ** 31))
    return comm.bcast_obj(seed if comm.rank == 0 else None)


def scratch_out(out, resuming):
    """A folder for a rank that is not rank 0, holding a copy of the run's files to
    resume from; removed when the process ends."""
    import atexit
    folder = tempfile.mkdtemp(prefix='chainer_vae-rank-')
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    if resuming:
        for name in (files.CHECKPOINT, files.CONFIG, files.LOG):
            if os.path.isfile(os.path.join(out, name)):
                shutil.copy(os.path.join(out, name), folder)
    return folder


def data_parallel(optimizer, model, comm):
    """ChainerMN's multi-node optimizer around ``optimizer``, the ranks' weights made
    rank 0's first (ChainerMN would spend the first update on that, without a step)."""
    import chainermn
    optimizer = chainermn.create_multi_node_optimizer(optimizer, comm)
    comm.bcast_data(model)
    optimizer.is_changed(model)  # records the parameters: the first update steps
    return optimizer


def total(comm):
    """The loop's reduction: the sum of a tuple of floats over the ranks."""
    return lambda *values: tuple(comm.allreduce_obj(float(v)) for v in values)
