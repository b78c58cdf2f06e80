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
