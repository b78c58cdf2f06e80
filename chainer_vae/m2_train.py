"""M2's learning loop (chainer_vae/m2_net.py's chain), as train.py is the VAE's: Adam with
the weights' prior as weight decay, an epoch over Kingma's batches, the validation and
test error of q(y|x) each epoch, its checkpoint and log.csv row.

Where this differs from Kingma's code: chainer's Adam corrects its moments' initial bias
and adds eps = 1e-8 (the code's, adam.py:48-55, computes the correction and does not use
it). On a GPU the images of each step are drawn on the host, as on the CPU, and sent to
the GPU, as the notebook did.
"""
import numpy as np

import chainer
from chainer.optimizer_hooks import WeightDecay

from chainer_vae import cpu_kernels, m2_data, paper, train


def optimizer_for(model, n_train):
    """Adam, and the N(0, I) prior of the weights as weight decay 1 / n_train: Kingma's
    code adds the prior's gradient divided by the number of images (learn_yz_x_ss.py:
    289-296) on every weight of q(z|x,y) and p(x|y,z) (VAE_YZ_X.py:124-144) and on the
    classifier's weights and biases (MLP_Categorical.py:34-36)."""
    optimizer = cpu_kernels.Adam(**paper.ADAM)  # chainer's arithmetic (chainer_vae/cpu_kernels.py)
    optimizer.setup(model)
    for name, param in model.namedparams():
        if name.endswith('/W') or name.startswith('/qy_'):
            param.update_rule.add_hook(WeightDecay(1.0 / n_train))
    return optimizer


def train_epoch(model, optimizer, x_train, y_train, layout, beta, epoch, update=None):
    """One pass over the training images in the batches of ``layout``; the means of the
    loss, -L of the labelled, -U of the unlabelled and -log q(y|x) of the labelled.
    ``update(epoch, step)`` is told of each step (progress.bar's). The images are drawn
    on the host and sent to the model's device step by step, as the notebook did."""
    sums, xp = np.zeros(4), model.xp
    for i, (labelled, unlabelled) in enumerate(layout):
        x_l, x_u = xp.asarray(x_train[labelled]), xp.asarray(x_train[unlabelled])
        optimizer.update(model.loss, x_l, xp.asarray(y_train[labelled]), x_u, beta)
        train.finite(model.total, epoch, 'training', i)
        sums += [float(model.total.array) * (len(x_l) + len(x_u))] + [
            float(s.array) for s in model.sums]
        if update:
            update(epoch, i + 1)
    n_l = sum(len(labelled) for labelled, _ in layout)
    return tuple(sums / [len(x_train), n_l, len(x_train) - n_l, n_l])


def error_percent(model, x, y, batchsize=2000):
    """Test error % of q(y|x): the share of images whose most probable label is not y."""
    wrong, xp = 0, model.xp
    with chainer.no_backprop_mode():
        for i in range(0, len(x), batchsize):
            logits = model.classify(xp.asarray(x[i:i + batchsize])).array
            wrong += int((logits.argmax(axis=1) != xp.asarray(y[i:i + batchsize])).sum())
    return 100.0 * wrong / len(x)


def learn(model, optimizer, d, layout, beta, folder, n_epoch, update=None, reshuffle=False):
    """The epochs after ``folder``'s last (a checkpoint.RunFolder, open) to n_epoch, each
    ending with its checkpoint and log.csv row; ``reshuffle``: each in batches drawn anew
    from ``layout`` (not from the epoch before's: a resumed run draws them as the whole)."""
    for epoch in range(folder.epoch + 1, n_epoch + 1):
        print('epoch', epoch)
        batches = m2_data.reshuffled(layout) if reshuffle else layout
        losses = train_epoch(model, optimizer, d.x_train, d.y_train, batches, beta, epoch,
                             update)
        print('train loss=%.4f: labelled -L(x,y)=%.4f, unlabelled -U(x)=%.4f, '
              '-log q(y|x)=%.4f' % losses)
        errors = (error_percent(model, d.x_valid, d.y_valid),
                  error_percent(model, d.x_test, d.y_test))
        print('validation error=%.2f%%, test error=%.2f%%' % errors)
        folder.end_epoch(model, optimizer, losses + errors)  # checkpoint.npz, then log.csv
