"""Chainer 7.8.1's own CPU test suite through the revival layer (chainer_vae/revival/__init__.py).

    python scripts/chainer_suite.py [--suite ../shared/chainer-tests] [--out FILE.md]
                                    [--fast | --vae-path] [--gpu] [PATH_IN_THE_SUITE ...]
    python scripts/chainer_suite.py --copy-to DIR [--vae-path] [PATH_IN_THE_SUITE ...]

Copies the suite (chainer's tests as tagged for v7.8.1; not part of this project) into a
scratch folder and runs it with pytest, ``import chainer_vae`` first. Then:

- Environment-only cases are deselected by their markers and counted apart: ``gpu``
  (and chainer's ``attr.multi_gpu``), ``cudnn``, ``ideep``, ``slow``, and the backends
  chainer.testing injects that this machine lacks (CUDA, ChainerX, cuDNN, iDeep: their
  ids say ``use_cuda_true`` ...). They need a GPU, cuDNN, iDeep or a ChainerX build
  (PyPI's chainer has none), not the revival; ``slow`` ones are left out for time.
- Test-side incompatibilities are the harness's, never the library's: the suite's
  own uses of names NumPy removed (``numpy.product``, ``np.int``, ``numpy.object``,
  ``numpy.bool``, ``numpy.complex_``) are rewritten in the scratch copy to what they
  meant; the cases whose *test code* needs NumPy 1 otherwise (TEST_SIDE below, each
  with its reason) are run as non-strict xfails and counted apart. NumPy itself is not touched.
- Prints, and writes to ``--out``, passed / failed / skipped / xfailed (chainer's own
  xfail marks) / test-side per module, and the failures by name.

Without paths: the whole suite (three runs side by side took 8 minutes on 2 cores). The
fast subset CI runs (tests/test_chainer_suite.py) is FAST below: the VAE path and every
module a patch touches.

``--gpu`` turns the selection around, for a machine with a GPU (scripts/gpu_check.sh): the
GPU cases run (the ``gpu`` marker, the injected CUDA backend) and the CPU cases are left to
the CPU runs (counted as ``cpu``); cuDNN (CuPy 14 has none), ChainerX, iDeep and ``slow``
stay environment-only. ``--copy-to DIR`` copies the test files named (with the
``__init__.py`` and ``conftest.py`` of their folders and the suite's LICENSE) into DIR, a
suite of its own, for a machine without ../shared.
"""
import argparse
import collections
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SUITE = os.path.join(os.path.dirname(REPO), 'shared', 'chainer-tests')
T = 'tests/chainer_tests/'
# the modules the VAE's training step and its files go through
VAE_PATH = [T + p for p in (
    'functions_tests/activation_tests/test_softplus.py',
    'functions_tests/activation_tests/test_sigmoid.py',
    'functions_tests/connection_tests/test_linear.py',
    'links_tests/connection_tests/test_linear.py',
    'functions_tests/noise_tests/test_gaussian.py',
    'functions_tests/loss_tests/test_vae.py',
    'optimizers_tests/test_optimizers.py',
    'serializers_tests/test_npz.py',
    'test_computational_graph.py',
)]
FAST = VAE_PATH + [T + p for p in (
    'functions_tests/array_tests/test_resize_images.py',
    'functions_tests/array_tests/test_pad_sequence.py',
    'distributions_tests/test_categorical.py',
    'functions_tests/math_tests/test_sparse_matmul.py',
    'function_hooks_tests/test_debug_print.py',
    'test_variable.py::TestDebugPrint',
    'exporters_tests/test_caffe.py',
    'links_tests/caffe_tests/test_caffe_function.py',
)]

# the suite's own uses of names NumPy removed, and what they meant
REMOVED_NAMES = [(re.compile(r'\b(numpy|np)\.product\('), r'\1.prod('),
                 (re.compile(r'\b(numpy|np)\.int\b(?![0-9_])'), 'int'),
                 (re.compile(r'\b(numpy|np)\.object\b(?![0-9_])'), 'object'),
                 (re.compile(r'\b(numpy|np)\.bool\b(?![0-9_])'), 'bool'),
                 (re.compile(r'\b(numpy|np)\.complex_\b'), r'\1.complex128')]

# cases whose test code (not chainer's) fails under NumPy 2: node id pattern -> reason
TEST_SIDE = {
    r'test_pad_sequence\.py::.*dtype=uint.*pad=-1': "the expected value self.dtype(self.pad) "
    "(test line 73): NumPy 2 refuses numpy.uint8(-1) (NEP 50); chainer's own result is "
    "checked on the line before it",
    r'test_det\.py::DetFunctionTest.*::test_det_scaling': 'float(scaling ** x.shape[1]) on '
    'a 1-element array (test line 92): NumPy 2 converts only 0-d arrays to Python scalars',
    r'test_softmax_cross_entropy\.py::.*dtype=float16.*shape_ignore=\(\(300000, 2\).*'
    r'weight_apply=True': 'the expected loss sums 300,000 float16 terms into the Python '
    'float loss_expect (test lines 177-189): NumPy 1 promoted that sum to float64, under '
    'NumPy 2 (NEP 50) it stays float16 and overflows to inf, so the expected value is nan',
}

CONFTEST = '''
import collections, json, os, re
import pytest
import chainer_vae  # noqa: F401  (the revival, before the suite imports chainer)

TEST_SIDE = %r
GPU = os.environ.get('CHAINER_SUITE_GPU') == '1'  # --gpu: the GPU cases, not the CPU ones
ENVIRONMENT = ('gpu', 'multi_gpu', 'cudnn', 'ideep', 'slow')
# chainer.testing.inject_backend_tests names its backends in the test's id
BACKENDS = (('use_cuda_true', 'gpu'), ('use_chainerx_true', 'chainerx'),
            ('use_cudnn_always', 'cudnn'), ('use_ideep_always', 'ideep'))
COUNTS = collections.defaultdict(collections.Counter)
FAILED = []  # [node id, the error's last line]


def _failed(report):
    text = str(report.longrepr).strip().splitlines()
    FAILED.append([report.nodeid, text[-1][:300] if text else ''])


def _module(nodeid):
    return nodeid.split('::')[0]


def pytest_configure(config):
    for name in ENVIRONMENT:
        config.addinivalue_line('markers', name)


def pytest_collection_modifyitems(config, items):
    kept = []
    for item in items:
        env = [m for m in ENVIRONMENT if item.get_closest_marker(m) is not None]
        env += [name for part, name in BACKENDS if part in item.nodeid]
        if GPU:
            env = [e for e in env if e != 'gpu'] if 'gpu' in env else ['cpu']
        if env == ['cpu']:
            COUNTS[_module(item.nodeid)]['cpu (the CPU runs)'] += 1
            continue
        if env:
            COUNTS[_module(item.nodeid)]['environment (%%s)' %% env[0]] += 1
            continue
        for pattern, reason in TEST_SIDE.items():
            if re.search(pattern, item.nodeid):
                item.add_marker(pytest.mark.xfail(reason='test-side: ' + reason, strict=False))
        kept.append(item)
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


def pytest_runtest_logreport(report):
    counts = COUNTS[_module(report.nodeid)]
    if report.when == 'call' or (report.when == 'setup' and not report.passed):
        if hasattr(report, 'wasxfail') and report.skipped:  # xfailed (an xpass passed)
            ours = report.wasxfail.startswith('test-side')  # else chainer's own xfail
            counts['test-side' if ours else 'xfailed'] += 1
        else:
            counts[report.outcome] += 1
            if report.failed:
                _failed(report)
    elif report.when == 'teardown' and report.failed:
        counts['failed'] += 1
        _failed(report)


def pytest_collectreport(report):
    if report.failed:
        COUNTS[_module(report.nodeid) or 'collection']['collection error'] += 1
        _failed(report)


def pytest_sessionfinish(session):
    with open(os.environ['CHAINER_SUITE_COUNTS'], 'w') as f:
        json.dump({'counts': COUNTS, 'failed': FAILED}, f)
'''

# on the PYTHONPATH of the suite and of the interpreters its tests start (``import chainer``
# in a fresh process, tests/chainer_tests/backends_tests/test_cuda.py): the revival first
SITECUSTOMIZE = 'import chainer_vae  # noqa: F401  (the revival, before chainer)\n'


def copy_suite(suite, scratch):
    """The suite's tests in ``scratch``, their removed NumPy names rewritten."""
    shutil.copytree(os.path.join(suite, 'tests'), os.path.join(scratch, 'tests'))
    rewritten = 0
    for folder, _, names in os.walk(os.path.join(scratch, 'tests')):
        for name in names:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                with open(path, encoding='utf-8') as f:
                    text = f.read()
                new = text
                for pattern, replacement in REMOVED_NAMES:
                    new = pattern.sub(replacement, new)
                if new != text:
                    rewritten += 1
                    with open(path, 'w', encoding='utf-8') as f:
                        f.write(new)
    with open(os.path.join(scratch, 'conftest.py'), 'w') as f:
        f.write(CONFTEST % (TEST_SIDE,))
    return rewritten


def copy_subset(suite, paths, dest):
    """The test files of ``paths`` in ``dest``, a suite of their own: with the __init__.py
    and conftest.py files of their folders and the suite's LICENSE (MIT: its notice goes
    with every copy). The files copied, relative to ``dest``."""
    names = {'LICENSE'}
    for path in paths:
        path = path.split('::')[0]
        names.add(path)
        folder = os.path.dirname(path)
        while folder:
            names.update(os.path.join(folder, name) for name in ('__init__.py', 'conftest.py')
                         if os.path.isfile(os.path.join(suite, folder, name)))
            folder = os.path.dirname(folder)
    for name in sorted(names):
        os.makedirs(os.path.join(dest, os.path.dirname(name)), exist_ok=True)
        shutil.copyfile(os.path.join(suite, name), os.path.join(dest, name))
    return sorted(names)


def run(paths=(), suite=SUITE, gpu=False):
    """{module: Counter of outcomes}, and the failures: [node id, last line of the error];
    ``gpu``: the GPU cases (see --gpu)."""
    scratch = tempfile.mkdtemp(prefix='chainer-suite-')
    try:
        copy_suite(suite, scratch)
        counts_file = os.path.join(scratch, 'counts.json')
        site = os.path.join(scratch, 'revived')
        os.mkdir(site)
        with open(os.path.join(site, 'sitecustomize.py'), 'w') as f:
            f.write(SITECUSTOMIZE)
        env = dict(os.environ, CHAINER_SUITE_COUNTS=counts_file,
                   CHAINER_SUITE_GPU='1' if gpu else '0',
                   PYTHONPATH=os.pathsep.join([site, REPO] + [p for p in [
                       os.environ.get('PYTHONPATH')] if p]))
        done = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                               '-o', 'addopts=', '--rootdir', scratch,
                               '--continue-on-collection-errors']
                              + list(paths or [T]), cwd=scratch, env=env,
                              stdout=subprocess.DEVNULL)
        if not os.path.isfile(counts_file):  # pytest stopped before its session ended
            sys.exit('chainer_suite: error: pytest ended (exit %d) before counting anything'
                     % done.returncode)
        with open(counts_file) as f:
            found = json.load(f)
        return ({m: collections.Counter(c) for m, c in found['counts'].items()},
                found['failed'])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def report(counts, failed, command, gpu=False):
    import numpy
    import chainer_vae  # noqa: F401  (revives chainer before it is imported)
    import chainer
    totals = sum(counts.values(), collections.Counter())
    columns = ['passed', 'failed', 'skipped', 'xfailed', 'test-side'] + sorted(
        k for k in totals if k.startswith(('environment', 'cpu')) or k == 'collection error')
    where = ' GPU cases, with no GPU visible.' if gpu else ''
    if gpu and chainer.backends.cuda.available:
        cupy = chainer.backends.cuda.cupy
        name = cupy.cuda.runtime.getDeviceProperties(0)['name']  # bytes in CuPy <= 14
        where = ' GPU cases on %s, CuPy %s.' % (
            name.decode() if isinstance(name, bytes) else name, cupy.__version__)
    lines = ['# Chainer 7.8.1\'s own test suite through chainer_vae', '',
             'Made by `%s`; Python %s, NumPy %s, Chainer %s.%s' % (
                 command, platform.python_version(), numpy.__version__, chainer.__version__,
                 where),
             '', '| ' + ' | '.join(['in all'] + columns) + ' |', '|---' * (len(columns) + 1) + '|',
             '| %d modules | ' % len(counts) + ' | '.join(str(totals[c]) for c in columns) + ' |',
             '', 'Modules with a failure or a collection error:', '']
    bad = [m for m, c in sorted(counts.items()) if c['failed'] or c['collection error']]
    lines += ['- `%s`: %s' % (m, dict(counts[m])) for m in bad] or ['- none']
    if failed:
        lines += ['', 'Failures (node id: the last line of the error)%s:' % (
            ', the first 50 of %d' % len(failed) if len(failed) > 50 else ''), '']
        lines += ['- `%s`: %s' % (node, error.replace('`', "'")) for node, error in failed[:50]]
    lines += ['', 'Test-side cases (run as non-strict xfails, see scripts/chainer_suite.py):', '']
    lines += ['- `%s`: %s' % (part, reason) for part, reason in TEST_SIDE.items()]
    lines += ['', 'Every module:', '', '| module | ' + ' | '.join(columns) + ' |',
              '|---' * (len(columns) + 1) + '|']
    lines += ['| %s | ' % m + ' | '.join(str(c[k]) for k in columns) + ' |'
              for m, c in sorted(counts.items())]
    return '\n'.join(lines) + '\n', totals


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('paths', nargs='*', help='test files or folders of the suite (default: all)')
    p.add_argument('--suite', default=SUITE, help='the folder holding the suite\'s tests/')
    p.add_argument('--fast', action='store_true', help='the fast subset (FAST)')
    p.add_argument('--vae-path', action='store_true', help='the VAE path alone (VAE_PATH)')
    p.add_argument('--gpu', action='store_true',
                   help='the GPU cases instead of the CPU ones (a machine with a GPU)')
    p.add_argument('--copy-to', metavar='DIR',
                   help='copy the test files named into DIR (a suite of their own), run nothing')
    p.add_argument('--out', help='write the report there too')
    args = p.parse_args(argv)
    if not os.path.isdir(os.path.join(args.suite, 'tests')):
        sys.exit('chainer_suite: error: %s has no tests/ (the suite is in ../shared/'
                 'chainer-tests beside the project)' % args.suite)
    paths = FAST if args.fast else VAE_PATH if args.vae_path else args.paths
    if args.copy_to and not paths:
        p.error('--copy-to needs the test files to copy (paths, --fast or --vae-path)')
    if args.copy_to:
        copied = copy_subset(args.suite, paths, args.copy_to)
        print('chainer_suite: %d files copied into %s' % (len(copied), args.copy_to))
        return
    command = 'python scripts/chainer_suite.py ' + ' '.join(sys.argv[1:] if argv is None
                                                            else argv)
    counts, failed = run(paths, args.suite, args.gpu)
    text, totals = report(counts, failed, command.strip(), args.gpu)
    print(text.split('\n\nEvery module:')[0])
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text)
    sys.exit(1 if totals['failed'] or totals['collection error'] else 0)


if __name__ == '__main__':
    main()
