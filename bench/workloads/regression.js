'use strict';
// Regression losses: PyTorch element-wise (mean over all elements) and Keras per-sample
// (mean over the last axis, then over samples). Keras cases use shape [n / 100, 100].
const { sweep, normal, uniform } = require('./common');

const torchCases = sweep((n) => [n]);
const kerasCases = sweep((n) => [n / 100, 100]);

// torch (input, target); input differentiable
const torchPair = (a = normal(1), b = normal(2)) => (c) => [
  { name: 'input', gen: a, length: c.n, shape: c.shape, grad: true },
  { name: 'target', gen: b, length: c.n, shape: c.shape },
];
// keras (yTrue, yPred); yPred differentiable
const kerasPair = (t = normal(2), p = normal(1)) => (c) => [
  { name: 'yTrue', gen: t, length: c.n, shape: c.shape },
  { name: 'yPred', gen: p, length: c.n, shape: c.shape, grad: true },
];
const kerasOpts = (c) => ({ shape: c.shape });

const EPS = 1e-7; // keras.backend.epsilon()
const LOG2 = Math.LN2;

// Keras loops: rows = samples, cols = last axis.
function rowsCols(c) {
  const cols = c.shape[c.shape.length - 1];
  return [c.n / cols, cols];
}

// Smooth L1 with beta = 1 and Huber with delta = 1 are the same function: one plain loop for both.
const unitHuberJs = {
  forward([x, y]) {
    let s = 0;
    for (let i = 0; i < x.length; i++) {
      const d = x[i] - y[i];
      const z = Math.abs(d);
      s += z < 1 ? 0.5 * d * d : z - 0.5;
    }
    return s / x.length;
  },
  withGrad([x, y], [g]) {
    const n = x.length;
    const k = 1 / n;
    let s = 0;
    for (let i = 0; i < n; i++) {
      const d = x[i] - y[i];
      const z = Math.abs(d);
      s += z < 1 ? 0.5 * d * d : z - 0.5;
      g[i] = k * (d < -1 ? -1 : d > 1 ? 1 : d);
    }
    return s / n;
  },
};

module.exports = [
  {
    name: 'torch.mseLoss',
    family: 'regression',
    bound: 'memory',
    cases: torchCases,
    inputs: torchPair(),
    js: {
      forward([x, y]) {
        let s = 0;
        for (let i = 0; i < x.length; i++) {
          const d = x[i] - y[i];
          s += d * d;
        }
        return s / x.length;
      },
      withGrad([x, y], [g]) {
        const n = x.length;
        const k = 2 / n;
        let s = 0;
        for (let i = 0; i < n; i++) {
          const d = x[i] - y[i];
          s += d * d;
          g[i] = k * d;
        }
        return s / n;
      },
    },
    tfjs: { loss: (tf, x, y) => tf.losses.meanSquaredError(y, x) },
    torch: 'F.mse_loss',
  },
  {
    name: 'torch.l1Loss',
    family: 'regression',
    bound: 'memory',
    cases: torchCases,
    inputs: torchPair(),
    js: {
      forward([x, y]) {
        let s = 0;
        for (let i = 0; i < x.length; i++) s += Math.abs(x[i] - y[i]);
        return s / x.length;
      },
      withGrad([x, y], [g]) {
        const n = x.length;
        const k = 1 / n;
        let s = 0;
        for (let i = 0; i < n; i++) {
          const d = x[i] - y[i];
          s += Math.abs(d);
          g[i] = k * Math.sign(d);
        }
        return s / n;
      },
    },
    tfjs: { loss: (tf, x, y) => tf.losses.absoluteDifference(y, x) },
    torch: 'F.l1_loss',
  },
  {
    name: 'torch.smoothL1Loss',
    family: 'regression',
    bound: 'memory',
    cases: torchCases,
    inputs: torchPair(),
    // beta = 1 (default)
    js: unitHuberJs,
    // smooth L1 with beta = 1 is Huber with delta = 1
    tfjs: { loss: (tf, x, y) => tf.losses.huberLoss(y, x, undefined, 1) },
    torch: 'F.smooth_l1_loss',
  },
  {
    name: 'torch.huberLoss',
    family: 'regression',
    bound: 'memory',
    cases: torchCases,
    inputs: torchPair(),
    // delta = 1 (default)
    js: unitHuberJs,
    tfjs: { loss: (tf, x, y) => tf.losses.huberLoss(y, x, undefined, 1) },
    torch: 'F.huber_loss',
  },
  {
    name: 'keras.meanSquaredError',
    family: 'regression',
    bound: 'memory',
    cases: kerasCases,
    inputs: kerasPair(),
    opts: kerasOpts,
    js: {
      forward([t, p], c) {
        const [rows, cols] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const d = p[j] - t[j];
            s += d * d;
          }
          total += s / cols;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, cols] = rowsCols(c);
        const k = 2 / (rows * cols);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const d = p[j] - t[j];
            s += d * d;
            g[j] = k * d;
          }
          total += s / cols;
        }
        return total / rows;
      },
    },
    tfjs: { loss: (tf, t, p) => tf.mean(tf.metrics.meanSquaredError(t, p)) },
    torch: 'F.mse_loss',
  },
  {
    name: 'keras.meanAbsoluteError',
    family: 'regression',
    bound: 'memory',
    cases: kerasCases,
    inputs: kerasPair(),
    opts: kerasOpts,
    js: {
      forward([t, p], c) {
        const [rows, cols] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) s += Math.abs(p[j] - t[j]);
          total += s / cols;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, cols] = rowsCols(c);
        const k = 1 / (rows * cols);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const d = p[j] - t[j];
            s += Math.abs(d);
            g[j] = k * Math.sign(d);
          }
          total += s / cols;
        }
        return total / rows;
      },
    },
    tfjs: { loss: (tf, t, p) => tf.mean(tf.metrics.meanAbsoluteError(t, p)) },
    torch: 'F.l1_loss',
  },
  {
    name: 'keras.meanAbsolutePercentageError',
    family: 'regression',
    bound: 'memory',
    cases: kerasCases,
    // yTrue away from 0 (|yTrue| in [0.5, 2)), yPred normal
    inputs: kerasPair(uniform(3, 0.5, 2), normal(1)),
    opts: kerasOpts,
    js: {
      forward([t, p], c) {
        const [rows, cols] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) s += 100 * Math.abs((t[j] - p[j]) / Math.max(Math.abs(t[j]), EPS));
          total += s / cols;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, cols] = rowsCols(c);
        const k = 100 / (rows * cols);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const den = Math.max(Math.abs(t[j]), EPS);
            s += 100 * Math.abs((t[j] - p[j]) / den);
            g[j] = (k * Math.sign(p[j] - t[j])) / den;
          }
          total += s / cols;
        }
        return total / rows;
      },
    },
    tfjs: { loss: (tf, t, p) => tf.mean(tf.metrics.meanAbsolutePercentageError(t, p)) },
    torch: 'keras:mean_absolute_percentage_error',
  },
  {
    name: 'keras.meanSquaredLogarithmicError',
    family: 'regression',
    bound: 'compute',
    cases: kerasCases,
    // positive values: the log branch, not the clipped one
    inputs: kerasPair(uniform(4, 0, 2), uniform(5, 0, 2)),
    opts: kerasOpts,
    js: {
      forward([t, p], c) {
        const [rows, cols] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const d = Math.log1p(Math.max(p[j], EPS)) - Math.log1p(Math.max(t[j], EPS));
            s += d * d;
          }
          total += s / cols;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, cols] = rowsCols(c);
        const k = 2 / (rows * cols);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const d = Math.log1p(Math.max(p[j], EPS)) - Math.log1p(Math.max(t[j], EPS));
            s += d * d;
            g[j] = p[j] >= EPS ? (k * d) / (p[j] + 1) : 0;
          }
          total += s / cols;
        }
        return total / rows;
      },
    },
    // tfjs-layers' formula: log(clip(x, eps, max) + 1)
    tfjs: {
      loss(tf, t, p) {
        const lp = tf.log(tf.add(1, tf.clipByValue(p, EPS, Number.MAX_VALUE)));
        const lt = tf.log(tf.add(1, tf.clipByValue(t, EPS, Number.MAX_VALUE)));
        return tf.mean(tf.mean(tf.squaredDifference(lp, lt), -1));
      },
    },
    torch: 'keras:mean_squared_logarithmic_error',
  },
  {
    name: 'keras.huber',
    family: 'regression',
    bound: 'memory',
    cases: kerasCases,
    inputs: kerasPair(),
    opts: kerasOpts,
    // delta = 1 (default)
    js: {
      forward([t, p], c) {
        const [rows, cols] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const e = p[j] - t[j];
            const z = Math.abs(e);
            s += z <= 1 ? 0.5 * e * e : z - 0.5;
          }
          total += s / cols;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, cols] = rowsCols(c);
        const k = 1 / (rows * cols);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const e = p[j] - t[j];
            const z = Math.abs(e);
            s += z <= 1 ? 0.5 * e * e : z - 0.5;
            g[j] = k * (e < -1 ? -1 : e > 1 ? 1 : e);
          }
          total += s / cols;
        }
        return total / rows;
      },
    },
    tfjs: { loss: (tf, t, p) => tf.losses.huberLoss(t, p, undefined, 1) },
    torch: 'F.huber_loss',
  },
  {
    name: 'keras.logCosh',
    family: 'regression',
    bound: 'compute',
    cases: kerasCases,
    inputs: kerasPair(),
    opts: kerasOpts,
    // x + softplus(-2x) - log 2, the overflow-free log(cosh(x)) Keras uses; d/dx = tanh(x)
    js: {
      forward([t, p], c) {
        const [rows, cols] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const x = p[j] - t[j];
            s += x + Math.max(-2 * x, 0) + Math.log1p(Math.exp(-Math.abs(2 * x))) - LOG2;
          }
          total += s / cols;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, cols] = rowsCols(c);
        const k = 1 / (rows * cols);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += cols) {
          let s = 0;
          for (let j = o; j < o + cols; j++) {
            const x = p[j] - t[j];
            s += x + Math.max(-2 * x, 0) + Math.log1p(Math.exp(-Math.abs(2 * x))) - LOG2;
            g[j] = k * Math.tanh(x);
          }
          total += s / cols;
        }
        return total / rows;
      },
    },
    // tfjs-layers' logcosh: mean(x + softplus(-2x) - log 2, -1)
    tfjs: {
      loss(tf, t, p) {
        const x = tf.sub(p, t);
        return tf.mean(tf.mean(tf.sub(tf.add(x, tf.softplus(tf.mul(-2, x))), LOG2), -1));
      },
    },
    torch: 'keras:log_cosh',
  },
];
