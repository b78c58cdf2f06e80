"""Kingma, Rezende, Mohamed & Welling (2014), "Semi-supervised Learning with Deep
Generative Models": Table 1 and the settings of its M2 and M1+M2 (the paper, sec. 4, and
Kingma's code, dpkingma/nips14-ssl), read by the M2 command's defaults (chainer_vae/m2.py),
the M1 comparison (chainer_vae/m1.py) and the results table (chainer_vae/m2_results.py)."""

# Table 1: MNIST test error % with N labels
TABLE1 = {'NN': (25.81, 11.44, 10.7, 6.04), 'M1+TSVM': (11.82, 5.72, 4.24, 3.49),
          'M2': (11.97, 4.94, 3.60, 3.92), 'M1+M2': (3.33, 2.59, 2.40, 2.18)}
TABLE1_N = (100, 600, 1000, 3000)

# M2's settings (python -m chainer_vae.m2's defaults): the papers' split of MNIST's 60,000
# training images into 50,000 and 10,000 for validation, z of 50 dimensions, weights from
# N(0, 0.001^2) (init_w(1e-3)), the batches cut once, the pixels dynamically binarised
KINGMA = dict(dataset='mnist', n_train=50000, dimz=50, init='kingma', reshuffle=False,
              grey=False)
ALPHA = 0.1  # the weight of the labelled images' classification term, per image of the set
INIT_SD = 0.001
ADAM = dict(alpha=3e-4, beta1=0.9, beta2=0.999)  # sec. 4.4; learn_yz_x_ss.py:307
# the M1 of his M1+M2 (learn_yz_x_ss.py:41-46): 784-500-500-50, softplus, binarised pixels,
# learnt by Adam 3e-4 with the N(0, I) prior as weight decay, unclipped (gpulearn_z_x.py)
KINGMA_M1 = dict(n_h=500, n_latent=50, activation='softplus')
KINGMA_M1_TRAINING = dict(lr=3e-4, weight_decay=1.0 / KINGMA['n_train'], grad_clip=None)


# Each Table 1 cell of M2 and M1+M2 as a preset of python -m chainer_vae.m2 (his 3000
# epochs; the M1+M2 ones need --m1 M1_RUN)
PRESETS = {'%s-n%d' % (model, n): dict(labels=n, epoch=3000)
           for model in ('m2', 'm1m2') for n in TABLE1_N}

# The M1 of the re-implementation that came nearest Table 1's M1+M2 (jonemeth/
# generative-models: 784-600-600-50 on the grey levels, batch 500, Adam 3e-4 with weight
# decay 1 / 50,000, gradients clipped at norm 5, 1000 epochs): train_vae.py --preset m1
M1_PRESET = dict(dimz=50, n_hidden=600, batchsize=500, n_train=KINGMA['n_train'], lr=3e-4,
                 weight_decay=1.0 / KINGMA['n_train'], grad_clip=5.0, epoch=1000)


def hidden_of(n_labels, m1):
    """Kingma's hidden units: 300 for M1+M2 below N = 600, else 500 (run_2layer_ssl.py;
    the paper's M2 on pixels: 500)."""
    return 300 if m1 and n_labels < 600 else 500


def steps_of(n_labels):
    """Kingma's steps an epoch: 100 at N = 100, 200 from N = 600 (run_2layer_ssl.py);
    100 below 600, and never more than N, so that each step has a labelled image."""
    return min(n_labels, 100 if n_labels < 600 else 200)
