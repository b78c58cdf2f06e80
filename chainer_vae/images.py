"""A person's own images as a data set: ``train_vae.py --dataset PATH``.

PATH is one of
- a folder of PNG or JPEG files. With one subfolder per label (``cats/``, ``dogs/``...)
  the subfolder names are the classes, in sorted order; otherwise a ``labels.csv`` beside
  the images (lines ``file name,label``) names each image's class, or, without it, the
  images have no labels (one class).
- an ``.npz`` file (read without pickle) holding ``x_train`` and ``x_test``: N x H x W
  arrays, uint8 (0-255) or floats in [0, 1]; ``y_train`` / ``y_test`` integer labels
  optional.

Images become greyscale floats in [0, 1] (PIL's "L" conversion, / 255), at their own
size when all have the same, else at ``--image-size HxW`` (PIL's bilinear resize), which
may also be given to resize images of one size. The test split of a folder: the images
sorted by their path under PATH, every tenth one (the 10th, 20th, ...) is a test image.
Every bad file is one line naming it.
"""
import csv
import os

import numpy as np

from chainer_vae import errors

EXTENSIONS = ('.png', '.jpg', '.jpeg')


class ImageError(errors.Failure):
    """A data set of one's own that cannot be used; the message is one line."""


def image_files(folder):
    """(paths relative to ``folder``, their class indices, class names) of its images."""
    def images_in(directory):
        return sorted(n for n in os.listdir(directory)
                      if n.lower().endswith(EXTENSIONS) and not n.startswith('.'))

    try:
        subfolders = sorted(n for n in os.listdir(folder)
                            if os.path.isdir(os.path.join(folder, n)) and not n.startswith('.')
                            and images_in(os.path.join(folder, n)))
        if subfolders:
            paths, labels = [], []
            for index, name in enumerate(subfolders):
                found = images_in(os.path.join(folder, name))
                paths += [os.path.join(name, n) for n in found]
                labels += [index] * len(found)
            return paths, labels, tuple(subfolders)
        paths = images_in(folder)
    except OSError as e:
        raise ImageError('%s: cannot read the folder (%s)' % (folder, e.strerror)) from None
    labels_csv = os.path.join(folder, 'labels.csv')
    if not os.path.isfile(labels_csv):
        return paths, [0] * len(paths), ('all',)
    try:
        with open(labels_csv, newline='') as f:
            named = {row[0].strip(): row[1].strip() for row in csv.reader(f) if row}
    except (OSError, IndexError, UnicodeDecodeError, csv.Error) as e:
        raise ImageError('%s: not a list of "file,label" lines (%s)' % (labels_csv, e)) from None
    missing = [p for p in paths if p not in named]
    if missing:
        raise ImageError('%s: no label for %s' % (labels_csv, missing[0]))
    classes = tuple(sorted({named[p] for p in paths}))
    return paths, [classes.index(named[p]) for p in paths], classes


def read_image(path, size):
    """One image as a greyscale float32 array in [0, 1], resized to ``size`` (H, W) if given."""
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(path) as image:
            image = image.convert('L')
            if size is not None and image.size != (size[1], size[0]):
                image = image.resize((size[1], size[0]), Image.BILINEAR)
            return np.asarray(image, np.float32) / 255
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError) as e:
        raise ImageError('%s: not a readable image (%s)' % (path, e)) from None


def load_folder(folder, size=None):
    """(x_train, x_test, y_train, y_test, classes) of a folder of images."""
    paths, labels, classes = image_files(folder)
    if len(paths) < 2:
        raise ImageError('%s: %s PNG or JPEG images; a data set needs at least 2'
                         % (folder, 'no' if not paths else 'only one'))
    images = [read_image(os.path.join(folder, p), size) for p in paths]
    shapes = sorted({im.shape for im in images})
    if len(shapes) > 1:
        raise ImageError('%s: images of %d sizes (%s, ...); pass --image-size HxW to resize '
                         'them all' % (folder, len(shapes), ', '.join('%dx%d' % s for s in
                                                                      shapes[:3])))
    x, y = np.stack(images), np.array(labels, np.int32)
    test = np.arange(len(x)) % 10 == 9  # every tenth image, in path order
    if not test.any():
        test[-1] = True  # fewer than ten: the last one
    return x[~test], x[test], y[~test], y[test], classes


def load_arrays(path, size=None):
    """(x_train, x_test, y_train, y_test, classes) of an .npz of arrays."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in ('x_train', 'x_test', 'y_train', 'y_test') if k in npz}
    except (OSError, ValueError, EOFError) as e:
        raise ImageError('%s: not a readable .npz (%s)' % (path, str(e).splitlines()[0])) \
            from None
    for key in ('x_train', 'x_test'):
        x = arrays.get(key)
        if x is None or x.ndim != 3 or len(x) == 0:
            raise ImageError('%s: %s must be an N x H x W array of images, got %s'
                             % (path, key, 'nothing' if x is None else 'shape %s' % (x.shape,)))
        if x.dtype == np.uint8:
            x = x.astype(np.float32) / 255
        elif x.dtype.kind == 'f' and np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1:
            x = x.astype(np.float32)
        else:
            raise ImageError('%s: %s must be uint8 or floats in [0, 1]' % (path, key))
        if size is not None and x.shape[1:] != tuple(size):
            raise ImageError('%s: %s holds %dx%d images, --image-size asks %dx%d'
                             % ((path, key) + x.shape[1:] + tuple(size)))
        arrays[key] = x
    if arrays['x_train'].shape[1:] != arrays['x_test'].shape[1:]:
        raise ImageError('%s: x_train and x_test hold images of different sizes' % path)
    labels = []
    for split in ('train', 'test'):
        y = arrays.get('y_' + split)
        n = len(arrays['x_' + split])
        if y is None:
            y = np.zeros(n, np.int32)
        elif y.shape != (n,) or y.dtype.kind not in 'iu' or (n and y.min() < 0):
            raise ImageError('%s: y_%s must hold %d labels 0, 1, 2, ...' % (path, split, n))
        labels.append(y.astype(np.int32))
    n_classes = int(max(y.max() for y in labels)) + 1
    classes = tuple(str(c) for c in range(n_classes)) if n_classes > 1 else ('all',)
    return arrays['x_train'], arrays['x_test'], labels[0], labels[1], classes


def load(path, size=None):
    """A folder of images or an .npz: (x_train, x_test, y_train, y_test, classes), the
    images N x H x W."""
    if os.path.isdir(path):
        return load_folder(path, size)
    if os.path.isfile(path):
        return load_arrays(path, size)
    raise ImageError('%s: no such folder of images or .npz file' % path)
