"""M1: balanced labelled draws, and the command on a tiny run."""
import json
import os

import numpy as np
import pytest

from chainer_vae import data, m1

from helpers import run_module, trained_run


def test_a_draw_is_balanced_and_differs_from_draw_to_draw():
    _, _, y_train, _ = data.load('sample')
    rng = np.random.RandomState(0)
    first, second = data.balanced_draw(y_train, 100, rng), data.balanced_draw(y_train, 100, rng)
    for picked in (first, second):
        assert len(set(picked)) == 100
        assert np.bincount(y_train[picked], minlength=10).tolist() == [10] * 10
    assert set(first) != set(second)


def test_the_command_writes_the_table_of_the_runs_test_images(tmp_path):
    pytest.importorskip('sklearn', reason="scikit-learn is the '.[eval]' extra (CI has it)")
    run = trained_run(tmp_path / 'run', '-e', '2', '-z', '4', '--n-hidden', '64')
    done = run_module('m1', run, '--labels', '100', '600', '--draws', '3')
    assert done.returncode == 0, done.stderr
    errors = json.loads((run / 'm1.json').read_text())['test_error_percent']
    assert sorted(errors) == ['100', '600']
    for n in ('100', '600'):
        assert len(errors[n]['latent']) == 3 and len(set(errors[n]['latent'])) > 1
        assert all(0 <= e < 90 for e in errors[n]['latent'])  # far better than chance
    # more labels, a better classifier (on average over the draws)
    assert np.mean(errors['600']['pixels']) < np.mean(errors['100']['pixels'])
    rows = (run / 'm1.md').read_text().splitlines()
    # the sample's 1,000 test images: not beside Table 1 (MNIST's 10,000), and it says so
    assert rows[0] == '| N labels | this run: SVM on z_mu | SVM on pixels |'
    assert rows[2].startswith('| 100 | ') and rows[2].count('|') == 4
    assert rows[5] == ('Test error % on the 1,000 test images of the bundled MNIST sample: mean '
                       '± std over 3 balanced draws of the labelled images.')
    assert rows[6] == ('No columns of Kingma et al. (2014), Table 1: it was measured on the '
                       '10,000 MNIST test images.')
    assert done.stdout.splitlines()[:2] == rows[:2]


def test_a_run_on_mnist_stands_beside_table_1():
    found = {'latent': [5.0, 7.0], 'pixels': [20.0, 20.0]}
    rows = m1.markdown({100: found}, 2, {'dataset': 'mnist', 'n_train': 50000},
                       10000).splitlines()
    assert rows[2] == '| 100 | 6.00 ± 1.00 | 20.00 ± 0.00 | 25.81 | 11.82 | 11.97 | 3.33 |'
    assert rows[4] == ('Test error % on the 10,000 MNIST test images: mean ± std over 2 balanced '
                       'draws of the labelled images (the VAE learnt on the first 50,000 '
                       'training images); the last four columns are Kingma et al. '
                       '(2014), Table 1.')
    assert len(rows) == 5


def test_bad_labels_are_one_line(tmp_path):
    done = run_module('m1', tmp_path, '--labels', '15')
    assert done.returncode == 2 and done.stderr.startswith('m1: error: ')
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_run_of_resized_images_is_reloaded_as_it_was_trained(tmp_path):
    """m1 reads a run's data as the run did: a folder of images resized by --image-size."""
    pytest.importorskip('sklearn', reason="scikit-learn is the '.[eval]' extra (CI has it)")
    from PIL import Image
    x_train, _, y_train, _ = data.load('sample')
    for digit in range(10):  # a folder per class, 30 digits each, 28x28 PNGs
        os.makedirs(str(tmp_path / 'digits' / str(digit)))
        for i in np.flatnonzero(y_train == digit)[:30]:
            Image.fromarray((x_train[i].reshape(28, 28) * 255).astype(np.uint8)).save(
                str(tmp_path / 'digits' / str(digit) / ('%d.png' % i)))
    run = trained_run(tmp_path / 'run', '--dataset', tmp_path / 'digits', '--image-size', '14x14',
                      '-e', '1', '-z', '4', '--n-hidden', '32')
    assert json.loads((run / 'config.json').read_text())['model']['n_in'] == 14 * 14
    done = run_module('m1', run, '--labels', '100', '--draws', '1')
    assert done.returncode == 0, done.stderr
    assert '100' in json.loads((run / 'm1.json').read_text())['test_error_percent']
