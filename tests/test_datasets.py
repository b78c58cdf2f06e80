"""Other data: Fashion-MNIST and KMNIST through the verified loader (a loopback mirror of
small generated files under the real names, the checksum table patched here only), Debian's
Fashion-MNIST package read in place (its real files where it is installed, and generated
ones in its stead), and a person's own images (a folder of PNGs, an .npz)."""
import csv
import gzip
import hashlib
import json
import os
import shutil

import numpy as np
import pytest
from PIL import Image

from chainer_vae import data, download, images, visualize

from helpers import FASHION_MNIST_PACKAGE, needs_fashion_mnist_package, run_cli
from test_download import serving


def generated_files():
    """Four small generated IDX .gz files under the real names: {name: .gz bytes}."""
    rng = np.random.RandomState(1)
    shapes = {'train-images': (6, 28, 28), 'train-labels': (6,), 't10k-images': (10, 28, 28),
              't10k-labels': (10,)}
    files = {}
    for name in download.MD5:
        shape = shapes[name.split('-idx')[0]]
        values = np.arange(10)[:shape[0]] if len(shape) == 1 else rng.randint(0, 256, shape)
        files[name] = gzip.compress(data.encode_idx(values))
    return files


@pytest.fixture
def mirror():
    """A loopback mirror of the generated files: (server, base URL, the files)."""
    files = generated_files()
    with serving(files) as (server, base):
        yield server, base, files


def published(monkeypatch, dataset, files):
    """The dataset's checksum table, in this test only, made of these files: the md5 of each
    .gz file where the dataset publishes those (KMNIST), else of its content."""
    gz = download.SOURCES[dataset].gz
    md5 = {name: hashlib.md5(body if gz else gzip.decompress(body)).hexdigest()
           for name, body in files.items()}
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


def test_kmnist_accepts_only_the_published_gz_file(mirror, monkeypatch):
    """KMNIST publishes only its .gz files' md5: a re-gzip of the same content is refused."""
    server, base, files = mirror
    published(monkeypatch, 'kmnist', files)
    monkeypatch.setenv(download.mirrors_variable('kmnist'), base + 'regzip/')
    with pytest.raises(download.DownloadError) as caught:
        data.load_set('kmnist')
    assert str(caught.value).startswith('could not download Kuzushiji-MNIST ')
    assert 'regzip/: checksum mismatch' in str(caught.value)
    assert not [n for n in os.listdir(download.cache_dir('kmnist')) if n.endswith('.part')]


def test_fashion_mnist_checks_the_content_not_the_gz_file(mirror, monkeypatch):
    """A re-gzip of the same content is accepted; one changed byte inside it never is."""
    server, base, files = mirror
    published(monkeypatch, 'fashion-mnist', files)
    variable = download.mirrors_variable('fashion-mnist')
    monkeypatch.setenv(variable, base + 'corrupt/')
    with pytest.raises(download.DownloadError) as caught:
        data.load_set('fashion-mnist')
    message = str(caught.value)
    assert '\n' not in message and 'corrupt/: checksum mismatch' in message
    monkeypatch.setenv(variable, base + 'corrupt/,' + base + 'regzip/')
    del server.hits[:]
    loaded = data.load_set('fashion-mnist')
    assert [h.split('/')[1] for h in server.hits] == ['corrupt', 'regzip'] * 4
    for name, body in files.items():
        with open(os.path.join(download.cache_dir('fashion-mnist'), name), 'rb') as f:
            cached = f.read()
        assert cached != body and gzip.decompress(cached) == gzip.decompress(body)
    assert loaded.y_test.tolist() == list(range(10))


def test_the_real_checksum_tables_are_the_published_ones():
    """MNIST and Fashion-MNIST: the md5 of the decompressed files; KMNIST: of the .gz files."""
    assert download.SOURCES['fashion-mnist'].md5['train-images-idx3-ubyte.gz'] == \
        'f4a8712d7a061bf5bd6d2ca38dc4d50a'
    assert download.SOURCES['kmnist'].md5['t10k-labels-idx1-ubyte.gz'] == \
        '7320c461ea6c1c855c0b718fb2a4b134'
    assert not download.SOURCES['mnist'].gz and not download.SOURCES['fashion-mnist'].gz
    assert download.SOURCES['kmnist'].gz


@pytest.fixture(params=['generated', pytest.param('debian', marks=needs_fashion_mnist_package)])
def package(request, tmp_path, monkeypatch):
    """A copy of a system package's Fashion-MNIST folder, made the dataset's only system
    folder: of Debian's real files where the package is installed (else skipped), or of the
    generated files (the checksum table made of them)."""
    folder = tmp_path / 'package'
    folder.mkdir()
    if request.param == 'debian':
        for name in download.MD5:
            shutil.copy(os.path.join(FASHION_MNIST_PACKAGE, name), str(folder))
    else:
        files = generated_files()
        published(monkeypatch, 'fashion-mnist', files)
        for name, body in files.items():
            (folder / name).write_bytes(body)
    monkeypatch.setattr(download, 'SYSTEM_DIRS', {'fashion-mnist': (str(folder),)})
    return folder


def regzip(path, change=None):
    """Rewrite the .gz file at ``path`` with another gzip wrapper of its content, after
    ``change`` (bytes -> bytes) where given."""
    with gzip.open(str(path), 'rb') as f:
        raw = f.read()
    path.write_bytes(gzip.compress(change(raw) if change else raw, compresslevel=1))


def test_a_regzipped_package_copy_is_read_in_place(package, monkeypatch):
    """Before the cache and the mirrors (there are none here), never written to."""
    for name in download.MD5:
        regzip(package / name)
    before = {name: (package / name).read_bytes() for name in download.MD5}
    monkeypatch.setenv(download.mirrors_variable('fashion-mnist'), 'http://127.0.0.1:9/')
    loaded = data.load_set('fashion-mnist')
    assert not os.path.exists(download.cache_dir('fashion-mnist'))
    assert {name: (package / name).read_bytes() for name in download.MD5} == before
    labels = data.read_idx_gz(str(package / 't10k-labels-idx1-ubyte.gz'))
    assert loaded.y_test.tolist() == labels.tolist() and loaded.x_test.shape == (len(labels), 784)


def flip_the_last_pixel(raw):
    return raw[:-1] + bytes([raw[-1] ^ 0xFF])


@pytest.mark.parametrize('case', ['changed byte', 'missing file'])
def test_a_damaged_package_copy_is_refused_with_one_line(package, tmp_path, case):
    """The package was installed to be used: a damaged copy is reported, not passed over
    for a download."""
    victim = package / 't10k-images-idx3-ubyte.gz'
    if case == 'changed byte':  # still a valid IDX file: only the checksum can tell
        regzip(victim, flip_the_last_pixel)
    else:
        victim.unlink()
    # this test's system folder and checksums, in the process that trains
    prelude = ('from chainer_vae import download\n'
               'download.SYSTEM_DIRS = %r\n'
               "download.SOURCES['fashion-mnist'] = download.SOURCES['fashion-mnist']"
               '._replace(md5=%r)\n'
               % (download.SYSTEM_DIRS, download.SOURCES['fashion-mnist'].md5))
    result = run_cli('--dataset', 'fashion-mnist', '-e', '1', '-o', tmp_path / 'run',
                     prelude=prelude)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.splitlines() == [
        'train_vae.py: error: %s: %s, not the published Fashion-MNIST file; reinstall the '
        'package that put it there, or pass --data-dir DIR'
        % (victim, 'checksum mismatch' if case == 'changed byte' else 'missing')]
    assert not (tmp_path / 'run').exists()
    assert not os.path.exists(os.environ['CHAINER_DATASET_ROOT'])


@needs_fashion_mnist_package
def test_the_package_has_the_published_content():
    for name, md5 in download.SOURCES['fashion-mnist'].md5.items():
        with gzip.open(os.path.join(FASHION_MNIST_PACKAGE, name), 'rb') as f:
            assert hashlib.md5(f.read()).hexdigest() == md5, name
    arrays = data.load_mnist_dir(FASHION_MNIST_PACKAGE, 'Fashion-MNIST')
    assert arrays['train_images'].shape == (60000, 28, 28)  # 6,000 and 1,000 of each class
    assert np.bincount(arrays['train_labels']).tolist() == [6000] * 10
    assert np.bincount(arrays['test_labels']).tolist() == [1000] * 10


def train_on_the_package(run, monkeypatch, *flags, timeout=300):
    """train_vae.py --dataset fashion-mnist with no --data-dir, an empty cache and no mirror
    (only the package's folder can give the data), checked to have read it in place and
    trained one epoch."""
    monkeypatch.setenv(download.mirrors_variable('fashion-mnist'), 'http://127.0.0.1:9/')
    result = run_cli('--dataset', 'fashion-mnist', '--epoch', '1', '--seed', '0', '-o', run,
                     *flags, timeout=timeout)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == 'epoch 1' and lines[2].startswith('train mean loss=')
    assert lines[3].startswith('test  mean loss=')
    with open(str(run / 'log.csv')) as f:
        assert [row['epoch'] for row in csv.DictReader(f)] == ['1']
    with open(str(run / 'config.json')) as f:
        assert json.load(f)['data'] == {'dataset': 'fashion-mnist', 'data_dir': None,
                                        'binarize': False, 'image_size': None, 'n_train': None}
    assert not os.path.exists(os.environ['CHAINER_DATASET_ROOT'])  # nothing cached


@needs_fashion_mnist_package
def test_the_command_reads_the_real_set_from_the_package(tmp_path, monkeypatch):
    """Must-show 1, in the default run: the whole set read and verified in place, then the
    legacy --test mode's 100 images trained on (seconds, not the full epoch's minutes)."""
    train_on_the_package(tmp_path / 'run', monkeypatch, '--test')


@pytest.mark.slow
@needs_fashion_mnist_package
def test_one_epoch_on_the_real_set_from_the_package(tmp_path, monkeypatch):
    """Must-show 1 in full: one epoch of the 60,000 images (slow: left out of `make test`;
    .ci/run runs it beside the NumPy 1.26 tests)."""
    # minutes on a crowded machine; the timeout only stops a hung run
    train_on_the_package(tmp_path / 'run', monkeypatch, timeout=1800)


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
