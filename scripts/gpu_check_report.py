"""The lines of scripts/gpu_check.sh's summary that come from reading its results.

    python scripts/gpu_check_report.py stdout CHUNK...    # the legacy run's printed lines
    python scripts/gpu_check_report.py legacy RUN_DIR     # one line on the legacy run
    python scripts/gpu_check_report.py suite REPORT...    # chainer's GPU cases, added up
    python scripts/gpu_check_report.py m2 RUN_DIR...      # M2 and M1+M2: seconds an epoch

Exit 0: the run has its 100 epochs and its model / every module reported, with no failure;
1: a case failed or a module did not load; 3: not there yet (the run unfinished, a report
missing: a module cut short or crashed); m2: always 0 (gpu_check.sh's exit codes judge it).
"""
import os
import re
import statistics
import sys

from chainer_vae import compare, config, files, m2, runlog


def joined_stdout(chunks):
    """What a run printed over its stopped and resumed parts (their texts, in order), as
    one run never stopped prints it: a part that begins at ``epoch N`` replaces what the
    parts before printed from their last ``epoch N`` on (an epoch cut short is redone)."""
    lines = []
    for text in chunks:
        part = text.splitlines(True)
        if part and part[0] in lines:
            del lines[len(lines) - 1 - lines[::-1].index(part[0]):]
        lines += part
    return ''.join(lines)


def legacy_line(run, epochs=100):
    """(one line on the legacy run in ``run``, whether it has all its epochs and its model)."""
    path = os.path.join(run, 'log.csv')
    rows = runlog.parse(path) if os.path.isfile(path) else []
    if not rows:
        return 'no epoch finished', False
    last = dict(zip(runlog.COLUMNS, rows[-1]))
    then = {k: v[len(rows) - 1] for k, v in runlog.read(compare.LEGACY_LOG).items()}
    times = [b[-1] - a[-1] for a, b in zip(rows, rows[1:])]
    done = int(last['epoch']) >= epochs and os.path.isfile(os.path.join(run, 'mlp_20.model'))
    return ('epoch %d of %d: test loss %.2f (2017: %.2f, %+.2f), train loss %.2f (2017: %.2f); '
            '%s s an epoch (median of epochs 2-%d), %.0f s in all (log.csv wall_time)%s' % (
                last['epoch'], epochs, last['test_loss'], then['test_loss'],
                last['test_loss'] - then['test_loss'], last['train_loss'], then['train_loss'],
                '%.2f' % statistics.median(times) if times else 'n/a', last['epoch'],
                last['wall_time'], '' if done else '; not finished: call again to go on'),
            done)


def suite_line(reports):
    """(one line adding up chainer_suite.py's reports, the exit code: 0, 1 or 3 above)."""
    totals, bad, missing = {}, [], []
    for path in reports:
        text = open(path).read() if os.path.isfile(path) else ''
        table = re.search(r'^\| in all \| (.*) \|\n\|[-|]*\n\| \d+ modules \| (.*) \|$', text, re.M)
        if not table:
            missing.append(os.path.basename(path))
            continue
        for name, value in zip(table.group(1).split(' | '), table.group(2).split(' | ')):
            totals[name] = totals.get(name, 0) + int(value)
        bad += re.findall(r'^- `([^`]+)`: \{', text, re.M)  # a module with a failure
    line = '%d of %d modules reported: %s' % (
        len(reports) - len(missing), len(reports),
        ', '.join('%s %d' % (name, n) for name, n in totals.items()))
    if bad:
        line += '; failing: ' + ', '.join(os.path.basename(m) for m in bad)
    if missing:
        line += '; no report (cut or crashed): ' + ', '.join(missing)
    if bad or totals.get('failed') or totals.get('collection error'):
        return line, 1
    return line, 3 if missing else 0


def m2_line(runs):
    """One line on chainer_vae.m2 runs: each one's seconds an epoch, the median of its
    epochs after the first (which also pays for CuPy compiling its kernels)."""
    parts = []
    for run in runs:
        try:
            settings = m2.read_config(os.path.join(run, files.CONFIG))
            rows = runlog.parse(os.path.join(run, files.LOG), m2.LOG_COLUMNS)
        except (config.ConfigError, runlog.LogError):
            parts.append('%s: no epoch finished' % os.path.basename(run))
            continue
        times = [b[-1] - a[-1] for a, b in zip(rows, rows[1:])]
        parts.append('%s N = %d (%s steps an epoch): %s s an epoch (median of epochs 2-%d; '
                     'epoch 1: %.1f s), test error %.2f %% at epoch %d' % (
                         settings['model'], settings['flags']['labels'],
                         settings['derived'].get('steps', '?'),
                         '%.2f' % statistics.median(times) if times else 'n/a', rows[-1][0],
                         rows[0][-1], rows[-1][-2], rows[-1][0]))
    return '; '.join(parts)


def main(argv):
    if len(argv) < 2 or argv[0] not in ('stdout', 'legacy', 'suite', 'm2'):
        sys.exit(__doc__.strip())
    if argv[0] == 'stdout':
        sys.stdout.write(joined_stdout(open(path).read() for path in argv[1:]))
        return 0
    if argv[0] == 'legacy':
        line, done = legacy_line(argv[1])
        print(line)
        return 0 if done else 3
    if argv[0] == 'm2':
        print(m2_line(argv[1:]))
        return 0
    line, code = suite_line(argv[1:])
    print(line)
    return code


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
