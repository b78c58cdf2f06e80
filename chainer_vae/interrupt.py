"""How a run is stopped from outside: signals, and a reader that goes away.

- SIGTERM (kill, a batch system) and SIGHUP (a closed SSH session) are turned
  into the same exception as Ctrl-C's SIGINT, so each ends the program with one
  line and the exit code of that signal (128 + its number), and ``finally``
  blocks run (no download leaves a .part behind). Training keeps nothing in
  memory that is not also on disk: the checkpoint of the last finished epoch is
  the resume point, whatever instant the signal comes at.
- ``deferred()`` holds these signals back while files are written that belong
  together (a checkpoint and its log.csv row; the legacy mlp_<dimz>.model /
  .state pair).
- A closed or full stdout (``train_vae.py | head``, ``> /dev/full``) ends the output,
  not the training.
- ``hold()``: a command (``python -m chainer_vae...``, ``train_vae.py``) takes these
  signals from the first line of the package on (chainer_vae/__init__.py), holding them
  until its work begins (cli.command), so that even a Ctrl-C during the imports gives
  the command's one line.
"""
import contextlib
import os
import signal
import sys

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked the program to stop."""

    def __init__(self, signum=signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


def stopped_by(error):
    """(signal name, exit code) of a KeyboardInterrupt: Interrupted's, or Ctrl-C's where
    the handlers were not installed."""
    return getattr(error, 'name', 'SIGINT'), getattr(error, 'exit_code', 130)


_deferring = 0  # open deferred() blocks, and the hold from import to the command's start
_pending = []  # signals that came during them
_held = []  # [True] while a command's signals are held from import time on


def _raise(signum, frame):
    if _deferring:
        _pending.append(signum)
        return
    raise Interrupted(signum)


def install():
    """SIGINT, SIGTERM and SIGHUP raise Interrupted; a signal ignored by whoever started
    this process (nohup, a background job) stays ignored."""
    for signum in SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, _raise)


def started_as_a_command():
    """True while this package is imported to run one of its commands: ``python -m
    chainer_vae[.X]`` (Python's argv[0] is '-m' until it has found the module) or
    ``python train_vae.py``; never for a program that imports chainer_vae."""
    return sys.argv[:1] == ['-m'] or os.path.basename(sys.argv[0]) == 'train_vae.py'


def hold():
    """Install the handlers, holding signals back until the command's work begins
    (``released``): a Ctrl-C in the seconds that the imports take ends the command
    with its one line, not a traceback."""
    global _deferring
    install()
    _deferring += 1
    _held.append(True)


@contextlib.contextmanager
def released():
    """The command's work: signals held since import act now (once)."""
    global _deferring
    if _held:
        del _held[:]
        _deferring -= 1
        _act_on_pending()
    yield


def _act_on_pending():
    if not _deferring and _pending:
        signum = _pending[0]
        del _pending[:]
        raise Interrupted(signum)


@contextlib.contextmanager
def deferred():
    """Hold SIGINT, SIGTERM and SIGHUP (as install() handles them) back until the block
    is done, then act on them. Done in Python, not with pthread_sigmask: the kernel may
    hand a signal to any thread (BLAS has its own), and Python runs its handler in the
    main thread all the same."""
    global _deferring
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        _act_on_pending()


class OutputUntilClosed:
    """sys.stdout that, once its reader has gone (EPIPE) or its disk is full, sends the
    rest to /dev/null: the printed lines end, the work goes on (log.csv has the numbers).
    Any fault but a closed pipe is said once, on stderr."""

    def __init__(self, stream, prog):
        self._stream = stream
        self._prog = prog

    def _lost(self, error):
        devnull = os.open(os.devnull, os.O_WRONLY)
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, self._stream.fileno())  # Python's own flush at exit is quiet too
        os.close(devnull)
        if not isinstance(error, BrokenPipeError):
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.write('%s: warning: stdout: %s; the printed lines end here, the '
                                 'work goes on\n' % (self._prog, error.strerror or error))

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as e:
            self._lost(e)
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except OSError as e:
            self._lost(e)

    def __getattr__(self, name):
        return getattr(self._stream, name)
