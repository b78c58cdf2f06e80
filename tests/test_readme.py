"""The recipes of README.md's first screen, run as written (on the sample, with --epoch 2,
where the full legacy run would take half an hour) in a fresh folder: the make targets'
commands, (a) the legacy run, (b) its morph alone, (c) its verdict."""
import itertools
import os
import re
import shlex
import subprocess
import sys

from conftest import gpu_visible
from helpers import REPO

FIRST_SCREEN = 40
SMALL = ['--dataset', 'sample', '--epoch', '2']  # what the test adds to a training command


def first_screen():
    with open(os.path.join(REPO, 'README.md'), encoding='utf-8') as f:
        return f.read().splitlines()[:FIRST_SCREEN]


def recipes():
    """The commands of the first screen's code lines (four spaces in; not the output shown
    there), comments cut."""
    found = []
    for line in first_screen():
        if re.match(r'    (make|python|pip) ', line):
            found += [shlex.split(part) for part in line.split('#')[0].split(';') if part.strip()]
    return found


def make_commands(target):
    """The commands of a Makefile target's recipe, for this interpreter."""
    with open(os.path.join(REPO, 'Makefile')) as f:
        text = f.read()
    body = re.search(r'^%s:.*\n((?:\t.*\n)+)' % target, text, re.M).group(1)
    return [shlex.split(line.strip().replace('$(BIN)/python', 'python'))
            for line in body.splitlines()]


def run(words, cwd, training):
    if words[0] == 'python':
        words = [sys.executable] + words[1:]
    words = [os.path.join(REPO, w) if w == 'train_vae.py' else w for w in words]
    if training:
        words = words + SMALL
    env = dict(os.environ, PYTHONPATH=REPO)
    return subprocess.run(words, cwd=str(cwd), env=env, capture_output=True, text=True,
                          timeout=600)


def test_the_first_screen_holds_the_recipes():
    commands = [' '.join(words) for words in recipes()]
    assert commands[:2] == ['make demo', 'make test']
    assert 'python train_vae.py' in commands  # (a) on the CPU
    assert 'python train_vae.py --gpu 0' in commands  # (a) on a GPU, with its install line
    assert any(c.startswith('pip install') and 'gpu' in c for c in commands)
    assert 'python -m chainer_vae.visualize result --only morph' in commands  # (b)
    assert 'python -m chainer_vae.compare result' in commands  # (c)
    assert any('results/README.md' in line for line in first_screen())
    screen = ' '.join(first_screen())
    for said in ('https://qiita.com/kenmatsu4/items/b029d697e9995d93aa24',  # what it revives
                 'github.com/matsuken92/Qiita_Contents/blob/HEAD/chainer-vae/chainer-vae.ipynb',
                 'Introduction of Variational Autoencoder', '(notebooks/chainer_vae.ipynb)',
                 'Linux, macOS or WSL'):
        assert said in screen, said
    assert os.path.getsize(os.path.join(REPO, 'README.md')) < 15000


def test_the_recipes_as_written(tmp_path):
    # (a) the legacy command, into its default folder result/
    done = run(['python', 'train_vae.py'], tmp_path, training=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('epoch 1\ngraph generated\ntrain mean loss=')
    assert (tmp_path / 'result' / 'checkpoint.npz').exists()
    # (a) on GPU 0: trains where CuPy sees a GPU; elsewhere one line and exit 1, nothing written
    gpu = run(['python', 'train_vae.py', '--gpu', '0', '-o', 'on_gpu'], tmp_path, training=True)
    if gpu_visible():
        assert gpu.returncode == 0, gpu.stderr
    else:
        assert gpu.returncode == 1 and len(gpu.stderr.strip().splitlines()) == 1, gpu.stderr
        assert gpu.stderr.startswith('train_vae.py: error: ')
        assert not (tmp_path / 'on_gpu').exists()
    # (b) the morph alone
    before = set(os.listdir(str(tmp_path / 'result')))
    done = run(['python', '-m', 'chainer_vae.visualize', 'result', '--only', 'morph'],
               tmp_path, training=False)
    assert done.returncode == 0, done.stderr
    assert set(os.listdir(str(tmp_path / 'result'))) - before == {'vae_0to9.gif'}
    # (c) the verdict: a run of the sample is not the legacy configuration: one line
    done = run(['python', '-m', 'chainer_vae.compare', 'result'], tmp_path, training=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and 'dataset sample, not mnist' in lines[0] and 'no verdict' in lines[0]


def test_make_demo_and_make_gif_as_written(tmp_path):
    for words in make_commands('demo'):
        done = run(words, tmp_path, training=True)
        assert done.returncode == 0, done.stderr
    for words in make_commands('gif'):
        done = run(words, tmp_path, training=False)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / 'demo' / 'vae_0to9.gif').exists()


# ---- results/README.md: a results page that leads with the results ---------------

RESULTS = os.path.join(REPO, 'results')


def slug(heading):
    """GitHub's anchor of a markdown heading."""
    return re.sub(r'[^\w\- ]', '', heading.strip().lower()).replace(' ', '-')


def test_the_results_page_leads_with_a_table_of_headlines():
    path = os.path.join(RESULTS, 'README.md')
    assert os.path.getsize(path) < 23000
    with open(path, encoding='utf-8') as f:
        text = f.read()
    anchors = {slug(line.lstrip('#')) for line in text.splitlines() if line.startswith('## ')}
    lines = text.splitlines()[:FIRST_SCREEN]
    start = next(i for i, line in enumerate(lines) if line.startswith('| '))
    rows = list(itertools.takewhile(lambda line: line.startswith('|'), lines[start:]))[2:]
    assert len(rows) >= 8  # the headline table, on the first screen
    for row in rows:  # each: its figure, where it has one, and its section
        links = re.findall(r'\]\(([^)]+)\)', row)
        assert links and links[-1].startswith('#') and links[-1][1:] in anchors, row
        assert all(os.path.isfile(os.path.join(RESULTS, link)) for link in links[:-1]), row


def test_results_name_no_machine_path_and_their_links_resolve():
    for folder, _, names in os.walk(RESULTS):
        for name in names:
            if not name.endswith(('.md', '.txt', '.csv', '.json', '.dot')):
                continue
            with open(os.path.join(folder, name), encoding='utf-8') as f:
                text = f.read()
            assert not re.search(r'/(work|tmp|root|home)/', text), os.path.join(folder, name)
            if name.endswith('.md'):  # every relative link and picture is there
                for link in re.findall(r'\]\(([^)#:]+)[^)]*\)', text):
                    assert os.path.exists(os.path.join(folder, link)), (name, link)
