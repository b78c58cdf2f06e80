"""chainer_vae: the Chainer VAE of Matsui's slides and the 2017 Qiita notebook, revived."""
from chainer_vae import revival

revival.apply()  # before anything below imports chainer

__version__ = '1.0.0'
