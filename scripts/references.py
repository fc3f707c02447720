"""Reference formulas for the losses PyTorch 1.13 does not ship: TF 2.x Keras and torchvision 0.14.

Imported by scripts/gen_fixtures.py (float64 tensors: the fixtures' expected values and gradients) and by
bench/torch_bench.py (float32 tensors: the PyTorch column of the benchmark).  TensorFlow and torchvision
are not installed, so each documented formula is written in torch ops with TF's gradient conventions:
tf.maximum(a, b) routes the gradient to a where a >= b, tf.clip_by_value passes it where lo <= x <= hi,
d|x|/dx = 0 at 0, tf.where differentiates the selected branch only, tf.reduce_max splits it evenly
between tied maxima (torch.amax does the same).  Keras' backend.epsilon() (1e-7) and l2_normalize's 1e-12
are float32 constants, as TF uses them on float32 tensors.

Keras losses: the element-wise terms (*_terms) or the per-sample loss (one value per sample: the last
axis reduced), then keras_reduce (sample weights, ignore_class mask, reduction).
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

KERAS_EPS = float(np.float32(1e-7))
KERAS_ONE_MINUS_EPS = float(np.float32(1) - np.float32(1e-7))
KERAS_NORM_EPS = float(np.float32(1e-12))
LOG2 = math.log(2.0)


# ----------------------------------------------------------------------------- TF ops

def tf_maximum(a, b: float):
    """tf.maximum(a, b) for constant b: gradient flows to a where a >= b (NaN gives b, unlike torch.clamp)."""
    return torch.where(a >= b, a, b)


def tf_clip(x, lo, hi):
    """tf.clip_by_value: the gradient passes where lo <= x <= hi, as torch.clamp's does."""
    return torch.clamp(x, lo, hi)


def tf_sigmoid_xent(x, z):
    """tf.nn.sigmoid_cross_entropy_with_logits, as TF composes it."""
    cond = x >= 0
    relu = torch.where(cond, x, torch.zeros_like(x))
    neg_abs = torch.where(cond, -x, x)
    return relu - x * z + torch.log1p(torch.exp(neg_abs))


class TfSoftmaxXent(torch.autograd.Function):
    """tf.nn.softmax_cross_entropy_with_logits: backprop is softmax - labels."""
    @staticmethod
    def forward(ctx, logits, labels):
        ls = torch.log_softmax(logits, -1)
        ctx.save_for_backward(ls, labels)
        return -(labels * ls).sum(-1)

    @staticmethod
    def backward(ctx, g):
        ls, labels = ctx.saved_tensors
        return g.unsqueeze(-1) * (ls.exp() - labels), None


# ----------------------------------------------------------------------------- Keras reduction

def keras_reduce(per_sample, reduction, weight=None, mask=None):
    """Keras Loss.__call__: sample weights, the ignore_class mask (apply_valid_mask), the reduction
    ('sum_over_batch_size' divides by the number of samples; 'none' keeps one value per sample)."""
    ps = per_sample.reshape(-1)
    if mask is not None:
        m = mask.to(per_sample.dtype)
        if reduction == "sum_over_batch_size":
            m = m * (m.numel() / m.sum())
        weight = m if weight is None else weight.reshape(-1) * m
    if weight is not None:
        ps = ps * weight.reshape(-1)
    if reduction == "none":
        return ps
    total = ps.sum()
    return total if reduction == "sum" else total / max(ps.numel(), 1)


# ----------------------------------------------------------------------------- Keras regression (terms)

def mse_terms(yt, yp):
    return (yp - yt) ** 2


def mae_terms(yt, yp):
    return torch.abs(yp - yt)


def mape_terms(yt, yp):
    return 100.0 * torch.abs((yt - yp) / tf_maximum(torch.abs(yt), KERAS_EPS))


def msle_terms(yt, yp):
    return (torch.log(tf_maximum(yp, KERAS_EPS) + 1.0) - torch.log(tf_maximum(yt, KERAS_EPS) + 1.0)) ** 2


def huber_terms(yt, yp, delta):
    e = yp - yt
    a = torch.abs(e)
    return torch.where(a <= delta, 0.5 * e * e, delta * a - 0.5 * delta * delta)


def log_cosh_terms(yt, yp):
    x = yp - yt
    # x + softplus(-2x) - log 2; logaddexp(z, 0) is softplus with TF's gradient sigmoid(z) and never overflows.
    return x + torch.logaddexp(-2.0 * x, torch.zeros((), dtype=x.dtype)) - LOG2


# ----------------------------------------------------------------------------- Keras probabilistic

def smooth_binary_labels(t, ls):
    return t if ls == 0 else t * (1.0 - ls) + 0.5 * ls


def binary_crossentropy_terms(yt, yp, from_logits, ls):
    """keras.backend.binary_crossentropy on smoothed labels (element-wise)."""
    y = smooth_binary_labels(yt, ls)
    if from_logits:
        return tf_sigmoid_xent(yp, y)
    c = tf_clip(yp, KERAS_EPS, KERAS_ONE_MINUS_EPS)
    return -(y * torch.log(c + KERAS_EPS) + (1 - y) * torch.log(1 - c + KERAS_EPS))


def binary_focal_terms(yt, yp, from_logits, ls, gamma, alpha, balance):
    """keras.backend.binary_focal_crossentropy (element-wise)."""
    y = smooth_binary_labels(yt, ls)
    p = torch.sigmoid(yp) if from_logits else yp
    p_t = y * p + (1 - y) * (1 - p)
    out = torch.pow(1.0 - p_t, gamma) * binary_crossentropy_terms(y, yp, from_logits, 0.0)
    if balance:
        out = (y * alpha + (1 - y) * (1 - alpha)) * out
    return out


def categorical_crossentropy(t, p, from_logits, ls):
    """keras.losses.categorical_crossentropy per sample: probabilities are normalized along the last axis."""
    C = t.shape[-1]
    y = t if ls == 0 else t * (1.0 - ls) + ls / C
    if from_logits:
        return TfSoftmaxXent.apply(p, y)
    q = p / p.sum(-1, keepdim=True)
    return -(y * torch.log(tf_clip(q, KERAS_EPS, KERAS_ONE_MINUS_EPS))).sum(-1)


def sparse_categorical_crossentropy(t, p, from_logits, ignore=None):
    """keras.losses.sparse_categorical_crossentropy per sample; ignore_class samples give 0."""
    z = p if from_logits else torch.log(tf_clip(p, KERAS_EPS, KERAS_ONE_MINUS_EPS))
    ls = torch.log_softmax(z, -1)
    tt = t.reshape(ls.shape[:-1])
    valid = torch.ones_like(tt, dtype=torch.bool) if ignore is None else tt != ignore
    safe = torch.where(valid, tt, torch.zeros_like(tt))
    nll = -ls.gather(-1, safe.unsqueeze(-1)).squeeze(-1)
    return torch.where(valid, nll, torch.zeros_like(nll))


def kl_divergence(t, p):
    """keras.losses.kl_divergence per sample."""
    tc = tf_clip(t, KERAS_EPS, 1.0)
    pc = tf_clip(p, KERAS_EPS, 1.0)
    return (tc * torch.log(tc / pc)).sum(-1)


def poisson_terms(t, p):
    return p - t * torch.log(p + KERAS_EPS)


# ----------------------------------------------------------------------------- Keras margin (per sample)

def maybe_convert_labels(yt):
    """keras.losses._maybe_convert_labels: 0/1 labels become -1/1 when all labels are 0 or 1."""
    return 2.0 * yt - 1.0 if bool(((yt == 0) | (yt == 1)).all()) else yt


def hinge(yt, yp):
    return tf_maximum(1.0 - maybe_convert_labels(yt) * yp, 0.0).mean(dim=-1)


def squared_hinge(yt, yp):
    return (tf_maximum(1.0 - maybe_convert_labels(yt) * yp, 0.0) ** 2).mean(dim=-1)


def categorical_hinge(yt, yp):
    pos = (yt * yp).sum(dim=-1)
    neg = torch.amax((1.0 - yt) * yp, dim=-1)
    return tf_maximum(neg - pos + 1.0, 0.0)


def l2_normalize(x, axis):
    return x * torch.rsqrt(tf_maximum((x * x).sum(dim=axis, keepdim=True), KERAS_NORM_EPS))


def cosine_similarity(yt, yp, axis=-1):
    """keras.losses.cosine_similarity per sample (the negated cosine along axis)."""
    return -(l2_normalize(yt, axis) * l2_normalize(yp, axis)).sum(dim=axis)


# ----------------------------------------------------------------------------- torchvision

def sigmoid_focal_loss(x, t, alpha=0.25, gamma=2.0, reduction="none"):
    """torchvision.ops.sigmoid_focal_loss (torchvision 0.14, the release paired with PyTorch 1.13)."""
    p = torch.sigmoid(x)
    ce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * ((1 - p_t) ** gamma)
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss
