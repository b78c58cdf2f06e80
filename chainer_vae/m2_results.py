"""M2 and M1+M2 runs (chainer_vae/m2.py) beside Kingma et al. (2014), Table 1, made from
their run folders' config.json and log.csv alone, so also from runs still going.

    python -m chainer_vae.m2_results RUN_DIR [RUN_DIR ...] --out DIR

writes into DIR:
  summary.json  a list of the runs, each {"model": "M1+M2" or "M2", "n_labels": N,
                "seed": s, "epochs": epochs logged, "test_error": % at the last epoch,
                "best_valid_test_error": % at the epoch of the lowest validation error}
  table.md      for each model and N, the test errors as mean ± std over the runs
                (seeds), beside the paper's
  curves.png    validation (dashed) and test error (solid) against epochs, a line each run
"""
import csv
import json
import os

import numpy as np
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402

from chainer_vae import checkpoint, cli, m1  # noqa: E402

MODELS = ('M2', 'M1+M2')


class ResultsError(Exception):
    """A run folder that cannot be read; the message is one line."""


def read_run(run_dir):
    """One entry of summary.json from the run's config.json and log.csv."""
    try:
        with open(os.path.join(run_dir, checkpoint.CONFIG)) as f:
            config = json.load(f)
        with open(os.path.join(run_dir, checkpoint.LOG), newline='') as f:
            rows = list(csv.DictReader(f))
        valid, test = (np.array([float(r[k]) for r in rows]) for k in ('valid_error',
                                                                         'test_error'))
        model, flags = config['model'], config['flags']
        entry = {'model': model, 'n_labels': int(flags['labels']), 'seed': int(flags['seed'])}
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as e:
        raise ResultsError('%s: not an M2 run folder with a readable config.json and log.csv '
                           '(%s)' % (run_dir, str(e) or type(e).__name__)) from None
    if not rows or model not in MODELS:
        raise ResultsError('%s: %s' % (run_dir, 'no epoch logged yet' if not rows
                                       else 'model %r is neither M2 nor M1+M2' % model))
    entry.update(epochs=len(rows), test_error=float(test[-1]),
                 best_valid_test_error=float(test[np.argmin(valid)]))
    return entry, valid, test


def spread(values):
    return ('%.2f ± %.2f' % (np.mean(values), np.std(values)) if len(values) > 1
            else '%.2f' % values[0])


def table(runs):
    """table.md: a row for each model and N, beside Table 1."""
    lines = ['| model | N labels | seeds | epochs | test error % at the last epoch | at the '
             'best validation epoch | Kingma et al. 2014, Table 1 |', '|---' * 7 + '|']
    groups = sorted({(r['model'], r['n_labels']) for r in runs},
                    key=lambda g: (MODELS.index(g[0]), g[1]))
    for model, n in groups:
        group = [r for r in runs if (r['model'], r['n_labels']) == (model, n)]
        epochs = sorted({r['epochs'] for r in group})
        paper = m1.PAPER[model][m1.PAPER_N.index(n)] if n in m1.PAPER_N else None
        lines.append('| %s | %d | %s | %s | %s | %s | %s |' % (
            model, n, ', '.join(str(r['seed']) for r in group),
            '%d' % epochs[0] if len(epochs) == 1 else '%d-%d' % (epochs[0], epochs[-1]),
            spread([r['test_error'] for r in group]),
            spread([r['best_valid_test_error'] for r in group]),
            '' if paper is None else '%.2f' % paper))
    lines += ['', 'Test error % on the 10,000 MNIST test images, as mean ± std over the seeds '
              'where there are several; the best validation epoch is the one of the lowest '
              'error on the 10,000 validation images (the last of the 60,000 training images). '
              'Table 1 gives 11.97 ± 1.71 (M2) and 3.33 ± 0.14 (M1+M2) at N = 100.']
    return '\n'.join(lines) + '\n'


def curves(runs, path):
    """Validation (dashed) and test error (solid) against epochs, a panel a model."""
    models = [m for m in MODELS if any(r['model'] == m for r, _, _ in runs)]
    fig, axes = plt.subplots(1, len(models), figsize=(6.5 * len(models), 4.8), dpi=100,
                             squeeze=False)
    for ax, model in zip(axes[0], models):
        mine = [(r, v, t) for r, v, t in runs if r['model'] == model]
        for i, (r, valid, test) in enumerate(sorted(mine, key=lambda x: (x[0]['n_labels'],
                                                                          x[0]['seed']))):
            epochs = np.arange(1, len(test) + 1)
            label = 'N = %d, seed %d' % (r['n_labels'], r['seed'])
            ax.plot(epochs, test, color='C%d' % i, label=label + ': test')
            ax.plot(epochs, valid, '--', color='C%d' % i, lw=0.8, label=label + ': validation')
        for n in sorted({r['n_labels'] for r, _, _ in mine} & set(m1.PAPER_N)):
            ax.axhline(m1.PAPER[model][m1.PAPER_N.index(n)], color='grey', ls=':', lw=0.8)
        ax.set_yscale('log')
        ax.set_xlabel('epoch')
        ax.set_ylabel('error %')
        ax.set_title('%s (dotted: Table 1)' % model)
        ax.legend(fontsize=7)
    fig.tight_layout()
    checkpoint.write_atomic(path, lambda f: fig.savefig(f, format='png'))
    plt.close(fig)


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.m2_results', name='m2_results',
                   description=__doc__)
    p.add_argument('runs', nargs='+', metavar='RUN_DIR', help='python -m chainer_vae.m2 '
                                                              'run folders (finished or not)')
    p.add_argument('--out', required=True, help='folder for summary.json, table.md, curves.png')
    args = p.parse_args(argv)
    with cli.one_line_errors('m2_results', args.out, ResultsError):
        runs = [read_run(run) for run in args.runs]
        os.makedirs(args.out, exist_ok=True)
        summary = json.dumps([r for r, _, _ in runs], indent=1).encode()
        text = table([r for r, _, _ in runs])
        for name, content in (('summary.json', summary), ('table.md', text.encode())):
            checkpoint.write_atomic(os.path.join(args.out, name), lambda f: f.write(content))
        curves(runs, os.path.join(args.out, 'curves.png'))
    print(text, end='')


if __name__ == '__main__':
    main()
