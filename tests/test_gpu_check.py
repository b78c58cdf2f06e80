"""scripts/gpu_check.sh, all that a machine without a GPU can check of it: --prepare fills
its folder, the chainer wheel installs from there with no index, the GPU half stops with one
line where there is no GPU, and its steps write their summary when one fails; and the
readings of scripts/gpu_check_report.py."""
import collections
import gzip
import importlib.util
import os
import statistics
import subprocess
import sys

import numpy as np
import pytest

import chainer.functions as F

from helpers import REPO, run_module

from chainer_vae import checkpoint, cpu_kernels, files, net

SCRIPT = os.path.join(REPO, 'scripts', 'gpu_check.sh')
MNIST = ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
         't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz')


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, 'scripts', name + '.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


report = load_script('gpu_check_report')
chainer_suite = load_script('chainer_suite')


def gpu_check(*args, path=None, timeout=300):
    env = dict(os.environ, PYTHON=sys.executable)
    env.pop('PYTHONPATH', None)
    if path is not None:
        env['PATH'] = path
    return subprocess.run(['bash', SCRIPT] + [str(a) for a in args], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=REPO)


def path_without_nvidia_smi(*first):
    """PATH as it is, less the folders that hold an nvidia-smi, after ``first``."""
    return os.pathsep.join([str(f) for f in first] + [
        d for d in os.environ['PATH'].split(os.pathsep)
        if not os.path.exists(os.path.join(d, 'nvidia-smi'))])


def assert_one_line(result, *words):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('gpu_check.sh: error: '), result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope='module')
def prepared(tmp_path_factory):
    """--prepare into a temporary folder, from tiny stand-ins of MNIST, of chainer's test
    suite (every file of its VAE path, one line each) and of the 2017 graph: no ../shared,
    no large files; the wheels come from pip (its cache, or PyPI)."""
    root = tmp_path_factory.mktemp('prepare')
    mnist, suite, legacy = root / 'mnist', root / 'suite', root / 'legacy'
    for folder in (mnist, suite, legacy):
        folder.mkdir()
    for name in MNIST:  # gzip, but not IDX: train_vae.py refuses them with one line
        (mnist / name).write_bytes(gzip.compress(b'not an IDX file'))
    (suite / 'LICENSE').write_text('MIT\n')
    for path in chainer_suite.VAE_PATH:
        (suite / path).parent.mkdir(parents=True, exist_ok=True)
        (suite / path).write_text('def test_it():\n    pass\n')
    (suite / 'tests' / 'chainer_tests' / 'conftest.py').write_text('\n')
    for folder in {(suite / p).parent for p in chainer_suite.VAE_PATH}:
        while folder != suite / 'tests':
            (folder / '__init__.py').write_text('')
            folder = folder.parent
    (suite / 'tests' / 'chainer_tests' / 'links_tests' / 'unrelated_test.py').write_text('\n')
    (legacy / 'graph.dot').write_text('digraph graphname {}\n')
    out = root / 'gpu-check'
    result = gpu_check('--prepare', out, '--mnist', mnist, '--suite', suite, '--legacy', legacy,
                       '--no-mpich')
    assert result.returncode == 0, result.stderr
    return out, result


def test_prepare_fills_its_folder_with_what_the_gpu_machine_lacks(prepared):
    out, result = prepared
    assert 'of the 64 MiB that travel' in result.stdout
    wheels = sorted(os.listdir(out / 'wheels'))
    assert len(wheels) == 2 and wheels[0].startswith('chainer-7.8.1-py3-none-any')
    assert wheels[1].startswith('mock-')
    assert sorted(os.listdir(out / 'shared' / 'mnist')) == sorted(MNIST)
    assert (out / 'shared' / 'legacy' / 'graph.dot').is_file()
    copied = out / 'shared' / 'chainer-tests'
    files = sorted(os.path.relpath(os.path.join(d, f), copied)
                   for d, _, names in os.walk(copied) for f in names)
    assert 'LICENSE' in files and 'tests/chainer_tests/conftest.py' in files
    assert set(chainer_suite.VAE_PATH) < set(files)
    assert 'tests/chainer_tests/links_tests/connection_tests/__init__.py' in files
    assert not [f for f in files if 'unrelated' in f]  # the VAE path only
    manifest = (out / 'MANIFEST.txt').read_text()
    assert 'wheels/chainer-7.8.1-py3-none-any.whl' in manifest


def test_without_a_gpu_the_gpu_half_is_one_line(prepared, tmp_path):
    out, _ = prepared
    result = gpu_check('--prepared', out, '--work', tmp_path / 'work', tmp_path / 'out',
                       path=path_without_nvidia_smi())
    assert result.returncode == 1
    assert_one_line(result, 'no GPU here: nvidia-smi not found')
    assert not (tmp_path / 'out').exists() and not (tmp_path / 'work').exists()

    fake = tmp_path / 'bin'  # an nvidia-smi that finds no device
    fake.mkdir()
    (fake / 'nvidia-smi').write_text('#!/bin/sh\necho "No devices were found"\nexit 6\n')
    os.chmod(str(fake / 'nvidia-smi'), 0o755)
    result = gpu_check('--prepared', out, '--work', tmp_path / 'work', tmp_path / 'out',
                       path=path_without_nvidia_smi(fake))
    assert result.returncode == 1
    assert_one_line(result, 'nvidia-smi -L fails: No devices were found')


def test_nothing_prepared_is_one_line(tmp_path):
    fake = tmp_path / 'bin'  # an nvidia-smi that answers
    fake.mkdir()
    (fake / 'nvidia-smi').write_text('#!/bin/sh\necho "GPU 0: a GPU (UUID: GPU-0)"\n')
    os.chmod(str(fake / 'nvidia-smi'), 0o755)
    result = gpu_check('--prepared', tmp_path / 'none', tmp_path / 'out',
                       path=path_without_nvidia_smi(fake))
    assert result.returncode == 1
    assert_one_line(result, 'holds no chainer wheel', '--prepare')


def test_a_dry_run_installs_chainer_with_no_index_and_sums_up_a_failing_step(prepared,
                                                                            tmp_path):
    """--gpu -1, the dry run: chainer comes from the prepared wheel (pip --no-index
    --target), the legacy run and M2 on the CPU refuse the stand-in MNIST (one line, exit 1);
    the summary says so, and at most 8 files, none in a folder, come back."""
    out, _ = prepared
    work = tmp_path / 'work'
    result = gpu_check('--gpu', '-1', '--seconds', '200', '--prepared', out, '--work', work,
                       tmp_path / 'out', 'legacy', 'm2')
    assert result.returncode == 1, result.stderr
    versions = (work / 'logs' / 'versions.txt').read_text()
    assert 'chainer 7.8.1 from %s\n' % (work / 'site' / 'chainer' / '__init__.py') in versions
    back = sorted(os.listdir(tmp_path / 'out'))
    assert 'summary.md' in back and 'logs.tar.gz' in back and len(back) <= 8
    assert all((tmp_path / 'out' / name).is_file() for name in back)
    summary = (tmp_path / 'out' / 'summary.md').read_text()
    assert summary.startswith('# GPU check: FAILED: legacy m2\n')
    row = next(line for line in summary.splitlines() if line.startswith('| 2 legacy |'))
    assert '| failed |' in row and 'train_vae.py: error: ' in row and 'no epoch finished' in row
    row = next(line for line in summary.splitlines() if line.startswith('| 6 m2 |'))
    assert '| failed |' in row and 'exit 1: m2: error: ' in row, row
    assert row.endswith('m2_pixels: no epoch finished; m1m2: no epoch finished |'), row
    assert '| 1 versions | ok |' in summary  # chainer 7.8.1 came from the wheel
    assert '| 3 tests | not asked |' in summary


# ---- scripts/gpu_check_report.py ---------------------------------------------------

def epoch(n):
    return ('epoch %d\ntrain mean loss=1, mean reconstruction loss=1\n'
            'test  mean loss=2, mean reconstruction loss=2\n' % n)


def test_a_resumed_runs_printed_lines_join_as_one_run_prints_them():
    whole = epoch(1).replace('\n', '\ngraph generated\n', 1) + epoch(2) + epoch(3)
    head = epoch(1).replace('\n', '\ngraph generated\n', 1) + epoch(2)
    cut_in_epoch_3 = head + 'epoch 3\ntrain mean loss=1, mean'
    assert report.joined_stdout([cut_in_epoch_3, epoch(3)]) == whole
    assert report.joined_stdout([head, epoch(3)]) == whole  # stopped after epoch 2's checkpoint
    assert report.joined_stdout(['', head, whole]) == whole  # started again (--force)


def write_log(folder, rows):
    folder.mkdir()
    with open(str(folder / 'log.csv'), 'w') as f:
        f.write('epoch,train_loss,train_rec_loss,test_loss,test_rec_loss,wall_time\n')
        for epoch, loss, wall in rows:
            f.write('%d,%s,1,%s,1,%s\n' % (epoch, loss + 1, loss, wall))


def test_the_legacy_line_reads_the_run_beside_the_2017_run(tmp_path):
    write_log(tmp_path / 'cut', [(1, 130.0, 9.0), (2, 120.0, 12.0), (3, 110.0, 16.0)])
    line, done = report.legacy_line(str(tmp_path / 'cut'))
    assert not done
    assert line.startswith('epoch 3 of 100: test loss 110.00 (2017: 112.38, -2.38), '
                           'train loss 111.00 (2017: 116.56); 3.50 s an epoch (median of '
                           'epochs 2-3), 16 s in all'), line
    assert line.endswith('not finished: call again to go on')
    write_log(tmp_path / 'done', [(e, 97.5, 3.0 * e) for e in range(1, 101)])
    assert not report.legacy_line(str(tmp_path / 'done'))[1]  # no model yet
    (tmp_path / 'done' / 'mlp_20.model').write_bytes(b'')
    line, done = report.legacy_line(str(tmp_path / 'done'))
    assert done and line.startswith('epoch 100 of 100: test loss 97.50 (2017: 97.19, +0.31)')
    assert report.legacy_line(str(tmp_path / 'nothing')) == ('no epoch finished', False)


def test_the_m2_line_reads_each_runs_seconds_an_epoch(tmp_path):
    out = tmp_path / 'm2_pixels'
    result = run_module('m2', '--dataset', 'sample', '--n-train', '1000', '--labels', '100',
                        '--steps', '2', '--n-hidden', '8', '--dimz', '2', '--seed', '0',
                        '--epoch', '3', '-o', out)
    assert result.returncode == 0, result.stderr
    rows = np.loadtxt(str(out / 'log.csv'), delimiter=',', skiprows=1)
    line = report.m2_line([str(out), str(tmp_path / 'm1m2')])
    assert line == ('M2 N = 100 (2 steps an epoch): %.2f s an epoch (median of epochs 2-3; '
                    'epoch 1: %.1f s), test error %.2f %% at epoch 3; m1m2: no epoch finished'
                    % (statistics.median(np.diff(rows[:, -1])), rows[0, -1], rows[-1, -2]))


def test_chainer_suite_reports_add_up(tmp_path):
    paths = []
    for name, counts, failed in (
            ('a', {'passed': 5, 'cpu (the CPU runs)': 7}, []),
            ('b', {'passed': 2, 'failed': 1}, [['tests/test_b.py::test_it', 'AssertionError']])):
        module = 'tests/test_%s.py' % name
        text, _ = chainer_suite.report({module: collections.Counter(counts)}, failed,
                                       'python scripts/chainer_suite.py --gpu ' + module)
        paths.append(str(tmp_path / (name + '.md')))
        with open(paths[-1], 'w') as f:
            f.write(text)
    line, code = report.suite_line(paths[:1])
    assert code == 0 and line.startswith('1 of 1 modules reported: passed 5, failed 0, ')
    assert 'cpu (the CPU runs) 7' in line
    line, code = report.suite_line(paths[:1] + [str(tmp_path / 'cut.md')])
    assert code == 3 and line.endswith('; no report (cut or crashed): cut.md')
    line, code = report.suite_line(paths + [str(tmp_path / 'cut.md')])
    assert code == 1
    assert line.startswith('2 of 3 modules reported: passed 7, failed 1, ')
    assert line.endswith('; failing: test_b.py; no report (cut or crashed): cut.md')


def test_an_unfinished_runs_checkpoint_comes_back_as_one_file(tmp_path):
    """gpu_check.sh sends an unfinished run's checkpoint.npz back as a file of its own, and
    the GPU machine sends files of 16 MiB at most: the legacy model's, with Adam's state."""
    np.random.seed(0)
    model = net.VAE(784, 20, 500, act_func=F.softplus)
    optimizer = cpu_kernels.Adam()
    optimizer.setup(model)
    optimizer.update(model.get_loss_func(), np.full((2, 784), 0.5, np.float32))
    folder = checkpoint.RunFolder(str(tmp_path), files.legacy_names(20)).open()
    folder.end_epoch(model, optimizer, (0.0,) * 4)
    assert os.path.getsize(str(tmp_path / files.CHECKPOINT)) < 16 * 2 ** 20
