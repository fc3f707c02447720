#!/usr/bin/env python3
"""Writes test/fixtures/io/: small .npy / .npz files saved by real NumPy (every dtype and format version the
readers take, and the ones they must refuse), with the values NumPy reads back, and PyTorch 1.13 reference
losses for the CLI tests. Run with Debian's /usr/bin/python3 (python3-numpy, python3-torch):
    /usr/bin/python3 scripts/gen_io_fixtures.py
"""
import io
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'io')
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(14)


def save(name, a, version=None):
    path = os.path.join(OUT, name)
    if version is None:
        np.save(path, a)
    else:
        with open(path, 'wb') as f:
            np.lib.format.write_array(f, a, version=version)
    return name


expected = {}


def case(name, a, version=None):
    save(name, a, version)
    expected[name] = {'dtype': str(a.dtype), 'shape': list(a.shape),
                      'values': [float(v) if a.dtype.kind == 'f' else int(v) for v in a.ravel()]}


# Every dtype the readers take, C order, shapes of 1 to 3 axes, an empty one, format versions 1, 2 and 3.
case('f4_2d.npy', rng.standard_normal((7, 3)).astype('<f4'))
case('f8_1d.npy', rng.standard_normal(11).astype('<f8'))
case('i4_1d.npy', rng.integers(-5, 5, 9).astype('<i4'))
case('i8_1d.npy', rng.integers(0, 4, 13).astype('<i8'))
case('u1_1d.npy', rng.integers(0, 255, 6).astype('|u1'))
case('b1_1d.npy', rng.integers(0, 2, 10).astype('|b1'))
case('f4_3d.npy', rng.standard_normal((4, 2, 3)).astype('<f4'))
case('f4_empty.npy', np.zeros((0, 3), '<f4'))
case('f4_v2.npy', rng.standard_normal((5, 2)).astype('<f4'), version=(2, 0))
case('f4_v3.npy', rng.standard_normal((5, 2)).astype('<f4'), version=(3, 0))

# .npz: stored (np.savez) and deflated (np.savez_compressed), several members.
logits = rng.standard_normal((64, 5)).astype('<f4')
labels = rng.integers(0, 5, 64).astype('<i8')
np.savez(os.path.join(OUT, 'stored.npz'), logits=logits, labels=labels)
np.savez_compressed(os.path.join(OUT, 'deflated.npz'), logits=logits, labels=labels)
expected['npz'] = {'logits': [float(v) for v in logits.ravel()], 'labels': [int(v) for v in labels.ravel()]}

# What the readers refuse.
save('bad_fortran.npy', np.asfortranarray(rng.standard_normal((3, 4)).astype('<f4')))
np.save(os.path.join(OUT, 'bad_object.npy'), np.array([1, 'a'], dtype=object), allow_pickle=True)
save('bad_bigendian.npy', np.arange(4, dtype='>f4'))
save('bad_complex.npy', np.zeros(3, dtype='<c8'))
save('bad_structured.npy', np.zeros(3, dtype=[('a', '<f4'), ('b', '<i4')]))

# The CLI's data: classification logits / labels, a regression pair, and PyTorch's losses for them.
save('logits.npy', logits)
save('labels.npy', labels)
pred = rng.standard_normal(200).astype('<f4')
target = rng.standard_normal(200).astype('<f4')
save('pred.npy', pred)
save('target.npy', target)
bad_labels = labels.copy()
bad_labels[17] = 5
save('labels_out_of_range.npy', bad_labels)
save('labels_float.npy', labels.astype('<f4'))
save('labels_short.npy', labels[:63])
x64 = torch.tensor(logits, dtype=torch.float64)
y = torch.tensor(labels)
p64 = torch.tensor(pred, dtype=torch.float64)
t64 = torch.tensor(target, dtype=torch.float64)
expected['torch'] = {
    'crossEntropy': {'mean': F.cross_entropy(x64, y).item(), 'sum': F.cross_entropy(x64, y, reduction='sum').item(),
                     'none': F.cross_entropy(x64, y, reduction='none').tolist()},
    'mseLoss': {'mean': F.mse_loss(p64, t64).item(), 'sum': F.mse_loss(p64, t64, reduction='sum').item()},
}

with open(os.path.join(OUT, 'expected.json'), 'w') as f:
    json.dump({'generator': 'scripts/gen_io_fixtures.py', 'numpy': np.__version__, 'torch': torch.__version__,
               **expected}, f, indent=0)
    f.write('\n')
print(f'wrote {len(os.listdir(OUT))} files to {os.path.relpath(OUT)}')
