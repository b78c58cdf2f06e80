"""chainer_vae/revival/__init__.py: each patch proven by simulating the missing piece in a
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
        present = types.ModuleType('pkg_resources')  # as much of one as chainer uses
        present.DistributionNotFound = present.VersionConflict = LookupError
        def require(*requirements):  # chainer asks it for CuPy only: none installed
            raise LookupError(requirements)
        present.require = require
        sys.modules['pkg_resources'] = present
        distutils = types.ModuleType('numpy.distutils')
        distutils.system_info = types.ModuleType('numpy.distutils.system_info')
        distutils.system_info.get_info = lambda name: {}
        sys.modules.update({'numpy.distutils': distutils,
                            'numpy.distutils.system_info': distutils.system_info})
        if not hasattr(numpy, 'sctypes'):  # present, as on NumPy 1.x
            numpy.sctypes = {'int': [numpy.int8, numpy.int16, numpy.int32, numpy.int64],
                             'float': [numpy.float16, numpy.float32, numpy.float64]}
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


# ---- chainer's own functions that NumPy 2, protobuf 4 and SciPy broke (patches 6-11) ----

def test_resize_images_without_numpy_float():
    out = python('''
        import numpy, chainer_vae, chainer.functions as F
        from chainer.functions.array import resize_images
        x = numpy.array([[[[0, 1], [2, 3]]]], numpy.float32)
        y = F.resize_images(x, (3, 3), align_corners=True).array[0, 0]
        print(numpy.array_equal(y, [[0, .5, 1], [1, 1.5, 2], [2, 2.5, 3]]),
              hasattr(numpy, 'float'))  # NumPy itself untouched
        try:  # chainer's own function, as it was
            resize_images.compute_indices_and_weights.__wrapped__(
                (3, 3), (2, 2), 'bilinear', True, numpy)
            print('unpatched-works')
        except AttributeError:
            print('unpatched-fails')
    ''')
    assert out == ['True', 'False', 'unpatched-fails']


def test_pad_sequence_with_an_out_of_range_padding():
    out = python('''
        import warnings
        import numpy, chainer_vae, chainer.functions as F
        from chainer.functions.array import pad_sequence
        from chainer_vae import revival
        warnings.simplefilter('error')  # as chainer's own test configuration (setup.cfg)
        xs = [numpy.array([1, 2, 3], numpy.uint8), numpy.array([4], numpy.uint8)]
        y = F.pad_sequence(xs, padding=-1).array
        print(y.dtype, y.tolist() == [[1, 2, 3], [4, 255, 255]])  # NumPy 1's wrap-around
        print(F.pad_sequence([numpy.ones(2, numpy.float32)], 4, padding=-1).array.tolist())
        if revival._out_of_range_int_refused():  # NumPy >= 1.24
            warnings.simplefilter('error', DeprecationWarning)  # NumPy 1.24-1.26 warn
            try:
                pad_sequence.PadSequence.forward.__wrapped__(pad_sequence.PadSequence(None, -1),
                                                            xs)
                print('unpatched-works')
            except (OverflowError, DeprecationWarning):
                print('unpatched-fails')
        else:
            print('not-patched', not hasattr(pad_sequence.PadSequence.forward, '__wrapped__'))
    ''')
    assert out[:2] == ['uint8', 'True'] and out[2:6] == ['[[1.0,', '1.0,', '-1.0,', '-1.0]]']
    assert out[6:] in (['unpatched-fails'], ['not-patched', 'True'])


def test_categorical_log_prob_with_numpy2_meshgrid():
    out = python('''
        import numpy, chainer_vae, chainer.distributions as D
        from chainer_vae import revival
        p = numpy.array([[0.2, 0.8], [0.6, 0.4]], numpy.float32)
        x = numpy.array([1, 0])
        log_prob = D.Categorical(p).log_prob(x).array
        print(numpy.allclose(log_prob, numpy.log([0.8, 0.6])))
        patched = D.Categorical.log_prob is revival._categorical_log_prob
        print(patched == isinstance(numpy.meshgrid([0], [0]), tuple))
    ''')
    assert out == ['True', 'True']


def test_caffe_export_and_import_with_protobuf_4(tmp_path):
    """Patch 9: chainer's Caffe exporter writes a model, its importer reads it back."""
    out = python('''
        import sys, numpy, importlib.util, chainer_vae, chainer
        import chainer.links as L, chainer.functions as F
        from chainer.exporters import caffe
        from chainer_vae import revival

        class MLP(chainer.Chain):
            def __init__(self):
                super().__init__()
                with self.init_scope():
                    self.l1, self.l2 = L.Linear(4, 3), L.Linear(3, 2)
            def forward(self, x):
                return self.l2(F.relu(self.l1(x)))

        model, x = MLP(), numpy.random.RandomState(0).rand(5, 4).astype(numpy.float32)
        caffe.export(model, [chainer.Variable(x)], sys.argv[1], graph_name="mlp")
        imported = L.caffe.CaffeFunction(sys.argv[1] + '/chainer_model.caffemodel')
        y, = imported(inputs={'data': x}, outputs=[imported.layers[-1][0]])
        print(numpy.allclose(y.array, model(x).array, atol=1e-6))
        from chainer.links.caffe.protobuf3 import caffe_pb2
        print(caffe_pb2.TEST, caffe_pb2.V1LayerParameter.CONVOLUTION,
              caffe_pb2.NetParameter.DESCRIPTOR.full_name)
        patched = any(isinstance(f, revival._CaffePb2Finder) for f in sys.meta_path)
        print(patched == revival._old_protobuf_code_refused())
        spec = importlib.util.spec_from_file_location(  # chainer's own generated module
            'original_caffe_pb2', caffe_pb2.__spec__.origin)
        try:
            spec.loader.exec_module(importlib.util.module_from_spec(spec))
            print('unpatched-works')
        except TypeError:  # Descriptors cannot be created directly
            print('unpatched-fails')
    '''.replace('sys.argv[1]', repr(str(tmp_path))))
    assert out[:4] == ['True', '1', '4', 'caffe.NetParameter']
    assert out[4] == 'True'
    assert out[5] == ('unpatched-fails' if protobuf_4() else 'unpatched-works')


def protobuf_4():
    from importlib.metadata import version
    return int(version('protobuf').split('.')[0]) >= 4


def test_caffe_pb2_is_chainers_own_with_the_python_protobuf():
    """Where protobuf runs in pure Python, chainer's generated code works: no patch."""
    out = python('''
        import sys, chainer_vae
        from chainer_vae import revival
        from chainer.links.caffe.protobuf3 import caffe_pb2
        print(any(isinstance(f, revival._CaffePb2Finder) for f in sys.meta_path),
              caffe_pb2.TEST, caffe_pb2.__spec__.loader.__class__.__name__)
    ''', env={'PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION': 'python'})
    assert out == ['False', '1', 'SourceFileLoader']


def test_sparse_matmul_in_float16():
    """Patch 10: float16 through scipy.sparse, computed in float32 as older SciPy did."""
    pytest.importorskip('scipy')
    out = python('''
        import numpy, chainer_vae, chainer.functions as F, chainer.utils
        from chainer.functions.math import sparse_matmul
        from chainer_vae import revival
        a = numpy.array([[0, 1.5, 0], [2, 0, 0]], numpy.float16)
        b = numpy.arange(6, dtype=numpy.float16).reshape(3, 2)
        y = F.sparse_matmul(chainer.utils.to_coo(a), b).array
        print(y.dtype, numpy.array_equal(y, (a.astype('f') @ b.astype('f')).astype('e')))
        refused = revival._scipy_refuses_float16(sparse_matmul.sparse)
        print(refused == hasattr(sparse_matmul._coo_matmul_cpu, '__wrapped__'))
        if refused:
            try:
                sparse_matmul._coo_matmul_cpu.__wrapped__(
                    a[a != 0], numpy.array([0, 1]), numpy.array([1, 0]), a.shape, b, a.dtype)
                print('unpatched-works')
            except ValueError:  # scipy.sparse does not support dtype float16
                print('unpatched-fails')
    ''')
    assert out[:3] == ['float16', 'True', 'True']
    assert out[3:] in (['unpatched-fails'], [])


def test_debug_print_says_cpu_under_numpy2():
    """Patch 11: '- device: CPU' for a NumPy array, as chainer printed under NumPy 1."""
    out = python('''
        import numpy, chainer_vae, chainer
        v = chainer.Variable(numpy.zeros((2, 3), numpy.float32))
        print(v.debug_print().splitlines()[1])
        print(hasattr(chainer.Variable.debug_print, '__wrapped__')
              == hasattr(numpy.ndarray, 'device'))
        if hasattr(numpy.ndarray, 'device'):
            print(chainer.Variable.debug_print.__wrapped__(v).splitlines()[1])
    ''')
    assert out[:4] == ['-', 'device:', 'CPU', 'True']
    assert out[4:] in (['-', 'device:', 'cpu'], [])  # chainer's own, under NumPy 2

LEGACY_SCRIPT = '''
import sys
import numpy
import chainer.functions as F
x = numpy.arange(16, dtype=numpy.float32).reshape(1, 1, 4, 4)
print('resized', F.resize_images(x, (2, 2)).shape)
print('padded', F.pad_sequence([numpy.zeros(2, numpy.int8), numpy.zeros(1, numpy.int8)],
                                padding=-1).array.tolist())
print('argv', sys.argv[1:], __name__)
sys.exit(int(sys.argv[1]))
'''


@pytest.mark.parametrize('code', [0, 3])
def test_revive_runs_a_legacy_script_as_python_would(tmp_path, code):
    script = tmp_path / 'old_chainer_script.py'
    script.write_text(LEGACY_SCRIPT)
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.revival', str(script), str(code)],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == code, result.stderr
    assert result.stdout.splitlines() == ['resized (1, 1, 2, 2)', 'padded [[0, 0], [0, -1]]',
                                          "argv ['%d'] __main__" % code]


TRAINER_SCRIPT = '''
import numpy as np
import chainer, chainer.functions as F, chainer.links as L
from chainer import training
from chainer.training import extensions

class MLP(chainer.Chain):
    def __init__(self):
        super(MLP, self).__init__()
        with self.init_scope():
            self.l1, self.bn = L.Linear(None, 20), L.BatchNormalization(20)
            self.l2 = L.Linear(None, 3)
    def __call__(self, x):
        return self.l2(F.dropout(F.relu(self.bn(self.l1(x)))))

rng = np.random.RandomState(0)
x = rng.randn(300, 10).astype(np.float32)
t = ((x[:, 0] > 0).astype(np.int32) + (x[:, 1] > 0)).astype(np.int32)
train, test = chainer.datasets.split_dataset_random(chainer.datasets.TupleDataset(x, t), 250, 0)
model = L.Classifier(MLP())
optimizer = chainer.optimizers.MomentumSGD(0.1)
optimizer.setup(model)
optimizer.add_hook(chainer.optimizer_hooks.WeightDecay(1e-4))
updater = training.updaters.StandardUpdater(chainer.iterators.SerialIterator(train, 50), optimizer)
trainer = training.Trainer(updater, (2, 'epoch'), out='result')
trainer.extend(extensions.Evaluator(
    chainer.iterators.SerialIterator(test, 50, repeat=False, shuffle=False), model))
trainer.extend(extensions.dump_graph('main/loss'))
trainer.extend(extensions.snapshot(), trigger=(1, 'epoch'))
trainer.extend(extensions.LogReport())
trainer.extend(extensions.PlotReport(['main/loss'], 'epoch', file_name='loss.png'))
trainer.extend(extensions.PrintReport(['epoch', 'main/loss', 'validation/main/accuracy']))
trainer.extend(extensions.ParameterStatistics(model.predictor.l1))
trainer.extend(extensions.ExponentialShift('lr', 0.5), trigger=(1, 'epoch'))
trainer.run()
chainer.serializers.save_npz('result/model.npz', model)
'''


def test_revive_runs_a_trainer_script_of_the_v2_era(tmp_path):
    """chainer.training with its usual extensions (PlotReport: today's matplotlib)."""
    (tmp_path / 'train_mlp.py').write_text(TRAINER_SCRIPT)
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.revival', 'train_mlp.py'],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=300,
                            env=dict(os.environ, PYTHONPATH=REPO, MPLBACKEND='Agg'))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ['epoch', 'main/loss', 'validation/main/accuracy']
    assert {'cg.dot', 'log', 'loss.png', 'model.npz', 'snapshot_iter_5', 'snapshot_iter_10'} \
        <= set(os.listdir(str(tmp_path / 'result')))


def test_revive_without_a_script_is_one_line(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.revival', 'nope.py'],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 2 and result.stderr == (
        'revival: error: argument script: nope.py: no such script (a file, or a folder with a '
        '__main__.py)\n')


@pytest.mark.parametrize('source', ['x = (\n', 'def f(:\n    pass\n', 'print(1)\n\tprint(2)\n'])
def test_a_script_that_does_not_compile_gets_what_python_prints(tmp_path, source):
    """Not a traceback through the runner's own frames."""
    (tmp_path / 'broken.py').write_text(source)
    runs = [subprocess.run(command + ['broken.py'], capture_output=True, text=True,
                           cwd=str(tmp_path), timeout=120, env=dict(os.environ, PYTHONPATH=REPO))
            for command in ([sys.executable], [sys.executable, '-m', 'chainer_vae.revival'])]
    python, revived = runs
    assert python.returncode == revived.returncode == 1
    assert revived.stderr == python.stderr
    assert python.stderr.startswith('  File "%s", ' % (tmp_path / 'broken.py'))


def test_a_binary_file_is_one_syntax_error_as_in_python(tmp_path):
    (tmp_path / 'image.py').write_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00')
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.revival', 'image.py'],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.splitlines()[-1].startswith('SyntaxError: '), result.stderr
    assert len(result.stderr.splitlines()) <= 4  # at most python's File, line, caret, error


def test_revive_runs_a_folder_with_a_main_as_python_would(tmp_path):
    (tmp_path / 'app').mkdir()
    (tmp_path / 'app' / '__main__.py').write_text(
        'import sys, chainer\nprint(chainer.__version__, sys.argv[1:])\n')
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.revival', 'app', '--flag'],
                            capture_output=True, text=True, cwd=str(tmp_path), timeout=120,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "7.8.1 ['--flag']\n"


# ---- h5py 3, today's deprecations, MultiprocessIterator's hangs (patches 12-18) ----

WARNINGS_AS_ERRORS = '''
        import warnings
        import numpy, chainer_vae, chainer
        from chainer_vae import revival
        warnings.simplefilter('error')  # as chainer's own test configuration (setup.cfg)
'''


def test_multiprocess_iterator_without_set_daemon():
    """Patch 13: MultiprocessIterator starts its prefetch thread without Thread.setDaemon."""
    out = python(WARNINGS_AS_ERRORS + '''
        import threading
        from chainer import iterators
        it = iterators.MultiprocessIterator(list(range(6)), 3, shuffle=False, n_processes=1)
        print(it.next(), it._prefetch_loop._thread.daemon)
        it.finalize()
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            deprecated = revival._warns(threading.Thread().setDaemon, True)
        launch = iterators.multiprocess_iterator._PrefetchLoop.launch_thread
        print(deprecated == hasattr(launch, '__wrapped__'))
        if deprecated:  # Python >= 3.10
            it = iterators.MultiprocessIterator(list(range(6)), 3, n_processes=1)
            try:
                launch.__wrapped__(it._prefetch_loop)
                print('unpatched-works')
            except DeprecationWarning:  # setDaemon() is deprecated
                print('unpatched-fails')
            it._prefetch_loop._pool.terminate()
    ''')
    assert out[:5] == ['[0,', '1,', '2]', 'True', 'True']
    assert out[5:] == ['unpatched-fails']  # Python 3.11-3.13, as setup.py says


def test_multiprocess_iterator_pool_while_its_workers_are_replaced():
    """Patch 17: the pool goes on where CPython's Pool.map_async divides by zero (gh-82980)."""
    out = python('''
        import multiprocessing.pool, chainer_vae
        from chainer import iterators
        from chainer_vae import revival
        it = iterators.MultiprocessIterator(list(range(8)), 4, shuffle=False, n_processes=2,
                                            maxtasksperchild=1)
        print(it.next(), it.next())  # each worker retires after one task and is replaced
        pool = it._prefetch_loop._pool
        # what map_async sees in the moment between the pool's handler removing retired
        # workers and starting new ones: none (the handler keeps its own list)
        workers, pool._pool = pool._pool, []
        try:
            print(sorted(pool.map_async(abs, [-1, -2, -3]).get(60)))
            try:  # CPython's own, as chainer's prefetch thread called it
                multiprocessing.pool.Pool.map_async(pool, abs, [-1]).get(60)
                print('unpatched-works')
            except ZeroDivisionError:
                print('unpatched-fails')
        finally:
            pool._pool = workers
        print(it.next(), revival._pool_divides_by_live_workers())
        it.finalize()
    ''')
    assert out == ['[0,', '1,', '2,', '3]', '[4,', '5,', '6,', '7]', '[1,', '2,', '3]',
                   'unpatched-fails', '[0,', '1,', '2,', '3]', 'True']


def test_a_pickled_multiprocess_iterator_goes_on():
    """Patch 18: pickling a running iterator leaves it, and its prefetch thread, running."""
    out = python('''
        import pickle, threading, chainer_vae
        from chainer import iterators
        threading.excepthook = lambda args: print(args.exc_type.__name__)
        it = iterators.MultiprocessIterator(list(range(8)), 2, n_processes=1)  # shuffled
        seen = it.next() + it.next()
        copy = pickle.loads(pickle.dumps(it))
        batch = it.next()
        print(batch == copy.next(), len(set(seen + batch)), it._prefetch_loop._thread.is_alive())
        copy.finalize()
        # chainer's own __getstate__ resets the iterator to None: its thread dies
        iterators.MultiprocessIterator.__getstate__.__wrapped__(it)
        it._prefetch_loop._thread.join(60)
        print(it._prefetch_loop._thread.is_alive())
        it.finalize()
    ''')
    assert out == ['True', '6', 'True', 'TypeError', 'False']


def test_fix_and_fmod_without_numpy_fix():
    """Patch 14: F.fix (and F.fmod's gradient) through numpy.trunc where numpy.fix warns."""
    out = python(WARNINGS_AS_ERRORS + '''
        import chainer.functions as F
        from chainer.functions.math import fix
        x = numpy.array([-2.5, -0.5, 0.5, 2.5], numpy.float32)
        print(F.fix(x).array.tolist(), F.fix(x).dtype)
        v, divisor = chainer.Variable(x), chainer.Variable(numpy.full(4, 2, numpy.float32))
        F.sum(F.fmod(v, divisor)).backward()  # d/d divisor: -fix(x / divisor)
        print(divisor.grad.tolist(), F.fix is fix.fix)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            deprecated = revival._warns(numpy.fix, 0.5)
        print(deprecated == hasattr(F.fix, '__wrapped__'))
        if deprecated:  # NumPy >= 2.5
            try:
                F.fix.__wrapped__(x)
                print('unpatched-works')
            except DeprecationWarning:  # numpy.fix is deprecated
                print('unpatched-fails')
    ''')
    assert out[:11] == ['[-2.0,', '-0.0,', '0.0,', '2.0]', 'float32',
                        '[1.0,', '0.0,', '-0.0,', '-1.0]', 'True', 'True']
    assert out[11:] in (['unpatched-fails'], [])


def test_maxout_with_callable_initializers():
    """Patch 15: L.Maxout hands callables the shapes it promises, without ``shape =``."""
    out = python(WARNINGS_AS_ERRORS + '''
        import chainer.links as L
        shapes = []

        def initial_w(array):
            shapes.append(array.shape)
            array[...] = numpy.arange(array.size).reshape(array.shape)

        def initial_bias(array):
            shapes.append(array.shape)
            array[...] = numpy.arange(array.size).reshape(array.shape)

        link = L.Maxout(2, 3, 4, initialW=initial_w, initial_bias=initial_bias)
        print(shapes, link.linear.W.shape, link.linear.b.shape)
        print(numpy.array_equal(link.linear.W.array.ravel(), numpy.arange(24)),
              numpy.array_equal(link.linear.b.array, numpy.arange(12)))
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            deprecated = revival._warns(setattr, numpy.zeros(1), 'shape', (1,))
        print(deprecated == hasattr(L.Maxout.__init__, '__wrapped__'))
        if deprecated:  # NumPy >= 2.5
            try:
                L.Maxout.__init__.__wrapped__(L.Maxout.__new__(L.Maxout), 2, 3, 4, initial_w)
                print('unpatched-works')
            except DeprecationWarning:  # Setting the shape on a NumPy array ...
                print('unpatched-fails')
    ''')
    assert out[:11] == ['[(3,', '4,', '2),', '(3,', '4)]', '(12,', '2)', '(12,)',
                        'True', 'True', 'True']
    assert out[11:] in (['unpatched-fails'], [])


def test_concat_examples_padding_without_a_positional_out():
    """Patch 16: concat_examples pads to the largest shape, ``out`` passed by keyword."""
    out = python(WARNINGS_AS_ERRORS + '''
        from chainer.dataset import concat_examples, convert
        batch = [numpy.ones((1, 2), numpy.int32), numpy.ones((2, 1), numpy.int32)]
        print(concat_examples(batch, padding=-1).tolist())
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            deprecated = revival._warns(numpy.maximum, 0, 0, numpy.zeros(()))
        print(deprecated == hasattr(convert._concat_arrays_with_padding, '__wrapped__'))
        if deprecated:  # NumPy >= 2.4
            try:
                convert._concat_arrays_with_padding.__wrapped__(batch, -1)
                print('unpatched-works')
            except DeprecationWarning:  # Passing more than 2 positional arguments ...
                print('unpatched-fails')
    ''')
    assert out[:3] == ['[[[1,', '1],', '[-1,'] and out[3:8] == ['-1]],', '[[1,', '-1],', '[1,',
                                                               '-1]]]']
    assert out[8:] in (['True', 'unpatched-fails'], ['True'])


def test_hdf5_string_read_as_h5py_2_did(tmp_path):
    """Patch 12: a string dataset comes back as the str it was, not "b'abc'"."""
    pytest.importorskip('h5py')
    out = python(WARNINGS_AS_ERRORS + '''
        import sys, h5py
        from chainer.serializers import hdf5
        import chainer.links as L
        path = sys.argv[1] + '/strings.h5'
        with h5py.File(path, 'w') as f:
            f.create_dataset('str', data='abc')
            f.create_dataset('unicode', data='αβγ')
        with h5py.File(path, 'r') as f:
            d = hdf5.HDF5Deserializer(f)
            print(repr(d('str', '')), repr(d('unicode', '')))
            patched = hasattr(hdf5.HDF5Deserializer.__call__, '__wrapped__')
            print(patched == (h5py.version.version_tuple >= (3,)))
            if patched:
                print(repr(hdf5.HDF5Deserializer.__call__.__wrapped__(d, 'str', '')))
        link, other = L.Linear(3, 2), L.Linear(3, 2)  # arrays, as before
        chainer.serializers.save_hdf5(sys.argv[1] + '/link.h5', link)
        chainer.serializers.load_hdf5(sys.argv[1] + '/link.h5', other)
        print(numpy.array_equal(link.W.array, other.W.array))
    '''.replace('sys.argv[1]', repr(str(tmp_path))))
    assert out[:3] == ["'abc'", "'αβγ'", 'True']
    assert out[3:] in (['"b\'abc\'"', 'True'], ['True'])  # chainer's own read, h5py 3


@pytest.fixture(scope='module')
def setuptools_81(tmp_path_factory):
    """A folder holding setuptools 81 (pkg_resources deprecated, still there), for PYTHONPATH.
    The one test that reaches a registry: pip fetches the wheel from PyPI (or its cache)."""
    folder = tmp_path_factory.mktemp('setuptools81')
    done = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                           '--disable-pip-version-check', '--target', str(folder),
                           'setuptools==81.*'], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        pytest.skip('pip could not install setuptools 81: %s' % done.stderr.strip()[-200:])
    return str(folder)


def commands():
    """Every command of this project: train_vae.py and each python -m chainer_vae...: a
    package with a __main__.py, or a module with a __main__ block."""
    modules = []
    for folder, _, names in os.walk(os.path.join(REPO, 'chainer_vae')):
        package = os.path.relpath(folder, REPO).replace(os.sep, '.')
        for name in names:
            if name == '__main__.py':
                modules.append(package)
            elif name.endswith('.py'):
                with open(os.path.join(folder, name)) as f:
                    if "__name__ == '__main__'" in f.read():
                        modules.append(package + '.' + name[:-3])
    return [['train_vae.py']] + [['-m', m] for m in sorted(modules)]


def test_no_pkg_resources_warning_from_any_command(setuptools_81):
    """Where setuptools 81 is installed, no command prints its pkg_resources warning."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([setuptools_81, REPO]))
    for command in commands():
        result = subprocess.run([sys.executable] + command + ['--help'], capture_output=True,
                                text=True, cwd=REPO, env=env, timeout=120)
        assert result.returncode == 0 and revival_warning(result.stderr) == [], command
    # not even where every warning is shown; and the pkg_resources chainer imports is
    # setuptools 81's, which warns when imported, as in every command before the revival
    out = python('''
        import sys, warnings
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            import chainer_vae, chainer, chainer._environment_check
        print(sum('pkg_resources' in str(w.message) for w in caught),
              sys.modules['pkg_resources'].__file__.startswith(sys.argv[1]))
    '''.replace('sys.argv[1]', repr(setuptools_81)), path=[setuptools_81])
    assert out == ['0', 'True']
    control = subprocess.run([sys.executable, '-c', 'import pkg_resources'], capture_output=True,
                             text=True, env=env, timeout=120)
    assert control.returncode == 0 and len(revival_warning(control.stderr)) == 1


def revival_warning(stderr):
    return [line for line in stderr.splitlines() if 'pkg_resources is deprecated' in line]


def test_numpy_distutils_that_fails_to_import(setuptools_81):
    """NumPy 1.x's numpy.distutils under setuptools >= 74 (no distutils.msvccompiler)."""
    if int(numpy_version().split('.')[0]) >= 2:
        pytest.skip('NumPy 2 has no numpy.distutils: the stand-in is tested above')
    control = subprocess.run([sys.executable, '-c', 'import numpy.distutils.system_info'],
                             capture_output=True, text=True, timeout=120,
                             env=dict(os.environ, PYTHONPATH=setuptools_81))
    assert "No module named 'distutils.msvccompiler'" in control.stderr  # what chainer met
    out = python('''
        import sys, chainer_vae, chainer
        print(sys.modules['numpy.distutils.system_info'].get_info('blas_opt'))
    ''', path=[setuptools_81])
    assert out == ['{}']


def numpy_version():
    from importlib.metadata import version
    return version('numpy')
