"""config.json: the model's arguments, the settings, the data source and the versions;
nothing machine-local; the flat form of earlier runs still loads."""
import glob
import json
import os
import platform
import shutil

import numpy as np
import pytest

import chainer

import chainer_vae

from chainer_vae import checkpoint, compare, config, data, files, net, visualize

from helpers import REPO, run_cli
from test_checkpoint import arrays, assert_same_arrays

# the form train_vae.py wrote before config.json had sections (results/ had two of these)
FLAT = {'gpu': -1, 'epoch': 1, 'dimz': 20, 'batchsize': 100, 'n_hidden': 500,
        'activation': 'softplus', 'initmodel': '', 'resume': '', 'test': True,
        'out': '/tmp/somewhere', 'seed': 0, 'dataset': 'sample', 'data_dir': None}


def read_json(path):
    with open(str(path)) as f:
        return json.load(f)


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    """One legacy-test-mode epoch read from the sample files given as a relative --data-dir."""
    out = tmp_path_factory.mktemp('run')
    result = run_cli('--test', '-e', '1', '--seed', '3', '--data-dir',
                     os.path.relpath(data.SAMPLE_DIR, REPO), '-o', out)
    assert result.returncode == 0, result.stderr
    return out


def test_a_run_config_says_what_rebuilds_the_model(run):
    written = read_json(run / 'config.json')
    assert written['model'] == {'n_in': 784, 'n_latent': 20, 'n_h': 500, 'activation': 'softplus'}
    assert written['training'] == {'epoch': 1, 'batchsize': 100, 'seed': 3, 'gpu': -1,
                                   'test': True, 'debug': False, 'initmodel': None,
                                   'resume': None, 'communicator': None, 'lr': 0.001,
                                   'weight_decay': 0.0, 'grad_clip': None, 'beta': 1.0, 'k': 1}
    assert written['data'] == {'dataset': 'mnist', 'data_dir': data.SAMPLE_DIR,  # absolute
                               'binarize': False, 'image_size': None, 'n_train': None}
    assert written['versions'] == {'python': platform.python_version(), 'numpy': np.__version__,
                                   'chainer': chainer.__version__, 'cupy': None,
                                   'chainer_vae': chainer_vae.__version__}
    assert str(run) not in json.dumps(written)  # --out is not kept


def test_a_moved_run_folder_resumes_and_redraws(run, tmp_path):
    moved = tmp_path / 'moved'
    shutil.copytree(str(run), str(moved))
    result = run_cli('--resume-from', moved, '--epoch', '2', cwd=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert read_json(moved / 'config.json')['training']['epoch'] == 2
    visualize.main([str(moved), '--no-kl'])
    assert (moved / 'vae_all_9to9.gif').exists()


def test_a_flat_config_of_an_earlier_run_still_loads(run, tmp_path):
    earlier = tmp_path / 'earlier'
    os.makedirs(str(earlier))
    for name in ('log.csv', 'graph.dot', 'mlp_20.model', 'checkpoint.npz'):
        shutil.copy(str(run / name), str(earlier / name))
    (earlier / 'config.json').write_text(json.dumps(FLAT))
    read = config.read(str(earlier / 'config.json'))
    assert read['model'] == {'n_in': 784, 'n_latent': 20, 'n_h': 500, 'activation': 'softplus'}
    assert read['data'] == {'dataset': 'sample', 'data_dir': None, 'binarize': False,
                            'image_size': None, 'n_train': None}
    assert read['training']['initmodel'] is None and read['training']['debug'] is False
    config_of_run, model = checkpoint.load_run(str(earlier))
    assert config_of_run['model']['n_latent'] == 20
    # resumed: the run goes on, and its config.json is rewritten in today's form
    result = run_cli('--resume-from', earlier, '--epoch', '2')
    assert result.returncode == 0, result.stderr
    assert read_json(earlier / 'config.json')['training']['epoch'] == 2
    assert 'out' not in read_json(earlier / 'config.json')


M1_OPTION = ['--lr', '3e-4', '--weight-decay', '2e-5', '--grad-clip', '5']


def test_the_m1_option_is_recorded_applied_and_kept_by_a_resume(tmp_path):
    """--lr, --weight-decay, --grad-clip (the M1 that reached Kingma's M1+M2): in
    config.json, in the arithmetic (another run than the legacy settings'), and kept by a
    resume, which goes on bitwise as a run never stopped; a contradicting flag refused."""
    common = ['--dataset', 'sample', '--n-train', '500', '--seed', '0', '-z', '4',
              '--n-hidden', '16']
    for name, flags, epochs in (('legacy', [], 2), ('whole', M1_OPTION, 2),
                                ('stopped', M1_OPTION, 1)):
        result = run_cli(*common + flags + ['-e', str(epochs), '-o', tmp_path / name])
        assert result.returncode == 0, result.stderr
    written = read_json(tmp_path / 'whole' / 'config.json')['training']
    assert (written['lr'], written['weight_decay'], written['grad_clip']) == (3e-4, 2e-5, 5.0)
    refused = run_cli('--resume-from', tmp_path / 'stopped', '--lr', '1e-3')
    assert refused.returncode == 1 and 'a resumed run keeps its settings' in refused.stderr
    result = run_cli('--resume-from', tmp_path / 'stopped', '--epoch', '2')
    assert result.returncode == 0, result.stderr
    rows = {name: (tmp_path / name / 'log.csv').read_text().splitlines()
            for name in ('legacy', 'whole', 'stopped')}
    losses = {name: [r.rsplit(',', 1)[0] for r in v] for name, v in rows.items()}
    assert losses['stopped'] == losses['whole'] != losses['legacy']
    assert_same_arrays(arrays(tmp_path / 'stopped' / 'mlp_4.model'),
                       arrays(tmp_path / 'whole' / 'mlp_4.model'))


@pytest.mark.parametrize('flags, recorded', [(['--beta', '0.5'], {'beta': 0.5, 'k': 1}),
                                             (['-k', '2'], {'beta': 1.0, 'k': 2})])
def test_beta_and_k_are_opt_in_recorded_and_kept(tmp_path, flags, recorded):
    """--beta (the KL term's weight, chainer v7.8.1's name; the slides' C) and -k (samples
    of z an image, the slides' k): recorded in config.json, another run than the legacy
    settings', kept by a resume, named by compare as what differs from the 2017 run."""
    common = ['--dataset', 'sample', '--test', '--seed', '0']
    for name, more, epochs in (('legacy', [], '2'), ('run', flags, '1')):
        result = run_cli(*common + more + ['-e', epochs, '-o', tmp_path / name])
        assert result.returncode == 0, result.stderr
    written = read_json(tmp_path / 'run' / 'config.json')['training']
    assert {key: written[key] for key in recorded} == recorded
    result = run_cli('--resume-from', tmp_path / 'run', '--epoch', '2')
    assert result.returncode == 0, result.stderr
    assert read_json(tmp_path / 'run' / 'config.json')['training']['epoch'] == 2
    legacy, run = ((tmp_path / n / 'log.csv').read_text().splitlines() for n in ('legacy', 'run'))
    assert legacy[1].split(',')[1] != run[1].split(',')[1]  # the train loss of epoch 1
    name = flags[0].lstrip('-')
    assert '%s %s, not' % (name, recorded[name]) in ', '.join(
        compare.differences(config.read(str(tmp_path / 'run' / 'config.json'))))


@pytest.mark.parametrize('flag, value', [('--lr', '0'), ('--weight-decay', '-1'),
                                         ('--grad-clip', 'nan'), ('--lr', 'inf')])
def test_the_m1_option_refuses_values_that_are_no_rate(flag, value):
    result = run_cli(flag, value, '--dataset', 'sample')
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert '%s: must be a finite number' % flag in result.stderr


@pytest.mark.parametrize('n_train', [0, 50000.0, '50000', True])
def test_a_config_s_n_train_is_a_positive_integer_or_null(run, tmp_path, n_train):
    written = read_json(run / 'config.json')
    del written['data']['n_train']  # a config from before --n-train: null
    (tmp_path / 'config.json').write_text(json.dumps(written))
    assert config.read(str(tmp_path / 'config.json'))['data']['n_train'] is None
    written['data']['n_train'] = n_train
    (tmp_path / 'config.json').write_text(json.dumps(written))
    with pytest.raises(config.ConfigError, match='data.n_train is invalid: %r' % (n_train,)):
        config.read(str(tmp_path / 'config.json'))


COMMITTED = sorted(glob.glob(os.path.join(REPO, 'results', '*', 'config.json')))
# the runs inside a result (results/seed_band/seed<S>): their configs only, no pictures
NESTED = sorted(glob.glob(os.path.join(REPO, 'results', '*', '*', 'config.json')))


def strings(value):
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    return [value] if isinstance(value, str) else []


def portable(path):
    """No machine-local path in a committed config.json (train_vae.py's, or an M2 run's);
    what it reads back."""
    with open(path) as f:
        m2_run = json.load(f).get('model') in config.M2_MODELS
    read = config.read_m2(path) if m2_run else config.read(path)
    assert (read['flags'] if m2_run else read['data'])['data_dir'] is None
    assert (read['flags'] if m2_run else read['data'])['dataset'] in data.DATASETS
    assert not [s for s in strings(read) if os.sep in s or s.startswith('.')]
    return read


def test_the_configs_of_runs_inside_a_result_are_portable():
    assert NESTED  # results/seed_band's five seeds
    for path in NESTED:
        portable(path)


@pytest.mark.parametrize('path', COMMITTED, ids=[os.path.basename(os.path.dirname(p))
                                                 for p in COMMITTED])
def test_committed_configs_are_portable_and_redraw(path, tmp_path):
    """No machine-local path in results/*/config.json, and visualize rebuilds the model
    from it (here with random weights of that shape: the trained ones are not committed)."""
    assert COMMITTED
    read = portable(path)
    run = tmp_path / 'run'
    os.makedirs(str(run))
    for name in ('config.json', 'log.csv', 'graph.dot'):
        shutil.copy(os.path.join(os.path.dirname(path), name), str(run / name))
    m = read['model']
    model = net.VAE(m['n_in'], m['n_latent'], m['n_h'], act_func=net.ACTIVATIONS[m['activation']])
    checkpoint.save_npz(files.legacy_paths(str(run), m['n_latent'])[0], model)
    only = 'morph,loss_curves' + (',mapping' if m['n_latent'] == 2 else '')  # what it checks
    visualize.main([str(run), '--only', only, '--data-dir', data.SAMPLE_DIR])
    assert (run / 'vae_0to9.gif').exists() and (run / 'loss_curves.png').exists()
    assert (run / 'mapping.png').exists() == (m['n_latent'] == 2)


def test_a_preset_is_defaults_that_the_flags_given_override():
    """train_vae.py --preset m1 and m2 --preset CELL: nanoGPT-like named settings, the flags
    given beside them win, and they are not 'given' (a resumed run takes its own)."""
    from chainer_vae import __main__ as training, m2, paper
    args, given = training.parse_args(['--preset', 'm1', '--epoch', '365'])
    assert {name: getattr(args, name) for name in paper.M1_PRESET} == dict(
        paper.M1_PRESET, epoch=365)
    assert 'lr' not in given and 'epoch' in given
    assert training.parse_args([])[0].lr == 0.001  # no preset: the legacy's
    args, _ = m2.parse_args(['--preset', 'm1m2-n600', '--m1', REPO, '--seed', '2'])
    assert (args.labels, args.epoch, args.seed, args.n_hidden) == (600, 3000, 2, 500)
    assert m2.parse_args(['--preset', 'm2-n100', '--labels', '3000'])[0].labels == 3000
