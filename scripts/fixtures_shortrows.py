#!/usr/bin/python3
"""Reference fixtures for the short-row paths of issue 11: softmax cross-entropy over few classes
(C = 2, 3, 4 unrolled, C = 5 .. 16 transposed blocks of 64 rows) and Keras categorical
crossentropy on probability rows of 1 .. 16, with more than one block of rows (a full block and
a tail), non-finite logits, ignored targets, weights, label smoothing and upstream gradients.
One file per loss: test/fixtures-shortrows/<loss>.json, in the case format of gen_fixtures.py;
outside test/fixtures/, which holds each loss's one contract file (test/registry.test.ts): these
test one implementation's code paths (test/shortrows.test.ts reads them).

    /usr/bin/python3 scripts/fixtures_shortrows.py           # write every file
    /usr/bin/python3 scripts/fixtures_shortrows.py --check   # verify the files are current

References: PyTorch 1.13 F.cross_entropy in float64 autograd; Keras' formulas of
scripts/references.py in float64.  Every case draws from an RNG seeded by crc32(case id).
"""

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_fixtures as gf  # noqa: E402  (its case builder and encodings)
import references as ref  # noqa: E402
from fixtures_newlosses import k_categorical_focal, k_dice, k_generalized_ce, k_tversky  # noqa: E402

GENERATOR = "scripts/fixtures_shortrows.py"
FAMILY_DIR = os.path.join(gf.ROOT, "test", "fixtures-shortrows")
LOOSE = {"rtol": 1e-4, "atol": 1e-5}
NAN, INF = float("nan"), float("inf")

torch.set_num_threads(1)


def rows_for(C, long):
    """67 rows (a block of 64 and a tail of 3) for the cases that carry every feature, else 9."""
    return (67 if C <= 5 else 66) if long else 9


def nonfinite(x, t, ignored):
    """NaN, +inf and -inf logits in rows that are not ignored, and a row of only -inf."""
    free = [r for r in range(x.shape[0]) if r not in ignored]
    x[free[0], 0] = NAN
    x[free[1], x.shape[1] - 1] = INF
    x[free[2], 0] = -INF            # a -inf logit, not the target's
    t[free[2]] = x.shape[1] - 1
    x[free[3], :] = -INF            # every logit -inf: NaN
    x[free[4], 1] = -INF            # the target's logit -inf: +inf loss
    t[free[4]] = 1


def gen_torch():
    cases = []
    for C in (2, 3, 4, 5, 10, 16):
        for tag, red, long, kind, w, ls, ii in (
            ("nonfinite-ignored", "mean", True, "idx", False, 0.0, -100),
            ("weighted-smooth-ignored", "none", C <= 4, "idx", True, 0.2, -100),
            ("ignore-valid-class", "sum", False, "idx", True, 0.0, 1),
            ("probs-weighted-smooth", "mean", False, "prob", True, 0.1, -100),
            ("probs", "none", C in (2, 10), "prob", False, 0.0, -100),
        ):
            case_id = f"torch.crossEntropy/C{C}/{tag}/{red}"
            rng = gf.rng_for(case_id)
            N = rows_for(C, long)
            x = gf.randn(rng, (N, C), 2.0)
            opts = {}
            if kind == "idx":
                t = rng.integers(0, C, N).astype(np.int32)
                ignored = sorted({int(v) for v in rng.integers(0, N, 3)}) if ii == -100 else []
                if ii == -100:
                    t[ignored] = -100
                else:
                    opts["ignoreIndex"] = ii
                    t[:3] = [ii, 0, ii]
                if tag.startswith("nonfinite"):
                    nonfinite(x, t, ignored)
            else:
                t = gf.uniform(rng, (N, C), 0.0, 1.0)
                t = (t / t.sum(axis=1, keepdims=True)).astype(np.float32)
            wv = gf.grid(rng, (C,), 0.25, 2.0) if w else None
            if wv is not None:
                wv[C - 1] = 0.0
                opts["weight"] = gf.arr(wv)
            if ls:
                opts["labelSmoothing"] = ls

            def fn(input, target, red=red, wv=wv, ls=ls, ii=ii):
                kw = {"weight": gf.tensor(wv)} if wv is not None else {}
                return F.cross_entropy(input, target, ignore_index=ii, label_smoothing=ls, reduction=red, **kw)
            tol = LOOSE if tag.startswith("nonfinite") else None
            cases.append(gf.build_case(case_id, "torch.crossEntropy", {"input": x, "target": t}, fn, ["input"], red,
                                       shape=(N, C), opts=opts, scalar_grad=0.7, tolerance=tol))
    return cases + gen_torch_ignored_nonfinite()


def gen_torch_ignored_nonfinite():
    """Ignored targets whose logits are not finite: PyTorch's log_softmax backward turns the zero
    gradient of nll_loss into 0 * softmax, NaN for a NaN or +inf logit or a row of only -inf, 0 for
    one -inf. Short rows (C <= 16, a block of 64 and a tail), long rows (C = 40) and a class axis
    with trailing dims (strided blocks)."""
    cases = []
    for C, shape, red, ls in ((2, None, "mean", 0.0), (3, None, "none", 0.0), (4, None, "sum", 0.1),
                              (5, None, "none", 0.0), (10, None, "mean", 0.1), (16, None, "none", 0.0),
                              (40, None, "mean", 0.0), (4, (3, 4, 7), "none", 0.0), (6, (2, 6, 7), "mean", 0.2)):
        tag = "spatial-" if shape else ""
        case_id = f"torch.crossEntropy/C{C}/{tag}nonfinite-in-ignored/{red}{'-smooth' if ls else ''}"
        rng = gf.rng_for(case_id)
        if shape is None:
            N = 67 if C in (2, 5) else 9  # a full block and a tail for fixed C and transposed C
            x = gf.randn(rng, (N, C), 2.0)
            t = rng.integers(0, C, N).astype(np.int32)
            rows = [0, 2, 4, 6, N - 1]  # one of each kind below, the last in the tail block
            view_x, view_t = x, t
        else:
            x = gf.randn(rng, shape, 2.0)
            t = rng.integers(0, C, (shape[0], shape[2])).astype(np.int32)
            rows = [(0, 1), (0, 3), (1, 2), (1, 5), (shape[0] - 1, shape[2] - 1)]
            view_x = np.moveaxis(x, 1, 2).reshape(-1, C)  # a copy: write back below
            view_t = t.reshape(-1)
            rows = [n * shape[2] + s for n, s in rows]
        for r in rows:
            view_t[r] = -100
        view_x[rows[0], 0] = NAN            # NaN gradient
        view_x[rows[1], C - 1] = INF        # NaN gradient
        view_x[rows[2], :] = -INF           # NaN gradient
        view_x[rows[3], 1] = -INF           # 0 gradient
        view_x[rows[4], 0] = NAN            # NaN gradient (tail block)
        if shape is not None:
            x = np.ascontiguousarray(np.moveaxis(view_x.reshape(shape[0], shape[2], C), 2, 1))
            t = view_t.reshape(shape[0], shape[2])
        opts = {"labelSmoothing": ls} if ls else {}

        def fn(input, target, red=red, ls=ls):
            return F.cross_entropy(input, target, ignore_index=-100, label_smoothing=ls, reduction=red)
        cases.append(gf.build_case(case_id, "torch.crossEntropy", {"input": x, "target": t}, fn, ["input"], red,
                                   shape=x.shape, opts=opts, scalar_grad=0.7, tolerance=LOOSE))
    return cases


def keras_case(cases, name, case_id, red, shape, yt, yp, opts, per_sample, weighted, mask_fn=None):
    rng = gf.rng_for(case_id + "/w")
    w = gf.sample_weights(rng, shape[0]) if weighted else None
    o = dict(opts)
    if w is not None:
        o["sampleWeight"] = gf.arr(w)

    def fn(yTrue, yPred):
        ps = per_sample(yTrue if yTrue.dtype == torch.int64 else yTrue.reshape(shape), yPred.reshape(shape))
        return ref.keras_reduce(ps, red, None if w is None else gf.tensor(w), mask_fn(yTrue) if mask_fn else None)
    cases.append(gf.build_case(case_id, name, {"yTrue": yt, "yPred": yp}, fn, ["yPred"], red, shape=shape, opts=o,
                               scalar_grad=0.7, tolerance=LOOSE))


def gen_keras_categorical():
    cases = []
    name = "keras.categoricalCrossentropy"
    for D in (1, 2, 3, 4, 8, 16):
        for tag, red, long, ls, weighted in (("probs", "sum_over_batch_size", True, 0.0, False),
                                             ("probs-smooth-weighted", "none", D <= 4, 0.2, True),
                                             ("probs-sum", "sum", False, 0.0, True)):
            case_id = f"{name}/rows{D}/{tag}/{red}"
            rng = gf.rng_for(case_id)
            N = 65 if long else 9
            yp = gf.uniform(rng, (N, D), 0.05, 2.0)  # unnormalized rows
            yp[0, 0] = 0.0
            yp[1, :] = 0.0                            # a row of zeros: 0 / 0
            yp[2, D - 1] = NAN
            yp[3, 0] = 1e-9
            yt = np.eye(D, dtype=np.float32)[rng.integers(0, D, N)]
            opts = {"labelSmoothing": ls} if ls else {}
            keras_case(cases, name, case_id, red, (N, D), yt.ravel(), yp.ravel(), opts,
                       lambda t, p, ls=ls: ref.categorical_crossentropy(t, p, False, ls), weighted)
    for C in (2, 3, 4, 10, 16):
        for tag, red, ls, weighted in (("logits-smooth-weighted", "sum_over_batch_size", 0.1, True),
                                       ("logits", "none", 0.0, False)):
            case_id = f"{name}/C{C}/{tag}/{red}"
            rng = gf.rng_for(case_id)
            N = rows_for(C, C in (2, 10))
            yp = gf.randn(rng, (N, C), 2.0)
            yp[5, 0] = INF
            yp[6, :] = -INF
            yt = gf.uniform(rng, (N, C), 0.0, 1.0)
            yt = (yt / yt.sum(-1, keepdims=True)).astype(np.float32)
            opts = {"fromLogits": True, **({"labelSmoothing": ls} if ls else {})}
            keras_case(cases, name, case_id, red, (N, C), yt.ravel(), yp.ravel(), opts,
                       lambda t, p, ls=ls: ref.categorical_crossentropy(t, p, True, ls), weighted)
    return cases


def gen_keras_sparse():
    cases = []
    name = "keras.sparseCategoricalCrossentropy"
    for C in (2, 3, 4, 10, 16):
        for tag, red, ignore, weighted in (("logits-ignore-weighted", "sum_over_batch_size", C - 1, True),
                                           ("logits", "none", None, False)):
            case_id = f"{name}/C{C}/{tag}/{red}"
            rng = gf.rng_for(case_id)
            N = rows_for(C, True)
            yp = gf.randn(rng, (N, C), 2.0)
            yt = rng.integers(0, C, N).astype(np.int32)
            yp[4, 0] = INF   # rows 4 and 7 are not ignored (an ignored row's gradient is 0 here, NaN in TF)
            yp[7, 1] = -INF
            yt[4] = 0
            yt[7] = 0
            opts = {"fromLogits": True}
            if ignore is not None:
                yt[[1, 30, N - 1]] = ignore
                opts["ignoreClass"] = ignore
            mask_fn = None if ignore is None else (lambda t, ignore=ignore: t.reshape(-1) != ignore)
            keras_case(cases, name, case_id, red, (N, C), yt, yp.ravel(), opts,
                       lambda t, p, ignore=ignore: ref.sparse_categorical_crossentropy(t, p, True, ignore), weighted,
                       mask_fn=mask_fn)
    return cases


def gen_keras_focal():
    cases = []
    name = "keras.categoricalFocalCrossentropy"
    for D in (1, 2, 3, 4, 8, 16):
        for tag, red, long, logits, gamma, ls, weighted in (
                ("probs", "sum_over_batch_size", D <= 4, False, 2.0, 0.0, False),
                ("logits-gamma1.5-smooth-weighted", "none", D in (2, 8), True, 1.5, 0.1, True)):
            case_id = f"{name}/rows{D}/{tag}/{red}"
            rng = gf.rng_for(case_id)
            N = 65 if long else 9
            if logits:
                yp = gf.randn(rng, (N, D), 2.0)
                yp[2, 0] = -INF
            else:
                yp = gf.uniform(rng, (N, D), 0.05, 1.0)
                yp[2, D - 1] = 0.0
            yt = np.eye(D, dtype=np.float32)[rng.integers(0, D, N)]
            opts = {"gamma": gamma} if gamma != 2.0 else {}
            if logits:
                opts["fromLogits"] = True
            if ls:
                opts["labelSmoothing"] = ls
            keras_case(cases, name, case_id, red, (N, D), yt.ravel(), yp.ravel(), opts,
                       lambda t, p, g=gamma, fl=logits, ls=ls: k_categorical_focal(t, p, 0.25, g, fl, ls, 1), weighted)
    return cases


def gen_keras_gce():
    cases = []
    name = "keras.categoricalGeneralizedCrossEntropy"
    for D, red, weighted in ((1, "sum_over_batch_size", False), (2, "none", True), (3, "sum", True)):
        case_id = f"{name}/rows{D}/{red}"
        rng = gf.rng_for(case_id)
        N = 300  # a block of 256 rows and a tail
        yp = gf.uniform(rng, (N, D), 0.01, 1.0)
        yp[4, :] = 1e-6
        yt = rng.integers(0, D, N).astype(np.int32)
        yp[5, yt[5]] = 0.0  # p = 0: the pow gradient -inf at the label, NaN through the one-hot elsewhere
        yp[N - 2, yt[N - 2]] = 0.0  # (in the tail block)
        keras_case(cases, name, case_id, red, (N, D), yt, yp.ravel(), {"q": 0.7},
                   lambda t, p: k_generalized_ce(t, p, 0.7), weighted)
    # q = 0.5 (the default: sqrt), rows in chunks of 256 whatever C (C = 33: two chunks)
    for D, N, red, weighted in ((1, 300, "sum_over_batch_size", False), (2, 300, "none", True), (8, 70, "sum", True),
                                (33, 258, "sum_over_batch_size", False)):
        case_id = f"{name}/q05-rows{D}/{red}"
        rng = gf.rng_for(case_id)
        # C = 33: sixteenths (short in JSON: the file's budget)
        yp = gf.uniform(rng, (N, D), 0.01, 1.0) if D < 33 else (rng.integers(1, 17, (N, D)) / 16).astype(np.float32)
        yt = rng.integers(0, D, N).astype(np.int32)
        yp[5, yt[5]] = 0.0   # p = 0: -inf at the label, NaN elsewhere
        yp[6, yt[6]] = -0.0  # pow(-0, 0.5) = +0, pow(-0, -0.5) = +inf, as p = 0
        yp[7, yt[7]] = -0.25  # p < 0: NaN
        yp[N - 1, yt[N - 1]] = 1.0
        keras_case(cases, name, case_id, red, (N, D), yt, yp.ravel(), {},
                   lambda t, p: k_generalized_ce(t, p, 0.5), weighted)
    return cases


def gen_keras_overlap(name):
    cases = []
    for D, red, weighted in ((1, "sum_over_batch_size", False), (3, "none", True), (16, "sum", True),
                             (2, "none", False), (8, "sum_over_batch_size", True)):
        case_id = f"{name}/rows{D}/{red}"
        rng = gf.rng_for(case_id)
        N = 65 if D < 16 else 9  # a block of 64 slots and a tail
        yp = gf.uniform(rng, (N, D), 0.0, 1.0)
        yt = (rng.random((N, D)) < 0.5).astype(np.float32)
        yp[3, :] = 0.0
        yt[3, :] = 0.0  # an empty slot: 0 / eps
        opts = {"axis": [-1]}
        if name == "keras.tversky":
            opts.update(alpha=0.3, beta=0.7)
            per = lambda t, p: k_tversky(t, p, 0.3, 0.7, [1])  # noqa: E731
        else:
            per = lambda t, p: k_dice(t, p, [1])  # noqa: E731
        keras_case(cases, name, case_id, red, (N, D), yt.ravel(), yp.ravel(), opts, per, weighted)
    return cases


def gen_keras_rows_of_one(name):
    """Shape [N, 1] (engine.h kerasRowsOfOne): weighted 'none' with an upstream array, weighted sum,
    unweighted 'none'; a NaN prediction."""
    cases = []
    for tag, red, weighted in (("weighted", "none", True), ("weighted", "sum", True), ("plain", "none", False)):
        for logits in ((False, True) if name == "keras.binaryCrossentropy" else (False,)):
            case_id = f"{name}/rows1/{tag}{'-logits' if logits else ''}/{red}"
            rng = gf.rng_for(case_id)
            N = 70
            if name == "keras.binaryCrossentropy":
                yt = (rng.random((N, 1)) < 0.5).astype(np.float32)
                yp = gf.randn(rng, (N, 1), 3.0) if logits else gf.uniform(rng, (N, 1), 0.01, 0.99)
                opts = {"fromLogits": True, "labelSmoothing": 0.1} if logits else {}
                per = lambda t, p, fl=logits: ref.binary_crossentropy_terms(t, p, fl, 0.1 if fl else 0.0).mean(-1)  # noqa: E731
            else:
                yt = gf.randn(rng, (N, 1), 1.0)
                yp = gf.randn(rng, (N, 1), 1.0)
                opts = {}
                per = lambda t, p: ref.mse_terms(t, p).mean(-1)  # noqa: E731
            yp[5, 0] = NAN  # a NaN probability: the clip's gradient (a select, TF's and torch.clamp's) is 0
            keras_case(cases, name, case_id, red, (N, 1), yt.ravel(), yp.ravel(), opts, per, weighted)
    return cases


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify the files are up to date; write nothing")
    ns = ap.parse_args(argv)
    gf.GENERATOR = GENERATOR  # render() writes the generator's name
    status = 0
    for cases in (gen_torch(), gen_keras_categorical(), gen_keras_sparse(), gen_keras_focal(), gen_keras_gce(),
                  gen_keras_overlap("keras.dice"), gen_keras_overlap("keras.tversky"),
                  gen_keras_rows_of_one("keras.meanSquaredError"), gen_keras_rows_of_one("keras.binaryCrossentropy")):
        loss = cases[0]["loss"]
        path = os.path.join(FAMILY_DIR, f"{loss}.json")
        status |= gf.write_fixture(path, gf.render(cases), len(cases), ns.check, GENERATOR)
    return status


if __name__ == "__main__":
    sys.exit(main())
