"""Run an old Chainer script on today's stack, as ``python SCRIPT`` would, with the
revival layer (chainer_vae/revival/__init__.py) applied first:

    python -m chainer_vae.revival SCRIPT [ARGS...]

SCRIPT is a file, or a folder or zip file with a ``__main__.py`` (as Python runs them).
It runs as ``__main__`` with ``sys.argv`` = [SCRIPT, ARGS...] and its folder first on
``sys.path``; its exit code and its own tracebacks are its own. The same in the script
itself: put ``import chainer_vae.revival`` above its first ``import chainer``.
"""
import argparse
import os
import runpy
import sys

from chainer_vae import cli


def runnable(text):
    if os.path.isfile(text) or os.path.isfile(os.path.join(text, '__main__.py')):
        return text
    raise argparse.ArgumentTypeError('%s: no such script (a file, or a folder with a '
                                     '__main__.py)' % text)


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.revival', name='revival', description=__doc__)
    p.add_argument('script', type=runnable, help='the Chainer script to run')
    p.add_argument('args', nargs=argparse.REMAINDER, help="the script's own arguments")
    args = p.parse_args(argv)
    with cli.command('revival', faults=False):  # the script's own errors are its own
        sys.argv = [args.script] + args.args
        folder = args.script if os.path.isdir(args.script) else os.path.dirname(args.script)
        sys.path.insert(0, os.path.abspath(folder))
        runpy.run_path(args.script, run_name='__main__')


if __name__ == '__main__':
    main()
