"""What every command of chainer_vae shares: flags whose errors are one line, the flags'
shared checks, and one way to fail.

    def main(argv=None):
        args = make_parser().parse_args(argv)       # bad usage: one line, exit 2
        with cli.command('visualize', writes_in=args.out):
            ...                                     # the work

Inside ``command``: an ``errors.Failure`` (bad data, a run that cannot be used, ...) ends
the command with ``PROG: error: <its message>`` and exit 1; so do an OS fault (``cannot
write in ...``) and running out of memory; SIGINT, SIGTERM and SIGHUP end it with
``PROG: error: interrupted (SIGTERM)`` and 128 + the signal's number (130, 143, 129).
A closed or full stdout ends the output, not the work. Running out of memory before the
work begins (chainer's imports under a small ``ulimit -v``) is one line too, exit 1.
"""
import argparse
import contextlib
import errno
import os
import signal
import sys

from chainer_vae import errors, interrupt


# ---- flags ----------------------------------------------------------------------

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


def add_presets(parser, presets, help):
    """--preset NAME: a named set of flags ({name: {flag: value}}), as nanoGPT keeps its
    configurations; the flags given beside it override it."""
    parser.presets = presets
    parser.add_argument('--preset', choices=sorted(presets), help=help)


def parse_given(parser, argv=None):
    """(the flags, the set of the names of those given on the command line): what a
    resumed run may take from its config.json is what was not given. A --preset's flags
    are defaults, not given."""
    presets = getattr(parser, 'presets', None)
    if presets:
        chosen = parser.parse_known_args(argv)[0].preset
        if chosen:
            parser.set_defaults(**presets[chosen])
    args = parser.parse_args(argv)
    parser._defaults.clear()  # parse again with no defaults: what is left was given
    for action in parser._actions:
        action.default = argparse.SUPPRESS
    return args, set(vars(parser.parse_args(argv)))


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError('must be a positive integer, got %s' % text)
    return value


def non_negative_float(text):
    """A finite float >= 0 (a rate, a norm)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float('inf'):
        raise argparse.ArgumentTypeError('must be a finite number >= 0, got %s' % text)
    return value


def positive_float(text):
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError('must be a finite number > 0, got %s' % text)
    return value


def seed(text):
    """A NumPy seed: 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < 2 ** 32:
        raise argparse.ArgumentTypeError('must be between 0 and 2**32 - 1, got %s' % text)
    return value


def bounded_int(low, high):
    """An int in [low, high], for flags whose large values would only exhaust memory."""
    def check(text):
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise argparse.ArgumentTypeError('must be between %d and %d, got %s'
                                             % (low, high, text))
        return value
    return check


def existing_dir(text):
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError('%s: no such directory' % text)
    return text


def existing_file(text):
    if not os.path.isfile(text):
        raise argparse.ArgumentTypeError('%s: file not found' % text)
    return text


# ---- one way to fail --------------------------------------------------------------

_quiet = []  # set on the MPI ranks but rank 0: the same error once, not once a rank


def quiet():
    """From now on a failure exits with its code and says nothing (MPI ranks but 0)."""
    _quiet.append(True)


def fail(prog, message, code=1):
    """``PROG: error: MESSAGE`` on stderr (where there is one), and exit ``code``."""
    say(prog, message)
    sys.exit(code)


def say(prog, message):
    """The line of ``fail``, the signals ignored from then on: the process ends."""
    for signum in interrupt.SIGNALS:  # a burst of Ctrl-C's does not break the exit
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signum, signal.SIG_IGN)
    if not _quiet:
        with contextlib.suppress(OSError, ValueError, AttributeError):  # a closed stderr
            sys.stderr.write('%s: error: %s\n' % (prog, message))
            sys.stderr.flush()


def started_as():
    """The PROG of the command this process was started as, from its command line (before
    its parser exists): X for ``python -m chainer_vae.X``, else train_vae.py (the package's
    own command)."""
    argv = getattr(sys, 'orig_argv', [])
    module = argv[argv.index('-m') + 1] if '-m' in argv[:-1] else ''
    return module.split('.', 1)[1] if module.startswith('chainer_vae.') else 'train_vae.py'


_excepthook = []  # Python's hook, while the command's own is in place (until its work begins)


def hold_out_of_memory():
    """Until the command's work begins (``command``), running out of memory that nothing
    caught -- in the imports, chainer's under a small ``ulimit -v`` -- ends it with one line
    and exit 1 (Python's exit for an uncaught error), not a traceback of the imports."""
    def one_line(kind, error, traceback):
        if issubclass(kind, MemoryError) or (issubclass(kind, OSError)
                                             and error.errno == errno.ENOMEM):
            why = (error.strerror if isinstance(error, OSError)
                   else (str(error).splitlines() or [kind.__name__])[0])
            say(started_as(), 'out of memory while loading its libraries (%s): it needs more '
                'memory than this process may have' % why)
        else:
            _excepthook[0](kind, error, traceback)
    _excepthook.append(sys.excepthook)
    sys.excepthook = one_line


def guard_standard_streams(prog):
    """A process started with fd 0, 1 or 2 closed (``>&-``) gets /dev/null there, so that
    no file it opens lands on them; stdout goes on (to nowhere) once its reader has gone
    or its disk is full."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)  # takes the lowest free fd: this one
            if devnull != fd:
                os.dup2(devnull, fd)
                os.close(devnull)
    if sys.stderr is None:
        sys.stderr = open(2, 'w', closefd=False)
    if sys.stdout is None:
        sys.stdout = open(1, 'w', closefd=False)
    if not isinstance(sys.stdout, interrupt.OutputUntilClosed):
        sys.stdout = interrupt.OutputUntilClosed(sys.stdout, prog)


class Command:
    """What a running command tells ``command`` about itself: where it writes (for the
    line of an OS fault) and, once its work has begun, what is kept (a sentence)."""

    def __init__(self, prog, writes_in):
        self.prog = prog
        self.writes_in = writes_in
        self.kept = None  # a function giving the sentence, or None: "nothing was written"

    def why(self, message):
        kept = self.kept() if self.kept else None
        return '%s; %s' % (message, kept) if kept else message


@contextlib.contextmanager
def command(prog, writes_in=None, faults=True):
    """The work of command ``prog``, ended by one line and an exit code on any failure
    (``faults=False``: on our own failures and signals alone, for a script's work)."""
    guard_standard_streams(prog)
    if _excepthook:  # from here on, the command's own faults are its (or its script's)
        sys.excepthook = _excepthook.pop()
    interrupt.install()  # SIGINT, SIGTERM and SIGHUP: one line (signals held since import)
    this = Command(prog, writes_in)
    try:
        with interrupt.released():
            yield this
    except errors.Failure as e:
        fail(prog, this.why(str(e)))
    except (MemoryError, OSError) as e:  # CuPy's OutOfMemoryError too; a full disk
        if not faults:
            raise
        if isinstance(e, MemoryError):
            why = str(e).splitlines()[0] if str(e) else 'MemoryError'
            fail(prog, this.why('out of memory (%s)' % why))
        where = ' in %s' % this.writes_in if this.writes_in else ''
        fail(prog, this.why('cannot write%s: %s' % (where, e.strerror or e)))
    except KeyboardInterrupt as e:
        name, code = interrupt.stopped_by(e)
        fail(prog, this.why('interrupted (%s)' % name) if this.kept
             else 'interrupted (%s); nothing was written' % name, code)
