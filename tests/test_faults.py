"""Every bad input and OS fault: one line, a non-zero exit, no traceback, and every
file that existed before byte for byte unchanged (the run's .lock holds the pid of
the last run that took it, and is left out of the comparison)."""
import gzip
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from chainer_vae import data

from helpers import REPO, run_cli, start_cli
from test_checkpoint import log_rows, run_args
from test_cli import assert_one_line_error

# a prelude that makes every file this process writes stop at 1 MB, as a full disk would
FULL_DISK = '''
import resource, signal
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
'''
# a prelude whose second optimizer step finds no memory
OUT_OF_MEMORY = '''
import chainer_vae, chainer.optimizers
update, calls = chainer.optimizers.Adam.update, []
def failing(self, *args, **kwargs):
    calls.append(1)
    if len(calls) == 2:
        raise MemoryError('cannot allocate 4194304 bytes')
    return update(self, *args, **kwargs)
chainer.optimizers.Adam.update = failing
'''


def snapshot(root):
    """Every file under ``root`` but .lock files and the folder new/ (made by the case)."""
    found = {}
    for folder, _, names in os.walk(str(root)):
        if os.path.relpath(folder, str(root)).split(os.sep)[0] == 'new':
            continue
        for name in names:
            if name != '.lock':
                path = os.path.join(folder, name)
                found[os.path.relpath(path, str(root))] = open(path, 'rb').read()
    return found


def unwritable(tmp_path):
    """A folder this process cannot create (root can write almost anywhere, not in /sys)."""
    path = '/sys/chainer_vae_test_%d' % os.getpid()
    try:
        os.mkdir(path)
    except OSError:
        return path
    os.rmdir(path)
    pytest.skip('%s is writable here' % path)


def huge_header_npz(path):
    """An npz whose le1/W claims 2**40 x 784 floats (3.5 TB) and holds none."""
    header = {'descr': '<f4', 'fortran_order': False, 'shape': (2 ** 40, 784)}
    with zipfile.ZipFile(path, 'w') as z, z.open('le1/W.npy', 'w') as f:
        np.lib.format.write_array_header_2_0(f, header)


def idx_without_training_images(folder):
    os.makedirs(folder)
    arrays = {'train_images': np.zeros((0, 28, 28)), 'train_labels': np.zeros(0),
              'test_images': np.zeros((2, 28, 28)), 'test_labels': np.zeros(2)}
    for key, name in data.FILES.items():
        with gzip.open(os.path.join(folder, name), 'wb') as f:
            f.write(data.encode_idx(arrays[key]))


@pytest.fixture(scope='module')
def earlier(tmp_path_factory):
    """Two finished runs: the legacy shapes (2 epochs) and a small one (n_hidden 16)."""
    root = tmp_path_factory.mktemp('earlier')
    for name, extra in (('run', []), ('small', ['--n-hidden', '16'])):
        result = run_cli(*run_args(root / name, epochs=2) + extra)
        assert result.returncode == 0, result.stderr
    return root


# (case, command-line arguments with {run}, {small}, {tmp}, {unwritable} filled in,
#  words the line must hold)
TRAIN_CASES = [
    ('earlier run in --out', run_args('{run}', 1), ['holds an earlier run', '--force']),
    ('-r without -m', ['--dataset', 'sample', '-r', '{run}/mlp_20.state', '-o', '{tmp}/new'],
     ['needs --initmodel']),
    ('.state of another shape', ['--dataset', 'sample', '-m', '{run}/mlp_20.model',
                                 '-r', '{small}/mlp_20.state', '-o', '{tmp}/new'],
     ['does not fit this model', 'has shape (16,', 'the model needs (500,']),
    ('.model of another shape', ['--dataset', 'sample', '-m', '{small}/mlp_20.model',
                                 '-o', '{tmp}/new'], ['does not fit this model']),
    ('npz header claiming 3.5 TB', ['--dataset', 'sample', '-m', '{tmp}/huge.model',
                                    '-o', '{tmp}/new'], ['shape (1099511627776, 784)']),
    ('--out is a file', ['--dataset', 'sample', '-o', '{run}/log.csv'],
     ['is a file, not a directory']),
    ('--out unwritable', ['--dataset', 'sample', '-o', '{unwritable}'], ['cannot write in --out']),
    ('resume without checkpoint', ['--resume-from', '{tmp}/empty'], ['no checkpoint.npz there']),
    ('resume with a bad config', ['--resume-from', '{tmp}/badconfig'],
     ['cannot resume', 'config.json: not a readable run config']),
    ('resume with a torn checkpoint', ['--resume-from', '{tmp}/torn'], ['checkpoint.npz']),
    ('--seed -1', ['--seed', '-1'], ['--seed', 'between 0 and 2**32 - 1']),
    ('--seed 2**32', ['--seed', str(2 ** 32)], ['--seed', 'between 0 and 2**32 - 1']),
    ('--n-hidden too large', ['--dataset', 'sample', '--n-hidden', '1000000', '-o', '{tmp}/new'],
     ['--n-hidden 1000000: the model needs about']),
    ('IDX with no images', ['--data-dir', '{tmp}/noimages', '-o', '{tmp}/new'],
     ['holds no images']),
    ('cache root read-only', ['--dataset', 'mnist', '-o', '{tmp}/new'],
     ['cannot create the MNIST cache', 'CHAINER_DATASET_ROOT']),
    ('no mirrors', ['--dataset', 'mnist', '-o', '{tmp}/new'], ['no MNIST mirrors']),
    ('disk full while training', ['--resume-from', '{tmp}/interrupted'],
     ['File too large', 'keeps the checkpoint of epoch 2', '--resume-from']),
    ('disk full, new run', ['--dataset', 'sample', '-o', '{tmp}/new'],
     ['File too large', 'No epoch finished']),
    ('out of memory while training', ['--resume-from', '{tmp}/interrupted'],
     ['out of memory', 'keeps the checkpoint of epoch 3']),
]


@pytest.mark.parametrize('case, args, words', TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_train_vae_bad_input_and_faults(earlier, tmp_path, monkeypatch, case, args, words):
    shutil.copytree(str(earlier / 'run'), str(tmp_path / 'run'))
    os.makedirs(str(tmp_path / 'empty'))
    shutil.copytree(str(earlier / 'run'), str(tmp_path / 'badconfig'))
    (tmp_path / 'badconfig' / 'config.json').write_text('{"dimz": 20,')
    shutil.copytree(str(earlier / 'run'), str(tmp_path / 'torn'))
    with open(str(tmp_path / 'torn' / 'checkpoint.npz'), 'r+b') as f:
        f.truncate(1000)
    shutil.copytree(str(earlier / 'run'), str(tmp_path / 'interrupted'))  # a 5-epoch run at 2
    config = tmp_path / 'interrupted' / 'config.json'
    config.write_text(config.read_text().replace('"epoch": 2', '"epoch": 5'))
    huge_header_npz(str(tmp_path / 'huge.model'))
    idx_without_training_images(str(tmp_path / 'noimages'))
    how = {}
    if case == 'cache root read-only':
        monkeypatch.setenv('CHAINER_DATASET_ROOT', unwritable(tmp_path))
    if case == 'no mirrors':
        monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', '')
    if case.startswith('disk full'):
        how['prelude'] = FULL_DISK
    if case == 'out of memory while training':
        how['prelude'] = OUT_OF_MEMORY
    fill = dict(run=earlier / 'run', small=earlier / 'small', tmp=tmp_path,
                unwritable=unwritable(tmp_path) if case == '--out unwritable' else '')
    before = snapshot(tmp_path), snapshot(earlier)
    result = run_cli(*[str(a).format(**fill) for a in args], **how)
    assert_one_line_error(result, *words)
    if case != 'out of memory while training':  # it finished epoch 3 before the fault
        assert (snapshot(tmp_path), snapshot(earlier)) == before
    assert case == 'disk full, new run' or not (tmp_path / 'new').exists()


def test_out_of_memory_keeps_every_finished_epoch(earlier, tmp_path):
    shutil.copytree(str(earlier / 'run'), str(tmp_path / 'run'))
    result = run_cli('--resume-from', tmp_path / 'run', '--epoch', 5, prelude=OUT_OF_MEMORY)
    assert_one_line_error(result, 'out of memory')
    assert len(log_rows(tmp_path / 'run')) == 1 + 3  # epochs 1, 2 and the resumed 3
    assert run_cli('--resume-from', tmp_path / 'run', '--epoch', 5).returncode == 0


def test_a_closed_stdout_ends_the_output_not_the_training(tmp_path):
    proc = start_cli(*run_args(tmp_path / 'run', epochs=6))
    proc.stdout.close()  # as `train_vae.py | head -0`
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == ''
    assert len(log_rows(tmp_path / 'run')) == 1 + 6
    assert (tmp_path / 'run' / 'mlp_20.model').exists()


def visualize(*args):
    return subprocess.run([sys.executable, '-m', 'chainer_vae.visualize', '--no-kl'] +
                          [str(a) for a in args], capture_output=True, text=True, cwd=REPO,
                          timeout=300)


def spoil(run, case):
    """Damage a copy of a finished run the way ``case`` says."""
    if case == 'config not JSON':
        (run / 'config.json').write_text('{"dimz": 20,')
    elif case == 'config lacks n_latent':
        config = json.loads((run / 'config.json').read_text())
        del config['model']['n_latent']
        (run / 'config.json').write_text(json.dumps(config))
    elif case == 'flat config lacks dimz':  # the form of runs made before the sections
        (run / 'config.json').write_text('{"n_hidden": 500}')
    elif case == 'config n_latent not a number':
        text = (run / 'config.json').read_text().replace('"n_latent": 20', '"n_latent": "twenty"')
        (run / 'config.json').write_text(text)
    elif case == 'config is a list':
        (run / 'config.json').write_text('[1, 2]')
    elif case == 'model missing':
        (run / 'mlp_20.model').unlink()
    elif case == 'model of another shape':
        text = (run / 'config.json').read_text().replace('"n_h": 500', '"n_h": 400')
        (run / 'config.json').write_text(text)
    elif case == 'model not an npz':
        (run / 'mlp_20.model').write_bytes(b'not a model')
    elif case == 'log.csv garbage':
        (run / 'log.csv').write_text('epoch,train_loss\n1,abc\n')
    elif case == 'log.csv empty':
        (run / 'log.csv').write_text('')
    elif case == 'log.csv without rows':
        (run / 'log.csv').write_text(
            'epoch,train_loss,train_rec_loss,test_loss,test_rec_loss,wall_time\n')


VISUALIZE_CASES = [
    ('no such directory', ['{tmp}/nonexistent'], ['no such run directory']),
    ('not a run', ['{tmp}'], ['has no config.json']),
    ('config not JSON', ['{run}'], ['not a readable run config']),
    ('config lacks n_latent', ['{run}'], ['model.n_latent is missing']),
    ('flat config lacks dimz', ['{run}'], ['dimz is missing']),
    ('config n_latent not a number', ['{run}'], ["model.n_latent is invalid: 'twenty'"]),
    ('config is a list', ['{run}'], ['not a run config']),
    ('model missing', ['{run}'], ['mlp_20.model is missing']),
    ('model of another shape', ['{run}'], ['does not fit this model']),
    ('model not an npz', ['{run}'], ['not an .npz checkpoint']),
    ('log.csv garbage', ['{run}'], ['not a readable loss log']),
    ('log.csv empty', ['{run}'], ['no epochs logged']),
    ('log.csv without rows', ['{run}'], ['no epochs logged']),
    ('legacy log garbage', ['{run}', '--legacy-log', '{run}/config.json'],
     ['not a readable loss log']),
    ('--out unwritable', ['{run}', '--out', '{unwritable}'], ['cannot write in']),
    ('--start alone', ['{run}', '--start', '3'], ['--start and --end go together']),
    ('--start 10', ['{run}', '--start', '10', '--end', '1'], ['--start']),
]


@pytest.mark.parametrize('case, args, words', VISUALIZE_CASES, ids=[c[0] for c in VISUALIZE_CASES])
def test_visualize_bad_input(earlier, tmp_path, case, args, words):
    run = tmp_path / 'run'
    shutil.copytree(str(earlier / 'run'), str(run))
    spoil(run, case)
    fill = dict(run=run, tmp=tmp_path,
                unwritable=unwritable(tmp_path) if case == '--out unwritable' else '')
    before = snapshot(tmp_path)
    result = visualize(*[a.format(**fill) for a in args])
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('visualize: error: '), result.stderr
    for word in words:
        assert word in lines[0]
    assert snapshot(tmp_path) == before
