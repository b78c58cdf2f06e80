"""chainer_vae: the Chainer VAE of Matsui's slides and the 2017 Qiita notebook, revived."""
from chainer_vae import interrupt

if interrupt.started_as_a_command():  # signals are the command's from its first line on
    interrupt.hold()

from chainer_vae import revival  # noqa: E402

revival.apply()  # before anything below imports chainer

__version__ = '1.0.0'
