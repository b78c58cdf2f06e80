"""Every bad input and OS fault: one line, a non-zero exit, no traceback, and every
file that existed before byte for byte unchanged (the run's .lock holds the pid of
the last run that took it, and is left out of the comparison)."""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from chainer_vae import data

from helpers import REPO, cli_command, run_cli, start_cli
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
    ('checkpoint of epoch 0', ['--resume-from', '{tmp}/epoch0'], ['checkpoint.npz is damaged']),
    ('checkpoint without its random state', ['--resume-from', '{tmp}/norandom', '--epoch', '5'],
     ['checkpoint.npz', 'the random state']),
    ('config value of the wrong type', ['--resume-from', '{tmp}/typed'],
     ["data.binarize is invalid: 'no'"]),
    ('--epoch below the epochs done', ['--resume-from', '{tmp}/interrupted', '--epoch', '1'],
     ['--epoch 1: the run in', 'has finished 2 epochs']),
    ('resume a finished run', ['--resume-from', '{run}'], ['has finished 2 epochs', '--epoch N']),
    ('resume legacy files alone', ['--resume-from', '{tmp}/legacyonly'],
     ['no checkpoint.npz there (only mlp_20.model', '-m and -r']),
    ('earlier run without checkpoint', ['--dataset', 'sample', '-o', '{tmp}/nocheckpoint'],
     ['holds an earlier run (config.json, graph.dot); pass --force to replace it']),
    ('--data-dir with the sample', ['--dataset', 'sample', '--data-dir', '{tmp}', '-o',
                                    '{tmp}/new'], ['--dataset sample', 'reads no folder']),
    ('--image-size with MNIST', ['--dataset', 'sample', '--image-size', '14', '-o', '{tmp}/new'],
     ['--image-size resizes your own images']),
]


def rewrite_npz(path, **changes):
    """The npz at ``path`` again, with some of its arrays replaced."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays.update(changes)
    np.savez(path, **arrays)  # a name ending in .npz is kept as it is


def prepare(earlier, tmp, name):
    """The folder tmp/``name`` that a case names, made from the earlier run."""
    target = tmp / name
    if name in ('run', 'badconfig', 'torn', 'interrupted', 'epoch0', 'typed', 'legacyonly',
                'norandom'):
        shutil.copytree(str(earlier / 'run'), str(target))
    if name == 'empty':
        os.makedirs(str(target))
    elif name == 'badconfig':
        (target / 'config.json').write_text('{"dimz": 20,')
    elif name == 'torn':
        with open(str(target / 'checkpoint.npz'), 'r+b') as f:
            f.truncate(1000)
    elif name == 'interrupted':  # a 5-epoch run stopped at 2
        config = target / 'config.json'
        config.write_text(config.read_text().replace('"epoch": 2', '"epoch": 5'))
    elif name == 'epoch0':
        rewrite_npz(str(target / 'checkpoint.npz'), epoch=np.int64(0))
    elif name == 'norandom':
        rewrite_npz(str(target / 'checkpoint.npz'), **{'rng/keys': np.zeros(10, np.uint32)})
    elif name == 'typed':
        config = target / 'config.json'
        config.write_text(config.read_text().replace('"binarize": false', '"binarize": "no"'))
    elif name == 'legacyonly':
        (target / 'checkpoint.npz').unlink()
    elif name == 'nocheckpoint':  # a run stopped in its first epoch
        os.makedirs(str(target))
        for kept in ('config.json', 'graph.dot'):
            shutil.copy(str(earlier / 'run' / kept), str(target))
    elif name == 'huge.model':
        huge_header_npz(str(target))
    elif name == 'noimages':
        idx_without_training_images(str(target))


USAGE_CASES = ('--seed -1', '--seed 2**32', '--data-dir with the sample', '--image-size with MNIST',
               '-r without -m')


@pytest.mark.parametrize('case, args, words', TRAIN_CASES, ids=[c[0] for c in TRAIN_CASES])
def test_train_vae_bad_input_and_faults(earlier, tmp_path, monkeypatch, case, args, words):
    for arg in args:
        if str(arg).startswith('{tmp}/') and arg != '{tmp}/new':
            prepare(earlier, tmp_path, arg.split('/')[1])
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
    assert result.returncode == (2 if case in USAGE_CASES else 1)
    if case == 'earlier run without checkpoint':  # nothing to resume: not suggested
        assert '--resume-from' not in result.stderr
    if case in ('checkpoint of epoch 0', 'checkpoint without its random state'):
        assert 'No epoch finished' not in result.stderr  # its epochs are there, unchanged
    if case != 'out of memory while training':  # it finished epoch 3 before the fault
        assert (snapshot(tmp_path), snapshot(earlier)) == before
    assert case == 'disk full, new run' or not (tmp_path / 'new').exists()


def test_out_of_memory_keeps_every_finished_epoch(earlier, tmp_path):
    prepare(earlier, tmp_path, 'run')
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


def damage_deflate(path):
    """Flip a byte in the middle of the npz's largest compressed member, as a bad sector
    would: the zip's directory is whole, its CRC or its deflate stream is not."""
    with zipfile.ZipFile(str(path)) as z:
        info = max(z.infolist(), key=lambda i: i.compress_size)
    with open(str(path), 'r+b') as f:
        f.seek(info.header_offset + 30 + len(info.filename) + info.compress_size // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 0xff]))


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
    elif case == 'log.csv with a NaN':
        text = (run / 'log.csv').read_text().splitlines(True)
        (run / 'log.csv').write_text(text[0] + '1,nan,1,1,1,1\n' + ''.join(text[2:]))
    elif case == 'config value of the wrong type':
        text = (run / 'config.json').read_text().replace('"binarize": false', '"binarize": "no"')
        (run / 'config.json').write_text(text)
    elif case == 'model with a bad CRC':
        damage_deflate(run / 'mlp_20.model')


VISUALIZE_CASES = [
    ('no such directory', ['{tmp}/nonexistent'], ['nonexistent: no such directory']),
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
    ('log.csv with a NaN', ['{run}'], ['line 2: a number that is not finite']),
    ('config value of the wrong type', ['{run}'], ["data.binarize is invalid: 'no'"]),
    ('model with a bad CRC', ['{run}'], ['mlp_20.model is damaged']),
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
    usage = case in ('no such directory', '--start alone')
    assert result.returncode == (2 if usage else 1) and 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('visualize: error: '), result.stderr
    for word in words:
        assert word in lines[0]
    assert snapshot(tmp_path) == before


# ---- the other commands: bad input, a full disk, a signal -----------------------

MODULE_SCRIPT = '''
import runpy, sys
sys.argv[0] = %r
runpy.run_module(%r, run_name='__main__', alter_sys=False)
'''


def run_module_with(module, args, prelude='', **how):
    """``python -m chainer_vae.MODULE ARGS`` after ``prelude`` (Python run first)."""
    code = prelude + MODULE_SCRIPT % (module, 'chainer_vae.' + module)
    return subprocess.Popen([sys.executable, '-c', code] + [str(a) for a in args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **how)


# a prelude whose files stop at 100 bytes: evaluation.json, m1.json, band.csv fail to fit
TINY_DISK = FULL_DISK.replace('1 << 20, 1 << 20', '100, 100')
# a prelude that sends this process SIGINT as the evaluation begins (its first loss)
SIGINT_IN_WORK = '''
import os, signal, chainer_vae.net as net
loss_func = net.VAE.get_loss_func
def interrupted(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGINT)
    return loss_func(self, *args, **kwargs)
net.VAE.get_loss_func = interrupted
'''

COMMAND_CASES = [
    # (case, module, args, prelude, exit code, words of the line)
    ('evaluate: --n-test 0', 'evaluate', ['{run}', '--n-test', '0'], '', 2, ['--n-test']),
    ('evaluate: --seed -1', 'evaluate', ['{run}', '--seed', '-1'], '', 2, ['between 0 and']),
    ('evaluate: --k too many', 'evaluate', ['{run}', '--k', '10000000'], '', 2,
     ['between 1 and 100000']),
    ('evaluate: damaged model', 'evaluate', ['{damaged}'], '', 1, ['mlp_20.model is damaged']),
    ('evaluate: full disk', 'evaluate', ['{run}', '--k', '1', '--n-test', '50'], TINY_DISK, 1,
     ['cannot write in', 'File too large']),
    ('evaluate: SIGINT', 'evaluate', ['{run}', '--k', '5000'], SIGINT_IN_WORK, 130,
     ['interrupted (SIGINT); nothing was written']),
    ('m1: --seed 2**32', 'm1', ['{run}', '--seed', str(2 ** 32)], '', 2, ['between 0 and']),
    ('m1: more labels than images', 'm1', ['{run}', '--labels', '5000', '--draws', '1'], '', 1,
     ['--labels 5000: 500 of each class', 'training images']),
    ('m1: unlabelled run', 'm1', ['{unlabelled}', '--labels', '10', '--draws', '1'], '', 1,
     ['without labels']),
    ('m1: full disk', 'm1', ['{run}', '--labels', '10', '--draws', '1'], TINY_DISK, 1,
     ['cannot write in', 'File too large']),
    ('seed_band: a run of other settings', 'seed_band',
     ['--out', '{tmp}', '--seeds', '0', '1', '--epoch', '1'], '', 1,
     ['holds a run of other settings']),
    ('seed_band: full disk', 'seed_band', ['--out', '{tmp}/band', '--seeds', '0', '1',
                                           '--epoch', '1', '--data-dir', data.SAMPLE_DIR],
     TINY_DISK, 1, ['cannot write in', 'File too large']),
    ('revival: no such script', 'revival', ['{tmp}/nope.py'], '', 2, ['no such script']),
    ('revival: SIGINT in the script', 'revival', ['{tmp}/wait.py'], '', 130,
     ['interrupted (SIGINT)']),
]


@pytest.mark.parametrize('case, module, args, prelude, code, words', COMMAND_CASES,
                         ids=[c[0] for c in COMMAND_CASES])
def test_every_command_fails_with_one_line_and_changes_nothing(earlier, tmp_path, case, module,
                                                                args, prelude, code, words):
    prepare(earlier, tmp_path, 'run')
    if case.startswith('evaluate: damaged'):
        shutil.copytree(str(earlier / 'run'), str(tmp_path / 'damaged'))
        damage_deflate(tmp_path / 'damaged' / 'mlp_20.model')
    if case.startswith('m1: unlabelled'):
        unlabelled_run(tmp_path / 'unlabelled')
    if case.startswith('seed_band: a run'):
        shutil.copytree(str(earlier / 'small'), str(tmp_path / 'seed0'))  # n_hidden 16
    (tmp_path / 'wait.py').write_text('import os, signal, time\nos.kill(os.getpid(), '
                                      'signal.SIGINT)\ntime.sleep(120)\n')
    fill = dict(run=tmp_path / 'run', damaged=tmp_path / 'damaged', tmp=tmp_path,
                unlabelled=tmp_path / 'unlabelled')
    before = snapshot(tmp_path)
    proc = run_module_with(module, [str(a).format(**fill) for a in args], prelude,
                           preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    _, err = proc.communicate(timeout=600)
    lines = err.strip().splitlines()
    assert proc.returncode == code and len(lines) == 1 and 'Traceback' not in err, err
    assert lines[0].startswith(module + ': error: '), err
    for word in words:
        assert word in lines[0], err
    after = snapshot(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing earlier changed
    new = set(after) - set(before)
    assert not new or case == 'seed_band: full disk', new


def unlabelled_run(folder):
    """A finished run on a folder of images without labels (one class)."""
    from PIL import Image
    images = folder.parent / 'unlabelled-images'
    os.makedirs(str(images))
    rng = np.random.RandomState(0)
    for k in range(20):
        Image.fromarray(rng.randint(0, 255, (8, 8), np.uint8)).save(str(images / ('%02d.png' % k)))
    result = run_cli('--dataset', images, '-e', '1', '--n-hidden', '8', '-o', folder)
    assert result.returncode == 0, result.stderr


def test_a_full_stdout_ends_the_lines_not_the_training(tmp_path):
    command, env = cli_command(run_args(tmp_path / 'run', epochs=2))
    with open('/dev/full', 'w') as full:
        done = subprocess.run(command, stdout=full, stderr=subprocess.PIPE, text=True, env=env,
                              cwd=REPO, timeout=300)
    assert done.returncode == 0 and 'Traceback' not in done.stderr
    assert done.stderr.strip().splitlines() == [
        'train_vae.py: warning: stdout: No space left on device; the printed lines end here, '
        'the work goes on']
    assert len(log_rows(tmp_path / 'run')) == 1 + 2 and (tmp_path / 'run' / 'mlp_20.model').exists()


def test_a_closed_stdout_at_start_is_no_traceback(tmp_path):
    command, env = cli_command(run_args(tmp_path / 'run', epochs=1))
    done = subprocess.run(command, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO,
                          timeout=300, preexec_fn=lambda: os.close(1))
    assert done.returncode == 0 and done.stderr == ''
    assert (tmp_path / 'run' / 'mlp_20.model').exists()
    assert not os.path.exists(str(tmp_path / 'run' / '1'))


def test_a_graph_that_does_not_fit_leaves_no_part_of_it(tmp_path):
    """A file-size limit of 4,096 bytes: graph.dot (9 KB) cannot be written, and no cut
    graph.dot is left behind."""
    limit = FULL_DISK.replace('1 << 20, 1 << 20', '4096, 4096')
    result = run_cli(*run_args(tmp_path / 'run', epochs=1), prelude=limit)
    assert_one_line_error(result, 'File too large', 'No epoch finished')
    assert not (tmp_path / 'run' / 'graph.dot').exists()
    assert not [n for n in os.listdir(str(tmp_path / 'run')) if n.endswith('.tmp')]


def test_a_gzip_bomb_is_refused_before_it_fills_the_memory(tmp_path):
    folder = tmp_path / 'bomb'
    os.makedirs(str(folder))
    for key, name in data.FILES.items():
        shutil.copy(os.path.join(data.SAMPLE_DIR, name), str(folder))
    with gzip.open(str(folder / data.FILES['test_images']), 'wb') as f:
        f.write(data.encode_idx(np.zeros((2, 28, 28), np.uint8)))
        for _ in range(64):  # 64 MB of zeros past the two images the header declares
            f.write(bytes(1 << 20))
    result = run_cli('--data-dir', folder, '-o', tmp_path / 'new', prelude=MEMORY_LIMIT)
    assert_one_line_error(result, 't10k-images-idx3-ubyte.gz: more data than its IDX header says')


# a prelude that caps this process's memory at 2 GB
MEMORY_LIMIT = '''
import resource
resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
'''


# an address space that chainer's imports do not fit in (this machine: they fail inside
# `import chainer` at 150,000 KiB, as under `ulimit -v 150000`)
SMALL_ADDRESS_SPACE = 150000 * 1024


def _small_address_space():
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (SMALL_ADDRESS_SPACE, SMALL_ADDRESS_SPACE))


@pytest.mark.parametrize('command, prog', [
    ([os.path.join(REPO, 'train_vae.py'), '--dataset', 'sample'], 'train_vae.py'),
    (['-m', 'chainer_vae', '--dataset', 'sample'], 'train_vae.py'),
    (['-m', 'chainer_vae.compare', 'RUN'], 'compare'),
    (['-m', 'chainer_vae.visualize', 'RUN'], 'visualize'),
    (['-m', 'chainer_vae.m2_results', 'RUN', '--out', 'OUT'], 'm2_results'),
])
def test_no_memory_for_chainers_imports_is_one_line(tmp_path, command, prog):
    """It was a traceback of 32 lines inside `import chainer`."""
    def started(args):
        return subprocess.run([sys.executable] + args, capture_output=True, text=True,
                              cwd=str(tmp_path), timeout=120, preexec_fn=_small_address_space,
                              env=dict(os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS='1'))

    if 'MemoryError' not in started(['-c', 'import chainer_vae']).stderr:  # chainer within
        pytest.skip('chainer is imported in %d KiB here' % (SMALL_ADDRESS_SPACE >> 10))
    result = started([str(tmp_path) if a == 'RUN' else str(tmp_path / 'out') if a == 'OUT'
                      else a for a in command])
    assert result.returncode == 1 and result.stdout == ''
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        '%s: error: out of memory while loading its libraries (' % prog), result.stderr
    assert os.listdir(str(tmp_path)) == []
