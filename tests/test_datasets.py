"""Other data: Fashion-MNIST and KMNIST through the verified loader (a loopback mirror of
small generated files under the real names, the checksum table patched here only), and a
person's own images (a folder of PNGs, an .npz)."""
import gzip
import hashlib
import json
import os

import numpy as np
import pytest
from PIL import Image

from chainer_vae import data, download, images, visualize

from helpers import run_cli
from test_download import serving


@pytest.fixture
def mirror():
    """A loopback mirror of four small generated IDX .gz files: (base URL, the files)."""
    rng = np.random.RandomState(1)
    shapes = {'train-images': (6, 28, 28), 'train-labels': (6,), 't10k-images': (10, 28, 28),
              't10k-labels': (10,)}
    files = {}
    for name in download.MD5:
        shape = shapes[name.split('-idx')[0]]
        values = np.arange(10)[:shape[0]] if len(shape) == 1 else rng.randint(0, 256, shape)
        files[name] = gzip.compress(data.encode_idx(values))
    with serving(files) as (server, base):
        yield server, base, files


def published(monkeypatch, dataset, files):
    """The dataset's checksum table, in this test only: the md5 of the generated .gz files."""
    md5 = {name: hashlib.md5(body).hexdigest() for name, body in files.items()}
    sources = dict(download.SOURCES)
    sources[dataset] = sources[dataset]._replace(md5=md5)
    monkeypatch.setattr(download, 'SOURCES', sources)


@pytest.mark.parametrize('dataset', ['fashion-mnist', 'kmnist'])
def test_download_verify_cache_and_the_next_mirror(dataset, mirror, monkeypatch):
    server, base, files = mirror
    published(monkeypatch, dataset, files)
    monkeypatch.setenv(download.mirrors_variable(dataset), base + 'corrupt/,' + base + 'ok/')
    loaded = data.load_set(dataset)
    assert [h.split('/')[1] for h in server.hits] == ['corrupt', 'ok'] * 4
    cache = download.cache_dir(dataset)
    assert cache.endswith(os.path.join('chainer_vae', dataset))
    assert sorted(os.listdir(cache)) == sorted(files)  # no .part file left
    for name, body in files.items():
        with open(os.path.join(cache, name), 'rb') as f:
            assert f.read() == body
    assert loaded.classes == data.CLASSES[dataset] and loaded.shape == (28, 28)
    assert loaded.x_test.shape == (10, 784) and loaded.y_test.tolist() == list(range(10))
    del server.hits[:]
    data.load_set(dataset)
    assert server.hits == []  # the cache answers


@pytest.mark.parametrize('dataset', ['fashion-mnist', 'kmnist'])
def test_only_the_published_gz_file_is_accepted(dataset, mirror, monkeypatch):
    """Only the .gz files' md5 is published: a re-gzip of the same content is refused too."""
    server, base, files = mirror
    published(monkeypatch, dataset, files)
    monkeypatch.setenv(download.mirrors_variable(dataset), base + 'regzip/')
    with pytest.raises(download.DownloadError) as caught:
        data.load_set(dataset)
    title = download.SOURCES[dataset].title
    assert str(caught.value).startswith('could not download %s ' % title)
    assert 'regzip/: checksum mismatch' in str(caught.value)
    assert not [n for n in os.listdir(download.cache_dir(dataset)) if n.endswith('.part')]


def test_the_real_checksum_tables_are_the_published_ones():
    assert download.SOURCES['fashion-mnist'].md5['train-images-idx3-ubyte.gz'] == \
        '8d4fb7e6c68d591d4c3dfef9ec88bf0d'
    assert download.SOURCES['kmnist'].md5['t10k-labels-idx1-ubyte.gz'] == \
        '7320c461ea6c1c855c0b718fb2a4b134'
    assert download.SOURCES['fashion-mnist'].gz and not download.SOURCES['mnist'].gz


def png_folder(root, sizes=((20, 16),), classes=('cat', 'dog'), per_class=12):
    """Generated greyscale PNGs, one subfolder per class, a class a brightness."""
    rng = np.random.RandomState(0)
    for c, name in enumerate(classes):
        os.makedirs(os.path.join(root, name))
        for i in range(per_class):
            h, w = sizes[i % len(sizes)]
            pixels = np.clip(rng.normal(60 + 120 * c, 30, (h, w)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(os.path.join(root, name, '%02d.png' % i))
    return root


def test_a_folder_of_pngs_trains_and_draws_its_pictures(tmp_path):
    folder = png_folder(str(tmp_path / 'pets'))
    run = tmp_path / 'run'
    result = run_cli('--dataset', folder, '-e', '1', '-z', '2', '--n-hidden', '16', '--seed', '0',
                     '-o', run)
    assert result.returncode == 0, result.stderr
    with open(str(run / 'config.json')) as f:
        config = json.load(f)
    assert config['model']['n_in'] == 20 * 16 and config['data']['dataset'] == folder
    visualize.main([str(run), '--no-kl', '--start', '1', '--end', '0'])
    for name in ('reconstructions.png', 'samples.png', 'latent_scatter.png', 'mapping.png',
                 'vae_0to1.gif', 'vae_1to0_dim2.gif', 'vae_all_1to1.gif'):
        assert (run / name).exists(), name
    # the manifold: 25 x 25 images of 20 x 16 pixels, drawn at their own size
    _, model = visualize.checkpoint.load_run(str(run))
    assert visualize.manifold_canvas(model, (20, 16)).shape == (25 * 20, 25 * 16)


def test_the_split_is_every_tenth_image_and_the_labels_are_the_subfolders(tmp_path):
    folder = png_folder(str(tmp_path / 'pets'))  # 24 images: cat/00..11, dog/00..11
    x_train, x_test, y_train, y_test, classes = images.load(folder)
    assert classes == ('cat', 'dog')
    assert len(x_test) == 2 and y_test.tolist() == [0, 1]  # cat/09 and dog/07 (19th)
    assert len(x_train) == 22 and x_train.shape[1:] == (20, 16)
    expected = np.asarray(Image.open(os.path.join(folder, 'cat', '09.png')), np.float32) / 255
    np.testing.assert_array_equal(x_test[0], expected)


def test_a_labels_file_and_an_npz(tmp_path):
    folder = tmp_path / 'flat'
    os.makedirs(str(folder))
    for i in range(10):
        Image.fromarray(np.full((8, 8), 25 * i, np.uint8)).save(str(folder / ('%d.jpg' % i)))
    (folder / 'labels.csv').write_text(''.join('%d.jpg,%s\n' % (i, 'odd' if i % 2 else 'even')
                                               for i in range(10)))
    _, x_test, _, y_test, classes = images.load(str(folder))
    assert classes == ('even', 'odd') and y_test.tolist() == [1]  # 9.jpg
    npz = str(tmp_path / 'mine.npz')
    np.savez(npz, x_train=np.zeros((5, 4, 6), np.uint8), x_test=np.full((2, 4, 6), 255, np.uint8),
             y_test=np.array([0, 2]))
    loaded = data.load_set(npz)
    assert loaded.shape == (4, 6) and loaded.x_train.shape == (5, 24)
    assert (loaded.x_test == 1).all() and loaded.classes == ('0', '1', '2')


def corrupt_image(folder):
    with open(os.path.join(folder, 'dog', '03.png'), 'wb') as f:
        f.write(b'not a png at all')


@pytest.mark.parametrize('case, words', [
    ('corrupt image', ['03.png: not a readable image']),
    ('mixed sizes', ['images of 2 sizes', '--image-size HxW']),
    ('no images', ['no PNG or JPEG images']),
    ('no such path', ['not one of mnist', 'nor a folder of images']),
    ('bad npz', ['x_test must be an N x H x W array']),
    ('bad image size', ['--image-size', 'expected HxW']),
])
def test_bad_own_data_is_one_line(tmp_path, case, words):
    folder = str(tmp_path / 'data')
    args = []
    if case == 'corrupt image':
        corrupt_image(png_folder(folder))
    elif case == 'mixed sizes':
        png_folder(folder, sizes=((20, 16), (28, 28)))
    elif case == 'no images':
        os.makedirs(folder)
    elif case == 'no such path':
        folder = str(tmp_path / 'nowhere')
    elif case == 'bad npz':
        folder = str(tmp_path / 'bad.npz')
        np.savez(folder, x_train=np.zeros((3, 4, 4), np.uint8))
    elif case == 'bad image size':
        png_folder(folder)
        args = ['--image-size', '0x3']
    result = run_cli('--dataset', folder, '-e', '1', '-o', tmp_path / 'run', *args)
    assert result.returncode != 0 and 'Traceback' not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith('train_vae.py: error: '), result.stderr
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / 'run').exists()


def test_a_stated_size_resizes_mixed_images(tmp_path):
    folder = png_folder(str(tmp_path / 'data'), sizes=((20, 16), (28, 28)))
    x_train, _, _, _, _ = images.load(folder, size=(14, 12))
    assert x_train.shape[1:] == (14, 12)
    result = run_cli('--dataset', folder, '--image-size', '14x12', '-e', '1', '--n-hidden', '8',
                     '-o', tmp_path / 'run')
    assert result.returncode == 0, result.stderr
