"""Chainer 7.8.1's own CPU test suite, under its own rules, through the revival layer
(chainer_vae/revival/__init__.py).

    python scripts/chainer_suite.py [--suite ../shared/chainer-tests] [--report FILE.md]
                                    [--timeout SECONDS] [--fast | --vae-path] [--gpu]
                                    [--journal FILE] [PATH_IN_THE_SUITE ...]
    python scripts/chainer_suite.py --copy-to DIR [--vae-path] [PATH_IN_THE_SUITE ...]

Copies the suite (chainer's tests as tagged for v7.8.1; not part of this project) into a
scratch folder and runs it with pytest, ``import chainer_vae`` first, as chainer ran it:
its own warnings configuration (CHAINER_FILTERWARNINGS below, from the setup.cfg of
chainer's sdist: every warning an error, but for the few chainer lists), h5py installed
(the HDF5 serializer's tests), the ``slow`` tests included, and a time limit per test
(pytest-timeout), so that a hang is a failure with its name. Needs the test extra
(``pip install -e '.[test]'``: mock, h5py, pytest-timeout). Then:

- Environment-only cases are deselected and counted apart: ``gpu`` (and chainer's
  ``attr.multi_gpu``), ``cudnn`` and ``ideep`` by their markers, the backends
  chainer.testing injects that this machine lacks (CUDA, ChainerX, cuDNN, iDeep: their
  ids say ``use_cuda_true`` ...), and NETWORK below by name (the dataset downloads). They
  need a GPU, cuDNN, iDeep, a ChainerX build (PyPI's chainer has none) or the network,
  not the revival.
- Test-side incompatibilities are the harness's, never the library's: the suite's
  own uses of names NumPy removed (``numpy.product``, ``np.int``, ``numpy.object``,
  ``numpy.bool``, ``numpy.complex_``) or deprecated (``numpy.fix``, in F.fix's expected
  values) are rewritten in the scratch copy to what they meant; the cases whose *test
  code* fails on today's NumPy or pytest otherwise (TEST_SIDE below, each with its
  reason) count apart where they fail with the exception named there, raised at the
  test's line named there: any other failure of theirs is a failure.
- A few cases need more than the time limit and are not hung (LONG below, each with its
  reason and its own limit): they run and count like any test.
- ``--journal FILE`` keeps each finished case (its outcomes) in FILE as it ends: the
  same command after a stop runs only the cases FILE lacks, and the report counts them
  all. FILE remembers the paths, the stack, the limits and the sources of this harness
  and of the revival it was started with, and a run with others is refused.
- Prints, and writes to ``--report``, passed / failed / skipped / xfailed (chainer's own
  xfail marks) / test-side per module, and the failures by name. Exits 1 when a test
  failed, or when pytest's own exit status says the run did not end as counted.

Without paths: the whole suite. The fast subset CI runs (tests/test_chainer_suite.py) is
FAST below: the VAE path and every module a patch touches, but MultiprocessIterator's
(a minute of CPU, its pool and threads; tests/test_revival.py checks its patches).

``--gpu`` turns the selection around, for a machine with a GPU (scripts/gpu_check.sh): the
GPU cases run (the ``gpu`` marker, the injected CUDA backend) and the CPU cases are left to
the CPU runs (counted as ``cpu``); cuDNN (CuPy 14 has none), ChainerX, iDeep and, for the
time a GPU call has, ``slow`` stay environment-only. ``--copy-to DIR`` copies the test
files named (with the ``__init__.py`` and ``conftest.py`` of their folders and the suite's
LICENSE) into DIR, a suite of its own, for a machine without ../shared.
"""
import argparse
import collections
import importlib.util
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
    'serializers_tests/test_hdf5.py',
    'functions_tests/math_tests/test_fix.py',
    'functions_tests/math_tests/test_fmod.py',
    'links_tests/activation_tests/test_maxout.py',
    'dataset_tests/test_convert.py',
    'datasets_tests/test_text_dataset.py',
    'test_sequential.py',
)]

# the suite's own uses of names NumPy removed (or deprecated: fix), and what they meant
REMOVED_NAMES = [(re.compile(r'\b(numpy|np)\.product\('), r'\1.prod('),
                 (re.compile(r'\b(numpy|np)\.fix\('), r'\1.trunc('),
                 (re.compile(r'\b(numpy|np)\.int\b(?![0-9_])'), 'int'),
                 (re.compile(r'\b(numpy|np)\.object\b(?![0-9_])'), 'object'),
                 (re.compile(r'\b(numpy|np)\.bool\b(?![0-9_])'), 'bool'),
                 (re.compile(r'\b(numpy|np)\.complex_\b'), r'\1.complex128')]

# chainer's pytest configuration: [tool:pytest] of setup.cfg in the chainer 7.8.1 sdist, its
# filterwarnings (every warning an error but these) and markers as they are there
CHAINER_FILTERWARNINGS = [
    'error',
    'default::ImportWarning',
    r'ignore:Some of grads are ignored by chainer\.backward\.:RuntimeWarning',
    r'ignore:numpy\.ufunc size changed, may indicate binary incompatibility:RuntimeWarning',
    r'ignore:numpy\.dtype size changed, may indicate binary incompatibility:RuntimeWarning',
    'ignore:ChainerX core binary is built in debug mode:UserWarning',
    'ignore:Accelerate has been detected as a NumPy backend library:UserWarning:chainer[.*]',
    'ignore::chainer.warnings.PerformanceWarning',
    'ignore::chainer.backends.cuda._PerformanceWarning',
    r'ignore::FutureWarning:chainer\.utils\.experimental',
    r'ignore:in the future np\.array_split will retain the shape of arrays with a zero size:'
    r'FutureWarning:numpy\.lib\.shape_base',
    r'ignore::DeprecationWarning:scipy\._lib\._numpy_compat',
    r'ignore::DeprecationWarning:scipy\.stats\.morestats',
    r'ignore::DeprecationWarning:theano\.configparser',
    r'ignore::DeprecationWarning:theano\.gof\.cmodule',
    r"ignore:Using or importing the ABCs from 'collections':DeprecationWarning:google\.protobuf",
    r'ignore::DeprecationWarning:h5py\._hl\.base',
    r"ignore:Using or importing the ABCs from 'collections':DeprecationWarning:onnx\.helper",
    'ignore:.* is a deprecated alias for the builtin:DeprecationWarning:onnx',
    'ignore::DeprecationWarning:cupy',
]
CHAINER_MARKERS = [
    'chainerx: Tests to use ChainerX', 'cudnn: Tests to use cuDNN', 'gpu: Tests to run on GPU',
    'ideep: Tests to use IDeep', 'theano: Tests to use Theano',
    'multi_gpu: Tests to uses multi GPUs', 'slow: Tests thats takes time',
    'parametrize_device: Parametrize ChainerX devices',
    'parametrize_device_name: Parametrize ChainerX device names',
]
# the same there but for addopts (doctests of chainer's sources, not its test suite)
PYTEST_INI = ('[pytest]\npython_files = test_*.py\npython_classes = Test\n'
              'python_functions = test\n'
              + ''.join('%s =\n' % key + ''.join('    %s\n' % line for line in lines)
                        for key, lines in (('filterwarnings', CHAINER_FILTERWARNINGS),
                                           ('markers', CHAINER_MARKERS))))

# seconds a test may take before it fails (pytest-timeout): chainer's own CI ran its suite,
# the slow tests too, with --timeout=300 (chainer/chainer-test, test_cpu.sh, test_slow.sh)
TIMEOUT = 300

# cases that need more than TIMEOUT on a CPU and do not hang: node id pattern -> (their limit
# in seconds, why); measured on a 2-core AMD EPYC, Python 3.13, NumPy 2.5
LONG = {
    r'test_vision\.py::Test\w+_param_\d+_\{[^}]*dtype=float16[^}]*\}::'
    r'test_(call|extract|predict)_cpu': (10800, 'VGG16/19, ResNet-50 and GoogLeNet in float16 '
        'on the CPU: NumPy has no half-precision matrix product, so one forward pass of a '
        '224x224 image through VGG16 takes about 2 minutes here (test_call_cpu: 135 s), and '
        'test_predict_cpu makes 22 of them'),
}

# cases that download a dataset (chainer.datasets.get_*; no cache): node id pattern -> source
NETWORK = {
    r'datasets_tests/test_mnist\.py::.*::test_get_mnist': 'MNIST from yann.lecun.com',
    r'datasets_tests/test_mnist\.py::.*::test_get_fashion_mnist': 'Fashion-MNIST from '
    'fashion-mnist.s3-website.eu-central-1.amazonaws.com',
    r'datasets_tests/test_mnist\.py::.*::test_get_kuzushiji_mnist': 'Kuzushiji-MNIST '
    'from codh.rois.ac.jp',
    r'datasets_tests/test_cifar\.py::.*::test_get_cifar': 'CIFAR-10 and CIFAR-100 from '
    'www.cs.toronto.edu',
    r'datasets_tests/test_svhn\.py::.*::test_get_svhn': 'SVHN from ufldl.stanford.edu',
}

# cases whose test code (not chainer's) fails on today's NumPy or pytest:
# node id pattern -> (the exceptions it may raise, the line of the test raising them or None
# where its error surfaces elsewhere (in chainer.testing's assert, in pytest), why)
TEST_SIDE = {
    r'test_pad_sequence\.py::.*dtype=uint.*pad=-1': (('OverflowError', 'DeprecationWarning'), 73,
        "the expected value self.dtype(self.pad): NumPy 2 refuses numpy.uint8(-1) (NEP 50), "
        "NumPy 1.24-1.26 warn that they will; chainer's own result is checked on the line "
        "before it"),
    r'test_det\.py::DetFunctionTest.*::test_det_scaling': (('TypeError', 'DeprecationWarning'),
        92, 'float(scaling ** x.shape[1]) on a 1-element array: NumPy 2 (2.4, 2.5) converts '
        'only 0-d arrays to Python scalars, NumPy 1.25-1.26 warn that it will'),
    r'test_softmax_cross_entropy\.py::.*dtype=float16.*shape_ignore=\(\(300000, 2\).*'
    r'weight_apply=True': (('AssertionError', 'RuntimeWarning'), None, 'the expected loss sums '
        '300,000 float16 terms into the Python float loss_expect (test lines 177-189): NumPy 1 '
        'promoted that sum to float64, under NumPy 2 (NEP 50) it stays float16 and overflows: '
        'its RuntimeWarning at test line 189 is an error under the warning filters (without '
        'them the expected value is nan and the comparison fails)'),
    r'test_sequential\.py::TestSequential::test_pickle_without_lambda$': (
        ('ExceptionGroup', 'pytest.PytestUnraisableExceptionWarning'), None, 'the test opens '
        'its pickle file twice, to write and to read, and closes neither (test lines 474-475): '
        "their ResourceWarnings are an error under the warning filters, as today's pytest "
        "reports them (chainer's pytest < 4.2 did not)"),
    r'test_optimizers_by_linear_model\.py::.*::test_initialize$': (('DeprecationWarning',),
        None, 'test_initialize returns unittest.SkipTest(msg) where it means to raise it (test '
        'line 192), for the loss-scaling cases it skips: unittest deprecates a test that '
        'returns a value (Python 3.11), an error under the warning filters; in intent a skip'),
    r'test_vision\.py::Test\w+_param_\d+_\{[^}]*dtype=float16[^}]*\}::'
    r'test_(extract|predict)_cpu': (('RuntimeWarning',), None, 'the float16 models have random '
        'weights (pretrained_model=None) and are given images of 0 to 255: their activations '
        'pass 65504, the largest float16, and NumPy reports the overflow (in batch '
        "normalization's mean, in tensordot) as a RuntimeWarning, an error under the warning "
        'filters; the test checks only the shapes and dtypes of the outputs'),
    r'test_text_dataset\.py::TestTextDataset::': (
        ('pytest.PytestUnraisableExceptionWarning', 'ExceptionGroup'), None, 'the tests leave '
        "TextDataset's files to the garbage collector (chainer's docstring: they close when "
        'the dataset goes out of scope; test_close_exception drops one itself), which closes '
        'them with a ResourceWarning: an error under the warning filters, one or a group of '
        "them as today's pytest reports them (chainer's pytest < 4.2 did not)"),
    r"test_npz\.py::TestGroupHierachy.*file_type='filename'.*::test_save_(chain|optimizer)": (
        ('pytest.PytestUnraisableExceptionWarning',), None, "the test's _savez opens the file "
        'it saves to and never closes it (test line 597): its ResourceWarning, raised where '
        "the file is collected, is an error under the warning filters, as today's pytest "
        "reports it (chainer's pytest < 4.2 did not)"),
}

CONFTEST = '''
import builtins, collections, json, os, random, re
import numpy
import pytest
import chainer_vae  # noqa: F401  (the revival, before the suite imports chainer)

# chainer.testing.parameterize writes parameters drawn at import into the tests' names
# (test_concatenated_dataset.py's random arrays, say): the generators seeded before the
# suite's modules are imported, so that every collection names those cases alike and a run
# that goes on from its journal neither runs nor counts them again under other names
numpy.random.seed(0)
random.seed(0)

NETWORK, TEST_SIDE, LONG = %r, %r, %r
GPU = os.environ.get('CHAINER_SUITE_GPU') == '1'  # --gpu: the GPU cases, not the CPU ones
# slow cases run where chainer's CI ran them, on the CPU; a GPU call has no time for them
ENVIRONMENT = ('gpu', 'multi_gpu', 'cudnn', 'ideep') + (('slow',) if GPU else ())
# chainer.testing.inject_backend_tests names its backends in the test's id
BACKENDS = (('use_cuda_true', 'gpu'), ('use_chainerx_true', 'chainerx'),
            ('use_cudnn_always', 'cudnn'), ('use_ideep_always', 'ideep'))
COUNTS = collections.defaultdict(collections.Counter)
FAILED = []  # [node id, the error's last line]
# the journal: a JSON line for each finished case, [node id, [[outcome, error], ...]];
# the cases it holds are not run again (a torn last line is: its case had not finished)
JOURNAL = os.environ['CHAINER_SUITE_JOURNAL']
DONE = set()
if os.path.exists(JOURNAL):
    with open(JOURNAL) as f:
        next(f)  # what the run is: the harness checked it
        for line in f:
            try:
                DONE.add(json.loads(line)[0])
            except ValueError:
                pass
EVENTS = collections.defaultdict(list)  # node id -> its counted outcomes so far
KEYS = {}  # node id -> its key in the journal


def _keys(items):
    # chainer.testing.parameterize writes its parameters' reprs into the test's name, and an
    # object's repr holds its address, another in every process: the journal keys a case by
    # its id without addresses, and by its place among those of the same key
    seen = collections.Counter()
    for item in items:
        key = re.sub(r' at 0x[0-9a-fA-F]+', ' at 0x', item.nodeid)
        seen[key] += 1
        KEYS[item.nodeid] = key if seen[key] == 1 else '%%s #%%d' %% (key, seen[key])


def _exception(name):  # 'OverflowError' or 'pytest.PytestReturnNotNoneWarning'
    module, _, attribute = name.rpartition('.')
    return getattr(__import__(module) if module else builtins, attribute)


def _failed(report):
    crash = getattr(report.longrepr, 'reprcrash', None)  # where it was raised, and what
    text = ('%%s:%%d: %%s' %% (crash.path, crash.lineno, crash.message) if crash else
            str(report.longrepr)).strip().splitlines()
    FAILED.append([report.nodeid, text[0][:300] if text else ''])
    return FAILED[-1][1]


def _module(nodeid):
    return nodeid.split('::')[0]


def pytest_collection_modifyitems(config, items):
    _keys(items)
    kept = []
    for item in items:
        if KEYS[item.nodeid] in DONE:  # finished by an earlier run with this journal
            continue
        env = [m for m in ENVIRONMENT if item.get_closest_marker(m) is not None]
        env += [name for part, name in BACKENDS if part in item.nodeid]
        env += ['network' for pattern in NETWORK if re.search(pattern, item.nodeid)]
        if GPU:
            env = [e for e in env if e != 'gpu'] if 'gpu' in env else ['cpu']
        if env == ['cpu']:
            COUNTS[_module(item.nodeid)]['cpu (the CPU runs)'] += 1
            continue
        if env:
            COUNTS[_module(item.nodeid)]['environment (%%s)' %% env[0]] += 1
            continue
        for pattern, (seconds, _) in LONG.items():
            if re.search(pattern, item.nodeid):
                item.add_marker(pytest.mark.timeout(seconds))
        kept.append(item)
    chosen = set(map(id, kept))
    config.hook.pytest_deselected(items=[i for i in items if id(i) not in chosen])
    # the LONG cases last, so that a run cut short (--journal) has done all the others
    items[:] = sorted(kept, key=lambda i: i.get_closest_marker('timeout') is not None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # a test-side case is an expected failure only with its own exception, raised at its
    # own line of the test where TEST_SIDE names one: anything else fails as it is
    report = (yield).get_result()
    if report.when != 'call' or not report.failed:
        return
    crash = getattr(report.longrepr, 'reprcrash', None)
    for pattern, (exceptions, line, reason) in TEST_SIDE.items():
        if (re.search(pattern, item.nodeid)
                and call.excinfo.errisinstance(tuple(map(_exception, exceptions)))
                and (line is None or (crash is not None and crash.lineno == line
                                      and os.path.samefile(crash.path, str(item.path))))):
            report.outcome, report.wasxfail = 'skipped', 'test-side: ' + reason


def pytest_runtest_logreport(report):
    counts, events = COUNTS[_module(report.nodeid)], EVENTS[report.nodeid]
    if report.when == 'call' or (report.when == 'setup' and not report.passed):
        if hasattr(report, 'wasxfail') and report.skipped:  # xfailed (an xpass passed)
            ours = report.wasxfail.startswith('test-side')  # else chainer's own xfail
            outcome = 'test-side' if ours else 'xfailed'
        else:
            outcome = report.outcome
        counts[outcome] += 1
        events.append([outcome, _failed(report) if report.failed else None])
    elif report.when == 'teardown' and report.failed:
        counts['failed'] += 1
        events.append(['failed', _failed(report)])


def pytest_runtest_logfinish(nodeid, location):
    with open(JOURNAL, 'a') as f:
        f.write(json.dumps([KEYS.get(nodeid, nodeid), EVENTS.pop(nodeid, [])]) + '\\n')


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
    """The suite's tests in ``scratch``, their removed NumPy names rewritten, and the
    pytest configuration and conftest.py of this harness."""
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
        f.write(CONFTEST % (NETWORK, TEST_SIDE, LONG))
    with open(os.path.join(scratch, 'pytest.ini'), 'w') as f:
        f.write(PYTEST_INI)
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


OUTCOMES = ('passed', 'failed', 'skipped', 'xfailed', 'test-side')  # a case's, journaled


def run(paths=(), suite=SUITE, gpu=False, timeout=TIMEOUT, journal=None):
    """{module: Counter of outcomes}, and the failures: [node id, last line of the error];
    ``gpu``: the GPU cases (see --gpu). ``journal``: a file that keeps each finished case,
    so that the same call after a stop runs only the cases it lacks (--journal)."""
    missing = [m for m in ('mock', 'h5py', 'pytest_timeout') if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit("chainer_suite: error: chainer's tests need %s: pip install -e '.[test]'"
                 % ', '.join(missing))
    scratch = tempfile.mkdtemp(prefix='chainer-suite-')
    try:
        copy_suite(suite, scratch)
        counts_file = os.path.join(scratch, 'counts.json')
        journal = os.path.abspath(journal) if journal else os.path.join(scratch, 'journal')
        check_journal(journal, paths, gpu, timeout)
        site = os.path.join(scratch, 'revived')
        os.mkdir(site)
        with open(os.path.join(site, 'sitecustomize.py'), 'w') as f:
            f.write(SITECUSTOMIZE)
        env = dict(os.environ, CHAINER_SUITE_COUNTS=counts_file, CHAINER_SUITE_JOURNAL=journal,
                   CHAINER_SUITE_GPU='1' if gpu else '0',
                   PYTHONPATH=os.pathsep.join([site, REPO] + [p for p in [
                       os.environ.get('PYTHONPATH')] if p]))
        done = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider',
                               '-c', os.path.join(scratch, 'pytest.ini'), '--rootdir', scratch,
                               '--timeout', str(timeout), '--continue-on-collection-errors']
                              + list(paths or [T]), cwd=scratch, env=env,
                              stdout=subprocess.DEVNULL)
        if not os.path.isfile(counts_file):  # pytest stopped before its session ended
            sys.exit('chainer_suite: error: pytest ended (exit %d) before counting anything'
                     % done.returncode)
        with open(counts_file) as f:
            found = json.load(f)
        cases = read_journal(journal)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    counts = {m: collections.Counter(c) for m, c in found['counts'].items()}
    # pytest's own verdict must be the counted one: 1 where something failed, else 0
    # (5: every case deselected, as environment or journaled before)
    ran = sum(c[k] for c in counts.values() for k in ('passed', 'skipped', 'xfailed', 'test-side'))
    expected = 1 if found['failed'] else (0 if ran else 5)
    if done.returncode != expected:
        sys.exit('chainer_suite: error: pytest exited with status %d, but counted %d failures '
                 'in %d cases' % (done.returncode, len(found['failed']), ran))
    # the outcomes are the journal's, this run's and those of the runs before it
    for c in counts.values():
        for outcome in OUTCOMES:
            c.pop(outcome, None)
    failed = []
    for nodeid, events in cases.items():
        for outcome, error in events:
            counts.setdefault(nodeid.split('::')[0], collections.Counter())[outcome] += 1
            if outcome == 'failed':
                failed.append([nodeid, error])
    return counts, failed


def journal_header(paths, gpu, timeout):
    """The journal's first line: what its cases were run with, down to the sources of this
    harness (its rules: TEST_SIDE, NETWORK, LONG) and of the revival."""
    import hashlib
    import numpy

    def digest(path):
        with open(path, 'rb') as f:
            return hashlib.sha256(f.read()).hexdigest()[:16]
    return {'python': platform.python_version(), 'numpy': numpy.__version__,
            'paths': list(paths or [T]), 'gpu': gpu, 'timeout': timeout,
            'harness': digest(os.path.abspath(__file__)),
            'revival': digest(os.path.join(REPO, 'chainer_vae', 'revival', '__init__.py'))}


def check_journal(path, paths, gpu, timeout):
    """Start the journal at ``path``, or refuse one of another run (one line)."""
    header = json.loads(json.dumps(journal_header(paths, gpu, timeout)))
    try:
        if not os.path.exists(path) or not os.path.getsize(path):  # new, or stopped at once
            with open(path, 'w') as f:
                f.write(json.dumps(header) + '\n')
            return
        with open(path, 'rb') as f:
            first = f.readline().decode(errors='replace')
            f.seek(-1, os.SEEK_END)
            torn = f.read(1) != b'\n'
    except OSError as e:
        sys.exit('chainer_suite: error: --journal %s: %s' % (path, e.strerror or e))
    try:
        kept = json.loads(first)
    except ValueError:
        kept = None
    if kept != header:
        sys.exit('chainer_suite: error: --journal %s was started by another run (%s); a run '
                 'goes on only with the same paths, stack and limits' % (path, first.strip()[:200]))
    if torn:  # a stop in the middle of a line: the next case's line starts on its own
        with open(path, 'a') as f:
            f.write('\n')


def read_journal(path):
    """{node id: [[outcome, error], ...]} of the journal's finished cases."""
    cases = {}
    with open(path) as f:
        next(f)
        for line in f:
            try:
                nodeid, events = json.loads(line)
            except ValueError:  # torn by a stop: its case runs again
                continue
            cases[nodeid] = events
    return cases


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
    lines += ['', 'Test-side cases (expected failures with that exception only, see '
              'scripts/chainer_suite.py):', '']
    lines += ['- `%s` (%s%s): %s' % (part, ' or '.join(exceptions),
                                      ' at test line %d' % line if line else '', reason)
              for part, (exceptions, line, reason) in TEST_SIDE.items()]
    lines += ['', 'Cases with a longer time limit than the %d s of the others:' % TIMEOUT, '']
    lines += ['- `%s` (%d s): %s' % (part, seconds, reason)
              for part, (seconds, reason) in LONG.items()]
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
    p.add_argument('--report', help='write the report there too')
    p.add_argument('--timeout', type=float, default=TIMEOUT,
                   help='seconds a test may take before it fails (default %(default)s)')
    p.add_argument('--journal', metavar='FILE',
                   help='keep each finished case in FILE; the same command after a stop runs '
                        'only the cases FILE lacks (the whole suite takes hours)')
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
    counts, failed = run(paths, args.suite, args.gpu, args.timeout, args.journal)
    text, totals = report(counts, failed, command.strip(), args.gpu)
    print(text.split('\n\nEvery module:')[0])
    if args.report:
        from chainer_vae import files  # whole or not at all
        files.write_bytes(args.report, text.encode())
    sys.exit(1 if totals['failed'] or totals['collection error'] else 0)


if __name__ == '__main__':
    main()
