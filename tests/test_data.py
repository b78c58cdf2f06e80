"""MNIST IDX reading: the bundled sample, the full files, and malformed input."""
import gzip
import json
import os

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chainer_vae import data, download

from helpers import SHARED_MNIST, needs_shared_mnist, run_cli

def write_mnist(directory, n_train=5, n_test=3, **override):
    """Four small, valid IDX .gz files; ``override`` replaces a file's raw bytes."""
    rng = np.random.RandomState(0)
    arrays = {'train_images': rng.randint(0, 256, (n_train, 28, 28)),
              'train_labels': rng.randint(0, 10, n_train),
              'test_images': rng.randint(0, 256, (n_test, 28, 28)),
              'test_labels': rng.randint(0, 10, n_test)}
    for key, name in data.FILES.items():
        raw = override.get(key, data.encode_idx(arrays[key]))
        with gzip.open(os.path.join(directory, name), 'wb') as f:
            f.write(raw)
    return arrays


def test_sample_is_real_mnist_in_order():
    x_train, x_test, y_train, y_test = data.load('sample')
    assert x_train.shape == (4000, 784) and x_test.shape == (1000, 784)
    assert x_train.dtype == np.float32 and 0 == x_train.min() and x_train.max() == 1
    assert sorted(set(y_train)) == list(range(10))
    # the first test labels of MNIST, as every MNIST user knows them
    assert list(y_test[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


@needs_shared_mnist
def test_full_mnist_loads_and_sample_is_its_prefix():
    for name, md5 in download.MD5.items():  # the published checksums of the raw files
        assert download.verified(os.path.join(SHARED_MNIST, name), md5)
    full = data.load('mnist', SHARED_MNIST)
    assert [a.shape[0] for a in full] == [60000, 10000, 60000, 10000]
    sample = data.load('sample')
    for f, s in zip(full, sample):
        np.testing.assert_array_equal(f[:len(s)], s)


def test_roundtrip_of_generated_files(tmp_path):
    arrays = write_mnist(str(tmp_path))
    x_train, x_test, y_train, y_test = data.load('mnist', str(tmp_path))
    np.testing.assert_array_equal(x_train * 255, arrays['train_images'].reshape(5, 784))
    np.testing.assert_array_equal(y_test, arrays['test_labels'])


@pytest.mark.parametrize('key, raw, message', [
    ('train_images', b'\x00\x00\x08', 'too short'),
    ('train_images', b'\x00\x00\x0d\x03' + bytes(12), 'bad IDX magic'),
    ('train_labels', b'\x00\x00\x08\x01\x00\x00', 'truncated IDX header'),
    ('train_labels', data.encode_idx(np.zeros(5))[:-1], 'found 4'),
    ('test_labels', data.encode_idx(np.zeros(4)), 'expected 3 labels'),
    ('test_labels', data.encode_idx(np.full(3, 10)), 'digits 0-9'),
    ('test_images', data.encode_idx(np.zeros((3, 28, 27))), 'N x 28 x 28'),
])
def test_malformed_files_give_one_clear_error(tmp_path, key, raw, message):
    write_mnist(str(tmp_path), **{key: raw})
    with pytest.raises(data.DataError, match=message):
        data.load('mnist', str(tmp_path))


def test_not_gzip_and_missing_files(tmp_path):
    write_mnist(str(tmp_path))
    path = tmp_path / data.FILES['test_labels']
    path.write_bytes(b'not gzip at all')
    with pytest.raises(data.DataError, match='not a readable gzip file'):
        data.load('mnist', str(tmp_path))
    path.unlink()
    with pytest.raises(data.DataError, match='lacks the MNIST file'):
        data.load('mnist', str(tmp_path))
    with pytest.raises(download.DownloadError, match='127.0.0.1:9/: Connection refused'):
        data.load('mnist', None)  # no --data-dir: the (empty) cache, then the mirrors


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=64) | st.builds(
    lambda shape, cut, junk: data.encode_idx(np.zeros(shape))[:cut] + junk,
    st.lists(st.integers(0, 4), min_size=1, max_size=4), st.integers(0, 40),
    st.binary(max_size=4)))
def test_parser_fuzz_raises_only_data_error(raw):
    try:
        array = data.parse_idx(raw)
    except data.DataError:
        return
    assert array.dtype == np.uint8 and array.size == len(raw) - 4 - 4 * array.ndim


def test_binarized_rows_are_fresh_bernoulli_draws_of_the_grey_levels():
    x = np.tile(np.linspace(0, 1, 11, dtype=np.float32), (2000, 1))
    binarized = data.Binarized(x)
    assert len(binarized) == 2000
    np.random.seed(0)
    first = binarized[np.arange(2000)]
    second = binarized[np.arange(2000)]
    assert first.dtype == np.float32 and set(np.unique(first)) <= {0.0, 1.0}
    assert not np.array_equal(first, second)  # drawn again at every batch
    np.testing.assert_allclose(first.mean(axis=0), x[0], atol=0.04)  # E[x_bin] = grey level
    assert (first[:, 0] == 0).all() and (first[:, -1] == 1).all()
    np.random.seed(0)
    np.testing.assert_array_equal(binarized[np.arange(2000)], first)  # --seed repeats them


def test_the_binarized_test_set_is_one_fixed_draw():
    _, x_test, _, _ = data.load('sample')
    once, again = data.binarize_test(x_test), data.binarize_test(x_test)
    np.testing.assert_array_equal(once, again)
    assert set(np.unique(once)) == {0.0, 1.0}
    assert abs(once.mean() - x_test.mean()) < 0.01


def test_a_binarized_run_says_so_and_resumes(tmp_path):
    run = tmp_path / 'run'
    result = run_cli('--dataset', 'sample', '--test', '--binarize', '-e', '1', '--seed', '0',
                     '-o', run)
    assert result.returncode == 0, result.stderr
    with open(str(run / 'config.json')) as f:
        assert json.load(f)['data']['binarize'] is True
    grey = run_cli('--dataset', 'sample', '--test', '-e', '1', '--seed', '0', '-o',
                   tmp_path / 'grey')
    assert grey.stdout != result.stdout  # other data, other losses
    resumed = run_cli('--resume-from', run, '--epoch', '2', '--binarize')  # the same setting
    assert resumed.returncode == 0, resumed.stderr
    refused = run_cli('--resume-from', tmp_path / 'grey', '--epoch', '2', '--binarize')
    assert refused.returncode == 1
    assert 'the run in %s was made with False' % (tmp_path / 'grey') in refused.stderr
