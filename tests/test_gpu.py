"""The --gpu switch: one line for each way a GPU run can fail (on any machine, with
a fake CuPy), and the legacy model on a real GPU (tests marked gpu: they skip
where CuPy sees no GPU)."""
import os
import signal

import numpy as np
import pytest

import chainer
import chainer.functions as F
from chainer import optimizers

import fake_cupy
from helpers import run_cli, start_cli
from test_checkpoint import arrays
from test_cli import assert_one_line_error
from test_net import numpy_encode, small_batch
from test_train import GOLDEN, graph_structure, run_loop, LEGACY, needs_legacy

from chainer_vae import checkpoint, files, net


@pytest.mark.parametrize('fake, args, words', [
    (None, ['--gpu', '0'], ['needs CuPy, which is not installed', "'.[gpu]'", '--gpu -1']),
    (dict(libraries=False), ['--gpu', '0'],
     ['CuPy is installed but cannot load its CUDA libraries', 'libcublasLt', '[ctk]']),
    (dict(devices=None), ['--gpu', '0'],
     ['no usable GPU', 'cudaErrorInsufficientDriver', 'nvidia-smi']),
    (dict(devices=0), ['--gpu', '0'], ['no GPU is visible']),
    (dict(devices=1), ['--gpu', '3'], ['--gpu 3: this machine has 1 GPU (ids 0 to 0)']),
    (dict(devices=2), ['--gpu', '2'], ['this machine has 2 GPUs (ids 0 to 1)']),
])
def test_each_gpu_failure_is_one_line(tmp_path, fake, args, words):
    if fake is None:  # no CuPy at all, whether or not this machine has one
        result = run_cli(*args, '--seed', '0', '-o', str(tmp_path / 'out'), block=['cupy'])
    else:
        path = fake_cupy.write(tmp_path / 'fake', **fake)
        result = run_cli(*args, '--seed', '0', '-o', str(tmp_path / 'out'), pythonpath=[path])
    assert_one_line_error(result, *words)
    assert not (tmp_path / 'out').exists()  # refused before anything was written


# ---- on a real GPU -------------------------------------------------------------

def to_cpu(array):
    return chainer.backends.cuda.to_cpu(array)


@pytest.mark.gpu
def test_losses_equal_the_closed_forms_on_the_gpu():
    cupy = chainer.backends.cuda.cupy
    np.random.seed(1)
    model = net.VAE(12, 3, 7)
    model.to_gpu()
    x = small_batch()
    cupy.random.seed(5)
    loss = model.get_loss_func(C=0.7, k=2)(chainer.Variable(cupy.asarray(x)))

    model.to_cpu()
    mu, ln_var, lin = numpy_encode(model, x.astype(np.float64))
    cupy.random.seed(5)  # F.gaussian draws eps from CuPy's generator on the GPU
    rec = 0.0
    for _ in range(2):
        eps = to_cpu(cupy.random.standard_normal(mu.shape, dtype=np.float32))
        z = mu + np.exp(0.5 * ln_var) * eps
        logits = lin(model.ld3, np.tanh(lin(model.ld2, np.tanh(lin(model.ld1, z)))))
        p = 1 / (1 + np.exp(-logits))
        rec += -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p))
    rec /= 2 * len(x)
    kl = 0.5 * np.sum(mu ** 2 + np.exp(ln_var) - ln_var - 1) / len(x)
    np.testing.assert_allclose(float(loss.array), rec + 0.7 * kl, rtol=1e-4)


@pytest.mark.gpu
def test_golden_losses_on_the_gpu(tmp_path):
    # The GPU draws z from CuPy's generator, not NumPy's: the noise differs from the
    # CPU run. On the CPU, other noise for the same start moved these losses by up
    # to 1.2 % (4 draws), so 3 % tells a real fault from noise.
    _, rows = run_loop(tmp_path, xp=chainer.backends.cuda.cupy)
    golden = np.loadtxt(GOLDEN, delimiter=',')
    np.testing.assert_allclose(np.array([row[1:5] for row in rows]), golden, rtol=3e-2)


@pytest.mark.gpu
def test_saved_on_the_gpu_loads_on_the_cpu(tmp_path):
    np.random.seed(3)
    model = net.VAE(784, 20, 500, act_func=F.softplus)
    model.to_gpu()
    optimizer = optimizers.Adam()
    optimizer.setup(model)
    x = chainer.backends.cuda.cupy.asarray(small_batch(n=10, n_in=784))
    optimizer.update(model.get_loss_func(), x)
    path = str(tmp_path / 'mlp_20.model')
    checkpoint.save_npz(path, model)
    restored = net.VAE(784, 20, 500, act_func=F.softplus)
    checkpoint.load_npz(path, restored)
    with chainer.no_backprop_mode():
        on_gpu = to_cpu(model(x).array)
        on_cpu = restored(to_cpu(x)).array
    np.testing.assert_allclose(on_cpu, on_gpu, rtol=1e-5, atol=1e-6)


@pytest.mark.gpu
@needs_legacy
def test_gpu_run_writes_the_legacy_graph(tmp_path):
    result = run_cli('--gpu', '0', '--test', '--dataset', 'sample', '-e', '1', '--seed', '0',
                     '-o', str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ''  # no warnings a user cannot act on
    assert graph_structure(str(tmp_path / 'graph.dot')) == \
        graph_structure(os.path.join(LEGACY, 'graph.dot'))


@pytest.mark.gpu
def test_sigint_then_resume_on_the_gpu(tmp_path):
    """README, Stopping and resuming: on a GPU a seeded run stopped by SIGINT goes on from
    its checkpoint with NumPy's generator restored, so it draws the permutations of a run
    never stopped; CuPy cannot export its generator, so the noise of z after the resume
    differs and the losses agree as two draws of that noise do (3 %, as the golden test)."""
    args = ['--gpu', '0', '--dataset', 'sample', '--seed', '3', '--epoch', '5']
    whole, out = tmp_path / 'whole', tmp_path / 'run'
    assert run_cli(*args, '-o', whole).returncode == 0
    proc = start_cli(*args, '-o', out)
    for line in proc.stdout:
        if line == 'epoch 3\n':  # two epochs checkpointed
            break
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and len(err.strip().splitlines()) == 1, err
    assert err.startswith('train_vae.py: error: interrupted (SIGINT)'), err
    stopped = int(arrays(out / files.CHECKPOINT)['epoch'])
    assert 1 <= stopped < 5

    result = run_cli('--resume-from', out)  # on the GPU of the run (config.json)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == 'epoch %d' % (stopped + 1)
    resumed = arrays(out / files.CHECKPOINT)
    never_stopped = arrays(whole / files.CHECKPOINT)
    for key in [k for k in never_stopped if k.startswith('rng/')]:  # the permutations' generator
        np.testing.assert_array_equal(resumed[key], never_stopped[key], err_msg=key)
    rows = [np.loadtxt(str(run / 'log.csv'), delimiter=',', skiprows=1) for run in (out, whole)]
    np.testing.assert_array_equal(rows[0][:, 0], np.arange(1, 6))  # every epoch once
    np.testing.assert_allclose(rows[0][:, 1:5], rows[1][:, 1:5], rtol=3e-2)
