"""Run an old Chainer script on today's stack, as ``python SCRIPT`` would, with the
revival layer (chainer_vae/revival/__init__.py) applied first:

    python -m chainer_vae.revival SCRIPT [ARGS...]

SCRIPT is a file, or a folder or zip file with a ``__main__.py`` (as Python runs them).
It runs as ``__main__`` with ``sys.argv`` = [SCRIPT, ARGS...] and its folder first on
``sys.path``; its exit code and its own tracebacks are its own. A script that does not
compile (a syntax error, a binary file) gets what Python prints for it, without this
runner's frames, and exit code 1. The same in the script itself: put ``import
chainer_vae.revival`` above its first ``import chainer``.
"""
import argparse
import os
import runpy
import sys
import traceback

from chainer_vae import cli


def runnable(text):
    if os.path.isfile(text) or os.path.isfile(os.path.join(text, '__main__.py')):
        return text
    raise argparse.ArgumentTypeError('%s: no such script (a file, or a folder with a '
                                     '__main__.py)' % text)


def started(error):
    """True where ``error`` came from the script's own code (its frames in the traceback),
    not from reading it: the runner, runpy and the import machinery alone."""
    runner = {os.path.abspath(__file__), os.path.abspath(runpy.__file__)}
    return any(not (frame.f_code.co_filename.startswith('<frozen ')
                    or os.path.abspath(frame.f_code.co_filename) in runner)
               for frame, _ in traceback.walk_tb(error.__traceback__))


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.revival', name='revival', description=__doc__)
    p.add_argument('script', type=runnable, help='the Chainer script to run')
    p.add_argument('args', nargs=argparse.REMAINDER, help="the script's own arguments")
    args = p.parse_args(argv)
    with cli.command('revival', faults=False):  # the script's own errors are its own
        sys.argv = [args.script] + args.args
        folder = args.script if os.path.isdir(args.script) else os.path.dirname(args.script)
        sys.path.insert(0, os.path.abspath(folder))
        try:
            runpy.run_path(args.script, run_name='__main__')
        except (SyntaxError, ValueError) as e:  # ValueError: null bytes, on older Pythons
            if started(e):
                raise
            # it does not compile: what python prints for it (its own printer), without
            # the runner's frames, the path joined to the working folder as python does
            if getattr(e, 'filename', None) == args.script:
                e.filename = os.path.join(os.getcwd(), args.script)
            sys.excepthook(type(e), e.with_traceback(None), None)
            sys.exit(1)


if __name__ == '__main__':
    main()
