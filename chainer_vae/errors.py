"""The one error type every command reports as one line.

A ``Failure`` is something the user must fix or know of (bad data, a run folder that
cannot be used, no GPU, a NaN loss): its message is one line, and a command that meets it
ends with ``PROG: error: <message>`` and exit code 1 (chainer_vae/cli.py). Each module
names its own kind (``data.DataError``, ``checkpoint.CheckpointError``, ...); they all
derive from this one, so that every command catches them in one place.
"""


class Failure(Exception):
    """A fault or bad input whose message is one line for the user."""
