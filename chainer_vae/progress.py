"""A progress line for a run watched at a terminal: the batch within the epoch, seconds an
epoch and the time left for the run, rewritten in place on stderr by tqdm; at the end, a
line saying what to do next with the run.

Only where stderr is a terminal: a log file or a pipe gets the legacy lines alone, and
stdout is the notebook's, byte for byte, either way. Where stdout is the same terminal,
the line is cleared before each legacy line and drawn again after it (tqdm's
external_write_mode), so the two never mix.
"""
import contextlib
import shlex
import sys


@contextlib.contextmanager
def bar(done, n_epoch, n_train, batchsize, shown=True):
    """Yield ``update(epoch, i)`` for the training loop (``i``: images of the epoch seen so
    far), or None where no line is to be drawn; the line is cleared on leaving."""
    if not shown or done >= n_epoch or not _terminal(sys.stderr):
        yield None
        return
    from tqdm import tqdm
    batches = -(-n_train // batchsize)
    line = tqdm(total=(n_epoch - done) * batches, file=sys.stderr, leave=False, smoothing=0,
                dynamic_ncols=True, bar_format='{desc} {bar:12} {postfix} | {remaining} left')
    stdout = sys.stdout
    if _terminal(stdout):
        sys.stdout = _AboveTheLine(stdout)

    def update(epoch, i):
        seconds = line.format_dict['elapsed'] / max(line.n + 1, 1) * batches
        line.set_description_str('epoch %d/%d, batch %d/%d'
                                 % (epoch, n_epoch, min(-(-i // batchsize), batches), batches),
                                 refresh=False)
        line.set_postfix_str('%.1f s/epoch' % seconds, refresh=False)
        line.update(1)

    try:
        yield update
    finally:
        line.close()
        sys.stdout = stdout


def next_step(out, stream=None):
    """Where a finished run in ``out`` leads: one line on stderr, where it is a terminal
    (a log file or a pipe gets the legacy lines alone, as with the progress line)."""
    stream = stream or sys.stderr
    if not _terminal(stream):
        return
    folder = shlex.quote(str(out))
    stream.write('next: python -m chainer_vae.visualize %s  (its pictures), '
                 'python -m chainer_vae.compare %s  (against the 2017 run)\n' % (folder, folder))
    stream.flush()


def _terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


class _AboveTheLine:
    """stdout whose lines go above the progress line."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        from tqdm import tqdm
        with tqdm.external_write_mode(file=self._stream):
            self._stream.write(text)
            self._stream.flush()
        return len(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)
