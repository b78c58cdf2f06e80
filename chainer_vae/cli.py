"""What the two commands (train_vae.py, python -m chainer_vae.visualize) share:
bad input is one line, ``PROG: error: ...``, and a non-zero exit."""
import argparse
import contextlib
import sys

from chainer_vae import interrupt


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """--help: the description as written, and each flag's default (a flag whose
    default is None or '' says in its help what happens without it; a switch is off)."""

    def _get_help_string(self, action):
        help = action.help or ''
        if ('%(default)' in help or action.default in (None, False, '', argparse.SUPPRESS)
                or not action.option_strings):
            return help
        return help + ' (default: %(default)s)'


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one line, ``NAME: error: ...`` (NAME: the prog by default),
    not usage + message, and whose --help shows every default."""

    def __init__(self, *args, name=None, **kwargs):
        kwargs.setdefault('formatter_class', HelpFormatter)
        super().__init__(*args, **kwargs)
        self.name = name or self.prog

    def error(self, message):
        fail(self.name, message, 2)


def parse_given(parser, argv=None):
    """(the flags, the set of the names of those given on the command line): what a
    resumed run may take from its config.json is what was not given."""
    args = parser.parse_args(argv)
    for action in parser._actions:  # parse again with no defaults: what is left was given
        action.default = argparse.SUPPRESS
    return args, set(vars(parser.parse_args(argv)))


def fail(prog, message, code=1):
    sys.stderr.write('%s: error: %s\n' % (prog, message))
    sys.exit(code)


@contextlib.contextmanager
def one_line_errors(prog, out, errors):
    """Around a command's work that writes in ``out``: ``errors`` (exception classes whose
    message is one line for the user), an OS fault and an interrupt each end it with one
    line and a non-zero exit."""
    interrupt.install()  # SIGTERM and SIGHUP as Ctrl-C
    try:
        yield
    except errors as e:
        fail(prog, e)
    except OSError as e:
        fail(prog, 'cannot write in %s: %s' % (out, e.strerror or e))
    except KeyboardInterrupt as e:
        name, code = interrupt.stopped_by(e)
        fail(prog, 'interrupted (%s); nothing was written' % name, code)
