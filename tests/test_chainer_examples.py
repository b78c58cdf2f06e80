"""Chainer 7.8.1's own example test, examples/tests/test_mnist.py (its template and ranges as
Chainer wrote them), run by pytest from a scratch copy of ../shared/chainer-examples, every
example it starts going through ``python -m chainer_vae.revival``; MNIST comes from a server
on 127.0.0.1 serving ../shared/mnist, as a mirror would."""
import os
import shutil
import subprocess
import sys

import pytest

from chainer_vae import download

from helpers import REPO, SHARED, SHARED_MNIST, needs_shared_mnist
from test_download import serving

EXAMPLES = os.path.join(SHARED, 'chainer-examples', 'v7.8.1')

# Chainer's ExampleRunner starts each example as [sys.executable, script, ARGS]: here that
# Python is one that runs the script through the revival.
REVIVED_PYTHON = '''#!/bin/sh
exec %s -m chainer_vae.revival "$@"
'''
PYTEST_WITH_THAT_PYTHON = '''
import sys
import pytest
sys.executable = %r
sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', 'tests/test_mnist.py']))
'''


@needs_shared_mnist
@pytest.mark.slow  # chainer's example test, a minute of training (.ci/run)
@pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason='../shared/chainer-examples is absent')
def test_chainers_own_mnist_example_test_passes_through_the_revival(tmp_path):
    examples = str(tmp_path / 'examples')  # test_utils.py finds the examples at ../examples
    for folder, _, names in os.walk(EXAMPLES):
        part = os.path.relpath(folder, EXAMPLES)
        if part == '.' or part.split(os.sep)[0] in ('tests', 'mnist'):
            os.makedirs(os.path.join(examples, part), exist_ok=True)  # writable, unlike ../shared
            for name in names if part != '.' else ['test_utils.py']:
                shutil.copyfile(os.path.join(folder, name), os.path.join(examples, part, name))
    python = tmp_path / 'python'
    python.write_text(REVIVED_PYTHON % sys.executable)
    python.chmod(0o755)
    files = {name: open(os.path.join(SHARED_MNIST, name), 'rb').read() for name in download.MD5}
    with serving(files) as (server, base):
        result = subprocess.run(
            [sys.executable, '-c', PYTEST_WITH_THAT_PYTHON % str(python)], capture_output=True,
            text=True, cwd=examples, timeout=900, env=dict(
                os.environ, PYTHONPATH=REPO, OPENBLAS_NUM_THREADS='1',
                CHAINER_DATASET_ROOT=str(tmp_path / 'root'),
                CHAINER_VAE_MNIST_MIRRORS=base + 'ok/'))
    assert result.returncode == 0, result.stdout + result.stderr
    assert '1 passed' in result.stdout
    assert sorted(server.hits) == sorted('/ok/' + name for name in download.MD5)
