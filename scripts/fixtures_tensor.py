#!/usr/bin/env python3
# Fixtures of test/tensor-like.test.ts: PyTorch 1.13 results of the issue-15 porting cases, on
# inputs that carry their shape (tensor-like arguments give the shape, no opts.shape).
# usage: /usr/bin/python3 scripts/fixtures_tensor.py  (writes test/porting/tensor-like.json; not under test/fixtures/, which holds one file per loss)
import json
import os

import numpy as np
import torch

rng = np.random.default_rng(15)
f32 = lambda *shape: rng.standard_normal(shape).astype(np.float32)
out = {}

# nn.TripletMarginLoss(margin=0.5, swap=True) on [8, 16]
a, p, n = f32(8, 16), f32(8, 16), f32(8, 16)
ta, tp, tn = (torch.tensor(x, requires_grad=True) for x in (a, p, n))
loss = torch.nn.TripletMarginLoss(margin=0.5, swap=True)(ta, tp, tn)
loss.backward()
none = torch.nn.TripletMarginLoss(margin=0.5, swap=True, reduction='none')(ta, tp, tn)
out['triplet'] = {
    'shape': [8, 16], 'anchor': a.ravel().tolist(), 'positive': p.ravel().tolist(), 'negative': n.ravel().tolist(),
    'mean': loss.item(), 'none': none.detach().numpy().tolist(), 'noneShape': list(none.shape),
    'gradAnchor': ta.grad.numpy().ravel().tolist(),
}

# nn.CrossEntropyLoss(reduction='none') on logits [4, 5, 3] with class indices [4, 3]
x = f32(4, 5, 3)
t = rng.integers(0, 5, size=(4, 3))
tx = torch.tensor(x)
ce = torch.nn.CrossEntropyLoss(reduction='none')(tx, torch.tensor(t))
out['crossEntropy'] = {
    'shape': [4, 5, 3], 'input': x.ravel().tolist(), 'target': t.ravel().tolist(), 'targetShape': [4, 3],
    'none': ce.numpy().ravel().tolist(), 'noneShape': list(ce.shape),
    'mean': torch.nn.CrossEntropyLoss()(tx, torch.tensor(t)).item(),
}

path = os.path.join(os.path.dirname(__file__), '..', 'test', 'porting', 'tensor-like.json')
with open(path, 'w') as f:
    json.dump(out, f)
print('wrote', os.path.normpath(path), {k: v['mean'] for k, v in out.items()})
