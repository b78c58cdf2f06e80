"""log.csv: a run's printed numbers, one row an epoch, and the wall time.

    epoch,train_loss,train_rec_loss,test_loss,test_rec_loss,wall_time
    1,170.99...,162.36...,135.88...,121.36...,10.12

Written by the run folder (chainer_vae/checkpoint.py) whole each epoch, through a
temporary name (files.write_atomic), after the epoch's checkpoint; read back by a resumed
run, visualize, seed_band and compare. Other loops log other columns the same way (epoch
first, wall_time last: chainer_vae/m2_train.py). Rows as Python's csv module writes them (floats
in repr, lines ending in \\r\\n), so the committed logs read the same.
"""
import csv
import io
import math
import os

from chainer_vae import errors

COLUMNS = ('epoch', 'train_loss', 'train_rec_loss', 'test_loss', 'test_rec_loss', 'wall_time')
LOSSES = COLUMNS[1:5]


class LogError(errors.Failure):
    """A log.csv that cannot be read; the message is one line."""


def text(rows, columns=COLUMNS):
    """log.csv's bytes: the header, then the rows (epoch first, as tuples of numbers)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    return out.getvalue().encode()


def parse(path, columns=COLUMNS):
    """The rows of the log at ``path`` as tuples (epoch an int, the rest floats), checked:
    the header's columns, whole rows, finite numbers, epochs 1, 2, 3, ... in order.
    Older logs without a column of ``columns`` but the epoch are refused (LogError)."""
    try:
        with open(path, newline='', encoding='utf-8') as f:
            lines = list(csv.reader(f))
    except FileNotFoundError:
        raise LogError('%s: file not found' % path) from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise LogError('%s: not a readable loss log (%s)'
                       % (path, getattr(e, 'strerror', None) or e)) from None
    if not lines:
        raise LogError('%s: no epochs logged' % path)
    header = lines[0]
    missing = [c for c in columns if c not in header]
    if missing:
        raise LogError('%s: not a readable loss log (no column %s)' % (path, missing[0]))
    index = [header.index(c) for c in columns]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        if not line:  # a blank line: a CRLF log's line ends made CRLF again (an editor, git)
            continue
        try:
            values = [line[i] for i in index]
            row = (int(values[0]),) + tuple(float(v) for v in values[1:])
        except (IndexError, ValueError):
            raise LogError('%s: not a readable loss log (line %d: %s)'
                           % (path, number, ','.join(line)[:60])) from None
        if row[0] != len(rows) + 1 or not all(math.isfinite(v) for v in row[1:]):
            raise LogError('%s: not a readable loss log (line %d: %s)'
                           % (path, number, 'epoch %d out of order' % row[0]
                              if row[0] != len(rows) + 1 else 'a number that is not finite'))
        rows.append(row)
    return rows


def read(path, columns=COLUMNS[:5]):
    """log.csv as {column: list of values}; LogError for a missing, empty or damaged log."""
    rows = parse(path, columns)
    if not rows:
        raise LogError('%s: no epochs logged' % path)
    return {c: [row[i] for row in rows] for i, c in enumerate(columns)}


def repair(path, epoch, checkpoint_row, columns=COLUMNS):
    """The rows of the log at ``path`` (of ``columns``) that belong to a checkpoint of
    ``epoch``: those of epochs 1 .. epoch, the checkpoint's own row (which it holds) added
    where the run stopped between saving the checkpoint and writing log.csv. LogError
    where earlier rows are missing or damaged."""
    try:
        rows = parse(path, columns) if epoch > 1 or os.path.exists(path) else []
    except LogError as e:
        raise LogError('%s; it does not match its checkpoint of epoch %d' % (e, epoch)) from None
    if len(rows) < epoch - 1:
        raise LogError('%s holds %d epochs, its checkpoint is of epoch %d: the rows between '
                       'are lost' % (path, len(rows), epoch))
    return rows[:epoch - 1] + [tuple(checkpoint_row)]
