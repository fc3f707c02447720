#!/usr/bin/python3
"""Reference fixtures for the losses of issue 13 (all but CTC), one file per loss:
test/fixtures/<family>/<framework>.<loss>.json, in the case format of scripts/gen_fixtures.py.

    /usr/bin/python3 scripts/fixtures_newlosses.py           # write every file
    /usr/bin/python3 scripts/fixtures_newlosses.py --check   # verify the files are current

PyTorch losses: float64 autograd of torch.nn.functional (Debian's PyTorch 1.13).
Keras losses: no Keras or TensorFlow here, so each formula is transcribed in float64 torch
from Keras 3's keras/src/losses/losses.py and loss.py (keras-team/keras, the line numbers
cited at each function), and its autograd gradient is checked against central finite
differences before it is written.  Every case draws from an RNG seeded by crc32(case id).
"""

import argparse
import json
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")
GENERATOR = "scripts/fixtures_newlosses.py"
KERAS_EPS = 1e-7  # keras.backend.epsilon()

torch.set_num_threads(1)


def rng_for(case_id):
    return np.random.default_rng(zlib.crc32(case_id.encode("utf-8")))


def encode(x):
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return 0.0 if x == 0 else x


def as_arr(a):
    a = np.asarray(a)
    if a.dtype == np.int32:
        return {"i32": [int(v) for v in a.ravel()]}
    assert a.dtype == np.float32, a.dtype
    return {"f32": [encode(v) for v in a.ravel()]}


def f64(a):
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def fd_check(fn, ts, wrt, go, case_id):
    """Central differences of sum(fn * go) against autograd, for every element of every wrt."""
    def total(**kw):
        return (fn(**kw) * go).sum()
    for name in wrt:
        x = ts[name].detach().clone()
        base = {k: v.detach() for k, v in ts.items()}
        xg = x.clone().requires_grad_(True)
        base[name] = xg
        (g,) = torch.autograd.grad(total(**base), xg)
        flat = x.reshape(-1)
        for i in range(flat.numel()):
            h = 1e-6 * max(1.0, abs(float(flat[i])))
            up, dn = flat.clone(), flat.clone()
            up[i] += h
            dn[i] -= h
            fu = total(**{**base, name: up.reshape(x.shape)})
            fdn = total(**{**base, name: dn.reshape(x.shape)})
            fd = float((fu - fdn) / (2 * h))
            ag = float(g.reshape(-1)[i])
            if not (math.isfinite(fd) and math.isfinite(ag)):
                continue
            if abs(fd - ag) > 1e-5 + 1e-4 * abs(ag):
                raise AssertionError(f"{case_id}: d/d{name}[{i}] autograd {ag} vs finite differences {fd}")


def case(case_id, loss, args, fn, wrt, *, shape=None, opts=None, grad_output=1.0, fd=True, tolerance=None,
         fn_args=None):
    """One fixture case: fn(**float64 tensors of args) -> loss; gradients of sum(loss * gradOutput).

    args: the JS call's arrays in call order (np float32 / int32); fn_args: extra tensors fn
    takes (sample weights); wrt: the differentiated argument names (one: grad is a list)."""
    ts = {k: f64(v) for k, v in args.items()}
    ts.update({k: f64(v) for k, v in (fn_args or {}).items()})
    for name in wrt:
        ts[name].requires_grad_(True)
    out = fn(**ts)
    go = f64(grad_output).reshape(out.shape) if isinstance(grad_output, np.ndarray) else float(grad_output)
    grads = torch.autograd.grad((out * go).sum(), [ts[n] for n in wrt], allow_unused=True)
    if fd:
        fd_check(fn, ts, wrt if loss.startswith("keras.") else [], go, case_id)
    grads = [torch.zeros_like(ts[n]) if g is None else g for n, g in zip(wrt, grads)]
    c = {"id": case_id, "loss": loss, "args": {k: as_arr(v) for k, v in args.items()}}
    if shape is not None:
        c["shape"] = list(shape)
    c["opts"] = opts or {}
    c["gradOutput"] = as_arr(grad_output) if isinstance(grad_output, np.ndarray) else grad_output
    lv = out.detach().reshape(-1).tolist()
    enc = [encode(v) for v in lv]
    gl = {n: [encode(v) for v in g.reshape(-1).tolist()] for n, g in zip(wrt, grads)}
    c["expected"] = {"loss": enc if isinstance(grad_output, np.ndarray) else enc[0],
                     "grad": gl[wrt[0]] if len(wrt) == 1 else gl}
    if tolerance:
        c["tolerance"] = tolerance
    return c


# ----------------------------------------------------------------------------- Keras reduction

def keras_reduce(values, reduction, weight=None, mask=None):
    """loss.py reduce_weighted_values (l. 164) with apply_mask (l. 197) and reduce_values (l. 140):
    mask -> weights (for sum_over_batch_size scaled by size / valid, divide_no_nan), values * w,
    then 'none' as is, 'sum', or 'sum_over_batch_size' = sum / size with divide_no_nan (l. 159).
    A 0-D loss (dice over every axis) is returned unreduced (l. 141-146)."""
    w = weight
    if mask is not None:
        m = mask.to(torch.float64)
        if reduction == "sum_over_batch_size":
            valid = m.sum()
            m = m * (m.numel() / valid if valid > 0 else 0.0)
        w = m if w is None else w.reshape(m.shape) * m
    if w is not None:
        values = values * w.reshape(values.shape)
    if reduction == "none" or values.dim() == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    return total / values.numel() if values.numel() > 0 else total * 0.0


def keras_signed_grad(rng, shape):
    """An upstream gradient array for reduction 'none': nonzero multiples of 1/8 in [-2, 2]."""
    mag = 0.125 * rng.integers(1, 17, shape)
    return (np.where(rng.random(shape) < 0.5, -1.0, 1.0) * mag).astype(np.float32)


def weights_for(rng, shape):
    return (0.125 * rng.integers(0, 17, shape)).astype(np.float32)


def keras_case(cid, loss, yTrue, yPred, per_loss, red, w, go, opts, shape):
    """A Keras case: per_loss(yTrue, yPred) -> unreduced losses, then keras_reduce with the weights w."""
    o = {**opts, "reduction": red}
    if w is not None:
        o["sampleWeight"] = as_arr(w)

    def fn(yTrue, yPred, w=None):
        return keras_reduce(per_loss(yTrue, yPred), red, w)
    return case(cid, loss, {"yTrue": yTrue, "yPred": yPred}, fn, ["yPred"], shape=shape, opts=o,
                grad_output=go, fn_args={} if w is None else {"w": w})


def reduction_cases(make, base_id, loss_shape, reductions=("sum_over_batch_size", "sum", "none")):
    """make(case_id, reduction, weight or None, grad_output) for each reduction, unweighted and weighted."""
    out = []
    for red in reductions:
        for weighted in (False, True):
            cid = f"{base_id}/{red}{'/weighted' if weighted else ''}"
            rng = rng_for(cid + "#aux")
            w = weights_for(rng, loss_shape) if weighted else None
            go = keras_signed_grad(rng, loss_shape) if red == "none" else 0.75
            out.append(make(cid, red, w, go))
    return out


# ----------------------------------------------------------------------------- categorical focal

def k_categorical_focal(yTrue, yPred, alpha, gamma, from_logits, ls, axis):
    """losses.py categorical_focal_crossentropy (l. 2217-2307): label smoothing (l. 2280-2285),
    softmax when from_logits, output = y_pred / sum (l. 2294), clip to [eps, 1 - eps] (l. 2295),
    cce = -y log(output) (l. 2298), alpha (1 - output)^gamma cce summed over axis (l. 2301-2306)."""
    if ls:
        yTrue = yTrue * (1.0 - ls) + ls / yPred.shape[axis]
    if from_logits:
        yPred = torch.softmax(yPred, dim=axis)
    output = yPred / yPred.sum(dim=axis, keepdim=True)
    output = torch.clamp(output, KERAS_EPS, 1.0 - KERAS_EPS)
    cce = -yTrue * torch.log(output)
    focal = torch.pow(1.0 - output, gamma) * alpha * cce
    return focal.sum(dim=axis)


def one_hot_rows(rng, shape, axis):
    labels = rng.integers(0, shape[axis], [d for i, d in enumerate(shape) if i != axis])
    return np.moveaxis(np.eye(shape[axis], dtype=np.float32)[labels], -1, axis)


def gen_categorical_focal():
    cases = []
    variants = [
        # (tag, shape, axis, opts)
        ("defaults", (4, 5), -1, {}),
        ("gamma0-alpha1", (3, 4), -1, {"gamma": 0, "alpha": 1}),
        ("gamma1.5-ls0.1", (3, 6), -1, {"gamma": 1.5, "labelSmoothing": 0.1}),
        ("logits", (4, 5), -1, {"fromLogits": True}),
        ("logits-ls0.2-gamma3", (2, 3, 4), -1, {"fromLogits": True, "labelSmoothing": 0.2, "gamma": 3}),
        ("axis1-of-3d", (2, 4, 3), 1, {"axis": 1}),
        ("axis0-logits", (5, 3), 0, {"axis": 0, "fromLogits": True}),
        ("soft-labels", (3, 4), -1, {"soft": True}),
    ]
    for tag, shape, axis, opts in variants:
        ax = axis % len(shape)
        loss_shape = [d for i, d in enumerate(shape) if i != ax]
        soft = opts.pop("soft", False)

        def make(cid, red, w, go, shape=shape, ax=ax, opts=opts, soft=soft):
            rng = rng_for(cid)
            if opts.get("fromLogits"):
                yPred = (rng.standard_normal(shape) * 2).astype(np.float32)
            else:
                yPred = rng.uniform(0.05, 1.0, shape).astype(np.float32)  # rows normalized inside
            yTrue = rng.uniform(0, 1, shape).astype(np.float32) if soft else one_hot_rows(rng, shape, ax)
            per = lambda yTrue, yPred: k_categorical_focal(  # noqa: E731
                yTrue, yPred, opts.get("alpha", 0.25), opts.get("gamma", 2.0), opts.get("fromLogits", False),
                opts.get("labelSmoothing", 0.0), ax)
            return keras_case(cid, "keras.categoricalFocalCrossentropy", yTrue, yPred, per, red, w, go, opts, shape)
        cases += reduction_cases(make, f"keras.categoricalFocalCrossentropy/{tag}", loss_shape)
    # Clipped probabilities (a zero and a one): the clip passes no gradient there.
    yTrue = np.array([[0, 1, 0], [1, 0, 0]], dtype=np.float32)
    yPred = np.array([[0.0, 1.0, 0.0], [0.5, 0.25, 0.25]], dtype=np.float32)
    cases.append(case("keras.categoricalFocalCrossentropy/clipped", "keras.categoricalFocalCrossentropy",
                       {"yTrue": yTrue, "yPred": yPred},
                       lambda yTrue, yPred: keras_reduce(k_categorical_focal(yTrue, yPred, 0.25, 2.0, False, 0.0, -1),
                                                         "sum_over_batch_size"),
                       ["yPred"], shape=(2, 3), opts={}, fd=False))
    # Keras docstring example (losses.py l. 2252-2258): [2.634e-04, 6.759e-01] per sample.
    yTrue = np.array([[0, 1, 0], [0, 0, 1]], dtype=np.float32)
    yPred = np.array([[0.05, 0.9, 0.05], [0.1, 0.85, 0.05]], dtype=np.float32)
    cases.append(case("keras.categoricalFocalCrossentropy/docstring", "keras.categoricalFocalCrossentropy",
                      {"yTrue": yTrue, "yPred": yPred},
                      lambda yTrue, yPred: k_categorical_focal(yTrue, yPred, 0.25, 2.0, False, 0.0, -1),
                      ["yPred"], shape=(2, 3), opts={"reduction": "none"}, grad_output=np.ones(2, np.float32)))
    return cases


# ----------------------------------------------------------------------------- dice, tversky

def ksum(x, dims):
    """ops.sum over dims; an empty tuple reduces nothing (torch's sum(dim=()) would sum all)."""
    return x if len(dims) == 0 else x.sum(dim=dims)


def k_dice(yTrue, yPred, axis):
    """losses.py dice (l. 2567-2616): inter = sum(y_true * y_pred, axis) (l. 2607),
    1 - 2 inter / (sum y_true + sum y_pred + eps) (l. 2608-2616); axis None sums every axis."""
    dims = tuple(range(yPred.dim())) if axis is None else tuple(axis)
    inter = ksum(yTrue * yPred, dims)
    return 1 - 2.0 * inter / (ksum(yTrue, dims) + ksum(yPred, dims) + KERAS_EPS)


def k_tversky(yTrue, yPred, alpha, beta, axis):
    """losses.py tversky (l. 2619-2658): inter = sum(y_pred y_true), fp = sum((1 - y_true) y_pred),
    fn = sum(y_true (1 - y_pred)) (l. 2648-2650), 1 - inter / (inter + alpha fp + beta fn + eps)."""
    dims = tuple(range(yPred.dim())) if axis is None else tuple(axis)
    inter = ksum(yPred * yTrue, dims)
    fp = ksum((1 - yTrue) * yPred, dims)
    fn = ksum(yTrue * (1 - yPred), dims)
    return 1 - inter / (inter + fp * alpha + fn * beta + KERAS_EPS)


def gen_overlap(loss, per_loss, param_variants):
    cases = []
    layouts = [
        # (tag, shape, axis (None = Keras' default, every axis), soft labels)
        ("all-axes", (3, 4), None, False),
        ("last-axis", (4, 6), [-1], False),
        ("per-sample-nhwc", (2, 3, 3, 2), [1, 2, 3], True),
        ("spatial-per-channel", (2, 3, 4, 2), [1, 2], False),
        ("leading-axis", (5, 3), [0], True),
        ("no-axes", (2, 3), [], True),
    ]
    for ptag, params in param_variants:
        for tag, shape, axis, soft in layouts:
            canon = list(range(len(shape))) if axis is None else [a % len(shape) for a in axis]
            loss_shape = [d for i, d in enumerate(shape) if i not in canon] or [1]

            def make(cid, red, w, go, shape=shape, axis=axis, soft=soft, params=params):
                rng = rng_for(cid)
                yPred = rng.uniform(0, 1, shape).astype(np.float32)
                yTrue = (rng.uniform(0, 1, shape) if soft else rng.integers(0, 2, shape)).astype(np.float32)
                opts = params if axis is None else {**params, "axis": axis}
                return keras_case(cid, loss, yTrue, yPred, lambda t, p: per_loss(t, p, params, axis), red, w, go, opts,
                                  shape)
            cases += reduction_cases(make, f"{loss}/{ptag}/{tag}", loss_shape)
    return cases


def docstring_dice():
    """losses.py l. 2585-2600: [0.5, 0.75757575] with axis (1, 2, 3), 0.6164384 with axis None."""
    yTrue = np.array([[[[1.0], [1.0]], [[0.0], [0.0]]], [[[1.0], [1.0]], [[0.0], [0.0]]]], dtype=np.float32)
    yPred = np.array([[[[0.0], [1.0]], [[0.0], [1.0]]], [[[0.4], [0.0]], [[0.0], [0.9]]]], dtype=np.float32)
    args = {"yTrue": yTrue, "yPred": yPred}
    return [
        case("keras.dice/docstring/axis123", "keras.dice", args, lambda yTrue, yPred: k_dice(yTrue, yPred, (1, 2, 3)),
             ["yPred"], shape=(2, 2, 2, 1), opts={"axis": [1, 2, 3], "reduction": "none"},
             grad_output=np.ones(2, np.float32)),
        case("keras.dice/docstring/all-axes", "keras.dice", args, lambda yTrue, yPred: k_dice(yTrue, yPred, None),
             ["yPred"], shape=(2, 2, 2, 1), opts={}),
    ]


def gen_dice():
    return gen_overlap("keras.dice", lambda t, p, prm, axis: k_dice(t, p, axis), [("defaults", {})]) + docstring_dice()


def gen_tversky():
    per = lambda t, p, prm, axis: k_tversky(t, p, prm.get("alpha", 0.5), prm.get("beta", 0.5), axis)
    return gen_overlap("keras.tversky", per, [("defaults", {}), ("alpha0.3-beta0.7", {"alpha": 0.3, "beta": 0.7})])


# ----------------------------------------------------------------------------- triplet with distance

def t_cosine_distance(x, y):
    """1 - F.cosine_similarity (dim=1, eps=1e-8); a 1-D row is taken as [1, D] (PyTorch needs 2-D)."""
    if x.dim() == 1:
        return 1 - F.cosine_similarity(x.unsqueeze(0), y.unsqueeze(0)).squeeze(0)
    return 1 - F.cosine_similarity(x, y)


def gen_triplet_with_distance():
    loss = "torch.tripletMarginWithDistanceLoss"
    cases = []
    for dist in ("pairwise", "cosine"):
        distance = None if dist == "pairwise" else t_cosine_distance
        for tag, shape, opts in [("defaults", (4, 5), {}), ("swap", (5, 3), {"swap": True}),
                                 ("margin0.2-swap", (6, 4), {"margin": 0.2, "swap": True}),
                                 ("one-row", (7,), {"margin": 0.5}), ("margin-neg", (4, 3), {"margin": -0.1})]:
            for red in ("mean", "sum", "none"):
                cid = f"{loss}/{dist}/{tag}/{red}"
                rng = rng_for(cid)
                a, pos, neg = (rng.standard_normal(shape).astype(np.float32) for _ in range(3))
                rows = shape[0] if len(shape) == 2 else 1
                go = keras_signed_grad(rng, (rows,)) if red == "none" else 0.5
                if red == "none" and len(shape) == 1:
                    go = go.reshape(())
                o = {**opts, "reduction": red}
                if dist != "pairwise" or tag == "defaults":
                    o["distanceFunction"] = dist

                def fn(anchor, positive, negative, red=red, opts=opts, distance=distance):
                    return F.triplet_margin_with_distance_loss(anchor, positive, negative, distance_function=distance,
                                                               margin=opts.get("margin", 1.0), swap=opts.get("swap", False),
                                                               reduction=red)
                c = case(cid, loss, {"anchor": a, "positive": pos, "negative": neg}, fn, ["anchor", "positive", "negative"],
                         shape=shape if len(shape) != 1 else None, opts=o,
                         grad_output=go.reshape(1) if isinstance(go, np.ndarray) and go.ndim == 0 else go)
                cases.append(c)
    # Edges: a == p makes d(a, n) == d(p, n) (swap's tie: half the gradient each way); a row of
    # norm below eps (cosine clamps the norm); inactive hinges.
    a = np.array([[1, 2, 3], [0.5, -1, 2], [1e-9, 2e-9, 0], [1, 0, 0]], dtype=np.float32)
    pos = np.array([[1, 2, 3], [0.5, -1, 2], [1, 1, 1], [1, 0, 0]], dtype=np.float32)
    neg = np.array([[-1, 0.5, 2], [2, 2, -1], [0.5, -1, 1], [0, 1, 0]], dtype=np.float32)
    for dist in ("pairwise", "cosine"):
        distance = None if dist == "pairwise" else t_cosine_distance
        cases.append(case(f"{loss}/{dist}/edges-swap", loss, {"anchor": a, "positive": pos, "negative": neg},
                          lambda anchor, positive, negative, distance=distance: F.triplet_margin_with_distance_loss(
                              anchor, positive, negative, distance_function=distance, swap=True, reduction="none"),
                          ["anchor", "positive", "negative"], shape=(4, 3),
                          opts={"distanceFunction": dist, "swap": True, "reduction": "none"},
                          grad_output=np.array([1, -0.5, 2, 0.25], dtype=np.float32), fd=False))
    return cases


# ----------------------------------------------------------------------------- generalized cross-entropy

def k_generalized_ce(yTrue, yPred, q):
    """losses.py categorical_generalized_cross_entropy (l. 2749-2796): one_hot(y_true, C) (l. 2786),
    p = sum(y_pred * one_hot, -1) (l. 2791), (1 - p^q) / q (l. 2794)."""
    one_hot = F.one_hot(yTrue.detach().to(torch.int64), yPred.shape[-1]).to(yPred.dtype)
    p = (yPred * one_hot).sum(dim=-1)
    return (1 - torch.pow(p, q)) / q


def gen_generalized_ce():
    loss = "keras.categoricalGeneralizedCrossEntropy"
    cases = []
    for qtag, q in (("defaults", None), ("q0.1", 0.1), ("q0.9", 0.9)):
        for tag, shape in (("rows", (5, 4)), ("3d", (2, 3, 4)), ("one-row", (6,))):
            loss_shape = list(shape[:-1]) or [1]

            def make(cid, red, w, go, shape=shape, q=q):
                rng = rng_for(cid)
                yPred = rng.uniform(0.01, 1, shape).astype(np.float32)
                yTrue = rng.integers(0, shape[-1], shape[:-1]).astype(np.int32)
                # Labels go flat (one per row); the reference sees them in shape[:-1].
                per = lambda t, p: k_generalized_ce(t.reshape(shape[:-1]), p, 0.5 if q is None else q)  # noqa: E731
                return keras_case(cid, loss, yTrue.reshape(-1), yPred, per, red, w,
                                  go.reshape(-1) if isinstance(go, np.ndarray) else go, {} if q is None else {"q": q},
                                  shape if len(shape) != 1 else None)
            cases += reduction_cases(make, f"{loss}/{qtag}/{tag}", loss_shape)
    # The Keras docstring example (losses.py l. 1574-1576).
    yTrue = np.array([0, 1, 0, 1], dtype=np.int32)
    yPred = np.array([[0.7, 0.3], [0.2, 0.8], [0.6, 0.4], [0.4, 0.6]], dtype=np.float32)
    cases.append(case(f"{loss}/docstring", loss, {"yTrue": yTrue, "yPred": yPred},
                      lambda yTrue, yPred: keras_reduce(k_generalized_ce(yTrue, yPred, 0.5), "sum_over_batch_size"),
                      ["yPred"], shape=(4, 2), opts={}))
    return cases


# ----------------------------------------------------------------------------- circle

def k_circle(yTrue, yPred, gamma, margin, remove_diagonal):
    """losses.py circle (l. 2661-2746) with build_pos_neg_masks (keras/src/utils/numerical_utils.py
    l. 199-226): dist = max(1 - y_pred y_pred^T, 0) (l. 2704-2708), pos/neg weights and weighted
    distances (l. 2720-2732), softplus(logsumexp_pos + logsumexp_neg) (l. 2734-2743). The Keras mask
    (loss > 0, l. 2744) is returned beside the losses for keras_reduce.
    A row without positives or negatives has logsumexp(-inf...) = -inf and loss 0 (masked); its
    gradient is 0 (TF's where passes none to unselected entries), so such rows are computed on
    finite stand-ins and then zeroed, keeping autograd free of 0 * inf."""
    labels = yTrue.detach().to(torch.int64).reshape(-1, 1)
    dist = torch.maximum(1 - yPred @ yPred.T, torch.zeros(()))
    pos_mask = labels == labels.T
    neg_mask = ~pos_mask
    if remove_diagonal:
        pos_mask = pos_mask & ~torch.eye(len(labels), dtype=torch.bool)
    pos_w = torch.maximum((margin + dist) * pos_mask, torch.zeros(()))
    neg_w = torch.maximum((1 + margin - dist) * neg_mask, torch.zeros(()))
    pos_wd = -1 * gamma * pos_w * (margin - dist)
    neg_wd = gamma * neg_w * ((1 - margin) - dist)
    both = pos_mask.any(dim=1) & neg_mask.any(dim=1)
    ok = both.reshape(-1, 1)
    p_loss = torch.logsumexp(torch.where(pos_mask & ok, pos_wd, torch.where(ok, -math.inf, 0.0)), dim=1)
    n_loss = torch.logsumexp(torch.where(neg_mask & ok, neg_wd, torch.where(ok, -math.inf, 0.0)), dim=1)
    loss = torch.where(both, torch.logaddexp(p_loss + n_loss, torch.zeros(())), torch.zeros(()))
    return loss, loss.detach().to(torch.float32) > 0


def unit_rows(rng, n, d):
    e = rng.standard_normal((n, d))
    return (e / np.linalg.norm(e, axis=1, keepdims=True)).astype(np.float32)


def gen_circle():
    loss = "keras.circle"
    cases = []
    variants = [
        # (tag, labels, D, opts)
        ("defaults", [0, 1, 0, 2, 1, 2], 4, {}),
        ("singleton-label", [0, 1, 0, 3, 1, 0, 2, 2], 5, {}),
        ("keep-diagonal", [0, 1, 0, 1, 1], 3, {"removeDiagonal": False}),
        ("gamma16-margin0.25", [0, 0, 1, 1, 2, 2, 0], 6, {"gamma": 16, "margin": 0.25}),
        ("one-class", [4, 4, 4], 3, {}),
    ]
    for tag, labels, D, opts in variants:
        N = len(labels)

        def make(cid, red, w, go, labels=labels, D=D, opts=opts, N=N):
            rng = rng_for(cid)
            yTrue = np.array(labels, dtype=np.int32)
            yPred = unit_rows(rng, N, D)
            o = {**opts, "reduction": red}
            if w is not None:
                o["sampleWeight"] = as_arr(w)

            def fn(yTrue, yPred, w=None):
                per, mask = k_circle(yTrue, yPred, opts.get("gamma", 80.0), opts.get("margin", 0.4),
                                     opts.get("removeDiagonal", True))
                return keras_reduce(per, red, w, mask)
            return case(cid, loss, {"yTrue": yTrue, "yPred": yPred}, fn, ["yPred"], shape=(N, D), opts=o,
                        grad_output=go, fn_args={} if w is None else {"w": w}, tolerance={"rtol": 1e-4, "atol": 1e-5})
        cases += reduction_cases(make, f"{loss}/{tag}", [N])
    return cases


# ----------------------------------------------------------------------------- files

FILES = {
    ("focal", "keras.categoricalFocalCrossentropy"): gen_categorical_focal,
    ("overlap", "keras.dice"): gen_dice,
    ("overlap", "keras.tversky"): gen_tversky,
    ("metric", "torch.tripletMarginWithDistanceLoss"): gen_triplet_with_distance,
    ("focal", "keras.categoricalGeneralizedCrossEntropy"): gen_generalized_ce,
    ("metric", "keras.circle"): gen_circle,
}


def render(cases):
    doc = {"generator": GENERATOR, "torch": torch.__version__, "cases": cases}
    return json.dumps(doc, separators=(",", ":")) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--only", help="substring of the loss names to write")
    ns = ap.parse_args()
    stale = []
    for (family, loss), gen in FILES.items():
        if ns.only and ns.only not in loss:
            continue
        path = os.path.join(OUT_DIR, family, f"{loss}.json")
        text = render(gen())
        if ns.check:
            if not os.path.exists(path) or open(path).read() != text:
                stale.append(path)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        print(f"{path}: {len(json.loads(text)['cases'])} cases")
    if stale:
        print("stale: " + ", ".join(stale), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
