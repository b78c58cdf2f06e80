"""Beyond the printed -ELBO: how good a trained run is, on its test set.

    python -m chainer_vae.evaluate RUN_DIR [--k 1 10 100 1000 5000] [--n-test N]
                                   [--seed 0] [--data-dir DIR]

Writes RUN_DIR/evaluation.json and prints a table of it:

- ``-ELBO`` with k = 1 and the legacy k = 10 samples of z: the learning loop's own
  loss function (``VAE.get_loss_func(k)``, analytic KL), as the printed test loss.
- ``-log p(x)``, the importance-weighted estimate of Burda, Grosse & Salakhutdinov
  (2015, eq. 8) with k samples of z ~ q(z|x):
      log p(x) ~ log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x)
  a lower bound on log p(x) that tightens as k grows (k = 1 is a one-sample ELBO).
  Each image's k log-weights are summed with a stable logsumexp in float64; the
  estimate for every k asked is taken from the first k of the same samples.
- the KL divergence of q(z|x) from N(0, I) per latent dimension (test mean), and the
  active units: dimension u is active when Cov_x(E_q[z_u]) > 0.01 (Burda et al., sec. 5.2).

The legacy data are not binarised (grey levels in [0, 1] under a Bernoulli decoder, so
"log p(x)" is a cross-entropy, not a likelihood of binary data): these numbers are not
the papers'. A run trained with ``train_vae.py --binarize`` is evaluated on the fixed
binarisation of the test set (chainer_vae/data.py), and its numbers can stand beside the
literature (Burda et al.: 86.76 nats for a one-layer VAE with k = 5000, after 3,280 epochs).
"""
import json
import math
import sys

import numpy as np

import chainer

from chainer_vae import checkpoint, cli, data, files

ACTIVE = 0.01  # Burda et al.'s threshold on Cov_x(E_q[z_u])
EVALUATION = 'evaluation.json'
LOG_2PI = math.log(2 * math.pi)
K_MAX = 100000  # importance samples: 100,000 x 20 latents x 8 bytes a test image, in chunks


def encode(model, x):
    """(mu, ln_var) of q(z|x) as float64 arrays."""
    with chainer.no_backprop_mode():
        mu, ln_var = model.encode(np.asarray(x, np.float32))
    return mu.array.astype(np.float64), ln_var.array.astype(np.float64)


def neg_elbo(model, x, k, batchsize=100):
    """-ELBO per image with k samples of z: the loop's loss function over x in order
    (NumPy's global generator draws the noise, as in the loop)."""
    total = 0.0
    with chainer.no_backprop_mode():
        for i in range(0, len(x), batchsize):
            batch = x[i:i + batchsize]
            total += float(model.get_loss_func(k=k)(chainer.Variable(batch)).array) * len(batch)
    return total / len(x)


def log_weights(model, x, eps):
    """log w = log p(x|z) + log p(z) - log q(z|x), z = mu + sigma * eps, for images x
    (B, D) and noise eps (B, S, L): (B, S) in float64."""
    mu, ln_var = encode(model, x)
    z = mu[:, None] + np.exp(0.5 * ln_var)[:, None] * eps
    with chainer.no_backprop_mode():
        y = model.decode(z.reshape(-1, z.shape[-1]).astype(np.float32), sigmoid=False).array
    y = y.reshape(len(x), -1, y.shape[-1])
    # log Bernoulli(x | sigmoid(y)) = x y - softplus(y) (-F.bernoulli_nll), each pixel's
    # term in float32 as the loop computes it, summed over the pixels in float64
    log_px = (x[:, None] * y - np.logaddexp(np.float32(0), y)).sum(-1, dtype=np.float64)
    log_pz = -0.5 * (z * z + LOG_2PI).sum(-1)
    log_qz = -0.5 * (eps * eps + ln_var[:, None] + LOG_2PI).sum(-1)
    return log_px + log_pz - log_qz


def iw_log_likelihood(model, x, ks, rng, rows=8192):
    """Per image, the importance-weighted estimate of log p(x) for each k in ``ks``
    (the first k of max(ks) samples): {k: array of len(x)}. Image i's noise is
    rng.standard_normal((max(ks), L)), drawn image after image; ``rows`` bounds the
    decoder's batch (images x samples)."""
    k_max, n_latent = max(ks), model.le3_mu.out_size
    out = {k: np.empty(len(x)) for k in ks}
    chunk = max(1, rows // k_max)  # images a decoder batch holds with all their samples
    step = min(k_max, rows)        # samples a decoder batch holds of one image
    for i in range(0, len(x), chunk):
        images = x[i:i + chunk]
        eps = rng.standard_normal((len(images), k_max, n_latent))
        lw = np.concatenate([log_weights(model, images, eps[:, s:s + step])
                             for s in range(0, k_max, step)], axis=1)
        for k in ks:  # log (1/k) sum_i w_i, stably
            top = lw[:, :k].max(axis=1)
            out[k][i:i + chunk] = top + np.log(np.exp(lw[:, :k] - top[:, None]).mean(axis=1))
    return out


def encode_all(model, x, batchsize=1000):
    """encode() of many images, a batch at a time."""
    return tuple(map(np.concatenate, zip(*(encode(model, x[i:i + batchsize])
                                           for i in range(0, len(x), batchsize)))))


def latent_statistics(model, x, batchsize=1000):
    """(KL per latent dimension, test mean; activity Cov_x(E_q[z_u]) per dimension)."""
    mu, ln_var = encode_all(model, x, batchsize)
    kl = 0.5 * (mu * mu + np.exp(ln_var) - ln_var - 1).mean(axis=0)
    return kl, mu.var(axis=0)


def evaluate(model, x, ks=(1, 10, 100, 1000, 5000), seed=0):
    """Every number of evaluation.json for images x."""
    np.random.seed(seed)  # the ELBO's noise (the loop's generator)
    elbo = {k: neg_elbo(model, x, k) for k in (1, 10)}
    iw = iw_log_likelihood(model, x, ks, np.random.RandomState(seed))
    kl, activity = latent_statistics(model, x)
    return {'n_images': len(x), 'seed': seed,
            'neg_elbo': {str(k): v for k, v in elbo.items()},
            'neg_log_likelihood': {str(k): -float(v.mean()) for k, v in iw.items()},
            'kl_per_dim': kl.tolist(), 'kl': float(kl.sum()),
            'activity': activity.tolist(), 'active_units': int((activity > ACTIVE).sum())}


def table(result):
    """evaluation.json as lines of text."""
    lines = ['test images: %d%s' % (result['n_images'], ', binarised' if result['binarized']
                                    else ' (grey levels, not binarised: not the papers\' data)')]
    for k, v in result['neg_elbo'].items():
        lines.append('-ELBO, k = %-5s %.2f nats' % (k, v))
    for k, v in result['neg_log_likelihood'].items():
        lines.append('-log p(x), IW k = %-5s %.2f nats' % (k, v))
    lines.append('KL(q(z|x) || p(z)): %.2f nats; active units: %d of %d (Cov > %g)'
                 % (result['kl'], result['active_units'], len(result['activity']), ACTIVE))
    return lines


def main(argv=None):
    p = cli.Parser(prog='python -m chainer_vae.evaluate', name='evaluate', description=__doc__)
    p.add_argument('run_dir', type=cli.existing_dir, help='a finished train_vae.py --out directory')
    p.add_argument('--out', help='the folder evaluation.json goes into (default: RUN_DIR)')
    p.add_argument('--k', type=cli.bounded_int(1, K_MAX), nargs='+',
                   default=[1, 10, 100, 1000, 5000], help='numbers of importance samples')
    p.add_argument('--n-test', type=cli.positive_int,
                   help='the first N test images only (default: all)')
    p.add_argument('--seed', type=cli.seed, default=0, help='seed of the noise')
    p.add_argument('--data-dir', help="the four MNIST .gz files (default: the run config's "
                                      "data_dir, else chainer's dataset cache)")
    args = p.parse_args(argv)
    out = args.out or args.run_dir
    with cli.command('evaluate', writes_in=out), files.Lock(out).acquire():
        # locked from before the model is read: a run that --force replaces meanwhile
        # would get the old model's numbers
        config, model = checkpoint.load_run(args.run_dir)
        x_test = data.load_for_run(config, args.data_dir).x_test
        x_test = x_test[:args.n_test]
        result = evaluate(model, x_test, sorted(set(args.k)), args.seed)
        result['binarized'] = config['data']['binarize']
        result['command'] = 'python -m chainer_vae.evaluate ' + ' '.join(
            sys.argv[1:] if argv is None else argv)
        text = json.dumps(result, indent=1).encode()
        files.write_into(out, EVALUATION, lambda f: f.write(text))
    print('\n'.join(table(result)))


if __name__ == '__main__':
    main()
