"""matplotlib, headless, for every picture of the package; pictures written whole.

One place sets the Agg backend (no display is needed or used) and saves figures through
a temporary name (files.write_atomic), as every file this project writes.
"""
import io
import os

import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import animation, ticker  # noqa: E402

from chainer_vae import files  # noqa: E402

__all__ = ['plt', 'save_figure', 'save_gif', 'ticker']


def save_figure(fig, path, **kwargs):
    """fig.savefig into ``path`` through write_atomic, then close the figure."""
    data = io.BytesIO()
    fig.savefig(data, format=os.path.splitext(path)[1][1:] or 'png', **kwargs)
    plt.close(fig)
    files.write_bytes(path, data.getvalue())


def save_gif(fig, draw_frame, n_frames, fps, path, dpi=None):
    """draw_frame(i) for each frame i of the animation, written by Pillow at ``fps``.
    Pillow writes to ``path`` itself: draw into a staging folder (visualize does) and
    move the GIF into place with files.publish."""
    anim = animation.FuncAnimation(fig, draw_frame, frames=n_frames)
    try:
        anim.save(path, writer=animation.PillowWriter(fps=fps), dpi=dpi)
    finally:
        plt.close(fig)
