"""Pictures and GIFs from a tiny trained run, checked against the legacy specs."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from chainer_vae import checkpoint, compare, data, kl_animation, net, visualize

from helpers import LEGACY, REPO, needs_legacy, run_cli

LEGACY_LOG = compare.LEGACY_LOG


@pytest.fixture(scope='module')
def pictures(tmp_path_factory):
    """A dimz = 2 model trained for 2 epochs of the legacy test mode, and its pictures."""
    run = str(tmp_path_factory.mktemp('run'))
    result = run_cli('--dataset', 'sample', '--test', '-e', '2', '-z', '2', '--n-hidden', '64',
                     '--seed', '0', '-o', run)
    assert result.returncode == 0, result.stderr
    visualize.main([run, '--no-kl', '--start', '3', '--end', '8', '--legacy-log', LEGACY_LOG])
    return run


def gif_timeline(path):
    """(size, loop, frame count, per-frame durations in ms)."""
    im = Image.open(path)
    durations = []
    for i in range(im.n_frames):
        im.seek(i)
        durations.append(im.info['duration'])
    return im.size, im.info.get('loop'), im.n_frames, durations


# every picture's size in pixels: the figure sizes and DPIs of visualize.py
PICTURE_SIZES = {'reconstructions.png': None,  # bbox_inches='tight': its size varies
                 'samples.png': (384, 384), 'mapping.png': (640, 640),
                 'latent_scatter.png': (800, 700), 'loss_curves.png': (1200, 450),
                 'vae_0to9.gif': (256, 256), 'vae_3to8_dim2.gif': (256, 256),
                 'vae_all_9to9.gif': (384, 384)}


def test_every_picture_is_written_and_drawn_on(pictures):
    drawn = {}
    for name, size in PICTURE_SIZES.items():
        image = Image.open(os.path.join(pictures, name))
        if size is not None:
            assert image.size == size, name
        pixels = np.asarray(image.convert('L'), np.float32)
        assert pixels.std() > 10, name  # not one flat colour
        drawn[name] = pixels
    assert drawn['reconstructions.png'].shape[1] > 2 * drawn['reconstructions.png'].shape[0]
    assert not np.array_equal(drawn['vae_0to9.gif'], drawn['vae_3to8_dim2.gif'])


def test_samples_are_the_decoded_draws(pictures):
    """samples.png is the tile of 100 decoded z ~ N(0, I) (seed 0), scaled to 384 px."""
    config, model = checkpoint.load_run(pictures)
    z = np.random.RandomState(0).standard_normal((100, config['model']['n_latent']))
    canvas = visualize.tile(visualize.decode(model, z), 10, 10, border=1)
    drawn = np.asarray(Image.open(os.path.join(pictures, 'samples.png')).convert('L'), np.float32)
    # the centre pixel of each 28 x 28 digit, as nearest-neighbour scaling draws it
    scale = 384 / canvas.shape[0]
    for r, c in ((0, 0), (4, 7), (9, 9)):
        y, x = 1 + r * 29 + 14, 1 + c * 29 + 14
        shown = drawn[int((y + 0.5) * scale), int((x + 0.5) * scale)]
        assert abs(shown / 255 - canvas[y, x]) < 0.05


def test_morph_gifs_have_the_legacy_spec(pictures):
    for name in ('vae_0to9.gif', 'vae_3to8_dim2.gif'):
        # 81 frames of 80 ms, 256 x 256 px, looping
        assert gif_timeline(os.path.join(pictures, name)) == ((256, 256), 0, 81, [80] * 81)
    # 80 frames of 100 ms, 384 x 384 px; the title (frame index) tells the two t = 1
    # frames at the turn apart, so no GIF writer merges them
    assert gif_timeline(os.path.join(pictures, 'vae_all_9to9.gif')) == (
        (384, 384), 0, 80, [100] * 80)


@needs_legacy
def test_gifs_match_the_legacy_files(pictures):
    for name in ('vae_0to9.gif', 'vae_all_9to9.gif'):
        assert gif_timeline(os.path.join(pictures, name)) == gif_timeline(
            os.path.join(LEGACY, name))


@pytest.fixture(scope='module')
def kl_gif(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('kl') / 'kl.gif')
    kl_animation.kl_gif(path, p_sigma=0.5)
    return path


@pytest.mark.slow  # 41 frames at 1536 x 1280: a minute of CPU
def test_kl_gif_has_the_legacy_spec(kl_gif):
    assert gif_timeline(kl_gif) == ((1536, 1280), 0, 41, [200] * 41)


@pytest.mark.slow
@needs_legacy
def test_kl_gif_matches_the_legacy_file(kl_gif):
    assert gif_timeline(kl_gif) == gif_timeline(os.path.join(LEGACY, 'kl_visualize2.gif'))


@pytest.mark.parametrize('p_sigma', [1.0, 0.5])
def test_plotted_kl_is_the_closed_form(p_sigma):
    fig, draw = kl_animation.kl_figure(p_sigma)
    draw(len(kl_animation.MUS) - 1)
    exact_line, integrated_dots = fig.axes[3].lines
    mus = kl_animation.MUS
    closed = np.log(p_sigma / 0.5) + (0.25 + mus ** 2) / (2 * p_sigma ** 2) - 0.5
    np.testing.assert_allclose(exact_line.get_ydata(), closed, atol=1e-3)
    np.testing.assert_allclose(integrated_dots.get_ydata(), closed, atol=1e-3)
    assert abs(closed.max() - (2.318 if p_sigma == 1 else 8.0)) < 1e-3


def test_manifold_is_25_by_25_decoded_digits(pictures):
    _, model = checkpoint.load_run(pictures)
    canvas = visualize.manifold_canvas(model)
    assert canvas.shape == (25 * 28, 25 * 28)
    corners = {(0, 0): (-2, 2), (0, 24): (2, 2), (24, 0): (-2, -2), (24, 24): (2, -2)}
    for (row, col), z in corners.items():  # +z2 is up
        np.testing.assert_allclose(canvas[row * 28:(row + 1) * 28, col * 28:(col + 1) * 28],
                                   visualize.decode(model, [z])[0], atol=1e-6)


def test_codes_are_the_first_test_image_of_each_digit(pictures):
    _, model = checkpoint.load_run(pictures)
    _, x_test, _, y_test = data.load('sample')
    codes = visualize.class_codes(model, x_test, y_test)
    first = [list(y_test[:100]).index(d) for d in range(10)]  # 3, 2, 1, 18, 4, 8, 11, 0, 61, 7
    np.testing.assert_array_equal(codes, visualize.encode_mu(model, x_test[first]))


def test_pca_scatter_for_a_larger_dimz(tmp_path, monkeypatch):
    _, x_test, _, y_test = data.load('sample')
    wide = net.VAE(784, 5, 16)
    plotted = []
    real_scatter = visualize.plt.Axes.scatter
    monkeypatch.setattr(visualize.plt.Axes, 'scatter', lambda ax, x, y, **kw: plotted.append(
        (np.asarray(x), np.asarray(y))) or real_scatter(ax, x, y, **kw))
    visualize.latent_scatter(wide, x_test, y_test, str(tmp_path / 's.png'), n=300)
    assert Image.open(str(tmp_path / 's.png')).size == (800, 700)
    # the points are the projections on the two leading principal components
    centred = visualize.encode_mu(wide, x_test[:300])
    centred = centred - centred.mean(axis=0)
    top2 = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
    np.testing.assert_allclose(np.stack(plotted[0], 1), top2, atol=1e-5)
    assert top2[:, 0].var() >= top2[:, 1].var()


@pytest.mark.skipif(shutil.which('dot') is None,
                    reason="Graphviz's dot is not installed (CI installs it)")
def test_graph_rendering(pictures, tmp_path):
    assert visualize.render_graph(os.path.join(pictures, 'graph.dot'), str(tmp_path))
    png, svg = Image.open(str(tmp_path / 'graph.png')), (tmp_path / 'graph.svg').read_text()
    assert png.size[0] > 500 and png.size[1] > 500
    for label in ('z_mu', 'z_ln_var', 'reconstruction error', 'latent loss'):
        assert label in svg


def test_graph_without_graphviz_is_a_clear_message(pictures, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    assert not visualize.render_graph(os.path.join(pictures, 'graph.dot'), str(tmp_path))
    assert 'apt-get install graphviz' in capsys.readouterr().out
    assert not (tmp_path / 'graph.png').exists()


def test_a_directory_that_is_no_run_is_one_clear_line(tmp_path):
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.visualize', str(tmp_path)],
                            capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.strip().splitlines() == [
        'visualize: error: %s has no config.json: is it a train_vae.py --out directory?' % tmp_path]


@pytest.mark.parametrize('args, message', [
    (['--start', '3'], '--start and --end go together'),
    (['--only', 'kl', '--no-kl'], '--only kl with --no-kl: nothing to draw'),
    (['--legacy-log', 'no-such.csv'], 'argument --legacy-log: no-such.csv: file not found'),
])
def test_bad_flags_are_refused_before_drawing(pictures, args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        visualize.main([pictures] + args)
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_an_interrupt_leaves_earlier_pictures_whole(pictures, tmp_path, monkeypatch, capsys):
    run = str(tmp_path / 'run')
    shutil.copytree(pictures, run)
    for name in ('reconstructions.png', 'vae_0to9.gif'):  # drawn before the interrupt
        with open(os.path.join(run, name), 'wb') as f:
            f.write(b'an earlier picture')

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(visualize, 'all_pairs_gif', interrupted)
    with pytest.raises(SystemExit) as exit_:
        visualize.main([run, '--no-kl'])
    assert exit_.value.code == 130
    assert capsys.readouterr().err == \
        'visualize: error: interrupted (SIGINT); nothing in %s was changed\n' % run
    for name in ('reconstructions.png', 'vae_0to9.gif'):
        assert open(os.path.join(run, name), 'rb').read() == b'an earlier picture'
    assert not [f for f in os.listdir(run) if f.startswith('.visualize-')]


@pytest.fixture(scope='module')
def unlabelled_run(tmp_path_factory):
    """A dimz = 4 run of one's own images without labels (a flat folder of PNGs)."""
    folder = tmp_path_factory.mktemp('own')
    (folder / 'images').mkdir()
    x_train = data.load('sample')[0]
    for i in range(40):
        Image.fromarray((x_train[i].reshape(28, 28) * 255).astype(np.uint8)).save(
            str(folder / 'images' / ('%02d.png' % i)))
    run = str(folder / 'run')
    result = run_cli('--dataset', folder / 'images', '-e', '1', '-z', '4', '--n-hidden', '16',
                     '-b', '10', '--seed', '0', '-o', run)
    assert result.returncode == 0, result.stderr
    return run


@pytest.mark.parametrize('only, why', [
    ('mapping', 'the manifold is drawn over a z of 2 dimensions, and this run has dimz = 4'),
    ('morph', "a morph goes from the code of one class to another's, and this run's images "
              "have no labels"),
    ('all_pairs,samples', "a morph goes from the code of one class to another's, and this "
                          "run's images have no labels"),
    ('comparison', 'this run is not the legacy configuration (n_latent 4, not 20; '),
])
def test_a_picture_the_run_cannot_give_is_one_line_when_asked_for(unlabelled_run, only, why):
    """It was "wrote  in RUN", exit 0, and nothing drawn."""
    before = sorted(os.listdir(unlabelled_run))
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.visualize', unlabelled_run,
                             '--only', only], capture_output=True, text=True, cwd=REPO,
                            timeout=300)
    assert result.returncode == 2 and result.stdout == ''
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        'visualize: error: --only %s: %s' % (only.split(',')[0], why)), result.stderr
    assert sorted(os.listdir(unlabelled_run)) == before  # nothing written


def test_without_only_the_pictures_a_run_cannot_give_are_skipped(unlabelled_run, tmp_path,
                                                                 capsys):
    visualize.main([unlabelled_run, '--no-kl', '--out', str(tmp_path)])
    drawn = sorted(n for n in os.listdir(str(tmp_path)) if not n.startswith('.'))
    assert drawn == sorted(['latent_scatter.png', 'loss_curves.png', 'reconstructions.png',
                            'samples.png'] + (['graph.png', 'graph.svg'] if shutil.which('dot')
                                              else []))


def test_the_graph_without_graphviz_is_one_line_when_asked_for(pictures, monkeypatch, capsys):
    monkeypatch.setattr(shutil, 'which', lambda name: None)
    with pytest.raises(SystemExit) as exit_:
        visualize.main([pictures, '--only', 'graph'])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("visualize: error: --only graph: Graphviz's dot is not "
                                       "installed (Debian: apt-get install graphviz)\n")


def test_morph_titles_are_the_legacys_for_digits(monkeypatch, tmp_path):
    """Digits: the legacy's title 't=<frame>' at matplotlib's title size; other data: the
    class names too."""
    import matplotlib
    drawn = {}
    monkeypatch.setattr(visualize, 'save_gif', lambda fig, draw_frame, n, fps, path, dpi:
                        drawn.update(fig=fig, draw_frame=draw_frame))
    model, codes = net.VAE(784, 2, 8), np.zeros((10, 2), np.float32)
    default = matplotlib.font_manager.FontProperties(
        size=matplotlib.rcParams['axes.titlesize']).get_size_in_points()
    for names, title, size in ((None, 't=3', default), (('Bag', 'Coat'), 'Bag to Coat, t=3', 10)):
        visualize.morph_gif(model, codes, 0, 9, str(tmp_path / 'm.gif'), names=names)
        drawn['draw_frame'](3)
        shown = drawn['fig'].axes[0].title
        assert shown.get_text() == title and shown.get_fontsize() == size


def test_only_the_morph_is_drawn_when_asked(pictures, tmp_path):
    run = str(tmp_path / 'run')
    shutil.copytree(pictures, run, ignore=shutil.ignore_patterns('*.png', '*.gif', '*.svg',
                                                                 '*.md', '.written'))
    before = set(os.listdir(run))
    result = subprocess.run([sys.executable, '-m', 'chainer_vae.visualize', run, '--only', 'morph',
                             '--start', '0', '--end', '9'], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stderr
    assert set(os.listdir(run)) - before == {'vae_0to9.gif', '.written'}
    assert gif_timeline(os.path.join(run, 'vae_0to9.gif'))[2] == 81
    assert open(os.path.join(run, '.written')).read() == 'vae_0to9.gif\n'


def test_an_interrupt_while_the_pictures_move_in_moves_them_all(pictures, tmp_path, monkeypatch,
                                                                 capsys):
    """SIGINT after the first picture moved: the rest move too, and the line says so."""
    import signal
    from chainer_vae import files
    run = str(tmp_path / 'run')
    shutil.copytree(pictures, run)
    publish, moved = files.publish, []

    def publish_then_sigint(tmp, path):
        publish(tmp, path)
        moved.append(os.path.basename(path))
        if len(moved) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(files, 'publish', publish_then_sigint)
    saved = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit) as exit_:
            visualize.main([run, '--only', 'samples,reconstructions,morph'])
    finally:
        signal.signal(signal.SIGINT, saved)
    assert exit_.value.code == 130
    assert moved == ['samples.png', 'reconstructions.png', 'vae_0to9.gif'] or \
        sorted(moved) == ['reconstructions.png', 'samples.png', 'vae_0to9.gif']
    assert capsys.readouterr().err == \
        'visualize: error: interrupted (SIGINT); the pictures were written in %s\n' % run


def drawn_figures(monkeypatch):
    """The figures visualize saves, by file name, for their matplotlib objects."""
    figures = {}
    save = visualize.save_figure

    def kept(fig, path, **kwargs):
        figures[os.path.basename(path)] = fig
        save(fig, path, **kwargs)

    monkeypatch.setattr(visualize, 'save_figure', kept)
    return figures


def legend_titles(fig):
    return [ax.get_legend().get_title().get_text() for ax in fig.axes]


def test_a_run_of_other_data_says_so_in_its_loss_figure(pictures, tmp_path, monkeypatch):
    # the committed runs keep no model: the loss figure is drawn from the log without it
    run = tmp_path / 'run'
    shutil.copytree(pictures, str(run))
    os.remove(str(run / 'mlp_2.model'))
    figures = drawn_figures(monkeypatch)
    visualize.main([str(run), '--only', 'loss_curves'])
    fig = figures['loss_curves.png']
    assert legend_titles(fig) == ['this run: sample --test (30 training images), not the 2017 '
                                  'data\nn_latent 2, not 20; n_h 64, not 500'] * 2
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ['this run, train', 'this run, test', '2017 run, train', '2017 run, test']


def test_the_legacy_configuration_and_other_data_in_the_loss_legend():
    config = {'model': {'n_in': 784, 'n_latent': 20, 'n_h': 500, 'activation': 'softplus'},
              'training': {'batchsize': 100, 'test': False, 'initmodel': None},
              'data': {'dataset': 'mnist', 'binarize': False, 'n_train': None}}
    assert visualize.run_differences(config, 60000) is None  # the 2017 run's data and model
    log = compare.runlog.read(LEGACY_LOG)
    assert legend_titles(visualize.loss_figure(log, log, None)) == [''] * 2
    for change, said in [({'dataset': 'sample'}, 'sample (4,000 training images), not the 2017 '
                          'data'),
                         ({'n_train': 50000}, 'mnist (50,000 training images), not the 2017 data'),
                         ({'binarize': True}, 'mnist binarised (4,000 training images), not the '
                          '2017 data'),
                         ({'dataset': '/data/my_images/'}, 'my_images (4,000 training images), '
                          'not the 2017 data')]:
        other = dict(config, data=dict(config['data'], **change))
        assert visualize.run_differences(other, 4000) == said
        fig = visualize.loss_figure(log, log, visualize.run_differences(other, 4000))
        assert legend_titles(fig) == ['this run: ' + said] * 2
        visualize.plt.close(fig)


def test_the_latent_scatter_names_its_axes_and_keeps_names_apart():
    rng = np.random.RandomState(0)
    classes = data.CLASSES['fashion-mnist']
    centres = rng.randn(10, 2)
    centres[5] = centres[7] + 0.01  # Sandal and Sneaker at one place, as on the real set
    centres[0] = centres[6] = centres[2]  # and three more
    labels = rng.randint(0, 10, 2000)
    mu = (centres[labels] + 0.3 * rng.randn(2000, 2)).astype(np.float32)
    fig = visualize.latent_figure(mu, labels, classes)
    ax = fig.axes[0]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ('z_mu[0]', 'z_mu[1]')
    names = {t.get_text(): t for t in ax.texts}
    assert set(names) == set(classes)
    renderer = fig.canvas.get_renderer()
    boxes = [t.get_window_extent(renderer) for t in names.values()]
    assert not [(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1:] if a.overlaps(b)]
    # every name moved away from its class's mean is tied to it by a line
    moved = [name for name, text in names.items() if not np.allclose(
        text.get_position(), mu[labels == classes.index(name)].mean(axis=0), atol=1e-4)]
    assert {'Sandal', 'Sneaker'} <= set(moved) and len(ax.lines) == len(moved)
    wide = visualize.latent_figure(np.hstack([mu, mu]), labels, classes)
    assert wide.axes[0].get_xlabel() == 'principal component 1 of z_mu'
    visualize.plt.close('all')
