"""The pictures and GIFs of the slides and the Qiita post, from a trained run.

    python -m chainer_vae.visualize RUN_DIR [--only NAMES] [--start 0 --end 9] [--out DIR]
                                    [--no-kl] [--legacy-log CSV] [--data-dir DIR]

RUN_DIR is a train_vae.py --out directory (config.json, mlp_<dimz>.model, log.csv,
graph.dot); the model is rebuilt from config.json. Writes into --out (default RUN_DIR),
each picture by its name for --only (default: all):
  reconstructions  reconstructions.png: the first 10 test images beside their reconstructions
  samples          samples.png: 100 digits decoded from z ~ N(0, I)
  latent_scatter   latent_scatter.png: z_mu of the first 5,000 test images by label (a PCA
                   projection when dimz > 2)
  mapping          mapping.png: the 25 x 25 manifold, when dimz = 2
  morph            vae_0to9.gif: the code of a 0 morphing into the code of a 9 (legacy spec);
                   --start/--end another pair, vae_<start>to<end>_dim<dimz>.gif
  all_pairs        vae_all_9to9.gif: every start digit to every end digit at once (legacy spec)
                   (other data: their classes, vae_0to<C-1>.gif, vae_all_<C-1>to<C-1>.gif;
                   images at their own size)
  kl               kl_visualize.gif, kl_visualize2.gif: the KL animations (kl_animation.py)
  loss_curves      loss_curves.png: train/test loss from log.csv, the 2017 run's dashed; the
                   legend says where the run's data or model are not the 2017 run's
  comparison       legacy_comparison.md: the verdict against the 2017 run (compare.py), for a
                   run of the legacy configuration
  graph            graph.png, graph.svg: graph.dot through Graphviz's dot, where installed
A picture that the run cannot give (mapping of a dimz other than 2, the morphs of images
without labels, the graph without Graphviz, the comparison of a run of other settings) is
skipped, or, named in --only, one line saying why, and nothing is drawn.
The last three need no model (mlp_<dimz>.model): --only of them redraws a run whose model
is gone, as the committed runs of results/.
The pictures are drawn in a staging folder and moved in together: an interrupt or a full
disk leaves the earlier ones whole.
"""
import os
import shutil
import subprocess
import tempfile

import numpy as np

import chainer

from chainer_vae import (checkpoint, cli, compare, config as run_config, data, errors, evaluate,
                         files, interrupt, kl_animation, runlog)
from chainer_vae.plotting import plt, save_figure, save_gif

DPI = 64  # the legacy GIFs: 4 in -> 256 px, 6 in -> 384 px
# --only: the pictures by name, each the files it writes (a morph's name: see morph_name)
PICTURES = ('reconstructions', 'samples', 'latent_scatter', 'mapping', 'morph', 'all_pairs',
            'kl', 'loss_curves', 'comparison', 'graph')
FROM_THE_LOG = ('loss_curves', 'comparison', 'graph')  # drawn from log.csv, config, graph.dot


class VisualizeError(errors.Failure):
    """A run directory that cannot be drawn; the message is one line for the user."""


# ---- model pictures: reconstructions, samples, the latent space ------------------

def encode_mu(model, x):
    return evaluate.encode_all(model, x)[0].astype(np.float32)


def decode(model, z, shape=(28, 28)):
    """Images (n, *shape) decoded with the sigmoid."""
    with chainer.no_backprop_mode():
        return model.decode(np.asarray(z, np.float32)).array.reshape((-1,) + tuple(shape))


def class_codes(model, x_test, y_test, n_classes=10):
    """z_mu of the first test image of each class (for MNIST, the legacy's pick: the first
    of each digit 0..9 among the first 100 test images)."""
    index = [int(np.flatnonzero(y_test == c)[0]) for c in range(n_classes) if (y_test == c).any()]
    if len(index) < n_classes:
        raise VisualizeError('the test set lacks images of %d of the %d classes'
                             % (n_classes - len(index), n_classes))
    return encode_mu(model, x_test[index])


def tile(images, rows, cols, border=0, fill=0.5):
    """One canvas of rows x cols images (all of one shape), ``border`` px of grey between."""
    h, w = images[0].shape
    canvas = np.full((rows * (h + border) + border, cols * (w + border) + border), fill,
                     np.float32)
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        top, left = border + r * (h + border), border + c * (w + border)
        canvas[top:top + h, left:left + w] = image
    return canvas


def save_canvas(canvas, path, inches):
    """A tiled canvas as a picture of inches x inches at DPI, without axes."""
    fig = plt.figure(figsize=(inches, inches), dpi=DPI)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.imshow(canvas, cmap='gray', vmin=0, vmax=1, interpolation='nearest')
    ax.axis('off')
    save_figure(fig, path, dpi=DPI)


def reconstructions(model, x_test, path, shape=(28, 28), n=10):
    """The slides' "Example of Output": input beside reconstruction, five pairs a row."""
    rec = decode(model, encode_mu(model, x_test[:n]), shape)
    fig, axes = plt.subplots(2, 2 * 5, figsize=(10, 2.3), dpi=100)
    for ax in axes.flat[2 * len(rec):]:  # a test set of fewer than n images
        ax.axis('off')
    for k in range(len(rec)):
        row, col = divmod(k, 5)
        for j, (image, title) in enumerate(((x_test[k].reshape(shape), 'Input image'),
                                            (rec[k], 'Reconstruction image'))):
            ax = axes[row, 2 * col + j]
            ax.imshow(image, cmap='gray', vmin=0, vmax=1)
            ax.set_title(title, fontsize=6)
            ax.axis('off')
    save_figure(fig, path, bbox_inches='tight')


def samples(model, n_latent, path, shape=(28, 28), n=10, seed=0):
    z = np.random.RandomState(seed).standard_normal((n * n, n_latent))
    save_canvas(tile(decode(model, z, shape), n, n, border=1), path, 6)


def manifold_canvas(model, shape=(28, 28), n=25, lim=2.0):
    """Decoded images over z in [-lim, lim]^2: rows run from +z2 (top) down to -z2."""
    values = np.linspace(-lim, lim, n)
    z = np.array([(z1, z2) for z2 in values[::-1] for z1 in values])
    return tile(decode(model, z, shape), n, n)


def latent_scatter(model, x_test, y_test, path, classes=data.CLASSES['mnist'], n=5000):
    mu = encode_mu(model, x_test[:n])
    save_figure(latent_figure(mu, y_test[:n], classes), path)


def latent_figure(mu, labels, classes):
    """The scatter of the codes ``mu`` coloured by label, each class's name at its mean (a
    PCA projection when dimz > 2)."""
    title = 'z_mu of the first %d test images' % len(mu)
    axes = ('z_mu[0]', 'z_mu[1]')
    if mu.shape[1] > 2:  # project onto the two leading principal components
        centred = mu - mu.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        title += ': PCA projection (components 1, 2) of dimz = %d' % mu.shape[1]
        axes = ('principal component 1 of z_mu', 'principal component 2 of z_mu')
        mu = centred @ vt[:2].T
    fig, ax = plt.subplots(figsize=(8, 7), dpi=100)
    c = len(classes)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap='tab10' if c <= 10 else 'tab20',
                        s=4, vmin=-0.5, vmax=c - 0.5)
    colorbar = fig.colorbar(points, ticks=range(c))
    colorbar.ax.set_yticklabels(classes)
    ax.set_xlabel(axes[0])
    ax.set_ylabel(axes[1])
    ax.set_title(title, fontsize=10)
    shown = [d for d in range(c) if (labels == d).any()]
    place_names(ax, [mu[labels == d].mean(axis=0) for d in shown], [classes[d] for d in shown],
                fontsize=20 if max(len(classes[d]) for d in shown) < 3 else 11)
    return fig


def place_names(ax, positions, names, fontsize):
    """Each name at its position (a class's mean); names that would overlap are moved
    apart, up and down, until none does, each moved one tied to its position by a line.
    Call it last: the axes' layout and limits are frozen here."""
    ax.set_xlim(ax.get_xlim())
    ax.set_ylim(ax.get_ylim())
    texts = [ax.text(x, y, name, fontsize=fontsize, weight='bold', ha='center', va='center',
                     bbox=dict(boxstyle='round,pad=0.1', fc='white', ec='none', alpha=0.6))
             for (x, y), name in zip(positions, names)]
    renderer = ax.figure.canvas.get_renderer()
    to_data = ax.transData.inverted()

    def box(k):
        return texts[k].get_window_extent(renderer).padded(2)

    for _ in range(50 * len(texts)):
        pairs = [(i, j) for i in range(len(texts)) for j in range(i + 1, len(texts))
                 if box(i).overlaps(box(j))]
        if not pairs:
            break
        for i, j in pairs:
            a, b = box(i), box(j)
            if not a.overlaps(b):
                continue
            lift = (min(a.y1, b.y1) - max(a.y0, b.y0)) / 2 + 1  # pixels each way
            up, down = (i, j) if (a.y0 + a.y1, j) >= (b.y0 + b.y1, i) else (j, i)
            for k, sign in ((up, 1), (down, -1)):
                x, y = ax.transData.transform(texts[k].get_position())
                texts[k].set_position(to_data.transform((x, y + sign * lift)))
    for text, (x, y) in zip(texts, positions):
        if not np.allclose(text.get_position(), (x, y)):
            ax.plot([x, text.get_position()[0]], [y, text.get_position()[1]], color='0.3',
                    linewidth=0.8, zorder=text.get_zorder() - 0.5)
    return texts


# ---- morph GIFs: one code into another, decoded frame by frame --------------------

def morph_gif(model, codes, start, end, path, shape=(28, 28), names=None, n_frames=81):
    """Decode (1 - t) z[start] + t z[end] for t in linspace(0, 1, 81): 80 ms a frame.
    ``names``: the two classes' names, for the title (the legacy's digits have none)."""
    ts = np.linspace(0, 1, n_frames)
    frames = decode(model, [(1 - t) * codes[start] + t * codes[end] for t in ts], shape)
    fig = plt.figure(figsize=(4, 4), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)

    def draw_frame(i):
        ax.clear()
        ax.imshow(frames[i], cmap='gray', vmin=0, vmax=1)
        if names is None:
            ax.set_title('t=%d' % i)  # the legacy titles: the frame index
        else:
            ax.set_title('%s to %s, t=%d' % (names + (i,)), fontsize=10)
        ax.axis('off')

    save_gif(fig, draw_frame, n_frames, 12.5, path, dpi=DPI)


def all_pairs_gif(model, codes, path, shape=(28, 28), n_steps=40):
    """Row i morphs class i into class j of column j; t runs 0 -> 1 -> 0 (80 frames, 100 ms)."""
    ts = np.linspace(0, 1, n_steps)
    ts = np.concatenate([ts, ts[::-1]])
    c = len(codes)
    start = np.repeat(codes, c, axis=0)  # pair (i, j) at index c i + j
    end = np.tile(codes, (c, 1))
    fig = plt.figure(figsize=(6, 6), dpi=DPI)
    ax = fig.add_subplot(1, 1, 1)
    ax.axis('off')
    image = ax.imshow(tile(decode(model, start, shape), c, c, border=1), cmap='gray',
                      vmin=0, vmax=1, interpolation='nearest')

    def draw_frame(i):
        image.set_data(tile(decode(model, (1 - ts[i]) * start + ts[i] * end, shape), c, c,
                            border=1))
        ax.set_title('t=%d' % i)  # the frame index, as in the legacy

    save_gif(fig, draw_frame, len(ts), 10, path, dpi=DPI)


# ---- log pictures: loss curves, the comparison with 2017, the graph -------------

def loss_curves(log, path, legacy=None, other=None):
    save_figure(loss_figure(log, legacy, other), path)


def loss_figure(log, legacy=None, other=None):
    """Total and reconstruction loss per epoch, train and test (``log``: runlog.read's
    columns); the 2017 run's dashed where ``legacy`` is given. ``other``: what makes this
    run other than the 2017 run (run_differences), the legend's title."""
    logs = [('this run', log, '-')] + ([('2017 run', legacy, '--')] if legacy else [])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    for ax, (key, title) in zip(axes, (('loss', '-ELBO (total loss)'),
                                       ('rec_loss', 'reconstruction loss'))):
        for name, columns, style in logs:
            for split, color in (('train', 'C0'), ('test', 'C1')):
                ax.plot(columns['epoch'], columns['%s_%s' % (split, key)], style, color=color,
                        label='%s, %s' % (name, split))
        ax.set_xlabel('epoch')
        ax.set_ylabel('nats per image')
        ax.set_title(title)
        ax.legend(title=other and 'this run: ' + other, title_fontsize='small')
        # zoom on the late epochs, yet keep every log's last epoch in view
        low = min(min(columns[split + '_' + key]) for _, columns, _ in logs
                  for split in ('train', 'test'))
        last = max(columns['test_' + key][-1] for _, columns, _ in logs)
        ax.set_ylim(low - 5, max(low + 60, last + 20))
    fig.tight_layout()
    return fig


def run_differences(config, n_train):
    """What makes a run other than the 2017 run, whose curves lie beside its own, as one
    or two lines (None for none): first its data (the 2017 run trained on full MNIST's
    60,000 grey images), then its model or batch size. ``n_train``: the images it
    trained on, where known."""
    d, t = config['data'], config['training']
    lines = []
    if d['dataset'] != 'mnist' or t['test'] or d.get('n_train') or d['binarize']:
        what = [os.path.basename(os.path.normpath(d['dataset']))]
        what += ['--test'] if t['test'] else []
        what += ['binarised'] if d['binarize'] else []
        count = 30 if t['test'] else d.get('n_train') or n_train
        lines.append('%s%s, not the 2017 data' % (' '.join(what), ' (%s training images)'
                                                  % format(count, ',') if count else ''))
    model = [phrase for phrase in compare.differences(config)
             if phrase.split()[0] not in ('dataset', 'test', 'binarize')]
    if model:
        lines.append('; '.join(model))
    return '\n'.join(lines) or None


def render_graph(dot_path, out):
    """graph.png and graph.svg through Graphviz; a message and False where dot is absent."""
    dot = shutil.which('dot')
    if dot is None:
        print('graph.png: Graphviz\'s dot is not installed (Debian: apt-get install graphviz); '
              'skipped')
        return False
    for fmt in ('png', 'svg'):
        done = subprocess.run([dot, '-T' + fmt, dot_path, '-o', os.path.join(out, 'graph.' + fmt)],
                              capture_output=True, text=True)
        if done.returncode:
            why = (done.stderr.strip().splitlines() or ['exit %d' % done.returncode])[0]
            raise VisualizeError('%s: Graphviz could not draw it (%s)' % (dot_path, why))
    return True


def morph_name(start, end, last, n_latent):
    """The first class into the last is the legacy's vae_0to9.gif; others name their
    classes and dimz."""
    if (start, end) == (0, last):
        return 'vae_0to%d.gif' % last
    return 'vae_%dto%d_dim%d.gif' % (start, end, n_latent)


def why_not(name, config, dataset):
    """Why the run (its config, its data.DataSet) cannot give picture ``name``; None where
    it can."""
    if name == 'mapping' and config['model']['n_latent'] != 2:
        return ('the manifold is drawn over a z of 2 dimensions, and this run has dimz = %d'
                % config['model']['n_latent'])
    if name in ('morph', 'all_pairs') and len(dataset.classes) < 2:
        return ("a morph goes from the code of one class to another's, and this run's images "
                "have no labels")
    if name == 'graph' and shutil.which('dot') is None:
        return "Graphviz's dot is not installed (Debian: apt-get install graphviz)"
    if name == 'comparison' and compare.differences(config):
        return ('this run is not the legacy configuration (%s): no verdict against the 2017 '
                'run' % '; '.join(compare.differences(config)))
    return None


def picture_names(text):
    names = [n.strip() for n in text.split(',') if n.strip()]
    unknown = [n for n in names if n not in PICTURES]
    if not names or unknown:
        raise cli.argparse.ArgumentTypeError('%s: pictures are named %s'
                                             % (text, ', '.join(PICTURES)))
    return names


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.visualize', name='visualize', description=__doc__)
    p.add_argument('run_dir', type=cli.existing_dir, help='a train_vae.py --out directory')
    p.add_argument('--out', help='the folder the pictures go into (default: RUN_DIR)')
    p.add_argument('--only', type=picture_names, metavar='NAMES',
                   help='only these pictures, a comma list of %s (default: all)'
                        % ', '.join(PICTURES))
    p.add_argument('--legacy-log', type=cli.existing_file, default=compare.LEGACY_LOG,
                   help='the log laid over the loss curves: the 2017 run\'s, shipped in the '
                        'package')
    p.add_argument('--start', type=int, help='start class (digit) of the morph')
    p.add_argument('--end', type=int, help='end class (digit) of the morph')
    p.add_argument('--no-kl', action='store_true', help='skip the two KL GIFs (they take ~1 min)')
    p.add_argument('--data-dir', help="the four IDX .gz files of the run's data set (default: "
                                      "the run config's data_dir, else chainer's dataset cache)")
    args = p.parse_args(argv)
    if (args.start is None) != (args.end is None):
        p.error('--start and --end go together')
    out = args.out or args.run_dir
    wanted = [n for n in args.only or PICTURES if not (n == 'kl' and args.no_kl)]
    if not wanted:
        p.error('--only kl with --no-kl: nothing to draw')
    with cli.command('visualize', writes_in=out) as this, files.Lock(out).acquire():
        # locked from before the model is read: no run, nor another visualize, writes here,
        # and a run that --force replaces meanwhile does not get the old model's pictures
        if set(wanted) <= set(FROM_THE_LOG):  # no model needed (committed runs keep none)
            config, model = run_config.read(os.path.join(args.run_dir, files.CONFIG)), None
        else:
            config, model = checkpoint.load_run(args.run_dir)
        log = runlog.read(os.path.join(args.run_dir, files.LOG))  # checked before drawing
        runlog.read(args.legacy_log)
        dataset = data.load_for_run(config, args.data_dir)
        for name in args.only or ():  # asked by name: one line why not, before any drawing
            why = why_not(name, config, dataset)
            if why:
                p.error('--only %s: %s' % (name, why))
        last = len(dataset.classes) - 1
        asked = [] if args.start is None else [(args.start, args.end)]
        if not all(0 <= c <= last for c in sum(asked, ())):
            raise VisualizeError('--start %d --end %d: the classes of this data set are 0 to %d'
                                 % (args.start, args.end, last))
        # --only morph: the one asked; else the first class into the last, and the one asked
        morphs = asked if args.only and asked else [(0, last)] + [m for m in asked
                                                                   if m != (0, last)]
        # draw into a staging folder and move the pictures in only once all are done:
        # an interrupt or a full disk leaves the previous pictures in --out whole
        staging = tempfile.mkdtemp(prefix='.visualize-', dir=out)
        this.kept = lambda: 'nothing in %s was changed' % out
        try:
            made = draw_run(args.run_dir, config, model, dataset, log, staging, wanted,
                            morphs, args.legacy_log)
            with interrupt.deferred():  # all the pictures move in, or none
                for name in made:
                    files.publish(os.path.join(staging, name), os.path.join(out, name))
                files.record(out, made)
                this.kept = lambda: 'the pictures were written in %s' % out
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    print('wrote %s in %s' % (', '.join(made), out))


def draw_run(run_dir, config, model, dataset, log, out, wanted=PICTURES, morphs=None,
             legacy_log=compare.LEGACY_LOG):
    """The ``wanted`` pictures of the run in ``run_dir`` into ``out``, from its test images
    (``dataset``: a data.DataSet) and ``log`` (its log.csv's columns); return their file
    names. ``morphs``: (start, end) classes of each morph (default: the first class into
    the last); ``legacy_log``: the log laid over the loss curves and compared with."""
    made = []

    def target(name):
        made.append(name)
        return os.path.join(out, name)

    n_latent, x_test, y_test, shape = (config['model']['n_latent'], dataset.x_test,
                                       dataset.y_test, dataset.shape)
    if 'reconstructions' in wanted:
        reconstructions(model, x_test, target('reconstructions.png'), shape)
    if 'samples' in wanted:
        samples(model, n_latent, target('samples.png'), shape)
    if 'latent_scatter' in wanted:
        latent_scatter(model, x_test, y_test, target('latent_scatter.png'), dataset.classes)
    if 'mapping' in wanted and n_latent == 2:
        save_canvas(manifold_canvas(model, shape), target('mapping.png'), 10)
    classes, last = dataset.classes, len(dataset.classes) - 1
    digits = classes == data.CLASSES['mnist']
    morphs = morphs or [(0, last)]

    def names(start, end):
        return None if digits else (classes[start], classes[end])

    if last > 0 and ('morph' in wanted or 'all_pairs' in wanted):  # labelled data
        codes = class_codes(model, x_test, y_test, last + 1)
        for start, end in morphs if 'morph' in wanted else ():
            morph_gif(model, codes, start, end, target(morph_name(start, end, last, n_latent)),
                      shape, names(start, end))
        if 'all_pairs' in wanted:
            all_pairs_gif(model, codes, target('vae_all_%dto%d.gif' % (last, last)), shape)
    if 'kl' in wanted:
        kl_animation.kl_gif(target('kl_visualize.gif'), p_sigma=1.0)
        kl_animation.kl_gif(target('kl_visualize2.gif'), p_sigma=0.5)
    if 'loss_curves' in wanted:
        loss_curves(log, target('loss_curves.png'), runlog.read(legacy_log),
                    run_differences(config, dataset and len(dataset.x_train)))
    if 'comparison' in wanted:
        lines, markdown = compare.report(run_dir, legacy_log)
        print(lines[-1] if markdown is None else '\n'.join(lines))
        if markdown is not None:
            files.write_bytes(target('legacy_comparison.md'), markdown.encode())
    if 'graph' in wanted and render_graph(os.path.join(run_dir, files.GRAPH), out):
        made += ['graph.png', 'graph.svg']
    return made


if __name__ == '__main__':
    main()
