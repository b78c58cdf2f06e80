"""Run an old Chainer script on today's stack, as ``python SCRIPT`` would, with the
revival layer (chainer_vae/revival.py) applied first:

    python -m chainer_vae.revive SCRIPT [ARGS...]

The script runs as ``__main__`` with ``sys.argv`` = [SCRIPT, ARGS...] and its folder first
on ``sys.path``; its exit code is this command's. The same in the script itself: put
``import chainer_vae.revival`` above its first ``import chainer``.
"""
import os
import runpy
import sys

import chainer_vae  # noqa: F401  (applies the revival before the script imports chainer)

USAGE = 'usage: python -m chainer_vae.revive SCRIPT [ARGS...]'


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ('-h', '--help'):
        print(__doc__ if argv else USAGE, file=sys.stdout if argv else sys.stderr)
        sys.exit(0 if argv else 2)
    script = argv[0]
    if not os.path.isfile(script):
        sys.stderr.write('revive: error: %s: no such script\n' % script)
        sys.exit(2)
    sys.argv = list(argv)
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    runpy.run_path(script, run_name='__main__')


if __name__ == '__main__':
    main()
