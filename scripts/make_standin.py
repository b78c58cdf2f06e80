"""Write generated stand-in data in MNIST's four IDX .gz files, for running the pipeline of
a data set whose files cannot be had here (KMNIST: no mirror of it is reachable from the
machines this project is built on, and no package in their registries ships it).

    python scripts/make_standin.py OUT_DIR [--n-train 6000] [--n-test 1000] [--seed 0]

Class c (0..9) is a bright bar through the centre of a 28 x 28 image at the angle
18 c degrees, of random thickness, length and offset, on faint noise: ten classes that a
VAE can learn and a picture can tell apart. Not real data: the committed runs on it
show that the pipeline (loader, training, pictures with the data set's class names)
works, not how the VAE does on the real set.
"""
import argparse
import gzip
import os

import numpy as np

from chainer_vae import data


def bars(labels, rng):
    """28 x 28 uint8 images, a bar at 18 * label degrees in each."""
    yy, xx = np.mgrid[0:28, 0:28] - 13.5
    n = len(labels)
    angle = np.deg2rad(18.0 * labels + rng.uniform(-4, 4, n))[:, None, None]
    offset = rng.uniform(-3, 3, n)[:, None, None]
    half_width = rng.uniform(1.0, 2.5, n)[:, None, None]
    half_length = rng.uniform(7, 12, n)[:, None, None]
    across = xx * np.sin(angle) - yy * np.cos(angle) - offset
    along = xx * np.cos(angle) + yy * np.sin(angle)
    bar = np.clip(half_width + 0.5 - np.abs(across), 0, 1) * (np.abs(along) < half_length)
    noise = rng.uniform(0, 0.15, (n, 28, 28))
    return (255 * np.clip(bar + noise, 0, 1)).astype(np.uint8)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('out')
    p.add_argument('--n-train', type=int, default=6000)
    p.add_argument('--n-test', type=int, default=1000)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.RandomState(args.seed)
    os.makedirs(args.out, exist_ok=True)
    for split, n in (('train', args.n_train), ('test', args.n_test)):
        labels = np.arange(n) % 10
        rng.shuffle(labels)
        arrays = {split + '_images': bars(labels, rng), split + '_labels': labels.astype(np.uint8)}
        for key, values in arrays.items():
            with gzip.GzipFile(os.path.join(args.out, data.FILES[key]), 'wb', 9, mtime=0) as f:
                f.write(data.encode_idx(values))


if __name__ == '__main__':
    main()
