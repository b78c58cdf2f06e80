"""chainer_vae/revival.py: each patch proven by simulating the missing piece in a
fresh interpreter, so the result does not depend on this machine's packages."""
import os
import subprocess
import sys
import textwrap

import pytest

import fake_cupy
from helpers import REPO

# Makes the named modules unimportable, as on a machine that lacks them.
BLOCK = '''
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in BLOCKED or name in BLOCKED:
            raise ModuleNotFoundError('No module named %r' % name)
sys.meta_path.insert(0, Block())
'''


def python(code, blocked=(), env=None, path=()):
    source = 'BLOCKED = %r\n' % (tuple(blocked),) + BLOCK + textwrap.dedent(code)
    environ = {k: v for k, v in os.environ.items() if k != 'CHAINER_WARN_VERSION_MISMATCH'}
    environ.update(env or {}, PYTHONPATH=os.pathsep.join((REPO,) + tuple(path)))
    result = subprocess.run([sys.executable, '-W', 'error::UserWarning', '-c', source],
                            capture_output=True, text=True, env=environ, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_numpy_without_sctypes():
    out = python('''
        import numpy
        if hasattr(numpy, 'sctypes'):  # NumPy 1.x: take it away, as NumPy 2 did
            del numpy.sctypes
        assert not hasattr(numpy, 'sctypes')
        from chainer_vae import revival
        import chainer.functions.array.as_strided as s
        print(numpy.sctypes is revival._SCTYPES, s.index_dtype[8] is numpy.int64)
    ''')
    assert out == ['True', 'True']


def test_no_pkg_resources_and_no_numpy_distutils():
    out = python('''
        import chainer_vae, chainer, chainer.gradient_check, sys
        from chainer_vae import revival
        pr = sys.modules['pkg_resources']
        pr.require('numpy>=1.0')
        pr.WorkingSet().require('six')
        for req, error in [('numpy<1.0', pr.VersionConflict),
                           ('no-such-dist', pr.DistributionNotFound)]:
            try:
                pr.require(req)
                print('no error for', req)
            except error:
                pass
        print(pr.__doc__.startswith('chainer_vae stand-in'),
              sys.modules['numpy.distutils.system_info'].get_info('blas_opt') == {},
              revival.apply() == [])
    ''', blocked=['pkg_resources', 'numpy.distutils'])
    assert out == ['True', 'True', 'True']


def test_nothing_is_patched_where_nothing_is_missing():
    out = python('''
        import sys, types, numpy
        present = types.ModuleType('pkg_resources')
        sys.modules['pkg_resources'] = present
        sys.modules['numpy.distutils.system_info'] = types.ModuleType('numpy.distutils.system_info')
        if not hasattr(numpy, 'sctypes'):
            numpy.sctypes = 'present'
        before = numpy.sctypes
        from chainer_vae import revival
        print(revival.apply() == [], sys.modules['pkg_resources'] is present,
              numpy.sctypes is before)
    ''')
    assert out == ['True', 'True', 'True']


def fake_distribution(tmp_path, name, version):
    info = tmp_path / ('%s-%s.dist-info' % (name.replace('-', '_'), version))
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: %s\nVersion: %s\n'
                                   % (name, version))
    return str(tmp_path)


CHECK = '''
    import warnings
    warnings.simplefilter('always')
    with warnings.catch_warnings(record=True) as caught:
        import chainer_vae, chainer
    print(sum('may not be compatible' in str(w.message) for w in caught))
'''


@pytest.mark.parametrize('name', ['cupy', 'cupy-cuda110'])  # both are in chainer's list
def test_cupy_version_warning_is_switched_off_for_new_cupy(tmp_path, name):
    path = fake_distribution(tmp_path, name, '12.3.0')
    assert python(CHECK, blocked=['cupy'], path=[path]) == ['0']
    # the user's own setting wins, and it shows chainer would have warned
    assert python(CHECK, blocked=['cupy'], path=[path],
                  env={'CHAINER_WARN_VERSION_MISMATCH': '1'}) == ['1']


@pytest.mark.parametrize('name', ['cupy-cuda12x', 'cupy-cuda13x'])
def test_todays_cupy_wheels_need_no_version_patch(tmp_path, name):
    """chainer does not know these names: it warns about them neither way."""
    path = fake_distribution(tmp_path, name, '14.2.0')
    for env in ({}, {'CHAINER_WARN_VERSION_MISMATCH': '1'}):
        assert python(CHECK, blocked=['cupy'], path=[path], env=env) == ['0']
    out = python('''
        import os, chainer_vae
        print('CHAINER_WARN_VERSION_MISMATCH' in os.environ)
    ''', blocked=['cupy'], path=[path])
    assert out == ['False']


GPU_WARNINGS = '''
    import os, warnings
    warnings.simplefilter('always')
    with warnings.catch_warnings(record=True) as caught:
        import chainer_vae, chainer
        assert chainer.backends.cuda.available  # the fake CuPy loads
        chainer.backends.cuda.check_cuda_available()  # what model.to_gpu() calls
    # CuPy's and chainer's warnings here are UserWarnings (not NumPy 1.x's DeprecationWarnings)
    print(sum(issubclass(w.category, UserWarning) for w in caught), os.environ.get('CHAINER_CUDNN'))
'''


def test_no_nccl_and_no_cudnn_warnings_from_cupy_14(tmp_path):
    path = fake_cupy.write(tmp_path / 'fake', nccl=False, cudnn=False)
    assert python(GPU_WARNINGS, path=[path]) == ['0', '0']
    # the causes are real: this CuPy warns about NCCL on import, and chainer warns
    # about cuDNN where the user keeps it on
    out = python('''
        import warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import cupy.cuda.nccl
        print(sum('nccl library could not be loaded' in str(w.message) for w in caught))
    ''', path=[path])
    assert out == ['1']
    out = python(GPU_WARNINGS, path=[path], env={'CHAINER_CUDNN': '1'})
    assert out == ['1', '1']


def test_no_gpu_patch_where_cupy_has_nccl_and_cudnn(tmp_path):
    path = fake_cupy.write(tmp_path / 'fake', nccl=True, cudnn=True)
    out = python(GPU_WARNINGS, path=[path])
    assert out == ['0', 'None']  # CHAINER_CUDNN left alone


def test_cupy_that_cannot_load_is_left_to_the_gpu_switch(tmp_path):
    path = fake_cupy.write(tmp_path / 'fake', libraries=False)
    out = python('''
        import os, chainer_vae, chainer
        from chainer_vae import revival
        print(chainer.backends.cuda.available, revival.apply(), os.environ.get('CHAINER_CUDNN'))
    ''', path=[path])
    assert out == ['False', '[]', 'None']
