"""MNIST as the 2017 notebook used it, read from the four IDX .gz files, and the data
sets that come the same way or are a person's own.

``load_set(dataset, data_dir, image_size)`` returns a DataSet: images as rows of
float32 pixels in [0, 1] (uint8 / 255, not binarised), int32 labels, the images'
shape (28 x 28 for MNIST) and the class names.
``--dataset sample`` reads a small real-MNIST subset shipped in this package
(made by ``scripts/make_sample.py``); ``--dataset mnist`` (``fashion-mnist``,
``kmnist``) reads the full set from ``--data-dir``, else from a system package's copy
or the cache that ``download.py`` fills; ``--dataset PATH`` reads a folder of images or
an .npz (chainer_vae/images.py).

``--binarize`` (opt-in; the legacy trained on the grey levels) is the dynamically
binarised MNIST of the likelihood papers (Burda, Grosse & Salakhutdinov 2015): every
time a batch is taken, each pixel is drawn as Bernoulli(its grey level), and the test
set is one fixed such draw.
"""
import collections
import gzip
import math
import os
import zlib

import numpy as np

from chainer_vae import download, errors, images

FILES = {
    'train_images': 'train-images-idx3-ubyte.gz',
    'train_labels': 'train-labels-idx1-ubyte.gz',
    'test_images': 't10k-images-idx3-ubyte.gz',
    'test_labels': 't10k-labels-idx1-ubyte.gz',
}
DATASETS = ('mnist', 'fashion-mnist', 'kmnist', 'sample')  # --dataset NAME; else a PATH
CLASSES = {
    'mnist': tuple('0123456789'), 'sample': tuple('0123456789'),
    'fashion-mnist': ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt',
                      'Sneaker', 'Bag', 'Ankle boot'),
    # Kuzushiji-MNIST: the ten cursive hiragana お き す つ な は ま や れ を, in romaji
    'kmnist': ('o', 'ki', 'su', 'tsu', 'na', 'ha', 'ma', 'ya', 're', 'wo'),
}
# the test images of the named sets (the published splits; the bundled sample's 1,000)
N_TEST = {'mnist': 10000, 'fashion-mnist': 10000, 'kmnist': 10000, 'sample': 1000}
DataSet = collections.namedtuple('DataSet', 'x_train x_test y_train y_test shape classes')
SAMPLE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'mnist_sample')

_IDX_UBYTE = 0x08
MAX_BYTES = 1 << 32  # 4 GiB of pixels: 5 million 28 x 28 images


class DataError(errors.Failure):
    """Missing, truncated or malformed data; the message is one line for the user."""


def parse_idx(raw, name='IDX data'):
    """Parse uncompressed IDX bytes of unsigned bytes into an array of its shape."""
    if len(raw) < 4:
        raise DataError('%s: too short for an IDX header (%d bytes)' % (name, len(raw)))
    zero, dtype, ndim = raw[0:2], raw[2], raw[3]
    if zero != b'\x00\x00' or dtype != _IDX_UBYTE or ndim == 0:
        raise DataError('%s: bad IDX magic number 0x%s' % (name, raw[:4].hex()))
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError('%s: truncated IDX header' % name)
    shape = tuple(int(d) for d in np.frombuffer(raw, '>u4', ndim, offset=4))
    size = math.prod(shape)  # Python ints: a crafted header cannot overflow
    if len(raw) - header != size:
        raise DataError('%s: IDX header says %s = %d bytes of data, found %d'
                        % (name, 'x'.join(map(str, shape)), size, len(raw) - header))
    return np.frombuffer(raw, np.uint8, size, offset=header).reshape(shape)


def encode_idx(array):
    """The IDX bytes of a uint8 array (the inverse of parse_idx)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, _IDX_UBYTE, array.ndim]) + np.array(array.shape, '>u4').tobytes()
    return header + array.tobytes()


def read_idx_gz(path):
    """The array of an IDX .gz file, read no further than its header says: a file whose
    content runs on (a gzip bomb) or stops short is refused before it fills the memory."""
    name = os.path.basename(path)
    try:
        with gzip.open(path, 'rb') as f:
            head = f.read(4)
            ndim = head[3] if len(head) == 4 else 0
            head += f.read(4 * ndim)
            if len(head) == 4 + 4 * ndim and head[:3] == b'\x00\x00' + bytes([_IDX_UBYTE]):
                size = math.prod(int(d) for d in np.frombuffer(head, '>u4', ndim, offset=4))
                if size > MAX_BYTES:
                    raise DataError('%s: its header says %d bytes of images, more than the %d '
                                    'this loader reads' % (name, size, MAX_BYTES))
                raw = head + f.read(size)
                if len(raw) == len(head) + size and f.read(1):
                    raise DataError('%s: more data than its IDX header says' % name)
            else:
                raw = head
    except FileNotFoundError:
        raise DataError('%s: file not found' % path) from None
    except (OSError, EOFError, zlib.error) as e:
        raise DataError('%s: not a readable gzip file (%s)' % (name, e)) from None
    return parse_idx(raw, name)


def _check_pair(images, labels, what):
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError('%s images: expected N x 28 x 28, got %s' % (what, images.shape))
    if len(images) == 0:
        raise DataError('%s images: the file holds no images' % what)
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError('%s labels: expected %d labels, got shape %s'
                        % (what, len(images), labels.shape))
    if labels.size and labels.max() > 9:
        raise DataError('%s labels: values must be digits 0-9' % what)


def load_mnist_dir(directory, title='MNIST'):
    """Read and validate the four MNIST files in ``directory`` (uint8 images, int32 labels)."""
    missing = [f for f in FILES.values() if not os.path.isfile(os.path.join(directory, f))]
    if missing:
        raise DataError('%s lacks the %s file(s) %s' % (directory, title, ', '.join(missing)))
    arrays = {key: read_idx_gz(os.path.join(directory, f)) for key, f in FILES.items()}
    _check_pair(arrays['train_images'], arrays['train_labels'], 'train')
    _check_pair(arrays['test_images'], arrays['test_labels'], 'test')
    return arrays


TEST_BINARIZATION_SEED = 0  # the one fixed draw of a binarised test set


class Binarized:
    """Training images that are binarised afresh each time rows are taken: x[rows] is
    Bernoulli(x[rows]) drawn from NumPy's global generator (so --seed and a resume
    repeat it). The learning loop indexes it as it indexes the array."""

    def __init__(self, x):
        self.x = x

    def __len__(self):
        return len(self.x)

    def __getitem__(self, rows):
        grey = self.x[rows]
        return (np.random.random_sample(grey.shape) < grey).astype(np.float32)


def binarize_test(x):
    """The fixed binarisation of a test set (TEST_BINARIZATION_SEED)."""
    rng = np.random.RandomState(TEST_BINARIZATION_SEED)
    return (rng.random_sample(x.shape) < x).astype(np.float32)


def prepare(dataset='mnist', data_dir=None, image_size=None, binarize=False, n_train=None):
    """The DataSet of a run: load_set's, the images binarised where ``binarize`` asks
    (the training images afresh at every batch, the test images once); ``n_train``: the
    first n_train training images alone (the semi-supervised papers' 50,000, the rest
    being their validation set: chainer_vae/m2_data.py)."""
    data = load_set(dataset, data_dir, image_size)
    if n_train is not None:
        if n_train > len(data.x_train):
            raise DataError('--n-train %d: the training set has only %d images'
                            % (n_train, len(data.x_train)))
        data = data._replace(x_train=data.x_train[:n_train], y_train=data.y_train[:n_train])
    if binarize:
        data = data._replace(x_train=Binarized(data.x_train), x_test=binarize_test(data.x_test))
    return data


def load_for_run(config, data_dir=None, grey=False):
    """The DataSet of a run's config (chainer_vae.config), read from ``data_dir`` if given,
    binarised where the run was (unless ``grey``: the images themselves)."""
    d = config['data']
    return prepare(d['dataset'], data_dir or d['data_dir'], d['image_size'],
                   d['binarize'] and not grey)


def test_images(dataset, n_test=None):
    """The test images that a result of a run on ``dataset`` was measured on, in words, for
    its caption: 'the 10,000 MNIST test images', 'the 1,000 test images of the bundled MNIST
    sample', 'the 12 test images of PATH'."""
    n = '{:,}'.format(n_test or N_TEST[dataset])
    if dataset == 'sample':
        return 'the %s test images of the bundled MNIST sample' % n
    if dataset in DATASETS:
        return 'the %s %s test images' % (n, download.SOURCES[dataset].title)
    return 'the %s test images of %s' % (n, dataset)


def load_set(dataset='mnist', data_dir=None, image_size=None):
    """The DataSet of --dataset (a name of DATASETS, or the path of one's own images)."""
    if dataset not in DATASETS:
        try:
            x_train, x_test, y_train, y_test, classes = images.load(dataset, image_size)
        except images.ImageError as e:
            raise DataError(e) from None
        shape = x_train.shape[1:]
        return DataSet(x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1),
                       y_train, y_test, shape, classes)
    if dataset == 'sample':
        directory = SAMPLE_DIR
    elif data_dir is not None:
        directory = data_dir
    else:
        directory = download.ensure(dataset)  # a system copy, else the cache (mirrors fill it)
    title = download.SOURCES[dataset].title if dataset in download.SOURCES else 'MNIST'
    a = load_mnist_dir(directory, title)
    x_train, x_test = (a[k].reshape(len(a[k]), -1).astype(np.float32) / 255
                       for k in ('train_images', 'test_images'))
    return DataSet(x_train, x_test, a['train_labels'].astype(np.int32),
                   a['test_labels'].astype(np.int32), (28, 28), CLASSES[dataset])


def balanced_draw(labels, n, rng):
    """Indices of n labelled images, n / 10 of each class, drawn without replacement (the
    labelled images of the semi-supervised M1 and M2)."""
    classes = np.unique(labels)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), n // len(classes),
                                      replace=False) for c in classes])


def load(dataset='mnist', data_dir=None):
    """(x_train, x_test, y_train, y_test): pixels float32 in [0, 1], labels int32."""
    return load_set(dataset, data_dir)[:4]
