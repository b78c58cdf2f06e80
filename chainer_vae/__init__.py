"""chainer_vae: the Chainer VAE of Matsui's slides and the 2017 Qiita notebook, revived."""
from chainer_vae import cli, interrupt

if interrupt.started_as_a_command():  # signals are the command's from its first line on,
    interrupt.hold()  # and no memory for chainer's imports is one line too
    cli.hold_out_of_memory()

from chainer_vae import revival  # noqa: E402

revival.apply()  # before anything below imports chainer

__version__ = '1.0.0'
