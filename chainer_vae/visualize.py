"""The pictures and GIFs of the slides and the Qiita post, from a trained run.

    python -m chainer_vae.visualize RUN_DIR [--out DIR] [--legacy-log CSV]
                                    [--start 0 --end 7] [--no-kl] [--data-dir DIR]

RUN_DIR is a train_vae.py --out directory (config.json, mlp_<dimz>.model, log.csv,
graph.dot); the model is rebuilt from config.json. Writes, into --out (default RUN_DIR):
  reconstructions.png  the first 10 test images beside their reconstructions
  samples.png          100 digits decoded from z ~ N(0, I)
  latent_scatter.png   z_mu of the first 5,000 test images by label (a PCA projection
                       when dimz > 2); mapping.png, the 25 x 25 manifold, when dimz = 2
  vae_0to9.gif         the code of a 0 morphing into the code of a 9 (legacy spec);
                       vae_<start>to<end>_dim<dimz>.gif for --start/--end
  vae_all_9to9.gif     every start digit to every end digit at once (legacy spec)
                       (other data: their classes, vae_0to<C-1>.gif, vae_all_<C-1>to<C-1>.gif;
                       images at their own size)
  kl_visualize.gif, kl_visualize2.gif   the KL animations (chainer_vae.kl_animation)
  loss_curves.png      train/test loss from log.csv, the legacy log overlaid if given
  legacy_comparison.md this run beside the legacy log at epochs 1, 10, 100 (--legacy-log)
  graph.png, graph.svg graph.dot through Graphviz's dot, when it is installed
"""
import csv
import os
import shutil
import subprocess
import tempfile

import numpy as np
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import animation  # noqa: E402

import chainer  # noqa: E402  (chainer_vae/__init__.py has revived it)

from chainer_vae import checkpoint, cli, data, download, interrupt, kl_animation  # noqa: E402

DPI = 64  # the legacy GIFs: 4 in -> 256 px, 6 in -> 384 px
LOG_COLUMNS = ('epoch', 'train_loss', 'train_rec_loss', 'test_loss', 'test_rec_loss')


class VisualizeError(Exception):
    """A run directory that cannot be drawn; the message is one line for the user."""


# ---- model pictures: reconstructions, samples, the latent space ------------------

def encode_mu(model, x):
    with chainer.no_backprop_mode():
        return model.encode(np.asarray(x, np.float32))[0].array


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
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


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
    fig.savefig(path, bbox_inches='tight')
    plt.close(fig)


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
    labels = y_test[:n]
    title = 'z_mu of the first %d test images' % len(mu)
    if mu.shape[1] > 2:  # project onto the two leading principal components
        centred = mu - mu.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        title += ': PCA projection (components 1, 2) of dimz = %d' % mu.shape[1]
        mu = centred @ vt[:2].T
    fig, ax = plt.subplots(figsize=(8, 7), dpi=100)
    c = len(classes)
    points = ax.scatter(mu[:, 0], mu[:, 1], c=labels, cmap='tab10' if c <= 10 else 'tab20',
                        s=4, vmin=-0.5, vmax=c - 0.5)
    for d, name in enumerate(classes):  # each class's name at its mean
        if (labels == d).any():
            cx, cy = mu[labels == d].mean(axis=0)
            ax.text(cx, cy, name, fontsize=20 if len(name) < 3 else 11, weight='bold',
                    ha='center', va='center')
    colorbar = fig.colorbar(points, ticks=range(c))
    colorbar.ax.set_yticklabels(classes)
    ax.set_title(title, fontsize=10)
    fig.savefig(path)
    plt.close(fig)


# ---- morph GIFs: one code into another, decoded frame by frame --------------------

def save_gif(fig, draw_frame, n_frames, fps, path):
    """draw_frame(i) for each frame i of the animation, written by Pillow at ``fps``."""
    anim = animation.FuncAnimation(fig, draw_frame, frames=n_frames)
    anim.save(path, writer=animation.PillowWriter(fps=fps), dpi=DPI)
    plt.close(fig)


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

    save_gif(fig, draw_frame, n_frames, 12.5, path)


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

    save_gif(fig, draw_frame, len(ts), 10, path)


# ---- log pictures: loss curves, the legacy table, the graph -----------------------

def read_log(path):
    """log.csv as {column: array}; VisualizeError for a missing, empty or damaged log."""
    try:
        with open(path, newline='') as f:
            rows = list(csv.DictReader(f))
        columns = {key: np.array([float(r[key]) for r in rows]) for key in LOG_COLUMNS}
    except (OSError, ValueError, KeyError, TypeError, csv.Error) as e:
        why = str(e) or type(e).__name__
        raise VisualizeError('%s: not a readable loss log (%s)' % (path, why)) from None
    if not rows:
        raise VisualizeError('%s: no epochs logged' % path)
    return columns


def loss_curves(log_path, path, legacy_path=None):
    """Total and reconstruction loss per epoch, train and test; the legacy log dashed."""
    logs = [('this run', read_log(log_path), '-')]
    if legacy_path:
        logs.append(('2017 run', read_log(legacy_path), '--'))
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), dpi=100)
    for ax, (key, title) in zip(axes, (('loss', '-ELBO (total loss)'),
                                       ('rec_loss', 'reconstruction loss'))):
        for name, log, style in logs:
            for split, color in (('train', 'C0'), ('test', 'C1')):
                ax.plot(log['epoch'], log['%s_%s' % (split, key)], style, color=color,
                        label='%s, %s' % (name, split))
        ax.set_xlabel('epoch')
        ax.set_ylabel('nats per image')
        ax.set_title(title)
        ax.legend()
        # zoom on the late epochs, yet keep every log's last epoch in view
        low = min(log[split + '_' + key].min() for _, log, _ in logs for split in ('train', 'test'))
        last = max(log['test_' + key][-1] for _, log, _ in logs)
        ax.set_ylim(low - 5, max(low + 60, last + 20))
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def legacy_comparison(log_path, legacy_path, path, epochs=(1, 10, 100)):
    """A Markdown table of this run beside the 2017 run at the given epochs."""
    ours, legacy = read_log(log_path), read_log(legacy_path)
    keys = ('train_loss', 'train_rec_loss', 'test_loss', 'test_rec_loss')
    lines = ['| epoch | run | ' + ' | '.join(keys) + ' |', '|---' * 6 + '|']
    for epoch in epochs:
        for name, log in (('2017', legacy), ('this run', ours)):
            hit = np.flatnonzero(log['epoch'] == epoch)
            if hit.size:
                lines.append('| %d | %s | ' % (epoch, name) +
                             ' | '.join('%.2f' % log[k][hit[0]] for k in keys) + ' |')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def render_graph(dot_path, out):
    """graph.png and graph.svg through Graphviz; a message and False where dot is absent."""
    dot = shutil.which('dot')
    if dot is None:
        print('graph.png: Graphviz\'s dot is not installed (Debian: apt-get install graphviz); '
              'skipped')
        return False
    for fmt in ('png', 'svg'):
        subprocess.run([dot, '-T' + fmt, dot_path, '-o', os.path.join(out, 'graph.' + fmt)],
                       check=True)
    return True


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.visualize', name='visualize', description=__doc__)
    p.add_argument('run_dir', help='a train_vae.py --out directory')
    p.add_argument('--out', help='where to write (default: RUN_DIR)')
    p.add_argument('--legacy-log', help='a log of the 2017 run to overlay on the loss curves')
    p.add_argument('--start', type=int, help='start class (digit) of an extra morph')
    p.add_argument('--end', type=int, help='end class (digit) of an extra morph')
    p.add_argument('--no-kl', action='store_true', help='skip the two KL GIFs (they take ~1 min)')
    p.add_argument('--data-dir', help="the four IDX .gz files of the run's data set (default: "
                                      "the run config's data_dir, else chainer's dataset cache)")
    args = p.parse_args(argv)
    if (args.start is None) != (args.end is None):
        p.error('--start and --end go together')
    if args.legacy_log and not os.path.isfile(args.legacy_log):
        p.error('--legacy-log %s: file not found' % args.legacy_log)
    if not os.path.isdir(args.run_dir):
        p.error('%s: no such run directory' % args.run_dir)
    out = args.out or args.run_dir
    morph = None if args.start is None else (args.start, args.end)
    interrupt.install()  # SIGTERM and SIGHUP end it as Ctrl-C does
    try:
        config, model = checkpoint.load_run(args.run_dir)
        read_log(os.path.join(args.run_dir, checkpoint.LOG))  # checked before drawing
        if args.legacy_log:
            read_log(args.legacy_log)
        dataset = data.load_for_run(config, args.data_dir)
        if morph is not None and not all(0 <= c < len(dataset.classes) for c in morph):
            raise VisualizeError('--start %d --end %d: the classes of this data set are 0 to %d'
                                 % (morph + (len(dataset.classes) - 1,)))
        os.makedirs(out, exist_ok=True)
        # draw into a staging folder and move the pictures in only once all are done:
        # an interrupt or a full disk leaves the previous pictures in --out whole
        staging = tempfile.mkdtemp(prefix='.visualize-', dir=out)
    except (VisualizeError, checkpoint.CheckpointError, data.DataError,
            download.DownloadError) as e:
        cli.fail('visualize', e)
    except OSError as e:
        cli.fail('visualize', 'cannot write in %s: %s' % (out, e.strerror or e))
    except KeyboardInterrupt as e:
        name, code = interrupt.stopped_by(e)
        cli.fail('visualize', 'interrupted (%s); nothing was written' % name, code)
    try:
        made = draw_run(args.run_dir, config, model, dataset, staging, morph=morph,
                        legacy_log=args.legacy_log, kl=not args.no_kl)
        for name in made:
            os.replace(os.path.join(staging, name), os.path.join(out, name))
    except KeyboardInterrupt as e:
        name, code = interrupt.stopped_by(e)
        cli.fail('visualize', 'interrupted (%s); nothing in %s was changed' % (name, out), code)
    except VisualizeError as e:
        cli.fail('visualize', '%s; nothing in %s was changed' % (e, out))
    except OSError as e:
        cli.fail('visualize', 'cannot write in %s: %s; nothing there was changed'
                 % (out, e.strerror or e))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print('wrote %s in %s' % (', '.join(made), out))


def draw_run(run_dir, config, model, dataset, out, morph=None, legacy_log=None, kl=True):
    """Every picture of the run in ``run_dir`` into ``out``, from its test images
    (``dataset``: a data.DataSet); return their file names. ``morph``: (start, end)
    classes of an extra morph GIF; ``legacy_log``: the 2017 log."""
    made = []

    def target(name):
        made.append(name)
        return os.path.join(out, name)

    n_latent, x_test, y_test, shape = (config['model']['n_latent'], dataset.x_test,
                                       dataset.y_test, dataset.shape)
    reconstructions(model, x_test, target('reconstructions.png'), shape)
    samples(model, n_latent, target('samples.png'), shape)
    latent_scatter(model, x_test, y_test, target('latent_scatter.png'), dataset.classes)
    if n_latent == 2:
        save_canvas(manifold_canvas(model, shape), target('mapping.png'), 10)
    classes, last = dataset.classes, len(dataset.classes) - 1
    digits = classes == data.CLASSES['mnist']

    def names(start, end):
        return None if digits else (classes[start], classes[end])

    if last > 0:  # labelled: the first class into the last, and every class into every one
        codes = class_codes(model, x_test, y_test, last + 1)
        morph_gif(model, codes, 0, last, target('vae_0to%d.gif' % last), shape, names(0, last))
        if morph is not None:
            start, end = morph
            morph_gif(model, codes, start, end,
                      target('vae_%dto%d_dim%d.gif' % (start, end, n_latent)), shape,
                      names(start, end))
        all_pairs_gif(model, codes, target('vae_all_%dto%d.gif' % (last, last)), shape)
    if kl:
        kl_animation.kl_gif(target('kl_visualize.gif'), p_sigma=1.0)
        kl_animation.kl_gif(target('kl_visualize2.gif'), p_sigma=0.5)
    log = os.path.join(run_dir, checkpoint.LOG)
    loss_curves(log, target('loss_curves.png'), legacy_log)
    if legacy_log:
        legacy_comparison(log, legacy_log, target('legacy_comparison.md'))
    if render_graph(os.path.join(run_dir, 'graph.dot'), out):
        made += ['graph.png', 'graph.svg']
    return made


if __name__ == '__main__':
    main()
