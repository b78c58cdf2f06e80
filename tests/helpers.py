"""Paths and helpers the tests share (a plain module: pytest advises keeping conftest.py
to fixtures and hooks). Tests that need ../shared, or Debian's Fashion-MNIST package, skip
where it is absent; CHAINER_VAE_SHARED names another folder in place of ../shared (a copy of
its parts travels with a checkout to a GPU machine: scripts/gpu_check.sh)."""
import os
import signal
import subprocess
import sys

import pytest

from chainer_vae import download

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get('CHAINER_VAE_SHARED') or os.path.join(os.path.dirname(REPO), 'shared')
SHARED_MNIST = os.path.join(SHARED, 'mnist')
LEGACY = os.path.join(SHARED, 'legacy')

needs_shared_mnist = pytest.mark.skipif(
    not os.path.isfile(os.path.join(SHARED_MNIST, 'train-images-idx3-ubyte.gz')),
    reason='../shared/mnist is absent')
# Debian's package dataset-fashion-mnist: its folder, as chainer_vae.download names it
FASHION_MNIST_PACKAGE = download.SYSTEM_DIRS['fashion-mnist'][0]
needs_fashion_mnist_package = pytest.mark.skipif(
    not os.path.isfile(os.path.join(FASHION_MNIST_PACKAGE, 'train-images-idx3-ubyte.gz')),
    reason='Debian package dataset-fashion-mnist is not installed')
needs_legacy = pytest.mark.skipif(
    not os.path.isfile(os.path.join(LEGACY, 'graph.dot')), reason='../shared/legacy is absent')


# Runs train_vae.py as `python train_vae.py ARGS` would, after a prelude of test code.
RUN_SCRIPT = '''
import runpy, sys
sys.argv[0] = 'train_vae.py'
runpy.run_path(%r, run_name='__main__')
''' % os.path.join(REPO, 'train_vae.py')

# A prelude that makes the named top-level modules unimportable, as where they are absent.
BLOCK = '''
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in %r:
            raise ModuleNotFoundError('No module named %%r' %% name)
sys.meta_path.insert(0, Block())
'''


def cli_command(args, prelude='', pythonpath=(), block=()):
    """(command, environment) that run train_vae.py with ``args``: ``prelude`` is Python
    run first in that process (to simulate a fault, say); ``pythonpath`` puts folders
    (a fake CuPy, say) first on its path; ``block`` names modules it cannot import."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(list(pythonpath) + [REPO])
    if block:
        prelude = BLOCK % (tuple(block),) + prelude
    command = [sys.executable, '-u', os.path.join(REPO, 'train_vae.py')]
    if prelude:
        command = [sys.executable, '-u', '-c', prelude + RUN_SCRIPT]
    return command + [str(a) for a in args], env


def run_cli(*args, timeout=300, cwd=REPO, **how):
    """Run train_vae.py in a subprocess (see cli_command), in ``cwd``; return the
    CompletedProcess."""
    command, env = cli_command(args, **how)
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          cwd=cwd, env=env)


def start_cli(*args, **how):
    """train_vae.py started in a subprocess, stdout and stderr piped (text), as at a
    terminal: SIGINT and SIGHUP act even where the test runs as a shell's background job
    (SIGINT ignored) or under nohup (SIGHUP ignored)."""
    command, env = cli_command(args, **how)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=REPO, env=env, preexec_fn=_as_at_a_terminal)


def _as_at_a_terminal():
    for signum in (signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


def trained_run(folder, *args):
    """A finished seeded run of the bundled sample in ``folder`` (more flags in ``args``)."""
    result = run_cli('--dataset', 'sample', '--seed', '0', '-o', folder, *args)
    assert result.returncode == 0, result.stderr
    return folder


def run_module(module, *args, timeout=600):
    """``python -m chainer_vae.<module> ARGS`` in a subprocess; the CompletedProcess."""
    return subprocess.run([sys.executable, '-m', 'chainer_vae.' + module] + [str(a) for a in args],
                          capture_output=True, text=True, cwd=REPO, timeout=timeout)
