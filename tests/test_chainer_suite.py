"""Chainer 7.8.1's own tests through the revival (scripts/chainer_suite.py): the fast
subset, the VAE path and every module a patch touches, with no failure."""
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
            'y = numpy.int64(2) + numpy.int32(1) + numpy.integer\nz = numpy.object\n'
            'w = numpy.bool_(1) or numpy.bool\nv = numpy.float32(0)\n'
            'c = [numpy.complex_, numpy.complex64]\n')
    for pattern, replacement in chainer_suite.REMOVED_NAMES:
        text = pattern.sub(replacement, text)
    assert text == ('size = numpy.prod(shape, dtype="i")\nx = np.array([1], int)\n'
                    'y = numpy.int64(2) + numpy.int32(1) + numpy.integer\nz = object\n'
                    'w = numpy.bool_(1) or bool\nv = numpy.float32(0)\n'
                    'c = [numpy.complex128, numpy.complex64]\n')


@pytest.mark.skipif(not os.path.isdir(os.path.join(SUITE, 'tests')),
                    reason='../shared/chainer-tests is absent')
@pytest.mark.skipif(importlib.util.find_spec('mock') is None,
                    reason="chainer's tests need mock (the test extra has it)")
def test_the_fast_subset_has_no_failure():
    counts, failures = chainer_suite.run(chainer_suite.FAST, SUITE)
    modules = sorted(set(path.split('::')[0] for path in chainer_suite.FAST))
    assert sorted(counts) == modules  # every module ran
    failed = {m: dict(c) for m, c in counts.items() if c['failed'] or c['collection error']}
    assert failed == {} and failures == []
    for module in modules:
        assert counts[module]['passed'] > 0, module
    assert sys.modules.get('chainer_suite') is None  # the harness ran in its own process


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


@testing.backend.inject_backend_tests(['test_it'], [{}, {'use_cuda': True}])
class TestBackends(unittest.TestCase):

    def test_it(self, backend_config):
        pass
'''


def test_gpu_runs_the_gpu_cases_and_leaves_the_cpu_ones(tmp_path):
    """--gpu (scripts/gpu_check.sh): here, with no GPU, the GPU cases of this stand-in pass
    as they do nothing; the CPU cases and the cuDNN one are counted, not run."""
    suite = tmp_path / 'suite'
    (suite / 'tests').mkdir(parents=True)
    (suite / 'tests' / 'test_marked.py').write_text(MARKED)
    module = 'tests/test_marked.py'
    counts, failures = chainer_suite.run([module], str(suite), gpu=True)  # cuDNN: none in CuPy 14
    assert dict(counts[module]) == {'passed': 2, 'cpu (the CPU runs)': 2,
                                    'environment (cudnn)': 1} and failures == []
