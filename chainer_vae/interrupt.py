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
- A closed stdout (``train_vae.py | head``) ends the output, not the training.
"""
import contextlib
import os
import signal

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A signal asked the program to stop."""

    def __init__(self, signum=signal.SIGINT):
        super().__init__(signal.Signals(signum).name)
        self.name = signal.Signals(signum).name
        self.exit_code = 128 + signum


def stopped_by(error):
    """(signal name, exit code) of a KeyboardInterrupt: Interrupted's, or Ctrl-C's where
    the handlers were not installed."""
    return getattr(error, 'name', 'SIGINT'), getattr(error, 'exit_code', 130)


_deferring = 0  # open deferred() blocks
_pending = []  # signals that came during them


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
        if not _deferring and _pending:
            signum = _pending[0]
            del _pending[:]
            raise Interrupted(signum)


class OutputUntilClosed:
    """sys.stdout that, once its reader has gone (EPIPE), sends the rest to /dev/null."""

    def __init__(self, stream):
        self._stream = stream

    def _closed_by_reader(self):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())  # Python's own flush at exit is quiet too
        os.close(devnull)

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._closed_by_reader()
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._closed_by_reader()

    def __getattr__(self, name):
        return getattr(self._stream, name)
