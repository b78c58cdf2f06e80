"""M2 and M1+M2 runs (chainer_vae/m2.py) beside Kingma et al. (2014), Table 1, made from
their run folders' config.json and log.csv alone, so also from runs still going.

    python -m chainer_vae.m2_results RUN_DIR [RUN_DIR ...] [--epoch E] --out DIR

writes into DIR:
  summary.json  a list of the runs, each {"model": "M1+M2" or "M2", "n_labels": N,
                "seed": s, "dataset": its --dataset, "epochs": epochs logged,
                "test_error": % at the last epoch,
                "best_valid_test_error": % at the epoch of the lowest validation error,
                "settings": where the run or its M1 departs from Kingma's ("Kingma's"
                where neither does), and its M1's epochs,
                "headline": whether the run has Kingma's M2 settings (on any M1)}
  table.md      for each model, N and settings, the test errors as mean ± std over the
                runs (seeds), beside the paper's where the runs are on MNIST (Table 1 is
                on its test images; a run on other data gets a line saying so)
  curves.png    the headline: validation (dashed) and test error (solid) against epochs
                of the runs of Kingma's M2 settings, the seeds of a setting averaged, and
                Table 1's error of each N (dotted, labelled)
  curves_experiments.png  the same of the other runs, a line each run
  RUN/          for each run (and the M1 run of an M1+M2 one), under its folder's name: its
                log.csv and its config.json without this machine's folders (data_dir null,
                the M1 run by its folder's name), as results/ keeps runs

DIR is never a run folder that it reads (a run's, or its M1's), nor inside one, nor does it
hold one under a copy's name: a run whose config.json were replaced by its portable copy
could not go on. A run given twice (by another path, a link) is one line too, not two
seeds.

``--epoch E`` makes summary.json, table.md and the curves as at epoch E (a run with fewer
epochs as far as it got; the kept copies stay whole), so seeds that have run on to
different epochs are put side by side at one.

A RUN_DIR may be such a kept copy (results/m2/m1m2_n100_s0): its M1 is the folder of that
name beside it, so a table is made again from the runs kept in results/ and new ones (into
the same DIR: a kept copy, nothing but config.json and log.csv, is written again as itself).
"""
import json
import os

import numpy as np

from chainer_vae import checkpoint, cli, config as run_config, data, errors, files, paper, runlog
from chainer_vae.plotting import plt, save_figure, ticker

OUTPUTS = ('summary.json', 'table.md', 'curves.png', 'curves_experiments.png')


class ResultsError(errors.Failure):
    """A run folder that cannot be read; the message is one line."""


SETTINGS = ('dataset', 'n_train', 'n_hidden', 'steps', 'dimz', 'init', 'reshuffle', 'grey')
WORDS = dict(dataset='{}', n_train='the first {} training images', n_hidden='H = {}',
             steps='{} steps an epoch', dimz='z of {} dimensions', init="{}'s first weights",
             reshuffle='batches drawn anew each epoch', grey='grey levels')
M1_WORDS = dict(n_h='M1 of H = {}', n_latent='M1 of z = {}', activation='M1 of {}',
                lr='M1 at lr {:g}', weight_decay='M1 with weight decay {:g}',
                grad_clip='M1 clipped at norm {:g}')


def departures(flags):
    """Where a run's flags depart from Kingma's settings (the defaults of python -m
    chainer_vae.m2), in words; none for his."""
    kingma = dict(paper.KINGMA, n_hidden=paper.hidden_of(flags['labels'], flags['m1']),
                  steps=paper.steps_of(flags['labels']))
    flags = dict(flags, steps=flags['steps'] or kingma['steps'])  # none given: Kingma's
    return [WORDS[name].format(flags[name]) for name in SETTINGS if flags[name] != kingma[name]]


def settings(flags, m1_config=None):
    """Where a run's flags depart from Kingma's settings (``departures``), and its M1
    (train_vae.py's ``m1_config``) from his M1 (784-500-500-50, softplus, the pixels
    binarised, Adam 3e-4 with weight decay), in words; "Kingma's" where they do not. An
    M1's epochs are always named: his learnt for thousands (the "longrun" model, its
    pictures at epoch 10,000), and runs on one M1 at two of its epochs are not seeds of one
    row."""
    words = departures(flags)
    if m1_config:
        words += [M1_WORDS[name].format(m1_config['model'][name]) for name in paper.KINGMA_M1
                  if m1_config['model'][name] != paper.KINGMA_M1[name]]
        if not m1_config['data']['binarize']:
            words.append('M1 on grey levels')
        words += [M1_WORDS[name].format(m1_config['training'][name])
                  for name, kingmas in paper.KINGMA_M1_TRAINING.items()
                  if m1_config['training'][name] != kingmas]
        words.append('M1 of %d epochs' % m1_config['training']['epoch'])
    return ', '.join(words) or "Kingma's"


def m1_dir_of(run_dir, config):
    """The M1 run folder of an M1+M2 run (None for M2): the path its config.json gives, or,
    for a run kept here (its M1 given by folder name alone), the folder of that name beside
    it."""
    m1_dir = config['flags']['m1']
    return m1_dir and os.path.join(os.path.dirname(os.path.normpath(run_dir)), m1_dir)


def read_run(run_dir, epoch=None):
    """One entry of summary.json from the run's config.json and log.csv (both checked),
    and its validation and test errors by epoch; up to ``epoch`` where one is given."""
    try:
        config = run_config.read_m2(os.path.join(run_dir, files.CONFIG))
        rows = runlog.parse(os.path.join(run_dir, files.LOG), ('epoch', 'valid_error',
                                                                'test_error'))
    except errors.Failure as e:
        raise ResultsError('not an M2 run folder: %s' % e) from None
    rows = [row for row in rows if epoch is None or row[0] <= epoch]
    if not rows:
        raise ResultsError('%s: no epoch logged yet' % run_dir)
    _, valid, test = (np.array(column) for column in zip(*rows))
    m1_dir = m1_dir_of(run_dir, config)
    m1_config = m1_dir and run_config.read(os.path.join(m1_dir, files.CONFIG))
    entry = {'model': config['model'], 'n_labels': config['flags']['labels'],
             'seed': config['flags']['seed'], 'dataset': config['flags']['dataset'],
             'epochs': len(rows),
             'test_error': float(test[-1]), 'best_valid_test_error': float(test[np.argmin(valid)]),
             'settings': settings(config['flags'], m1_config),
             'headline': not departures(config['flags'])}  # Kingma's M2, whatever its M1
    return entry, valid, test


def portable_runs(run_dirs):
    """{folder name: (the folder, its config with no machine-local folder, log.csv's
    bytes)} of the runs and of the M1 runs they learnt from; one line for two runs of the
    same folder name."""
    runs = {}

    def add(run_dir, config):
        name = os.path.basename(os.path.normpath(run_dir))
        if name in runs and os.path.realpath(runs[name][0]) != os.path.realpath(run_dir):
            raise ResultsError('%s and %s: two runs of one folder name'
                               % (runs[name][0], run_dir))
        runs[name] = run_dir, config
        return name

    for run_dir in run_dirs:
        config = run_config.read_m2(os.path.join(run_dir, files.CONFIG))
        config['flags']['data_dir'] = None
        m1_dir = m1_dir_of(run_dir, config)
        if m1_dir:
            m1_config = run_config.read(os.path.join(m1_dir, files.CONFIG))
            learnt_from = config['derived'].get('m1_model_sha256')
            kept = not os.path.isabs(config['flags']['m1'])  # a kept copy: checked as it was kept
            if learnt_from and not kept and learnt_from != checkpoint.model_sha256(
                    m1_dir, m1_config):
                raise ResultsError('%s learnt from %s as it was before it was trained on: the '
                                   'M1 kept beside the table would not be its M1'
                                   % (run_dir, m1_dir))
            m1_config['data']['data_dir'] = None
            config['flags']['m1'] = add(m1_dir, m1_config)
        add(run_dir, config)
    copies = {}
    for name, (run_dir, config) in runs.items():
        log = files.read_or_none(os.path.join(run_dir, files.LOG))
        if log is None:
            raise ResultsError('%s: no %s to keep beside the table' % (run_dir, files.LOG))
        copies[name] = run_dir, config, log
    return copies


def given_once(run_dirs):
    """Refuse a run given twice (by one path or two, a link say): it would count as two
    seeds, a spread of 0."""
    seen = {}
    for run_dir in run_dirs:
        real = os.path.realpath(run_dir)
        if real in seen:
            raise ResultsError('%s and %s: the same run given twice (one seed, not two)'
                               % (seen[real], run_dir))
        seen[real] = run_dir


def within(path, folder):
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def kept_copy(folder):
    """True for a run kept beside a table (results/m2/m1m2_n100_s0): nothing but its
    config.json and log.csv, and the list of the files written there."""
    return set(os.listdir(folder)) <= {files.CONFIG, files.LOG, files.WRITTEN, files.LOCK}


def check_out(out, copies):
    """Refuse an ``out`` that would write into a folder read from (a run or its M1): a run's
    config.json replaced by its portable copy loses the M1's path, and the run cannot go on.
    A kept copy alone is written again, as itself, under its own name."""
    real_out = os.path.realpath(out)
    read = [(name, run_dir, os.path.realpath(run_dir)) for name, (run_dir, _, _) in
            copies.items()]
    for _, run_dir, real in read:
        if within(real_out, real):
            raise ResultsError('--out %s: inside the run folder %s, which it reads: the results '
                               'go into a folder of their own' % (out, run_dir))
    for name in copies:
        target = os.path.realpath(os.path.join(out, name))
        for source, run_dir, real in read:
            if within(target, real) and not (source == name and target == real
                                             and kept_copy(run_dir)):
                raise ResultsError('--out %s: the copy of %s would be written over the run '
                                   'folder %s, which it reads (its config.json would lose its '
                                   'own folders, and the run could not go on): the results go '
                                   'into another folder' % (out, name, run_dir))


def spread(values):
    return ('%.2f ± %.2f' % (np.mean(values), np.std(values)) if len(values) > 1
            else '%.2f' % values[0])


def table1(run):
    """Table 1's test error % for the run's model and N (None where it has none): for runs
    on MNIST alone, the data it was measured on."""
    if run['dataset'] != 'mnist' or run['n_labels'] not in paper.TABLE1_N:
        return None
    return paper.TABLE1[run['model']][paper.TABLE1_N.index(run['n_labels'])]


def table(runs):
    """table.md: a row for each model, N and settings, beside Table 1 where on MNIST; the
    caption names the test images of each data set."""
    on_mnist = any(r['dataset'] == 'mnist' for r in runs)
    lines = ['| model | N labels | settings | seeds | epochs | test error % at the last epoch | '
             'at the best validation epoch |' + (' Kingma et al. 2014, Table 1 |' if on_mnist
                                                 else ''), '|---' * (7 + on_mnist) + '|']
    key = lambda r: (r['model'], r['n_labels'], r['settings'])  # noqa: E731
    groups = sorted({key(r) for r in runs}, key=lambda g: (run_config.M2_MODELS.index(g[0]), g[1],
                                                            g[2] != "Kingma's", g[2]))
    for model, n, how in groups:
        group = [r for r in runs if key(r) == (model, n, how)]  # one data set: in the settings
        epochs = sorted({r['epochs'] for r in group})
        cells = [model, '%d' % n, how, ', '.join(str(r['seed']) for r in group),
                 '%d' % epochs[0] if len(epochs) == 1 else '%d-%d' % (epochs[0], epochs[-1]),
                 spread([r['test_error'] for r in group]),
                 spread([r['best_valid_test_error'] for r in group])]
        if on_mnist:
            cells.append('' if table1(group[0]) is None else '%.2f' % table1(group[0]))
        lines.append('| %s |' % ' | '.join(cells))
    datasets = sorted({r['dataset'] for r in runs}, key=lambda d: (d != 'mnist', d))
    tested_on = (data.test_images(datasets[0]) if len(datasets) == 1 else ', '.join(
        '%s (rows on %s)' % (data.test_images(d), d) for d in datasets))
    lines += ['', 'Test error %% on %s, as mean ± std over the seeds where there are several; '
              'the best validation epoch is the one of the lowest error on the validation '
              'images (the training images after a run\'s first N: the last 10,000 of '
              'MNIST\'s 60,000 at Kingma\'s 50,000).' % tested_on]
    if on_mnist:
        lines[-1] += (' Table 1 gives 11.97 ± 1.71 (M2) and 3.33 ± 0.14 (M1+M2) at N = 100.')
    others = [d for d in datasets if d != 'mnist']
    if others:
        lines.append('Runs on %s stand beside no Table 1 number: Table 1 was measured on %s.'
                     % (', '.join(others), data.test_images('mnist')))
    return '\n'.join(lines) + '\n'


def line_colours(k):
    """k colours, none twice (C0-C9 alone come round again at the 11th run): C0-C9, which
    are tab20's darker half, so ten runs or fewer look as before; then tab20's lighter half;
    past 20 runs a spectrum."""
    if k > 20:
        return [tuple(c) for c in plt.cm.nipy_spectral(np.linspace(0.0, 0.95, k))]
    return [plt.cm.tab20(2 * i if i < 10 else 2 * (i - 10) + 1) for i in range(k)]


def headline(runs):
    """The runs of Kingma's M2 settings (on whatever M1), the seeds of each setting as one
    curve: their mean validation and test error at each epoch all of them reached."""
    groups = {}
    for r, valid, test in runs:
        if r['headline']:
            key = (r['model'], r['n_labels'], r['dataset'], r['settings'])
            groups.setdefault(key, []).append((r, valid, test))
    curves = []
    for group in groups.values():
        n = min(len(test) for _, _, test in group)
        seeds = sorted(r['seed'] for r, _, _ in group)
        curves.append((dict(group[0][0], seed=seeds[0], seeds=seeds),
                       np.mean([valid[:n] for _, valid, _ in group], axis=0),
                       np.mean([test[:n] for _, _, test in group], axis=0)))
    return curves


def curve_label(r):
    seeds = r.get('seeds', [r['seed']])
    label = 'N = %d, ' % r['n_labels'] + ('seed %d' % seeds[0] if len(seeds) == 1 else
                                          'mean of seeds %s' % ', '.join(map(str, seeds)))
    return label + ('' if r['settings'] == "Kingma's" else ' (%s)' % r['settings'])


def curves(runs, path):
    """Validation (dashed) and test error (solid) against epochs, a panel a model, and
    Table 1's error of each N drawn (dotted) for runs on MNIST."""
    models = [m for m in run_config.M2_MODELS if any(r['model'] == m for r, _, _ in runs)]
    fig, axes = plt.subplots(1, max(1, len(models)), figsize=(6.5 * max(1, len(models)), 4.8),
                             dpi=100, squeeze=False)
    if not models:
        axes[0][0].text(0.5, 0.5, 'no runs', ha='center', transform=axes[0][0].transAxes)
    for ax, model in zip(axes[0], models):
        mine = [(r, v, t) for r, v, t in runs if r['model'] == model]
        colours = line_colours(len(mine))
        for i, (r, valid, test) in enumerate(sorted(mine, key=lambda x: (x[0]['n_labels'],
                                                                          x[0]['seed']))):
            epochs = np.arange(1, len(test) + 1)
            label = curve_label(r)
            ax.plot(epochs, test, color=colours[i], label=label)
            ax.plot(epochs, valid, '--', color=colours[i], lw=0.8, label='_validation')
        papers = sorted({(r['n_labels'], table1(r)) for r, _, _ in mine if table1(r)})
        for k, (n, error) in enumerate(papers):  # on MNIST alone; their labels side by side
            ax.axhline(error, color='grey', ls=':', lw=0.8)
            ax.annotate('Table 1, N = %d: %.2f %%' % (n, error), (1 - 0.25 * k, error),
                        xycoords=('axes fraction', 'data'), xytext=(-4, 2),
                        textcoords='offset points', ha='right', va='bottom', fontsize=7,
                        color='dimgrey')
        ax.set_yscale('log')  # error % on plain numbers, not 4 x 10^1
        low, high = ax.get_ylim()
        ax.set_yticks([t for t in (1, 2, 3, 5, 10, 20, 30, 50, 100) if low <= t <= high])
        ax.set_ylim(low, high)
        ax.yaxis.set_major_formatter(ticker.ScalarFormatter())
        ax.yaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set_xlabel('epoch')
        ax.set_ylabel('error %')
        ax.set_title(model + ': test error (solid), validation (dashed)'
                     + ('; Table 1 (dotted)' if papers else ''), fontsize=10)
    fig.tight_layout()
    for ax in axes[0][:len(models)]:  # below the panels, so the curves and ticks stay clear;
        ax.legend(fontsize=7, loc='upper center', bbox_to_anchor=(0.5, -0.12))  # it grows
    save_figure(fig, path, bbox_inches='tight')


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.m2_results', name='m2_results',
                   description=__doc__)
    p.add_argument('runs', nargs='+', metavar='RUN_DIR', type=cli.existing_dir,
                   help='python -m chainer_vae.m2 run folders (finished or not)')
    p.add_argument('--epoch', type=cli.positive_int, metavar='E',
                   help='the runs as at epoch E (those with fewer as far as they got)')
    p.add_argument('--out', required=True, help='folder for summary.json, table.md, the curves')
    args = p.parse_args(argv)
    with cli.command('m2_results', writes_in=args.out):
        given_once(args.runs)
        runs = [read_run(run, args.epoch) for run in args.runs]
        copies = portable_runs(args.runs)
        check_out(args.out, copies)  # before the lock: it too is written in --out
        summary = json.dumps([r for r, _, _ in runs], indent=1).encode()
        text = table([r for r, _, _ in runs])
        with files.Lock(args.out).acquire():  # no other m2_results writes here meanwhile
            files.write_bytes(os.path.join(args.out, OUTPUTS[0]), summary)
            files.write_bytes(os.path.join(args.out, OUTPUTS[1]), text.encode())
            curves(headline(runs), os.path.join(args.out, OUTPUTS[2]))
            curves([run for run in runs if not run[0]['headline']],
                   os.path.join(args.out, OUTPUTS[3]))
            files.record(args.out, OUTPUTS)
            for name, (_, config, log) in copies.items():
                folder = os.path.join(args.out, name)
                os.makedirs(folder, exist_ok=True)
                text_of = json.dumps(config, indent=1).encode()
                files.write_into(folder, files.CONFIG, lambda f, t=text_of: f.write(t))
                files.write_into(folder, files.LOG, lambda f, t=log: f.write(t))
    print(text, end='')


if __name__ == '__main__':
    main()
