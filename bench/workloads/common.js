'use strict';
// Helpers shared by the workload files (bench/workloads/<family>.js).
//
// A workload is one loss. Fields:
//   name      fastloss name, 'torch.mseLoss' (looked up as fastloss.torch.mseLoss; when the
//             library has no such loss yet the workload is skipped with a note)
//   family    'regression', 'classification', ...
//   bound     'memory' | 'compute': what limits the kernel at 10^7 (roofline column)
//   cases     [{ label, n, shape }]: n = elements of the prediction input, shape = its shape
//   inputs(c) the call's array arguments in call order:
//             [{ name, gen, length, shape, grad }]; gen = { kind: 'normal'|'uniform'|'classes'|'sign'|
//             'bernoulli'|'poisson'|'softmax'|'onehot', seed, ... } (bench/lib/data.js), grad marks a
//             differentiable input
//   opts(c)   fastloss options for the call (shape, ...), optional
//   js        { forward(args, c) -> number, withGrad(args, grads, c) -> number }: straightforward
//             plain-JS loops of the same loss; grads are preallocated Float32Arrays in the order of
//             the grad inputs, to be overwritten
//   tfjs      { prepare?(tf, tensors, c) -> tensors, loss(tf, ...tensors) -> scalar } or null:
//             tf.losses.* or the equivalent ops; prepare (untimed) may convert inputs (one-hot ...)
//             but keeps their positions, so the grad flags still apply
//   torch     key of bench/torch_bench.py's TORCH_LOSSES (the PyTorch 1.13 equivalent) or null
//
// Adding a family: a new bench/workloads/<family>.js exporting an array of workloads, plus its
// torch keys in bench/torch_bench.py. bench/run.js picks the file up by itself.

const SIZES = [1e3, 1e5, 1e6, 1e7];

function label(n) {
  const e = Math.log10(n);
  return Number.isInteger(e) ? `1e${e}` : String(n);
}

/** The standard sweep 10^3 .. 10^7; shapeOf(n) gives the logical shape. */
function sweep(shapeOf = (n) => [n]) {
  return SIZES.map((n) => ({ label: label(n), n, shape: shapeOf(n) }));
}

/** One case per [rows, cols] shape. */
function shapes(list) {
  return list.map((s) => ({ label: `[${s.join(',')}]`, n: s.reduce((a, b) => a * b, 1), shape: s }));
}

const normal = (seed, extra = {}) => ({ kind: 'normal', seed, ...extra });
const uniform = (seed, lo, hi) => ({ kind: 'uniform', seed, lo, hi });
const classes = (seed, count) => ({ kind: 'classes', seed, classes: count });
const sign = (seed) => ({ kind: 'sign', seed });
const bernoulli = (seed, p = 0.5) => ({ kind: 'bernoulli', seed, p });
const poisson = (seed, rate) => ({ kind: 'poisson', seed, rate });
// rows of `cols` probabilities (softmax of normal logits), or log-probabilities
const softmax = (seed, cols) => ({ kind: 'softmax', seed, cols });
const logSoftmax = (seed, cols) => ({ kind: 'softmax', seed, cols, log: true });
const onehot = (seed, cols) => ({ kind: 'onehot', seed, cols });

module.exports = { SIZES, label, sweep, shapes, normal, uniform, classes, sign, bernoulli, poisson, softmax, logSoftmax, onehot };
