#!/usr/bin/python3
"""Generate reference fixtures for the fastloss jest tests.

    /usr/bin/python3 scripts/gen_fixtures.py                       # every family
    /usr/bin/python3 scripts/gen_fixtures.py --family regression   # one family
    /usr/bin/python3 scripts/gen_fixtures.py --check               # verify files are current

Each family is one generator function registered in FAMILIES; it returns a list of
cases and is written to test/fixtures/<family>.json.  Use Debian's /usr/bin/python3
(PyTorch 1.13 via python3-torch); the python3 first on PATH has no torch.

Fixture format:
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures")
GENERATOR = "scripts/gen_fixtures.py"
MAX_BYTES = 300 * 1024

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


def make_case(case_id, loss, args, shape, opts, grad_output, loss_val, grad) -> dict:
    case = {"id": case_id, "loss": loss, "args": {k: arr(v) for k, v in args.items()}}
    if len(shape) != 1:
        case["shape"] = list(shape)
    case["opts"] = opts
    case["gradOutput"] = arr(grad_output) if isinstance(grad_output, np.ndarray) else grad_output
    lv = loss_val.detach().reshape(-1).tolist()
    case["expected"] = {
        "loss": [num(v) for v in lv] if isinstance(grad_output, np.ndarray) else num(lv[0]),
        "grad": [num(v) for v in grad.reshape(-1).tolist()],
    }
    return case


def reference(fn: Callable, args: dict, wrt: str, grad_output):
    """Run fn(**float64 tensors) and backprop gradOutput into args[wrt]."""
    ts = {k: tensor(v) for k, v in args.items()}
    ts[wrt].requires_grad_(True)
    out = fn(**ts)
    go = tensor(grad_output).reshape(out.shape)
    out.backward(gradient=go)
    return out, ts[wrt].grad


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
                    opts = {"reduction": red}
                    if variant is not None:
                        opts[spec.param] = variant
                    w = sample_weights(rng, int(np.prod(out_shape))) if weighted else None
                    if w is not None:
                        opts["sampleWeight"] = arr(w)
                    go = upstream(rng, out_shape) if red == "none" else inp.scalar_grad

                    def fn(red=red, p=p, w=w, **a):
                        return fw.call(spec, red, p, None if w is None else tensor(w), **a)

                    out, grad = reference(fn, inp.args, fw.wrt, go)
                    cases.append(make_case(case_id, spec.name, inp.args, inp.shape, opts, go, out, grad))
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
# TensorFlow is not available, so each documented formula is written in float64 torch with
# TF's gradient conventions: tf.maximum(a, b) routes the gradient to a where a >= b,
# d|x|/dx = 0 at 0, tf.where only differentiates the selected branch.  backend.epsilon()
# (1e-7) is applied at float32, as TF does for float32 tensors.

KERAS_EPS = r32(1e-7)
KERAS_REDUCTIONS = ("sum_over_batch_size", "sum", "none")
KERAS_RANDOM_SHAPES = (((6,), 1.0), ((4, 3), 0.7), ((2, 3, 2), -2.0))


def tf_maximum(a, b: float):
    """tf.maximum(a, b) for constant b: gradient flows to a where a >= b."""
    return torch.where(a >= b, a, torch.full_like(a, b))


def k_mse(yt, yp, d):
    return (yp - yt) ** 2


def k_mae(yt, yp, d):
    return torch.abs(yp - yt)


def k_mape(yt, yp, d):
    return 100.0 * torch.abs((yt - yp) / tf_maximum(torch.abs(yt), KERAS_EPS))


def k_msle(yt, yp, d):
    return (torch.log(tf_maximum(yp, KERAS_EPS) + 1.0) - torch.log(tf_maximum(yt, KERAS_EPS) + 1.0)) ** 2


def k_huber(yt, yp, d):
    e = yp - yt
    a = torch.abs(e)
    return torch.where(a <= d, 0.5 * e * e, d * a - 0.5 * d * d)


def k_logcosh(yt, yp, d):
    x = yp - yt
    # x + softplus(-2x) - log 2; logaddexp(z, 0) is softplus with TF's gradient sigmoid(z)
    # and never overflows.
    return x + torch.logaddexp(-2.0 * x, torch.zeros_like(x)) - math.log(2.0)


def keras_reduce(elementwise, reduction, weight):
    per_sample = elementwise.mean(dim=-1)
    if weight is not None:
        per_sample = per_sample * weight.reshape(per_sample.shape)
    if reduction == "none":
        return per_sample.reshape(-1)
    total = per_sample.sum()
    return total if reduction == "sum" else total / max(per_sample.numel(), 1)


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
    LossSpec("keras.meanSquaredError", k_mse, edges=(("zero-diff", k_zero_diff), ("large", k_large))),
    LossSpec("keras.meanAbsoluteError", k_mae, edges=(("zero-diff", k_zero_diff), ("large", k_large))),
    LossSpec("keras.meanAbsolutePercentageError", k_mape,
             edges=(("zero-diff", k_zero_diff), ("zero-true", k_mape_zero_true))),
    LossSpec("keras.meanSquaredLogarithmicError", k_msle, edges=(("low-pred", k_msle_low),)),
    LossSpec("keras.huber", k_huber, param="delta", variants=(None, 0.5), default=1.0,
             edges=(("ties", k_huber_ties),)),
    LossSpec("keras.logCosh", k_logcosh, edges=(("zero-diff", k_zero_diff), ("large", k_logcosh_large))),
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
    call=lambda spec, red, d, w, yTrue, yPred: keras_reduce(spec.fn(yTrue, yPred, d), red, w),
    builders=keras_builders,
)


def gen_regression() -> List[dict]:
    return gen_cases(TORCH, TORCH_LOSSES) + gen_cases(KERAS, KERAS_LOSSES)


# ----------------------------------------------------------------------------- registry

FAMILIES = {
    "regression": gen_regression,
    # "classification": gen_classification,
    # "margin": gen_margin,
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


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=sorted(FAMILIES), help="regenerate one family (default: all)")
    ap.add_argument("--check", action="store_true", help="verify the files are up to date; write nothing")
    ns = ap.parse_args(argv)

    status = 0
    for name in [ns.family] if ns.family else list(FAMILIES):
        cases = FAMILIES[name]()
        text = render(cases)
        size = len(text.encode("utf-8"))
        path = os.path.join(OUT_DIR, f"{name}.json")
        rel = os.path.relpath(path, ROOT)
        if size > MAX_BYTES:
            print(f"{rel}: {size} bytes exceeds the {MAX_BYTES} byte budget", file=sys.stderr)
            status = 1
        if ns.check:
            current = open(path, encoding="utf-8").read() if os.path.exists(path) else None
            if current != text:
                print(f"{rel}: out of date (run {GENERATOR})", file=sys.stderr)
                status = 1
            continue
        os.makedirs(OUT_DIR, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        print(f"{rel}: {len(cases)} cases, {size} bytes")
    return status


if __name__ == "__main__":
    sys.exit(main())
