"""The semi-supervised M2 and M1+M2 (chainer_vae/m2.py) and what they need from
train_vae.py: its M1 trained on the first N training images only (--n-train)."""
import json
import os
import shutil
import signal
import subprocess
import sys

import matplotlib.colors
import numpy as np
import pytest

import chainer
import chainer.functions as F
from chainer import gradient_check

from chainer_vae import (checkpoint, cpu_kernels, data, files, gpu, interrupt, m2, m2_data,
                         m2_net, m2_results, m2_train, paper, runlog, train)
from chainer_vae import __main__ as training, config as run_config

from helpers import REPO, _as_at_a_terminal, run_cli, run_module
from test_checkpoint import arrays, assert_same_arrays, log_rows
from test_cli import assert_one_line_error


# ---- train_vae.py --n-train: the M1 of M1+M2 never sees the validation images ----------

@pytest.fixture
def in_process():
    """A command run in this process installs its signal handlers (chainer_vae.interrupt;
    one that fails ignores the signals from then on: cli.fail) and chainer's fast settings
    (chainer_vae.cpu_kernels): put pytest's and chainer's back after it, so that later
    tests and the processes they start get signals as ever."""
    saved = {s: signal.getsignal(s) for s in interrupt.SIGNALS}
    yield
    for s, handler in saved.items():
        signal.signal(s, handler)
    cpu_kernels.configure(debug=True)  # chainer's own type checks and softplus


def one_line(capsys, code, exit):
    """What a command that ended in this process (``exit``: pytest.raises(SystemExit))
    left, as a CompletedProcess, its exit code checked to be ``code``."""
    assert exit.value.code == code
    return subprocess.CompletedProcess([], code, '', capsys.readouterr().err)


@pytest.fixture(scope='module')
def m1_run(tmp_path_factory):
    """A tiny M1 of the first 1000 sample images, one epoch."""
    out = tmp_path_factory.mktemp('m1') / 'run'
    result = run_cli('--dataset', 'sample', '--n-train', '1000', '--binarize', '--seed', '0',
                     '-e', '1', '-z', '4', '--n-hidden', '16', '-o', out)
    assert result.returncode == 0, result.stderr
    return out


def test_n_train_trains_on_the_first_n_images_and_a_resume_keeps_it(tmp_path, m1_run, capsys,
                                                                    in_process):
    out = tmp_path / 'm1'
    shutil.copytree(str(m1_run), str(out))
    assert json.loads((out / 'config.json').read_text())['data']['n_train'] == 1000
    assert int(arrays(out / 'checkpoint.npz')['optimizer/t']) == 10  # 1000 / 100, not 4000 / 100
    with pytest.raises(SystemExit) as exit:
        training.main(['--resume-from', str(out), '--n-train', '2000'])
    assert_one_line_error(one_line(capsys, 1, exit), '--n-train 2000: the run in',
                          'made with 1000')
    result = run_cli('--resume-from', out, '--epoch', '2')
    assert result.returncode == 0, result.stderr
    assert int(arrays(out / 'checkpoint.npz')['optimizer/t']) == 20


@pytest.mark.parametrize('flags, code, words', [
    (['--dataset', 'sample', '--n-train', '4001'], 1,
     '--n-train 4001: the training set has only 4000 images'),
    (['--test', '--n-train', '50'], 2, '--n-train: the legacy --test chooses its own images'),
])
def test_n_train_beyond_the_training_set_or_with_test_is_one_line(tmp_path, capsys, in_process,
                                                                  flags, code, words):
    with pytest.raises(SystemExit) as exit:
        training.main(flags + ['-o', str(tmp_path / 'run')])
    assert_one_line_error(one_line(capsys, code, exit), words)
    assert not (tmp_path / 'run').exists()


# ---- the objective -------------------------------------------------------------------------

def tiny_m2(gaussian_x=False, dtype=np.float32, scale=0.5, kernels='chainer-1'):
    """An M2 of 6 inputs, 5 hidden units, z of 3, its weights drawn large enough that
    every term matters."""
    with chainer.using_config('dtype', dtype):
        model = m2_net.M2(6, n_h=5, n_z=3, gaussian_x=gaussian_x, kernels=kernels)
    rng = np.random.RandomState(1)
    for param in model.params():
        param.array[...] = rng.normal(0, scale, param.shape)
    return model


def batch(dtype=np.float32):
    rng = np.random.RandomState(2)
    x_l, x_u = ((rng.random_sample((n, 6)) < 0.5).astype(dtype) for n in (2, 3))
    return x_l, np.array([3, 7], np.int32), x_u


def softplus(a):
    return np.logaddexp(0, a)


def same_noise(model, rows):
    """The noise of z that ``model``'s next loss of ``rows`` rows draws, its generator
    (NumPy's global one, or the fused kernels' own) seeded with 0 for it."""
    shape = (rows, model.qz_mu.W.shape[0])
    if model.generator is None:  # chainer-1: F.gaussian, float64 normals cast
        np.random.seed(0)
        eps = np.random.standard_normal(shape).astype(np.float32)
        np.random.seed(0)
        return eps
    model.generator = np.random.default_rng(0)
    eps = model.noise(shape)
    model.generator = np.random.default_rng(0)
    return eps


KERNELS = pytest.mark.parametrize('kernels', run_config.KERNELS)


def neg_elbo_numpy(model, x, y, eps):
    """-L(x,y) of one image and label, in float64 from the model's weights."""
    p = {name[1:]: param.array.astype(np.float64) for name, param in model.namedparams()}
    y1 = np.eye(10)[y]
    h = softplus(p['qz_x/W'] @ x + p['qz_x/b'] + p['qz_y/W'] @ y1)
    mu, ln_var = p['qz_mu/W'] @ h + p['qz_mu/b'], p['qz_ln_var/W'] @ h + p['qz_ln_var/b']
    z = mu + np.exp(0.5 * ln_var) * eps
    h = softplus(p['px_h/W'] @ np.concatenate([z, y1]) + p['px_h/b'])
    out = p['px_mu/W'] @ h + p['px_mu/b']
    if model.gaussian_x:
        ln_var_x = p['px_ln_var/W'] @ h + p['px_ln_var/b']
        rec = 0.5 * np.sum(np.log(2 * np.pi) + ln_var_x + (x - out) ** 2 / np.exp(ln_var_x))
    else:
        rec = np.sum(softplus(out) - x * out)  # -log Bernoulli(x | sigmoid(out))
    kl = 0.5 * np.sum(mu ** 2 + np.exp(ln_var) - ln_var - 1)
    return rec + kl + np.log(10)


@KERNELS
@pytest.mark.parametrize('gaussian_x', [False, True], ids=['M2', 'M1+M2'])
def test_the_unlabelled_term_is_the_sum_over_the_ten_labels(gaussian_x, kernels):
    """Each term of each kernels' M2 is the formula's, computed in float64 from its weights
    with the same noise (one draw for the rows, labelled, then label by label)."""
    model = tiny_m2(gaussian_x, kernels=kernels)
    x_l, y_l, x_u = batch()
    eps = same_noise(model, 2 + 10 * 3)
    neg_l, neg_log_q, neg_u = (t.array for t in model.terms(x_l, y_l, x_u))
    p = {name[1:]: param.array.astype(np.float64) for name, param in model.namedparams()}
    for i, x in enumerate(x_u):
        logits = p['qy_logits/W'] @ softplus(p['qy_h/W'] @ x + p['qy_h/b']) + p['qy_logits/b']
        q = np.exp(logits - np.logaddexp.reduce(logits))
        neg_ls = [neg_elbo_numpy(model, x, y, eps[2 + 3 * y + i]) for y in range(10)]
        # -U(x) = sum_y q(y|x) (-L(x,y)) - H(q(y|x))
        assert neg_u[i] == pytest.approx(np.dot(q, neg_ls) + np.dot(q, np.log(q)), rel=1e-5)
    for i, (x, y) in enumerate(zip(x_l, y_l)):
        assert neg_l[i] == pytest.approx(neg_elbo_numpy(model, x, y, eps[i]), rel=1e-5)
        logits = p['qy_logits/W'] @ softplus(p['qy_h/W'] @ x + p['qy_h/b']) + p['qy_logits/b']
        assert neg_log_q[i] == pytest.approx(np.logaddexp.reduce(logits) - logits[y], rel=1e-5)


def test_beta_scales_only_the_labelled_classification_term():
    model = tiny_m2()
    x_l, y_l, x_u = batch()
    losses, grads = [], []
    for beta in (1.0, 4.0):
        model.cleargrads()
        np.random.seed(0)
        loss = model.loss(x_l, y_l, x_u, beta)
        loss.backward()
        losses.append((float(loss.array), [float(s.array) for s in model.sums]))
        grads.append({name: param.grad.copy() for name, param in model.namedparams()})
    (loss_1, sums_1), (loss_4, sums_4) = losses
    assert sums_1 == sums_4  # -L of the labelled, -U of the unlabelled, -log q(y|x): unchanged
    assert loss_4 - loss_1 == pytest.approx(3.0 * sums_1[2] / 5, rel=1e-5)  # 5 images
    for name in grads[0]:
        if name.startswith('/qy_'):  # the classifier's gradient changes
            assert not np.allclose(grads[0][name], grads[1][name]), name
        else:  # q(z|x,y) and p(x|y,z) never see beta
            np.testing.assert_array_equal(grads[0][name], grads[1][name], err_msg=name)


@pytest.mark.parametrize('gaussian_x', [False, True], ids=['M2', 'M1+M2'])
def test_gradient_check_on_a_tiny_m2(gaussian_x):
    model = tiny_m2(gaussian_x, np.float64)
    x_l, y_l, x_u = batch(np.float64)

    def loss(x_l, x_u):
        np.random.seed(0)  # the same z at every evaluation
        return model.loss(x_l, y_l, x_u, 2.0)

    gradient_check.check_backward(loss, (x_l, x_u), None, params=list(model.params()),
                                  eps=1e-5, atol=1e-6, rtol=1e-5, dtype=np.float64)


@pytest.mark.parametrize('kernels', ['fast-1', 'fast-2', 'fast-3'])
@pytest.mark.parametrize('gaussian_x', [False, True], ids=['M2', 'M1+M2'])
def test_gradient_check_on_a_tiny_m2_with_the_fast_kernels(gaussian_x, kernels):
    """The fused kernels' gradient of every weight (the images need none: their -log
    p(x|y,z) takes them as targets, as m2_train gives them)."""
    model = tiny_m2(gaussian_x, np.float64, kernels=kernels)
    x_l, y_l, x_u = batch(np.float64)

    def loss():
        model.generator = np.random.default_rng(0)  # the same z at every evaluation
        return model.loss(x_l, y_l, x_u, 2.0)

    gradient_check.check_backward(loss, (), None, params=list(model.params()),
                                  eps=1e-5, atol=1e-6, rtol=1e-5, dtype=np.float64)


@pytest.mark.parametrize('gaussian_x', [False, True], ids=['M2', 'M1+M2'])
def test_the_fast_kernels_give_chainers_loss_and_gradients(gaussian_x):
    """fast-1, fast-2, fast-3 and chainer-1 on the same weights and noise: the loss, its
    terms and every weight's gradient agree to float32's rounding (not bitwise: other
    operations)."""
    x_l, y_l, x_u = batch()
    results, drawn = [], []
    for kernels in run_config.KERNELS:
        model = tiny_m2(gaussian_x, kernels=kernels)
        drawn.append(same_noise(model, 2 + 10 * 3))
        if model.generator:
            model.noise = lambda shape, dtype: drawn[0]  # chainer-1's draw
        loss = model.loss(x_l, y_l, x_u, 2.0)
        loss.backward()
        results.append(([float(loss.array)] + [float(t.array) for t in model.sums],
                        {name: p.grad for name, p in model.namedparams()}))
    (chainers, chainer_grads), *fused = results
    assert len(fused) == 3
    for fast, fast_grads in fused:
        np.testing.assert_allclose(fast, chainers, rtol=2e-6)
        for name, grad in chainer_grads.items():
            np.testing.assert_allclose(fast_grads[name], grad, rtol=1e-4,
                                       atol=1e-5 * np.abs(grad).max(), err_msg=name)


def test_the_weight_decay_is_kingmas_prior_on_weights_and_the_classifiers_biases():
    model = tiny_m2()
    optimizer = m2_train.optimizer_for(model, 50000)
    before = {name: param.array.copy() for name, param in model.namedparams()}
    optimizer.update(lambda: sum(F.sum(p * 0) for p in model.params()))  # the prior's alone
    moved = {name for name, param in model.namedparams()
             if not np.array_equal(param.array, before[name])}
    assert moved == {name for name in before
                     if name.endswith('/W') or name in ('/qy_h/b', '/qy_logits/b')}
    assert optimizer.alpha == 3e-4 and (optimizer.beta1, optimizer.beta2) == (0.9, 0.999)


@pytest.mark.parametrize('init, sd', [('kingma', lambda n_in: 0.001),
                                      ('chainer', lambda n_in: n_in ** -0.5)])
def test_the_first_weights_are_kingmas_or_chainers_default(init, sd):
    """Kingma's init_w(1e-3), or (--init chainer) chainer's LeCunNormal; biases 0."""
    np.random.seed(0)
    model = m2_net.M2(400, 300, 50, gaussian_x=True, init=init)
    for name, param in model.namedparams():
        if name.endswith('/W'):
            assert abs(param.array.std() / sd(param.shape[1]) - 1) < 0.05, name
        else:
            assert not param.array.any(), name


def test_a_nan_loss_stops_the_run_with_one_line():
    model = tiny_m2()
    model.qz_x.W.array[0, 0] = np.nan
    x_l, y_l, x_u = batch()
    layout = [(np.array([0, 1]), np.array([2, 3, 4]))]
    with pytest.raises(train.TrainingError, match='loss became nan at epoch 7, training batch 0'):
        m2_train.train_epoch(model, m2_train.optimizer_for(model, 100), np.concatenate([x_l, x_u]),
                       np.array([3, 7, 0, 0, 0], np.int32), layout, 1.0, 7)


# ---- the split and the batches -------------------------------------------------------------

def test_the_labelled_draw_is_balanced_seeded_and_apart_from_validation():
    y = data.load('sample')[2]
    labelled, unlabelled = m2_data.split(y[:3000], 100, seed=0)
    assert np.bincount(y[labelled], minlength=10).tolist() == [10] * 10
    assert sorted(np.concatenate([labelled, unlabelled])) == list(range(3000))  # none of 3000:
    again, _ = m2_data.split(y[:3000], 100, seed=0)
    other, _ = m2_data.split(y[:3000], 100, seed=1)
    np.testing.assert_array_equal(labelled, again)
    assert set(labelled) != set(other)
    with pytest.raises(data.DataError, match='100 images of each digit'):
        m2_data.split(y[:300], 1000, seed=0)


@pytest.mark.parametrize('n, per_step', [(100, (1, 499)), (600, (3, 247)), (1000, (5, 245)),
                                         (3000, (15, 235))])
def test_kingmas_batch_layout(n, per_step):
    layout = m2_data.batches(np.arange(n), np.arange(n, 50000), paper.steps_of(n))
    assert len(layout) == (100 if n == 100 else 200)
    assert {(len(l), len(u)) for l, u in layout} == {per_step}
    assert sorted(np.concatenate([l for l, _ in layout] + [u for _, u in layout])) == \
        list(range(50000))


def test_reshuffle_draws_the_batches_anew_from_numpys_generator():
    layout = m2_data.batches(np.arange(10), np.arange(10, 100), 5)
    np.random.seed(1)
    first = m2_data.reshuffled(layout)
    second = m2_data.reshuffled(first)
    np.random.seed(1)
    again = m2_data.reshuffled(layout)
    for drawn in (first, second):
        assert [(len(l), len(u)) for l, u in drawn] == [(2, 18)] * 5
        assert sorted(np.concatenate([l for l, _ in drawn])) == list(range(10))
        assert sorted(np.concatenate([u for _, u in drawn])) == list(range(10, 100))
    order = [np.concatenate([np.concatenate(step) for step in drawn])
             for drawn in (layout, first, second, again)]
    assert np.array_equal(order[1], order[3])  # seeded
    assert not np.array_equal(order[1], order[0]) and not np.array_equal(order[2], order[1])


@pytest.mark.parametrize('flags, hidden', [
    (['--labels', '100', '--m1', REPO], 300), (['--labels', '600', '--m1', REPO], 500),
    (['--labels', '100'], 500), (['--labels', '100', '--m1', REPO, '--n-hidden', '64'], 64)])
def test_kingmas_hidden_units(flags, hidden):
    """run_2layer_ssl.py: M1+M2 at N = 100 with 300 units, N >= 600 with 500; the paper's
    M2 on pixels with 500."""
    assert m2.parse_args(flags)[0].n_hidden == hidden


# ---- the command: a run, stopped and resumed, and its one-line errors ----------------------

TINY = ['--dataset', 'sample', '--n-train', '1000', '--labels', '100', '--steps', '5',
        '--n-hidden', '16', '--dimz', '4', '--seed', '3']


def start_m2(*args):
    return subprocess.Popen([sys.executable, '-m', 'chainer_vae.m2'] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO,
                            preexec_fn=_as_at_a_terminal)


def assert_m2_error(result, *words, code=None, prog='m2'):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prog + ': error: '), result.stderr
    assert result.returncode == (code or result.returncode) != 0
    for word in words:
        assert word in lines[0]


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp('m2') / 'run'
    result = run_module('m2', *TINY + ['--epoch', 3, '-o', out])
    assert result.returncode == 0, result.stderr
    return out


def test_a_run_logs_its_errors_and_writes_its_config(uninterrupted):
    rows = log_rows(uninterrupted)
    assert rows[0] == ','.join(m2.LOG_COLUMNS[:-1]) and len(rows) == 4
    errors = np.array([[float(v) for v in r.split(',')[-2:]] for r in rows[1:]])
    assert ((0 <= errors) & (errors <= 100)).all()
    written = json.loads((uninterrupted / 'config.json').read_text())
    assert written['model'] == 'M2' and written['flags']['labels'] == 100
    assert written['flags']['gpu'] == -1 and written['versions']['cupy'] is None
    assert written['flags']['init'] == 'kingma'
    assert written['derived']['beta'] == 0.1 * 1000 / 100
    assert (written['derived']['labelled_per_step'], written['derived']['unlabelled_per_step']) \
        == (20, 180)
    assert sorted(files.written(str(uninterrupted))) == ['checkpoint.npz', 'config.json',
                                                         'log.csv']


def test_stopped_by_a_signal_then_resumed_equals_uninterrupted(tmp_path, uninterrupted):
    out = tmp_path / 'run'
    proc = start_m2(*TINY + ['--epoch', 3, '-o', out])
    for line in proc.stdout:
        if line.startswith('epoch 2'):
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert_m2_error(subprocess.CompletedProcess([], proc.returncode, '', err),
                    'interrupted (SIGTERM)', 'python -m chainer_vae.m2 --resume-from')
    assert int(arrays(out / 'checkpoint.npz')['epoch']) < 3
    written = json.loads((out / 'config.json').read_text())
    del written['flags']['gpu']  # as a run from before --gpu: it goes on on the CPU,
    del written['flags']['init']  # and from before --init: with Kingma's first weights,
    del written['flags']['reshuffle']  # and his batches, cut once
    (out / 'config.json').write_text(json.dumps(written))
    result = run_module('m2', '--resume-from', out)
    assert result.returncode == 0, result.stderr
    flags = json.loads((out / 'config.json').read_text())['flags']
    assert (flags['init'], flags['reshuffle']) == ('kingma', False)
    assert log_rows(out) == log_rows(uninterrupted)
    resumed, whole = arrays(out / 'checkpoint.npz'), arrays(uninterrupted / 'checkpoint.npz')
    resumed['log_row'][-1] = whole['log_row'][-1]  # all but the wall time
    assert_same_arrays(resumed, whole)


def test_a_reshuffled_run_goes_on_after_a_stop_as_if_never_stopped(tmp_path, uninterrupted):
    whole, stopped = tmp_path / 'whole', tmp_path / 'stopped'
    for out, epochs in ((whole, 3), (stopped, 2)):
        result = run_module('m2', *TINY + ['--reshuffle', '--epoch', epochs, '-o', out])
        assert result.returncode == 0, result.stderr
    result = run_module('m2', '--resume-from', stopped, '--epoch', 3)
    assert result.returncode == 0, result.stderr
    assert json.loads((stopped / 'config.json').read_text())['flags']['reshuffle'] is True
    assert log_rows(stopped) == log_rows(whole) != log_rows(uninterrupted)  # other batches
    resumed, at_once = arrays(stopped / 'checkpoint.npz'), arrays(whole / 'checkpoint.npz')
    resumed['log_row'][-1] = at_once['log_row'][-1]  # all but the wall time
    assert_same_arrays(resumed, at_once)


def test_a_run_records_its_kernels_and_a_resume_keeps_or_switches_them(tmp_path, uninterrupted):
    """A new run learns with its CPU's (m2.new_run_kernels: fast-3 where NumPy vectorises
    log1p and expm1, else fast-2) from epoch 1, its PCG64 state in the checkpoint. A
    chainer-1 run given --kernels fast-2 at a resume learns with them from its next epoch
    and records it; a resume without the flag keeps them; stopped and resumed again, it
    equals the same switched run never stopped, bitwise (one BLAS thread)."""
    from test_spine import m2_one_blas_thread  # (test_spine imports this module)
    flags = json.loads((uninterrupted / 'config.json').read_text())['flags']
    assert (flags['kernels'], flags['kernels_from_epoch']) == (m2.new_run_kernels(-1), 1)
    assert checkpoint.PCG64 in arrays(uninterrupted / 'checkpoint.npz')
    stopped, whole = tmp_path / 'stopped', tmp_path / 'whole'
    for out in (stopped, whole):
        result = m2_one_blas_thread(*TINY + ['--kernels', 'chainer-1', '--epoch', 1, '-o', out])
        assert result.returncode == 0, result.stderr
    assert checkpoint.PCG64 not in arrays(stopped / 'checkpoint.npz')
    for out, more in ((whole, ['--epoch', 3]), (stopped, ['--epoch', 2])):
        result = m2_one_blas_thread('--resume-from', out, '--kernels', 'fast-2', *more)
        assert result.returncode == 0, result.stderr
    result = m2_one_blas_thread('--resume-from', stopped, '--epoch', 3)  # kept
    assert result.returncode == 0, result.stderr
    for out in (stopped, whole):
        flags = json.loads((out / 'config.json').read_text())['flags']
        assert (flags['kernels'], flags['kernels_from_epoch']) == ('fast-2', 2)
    assert log_rows(stopped) == log_rows(whole)
    assert log_rows(whole)[1] != log_rows(uninterrupted)[1]  # epoch 1: chainer-1's
    resumed, at_once = arrays(stopped / 'checkpoint.npz'), arrays(whole / 'checkpoint.npz')
    resumed['log_row'][-1] = at_once['log_row'][-1]  # all but the wall time
    assert_same_arrays(resumed, at_once)


def test_a_config_from_before_the_kernels_reads_as_chainer_1_from_epoch_1():
    path = os.path.join(REPO, 'tests', 'data', 'runs_v1_0', 'm2', 'config.json')
    assert 'kernels' not in json.loads(open(path).read())['flags']
    flags = m2.read_config(path)['flags']
    assert (flags['kernels'], flags['kernels_from_epoch']) == ('chainer-1', 1)


def test_the_fast_kernels_on_a_gpu_are_one_line_before_anything_is_written(tmp_path, capsys,
                                                                          in_process):
    with pytest.raises(SystemExit) as exit:
        m2.main(TINY + ['--gpu', '0', '--kernels', 'fast-2', '-o', str(tmp_path / 'run')])
    assert_m2_error(one_line(capsys, 1, exit), '--kernels fast-2', 'NumPy', 'chainer-1')
    assert not (tmp_path / 'run').exists()


def test_a_fast_run_resumed_on_a_gpu_names_its_recorded_kernels(tmp_path, capsys, in_process):
    """Without --kernels, the refusal names the run's own kernels as its config.json has them,
    not a flag that was not given; nothing of the run changes."""
    run = tmp_path / 'run'
    m2.main(TINY + ['--epoch', '1', '--kernels', 'fast-1', '-o', str(run)])
    capsys.readouterr()
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    with pytest.raises(SystemExit) as exit:
        m2.main(['--resume-from', str(run), '--gpu', '0', '--epoch', '2'])
    assert_m2_error(one_line(capsys, 1, exit), '%s learns with --kernels fast-1' % run,
                    'NumPy', '--kernels chainer-1')
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_m1_plus_m2_learns_from_the_m1_codes(tmp_path, m1_run, capsys, in_process):
    out = tmp_path / 'm1m2'
    result = run_module('m2', *TINY + ['--epoch', 1, '--m1', m1_run, '-o', out,
                                       '--data-dir', data.SAMPLE_DIR])
    assert result.returncode == 0, result.stderr
    written = json.loads((out / 'config.json').read_text())
    assert written['model'] == 'M1+M2' and written['flags']['m1'] == str(m1_run)
    kept = written['derived']['m1_dims_kept']
    assert written['derived']['n_x'] == len(kept) and 0 < len(kept) <= 4
    assert arrays(out / 'checkpoint.npz')['model/qz_x/W'].shape == (16, len(kept))
    # beside the table, the run and its M1 without this machine's folders (test_config.py)
    m2_results.main([str(out), '--out', str(tmp_path / 'res')])
    copied = m2.read_config(str(tmp_path / 'res' / 'm1m2' / 'config.json'))['flags']
    assert copied['m1'] == m1_run.name and copied['data_dir'] is None
    m1_copy = run_config.read(str(tmp_path / 'res' / m1_run.name / 'config.json'))
    assert m1_copy['data']['data_dir'] is None and m1_copy['data']['n_train'] == 1000
    assert (tmp_path / 'res' / m1_run.name / 'log.csv').read_bytes() == (
        m1_run / 'log.csv').read_bytes()
    # the copies kept there make the same table again, without the runs' own folders
    m2_results.main([str(tmp_path / 'res' / 'm1m2'), '--out', str(tmp_path / 'remade')])
    for name in ('summary.json', 'table.md', 'm1m2/config.json', m1_run.name + '/config.json'):
        assert (tmp_path / 'remade' / name).read_bytes() == (tmp_path / 'res' / name).read_bytes()
    # two runs of one folder name cannot both be kept there
    shutil.copytree(str(out), str(tmp_path / 'again' / 'm1m2'))
    with pytest.raises(SystemExit) as exit:
        m2_results.main([str(out), str(tmp_path / 'again' / 'm1m2'), '--out',
                         str(tmp_path / 'res')])
    assert_m2_error(one_line(capsys, 1, exit), 'two runs of one folder name', prog='m2_results')
    # nor an M1+M2 run of the M1's folder name
    shutil.copytree(str(out), str(tmp_path / 'again' / m1_run.name))
    with pytest.raises(SystemExit) as exit:
        m2_results.main([str(out), str(tmp_path / 'again' / m1_run.name), '--out',
                         str(tmp_path / 'res')])
    assert_m2_error(one_line(capsys, 1, exit), 'two runs of one folder name', prog='m2_results')


def test_an_m1_plus_m2_run_goes_on_only_with_the_m1_it_began_with(tmp_path, m1_run, capsys,
                                                                   in_process):
    m1 = tmp_path / 'm1'
    shutil.copytree(str(m1_run), str(m1))
    out = tmp_path / 'm1m2'
    result = run_module('m2', *TINY + ['--epoch', 1, '--m1', m1, '-o', out])
    assert result.returncode == 0, result.stderr
    sha = json.loads((out / 'config.json').read_text())['derived']['m1_model_sha256']
    assert sha == checkpoint.model_sha256(str(m1), run_config.read(str(m1 / 'config.json')))
    # a config.json of before the digest: the M1 unchanged, the run goes on and records it
    written = json.loads((out / 'config.json').read_text())
    del written['derived']['m1_model_sha256']
    (out / 'config.json').write_text(json.dumps(written))
    result = run_module('m2', '--resume-from', out, '--epoch', 2)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / 'config.json').read_text())['derived']['m1_model_sha256'] == sha
    # the M1 trained on: the M1+M2 run neither goes on with it nor is put beside the table
    result = run_cli('--resume-from', m1, '--epoch', '2')
    assert result.returncode == 0, result.stderr
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.name != '.lock'}
    with pytest.raises(SystemExit) as exit:
        m2.main(['--resume-from', str(out), '--epoch', '3'])
    assert_m2_error(one_line(capsys, 1, exit), 'cannot resume', 'its M1 run %s has changed' % m1,
                    'm1_model_sha256 was %s' % sha)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != '.lock'} == before
    with pytest.raises(SystemExit) as exit:
        m2_results.main([str(out), '--out', str(tmp_path / 'res')])
    assert_m2_error(one_line(capsys, 1, exit), '%s learnt from %s as it was before' % (out, m1),
                    prog='m2_results')
    assert not (tmp_path / 'res').exists()


@pytest.mark.parametrize('flags, words', [
    (['--labels', '15'], ['--labels 15: must be a multiple of 10']),
    (['--labels', '60000'], ['--labels 60000', 'at most --n-train 50000']),
    (['--steps', '0'], ['--steps: must be a positive integer']),
    (['--labels', '100', '--steps', '200'], ['--steps 200: more steps than the 100']),
    (['--m1', REPO, '--grey'], ['--grey: M1+M2 learns from M1']),
    (['--m1', 'nothing'], ['--m1: nothing: no such directory']),
    (['--seed', '-1'], ['--seed: must be between 0 and']),
    (['--init', 'he'], ["--init: invalid choice: 'he'"]),
])
def test_bad_flags_are_one_line(capsys, in_process, flags, words):
    with pytest.raises(SystemExit) as exit:
        m2.parse_args(flags)
    assert_m2_error(one_line(capsys, 2, exit), *words)


def test_a_gpu_without_cupy_is_one_line_before_anything_is_written(tmp_path, capsys, in_process,
                                                                  monkeypatch):
    monkeypatch.setattr(chainer.backends.cuda, 'available', False)  # as where CuPy is not
    monkeypatch.setattr(gpu, 'cupy_installed', lambda: False)
    with pytest.raises(SystemExit) as exit:
        m2.main(TINY + ['--gpu', '0', '-o', str(tmp_path / 'run')])
    assert_m2_error(one_line(capsys, 1, exit), '--gpu 0 needs CuPy, which is not installed')
    assert not (tmp_path / 'run').exists()


@pytest.mark.gpu
def test_on_the_gpu_it_learns_as_on_the_cpu_and_goes_on_on_the_cpu(tmp_path, uninterrupted):
    """--gpu 0: the model and each step's images on the GPU, the draws of the split, the
    batches, the weights and the pixels NumPy's as on the CPU; CuPy draws the noise of z, so
    the losses agree with the CPU run's as two draws of that noise do (within 0.1 %: the
    CPU runs of seeds 3, 4 and 5 agree within 0.02 %). Its checkpoint goes on on the CPU."""
    out = tmp_path / 'run'
    result = run_module('m2', *TINY + ['--epoch', 2, '--gpu', 0, '-o', out])
    assert result.returncode == 0 and result.stderr == '', result.stderr
    written = json.loads((out / 'config.json').read_text())
    assert written['flags']['gpu'] == 0 and written['versions']['gpu']
    result = run_module('m2', '--resume-from', out, '--gpu', -1, '--epoch', 3)
    assert result.returncode == 0, result.stderr
    rows = [np.loadtxt(str(run / 'log.csv'), delimiter=',', skiprows=1)
            for run in (out, uninterrupted)]
    np.testing.assert_array_equal(rows[0][:, 0], [1, 2, 3])
    np.testing.assert_allclose(rows[0][:, 1:5], rows[1][:, 1:5], rtol=1e-3)


def test_a_folder_that_is_no_m1_run_is_one_line(tmp_path, capsys, in_process):
    with pytest.raises(SystemExit) as exit:
        m2.main(['--m1', str(tmp_path), '-o', str(tmp_path / 'run')])
    assert_m2_error(one_line(capsys, 1, exit), 'has no config.json')
    assert not (tmp_path / 'run').exists()


@pytest.mark.parametrize('spoil, flags, words', [
    (None, ['--epoch', '3'], ['--epoch 3: the run in', 'has finished 3 epochs']),
    (None, ['--labels', '200'], ['--labels 200: the run in', 'made with 100']),
    (None, ['--init', 'chainer'], ['--init chainer: the run in', 'made with kingma']),
    (None, ['--out', 'elsewhere'], ['--out elsewhere: a resumed run stays in its folder']),
    ('config', [], ['config.json: --labels 15: must be a multiple of 10']),
    ('derived', [], ['cannot resume', 'config.json: derived is invalid: [1]']),
    ('checkpoint', [], ['no checkpoint.npz there (no epoch of that run finished)']),
])
def test_a_resume_that_cannot_be_is_one_line(tmp_path, capsys, in_process, uninterrupted,
                                             spoil, flags, words):
    run = tmp_path / 'run'
    shutil.copytree(str(uninterrupted), str(run))
    if spoil == 'config':  # a config.json whose settings do not go together
        written = json.loads((run / 'config.json').read_text())
        written['flags']['labels'] = 15
        (run / 'config.json').write_text(json.dumps(written))
    if spoil == 'derived':  # what the run's data were, damaged
        written = json.loads((run / 'config.json').read_text())
        written['derived'] = [1]
        (run / 'config.json').write_text(json.dumps(written))
    if spoil == 'checkpoint':
        (run / 'checkpoint.npz').unlink()
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.name != '.lock'}
    with pytest.raises(SystemExit) as exit:
        m2.main(['--resume-from', str(run)] + flags)
    assert_m2_error(one_line(capsys, 1, exit), *words)
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.name != '.lock'} == before
    if spoil == 'derived':  # nor is it put beside the table
        with pytest.raises(SystemExit) as exit:
            m2_results.main([str(run), '--out', str(tmp_path / 'res')])
        assert_m2_error(one_line(capsys, 1, exit), 'derived is invalid', prog='m2_results')


def test_an_m1_that_saw_the_validation_images_or_did_not_finish_is_refused(tmp_path, m1_run):
    whole = tmp_path / 'whole'  # as if trained without --n-train: on all 4000 images
    shutil.copytree(str(m1_run), str(whole))
    written = json.loads((whole / 'config.json').read_text())
    written['data']['n_train'] = None
    (whole / 'config.json').write_text(json.dumps(written))
    unfinished = tmp_path / 'unfinished'
    shutil.copytree(str(m1_run), str(unfinished))
    (unfinished / 'mlp_4.model').unlink()
    for m1, words in ((whole, 'learnt from all sample training images; M1[+]M2 needs an M1 of '
                              'the first 1000 sample images alone .* --n-train 1000'),
                      (unfinished, 'mlp_4.model is missing: the run did not finish')):
        with pytest.raises(checkpoint.CheckpointError, match=words):
            m2_data.load('sample', None, 1000, str(m1))


# ---- the results ---------------------------------------------------------------------------

def test_the_summary_table_and_curves_come_from_the_logs(tmp_path, uninterrupted, capsys,
                                                        in_process):
    other = tmp_path / 'other'  # a second seed, "still going": two epochs logged
    os.makedirs(str(other))
    written = json.loads((uninterrupted / 'config.json').read_text())
    written['flags']['seed'] = 4
    (other / 'config.json').write_text(json.dumps(written))
    logged = runlog.parse(str(uninterrupted / 'log.csv'), m2.LOG_COLUMNS)[:2]
    valid = m2.LOG_COLUMNS.index('valid_error')
    logged[0] = logged[0][:valid] + (0.5,) + logged[0][valid + 1:]  # epoch 1: best validation
    (other / 'log.csv').write_bytes(runlog.text(logged, m2.LOG_COLUMNS))
    m2_results.main([str(uninterrupted), str(other), '--out', str(tmp_path / 'res')])
    summary = json.loads((tmp_path / 'res' / 'summary.json').read_text())
    rows = [r.split(',') for r in log_rows(uninterrupted)[1:]]
    how = ('sample, the first 1000 training images, H = 16, 5 steps an epoch, z of 4 '
           'dimensions')  # TINY's departures from Kingma's
    assert summary == [
        {'model': 'M2', 'n_labels': 100, 'seed': 3, 'dataset': 'sample', 'epochs': 3,
         'test_error': float(rows[-1][-1]),
         'best_valid_test_error': float(min(rows, key=lambda r: float(r[-2]))[-1]),
         'settings': how, 'headline': False},
        {'model': 'M2', 'n_labels': 100, 'seed': 4, 'dataset': 'sample', 'epochs': 2,
         'test_error': float(rows[1][-1]), 'best_valid_test_error': float(rows[0][-1]),
         'settings': how, 'headline': False}]
    table = (tmp_path / 'res' / 'table.md').read_text().splitlines()
    assert table[2].startswith('| M2 | 100 | %s | 3, 4 | 2-3 | ' % how)
    # the sample's test images: no Table 1 column beside them, and the caption says so
    assert 'Table 1' not in table[0] and table[2].count('|') == 8
    assert table[4].startswith('Test error % on the 1,000 test images of the bundled MNIST '
                               'sample, as mean ± std')
    assert table[5] == ('Runs on sample stand beside no Table 1 number: Table 1 was measured '
                        'on the 10,000 MNIST test images.')
    for figure in ('curves.png', 'curves_experiments.png'):  # TINY's runs: experiments
        assert (tmp_path / 'res' / figure).stat().st_size > 0
    for run in (uninterrupted, other):  # each run beside the table, as results/ keeps runs
        kept = tmp_path / 'res' / run.name
        assert (kept / 'log.csv').read_bytes() == (run / 'log.csv').read_bytes()
        assert json.loads((kept / 'config.json').read_text())['flags']['seed'] == json.loads(
            (run / 'config.json').read_text())['flags']['seed']
    assert capsys.readouterr().out.splitlines()[0] == table[0]
    # --epoch: the seeds side by side at one epoch, the kept runs whole
    m2_results.main([str(uninterrupted), str(other), '--epoch', '2', '--out',
                     str(tmp_path / 'at2')])
    summary = json.loads((tmp_path / 'at2' / 'summary.json').read_text())
    assert [(r['epochs'], r['test_error']) for r in summary] == [(2, float(rows[1][-1]))] * 2
    table = (tmp_path / 'at2' / 'table.md').read_text().splitlines()
    assert table[2].startswith('| M2 | 100 | %s | 3, 4 | 2 | %.2f ± 0.00 | ' % (
        how, float(rows[1][-1])))
    assert (tmp_path / 'at2' / uninterrupted.name / 'log.csv').read_bytes() == (
        uninterrupted / 'log.csv').read_bytes()
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit:
        m2_results.main([str(tmp_path), '--out', str(tmp_path / 'res')])
    assert_m2_error(one_line(capsys, 1, exit), 'not an M2 run folder', prog='m2_results')


def test_the_results_are_never_written_into_a_run_folder_they_read(tmp_path, m1_run, capsys,
                                                                  in_process):
    """--out the folder that holds the runs wrote each one's portable copy over its own
    config.json: its M1's path lost, the run could not go on."""
    runs = tmp_path / 'runs'
    shutil.copytree(str(m1_run), str(runs / 'm1'))
    result = run_module('m2', *TINY + ['--epoch', 1, '--m1', runs / 'm1', '-o', runs / 'm1m2',
                                       '--data-dir', data.SAMPLE_DIR])
    assert result.returncode == 0, result.stderr
    os.symlink(str(runs), str(tmp_path / 'link'))

    def contents():
        return {str(p): p.read_bytes() for p in runs.rglob('*') if p.is_file()}

    before = contents()
    for out in (runs, tmp_path / 'link', runs / 'm1m2', runs / 'm1m2' / 'res', runs / 'm1'):
        with pytest.raises(SystemExit) as exit:
            m2_results.main([str(runs / 'm1m2'), '--out', str(out)])
        assert_m2_error(one_line(capsys, 1, exit), '--out %s: ' % out, 'which it reads',
                        prog='m2_results')
        assert contents() == before  # nothing written, not even a lock
    result = run_module('m2', '--resume-from', runs / 'm1m2', '--epoch', 2)
    assert result.returncode == 0, result.stderr
    # a kept copy (results/m2/NAME) is written again as itself, beside the others
    m2_results.main([str(runs / 'm1m2'), '--out', str(tmp_path / 'res')])
    kept = (tmp_path / 'res' / 'm1m2' / 'config.json').read_bytes()
    m2_results.main([str(tmp_path / 'res' / 'm1m2'), '--out', str(tmp_path / 'res')])
    assert (tmp_path / 'res' / 'm1m2' / 'config.json').read_bytes() == kept


def test_a_run_given_twice_is_one_line(tmp_path, uninterrupted, capsys, in_process):
    """Not two seeds of one row, their spread a "± 0.00"."""
    os.symlink(str(uninterrupted), str(tmp_path / 'link'))
    for again in (uninterrupted, tmp_path / 'link', str(uninterrupted) + os.sep):
        with pytest.raises(SystemExit) as exit:
            m2_results.main([str(uninterrupted), str(again), '--out', str(tmp_path / 'res')])
        assert_m2_error(one_line(capsys, 1, exit), '%s and %s: the same run given twice'
                        % (uninterrupted, again), prog='m2_results')
    assert not (tmp_path / 'res').exists()


def test_each_run_has_its_own_colour_in_the_curves(tmp_path, monkeypatch):
    drawn = []  # the figure, not the PNG: its lines' colours
    monkeypatch.setattr(m2_results, 'save_figure', lambda fig, path, **kw: drawn.append(fig))
    for k in (3, 12, 25):  # past matplotlib's ten, which came round again at the 11th
        runs = [(dict(model='M1+M2', n_labels=100, seed=s, dataset='mnist', settings="Kingma's"),
                 [5.0, 4.0], [5.5, 4.5]) for s in range(k)]
        m2_results.curves(runs, str(tmp_path / 'curves.png'))
        fig = drawn.pop()
        lines = fig.axes[0].get_lines()
        m2_results.plt.close(fig)
        test = [matplotlib.colors.to_rgba(line.get_color()) for line in lines
                if line.get_linestyle() == '-']
        valid = [matplotlib.colors.to_rgba(line.get_color()) for line in lines
                 if line.get_linestyle() == '--']
        assert len(set(test)) == k and test == valid  # a run's two lines share its colour


def test_the_curves_draw_table_1_beside_runs_on_mnist_alone(tmp_path, monkeypatch):
    drawn = []
    monkeypatch.setattr(m2_results, 'save_figure', lambda fig, path, **kw: drawn.append(fig))
    for dataset, table_1 in (('mnist', [3.33]), ('sample', [])):
        run = dict(model='M1+M2', n_labels=100, seed=0, dataset=dataset, settings="Kingma's")
        m2_results.curves([(run, [5.0, 4.0], [5.5, 4.5])], str(tmp_path / 'curves.png'))
        ax = drawn.pop().axes[0]
        assert [line.get_ydata()[0] for line in ax.get_lines()
                if line.get_linestyle() == ':'] == table_1
        assert ax.get_title() == 'M1+M2: test error (solid), validation (dashed)' + (
            '; Table 1 (dotted)' if table_1 else '')
        m2_results.plt.close(ax.figure)


def test_the_headline_figure_averages_the_seeds_of_kingmas_settings(tmp_path, monkeypatch):
    """curves.png: the runs of Kingma's M2 settings, a setting's seeds as one curve (their
    mean), Table 1's error labelled; the other runs go to curves_experiments.png."""
    drawn = []
    monkeypatch.setattr(m2_results, 'save_figure', lambda fig, path, **kw: drawn.append(fig))
    run = dict(model='M1+M2', n_labels=100, dataset='mnist', settings='M1 of 200 epochs',
               headline=True)
    runs = [(dict(run, seed=s), np.array([6.0, 4.0 + s]), np.array([7.0, 5.0 + s, 1.0][:3 - s]))
            for s in (0, 1)] + [(dict(run, seed=0, headline=False, settings='H = 500'),
                                 np.array([9.0]), np.array([9.5]))]
    curves = m2_results.headline(runs)
    assert len(curves) == 1 and curves[0][0]['seeds'] == [0, 1]
    assert curves[0][2].tolist() == [7.0, 5.5]  # the epochs both seeds reached, their mean
    m2_results.curves(curves, str(tmp_path / 'curves.png'))
    ax = drawn.pop().axes[0]
    assert [line.get_label() for line in ax.get_lines() if line.get_linestyle() == '-'] == [
        'N = 100, mean of seeds 0, 1 (M1 of 200 epochs)']
    assert [t.get_text() for t in ax.texts] == ['Table 1, N = 100: 3.33 %']
    m2_results.plt.close(ax.figure)


def test_runs_of_other_settings_are_apart_in_the_table():
    flags = dict(labels=100, m1='M1', n_hidden=300, init='kingma', grey=False, steps=None,
                 dimz=50, dataset='mnist', n_train=50000, reshuffle=False)
    assert m2_results.settings(flags) == m2_results.settings(dict(flags, steps=100)) == "Kingma's"
    assert m2_results.settings(dict(flags, labels=600)) == 'H = 300'  # Kingma's is 500 there
    assert m2_results.settings(dict(flags, dataset='fashion-mnist', n_train=40000)) == \
        'fashion-mnist, the first 40000 training images'
    other = dict(flags, n_hidden=500, init='chainer')
    assert m2_results.settings(other) == "H = 500, chainer's first weights"
    assert m2_results.settings(dict(flags, reshuffle=True)) == 'batches drawn anew each epoch'
    kingmas_m1 = {'model': {'n_in': 784, 'n_latent': 50, 'n_h': 500, 'activation': 'softplus'},
                  'data': {'binarize': True},
                  'training': {'epoch': 200, 'lr': 3e-4, 'weight_decay': 2e-5, 'grad_clip': None}}
    assert m2_results.settings(flags, kingmas_m1) == 'M1 of 200 epochs'  # always named
    grey_m1 = dict(kingmas_m1, model=dict(kingmas_m1['model'], n_h=600), data={'binarize': False})
    assert m2_results.settings(flags, grey_m1) == \
        'M1 of H = 600, M1 on grey levels, M1 of 200 epochs'
    assert m2_results.settings(flags, dict(grey_m1, training=dict(
        kingmas_m1['training'], epoch=365))) == \
        'M1 of H = 600, M1 on grey levels, M1 of 365 epochs'  # another row than at 200
    # the M1's optimiser: train_vae.py's defaults (chainer's lr, no decay), jonemeth's clipping
    legacy_adam = dict(kingmas_m1, training=dict(epoch=365, lr=0.001, weight_decay=0.0,
                                                 grad_clip=None))
    assert m2_results.settings(flags, legacy_adam) == \
        'M1 at lr 0.001, M1 with weight decay 0, M1 of 365 epochs'
    clipped = dict(kingmas_m1, training=dict(kingmas_m1['training'], grad_clip=5.0))
    assert m2_results.settings(flags, clipped) == 'M1 clipped at norm 5, M1 of 200 epochs'
    assert m2_results.settings(other, dict(kingmas_m1, model=dict(
        kingmas_m1['model'], n_latent=20, activation='relu'))) == \
        "H = 500, chainer's first weights, M1 of z = 20, M1 of relu, M1 of 200 epochs"
    run = dict(model='M1+M2', n_labels=100, dataset='mnist', epochs=500, test_error=5.0,
               best_valid_test_error=5.0)
    rows = m2_results.table([dict(run, seed=0, settings="Kingma's"),
                             dict(run, seed=1, settings=m2_results.settings(other)),
                             dict(run, seed=2, settings="Kingma's", test_error=4.0)])
    rows = rows.splitlines()
    assert rows[2] == "| M1+M2 | 100 | Kingma's | 0, 2 | 500 | 4.50 ± 0.50 | 5.00 ± 0.00 | 3.33 |"
    assert rows[3].startswith("| M1+M2 | 100 | H = 500, chainer's first weights | 1 | 500 | 5.00 |")
    assert rows[5].startswith('Test error % on the 10,000 MNIST test images, as mean ± std')
    assert rows[5].endswith('Table 1 gives 11.97 ± 1.71 (M2) and 3.33 ± 0.14 (M1+M2) at N = 100.')
    # beside a run on other data: its row has no Table 1 number, and the caption says why
    fashion = dict(run, seed=3, dataset='fashion-mnist', settings=m2_results.settings(
        dict(flags, dataset='fashion-mnist')))
    rows = m2_results.table([dict(run, seed=0, settings="Kingma's"), fashion]).splitlines()
    assert rows[2].endswith(' | 3.33 |') and rows[3].endswith(' | 5.00 | 5.00 |  |')
    assert rows[5].startswith('Test error % on the 10,000 MNIST test images (rows on mnist), '
                              'the 10,000 Fashion-MNIST test images (rows on fashion-mnist), ')
    assert rows[6] == ('Runs on fashion-mnist stand beside no Table 1 number: Table 1 was '
                       'measured on the 10,000 MNIST test images.')
