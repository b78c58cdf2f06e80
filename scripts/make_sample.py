"""Make the bundled sample chainer_vae/mnist_sample/ from the full MNIST files.

    python scripts/make_sample.py ../shared/mnist

Keeps the first 4,000 training and the first 1,000 test digits, in order, in the
same four IDX .gz files (MNIST: LeCun, Cortes, Burges; CC BY-SA 3.0).
"""
import gzip
import os
import sys

from chainer_vae import data

N_TRAIN, N_TEST = 4000, 1000


def main(source):
    arrays = data.load_mnist_dir(source)
    os.makedirs(data.SAMPLE_DIR, exist_ok=True)
    for key, name in data.FILES.items():
        n = N_TRAIN if key.startswith('train') else N_TEST
        # mtime=0 keeps the .gz bytes reproducible
        with gzip.GzipFile(os.path.join(data.SAMPLE_DIR, name), 'wb', 9, mtime=0) as f:
            f.write(data.encode_idx(arrays[key][:n]))


if __name__ == '__main__':
    main(sys.argv[1])
