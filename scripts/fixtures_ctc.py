#!/usr/bin/python3
"""Reference fixtures for torch.ctcLoss and keras.ctc (test/fixtures/sequence/<loss>.json).

    /usr/bin/python3 scripts/fixtures_ctc.py           # write both files
    /usr/bin/python3 scripts/fixtures_ctc.py --check   # verify they are current

Same case format as scripts/gen_fixtures.py (whose helpers it uses); every reference is float64
PyTorch 1.13 autograd on float32 inputs.

torch.ctcLoss: torch.nn.functional.ctc_loss itself, float64 log_probs [T, N, C] (or [T, C]).

keras.ctc: Keras 3's formula transcribed into torch (keras-team/keras, commit 3422977a):
  keras/src/losses/losses.py, def ctc (lines 2529-2564):
      mask_index = 0
      input_length = ops.shape(y_pred)[1] * ops.ones((batch_length,), dtype="int32")
      label_length = ops.cast(ops.sum(y_true != mask_index, axis=-1), dtype="int32")
      return ops.ctc_loss(y_true, y_pred, label_length, input_length, mask_index=mask_index)
  keras/src/backend/tensorflow/nn.py, def ctc_loss (lines 1649-1671):
      tf.nn.ctc_loss(labels=target, logits=output, label_length=target_length,
                     logit_length=output_length, blank_index=mask_index, logits_time_major=False)
  tf.nn.ctc_loss on dense labels (ctc_loss_dense) takes log_softmax(logits) and returns the
  per-sequence -log p; its gradient is exp(log_softmax) - exp(state posteriors), the logits'
  gradient, which torch autograd through log_softmax reproduces. The Loss wrapper then applies
  sample_weight and sum_over_batch_size = sum / N (keras/src/losses/loss.py, reduce_values).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_fixtures import arr, num, rng_for, upstream  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT_DIR = os.path.join(ROOT, "test", "fixtures", "sequence")
GENERATOR = "scripts/fixtures_ctc.py"

torch.set_num_threads(1)

# float32 kernels against float64 references: the recursions run T log-sum-exp steps in float32.
TOLERANCE = {"rtol": 2e-5, "atol": 1e-5}


def i32(a) -> dict:
    return {"i32": [int(v) for v in np.asarray(a).ravel()]}


def log_softmax32(rng, shape, scale=2.0) -> np.ndarray:
    """float32 log-probabilities (rows of a log-softmax, rounded to float32)."""
    z = torch.tensor(rng.standard_normal(shape) * scale, dtype=torch.float64)
    return z.log_softmax(-1).numpy().astype(np.float32)


def labels(rng, n, C, blank, repeats=False) -> np.ndarray:
    """n labels in [0, C) other than the blank; repeats: runs of equal labels."""
    classes = [c for c in range(C) if c != blank]
    out = rng.choice(classes, size=n)
    if repeats:
        for k in range(1, n, 2):
            out[k] = out[k - 1]
    return out.astype(np.int32)


def case(case_id, loss, args, shape, opts, grad_output, loss_val, grad) -> dict:
    c = {"id": case_id, "loss": loss, "args": args, "shape": list(shape), "opts": opts}
    c["gradOutput"] = arr(grad_output) if isinstance(grad_output, np.ndarray) else grad_output
    lv = loss_val.detach().reshape(-1).tolist()
    c["expected"] = {
        "loss": [num(v) for v in lv] if opts.get("reduction") == "none" else num(lv[0]),
        "grad": [num(v) for v in grad.reshape(-1).tolist()],
    }
    c["tolerance"] = TOLERANCE
    return c


def upstream_for(rng, reduction, n):
    return upstream(rng, (n,)) if reduction == "none" else 0.75


# ----------------------------------------------------------------------------- torch.ctcLoss

def torch_case(tag, reduction, lp, targets, il, tl, blank=0, zero_infinity=False, concatenated=False):
    """lp float32 [T, N, C] or [T, C]; targets padded [N, S] (or [S]) or, concatenated, 1-D."""
    case_id = f"torch.ctcLoss/{tag}/{reduction}"
    rng = rng_for(case_id)
    unbatched = lp.ndim == 2
    n = 1 if unbatched else lp.shape[1]
    x = torch.tensor(lp.astype(np.float64), requires_grad=True)
    tg = torch.tensor(np.asarray(targets, dtype=np.int64))
    il_t = torch.tensor(il[0] if unbatched else il, dtype=torch.long)
    tl_t = torch.tensor(tl[0] if unbatched else tl, dtype=torch.long)
    out = F.ctc_loss(x, tg, il_t, tl_t, blank=blank, reduction=reduction, zero_infinity=zero_infinity)
    go = upstream_for(rng, reduction, n)
    out.backward(gradient=torch.tensor(np.asarray(go, dtype=np.float64)).reshape(out.shape))
    opts = {"reduction": reduction}
    if blank:
        opts["blank"] = blank
    if zero_infinity:
        opts["zeroInfinity"] = True
    args = {"logProbs": arr(lp), "targets": i32(targets), "inputLengths": i32(il), "targetLengths": i32(tl)}
    c = case(case_id, "torch.ctcLoss", args, lp.shape, opts, go, out, x.grad.numpy())
    assert concatenated == (np.asarray(targets).ndim == 1 and not unbatched)
    return c


def padded(rng, tl, S, C, blank, repeats=False) -> np.ndarray:
    """[N, S] targets: each row's first tl labels, then filler labels (read by nobody)."""
    return np.stack([labels(rng, S, C, blank, repeats) for _ in tl]) if len(tl) else np.zeros((0, S), np.int32)


def torch_cases():
    cases = []
    for red in ("mean", "sum", "none"):
        r = rng_for(f"torch.ctcLoss/data/{red}")
        # padded [N, S], every length below T, one empty target
        T, N, C, S = 12, 4, 6, 4
        tl = np.array([4, 2, 0, 3], np.int32)
        cases.append(torch_case("padded-12x4x6", red, log_softmax32(r, (T, N, C)), padded(r, tl, S, C, 0),
                                np.array([12, 9, 5, 10], np.int32), tl))
        # concatenated 1-D targets
        tl = np.array([3, 1, 4], np.int32)
        lp = log_softmax32(r, (10, 3, 5))
        cases.append(torch_case("concatenated-10x3x5", red, lp, labels(r, int(tl.sum()), 5, 0),
                                np.array([10, 8, 10], np.int32), tl, concatenated=True))
        # unbatched [T, C]
        cases.append(torch_case("unbatched-9x5", red, log_softmax32(r, (9, 5)), labels(r, 3, 5, 0),
                                np.array([9], np.int32), np.array([3], np.int32)))
        # repeated labels (a blank must separate them), blank = C - 1 and a blank inside the classes
        tl = np.array([6, 4], np.int32)
        cases.append(torch_case("repeats-blank4-14x2x5", red, log_softmax32(r, (14, 2, 5)),
                                padded(r, tl, 6, 5, 4, repeats=True), np.array([14, 11], np.int32), tl, blank=4))
        tl = np.array([2, 3, 1], np.int32)
        cases.append(torch_case("blank2-8x3x4", red, log_softmax32(r, (8, 3, 4)), padded(r, tl, 3, 4, 2),
                                np.array([8, 7, 3], np.int32), tl, blank=2))
        # impossible alignments: [1, 1, 1] needs 5 steps, only 4 given; 3 labels in 2 steps
        lp = log_softmax32(r, (6, 3, 4))
        targets = np.array([[1, 1, 1], [2, 3, 1], [3, 2, 0]], np.int32)
        for zi in (False, True):
            cases.append(torch_case(f"impossible-zeroInfinity{zi}", red, lp, targets,
                                    np.array([4, 2, 6], np.int32), np.array([3, 3, 2], np.int32), zero_infinity=zi))
        # long sequences: T = 60, targets up to 20 with repeats (one reduction: the file size budget)
        tl = np.array([20, 13, 7], np.int32)
        if red == "none":
                cases.append(torch_case("long-60x3x12", red, log_softmax32(r, (60, 3, 12), scale=3.0),
                                    padded(r, tl, 20, 12, 0, repeats=True), np.array([60, 51, 33], np.int32), tl))
    return cases


# ----------------------------------------------------------------------------- keras.ctc

def keras_reference(y_true, logits, weight, reduction):
    """Keras 3 ctc (see the module docstring) in float64 torch: per-sample -log p, then the Loss wrapper."""
    x = torch.tensor(logits.astype(np.float64), requires_grad=True)  # [N, T, C]
    N, T, _ = logits.shape
    label_length = torch.tensor((y_true != 0).sum(axis=-1), dtype=torch.long)
    input_length = torch.full((N,), T, dtype=torch.long)
    lp = x.log_softmax(-1).transpose(0, 1)  # tf.nn.ctc_loss: log_softmax inside, batch major
    per = F.ctc_loss(lp, torch.tensor(y_true, dtype=torch.long), input_length, label_length, blank=0, reduction="none")
    if weight is not None:
        per = per * torch.tensor(weight.astype(np.float64))
    if reduction == "none":
        return per, x
    total = per.sum()
    return (total / N if reduction == "sum_over_batch_size" else total), x


def keras_case(tag, reduction, y_true, logits, weight=None):
    case_id = f"keras.ctc/{tag}/{reduction}"
    rng = rng_for(case_id)
    out, x = keras_reference(y_true, logits, weight, reduction)
    go = upstream_for(rng, reduction, logits.shape[0])
    out.backward(gradient=torch.tensor(np.asarray(go, dtype=np.float64)).reshape(out.shape))
    opts = {"reduction": reduction}
    if weight is not None:
        opts["sampleWeight"] = arr(weight)
    args = {"yTrue": i32(y_true), "yPred": arr(logits)}
    return case(case_id, "keras.ctc", args, logits.shape, opts, go, out, x.grad.numpy())


def keras_labels(rng, lengths, S, C):
    """[N, S]: each row's labels in [1, C), then 0 (the blank) padding."""
    y = np.zeros((len(lengths), S), np.int32)
    for b, n in enumerate(lengths):
        y[b, :n] = rng.integers(1, C, n)
    return y


def keras_cases():
    cases = []
    for red in ("sum_over_batch_size", "sum", "none"):
        r = rng_for(f"keras.ctc/data/{red}")
        logits = (r.standard_normal((3, 10, 6)) * 2).astype(np.float32)
        cases.append(keras_case("3x10x6", red, keras_labels(r, [4, 2, 0], 5, 6), logits))
        weight = np.array([0.5, 2.0, 1.25, 0.0], np.float32)
        logits = (r.standard_normal((4, 16, 7)) * 2).astype(np.float32)
        y = keras_labels(r, [5, 7, 3, 1], 7, 7)
        y[0, 1] = y[0, 0]  # a repeated label
        cases.append(keras_case("weighted-4x16x7", red, y, logits, weight))
        # 4 labels with a repeat need 5 steps: 4 given, Infinity (and NaN gradients)
        logits = (r.standard_normal((2, 4, 5)) * 2).astype(np.float32)
        cases.append(keras_case("impossible-2x4x5", red, np.array([[1, 1, 2, 3], [2, 0, 0, 0]], np.int32), logits))
    return cases


def render(cases) -> str:
    dump = lambda o: json.dumps(o, separators=(",", ":"), allow_nan=False)  # noqa: E731
    ids = [c["id"] for c in cases]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    lines = ",\n".join("    " + dump(c) for c in cases)
    return ("{\n" f'  "generator": {dump(GENERATOR)},\n' f'  "torch": {dump(torch.__version__)},\n'
            '  "cases": [\n' + lines + "\n  ]\n}\n")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="verify the files are up to date; write nothing")
    ns = ap.parse_args(argv)
    files = {os.path.join(OUT_DIR, f"{name}.json"): build() for name, build in
             (("torch.ctcLoss", torch_cases), ("keras.ctc", keras_cases))}
    stale = [path for path, cases in files.items()
             if not os.path.exists(path) or open(path, encoding="utf-8").read() != render(cases)]
    if ns.check:
        for path in stale:
            print(f"{os.path.relpath(path, ROOT)}: out of date (run {GENERATOR})", file=sys.stderr)
        return 1 if stale else 0
    os.makedirs(OUT_DIR, exist_ok=True)
    for path, cases in files.items():
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(render(cases))
        print(f"{os.path.relpath(path, ROOT)}: {len(cases)} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
