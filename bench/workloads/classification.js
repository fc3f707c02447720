'use strict';
// Classification losses (PyTorch): cross entropy over rows of logits, BCE with logits.
// Until fastloss has them, run.js skips these with a note (or runs the other columns with
// --include-missing).
const { sweep, shapes, normal, uniform, classes } = require('./common');

// (input [N, C] logits, target [N] class indices)
const logitsAndClasses = (c) => {
  const [N, C] = c.shape;
  return [
    { name: 'input', gen: normal(1), length: c.n, shape: c.shape, grad: true },
    { name: 'target', gen: classes(6, C), length: N, shape: [N] },
  ];
};

module.exports = [
  {
    name: 'torch.crossEntropy',
    family: 'classification',
    bound: 'compute',
    cases: shapes([[16384, 1000], [8, 128000]]),
    inputs: logitsAndClasses,
    opts: (c) => ({ shape: c.shape }),
    // l_r = logsumexp(x_r) - x_r[y_r]; d/dx = (softmax(x_r) - onehot(y_r)) / N
    js: {
      forward([x, y], c) {
        const [N, C] = c.shape;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += C) {
          let m = -Infinity;
          for (let j = o; j < o + C; j++) if (x[j] > m) m = x[j];
          let s = 0;
          for (let j = o; j < o + C; j++) s += Math.exp(x[j] - m);
          total += m + Math.log(s) - x[o + y[r]];
        }
        return total / N;
      },
      withGrad([x, y], [g], c) {
        const [N, C] = c.shape;
        const k = 1 / N;
        let total = 0;
        for (let r = 0, o = 0; r < N; r++, o += C) {
          let m = -Infinity;
          for (let j = o; j < o + C; j++) if (x[j] > m) m = x[j];
          let s = 0;
          for (let j = o; j < o + C; j++) {
            const e = Math.exp(x[j] - m);
            g[j] = e;
            s += e;
          }
          total += m + Math.log(s) - x[o + y[r]];
          const ks = k / s;
          for (let j = o; j < o + C; j++) g[j] *= ks;
          g[o + y[r]] -= k;
        }
        return total / N;
      },
    },
    tfjs: {
      prepare: (tf, [x, y], c) => [x, tf.oneHot(y, c.shape[1]).toFloat()],
      loss: (tf, x, onehot) => tf.losses.softmaxCrossEntropy(onehot, x),
    },
    torch: 'F.cross_entropy',
  },
  {
    name: 'torch.binaryCrossEntropyWithLogits',
    family: 'classification',
    bound: 'compute',
    cases: sweep(),
    inputs: (c) => [
      { name: 'input', gen: normal(1), length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: uniform(7, 0, 1), length: c.n, shape: c.shape },
    ],
    // max(x, 0) - x y + log1p(exp(-|x|)); d/dx = (sigmoid(x) - y) / n
    js: {
      forward([x, y]) {
        let s = 0;
        for (let i = 0; i < x.length; i++) s += Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
        return s / x.length;
      },
      withGrad([x, y], [g]) {
        const n = x.length;
        const k = 1 / n;
        let s = 0;
        for (let i = 0; i < n; i++) {
          s += Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
          g[i] = k * (1 / (1 + Math.exp(-x[i])) - y[i]);
        }
        return s / n;
      },
    },
    tfjs: { loss: (tf, x, y) => tf.losses.sigmoidCrossEntropy(y, x) },
    torch: 'F.binary_cross_entropy_with_logits',
  },
];
