#!/usr/bin/env python3
"""PyTorch side of `npm run bench`: a server bench/run.js starts once (bench/lib/peer.js) and asks, per case,
for timing rounds taken in turn with its own, so both sides see the same machine (see serve()).

`--threads N` sets torch.set_num_threads. Each case names its PyTorch loss key (TORCH_LOSSES below) and its
inputs as raw little-endian files written by run.js, so torch sees exactly the numbers fastloss saw. Forward
runs under no_grad, forward + backward with torch.autograd.grad w.r.t. the inputs marked grad.
"""
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

# The Keras and torchvision formulas the fixtures are computed with (scripts/references.py).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
import references as ref  # noqa: E402

# PyTorch 1.13 equivalents, called with the tensors in the fastloss call order.
# Keras losses take (y_true, y_pred) and reduce the last axis per sample, then average; where PyTorch
# has no built-in, the formula comes from scripts/references.py.
TORCH_LOSSES = {
    'F.mse_loss': lambda a, b: F.mse_loss(a, b),
    'F.l1_loss': lambda a, b: F.l1_loss(a, b),
    'F.smooth_l1_loss': lambda a, b: F.smooth_l1_loss(a, b),
    'F.huber_loss': lambda a, b: F.huber_loss(a, b),
    'keras:mean_absolute_percentage_error': lambda t, p: ref.mape_terms(t, p).mean(-1).mean(),
    'keras:mean_squared_logarithmic_error': lambda t, p: ref.msle_terms(t, p).mean(-1).mean(),
    'keras:log_cosh': lambda t, p: ref.log_cosh_terms(t, p).mean(-1).mean(),
    'F.cross_entropy': lambda x, y: F.cross_entropy(x, y),
    'F.binary_cross_entropy_with_logits': lambda x, y: F.binary_cross_entropy_with_logits(x, y),
    'F.binary_cross_entropy': lambda x, y: F.binary_cross_entropy(x, y),
    'F.kl_div:batchmean': lambda x, y: F.kl_div(x, y, reduction='batchmean'),
    'F.poisson_nll_loss': lambda x, y: F.poisson_nll_loss(x, y),
    'torchvision:sigmoid_focal_loss:mean': lambda x, y: ref.sigmoid_focal_loss(x, y, reduction='mean'),
    'keras:binary_crossentropy': lambda t, p: ref.binary_crossentropy_terms(t, p, False, 0.0).mean(-1).mean(),
    'keras:binary_crossentropy_from_logits':
        lambda t, p: F.binary_cross_entropy_with_logits(p, t, reduction='none').mean(-1).mean(),
    'keras:categorical_crossentropy': lambda t, p: ref.categorical_crossentropy(t, p, False, 0.0).mean(),
    'F.cosine_embedding_loss': lambda a, b, y: F.cosine_embedding_loss(a, b, y),
    'F.triplet_margin_loss': lambda a, p, n: F.triplet_margin_loss(a, p, n),
    'F.triplet_margin_with_distance_loss:cosine': lambda a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=lambda x, y: 1.0 - F.cosine_similarity(x, y)),
    'F.multi_margin_loss': lambda x, y: F.multi_margin_loss(x, y),
    'F.ctc_loss': lambda lp, tg, il, tl: F.ctc_loss(lp, tg, il, tl),
}

# Keras pairs are (yTrue, yPred); the F.* equivalents above take (input, target).
SWAP_FOR_KERAS = {'F.mse_loss', 'F.l1_loss', 'F.huber_loss'}


def time_batch(fn, inner):
    """ns per call of `inner` calls in a row."""
    t0 = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return (time.perf_counter_ns() - t0) / inner


def calibrate(fn, sample_ms):
    """Calls per sample so that one sample lasts at least sample_ms (bench/lib/harness.js calibrate(), the
    warm-up too: first calls, allocator, thread start)."""
    target = sample_ms * 1e6
    inner = 1
    t = time_batch(fn, inner)
    while t * inner < target and inner < (1 << 24):
        grow = math.ceil(inner * target * 1.1 / (t * inner)) if t > 0 else inner * 16
        inner = min(inner * 16, max(inner * 2, grow))
        t = time_batch(fn, inner)
    return inner


def load_input(spec):
    dtype = np.int32 if spec['dtype'] == 'i32' else np.float32
    arr = np.fromfile(spec['file'], dtype=dtype).reshape(spec['shape'])
    t = torch.from_numpy(arr)
    if spec['dtype'] == 'i32':
        t = t.long()  # class indices are int64 in PyTorch
    return t


def load_case(case):
    """The case's forward (no_grad) and forward + backward (torch.autograd.grad w.r.t. the inputs marked grad)
    closures, and its forward value in float64."""
    key = case['torch']
    if key not in TORCH_LOSSES:
        raise ValueError(f"no torch equivalent '{key}' in bench/torch_bench.py")
    fn = TORCH_LOSSES[key]
    if case.get('keras') and key in SWAP_FOR_KERAS:
        base = fn
        fn = lambda t, p: base(p, t)  # noqa: E731
    tensors = [load_input(s) for s in case['inputs']]
    with torch.no_grad():
        value = float(fn(*tensors).double())

    def forward():
        with torch.no_grad():
            fn(*tensors)

    leaves = [t.detach().clone().requires_grad_(True) if s['grad'] else t for t, s in zip(tensors, case['inputs'])]
    diff = [t for t, s in zip(leaves, case['inputs']) if s['grad']]

    def with_grad():
        torch.autograd.grad(fn(*leaves), diff)

    return {'forward': forward, 'withGrad': with_grad}, value


def serve(inp, out):
    """JSON lines: one request per line on stdin, one reply per line on stdout (bench/lib/peer.js).
    Hello: {ok, version, threads, parallel, cpuCapability}. Requests:
      {op: 'load', case: {torch, keras, inputs}}  -> {ok, value}     (replaces the loaded case)
      {op: 'calibrate', mode, sampleMs}           -> {ok, inner}     (calls per sample; warms up)
      {op: 'time', mode, inner}                   -> {ok, ns}        (ns per call over `inner` calls)
      {op: 'quit'}                                -> exits
    A failing request replies {ok: false, error} and the server keeps going."""
    def reply(obj):
        out.write(json.dumps(obj) + '\n')
        out.flush()

    reply({
        'ok': True,
        'version': torch.__version__,
        'threads': torch.get_num_threads(),
        'parallel': torch.__config__.parallel_info().splitlines()[-1].strip(),
        'cpuCapability': getattr(getattr(torch.backends, 'cpu', None), 'get_cpu_capability', lambda: None)(),
    })
    fns = {}

    def loaded(mode):
        if mode not in fns:
            raise ValueError(f'no case loaded for mode {mode!r}')
        return fns[mode]

    for line in inp:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
            op = req.get('op')
            if op == 'quit':
                return
            if op == 'load':
                fns = {}  # drop the previous case's tensors first
                fns, value = load_case(req['case'])
                reply({'ok': True, 'value': value})
            elif op == 'calibrate':
                reply({'ok': True, 'inner': calibrate(loaded(req['mode']), float(req['sampleMs']))})
            elif op == 'time':
                reply({'ok': True, 'ns': time_batch(loaded(req['mode']), int(req['inner']))})
            else:
                raise ValueError(f'unknown op {op!r}')
        except Exception as e:  # report, keep serving
            reply({'ok': False, 'error': f'{type(e).__name__}: {e}'})


def main():
    threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else 1
    torch.set_num_threads(threads)
    serve(sys.stdin, sys.stdout)


if __name__ == '__main__':
    main()
