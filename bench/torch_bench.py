#!/usr/bin/env python3
"""PyTorch side of `npm run bench` (bench/run.js spawns it once).

Reads a JSON spec (path in argv[1]): thread count, timing budget and the cases, each with its
PyTorch loss key (TORCH_LOSSES below) and its inputs as raw little-endian files written by
run.js, so torch sees exactly the numbers fastloss saw. For every case it times forward
(no_grad) and forward + backward (torch.autograd.grad w.r.t. the inputs marked grad) with the
same method as run.js (calibrated batches, warm-up, median), and prints one JSON object on
stdout: ns per call, samples and the forward value. Progress goes to stderr.
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


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else 0.5 * (s[m - 1] + s[m])


def time_batch(fn, inner):
    t0 = time.perf_counter_ns()
    for _ in range(inner):
        fn()
    return time.perf_counter_ns() - t0


def measure(fn, cfg):
    target = cfg['sampleMs'] * 1e6
    inner = 1
    t = time_batch(fn, inner)
    while t < target and inner < (1 << 24):
        grow = math.ceil(inner * target * 1.1 / t) if t > 0 else inner * 16
        inner = min(inner * 16, max(inner * 2, grow))
        t = time_batch(fn, inner)
    samples = []
    start = time.perf_counter_ns()
    budget = cfg['budgetMs'] * 1e6
    while len(samples) < cfg['minSamples'] or (
            len(samples) < cfg['maxSamples'] and time.perf_counter_ns() - start < budget):
        samples.append(time_batch(fn, inner) / inner)
    return {'ns': median(samples), 'min': min(samples), 'samples': len(samples), 'inner': inner}


def cpu_ticks():
    """(busy jiffies of the machine, CPU seconds of this process and its children) or None."""
    try:
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
        busy = v[0] + v[1] + v[2] + v[5] + v[6] + (v[7] if len(v) > 7 else 0)
        t = os.times()
        return busy / os.sysconf('SC_CLK_TCK'), t.user + t.system + t.children_user + t.children_system, time.time()
    except (OSError, ValueError, IndexError):
        return None


def other_cores(a, b):
    if a is None or b is None or b[2] <= a[2]:
        return None
    return max(0.0, (b[0] - a[0]) - (b[1] - a[1])) / (b[2] - a[2])


STATS = {'figures': 0, 'retried': 0, 'contended': 0}
WAIT = {'s': 0.0}  # total waiting left for quiet moments (seconds), set from the spec


def measure_quiet(fn, cfg):
    """measure(), again (up to cfg['retries'] times) when other processes took CPU meanwhile."""
    limit = cfg.get('maxOtherCores', 0.25)
    best = None
    for attempt in range(cfg.get('retries', 0) + 1):
        if attempt:
            if WAIT['s'] <= 0:
                break
            started = time.time()
            deadline = started + min(cfg.get('quietWaitMs', 20000) / 1000, WAIT['s'])
            while time.time() < deadline:
                a = cpu_ticks()
                time.sleep(0.5)
                o = other_cores(a, cpu_ticks())
                if o is None or o <= limit:
                    break
            WAIT['s'] -= time.time() - started
        a = cpu_ticks()
        m = measure(fn, cfg)
        m['otherCores'] = other_cores(a, cpu_ticks())
        m['attempts'] = attempt + 1
        if best is None or (m['otherCores'] or 0) < (best['otherCores'] or 0):
            best = m
        if m['otherCores'] is None or m['otherCores'] <= limit:
            break
    STATS['figures'] += 1
    STATS['retried'] += best['attempts'] > 1
    STATS['contended'] += (best['otherCores'] or 0) > limit
    return best


def load_input(spec):
    dtype = np.int32 if spec['dtype'] == 'i32' else np.float32
    arr = np.fromfile(spec['file'], dtype=dtype).reshape(spec['shape'])
    t = torch.from_numpy(arr)
    if spec['dtype'] == 'i32':
        t = t.long()  # class indices are int64 in PyTorch
    return t


def run_case(case, cfg):
    key = case['torch']
    fn = TORCH_LOSSES[key]
    if case.get('keras') and key in SWAP_FOR_KERAS:
        base = fn
        fn = lambda t, p: base(p, t)  # noqa: E731
    tensors = [load_input(s) for s in case['inputs']]
    out = {}
    with torch.no_grad():
        out['value'] = float(fn(*tensors).double())

    def forward():
        with torch.no_grad():
            fn(*tensors)

    if 'forward' in case['modes']:
        out['forward'] = measure_quiet(forward, cfg)
    if 'withGrad' in case['modes']:
        leaves = [t.detach().clone().requires_grad_(s['grad']) if s['grad'] else t
                  for t, s in zip(tensors, case['inputs'])]
        diff = [t for t, s in zip(leaves, case['inputs']) if s['grad']]

        def with_grad():
            loss = fn(*leaves)
            torch.autograd.grad(loss, diff)

        out['withGrad'] = measure_quiet(with_grad, cfg)
    return out


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(int(spec['threads']))
    cfg = spec['timing']
    WAIT['s'] = cfg.get('waitBudgetMs', 0) / 1000
    result = {
        'version': torch.__version__,
        'threads': torch.get_num_threads(),
        'parallel': torch.__config__.parallel_info().splitlines()[-1].strip(),
        'cpuCapability': getattr(getattr(torch.backends, 'cpu', None), 'get_cpu_capability', lambda: None)(),
        'cases': {},
        'errors': {},
    }
    for case in spec['cases']:
        if case['torch'] not in TORCH_LOSSES:
            result['errors'][case['id']] = f"no torch equivalent '{case['torch']}' in bench/torch_bench.py"
            continue
        print(f"  torch {case['id']}", file=sys.stderr, flush=True)
        try:
            result['cases'][case['id']] = run_case(case, cfg)
        except Exception as e:  # report, keep going
            result['errors'][case['id']] = f'{type(e).__name__}: {e}'
    result['contention'] = STATS
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
