"""A non-editable install works on its own: `pip install .` into a fresh virtual environment,
then the training command and seed_band from the installed package, away from this checkout."""
import os
import shutil
import subprocess
import sys
import sysconfig

import pytest

from helpers import REPO


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """A fresh venv holding chainer_vae as `pip install .` puts it there; the packages it
    needs (chainer, NumPy, ...) are this environment's, seen through a .pth file."""
    root = tmp_path_factory.mktemp('install')
    source = root / 'source'
    os.makedirs(str(source))
    for name in ('setup.py', 'pyproject.toml'):
        shutil.copy(os.path.join(REPO, name), str(source))
    shutil.copytree(os.path.join(REPO, 'chainer_vae'), str(source / 'chainer_vae'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    venv = root / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run([python, '-c', 'import sysconfig; print(sysconfig.get_path("purelib"))'],
                          capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.join(site, 'this_environments_packages.pth'), 'w') as f:
        f.write(sysconfig.get_path('purelib') + '\n')
    done = subprocess.run([python, '-m', 'pip', 'install', '-q', '--no-deps', str(source)],
                          capture_output=True, text=True, cwd=str(root))
    assert done.returncode == 0, done.stderr
    shutil.rmtree(str(source))  # nothing of the source is left to import from
    return python, root


@pytest.mark.slow  # a fresh virtual environment: a minute or two
def test_the_package_alone_trains_and_makes_a_band(installed):
    python, root = installed
    where = subprocess.run([python, '-c', 'import chainer_vae.data as d; print(d.__file__); '
                            'print(d.SAMPLE_DIR)'], capture_output=True, text=True, cwd=str(root),
                           check=True).stdout.split()
    assert 'site-packages' in where[0] and not where[0].startswith(REPO)
    trained = subprocess.run([python, '-m', 'chainer_vae', '--dataset', 'sample', '--test',
                              '--epoch', '1', '-o', 'run'], capture_output=True, text=True,
                             cwd=str(root), timeout=600)
    assert trained.returncode == 0, trained.stderr
    assert trained.stdout.startswith('epoch 1\ngraph generated\n')
    assert os.path.isfile(str(root / 'run' / 'mlp_20.model'))
    band = subprocess.run([python, '-m', 'chainer_vae.seed_band', '--out', 'band', '--seeds', '0',
                           '1', '--epoch', '1', '--data-dir', where[1]],
                          capture_output=True, text=True, cwd=str(root), timeout=900)
    assert band.returncode == 0, band.stderr
    assert 'seed 1: python -m chainer_vae' in band.stdout
    assert os.path.isfile(str(root / 'band' / 'band.csv'))
