#!/usr/bin/python3
"""Generate reference fixtures for the fastloss jest tests.

    /usr/bin/python3 scripts/gen_fixtures.py                       # every family
    /usr/bin/python3 scripts/gen_fixtures.py --family regression   # one family
    /usr/bin/python3 scripts/gen_fixtures.py --check               # verify files are current

Each family is one generator function registered in FAMILIES; it returns a list of
cases, written one file per loss to test/fixtures/<family>/<loss>.json (for example
test/fixtures/classification/torch.crossEntropy.json).  Use Debian's /usr/bin/python3
(PyTorch 1.13 via python3-torch); the python3 first on PATH has no torch.  Every case is made by
build_case (float64 autograd of the reference); the Keras and torchvision formulas come from
scripts/references.py, which bench/torch_bench.py imports too.

Fixture format (one file):
    { "generator": "scripts/gen_fixtures.py", "torch": <torch.__version__>, "cases": [CASE, ...] }
    CASE = { id, loss, args: {jsParam: ARR, ...} (call order), shape? (omitted for 1-D),
             opts (JS options, camelCase), gradOutput: number | ARR,
             expected: { loss: NUM | [NUM], grad: [NUM] } }
    ARR  = { "f32": [...] } | { "i32": [...] }
    NUM  = number | "NaN" | "Infinity" | "-Infinity"   (ARR elements use the same encoding)
grad is d(sum(loss * gradOutput)) / d(prediction), from float64 torch autograd.

Determinism: every case draws from its own RNG seeded by crc32(case id), so adding or
removing cases never changes the data of the others.  Inputs are float32 values;
references are computed in float64.  Negative zeros in expected values are written as 0.
"""

import argparse
import json
import math
import os
import sys
import zlib
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

import references as ref
from references import KERAS_EPS, KERAS_ONE_MINUS_EPS, keras_reduce

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")
GENERATOR = "scripts/gen_fixtures.py"
MAX_BYTES = 300 * 1024  # per file (test/helpers/fixtures.ts has the same budget)

torch.set_num_threads(1)  # bit-stable float64 reductions

NAN, INF = float("nan"), float("inf")


# ----------------------------------------------------------------------------- helpers

def rng_for(case_id: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(case_id.encode("utf-8")))


def f32(values, shape=None) -> np.ndarray:
    """float32 array from exact values; refuses values float32 cannot hold exactly."""
    src = np.asarray(values, dtype=np.float64)
    out = src.astype(np.float32)
    same = (out.astype(np.float64) == src) | (np.isnan(src) & np.isnan(out))
    if not same.all():
        raise ValueError(f"not float32-representable: {src[~same]}")
    return out.reshape(shape) if shape is not None else out


def r32(x: float) -> float:
    """Nearest float32 of a decimal literal such as 1e-9 (for hand-written edge data)."""
    return float(np.float32(x))


def randn(rng, shape, scale=1.0) -> np.ndarray:
    return (rng.standard_normal(shape) * scale).astype(np.float32)


def uniform(rng, shape, lo, hi) -> np.ndarray:
    return rng.uniform(lo, hi, shape).astype(np.float32)


def grid(rng, shape, lo, hi, step=0.125) -> np.ndarray:
    """Short, exactly representable values in [lo, hi] (sample weights)."""
    n = int(round((hi - lo) / step))
    return (lo + rng.integers(0, n + 1, shape) * step).astype(np.float32)


def upstream(rng, shape) -> np.ndarray:
    """A gradOutput array: nonzero multiples of 1/8 in [-2, 2], so no element is masked."""
    sign = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
    return (sign * grid(rng, shape, 0.125, 2.0)).astype(np.float32)


def json_float(x: float):
    """JSON has no NaN/Infinity: write them as the strings "NaN", "Infinity", "-Infinity"."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x  # repr of the float64: exact, and round-trips a float32 value


def num(x: float):
    """An expected value; -0.0 is written as 0 (its sign is not part of the contract)."""
    v = json_float(x)
    return 0.0 if v == 0 else v


def arr(a: np.ndarray) -> dict:
    assert a.dtype == np.float32
    return {"f32": [json_float(v) for v in a.ravel()]}


def tensor(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a, dtype=np.float64), dtype=torch.float64)


def fmt_param(name: str, value: Optional[float]) -> str:
    return f"{name}Default" if value is None else f"{name}{value:g}"


def shape_tag(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)


def torch_args(args: dict, wrt) -> dict:
    """float64 tensors of the case's arrays (int32 become int64 indices); wrt ones require grad."""
    ts = {}
    for k, v in args.items():
        ts[k] = torch.tensor(v.astype(np.int64)) if v.dtype == np.int32 else tensor(v)
        if k in wrt:
            ts[k].requires_grad_(True)
    return ts


def any_arr(a: np.ndarray) -> dict:
    return {"i32": [int(v) for v in a.ravel()]} if a.dtype == np.int32 else arr(a)


def one_d_free(shape: Sequence[int]) -> Optional[Sequence[int]]:
    """The case's "shape" field: omitted (None) for 1-D inputs."""
    return None if len(shape) == 1 else shape


def build_case(case_id, loss, args, fn, wrt, reduction, shape=None, opts=None, scalar_grad=1.0,
               upstream_rng=None, tolerance=None, grad_names=None) -> dict:
    """The one case builder: runs fn(**float64 tensors of args) and backpropagates the upstream gradient
    into every argument named in wrt.  Upstream: for reduction 'none' an array of nonzero multiples of
    1/8 drawn from upstream_rng (default: the RNG of case_id + "/upstream"), else scalar_grad.
    shape is written when given (None: 1-D, no shape option); grad_names renames gradients (JS names)."""
    ts = torch_args(args, wrt)
    out = fn(**ts)
    if reduction == "none":
        go = upstream(upstream_rng or rng_for(case_id + "/upstream"), tuple(out.shape) or (1,))
    else:
        go = scalar_grad
    out.backward(gradient=tensor(go).reshape(out.shape))
    case = {"id": case_id, "loss": loss, "args": {k: any_arr(v) for k, v in args.items()}}
    if shape is not None:
        case["shape"] = list(shape)
    case["opts"] = dict(opts or {}, reduction=reduction)
    case["gradOutput"] = arr(go) if isinstance(go, np.ndarray) else go
    lv = out.detach().reshape(-1).tolist()
    grads = {}
    for k in wrt:
        g = ts[k].grad
        grads[(grad_names or {}).get(k, k)] = [num(v) for v in (g.reshape(-1).tolist() if g is not None else [0.0] * ts[k].numel())]
    case["expected"] = {
        "loss": [num(v) for v in lv] if reduction == "none" else num(lv[0]),
        "grad": grads[next(iter(grads))] if len(grads) == 1 else grads,
    }
    if tolerance:
        case["tolerance"] = tolerance
    return case


@dataclass
class Input:
    """One case's data: the shape plus the arrays, keyed by JS parameter name."""
    shape: Sequence[int]
    args: dict
    scalar_grad: float = 1.0  # upstream gradient for reduced outputs


@dataclass
class LossSpec:
    name: str                              # JS API name, e.g. "torch.l1Loss"
    fn: Callable                           # the loss; the Framework decides how it is called
    param: Optional[str] = None            # JS option name of the loss's scalar parameter
    variants: Sequence = (None,)           # param values; None = omitted (JS default)
    default: float = 0.0                   # the param value JS/framework uses when omitted
    edges: Sequence = ()                   # extra cases: (tag, builder(rng, param) -> Input)


@dataclass
class Framework:
    """How one framework's losses are called; gen_cases expands spec x variant x reduction x case."""
    reductions: Sequence[str]
    wrt: str                               # the differentiated argument (JS name)
    out_shape: Callable                    # logical shape -> shape of the 'none' output
    call: Callable                         # call(spec, reduction, param, weight, **args) -> tensor
    builders: Callable                     # builders(spec) -> [(tag, build(rng, param) -> Input, weighted)]


def gen_cases(fw: Framework, specs: Sequence[LossSpec]) -> List[dict]:
    cases = []
    for spec in specs:
        builders = fw.builders(spec) + [(tag, build, False) for tag, build in spec.edges]
        for variant in spec.variants:
            p = spec.default if variant is None else variant
            for red in fw.reductions:
                for tag, build, weighted in builders:
                    parts = [spec.name] + ([fmt_param(spec.param, variant)] if spec.param else [])
                    case_id = "/".join(parts + [red, tag])
                    rng = rng_for(case_id)
                    inp = build(rng, p)
                    out_shape = fw.out_shape(inp.shape)
                    opts = {"reduction": red}  # first key, as the builder keeps it
                    if variant is not None:
                        opts[spec.param] = variant
                    w = sample_weights(rng, int(np.prod(out_shape))) if weighted else None
                    if w is not None:
                        opts["sampleWeight"] = arr(w)

                    def fn(red=red, p=p, w=w, **a):
                        return fw.call(spec, red, p, None if w is None else tensor(w), **a)

                    cases.append(build_case(case_id, spec.name, inp.args, fn, [fw.wrt], red,
                                            shape=one_d_free(inp.shape), opts=opts, scalar_grad=inp.scalar_grad,
                                            upstream_rng=rng))
    return cases


def sample_weights(rng, n) -> np.ndarray:
    """One weight per sample, multiples of 1/4 in [0.25, 2], one of them zero when n > 1."""
    w = grid(rng, (n,), 0.25, 2.0, 0.25)
    if n > 1:
        w[rng.integers(n)] = 0.0
    return w


# ---------------------------------------------------------------- regression: torch
#
# torch.* mirrors PyTorch 1.13 torch.nn.functional: (input, target, opts), reductions
# 'mean' | 'sum' | 'none', gradient w.r.t. input.  References are the real F.* functions.

TORCH_REDUCTIONS = ("mean", "sum", "none")
TORCH_RANDOM_SHAPES = (((7,), 1.0), ((4, 5), 0.7), ((2, 3, 4), -2.0))  # (shape, scalar gradOutput)


def torch_ties(rng, k):
    """|input - target| exactly k (the kink), plus zero differences; all values exact."""
    target = [-1.5, 0.25, 3.0, -0.75, 0.0, 2.5, -4.0, 1.0]
    offset = [k, -k, 0.0, k, -k, 0.0, 0.125, -3.0]
    return Input((2, 4), {"input": f32(np.add(target, offset)), "target": f32(target)}, 0.7)


def torch_large(rng, k):
    """Magnitudes 1e4..1e6, including nearly equal large pairs (exact float32 differences)."""
    sign = np.where(rng.random(6) < 0.5, -1.0, 1.0)
    x = (sign * 10.0 ** rng.uniform(4, 6, 6)).astype(np.float32)
    y = (-sign * 10.0 ** rng.uniform(4, 6, 6)).astype(np.float32)
    y[4] = f32(float(x[4]) + 0.5)
    y[5] = f32(float(x[5]) - 1.25)
    return Input((6,), {"input": x, "target": y})


def torch_nonfinite(rng, k):
    x = [NAN, 1.0, INF, -INF, INF, 2.0, 0.5, -INF]
    y = [0.0, NAN, 1.0, 0.0, INF, -INF, 0.5, -INF]
    return Input((8,), {"input": f32(x), "target": f32(y)})


def torch_empty(rng, k):
    return Input((0,), {"input": f32([]), "target": f32([])})


def torch_single(rng, k):
    return Input((1,), {"input": randn(rng, (1,), 2.0), "target": randn(rng, (1,), 2.0)}, 0.7)


TORCH_EDGES = (
    ("ties", torch_ties),
    ("large", torch_large),
    ("nonfinite", torch_nonfinite),
    ("empty", torch_empty),
    ("single", torch_single),
)

TORCH_LOSSES = (
    LossSpec("torch.mseLoss", lambda red, p, input, target: F.mse_loss(input, target, reduction=red),
             edges=TORCH_EDGES),
    LossSpec("torch.l1Loss", lambda red, p, input, target: F.l1_loss(input, target, reduction=red),
             edges=TORCH_EDGES),
    LossSpec("torch.smoothL1Loss",
             lambda red, p, input, target: F.smooth_l1_loss(input, target, reduction=red, beta=p),
             param="beta", variants=(None, 0.0, 0.5, 2.0), default=1.0, edges=TORCH_EDGES),
    LossSpec("torch.huberLoss",
             lambda red, p, input, target: F.huber_loss(input, target, reduction=red, delta=p),
             param="delta", variants=(None, 0.5, 2.5), default=1.0, edges=TORCH_EDGES),
)


def torch_random(shape, scalar_grad):
    def build(rng, k):
        return Input(shape, {"input": randn(rng, shape, 2.0), "target": randn(rng, shape, 2.0)},
                     scalar_grad)
    return build


TORCH = Framework(
    reductions=TORCH_REDUCTIONS,
    wrt="input",
    out_shape=lambda shape: tuple(shape),
    call=lambda spec, red, p, w, **a: spec.fn(red, p, **a),
    builders=lambda spec: [(f"random-{shape_tag(s)}", torch_random(s, g), False)
                           for s, g in TORCH_RANDOM_SHAPES],
)


# ---------------------------------------------------------------- regression: keras
#
# keras.* mirrors TF2 Keras (tf.keras.losses): (yTrue, yPred, opts), reductions
# 'sum_over_batch_size' (default) | 'sum' | 'none'.  Per-sample loss = mean over the last
# axis; opts.sampleWeight has one weight per sample; weighted per-sample losses are summed
# and 'sum_over_batch_size' divides by the number of samples.  Gradient w.r.t. yPred.
# The formulas (element-wise terms, keras_reduce) live in scripts/references.py.

KERAS_REDUCTIONS = ("sum_over_batch_size", "sum", "none")
KERAS_RANDOM_SHAPES = (((6,), 1.0), ((4, 3), 0.7), ((2, 3, 2), -2.0))


def kin(shape, yt, yp, g=1.0):
    return Input(shape, {"yTrue": f32(yt, shape), "yPred": f32(yp, shape)}, g)


def k_zero_diff(rng, d):
    yt = [0.5, -1.25, 2.0, 0.0, 3.5, -0.75, 1.0, -2.0]
    yp = [0.5, -1.0, 2.0, 0.0, 3.0, -0.75, 1.5, -2.0]
    return kin((2, 4), yt, yp, 0.7)


def k_mape_zero_true(rng, d):
    """yTrue == 0 (and |yTrue| < 1e-7): the denominator is the epsilon."""
    yt = [0.0, 0.0, 0.0, r32(1e-9), -2.0, 0.5, 0.0, r32(-1e-8)]
    yp = [0.5, -0.25, 0.0, r32(1e-9), -2.0, 1.0, r32(1e-6), 0.0]
    return kin((2, 4), yt, yp)


def k_msle_low(rng, d):
    """yPred below 1e-7, negative, zero, exactly 1e-7 (float32), just under it."""
    e32 = KERAS_EPS
    below = float(np.nextafter(np.float32(e32), np.float32(0)))
    yt = [0.5, 1.0, 0.0, 2.0, -1.0, 0.25, 3.0, 0.0]
    yp = [-0.5, 0.0, r32(1e-8), e32, below, -3.0, 2.0, 1.5]
    return kin((2, 4), yt, yp, 0.7)


def k_huber_ties(rng, d):
    """|yPred - yTrue| == delta exactly, zero error, and both branches."""
    yt = [0.25, -1.5, 2.0, 0.0, 1.0, -0.5, 3.0, -2.25]
    off = [d, -d, 0.0, 2.0 * d, -0.5 * d, d, -3.0 * d, 0.0]
    return kin((2, 4), yt, np.add(yt, off), 0.7)


def k_logcosh_large(rng, d):
    """Large |x| where cosh overflows (float32 beyond ~89): 50, -60, 89, -100, 1000."""
    yt = [0.0, 50.0, 0.0, 100.0, -500.0, 1.0, 0.0, 0.0]
    yp = [50.0, -10.0, 89.0, 0.0, 500.0, 1.0, r32(-1e-3), 20.0]
    return kin((2, 4), yt, yp)


def k_large(rng, d):
    """Magnitudes 1e4..1e6 of both signs."""
    big = torch_large(rng, d).args
    return Input((2, 3), {"yTrue": big["target"].reshape(2, 3), "yPred": big["input"].reshape(2, 3)})


KERAS_LOSSES = (
    LossSpec("keras.meanSquaredError", lambda yt, yp, d: ref.mse_terms(yt, yp), edges=(("zero-diff", k_zero_diff), ("large", k_large))),
    LossSpec("keras.meanAbsoluteError", lambda yt, yp, d: ref.mae_terms(yt, yp), edges=(("zero-diff", k_zero_diff), ("large", k_large))),
    LossSpec("keras.meanAbsolutePercentageError", lambda yt, yp, d: ref.mape_terms(yt, yp),
             edges=(("zero-diff", k_zero_diff), ("zero-true", k_mape_zero_true))),
    LossSpec("keras.meanSquaredLogarithmicError", lambda yt, yp, d: ref.msle_terms(yt, yp), edges=(("low-pred", k_msle_low),)),
    LossSpec("keras.huber", ref.huber_terms, param="delta", variants=(None, 0.5), default=1.0,
             edges=(("ties", k_huber_ties),)),
    LossSpec("keras.logCosh", lambda yt, yp, d: ref.log_cosh_terms(yt, yp), edges=(("zero-diff", k_zero_diff), ("large", k_logcosh_large))),
)

# Random (yTrue, yPred) per loss, drawn where the loss is meaningful; default: two normals.
def _signed(rng, s, lo, hi):
    return (np.where(rng.random(s) < 0.5, -1.0, 1.0) * rng.uniform(lo, hi, s)).astype(np.float32)


KERAS_DOMAIN = {
    # |yTrue| >= 0.5 keeps the percentage finite and well conditioned
    "keras.meanAbsolutePercentageError": (lambda rng, s: _signed(rng, s, 0.5, 3.0),
                                          lambda rng, s: randn(rng, s, 1.5)),
    "keras.meanSquaredLogarithmicError": (lambda rng, s: uniform(rng, s, 0.0, 4.0),
                                          lambda rng, s: uniform(rng, s, 0.0, 4.0)),
}
KERAS_DEFAULT_DOMAIN = (lambda rng, s: randn(rng, s, 1.5), lambda rng, s: randn(rng, s, 1.5))


def keras_random(spec, shape, scalar_grad):
    draw_true, draw_pred = KERAS_DOMAIN.get(spec.name, KERAS_DEFAULT_DOMAIN)

    def build(rng, d):
        yt = draw_true(rng, shape)
        return Input(shape, {"yTrue": yt, "yPred": draw_pred(rng, shape)}, scalar_grad)
    return build


def keras_builders(spec):
    out = []
    for s, g in KERAS_RANDOM_SHAPES:
        out.append((f"random-{shape_tag(s)}", keras_random(spec, s, g), False))
        out.append((f"weighted-{shape_tag(s)}", keras_random(spec, s, g), True))
    return out


KERAS = Framework(
    reductions=KERAS_REDUCTIONS,
    wrt="yPred",
    out_shape=lambda shape: tuple(shape[:-1]) or (1,),  # one loss per sample; 1-D is one sample
    call=lambda spec, red, d, w, yTrue, yPred: keras_reduce(spec.fn(yTrue, yPred, d).mean(dim=-1), red, w),
    builders=keras_builders,
)


def gen_regression() -> List[dict]:
    return gen_cases(TORCH, TORCH_LOSSES) + gen_cases(KERAS, KERAS_LOSSES)


# ---------------------------------------------------------------- classification
#
# torch.* cross-entropy family and probabilistic losses: the real F.* functions of PyTorch 1.13
# (sigmoid_focal_loss: torchvision's formula from scripts/references.py). Class-index targets
# are Int32Array ({"i32": [...]}); opts arrays (weight, posWeight, sampleWeight) are f32 ARRs.
# keras.*: the TF 2.x Keras formulas of scripts/references.py in float64.
# Gradients: a list for one differentiable argument, {"input": [...], "var": [...]} for
# gaussianNllLoss.

def i32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int32).reshape(-1)


def opt_arrays(**kv):
    return {k: arr(v) for k, v in kv.items() if v is not None}


# ------------------------------------------------ torch cross entropy / nll

def logits_edge():
    """Rows: logits of +-100, one logit dominating by 80, all equal, a large common offset."""
    x = [[100.0, -100.0, 0.0, 1.0],
         [-100.0, -100.0, -100.0, 100.0],
         [80.0, 0.0, 0.5, -0.25],
         [0.0, 80.0, 0.0, 0.0],
         [3.0, 3.0, 3.0, 3.0],
         [1000.0, 1001.5, 999.0, 1000.25]]
    return f32(x)


def gen_torch_xent(cases):
    R = TORCH_REDUCTIONS
    def ce(w=None, ii=-100, ls=0.0):
        def fn(input, target, red):
            x = input
            kw = {"weight": tensor(w)} if w is not None else {}
            return F.cross_entropy(x, target, ignore_index=ii, label_smoothing=ls, reduction=red, **kw)
        return fn

    for red in R:
        for tag, shape, tgt_kind, w, ii, ls, edge in (
            ("random-5x4", (5, 4), "idx", None, None, 0.0, None),
            ("weighted-5x4", (5, 4), "idx", "w", None, 0.0, None),
            ("smooth-5x4", (5, 4), "idx", None, None, 0.2, None),
            ("smooth-weighted-ignored-6x5", (6, 5), "idx", "w", "ii", 0.3, None),
            ("spatial-2x3x2x2", (2, 3, 2, 2), "idx", None, None, 0.0, None),
            ("spatial-weighted-ignored-smooth-2x4x3", (2, 4, 3), "idx", "w", "ii", 0.1, None),
            ("probs-4x5", (4, 5), "prob", None, None, 0.0, None),
            ("probs-weighted-smooth-4x5", (4, 5), "prob", "w", None, 0.25, None),
            ("probs-spatial-2x3x4", (2, 3, 4), "prob", "w", None, 0.1, None),
            ("1d-index", (6,), "idx", None, None, 0.0, None),
            ("1d-probs", (6,), "prob", "w", None, 0.2, None),
            ("edge-logits", (6, 4), "idx", None, None, 0.0, "edge"),
            ("edge-logits-smooth-weighted", (6, 4), "idx", "w", None, 0.4, "edge"),
            ("edge-logits-probs", (6, 4), "prob", None, None, 0.0, "edge"),
            ("class-weight-zero", (5, 4), "idx", "w0", None, 0.0, None),
            ("all-ignored", (3, 4), "idx", None, "all", 0.0, None),
            ("all-ignored-smooth-weighted", (3, 4), "idx", "w", "all", 0.2, None),
            ("ignore-valid-class", (6, 3), "idx", "w", "cls1", 0.0, None),
            ("smooth-one", (4, 3), "idx", "w", "ii", 1.0, None),
            ("weight-zero-target-all", (3, 4), "idx", "w0all", None, 0.0, None),
        ):
            case_id = f"torch.crossEntropy/{red}/{tag}"
            rng = rng_for(case_id)
            x = logits_edge() if edge else randn(rng, shape, 2.0)
            C = shape[1] if len(shape) > 1 else shape[0]
            pos_shape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
            n_pos = int(np.prod(pos_shape)) if pos_shape else 1
            opts = {}
            if tgt_kind == "idx":
                t = rng.integers(0, C, n_pos).astype(np.int32)
                ignore = -100
                if ii == "ii":
                    t[rng.integers(n_pos)] = -100
                    t[(rng.integers(n_pos) + 1) % n_pos] = -100
                elif ii == "all":
                    t[:] = -100
                elif ii == "cls1":
                    ignore = 1
                    t[:3] = [1, 0, 2]
                    opts["ignoreIndex"] = 1
                if edge:
                    t = i32([0, 3, 0, 2, 1, 1])
                t_np = t.reshape(pos_shape) if pos_shape else t.reshape(())
            else:
                t = uniform(rng, shape, 0.0, 1.0)
                t = (t / t.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)).astype(np.float32)
                ignore = -100
            wv = None
            if w == "w":
                wv = grid(rng, (C,), 0.25, 2.0)
            elif w == "w0":
                wv = grid(rng, (C,), 0.25, 2.0)
                wv[int(t.ravel()[0]) if tgt_kind == "idx" else 0] = 0.0
            elif w == "w0all":
                wv = grid(rng, (C,), 0.25, 2.0)
                t[:] = 2
                wv[2] = 0.0
            if wv is not None:
                opts["weight"] = arr(wv)
            if ls:
                opts["labelSmoothing"] = ls
            f = ce(wv, ignore, ls)
            tshape = t_np.shape if tgt_kind == "idx" else shape
            args = {"input": x, "target": t}

            def fn(input, target, f=f, red=red, tshape=tshape):
                return f(input.reshape(shape), target.reshape(tshape), red)
            tol = {"rtol": 1e-4, "atol": 1e-5} if edge else None
            cases.append(build_case(case_id, "torch.crossEntropy", args, fn, ["input"], red, shape=shape, opts=opts,
                                    scalar_grad=0.7, tolerance=tol))

    for red in R:
        for tag, shape, w, ii in (("random-4x5", (4, 5), None, None),
                                  ("weighted-ignored-5x4", (5, 4), "w", "ii"),
                                  ("spatial-weighted-2x3x2", (2, 3, 2), "w", "ii"),
                                  ("1d", (5,), None, None),
                                  ("all-ignored", (2, 3), None, "all")):
            case_id = f"torch.nllLoss/{red}/{tag}"
            rng = rng_for(case_id)
            x = randn(rng, shape, 2.0)
            C = shape[1] if len(shape) > 1 else shape[0]
            pos_shape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
            n_pos = int(np.prod(pos_shape)) if pos_shape else 1
            t = rng.integers(0, C, n_pos).astype(np.int32)
            if ii == "ii":
                t[0] = -100
            elif ii == "all":
                t[:] = -100
            opts = {}
            wv = grid(rng, (C,), 0.25, 2.0) if w else None
            if wv is not None:
                wv[C - 1] = 0.0
                opts["weight"] = arr(wv)

            def fn(input, target, red=red, wv=wv, pos_shape=pos_shape):
                kw = {"weight": tensor(wv)} if wv is not None else {}
                return F.nll_loss(input.reshape(shape), target.reshape(pos_shape), reduction=red, **kw)
            cases.append(build_case(case_id, "torch.nllLoss", {"input": x, "target": t}, fn, ["input"], red,
                                    shape=shape, opts=opts, scalar_grad=-1.5))


# ------------------------------------------------ torch element-wise

def gen_torch_elementwise(cases):
    R = TORCH_REDUCTIONS
    # binary_cross_entropy
    for red in R:
        for tag in ("random-3x4", "weighted-3x4", "edge-0-1"):
            case_id = f"torch.binaryCrossEntropy/{red}/{tag}"
            rng = rng_for(case_id)
            shape = (3, 4) if tag != "edge-0-1" else (8,)
            if tag == "edge-0-1":
                x = f32([0.0, 1.0, 0.0, 1.0, r32(1e-30), 0.5, r32(1 - 2 ** -24), r32(1e-45)])
                t = f32([0.0, 1.0, 1.0, 0.0, 0.0, 0.25, 1.0, 1.0])
            else:
                x = uniform(rng, shape, 0.02, 0.98)
                t = uniform(rng, shape, 0.0, 1.0)
                t.ravel()[:2] = [0.0, 1.0]
            wv = grid(rng, shape, 0.0, 2.0) if tag == "weighted-3x4" else None
            opts = opt_arrays(weight=wv)

            def fn(input, target, red=red, wv=wv):
                kw = {"weight": tensor(wv).reshape(input.shape)} if wv is not None else {}
                return F.binary_cross_entropy(input, target, reduction=red, **kw)
            tol = {"rtol": 1e-4, "atol": 1e-4} if tag == "edge-0-1" else None
            cases.append(build_case(case_id, "torch.binaryCrossEntropy", {"input": x.ravel(), "target": t.ravel()},
                                    lambda input, target, fn=fn: fn(input.reshape(shape), target.reshape(shape)),
                                    ["input"], red, shape=one_d_free(shape), opts=opts, scalar_grad=0.7,
                                    tolerance=tol))

    # binary_cross_entropy_with_logits
    for red in R:
        for tag in ("random-3x4", "weighted-3x4", "posweight-3x4", "both-2x2x3", "edge-logits"):
            case_id = f"torch.binaryCrossEntropyWithLogits/{red}/{tag}"
            rng = rng_for(case_id)
            shape = {"both-2x2x3": (2, 2, 3), "edge-logits": (8,)}.get(tag, (3, 4))
            if tag == "edge-logits":
                x = f32([100.0, -100.0, 100.0, -100.0, 0.0, 30.0, -30.0, 17.5])
                t = f32([1.0, 0.0, 0.0, 1.0, 0.5, 0.25, 0.75, 1.0])
            else:
                x = randn(rng, shape, 3.0)
                t = uniform(rng, shape, 0.0, 1.0)
                t.ravel()[:2] = [0.0, 1.0]
            wv = grid(rng, shape, 0.0, 2.0) if tag in ("weighted-3x4", "both-2x2x3") else None
            pw = grid(rng, (shape[-1],), 0.25, 3.0) if tag in ("posweight-3x4", "both-2x2x3", "edge-logits") else None
            opts = opt_arrays(weight=None if wv is None else wv.ravel(), posWeight=pw)

            def fn(input, target, red=red, wv=wv, pw=pw, shape=shape):
                kw = {}
                if wv is not None:
                    kw["weight"] = tensor(wv).reshape(shape)
                if pw is not None:
                    kw["pos_weight"] = tensor(pw)
                return F.binary_cross_entropy_with_logits(input.reshape(shape), target.reshape(shape), reduction=red, **kw)
            cases.append(build_case(case_id, "torch.binaryCrossEntropyWithLogits",
                                    {"input": x.ravel(), "target": t.ravel()}, fn, ["input"], red,
                                    shape=one_d_free(shape), opts=opts, scalar_grad=-2.0))

    # kl_div
    for red in ("mean", "batchmean", "sum", "none"):
        for log_target in (False, True):
            for tag, shape in (("random-3x4", (3, 4)), ("zeros-1d", (6,))):
                case_id = f"torch.klDiv/logTarget{log_target}/{red}/{tag}"
                rng = rng_for(case_id)
                x = np.log(uniform(rng, shape, 0.05, 1.0)).astype(np.float32)
                if log_target:
                    t = np.log(uniform(rng, shape, 0.05, 1.0)).astype(np.float32)
                else:
                    t = uniform(rng, shape, 0.0, 1.0)
                    t.ravel()[:2] = 0.0
                opts = {"logTarget": True} if log_target else {}

                def fn(input, target, red=red, lt=log_target):
                    return F.kl_div(input.reshape(shape), target.reshape(shape), reduction=red, log_target=lt)
                cases.append(build_case(case_id, "torch.klDiv", {"input": x.ravel(), "target": t.ravel()}, fn,
                                        ["input"], red, shape=one_d_free(shape), opts=opts, scalar_grad=1.25))

    # poisson_nll_loss
    for red in R:
        for log_input, full, eps in ((True, False, None), (True, True, None), (False, False, None),
                                     (False, True, 1e-3)):
            case_id = f"torch.poissonNllLoss/log{log_input}-full{full}-eps{eps}/{red}"
            rng = rng_for(case_id)
            shape = (3, 4)
            x = randn(rng, shape, 1.0) if log_input else uniform(rng, shape, 0.0, 4.0)
            if not log_input:
                x.ravel()[0] = 0.0
            t = rng.integers(0, 6, shape).astype(np.float32)
            t.ravel()[1] = 1.0
            t.ravel()[2] = 0.0
            opts = {}
            if not log_input:
                opts["logInput"] = False
            if full:
                opts["full"] = True
            if eps is not None:
                opts["eps"] = eps

            def fn(input, target, red=red, li=log_input, full=full, eps=eps):
                return F.poisson_nll_loss(input, target, log_input=li, full=full,
                                          eps=1e-8 if eps is None else eps, reduction=red)
            tol = {"rtol": 2e-5, "atol": 1e-3} if (not log_input and eps is None) else None
            cases.append(build_case(case_id, "torch.poissonNllLoss", {"input": x.ravel(), "target": t.ravel()},
                                    lambda input, target, fn=fn: fn(input.reshape(shape), target.reshape(shape)),
                                    ["input"], red, shape=shape, opts=opts, scalar_grad=0.5, tolerance=tol))

    # gaussian_nll_loss
    for red in R:
        for tag, shape, vshape, full, eps in (("same-3x4", (3, 4), (3, 4), False, None),
                                              ("rows-3x4", (3, 4), (3,), True, None),
                                              ("rows1-2x2x3", (2, 2, 3), (2, 2, 1), False, 0.01),
                                              ("clamped-1d", (6,), (6,), False, 0.01)):
            case_id = f"torch.gaussianNllLoss/{red}/{tag}"
            rng = rng_for(case_id)
            x = randn(rng, shape, 1.5)
            t = randn(rng, shape, 1.5)
            v = uniform(rng, vshape, 0.1, 2.0)
            if tag == "clamped-1d":
                v.ravel()[:2] = [0.0, 0.005]
            opts = {}
            if full:
                opts["full"] = True
            if eps is not None:
                opts["eps"] = eps

            def fn(input, target, variance, red=red, full=full, eps=eps, shape=shape, vshape=vshape):
                return F.gaussian_nll_loss(input.reshape(shape), target.reshape(shape), variance.reshape(vshape),
                                           full=full, eps=1e-6 if eps is None else eps, reduction=red)
            cases.append(build_case(case_id, "torch.gaussianNllLoss",
                                    {"input": x.ravel(), "target": t.ravel(), "variance": v.ravel()}, fn,
                                    ["input", "variance"], red, shape=one_d_free(shape), opts=opts,
                                    scalar_grad=0.7, grad_names={"variance": "var"}))

    # sigmoid_focal_loss (torchvision); default reduction 'none'
    for red in ("none", "mean", "sum"):
        for alpha, gamma in ((None, None), (-1.0, 2.0), (0.5, 0.0), (0.75, 1.5), (0.25, 1.0)):
            case_id = f"torch.sigmoidFocalLoss/alpha{alpha}-gamma{gamma}/{red}"
            rng = rng_for(case_id)
            shape = (3, 4)
            x = randn(rng, shape, 3.0)
            x.ravel()[:3] = [100.0, -100.0, 0.0]
            t = (rng.random(shape) < 0.5).astype(np.float32)
            t.ravel()[:3] = [1.0, 0.0, 1.0]
            if gamma is not None and gamma != 1.5:
                t.ravel()[3] = 0.25
            opts = {} if red == "none" else {}
            if alpha is not None:
                opts["alpha"] = alpha
            if gamma is not None:
                opts["gamma"] = gamma
            a_ = 0.25 if alpha is None else alpha
            g_ = 2.0 if gamma is None else gamma

            def fn(input, target, red=red, a_=a_, g_=g_):
                return ref.sigmoid_focal_loss(input, target, a_, g_, red)
            cases.append(build_case(case_id, "torch.sigmoidFocalLoss", {"input": x.ravel(), "target": t.ravel()},
                                    lambda input, target, fn=fn: fn(input.reshape(shape), target.reshape(shape)),
                                    ["input"], red, shape=shape, opts=opts, scalar_grad=1.5))


# ------------------------------------------------ keras

def gen_keras(cases):
    R = KERAS_REDUCTIONS

    def run(name, tag, red, shape, yt, yp, opts, per_sample_fn, weighted, scalar_grad=0.7, tol=None, mask_fn=None):
        case_id = f"{name}/{tag}/{red}" + ("/weighted" if weighted else "")
        rng = rng_for(case_id + "/w")
        samples = int(np.prod(shape[:-1])) if len(shape) > 1 else 1
        w = sample_weights(rng, samples) if weighted else None
        o = dict(opts)
        if w is not None:
            o["sampleWeight"] = arr(w)

        def fn(yTrue, yPred):
            ps = per_sample_fn(yTrue.reshape(shape[:-1] + (-1,) if yTrue.dtype != torch.int64 else shape[:-1]),
                               yPred.reshape(shape))
            mask = mask_fn(yTrue) if mask_fn else None
            return keras_reduce(ps, red, None if w is None else tensor(w), mask)
        cases.append(build_case(case_id, name, {"yTrue": yt, "yPred": yp}, fn, ["yPred"], red,
                                shape=one_d_free(shape), opts=o, scalar_grad=scalar_grad, tolerance=tol))

    # binary crossentropy
    for red in R:
        for tag, from_logits, ls in (("probs", False, 0.0), ("probs-smooth", False, 0.2),
                                     ("logits", True, 0.0), ("logits-smooth", True, 0.1)):
            for weighted in (False, True):
                rng = rng_for(f"keras.binaryCrossentropy/{tag}/{red}/{weighted}")
                shape = (3, 4)
                yt = (rng.random(shape) < 0.5).astype(np.float32)
                if from_logits:
                    yp = randn(rng, shape, 3.0)
                    yp.ravel()[:3] = [100.0, -100.0, 0.0]
                else:
                    yp = uniform(rng, shape, 0.01, 0.99)
                    yp.ravel()[:4] = [0.0, 1.0, r32(1e-8), KERAS_ONE_MINUS_EPS]
                opts = {}
                if from_logits:
                    opts["fromLogits"] = True
                if ls:
                    opts["labelSmoothing"] = ls
                run("keras.binaryCrossentropy", tag, red, shape, yt.ravel(), yp.ravel(), opts,
                    lambda t, p, fl=from_logits, ls=ls: ref.binary_crossentropy_terms(t, p, fl, ls).mean(-1), weighted,
                    tol={"rtol": 1e-4, "atol": 1e-5})

    # categorical crossentropy
    for red in R:
        for tag, from_logits, ls, shape in (("probs", False, 0.0, (4, 5)), ("probs-smooth", False, 0.2, (4, 5)),
                                            ("probs-1d", False, 0.0, (5,)),
                                            ("logits", True, 0.0, (4, 5)), ("logits-smooth", True, 0.3, (2, 2, 5)),
                                            ("logits-edge", True, 0.0, (6, 4))):
            for weighted in ((False, True) if len(shape) > 1 else (False,)):
                rng = rng_for(f"keras.categoricalCrossentropy/{tag}/{red}/{weighted}")
                if tag == "logits-edge":
                    yp = logits_edge()
                    yt = np.eye(4, dtype=np.float32)[[0, 3, 1, 2, 1, 1]]
                elif from_logits:
                    yp = randn(rng, shape, 2.0)
                    yt = uniform(rng, shape, 0.0, 1.0)
                    yt = (yt / yt.sum(-1, keepdims=True)).astype(np.float32)
                else:
                    # unnormalized probability rows; one row with a zero and one with a dominating class
                    yp = uniform(rng, shape, 0.05, 2.0)
                    yp.ravel()[0] = 0.0
                    if len(shape) > 1:
                        yp[1, :] = [1.0, 0.0, 0.0, 0.0, 0.0][: shape[-1]]
                    yt = np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1] or None)]
                    yt = yt.reshape(shape)
                opts = {}
                if from_logits:
                    opts["fromLogits"] = True
                if ls:
                    opts["labelSmoothing"] = ls

                def per(t, p, fl=from_logits, ls=ls):
                    return ref.categorical_crossentropy(t, p, fl, ls)
                run("keras.categoricalCrossentropy", tag, red, shape, yt.ravel(), yp.ravel(), opts, per, weighted,
                    tol={"rtol": 1e-4, "atol": 1e-5})

    # sparse categorical crossentropy
    for red in R:
        for tag, from_logits, ignore, shape in (("probs", False, None, (4, 5)), ("logits", True, None, (4, 5)),
                                                ("logits-3d", True, None, (2, 2, 4)),
                                                ("probs-ignore", False, 2, (5, 4)), ("logits-ignore", True, -1, (5, 4)),
                                                ("logits-all-ignored", True, 0, (3, 4)),
                                                ("logits-edge", True, None, (6, 4))):
            for weighted in (False, True):
                rng = rng_for(f"keras.sparseCategoricalCrossentropy/{tag}/{red}/{weighted}")
                C = shape[-1]
                samples = int(np.prod(shape[:-1]))
                if tag == "logits-edge":
                    yp = logits_edge()
                    yt = i32([0, 3, 1, 2, 1, 1])
                elif from_logits:
                    yp = randn(rng, shape, 2.0)
                    yt = rng.integers(0, C, samples).astype(np.int32)
                else:
                    yp = uniform(rng, shape, 0.0, 1.0)
                    yp.ravel()[:2] = [0.0, 1.0]
                    yt = rng.integers(0, C, samples).astype(np.int32)
                    yt[0] = 0
                if ignore is not None:
                    yt[1] = ignore
                    yt[samples - 1] = ignore
                    if tag == "logits-all-ignored":
                        yt[:] = ignore
                opts = {}
                if from_logits:
                    opts["fromLogits"] = True
                if ignore is not None:
                    opts["ignoreClass"] = ignore

                def per(t, p, fl=from_logits, ignore=ignore):
                    return ref.sparse_categorical_crossentropy(t, p, fl, ignore)
                mask_fn = None if ignore is None else (lambda t, ignore=ignore: t.reshape(-1) != ignore)
                run("keras.sparseCategoricalCrossentropy", tag, red, shape, yt, yp.ravel(), opts, per, weighted,
                    tol={"rtol": 1e-4, "atol": 1e-5}, mask_fn=mask_fn)

    # kl divergence, poisson
    for red in R:
        for weighted in (False, True):
            rng = rng_for(f"keras.klDivergence/{red}/{weighted}")
            shape = (3, 4)
            yt = uniform(rng, shape, 0.0, 1.0)
            yp = uniform(rng, shape, 0.01, 1.0)
            yt.ravel()[:2] = [0.0, 1.0]
            yp.ravel()[2:5] = [0.0, 1.0, 1.5]
            run("keras.klDivergence", "random", red, shape, yt.ravel(), yp.ravel(), {}, ref.kl_divergence, weighted)

            rng = rng_for(f"keras.poisson/{red}/{weighted}")
            yt = rng.integers(0, 5, shape).astype(np.float32)
            yp = uniform(rng, shape, 0.0, 4.0)
            yp.ravel()[0] = 0.0
            yt.ravel()[0] = 0.0
            run("keras.poisson", "random", red, shape, yt.ravel(), yp.ravel(), {},
                lambda t, p: ref.poisson_terms(t, p).mean(-1), weighted)

    # binary focal crossentropy
    for red in R:
        for tag, fl, ls, gamma, alpha, bal in (("probs", False, 0.0, None, None, False),
                                               ("probs-balanced-smooth", False, 0.1, 3.0, 0.4, True),
                                               ("logits", True, 0.0, None, None, False),
                                               ("logits-balanced", True, 0.2, 1.5, None, True),
                                               ("logits-gamma0", True, 0.0, 0.0, 0.7, True)):
            for weighted in (False, True):
                rng = rng_for(f"keras.binaryFocalCrossentropy/{tag}/{red}/{weighted}")
                shape = (3, 4)
                yt = (rng.random(shape) < 0.5).astype(np.float32)
                if fl:
                    yp = randn(rng, shape, 3.0)
                    yp.ravel()[:2] = [100.0, -100.0]
                    yt.ravel()[:2] = [0.0, 1.0]
                else:
                    yp = uniform(rng, shape, 0.01, 0.99)
                    yp.ravel()[:2] = [0.0, 1.0]
                    yt.ravel()[:2] = [1.0, 0.0]
                opts = {}
                if fl:
                    opts["fromLogits"] = True
                if ls:
                    opts["labelSmoothing"] = ls
                if gamma is not None:
                    opts["gamma"] = gamma
                if alpha is not None:
                    opts["alpha"] = alpha
                if bal:
                    opts["applyClassBalancing"] = True
                g_ = 2.0 if gamma is None else gamma
                a_ = 0.25 if alpha is None else alpha
                run("keras.binaryFocalCrossentropy", tag, red, shape, yt.ravel(), yp.ravel(), opts,
                    lambda t, p, fl=fl, ls=ls, g_=g_, a_=a_, bal=bal: ref.binary_focal_terms(t, p, fl, ls, g_, a_, bal).mean(-1),
                    weighted, tol={"rtol": 1e-4, "atol": 1e-5})


def gen_classification() -> List[dict]:
    cases: List[dict] = []
    gen_torch_xent(cases)
    gen_torch_elementwise(cases)
    gen_keras(cases)
    return cases


# ---------------------------------------------------------------- margin: torch and keras
#
# Margin, ranking and embedding losses. torch.* cases call the real F.* functions of
# PyTorch 1.13 in float64 (several differentiable inputs: expected.grad is keyed by argument
# name; Int32Array targets become int64 tensors).  keras.* cases are the Keras formulas of
# scripts/references.py in float64.

def i32_shaped(values, shape=None) -> np.ndarray:
    out = np.asarray(values, dtype=np.int32)
    return out.reshape(shape) if shape is not None else out


def pm1(rng, shape) -> np.ndarray:
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0).astype(np.float32)


@dataclass
class MarginSpec:
    name: str                                   # JS API name
    call: Callable                              # call(red, opts, **tensors) -> output tensor
    wrt: Sequence[str]                          # differentiable args (JS names)
    variants: Sequence[dict]                    # JS option sets (besides reduction)
    builders: Callable                          # builders(opts) -> [(tag, build(rng) -> (shape, args))]
    tolerance: Optional[Callable] = None        # tolerance(opts) -> dict or None
    weight_opt: Optional[str] = None            # JS option holding a per-class / per-sample array


def variant_tag(opts: dict) -> str:
    parts = []
    for k, v in opts.items():
        if isinstance(v, bool):
            parts.append(f"{k}{'On' if v else 'Off'}")
        elif isinstance(v, (int, float)):
            parts.append(f"{k}{v:g}")
    return ",".join(parts) or "defaults"


def gen_margin_cases(specs, reductions) -> List[dict]:
    cases = []
    for spec in specs:
        for opts in spec.variants:
            for tag, build, reds in spec.builders(opts):
                for red in reds or reductions:
                    case_id = f"{spec.name}/{variant_tag(opts)}/{red}/{tag}"
                    rng = rng_for(case_id)
                    shape, args, extra = build(rng)
                    js_opts = {k: v for k, v in opts.items()}
                    js_opts.update({k: arr(v) for k, v in extra.items()})
                    extra_t = {k: tensor(v) for k, v in extra.items()}
                    g = {"mean": 0.7, "sum": -2.0, "sum_over_batch_size": 0.7}.get(red, 1.0)

                    def call(spec=spec, red=red, opts=opts, extra_t=extra_t, **ts):
                        return spec.call(red, dict(opts, **extra_t), **ts)

                    tol = spec.tolerance(opts) if spec.tolerance else None
                    cases.append(build_case(case_id, spec.name, args, call, list(spec.wrt), red,
                                            shape=one_d_free(shape), opts=js_opts, scalar_grad=g, tolerance=tol))
    return cases


def empty(shape, *names, int_names=()):
    """An empty batch: every argument of `shape` (int32 for int_names)."""
    def build(rng):
        args = {k: (np.zeros(shape, np.int32) if k in int_names else np.zeros(shape, np.float32)) for k in names}
        return shape, args, {}
    return build


# --- torch element-wise: hingeEmbeddingLoss, softMarginLoss, marginRankingLoss

def t_hinge(red, o, input, target):
    return F.hinge_embedding_loss(input, target, margin=o.get("margin", 1.0), reduction=red)


def t_soft(red, o, input, target):
    return F.soft_margin_loss(input, target, reduction=red)


def t_ranking(red, o, input1, input2, target):
    return F.margin_ranking_loss(input1, input2, target, margin=o.get("margin", 0.0), reduction=red)


def hinge_builders(o):
    m = o.get("margin", 1.0)

    def rand(shape):
        return lambda rng: (shape, {"input": randn(rng, shape, 1.5), "target": pm1(rng, shape)}, {})

    def ties(rng):
        # x == margin on -1 targets (the clamp's kink), zeros, NaN on a 1 and a -1 target.
        x = [m, m, 0.0, -m, 2.0 * m, m + 0.5, NAN, NAN]
        t = [-1, 1, -1, -1, -1, 1, 1, -1]
        return (8,), {"input": f32(x), "target": f32(t)}, {}

    out = [("random-4x5", rand((4, 5)), None), ("ties", ties, None)]
    if not o:
        out += [("random-7", rand((7,)), None), ("single", rand((1,)), None),
                ("empty", empty((0,), "input", "target"), None)]
    return out


def soft_builders(o):
    def rand(shape):
        return lambda rng: (shape, {"input": randn(rng, shape, 2.0), "target": pm1(rng, shape)}, {})

    def large(rng):
        # |t x| up to 100: PyTorch's float32 log1p(exp()) overflows beyond ~88, float64 does not.
        x = [60.0, -60.0, 100.0, -100.0, 20.0, -0.0, 0.0, 3.5]
        t = [1, 1, -1, -1, 0.5, 1, -1, 2.0]
        return (8,), {"input": f32(x), "target": f32(t)}, {}

    return [("random-7", rand((7,)), None), ("random-2x3x4", rand((2, 3, 4)), None), ("large", large, None),
            ("empty", empty((0,), "input", "target"), None)]


def ranking_builders(o):
    m = o.get("margin", 0.0)

    def rand(shape):
        return lambda rng: (shape, {"input1": randn(rng, shape), "input2": randn(rng, shape),
                                    "target": pm1(rng, shape)}, {})

    def ties(rng):
        # -t (x1 - x2) + margin == 0 exactly, and equal inputs.
        x2 = [0.5, -1.0, 2.0, 0.0, 1.25, -3.0]
        t = [1, -1, 1, -1, 1, -1]
        x1 = [x2[i] + t[i] * m for i in range(6)]
        x1[4], x1[5] = x2[4], x2[5]
        return (6,), {"input1": f32(x1), "input2": f32(x2), "target": f32(t)}, {}

    def odd_targets(rng):
        # PyTorch uses any target value as given.
        return (6,), {"input1": randn(rng, (6,)), "input2": randn(rng, (6,)),
                      "target": f32([0.0, 0.5, 2.0, -0.25, 1.0, -1.0])}, {}

    out = [("random-4x5", rand((4, 5)), None), ("ties", ties, None)]
    if not o:
        out += [("random-7", rand((7,)), None), ("odd-targets", odd_targets, None), ("single", rand((1,)), None),
                ("empty", empty((0,), "input1", "input2", "target"), None)]
    return out


# --- torch row losses

def t_mlsm(red, o, input, target):
    return F.multilabel_soft_margin_loss(input, target, weight=o.get("weight"), reduction=red)


def mlsm_builders(o):
    def rand(shape, weighted=False, soft=False, scale=2.0):
        def build(rng):
            t = uniform(rng, shape, 0.0, 1.0) if soft else (rng.random(shape) < 0.5).astype(np.float32)
            extra = {"weight": grid(rng, (shape[-1],), 0.0, 2.0, 0.25)} if weighted else {}
            return shape, {"input": randn(rng, shape, scale), "target": t}, extra
        return build

    return [("random-4x5", rand((4, 5)), None), ("random-6", rand((6,)), None),
            ("random-2x3x4", rand((2, 3, 4)), None), ("weighted-4x5", rand((4, 5), weighted=True), None),
            ("soft-targets-3x4", rand((3, 4), soft=True), None), ("one-column-5x1", rand((5, 1)), None),
            ("large-3x4", rand((3, 4), scale=40.0), None), ("empty-0x4", empty((0, 4), "input", "target"), None)]


def t_multi(red, o, input, target):
    return F.multi_margin_loss(input, target, p=o.get("p", 1), margin=o.get("margin", 1.0),
                               weight=o.get("weight"), reduction=red)


def multi_builders(o):
    m = o.get("margin", 1.0)

    def rand(n, c, weighted=False, one_d=False):
        def build(rng):
            x = randn(rng, (n, c), 1.0 if not one_d else 0.8)
            t = rng.integers(0, c, n).astype(np.int32)
            extra = {"weight": grid(rng, (c,), 0.25, 2.0, 0.25)} if weighted else {}
            return ((c,) if one_d else (n, c)), {"input": x.reshape(-1) if one_d else x, "target": t}, extra
        return build

    def ties(rng):
        # margin - x_y + x_d == 0 exactly (excluded: PyTorch's strict z > 0), and z > 0 terms.
        x = [[1.0, 1.0 - m, 0.25, 1.5 - m], [0.0, m, -m, 0.5], [2.0, 2.0, 2.0, 2.0]]
        return (3, 4), {"input": f32(x), "target": i32_shaped([0, 1, 3])}, {}

    out = [("random-4x5", rand(4, 5), None), ("ties", ties, None)]
    if "margin" not in o:
        out += [("random-6", rand(1, 6, one_d=True), None), ("weighted-4x5", rand(4, 5, weighted=True), None),
                ("one-column-3x1", rand(3, 1), None)]
    return out


def t_mlm(red, o, input, target):
    return F.multilabel_margin_loss(input, target, reduction=red)


def mlm_builders(o):
    def rand(rng, n, c):
        x = randn(rng, (n, c))
        t = np.full((n, c), -1, dtype=np.int32)
        for r in range(n):
            k = int(rng.integers(1, c))
            t[r, :k] = rng.permutation(c)[:k]
            if c > k + 1:  # entries after the first -1 are ignored (but must be in range)
                t[r, k + 1:] = rng.integers(-1, c, c - k - 1)
        return x, t

    def random(n, c):
        def build(rng):
            x, t = rand(rng, n, c)
            return (n, c), {"input": x, "target": t}, {}
        return build

    def one_d(rng):
        x, t = rand(rng, 1, 5)
        return (5,), {"input": x.reshape(-1), "target": t.reshape(-1)}, {}

    def special(rng):
        # duplicates (counted twice), no targets (-1 first), every class a target, ties z == 0.
        x = [[0.5, 0.25, -1.0, 0.0], [1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, -1.0], [1.0, 0.0, 1.5, 0.5]]
        t = [[0, 0, 2, -1], [-1, 1, 2, 3], [3, 1, 0, 2], [0, -1, 3, 3]]
        return (4, 4), {"input": f32(x), "target": i32_shaped(t)}, {}

    def one_col(rng):
        return (3, 1), {"input": randn(rng, (3, 1)), "target": i32_shaped([[0], [-1], [0]])}, {}

    return [("random-3x6", random(3, 6), None), ("random-5", one_d, None), ("special-4x4", special, None),
            ("one-column-3x1", one_col, None)]


def t_cosine(red, o, input1, input2, target):
    if input1.dim() == 1:
        target = target.reshape(())  # PyTorch pairs 1-D inputs with a 0-D target
    return F.cosine_embedding_loss(input1, input2, target, margin=o.get("margin", 0.0), reduction=red)


def cosine_builders(o):
    m = o.get("margin", 0.0)

    def rand(n, d, one_d=False):
        def build(rng):
            t = pm1(rng, (n,))
            a, b = randn(rng, (n, d)), randn(rng, (n, d))
            if one_d:
                return (d,), {"input1": a.reshape(-1), "input2": b.reshape(-1), "target": t}, {}
            return (n, d), {"input1": a, "input2": b, "target": t}, {}
        return build

    def special(rng):
        # zero vectors (one or both), identical, opposite, orthogonal (cos == 0), cos == margin.
        # the last row has cos == margin (up to ATen's epsilon) for margins 0 and +-0.6
        c = [0.0, 1.0, 0.0] if m == 0 else [math.copysign(3.0, m), 4.0, 0.0]
        a = [[0, 0, 0], [0, 0, 0], [1, 2, 3], [1, 2, 3], [1, -2, 0.5], [1, -2, 0.5], [1, 0, 0], [1, 0, 0],
             [1, 0, 0]]
        b = [[0, 0, 0], [1, 1, 1], [1, 2, 3], [1, 2, 3], [-1, 2, -0.5], [-1, 2, -0.5], [0, 1, 0], [0, 1, 0],
             c]
        t = [1, -1, 1, -1, 1, -1, 1, -1, -1]
        return (9, 3), {"input1": f32(a), "input2": f32(b), "target": f32(t)}, {}

    out = [("random-5x4", rand(5, 4), None), ("special-9x3", special, None)]
    if not o:
        out += [("random-6", rand(1, 6, one_d=True), None), ("one-column-4x1", rand(4, 1), None),
                ("empty-0x3", lambda rng: ((0, 3), {"input1": np.zeros((0, 3), np.float32),
                                                     "input2": np.zeros((0, 3), np.float32),
                                                     "target": np.zeros((0,), np.float32)}, {}), None)]
    return out


def t_triplet(red, o, anchor, positive, negative):
    return F.triplet_margin_loss(anchor, positive, negative, margin=o.get("margin", 1.0), p=o.get("p", 2.0),
                                 eps=o.get("eps", 1e-6), swap=o.get("swap", False), reduction=red)


def triplet_builders(o):
    def rand(shape, scale=1.0):
        def build(rng):
            a = randn(rng, shape)
            return shape, {"anchor": a, "positive": (a + randn(rng, shape, 0.6 * scale)).astype(np.float32),
                           "negative": (a + randn(rng, shape, scale)).astype(np.float32)}, {}
        return build

    exact = o.get("eps", 1e-6) == 0.0

    def special(rng):
        # identical triplet (distances eps * D^(1/p), or 0 with eps = 0), d(a, n) == d(p, n)
        # (swap tie), a loss exactly at 0 (margin + d(a, p) == d(a, n), only exact with
        # eps = 0 and margin 1: with eps > 0 float32 rounding decides the side, so the row
        # moves away from the tie).
        far = 2.0 if exact and o.get("margin", 1.0) == 1.0 else 2.5
        a = [[0.5, -1.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]
        p = [[0.5, -1.0, 2.0], [-1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 2.0, 3.0]]
        n = [[0.5, -1.0, 2.0], [0.0, 0.0, 0.0], [far, 0.0, 0.0], [4.0, 6.0, 3.0]]
        return (4, 3), {"anchor": f32(a), "positive": f32(p), "negative": f32(n)}, {}

    out = [("random-5x4", rand((5, 4)), None), ("special-4x3", special, None)]
    if not o:
        out += [("random-6", rand((6,)), None), ("one-column-4x1", rand((4, 1)), None),
                ("random-2x2x3", rand((2, 2, 3)), None),
                ("empty-0x3", empty((0, 3), "anchor", "positive", "negative"), None)]
    return out


def triplet_tolerance(o):
    p = o.get("p", 2.0)
    return None if p in (1.0, 2.0) else {"rtol": 1e-4, "atol": 1e-5}


TORCH_MARGIN = (
    MarginSpec("torch.hingeEmbeddingLoss", t_hinge, ("input",), ({}, {"margin": 0.5}, {"margin": 2.0}),
               hinge_builders),
    MarginSpec("torch.softMarginLoss", t_soft, ("input",), ({},), soft_builders),
    MarginSpec("torch.marginRankingLoss", t_ranking, ("input1", "input2"), ({}, {"margin": 0.5}),
               ranking_builders),
    MarginSpec("torch.multilabelSoftMarginLoss", t_mlsm, ("input",), ({},), mlsm_builders),
    MarginSpec("torch.multiMarginLoss", t_multi, ("input",),
               ({}, {"p": 2}, {"margin": 0.5}, {"p": 2, "margin": 0.5}), multi_builders),
    MarginSpec("torch.multilabelMarginLoss", t_mlm, ("input",), ({},), mlm_builders),
    MarginSpec("torch.cosineEmbeddingLoss", t_cosine, ("input1", "input2"),
               ({}, {"margin": 0.6}, {"margin": -0.6}), cosine_builders),
    MarginSpec("torch.tripletMarginLoss", t_triplet, ("anchor", "positive", "negative"),
               ({}, {"eps": 0.0}, {"swap": True, "eps": 0.0}, {"swap": True}, {"p": 1}, {"p": 3},
                {"p": 1.5, "margin": 0.5}), triplet_builders, triplet_tolerance),
)


# --- keras

def keras_margin(per_sample):
    """A MarginSpec call of a Keras per-sample formula: weights from opts.sampleWeight, then the reduction."""
    return lambda red, o, yTrue, yPred: keras_reduce(per_sample(yTrue, yPred, **{k: v for k, v in o.items() if k == "axis"}),
                                                     red, o.get("sampleWeight"))


def k_rand(shape, weighted=False, true=None, pred=None, axis=-1):
    def build(rng):
        yt = true(rng, shape) if true else randn(rng, shape)
        yp = pred(rng, shape) if pred else randn(rng, shape, 1.5)
        samples = int(np.prod(shape)) // shape[axis] if len(shape) > 1 else 1
        extra = {"sampleWeight": sample_weights(rng, samples)} if weighted else {}
        return shape, {"yTrue": yt, "yPred": yp}, extra
    return build


def labels01(rng, s):
    return (rng.random(s) < 0.5).astype(np.float32)


def onehot(rng, s):
    out = np.zeros(s, dtype=np.float32).reshape(-1, s[-1])
    out[np.arange(out.shape[0]), rng.integers(0, s[-1], out.shape[0])] = 1.0
    return out.reshape(s)


def hinge_family_builders(o):
    def ties(rng):
        # 1 - y p == 0 exactly (y = +-1 and converted 0/1 labels cannot mix: one batch of +-1).
        yt = [1, -1, 1, -1, 1, -1, 1, -1]
        yp = [1.0, -1.0, 0.5, 2.0, -0.25, 1.0, 1.0, 0.0]
        return (2, 4), {"yTrue": f32(yt, (2, 4)), "yPred": f32(yp, (2, 4))}, {}

    def mixed(rng, s):  # -1/0/1 labels: not all 0 or 1, so not converted (0 labels give 1)
        return (rng.integers(-1, 2, s)).astype(np.float32)

    return [("labels01-4x3", k_rand((4, 3), true=labels01), None),
            ("labelspm1-4x3", k_rand((4, 3), true=pm1), None),
            ("labels-mixed-4x3", k_rand((4, 3), true=mixed), None),
            ("ties-2x4", ties, None),
            ("labels01-6", k_rand((6,), true=labels01), None),
            ("labelspm1-2x3x2", k_rand((2, 3, 2), true=pm1), None),
            ("weighted-4x3", k_rand((4, 3), weighted=True, true=labels01), None)]


def categorical_builders(o):
    def special(rng):
        # tied maxima among wrong classes; all wrong preds negative (the max is the true
        # class's 0); a loss exactly at 0 (neg - pos + 1 == 0); a confident correct row.
        yt = [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]
        yp = [[0.5, 0.25, 0.5, -1.0], [2.0, -1.0, -0.5, -3.0], [0.0, 0.5, 1.5, 0.5], [0.0, 3.0, 0.5, 1.0],
              [0.5, 0.5, 0.5, 0.5]]
        return (5, 4), {"yTrue": f32(yt), "yPred": f32(yp)}, {}

    return [("onehot-4x3", k_rand((4, 3), true=onehot), None),
            ("soft-4x3", k_rand((4, 3), true=lambda rng, s: uniform(rng, s, 0.0, 1.0)), None),
            ("special-5x4", special, None),
            ("onehot-5", k_rand((5,), true=onehot), None),
            ("onehot-2x2x3", k_rand((2, 2, 3), true=onehot), None),
            ("weighted-4x3", k_rand((4, 3), weighted=True, true=onehot), None),
            ("one-column-4x1", k_rand((4, 1), true=onehot), None),
            ("empty-0x3", empty((0, 3), "yTrue", "yPred"), None)]


def cosine_sim_builders(o):
    axis = o.get("axis", -1)
    if axis != -1:
        shape = (4, 3) if axis == 0 else (2, 3, 2)
        return [(f"random-{shape_tag(shape)}", k_rand(shape, axis=axis), None),
                (f"weighted-{shape_tag(shape)}", k_rand(shape, weighted=True, axis=axis), None)]

    def special(rng):
        # zero yPred, zero yTrue, both zero, identical, opposite, tiny yPred (sum p^2 < 1e-12).
        yt = [[1, 2, 3], [0, 0, 0], [0, 0, 0], [0.5, -1, 2], [0.5, -1, 2], [1, 1, 0]]
        yp = [[0, 0, 0], [1, -1, 2], [0, 0, 0], [0.5, -1, 2], [-0.5, 1, -2], [r32(1e-7), r32(-2e-7), 0]]
        return (6, 3), {"yTrue": f32(yt), "yPred": f32(yp)}, {}

    return [("random-4x3", k_rand((4, 3)), None), ("random-5", k_rand((5,)), None),
            ("special-6x3", special, None), ("one-column-4x1", k_rand((4, 1)), None),
            ("weighted-4x3", k_rand((4, 3), weighted=True), None),
            ("empty-0x3", empty((0, 3), "yTrue", "yPred"), None)]


KERAS_MARGIN = (
    MarginSpec("keras.hinge", keras_margin(ref.hinge), ("yPred",), ({},), hinge_family_builders),
    MarginSpec("keras.squaredHinge", keras_margin(ref.squared_hinge), ("yPred",), ({},), hinge_family_builders),
    MarginSpec("keras.categoricalHinge", keras_margin(ref.categorical_hinge), ("yPred",), ({},), categorical_builders),
    MarginSpec("keras.cosineSimilarity", keras_margin(ref.cosine_similarity), ("yPred",), ({}, {"axis": 0}, {"axis": 1}), cosine_sim_builders),
)


def gen_margin() -> List[dict]:
    return gen_margin_cases(TORCH_MARGIN, TORCH_REDUCTIONS) + gen_margin_cases(KERAS_MARGIN, KERAS_REDUCTIONS)


# ----------------------------------------------------------------------------- registry

FAMILIES = {
    "regression": gen_regression,
    "classification": gen_classification,
    "margin": gen_margin,
}


def render(cases: List[dict]) -> str:
    """One case per line: small, stable diffs."""
    ids = [c["id"] for c in cases]
    dup = {i for i in ids if ids.count(i) > 1}
    if dup:
        raise ValueError(f"duplicate case ids: {sorted(dup)}")
    dump = lambda o: json.dumps(o, separators=(",", ":"), allow_nan=False)
    lines = ",\n".join("    " + dump(c) for c in cases)
    return (
        "{\n"
        f'  "generator": {dump(GENERATOR)},\n'
        f'  "torch": {dump(torch.__version__)},\n'
        '  "cases": [\n' + lines + "\n  ]\n}\n"
    )


def by_loss(cases: List[dict]) -> dict:
    """Cases grouped by loss name, each group in generation order."""
    out: dict = {}
    for c in cases:
        out.setdefault(c["loss"], []).append(c)
    return out


def written_by_us(path: str) -> bool:
    """A fixture file this script wrote (other scripts may write into the same family folder)."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh).get("generator") == GENERATOR


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=sorted(FAMILIES), help="regenerate one family (default: all)")
    ap.add_argument("--check", action="store_true", help="verify the files are up to date; write nothing")
    ns = ap.parse_args(argv)

    status = 0
    for family in [ns.family] if ns.family else list(FAMILIES):
        family_dir = os.path.join(OUT_DIR, family)
        wanted = {}
        for loss, cases in by_loss(FAMILIES[family]()).items():
            wanted[os.path.join(family_dir, f"{loss}.json")] = (render(cases), len(cases))
        stale = sorted(path for path in (os.path.join(family_dir, f) for f in
                                         (os.listdir(family_dir) if os.path.isdir(family_dir) else []))
                       if path.endswith(".json") and path not in wanted and written_by_us(path))
        for path in stale:
            rel = os.path.relpath(path, ROOT)
            if ns.check:
                print(f"{rel}: no longer generated (run {GENERATOR})", file=sys.stderr)
                status = 1
            else:
                os.remove(path)
                print(f"{rel}: removed")
        for path, (text, count) in wanted.items():
            status |= write_fixture(path, text, count, ns.check, GENERATOR)
    return status


def write_fixture(path, text, count, check, generator):
    """Writes one fixture file (or, with check, compares it): 1 when over budget or out of date."""
    status = 0
    size = len(text.encode("utf-8"))
    rel = os.path.relpath(path, ROOT)
    if size > MAX_BYTES:
        print(f"{rel}: {size} bytes exceeds the {MAX_BYTES} byte budget", file=sys.stderr)
        status = 1
    if check:
        current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
        if current != text:
            print(f"{rel}: out of date (run {generator})", file=sys.stderr)
            status = 1
        return status
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(text)
    print(f"{rel}: {count} cases, {size} bytes")
    return status


if __name__ == "__main__":
    sys.exit(main())
