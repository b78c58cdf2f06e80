"""notebooks/chainer_vae.ipynb top to bottom in a real Jupyter kernel (nbclient, ipykernel):
the sample for 2 epochs in a fresh folder, every cell run, every picture drawn and shown;
run again with one epoch more, it goes on from the run folder it left."""
import os

import nbformat
import pytest
from nbclient import NotebookClient

from chainer_vae import runlog
from helpers import REPO

NOTEBOOK = os.path.join(REPO, 'notebooks', 'chainer_vae.ipynb')
PICTURES = ('loss_curves.png', 'reconstructions.png', 'samples.png', 'latent_scatter.png',
            'vae_0to9.gif')


def execute(folder, epochs, monkeypatch):
    """The notebook run in ``folder`` with CHAINER_VAE_EPOCHS=epochs; its cells' outputs."""
    monkeypatch.setenv('CHAINER_VAE_EPOCHS', str(epochs))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name='python3',
                   resources={'metadata': {'path': str(folder)}}).execute()
    cells = [cell for cell in notebook.cells if cell.cell_type == 'code']
    assert all(cell.execution_count for cell in cells)  # every cell ran (an error stops it)
    return [''.join(o.get('text', '') for o in cell.outputs) for cell in cells], cells


def test_the_notebook_is_kept_without_outputs():
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == 'code']
    assert code and not any(cell.outputs or cell.execution_count for cell in code)
    text = '\n'.join(cell.source for cell in notebook.cells)
    for link in ('https://qiita.com/kenmatsu4/items/b029d697e9995d93aa24',
                 'https://github.com/matsuken92/Qiita_Contents/blob/HEAD/chainer-vae/'
                 'chainer-vae.ipynb', 'Introduction of Variational Autoencoder'):
        assert link in text


@pytest.mark.slow  # a Jupyter kernel, three runs of the notebook: about a minute (.ci/run)
def test_the_notebook_runs_and_goes_on_from_its_run(tmp_path, monkeypatch):
    printed, cells = execute(tmp_path, 2, monkeypatch)
    run = tmp_path / 'run_sample_seed0'
    training = next(text for text in printed if 'graph generated' in text)
    assert training.startswith('epoch 1\ngraph generated\ntrain mean loss=')
    assert training.count('test  mean loss=') == 2
    for name in PICTURES:
        assert (run / name).stat().st_size > 1000, name
    shown = [kind for cell in cells for o in cell.outputs for kind in o.get('data', {})]
    assert shown.count('image/png') == 4 and shown.count('image/gif') == 1
    assert any('not the legacy configuration' in text and 'dataset sample, not mnist' in text
               for text in printed)  # the verdict's cell: a sample run gets none
    first = runlog.read(str(run / 'log.csv'))

    printed, _ = execute(tmp_path, 3, monkeypatch)  # one epoch more: the run goes on
    training = next(text for text in printed if 'test  mean loss=' in text)
    assert training.startswith('epoch 3\ntrain mean loss=') and training.count('epoch ') == 1
    again = runlog.read(str(run / 'log.csv'))
    assert again['epoch'] == [1, 2, 3]
    assert all(again[k][:2] == first[k] for k in first)  # its first two epochs kept

    printed, _ = execute(tmp_path, 3, monkeypatch)  # finished: read back, not trained again
    assert any('run_sample_seed0: finished, 3 epochs; read back' in text for text in printed)
    assert runlog.read(str(run / 'log.csv')) == again
