"""What the two commands (train_vae.py, python -m chainer_vae.visualize) share:
bad input is one line, ``PROG: error: ...``, and a non-zero exit."""
import argparse
import sys


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``NAME: error: ...`` (NAME: the prog by default),
    not usage + message."""

    def __init__(self, *args, name=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = name or self.prog

    def error(self, message):
        fail(self.name, message, 2)


def fail(prog, message, code=1):
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    sys.exit(code)
