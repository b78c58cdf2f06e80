"""A non-editable install works on its own: `pip install .` into a fresh virtual environment,
then the training command and seed_band from the installed package, away from this checkout;
README's line that builds chainer 7.8.1 from PyPI, in a fresh environment of its own; what
make demo installs is the runtime alone, and it declares what the package imports."""
import ast
import glob
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from chainer_vae import download

from helpers import REPO, SHARED, SHARED_MNIST, needs_shared_mnist
from test_download import serving


def fresh_venv_and_source(root):
    """(python, source): a fresh virtual environment in ``root`` and a copy of what
    `pip install .` reads of this checkout."""
    source = root / 'source'
    os.makedirs(str(source))
    for name in ('setup.py', 'pyproject.toml'):
        shutil.copy(os.path.join(REPO, name), str(source))
    shutil.copytree(os.path.join(REPO, 'chainer_vae'), str(source / 'chainer_vae'),
                    ignore=shutil.ignore_patterns('__pycache__'))
    venv = root / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    return str(venv / 'bin' / 'python'), source


@pytest.fixture(scope='module')
def installed(tmp_path_factory):
    """A fresh venv holding chainer_vae as `pip install .` puts it there; the packages it
    needs (chainer, NumPy, ...) are this environment's, seen through a .pth file."""
    root = tmp_path_factory.mktemp('install')
    python, source = fresh_venv_and_source(root)
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


def readme_install_line():
    """The line of README.md's "Installing by hand" that builds chainer from PyPI."""
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        lines = [line.strip() for line in f if 'pip install chainer==7.8.1' in line]
    assert len(lines) == 1, lines
    return lines[0]


VAE_EXAMPLE = os.path.join(SHARED, 'chainer-examples', 'v7.8.1', 'vae')


@pytest.mark.slow  # chainer built from PyPI, the package's dependencies, an example: minutes
@needs_shared_mnist
@pytest.mark.skipif(not os.path.isdir(VAE_EXAMPLE), reason='../shared/chainer-examples is absent')
def test_readmes_line_builds_chainer_and_the_installed_revival_runs_an_example(tmp_path):
    """No package of this environment: README's line, then `pip install .` (not editable),
    then Chainer's own VAE example through `python -m chainer_vae.revival`, its MNIST from a
    server on 127.0.0.1 as from a mirror."""
    python, source = fresh_venv_and_source(tmp_path)
    env = dict(os.environ, PATH=os.path.dirname(python) + os.pathsep + os.environ['PATH'])
    env.pop('PYTHONPATH', None)
    env.pop('PIP_CONSTRAINT', None)
    env.pop('PIP_BUILD_CONSTRAINT', None)
    built = subprocess.run(['bash', '-c', readme_install_line()], capture_output=True, text=True,
                           cwd=str(tmp_path), env=env, timeout=1200)
    assert built.returncode == 0, built.stderr
    done = subprocess.run([python, '-m', 'pip', 'install', '-q', str(source)],
                          capture_output=True, text=True, cwd=str(tmp_path), env=env,
                          timeout=1200)
    assert done.returncode == 0, done.stderr
    shutil.rmtree(str(source))  # nothing of the checkout is left to import from
    example = tmp_path / 'vae'
    os.makedirs(str(example))
    for name in ('train_vae.py', 'net.py'):
        shutil.copyfile(os.path.join(VAE_EXAMPLE, name), str(example / name))
    files = {name: open(os.path.join(SHARED_MNIST, name), 'rb').read() for name in download.MD5}
    with serving(files) as (_, base):
        ran = subprocess.run(
            [python, '-m', 'chainer_vae.revival', 'train_vae.py', '--test', '--epoch', '1'],
            capture_output=True, text=True, cwd=str(example), timeout=900, env=dict(
                env, MPLBACKEND='Agg', OPENBLAS_NUM_THREADS='1',
                CHAINER_DATASET_ROOT=str(tmp_path / 'root'),
                CHAINER_VAE_MNIST_MIRRORS=base + 'ok/'))
    assert ran.returncode == 0, ran.stderr
    where = subprocess.run([python, '-c', 'import chainer_vae, chainer; print(chainer.__file__); '
                            'print(chainer_vae.__file__); print(chainer.__version__)'],
                           capture_output=True, text=True, cwd=str(tmp_path), env=env,
                           check=True).stdout.split()
    assert all(path.startswith(str(tmp_path / 'venv')) for path in where[:2]), where
    assert where[2] == '7.8.1'
    assert {'sampled.png', 'log', 'snapshot_iter_1'} <= set(os.listdir(str(example / 'results')))


# ---- what make demo installs: the runtime, no test tool -----------------------------

def setup_requirements():
    """(install_requires, extras_require) as setup.py declares them, read without running it."""
    with open(os.path.join(REPO, 'setup.py')) as f:
        tree = ast.parse(f.read())
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, 'id', None) == 'setup')
    keywords = {k.arg: k.value for k in call.keywords}
    return (ast.literal_eval(keywords['install_requires']),
            ast.literal_eval(keywords['extras_require']))


def name_of(requirement):
    return canonicalize_name(Requirement(requirement).name)


def runtime_closure(requirements):
    """The distributions that installing ``requirements`` brings, as this environment's
    metadata says (the markers of this interpreter; extras of a dependency not followed)."""
    seen, todo = set(), [name_of(r) for r in requirements]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for text in importlib.metadata.requires(name) or ():
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({'extra': ''}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def make_target(target):
    """(prerequisites, recipe lines) of a Makefile target."""
    with open(os.path.join(REPO, 'Makefile')) as f:
        text = f.read()
    found = re.search(r'^%s:([^#\n]*).*\n((?:\t.*\n)*)' % re.escape(target), text, re.M)
    return found.group(1).split(), found.group(2).splitlines()


def test_make_demo_installs_the_runtime_alone():
    runtime, extras = setup_requirements()
    for target in ('demo', 'pictures', 'gif'):
        assert make_target(target)[0] == ['$(VENV)/runtime'], target
    install = [line for line in make_target('$(VENV)/runtime')[1] if ' install ' in line
               and '-e' in line]
    assert len(install) == 1 and " -e . " in install[0], install  # no [extra]
    # no test tool among what the runtime brings, even through a dependency
    brought = runtime_closure(runtime)
    test_only = {name_of(r) for r in extras['test']} - brought
    assert test_only >= {'pytest', 'hypothesis', 'nbclient', 'ipykernel', 'ruff'}
    assert not brought & {name_of(r) for r in extras['test']}, brought
    # make test still has them
    assert make_target('test')[0] == ['$(VENV)/installed']
    assert any("'.[test]'" in line for line in make_target('$(VENV)/installed')[1])


def imported_distributions(path):
    """The distributions of the third-party modules a package's files import."""
    modules = set()
    for name in glob.glob(os.path.join(path, '**', '*.py'), recursive=True):
        with open(name) as f:
            for node in ast.walk(ast.parse(f.read())):
                if isinstance(node, ast.Import):
                    modules.update(a.name.split('.')[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules.add(node.module.split('.')[0])
    modules -= set(sys.stdlib_module_names) | {'chainer_vae'}
    where = importlib.metadata.packages_distributions()
    return {m: {canonicalize_name(d) for d in where.get(m, ())} for m in modules}


# imported where present, declared by none: the [gpu] extras' CuPy (absent here), and h5py,
# which the revival mends where a user has it (chainer's HDF5 serializer)
OPTIONAL = ('cupy', 'cupyx', 'h5py')


def test_what_the_package_imports_is_declared():
    runtime, extras = setup_requirements()
    declared = {name_of(r) for r in runtime} | {name_of(r) for e in ('eval', 'mpi', 'gpu')
                                                for r in extras[e]}
    # the revival mends what chainer brings (protobuf) where it is installed: chainer's own
    chainers = runtime_closure(['chainer'])
    for module, distributions in imported_distributions(os.path.join(REPO, 'chainer_vae')).items():
        if module in OPTIONAL:
            continue
        assert distributions, '%s: no installed distribution provides it' % module
        assert distributions & (declared | chainers), (module, distributions)
    assert 'pillow' in {name_of(r) for r in runtime}  # images.py imports PIL itself


def test_the_numpy_floor_is_the_oldest_numpy_ci_tests():
    with open(os.path.join(REPO, '.ci', 'run')) as f:
        tested = re.findall(r"NUMPY='numpy==([\d.]+)\.\*'", f.read())
    runtime, _ = setup_requirements()
    numpy = next(Requirement(r) for r in runtime if name_of(r) == 'numpy')
    assert tested and str(numpy.specifier) == '>=%s' % min(tested, key=Version)
