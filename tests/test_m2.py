"""The semi-supervised M2 and M1+M2 (chainer_vae/m2.py) and what they need from
train_vae.py: its M1 trained on the first N training images only (--n-train)."""
import json


from helpers import run_cli
from test_checkpoint import arrays
from test_cli import assert_one_line_error


# ---- train_vae.py --n-train: the M1 of M1+M2 never sees the validation images ----------

def test_n_train_trains_on_the_first_n_images_and_a_resume_keeps_it(tmp_path):
    out = tmp_path / 'm1'
    result = run_cli('--dataset', 'sample', '--n-train', '1000', '--seed', '0', '-e', '1',
                     '-z', '4', '--n-hidden', '16', '-o', out)
    assert result.returncode == 0, result.stderr
    assert json.loads((out / 'config.json').read_text())['data']['n_train'] == 1000
    assert int(arrays(out / 'checkpoint.npz')['optimizer/t']) == 10  # 1000 / 100, not 4000 / 100
    assert_one_line_error(run_cli('--resume-from', out, '--n-train', '2000'),
                          '--n-train 2000: the run in', 'made with 1000')
    result = run_cli('--resume-from', out, '--epoch', '2')
    assert result.returncode == 0, result.stderr
    assert int(arrays(out / 'checkpoint.npz')['optimizer/t']) == 20


def test_n_train_beyond_the_training_set_is_one_line(tmp_path):
    for flags, words in ((['--n-train', '4001'], 'the training set has only 4000 images'),
                         (['--n-train', '10', '--test'], 'the legacy --test')):
        result = run_cli('--dataset', 'sample', '-o', tmp_path / 'run', *flags)
        assert_one_line_error(result, words)
        assert result.returncode == 2 and not (tmp_path / 'run').exists()
