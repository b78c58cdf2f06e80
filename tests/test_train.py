"""The original learning loop: printed lines, log.csv, graph.dot, golden losses, NaN."""
import collections
import csv
import os
import re

import numpy as np
import pytest

import chainer.functions as F
from chainer import optimizers

from chainer_vae import checkpoint, data, files, net, runlog, cpu_kernels, train

from helpers import LEGACY, needs_legacy

GOLDEN = os.path.join(os.path.dirname(__file__), 'golden_losses.csv')
FLOAT = r'-?\d+(\.\d+)?(e[-+]\d+)?'


def run_loop(out, n_epoch=3, seed=0, n_train=500, n_test=200, xp=np):
    """The legacy settings (784-500-20, softplus, batch 100) on a fixed slice of the
    sample, as train_vae.py runs them (chainer_vae.cpu_kernels on)."""
    x_train, x_test, _, _ = data.load('sample')
    np.random.seed(seed)
    model = net.VAE(784, 20, 500, act_func=F.softplus)
    if xp is not np:
        model.to_gpu()
        xp.random.seed(seed)
    optimizer = cpu_kernels.Adam()
    optimizer.setup(model)
    cpu_kernels.configure()
    try:
        folder = checkpoint.RunFolder(str(out), files.legacy_names(20)).open()
        rows = train.train(model, optimizer, x_train[:n_train], x_test[:n_test], folder,
                           n_epoch=n_epoch, xp=xp)
    finally:
        cpu_kernels.configure(debug=True)
    return model, rows


@pytest.fixture(scope='module')
def golden_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('golden')
    model, rows = run_loop(out)
    return out, model, rows


def test_golden_per_epoch_losses(golden_run):
    _, _, rows = golden_run
    losses = np.array([row[1:5] for row in rows])
    if os.environ.get('CHAINER_VAE_WRITE_GOLDEN'):
        np.savetxt(GOLDEN, losses, fmt='%.6f', delimiter=',',
                   header='train_loss,train_rec_loss,test_loss,test_rec_loss; '
                          'made by CHAINER_VAE_WRITE_GOLDEN=1 pytest tests/test_train.py')
        pytest.skip('golden losses written')
    golden = np.loadtxt(GOLDEN, delimiter=',')
    # float32 noise across NumPy/BLAS builds is ~1e-6 relative; a real change is far larger
    np.testing.assert_allclose(losses, golden, rtol=2e-5)


def test_log_csv_holds_the_printed_numbers(golden_run, capsys):
    out, _, rows = golden_run
    with open(os.path.join(str(out), 'log.csv')) as f:
        logged = list(csv.reader(f))
    assert tuple(logged[0]) == runlog.COLUMNS
    assert [int(r[0]) for r in logged[1:]] == [1, 2, 3]
    np.testing.assert_array_equal(np.array(logged[1:], float)[:, :5],
                                  np.array([r[:5] for r in rows], float))
    times = [float(r[5]) for r in logged[1:]]
    assert 0 < times[0] < times[1] < times[2]


def test_checkpoints_are_written(golden_run):
    out, model, _ = golden_run
    model_path, state_path = files.legacy_paths(str(out), 20)
    assert os.path.basename(model_path) == 'mlp_20.model'
    restored = net.VAE(784, 20, 500, act_func=F.softplus)
    checkpoint.load_npz(model_path, restored)
    np.testing.assert_array_equal(restored.ld3.W.array, model.ld3.W.array)
    assert os.path.isfile(state_path) and not os.path.exists(model_path + '.tmp')


def test_printed_lines_are_the_legacy_lines(tmp_path, capsys):
    run_loop(tmp_path, n_epoch=2, n_train=200, n_test=100)
    lines = capsys.readouterr().out.splitlines()
    patterns = ['epoch 1', 'graph generated',
                'train mean loss=F, mean reconstruction loss=F',
                'test  mean loss=F, mean reconstruction loss=F',
                'epoch 2',
                'train mean loss=F, mean reconstruction loss=F',
                'test  mean loss=F, mean reconstruction loss=F']
    assert len(lines) == len(patterns)
    for line, pattern in zip(lines, patterns):
        assert re.fullmatch(re.escape(pattern).replace('F', FLOAT), line), line


def graph_structure(path):
    """Multisets of node labels and of (label -> label) edges; the two loss names'
    space/underscore spelling ignored (the slides say reconstruction_error)."""
    text = open(path).read()
    labels = dict(re.findall(r'(\d+) \[label="([^"]*)"', text))
    for node, label in labels.items():
        for name in ('reconstruction error', 'latent loss'):
            label = label.replace(name.replace(' ', '_'), name)
        labels[node] = label
    edges = re.findall(r'(\d+) -> (\d+)', text)
    return (collections.Counter(labels.values()),
            collections.Counter((labels[a], labels[b]) for a, b in edges))


@needs_legacy
def test_graph_dot_has_the_legacy_structure(golden_run):
    out, _, _ = golden_run
    nodes, edges = graph_structure(os.path.join(str(out), 'graph.dot'))
    legacy_nodes, legacy_edges = graph_structure(os.path.join(LEGACY, 'graph.dot'))
    assert nodes == legacy_nodes
    assert edges == legacy_edges
    assert sum(legacy_edges.values()) == 76  # the parse found every edge of the legacy graph


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    x = data.load('sample')[0][:200]
    model = net.VAE(784, 2, 16)
    model.le1.W.array[0, 0] = np.nan
    optimizer = optimizers.Adam()
    optimizer.setup(model)
    with pytest.raises(train.TrainingError, match='loss became nan at epoch 1, training batch 0'):
        folder = checkpoint.RunFolder(str(tmp_path), files.legacy_names(2)).open()
        train.train(model, optimizer, x, x, folder, n_epoch=1)
    assert not os.path.exists(os.path.join(str(tmp_path), 'mlp_2.model'))
