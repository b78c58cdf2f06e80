"""The KL-divergence animations of the slides (kl_visualize.gif, kl_visualize2.gif).

q(z) = N(mu, 0.5^2) slides from mu = -2 to 2 past a fixed prior p(z): N(0, 1) in the
first GIF, N(0, 0.5^2) in the second. Four stacked panels per frame: p and q;
log p and log q; log q - log p; and KL(q || p) traced over the frames so far.

The 2017 GIFs plotted an unnormalised grid sum (about 87 where the true value is
about 2.3). Here the traced curve is the exact closed form
    KL(N(m1, s1^2) || N(m2, s2^2)) = log(s2 / s1) + (s1^2 + (m1 - m2)^2) / (2 s2^2) - 1/2,
with the numerical integral of q (log q - log p) drawn over it as dots.
"""
import numpy as np

from chainer_vae.plotting import plt, save_gif

Q_SIGMA = 0.5
MUS = np.linspace(-2, 2, 41)       # one frame per position of q
PLOT_Z = np.linspace(-4, 4, 801)   # what the panels show
_GRID = np.linspace(-12, 12, 24001)  # where the integral is taken (tails included)


def log_normal(z, mu, sigma):
    return -0.5 * np.log(2 * np.pi * sigma ** 2) - (z - mu) ** 2 / (2 * sigma ** 2)


def kl_exact(mu_q, sigma_q, mu_p, sigma_p):
    return (np.log(sigma_p / sigma_q) + (sigma_q ** 2 + (mu_q - mu_p) ** 2) / (2 * sigma_p ** 2)
            - 0.5)


def kl_integrated(mu_q, sigma_q, mu_p, sigma_p):
    """KL(q || p) = integral of q (log q - log p) dz, as a Riemann sum on a fine grid."""
    log_q = log_normal(_GRID, mu_q, sigma_q)
    integrand = np.exp(log_q) * (log_q - log_normal(_GRID, mu_p, sigma_p))
    return integrand.sum() * (_GRID[1] - _GRID[0])


def kl_curves(p_sigma, mus=MUS):
    """(exact, integrated) KL(q || p) at each mu of q."""
    exact = kl_exact(mus, Q_SIGMA, 0.0, p_sigma)
    integrated = np.array([kl_integrated(mu, Q_SIGMA, 0.0, p_sigma) for mu in mus])
    return exact, integrated


def kl_figure(p_sigma, mus=MUS):
    """The four-panel figure (1536 x 1280 px at 128 dpi) and a function drawing frame i."""
    exact, integrated = kl_curves(p_sigma, mus)
    log_p = log_normal(PLOT_Z, 0.0, p_sigma)
    fig, axes = plt.subplots(4, 1, figsize=(12, 10), dpi=128)
    p_name = 'p(z) = N(0, %g²)' % p_sigma

    def draw(i):
        log_q = log_normal(PLOT_Z, mus[i], Q_SIGMA)
        for ax in axes:
            ax.clear()
            ax.set_xlim(-4, 4)
        axes[0].plot(PLOT_Z, np.exp(log_p), label=p_name)
        axes[0].plot(PLOT_Z, np.exp(log_q), label='q(z) = N(%.1f, %g²)' % (mus[i], Q_SIGMA))
        axes[0].set_ylim(0, 0.85)
        axes[1].plot(PLOT_Z, log_p, label='log p(z)')
        axes[1].plot(PLOT_Z, log_q, label='log q(z)')
        axes[1].set_ylim(-20, 2)
        axes[2].plot(PLOT_Z, log_q - log_p, color='C2', label='log q(z) − log p(z)')
        axes[2].axhline(0, color='grey', lw=0.5)
        axes[2].set_ylim(-20, 20)
        axes[3].plot(mus[:i + 1], exact[:i + 1], color='C3',
                     label='KL(q || p), exact closed form')
        axes[3].plot(mus[:i + 1], integrated[:i + 1], 'k.', ms=4,
                     label='∫ q (log q − log p) dz, numerical')
        axes[3].set_ylim(0, exact.max() * 1.1)
        axes[3].set_xlabel('z (top three panels); mean of q (bottom)')
        axes[3].set_title('KL(q || p) = %.3f' % exact[i], fontsize=10)
        for ax in axes:
            ax.legend(loc='upper right', fontsize=8)
        fig.tight_layout()

    return fig, draw


def kl_gif(path, p_sigma, mus=MUS):
    """41 frames, 200 ms each (5 fps), looping."""
    fig, draw = kl_figure(p_sigma, mus)
    save_gif(fig, draw, len(mus), 5, path)
