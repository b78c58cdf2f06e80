"""Chainer 7.8.1's own tests through the revival (scripts/chainer_suite.py): the fast
subset, the VAE path and the modules the patches touch, with no failure; and how the
harness counts, on a small suite of our own."""
import importlib.util
import os
import sys

import pytest

from helpers import REPO, SHARED

SUITE = os.path.join(SHARED, 'chainer-tests')
spec = importlib.util.spec_from_file_location(
    'chainer_suite', os.path.join(REPO, 'scripts', 'chainer_suite.py'))
chainer_suite = importlib.util.module_from_spec(spec)
spec.loader.exec_module(chainer_suite)


def test_the_suites_removed_numpy_names_are_rewritten_and_nothing_else():
    text = ('size = numpy.product(shape, dtype="i")\nx = np.array([1], np.int)\n'
            'e = numpy.fix(x) + np.fixed\n'
            'y = numpy.int64(2) + numpy.int32(1) + numpy.integer\nz = numpy.object\n'
            'w = numpy.bool_(1) or numpy.bool\nv = numpy.float32(0)\n'
            'c = [numpy.complex_, numpy.complex64]\n')
    for pattern, replacement in chainer_suite.REMOVED_NAMES:
        text = pattern.sub(replacement, text)
    assert text == ('size = numpy.prod(shape, dtype="i")\nx = np.array([1], int)\n'
                    'e = numpy.trunc(x) + np.fixed\n'
                    'y = numpy.int64(2) + numpy.int32(1) + numpy.integer\nz = object\n'
                    'w = numpy.bool_(1) or bool\nv = numpy.float32(0)\n'
                    'c = [numpy.complex128, numpy.complex64]\n')


needs_the_test_extra = pytest.mark.skipif(
    any(importlib.util.find_spec(m) is None for m in ('mock', 'h5py', 'pytest_timeout')),
    reason="chainer's tests need mock, h5py and pytest-timeout (the test extra has them)")

# a suite of our own, as chainer's tests are laid out: what the harness must count, and how
MINI_SUITE = {
    # TEST_SIDE's F.det case: its TypeError at line 92 of the test is test-side, no other
    'functions_tests/test_det.py': '''import unittest
import numpy


class DetFunctionTest_a(unittest.TestCase):
    def test_det_scaling(self):''' + '\n' * 86 + '''        float(numpy.ones(2))


class DetFunctionTest_b(unittest.TestCase):
    def test_det_scaling(self):  # another exception
        raise ValueError('not the test-side error')


class DetFunctionTest_c(unittest.TestCase):
    def test_det_scaling(self):  # the exception at another line
        float(numpy.ones(2))
''',
    'datasets_tests/test_mnist.py': '''
import unittest


class TestMnist(unittest.TestCase):
    def test_get_mnist(self):  # downloads: environment, never run
        raise OSError('no network')
''',
    'test_rules.py': '''
import time
import warnings
import pytest


@pytest.mark.slow
def test_slow():
    pass


def test_warns():
    warnings.warn('deprecated', DeprecationWarning)


def test_hangs():
    time.sleep(60)


def test_long():  # longer than the limit of the others, within its own (LONG)
    time.sleep(4)


def test_as_long():  # the same with no limit of its own: a failure
    time.sleep(4)
''',
}


@needs_the_test_extra
def test_the_harness_counts_under_chainers_rules(tmp_path, monkeypatch):
    for name, text in MINI_SUITE.items():
        path = tmp_path / 'tests' / 'chainer_tests' / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    monkeypatch.setattr(chainer_suite, 'LONG', {r'test_rules\.py::test_long$': (30, 'sleeps')})
    journal = tmp_path / 'journal'
    counts, failures = chainer_suite.run(suite=str(tmp_path), timeout=3, journal=str(journal))
    assert '::test_long"' in journal.read_text().splitlines()[-1]  # the LONG cases last
    module = 'tests/chainer_tests/'
    assert dict(counts[module + 'functions_tests/test_det.py']) == {'test-side': 1, 'failed': 2}
    assert dict(counts[module + 'datasets_tests/test_mnist.py']) == {'environment (network)': 1}
    assert dict(counts[module + 'test_rules.py']) == {'passed': 2, 'failed': 3}
    failed = {node.split('.py::')[1]: error for node, error in failures}
    assert sorted(failed) == ['DetFunctionTest_b::test_det_scaling',
                              'DetFunctionTest_c::test_det_scaling', 'test_as_long', 'test_hangs',
                              'test_warns']
    assert 'ValueError: not the test-side error' in failed['DetFunctionTest_b::test_det_scaling']
    assert 'test_det.py:102: TypeError' in failed['DetFunctionTest_c::test_det_scaling']
    assert 'DeprecationWarning: deprecated' in failed['test_warns']
    assert 'Timeout' in failed['test_hangs'] and 'Timeout' in failed['test_as_long']
    # a run that pytest ends otherwise than it counted (here: a path that is not there)
    with pytest.raises(SystemExit, match='pytest exited with status 4'):
        chainer_suite.run(['tests/chainer_tests/no_such_test.py'], str(tmp_path))


@pytest.mark.skipif(not os.path.isdir(os.path.join(SUITE, 'tests')),
                    reason='../shared/chainer-tests is absent')
@needs_the_test_extra
def test_the_fast_subset_has_no_failure():
    counts, failures = chainer_suite.run(chainer_suite.FAST, SUITE)
    modules = sorted(set(path.split('::')[0] for path in chainer_suite.FAST))
    assert sorted(counts) == modules  # every module ran
    failed = {m: dict(c) for m, c in counts.items() if c['failed'] or c['collection error']}
    assert failed == {} and failures == []
    for module in modules:
        assert counts[module]['passed'] > 0, module
    assert sys.modules.get('chainer_suite') is None  # the harness ran in its own process


JOURNALED = '''
import os
import unittest

import numpy

from chainer import testing


def ran(name):
    with open(os.environ['RAN'], 'a') as f:
        f.write(name + ' ')


def test_a():
    ran('a')


def test_b():
    ran('b')
    assert 'FAIL_B' not in os.environ


def test_c():
    ran('c')


class Sampler:  # its repr holds its address, another in every process
    pass


@testing.parameterize({'sampler': Sampler()}, {'sampler': Sampler()})
class TestNamedByAnAddress(unittest.TestCase):

    def test_it(self):
        ran('d')


@testing.parameterize(*[{'x': numpy.random.uniform(size=2)} for _ in range(2)])
class TestNamedByRandomValues(unittest.TestCase):  # drawn at import, in every process

    def test_it(self):
        ran('e')
'''


@needs_the_test_extra
def test_a_journaled_run_goes_on_where_it_stopped(tmp_path, monkeypatch):
    (tmp_path / 'suite' / 'tests').mkdir(parents=True)
    (tmp_path / 'suite' / 'tests' / 'test_j.py').write_text(JOURNALED)
    suite, journal, ran = str(tmp_path / 'suite'), tmp_path / 'journal', tmp_path / 'ran'
    monkeypatch.setenv('RAN', str(ran))
    whole = chainer_suite.run(['tests/test_j.py'], suite, journal=str(journal))
    assert dict(whole[0]['tests/test_j.py']) == {'passed': 7}
    assert ran.read_text() == 'a b c d d e e '
    # stopped while test_c's line was written: the others are not run again (test_b would
    # fail now; the cases named by an address or by random values have another name in this
    # process), test_c is, and the counts are the whole run's
    lines = journal.read_text().splitlines()
    assert len(lines) == 8 and lines[3].startswith('["tests/test_j.py::test_c"')
    journal.write_text('\n'.join(lines[:3] + lines[4:] + [lines[3][:12]]))
    monkeypatch.setenv('FAIL_B', '1')
    assert chainer_suite.run(['tests/test_j.py'], suite, journal=str(journal)) == whole
    assert ran.read_text() == 'a b c d d e e c ' and journal.read_text().endswith('\n')
    # all there: nothing runs (pytest's exit 5), the same counts
    assert chainer_suite.run(['tests/test_j.py'], suite, journal=str(journal)) == whole
    assert ran.read_text() == 'a b c d d e e c '
    with pytest.raises(SystemExit, match='started by another run'):
        chainer_suite.run(['tests/test_j.py'], suite, timeout=5, journal=str(journal))
    with pytest.raises(SystemExit, match='--journal .*: No such file or directory'):
        chainer_suite.run(['tests/test_j.py'], suite, journal=str(tmp_path / 'no' / 'journal'))


MARKED = '''
import unittest

from chainer import testing
from chainer.testing import attr


def test_on_the_cpu():
    pass


@attr.gpu
def test_on_a_gpu():
    pass


@attr.cudnn
@attr.gpu
def test_with_cudnn():
    pass


@attr.slow
@attr.gpu
def test_slow_on_a_gpu():
    pass


@testing.backend.inject_backend_tests(['test_it'], [{}, {'use_cuda': True}])
class TestBackends(unittest.TestCase):

    def test_it(self, backend_config):
        pass
'''


@needs_the_test_extra
def test_gpu_runs_the_gpu_cases_and_leaves_the_cpu_ones(tmp_path):
    """--gpu (scripts/gpu_check.sh): here, with no GPU, the GPU cases of this stand-in pass
    as they do nothing; the CPU cases, the cuDNN one and the slow one (run on the CPU,
    test_the_harness_counts_under_chainers_rules) are counted, not run."""
    suite = tmp_path / 'suite'
    (suite / 'tests').mkdir(parents=True)
    (suite / 'tests' / 'test_marked.py').write_text(MARKED)
    module = 'tests/test_marked.py'
    counts, failures = chainer_suite.run([module], str(suite), gpu=True)  # cuDNN: none in CuPy 14
    assert dict(counts[module]) == {'passed': 2, 'cpu (the CPU runs)': 2,
                                    'environment (cudnn)': 1, 'environment (slow)': 1}
    assert failures == []
