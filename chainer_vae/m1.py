"""The semi-supervised M1 of the slides' last part (Kingma, Rezende, Mohamed & Welling
2014, "Semi-supervised Learning with Deep Generative Models", Table 1): the VAE learnt
without labels on all training images, then a classifier on the latent means z_mu
of N labelled ones.

    python -m chainer_vae.m1 RUN_DIR [--labels 100 600 1000 3000] [--draws 10]
                             [--seed 0] [--data-dir DIR]

For each N, ``--draws`` random balanced draws of N labelled training images (N / 10 of
each digit); an SVM (scikit-learn's SVC, RBF kernel, its default C = 1 and
gamma = 'scale', nothing tuned on the test set) learns the labels from their z_mu and
classifies the 10,000 test images; the same SVM on the raw pixels is the baseline.
Test error % as mean and standard deviation over the draws, beside the paper's Table 1
for a run on MNIST (Table 1 is on its test images; a run on other data gets a line saying
so), goes to RUN_DIR/m1.json and m1.md; the caption names the test images. Needs
scikit-learn (``pip install -e '.[eval]'``).

Where this differs from the paper: M1 there is a VAE of 2 hidden layers of 600 units
with 50 latent dimensions, and its classifier a transductive SVM; here it is the
run's own VAE (the legacy's: 500 units, 20 latent dimensions, grey-level data) and an
inductive SVM.
"""
import json
import sys

import numpy as np

from chainer_vae import checkpoint, cli, data, errors, evaluate, files, paper

OUTPUTS = ('m1.json', 'm1.md')


class M1Error(errors.Failure):
    """Labels that cannot be drawn from a run's data; the message is one line."""


def test_error(features_train, y_train, features_test, y_test):
    from sklearn.svm import SVC
    classifier = SVC().fit(features_train, y_train)
    return 100.0 * float((classifier.predict(features_test) != y_test).mean())


def m1(model, x_train, y_train, x_test, y_test, labels=paper.TABLE1_N, draws=10, seed=0):
    """{N: {'latent': [error %, one a draw], 'pixels': [...]}}."""
    codes_train, codes_test = (evaluate.encode_all(model, x)[0] for x in (x_train, x_test))
    results = {}
    for n in labels:
        rng = np.random.RandomState(seed)
        errors = {'latent': [], 'pixels': []}
        for _ in range(draws):
            picked = data.balanced_draw(y_train, n, rng)
            errors['latent'].append(test_error(codes_train[picked], y_train[picked],
                                               codes_test, y_test))
            errors['pixels'].append(test_error(x_train[picked], y_train[picked],
                                               x_test, y_test))
        results[n] = errors
    return results


def markdown(results, draws, run_data, n_test):
    """m1.md: the errors of each N, beside Table 1 for a run on MNIST (``run_data``: its
    config's data; ``n_test``: its test images)."""
    beside = run_data['dataset'] == 'mnist'  # Table 1 was measured on MNIST's test images
    head = ['N labels', 'this run: SVM on z_mu', 'SVM on pixels'] + (list(paper.TABLE1)
                                                                     if beside else [])
    lines = ['| ' + ' | '.join(head) + ' |', '|---' * len(head) + '|']
    for n, found in results.items():
        ours = ['%.2f ± %.2f' % (np.mean(found[f]), np.std(found[f]))
                for f in ('latent', 'pixels')]
        table1 = ['%.2f' % paper.TABLE1[m][paper.TABLE1_N.index(n)] if n in paper.TABLE1_N
                  else '' for m in paper.TABLE1]
        lines.append('| %d | ' % n + ' | '.join(ours + (table1 if beside else [])) + ' |')
    learnt = (' (the VAE learnt on the first {:,} training images)'.format(run_data['n_train'])
              if run_data.get('n_train') else '')
    lines.append('')
    lines.append('Test error %% on %s: mean ± std over %d balanced draws of the labelled '
                 'images%s%s.' % (data.test_images(run_data['dataset'], n_test), draws,
                                           learnt, '; the last four columns are Kingma et al. '
                                           '(2014), Table 1' if beside else ''))
    if not beside:
        lines.append('No columns of Kingma et al. (2014), Table 1: it was measured on %s.'
                     % data.test_images('mnist'))
    return '\n'.join(lines) + '\n'


def check_labels(y_train, labels, run_dir):
    """Refuse a draw that the run's training labels cannot give: unlabelled data, or N / 10
    images of a class that has fewer."""
    classes, counts = np.unique(y_train, return_counts=True)
    if len(classes) < 2:
        raise M1Error('%s was trained on images without labels: M1 needs labelled classes'
                      % run_dir)
    for n in labels:
        if n % len(classes):
            raise M1Error('--labels %d: not a multiple of the %d classes' % (n, len(classes)))
        if n // len(classes) > counts.min():
            raise M1Error('--labels %d: %d of each class, and class %d has %d training images'
                          % (n, n // len(classes), classes[counts.argmin()], counts.min()))


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.m1', name='m1', description=__doc__)
    p.add_argument('run_dir', type=cli.existing_dir, help='a finished train_vae.py --out directory')
    p.add_argument('--out', help='the folder m1.json and m1.md go into (default: RUN_DIR)')
    p.add_argument('--labels', type=cli.positive_int, nargs='+', default=list(paper.TABLE1_N),
                   help='numbers of labelled images (multiples of 10)')
    p.add_argument('--draws', type=cli.positive_int, default=10,
                   help='random draws for each number')
    p.add_argument('--seed', type=cli.seed, default=0, help='seed of the draws')
    p.add_argument('--data-dir', help="the four MNIST .gz files (default: the run config's "
                                      "data_dir, else chainer's dataset cache)")
    args = p.parse_args(argv)
    if any(n % 10 for n in args.labels):
        p.error('--labels: multiples of 10 (N / 10 images of each digit)')
    out = args.out or args.run_dir
    with cli.command('m1', writes_in=out), files.Lock(out).acquire():  # before reading the run
        try:
            import sklearn  # noqa: F401
        except ImportError:
            raise M1Error("needs scikit-learn: pip install -e '.[eval]'") from None
        config, model = checkpoint.load_run(args.run_dir)
        # the grey levels, also for a --binarize run: the codes of the images themselves
        dataset = data.load_for_run(config, args.data_dir, grey=True)
        check_labels(dataset.y_train, args.labels, args.run_dir)
        results = m1(model, dataset.x_train, dataset.y_train, dataset.x_test, dataset.y_test,
                     args.labels, args.draws, args.seed)
        command = 'python -m chainer_vae.m1 ' + ' '.join(sys.argv[1:] if argv is None else argv)
        text = json.dumps({'command': command, 'draws': args.draws, 'seed': args.seed,
                           'test_error_percent': {str(n): e for n, e in results.items()}},
                          indent=1).encode()
        table = markdown(results, args.draws, config['data'], len(dataset.x_test))
        files.write_into(out, OUTPUTS[0], lambda f: f.write(text))
        files.write_into(out, OUTPUTS[1], lambda f: f.write(table.encode()))
    print(table, end='')


if __name__ == '__main__':
    main()
