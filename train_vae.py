#!/usr/bin/env python
"""Train the VAE of the slides on MNIST, as the 2017 notebook did:

    python train_vae.py --gpu 0      # the legacy run, on a GPU (CPU: without --gpu)

The command itself is chainer_vae/__main__.py (also ``python -m chainer_vae``):
flags -> data -> model -> run folder -> the notebook's loop.
"""
from chainer_vae.__main__ import main

if __name__ == '__main__':
    main()
