'use strict';
// Classification and probabilistic losses: PyTorch (cross entropy over rows of logits, BCE on
// probabilities and with logits, KL divergence, Poisson NLL, torchvision's sigmoid focal loss)
// and Keras (binary and categorical crossentropy, per sample over rows of 100).
// Until fastloss has them, run.js skips these with a note (or runs the other columns with
// --include-missing).
const { sweep, shapes, normal, uniform, classes, bernoulli, poisson, softmax, logSoftmax, onehot } = require('./common');

const torchCases = sweep((n) => [n]);
const rowCases = sweep((n) => [n / 100, 100]);
const EPS = 1e-7; // keras.backend.epsilon()
const ONE_MINUS_EPS = Math.fround(1 - EPS); // 1 - epsilon in float32, as TF clips
const kerasClip = (p) => (p < EPS ? EPS : p > ONE_MINUS_EPS ? ONE_MINUS_EPS : p);
const kerasPass = (p) => (p >= EPS && p <= ONE_MINUS_EPS ? 1 : 0);
const cols = (c) => c.shape[c.shape.length - 1];
const rowsCols = (c) => [c.n / cols(c), cols(c)];

// Probabilities strictly inside (0, 1), as a sigmoid output gives them; binary 0/1 labels.
const PROBS = uniform(10, 0.001, 0.999);
const LABELS = bernoulli(11);

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
  {
    name: 'torch.binaryCrossEntropy',
    family: 'classification',
    bound: 'compute',
    cases: torchCases,
    inputs: (c) => [
      { name: 'input', gen: PROBS, length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: LABELS, length: c.n, shape: c.shape },
    ],
    // -(y max(log x, -100) + (1 - y) max(log(1 - x), -100)); d/dx = (x - y) / max((1 - x) x, 1e-12) / n
    js: {
      forward([x, y]) {
        let s = 0;
        for (let i = 0; i < x.length; i++)
          s -= y[i] * Math.max(Math.log(x[i]), -100) + (1 - y[i]) * Math.max(Math.log(1 - x[i]), -100);
        return s / x.length;
      },
      withGrad([x, y], [g]) {
        const n = x.length;
        const k = 1 / n;
        let s = 0;
        for (let i = 0; i < n; i++) {
          s -= y[i] * Math.max(Math.log(x[i]), -100) + (1 - y[i]) * Math.max(Math.log(1 - x[i]), -100);
          g[i] = (k * (x[i] - y[i])) / Math.max((1 - x[i]) * x[i], 1e-12);
        }
        return s / n;
      },
    },
    // tf.losses.logLoss: -(y log(p + 1e-7) + (1 - y) log(1 - p + 1e-7)), mean
    tfjs: { loss: (tf, x, y) => tf.losses.logLoss(y, x) },
    torch: 'F.binary_cross_entropy',
  },
  {
    // Distillation-style: log_softmax input, softmax target, rows of 100; reduction 'batchmean'
    // (sum / rows), which PyTorch's docs recommend over 'mean' (the true KL per sample).
    name: 'torch.klDiv',
    family: 'classification',
    bound: 'compute',
    cases: rowCases,
    inputs: (c) => [
      { name: 'input', gen: logSoftmax(14, cols(c)), length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: softmax(13, cols(c)), length: c.n, shape: c.shape },
    ],
    opts: (c) => ({ shape: c.shape, reduction: 'batchmean' }),
    // sum (y log y - y x) / rows (0 where y == 0, xlogy); d/dx = -y / rows
    js: {
      forward([x, y], c) {
        let s = 0;
        for (let i = 0; i < x.length; i++) s += (y[i] === 0 ? 0 : y[i] * Math.log(y[i])) - y[i] * x[i];
        return s / c.shape[0];
      },
      withGrad([x, y], [g], c) {
        const k = 1 / c.shape[0];
        let s = 0;
        for (let i = 0; i < x.length; i++) {
          s += (y[i] === 0 ? 0 : y[i] * Math.log(y[i])) - y[i] * x[i];
          g[i] = -k * y[i];
        }
        return s * k;
      },
    },
    tfjs: {
      loss: (tf, x, y) => tf.div(tf.sum(tf.mul(y, tf.sub(tf.log(y), x))), x.shape[0]),
    },
    torch: 'F.kl_div:batchmean',
  },
  {
    name: 'torch.poissonNllLoss',
    family: 'classification',
    bound: 'compute',
    cases: torchCases,
    // log-rates N(0, 1), counts ~ Poisson(2); logInput true, full false (the defaults)
    inputs: (c) => [
      { name: 'input', gen: normal(1), length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: poisson(12, 2), length: c.n, shape: c.shape },
    ],
    // exp(x) - y x; d/dx = (exp(x) - y) / n
    js: {
      forward([x, y]) {
        let s = 0;
        for (let i = 0; i < x.length; i++) s += Math.exp(x[i]) - y[i] * x[i];
        return s / x.length;
      },
      withGrad([x, y], [g]) {
        const n = x.length;
        const k = 1 / n;
        let s = 0;
        for (let i = 0; i < n; i++) {
          const e = Math.exp(x[i]);
          s += e - y[i] * x[i];
          g[i] = k * (e - y[i]);
        }
        return s / n;
      },
    },
    tfjs: { loss: (tf, x, y) => tf.mean(tf.sub(tf.exp(x), tf.mul(y, x))) },
    torch: 'F.poisson_nll_loss',
  },
  {
    // torchvision.ops.sigmoid_focal_loss(alpha=0.25, gamma=2) on logits and 0/1 labels, with
    // reduction 'mean' (torchvision's and fastloss's default is 'none').
    name: 'torch.sigmoidFocalLoss',
    family: 'classification',
    bound: 'compute',
    cases: torchCases,
    inputs: (c) => [
      { name: 'input', gen: normal(1), length: c.n, shape: c.shape, grad: true },
      { name: 'target', gen: LABELS, length: c.n, shape: c.shape },
    ],
    opts: () => ({ reduction: 'mean' }),
    // ce = max(x, 0) - x y + log1p(exp(-|x|)), p = sigmoid(x), m = 1 - p_t = p (1 - y) + (1 - p) y,
    // a_t = 0.25 y + 0.75 (1 - y): a_t ce m^2; d/dx = a_t (m^2 (p - y) + 2 m (1 - 2y) p (1 - p) ce) / n
    js: {
      forward([x, y]) {
        let s = 0;
        for (let i = 0; i < x.length; i++) {
          const ce = Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
          const p = 1 / (1 + Math.exp(-x[i]));
          const m = p * (1 - y[i]) + (1 - p) * y[i];
          s += (0.25 * y[i] + 0.75 * (1 - y[i])) * ce * m * m;
        }
        return s / x.length;
      },
      withGrad([x, y], [g]) {
        const n = x.length;
        const k = 1 / n;
        let s = 0;
        for (let i = 0; i < n; i++) {
          const ce = Math.max(x[i], 0) - x[i] * y[i] + Math.log1p(Math.exp(-Math.abs(x[i])));
          const p = 1 / (1 + Math.exp(-x[i]));
          const m = p * (1 - y[i]) + (1 - p) * y[i];
          const at = 0.25 * y[i] + 0.75 * (1 - y[i]);
          s += at * ce * m * m;
          g[i] = k * at * (m * m * (p - y[i]) + 2 * m * (1 - 2 * y[i]) * p * (1 - p) * ce);
        }
        return s / n;
      },
    },
    // torchvision's formula in tfjs ops
    tfjs: {
      loss(tf, x, y) {
        const p = tf.sigmoid(x);
        const ce = tf.losses.sigmoidCrossEntropy(y, x, undefined, 0, tf.Reduction.NONE);
        const pt = tf.add(tf.mul(p, y), tf.mul(tf.sub(1, p), tf.sub(1, y)));
        const at = tf.add(tf.mul(0.25, y), tf.mul(0.75, tf.sub(1, y)));
        return tf.mean(tf.mul(at, tf.mul(ce, tf.square(tf.sub(1, pt)))));
      },
    },
    torch: 'torchvision:sigmoid_focal_loss:mean',
  },
  {
    name: 'keras.binaryCrossentropy',
    family: 'classification',
    bound: 'compute',
    cases: rowCases,
    inputs: (c) => [
      { name: 'yTrue', gen: LABELS, length: c.n, shape: c.shape },
      { name: 'yPred', gen: PROBS, length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape }),
    // per sample: mean over the row of -(y log(q + eps) + (1 - y) log(1 - q + eps)), q = clip(p, eps, 1 - eps);
    // d/dp = [eps <= p <= 1 - eps] ((1 - y) / (1 - q + eps) - y / (q + eps)) / (rows cols)
    js: {
      forward([t, p], c) {
        const [rows, C] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += C) {
          let s = 0;
          for (let j = o; j < o + C; j++) {
            const q = kerasClip(p[j]);
            s -= t[j] * Math.log(q + EPS) + (1 - t[j]) * Math.log(1 - q + EPS);
          }
          total += s / C;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, C] = rowsCols(c);
        const k = 1 / (rows * C);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += C) {
          let s = 0;
          for (let j = o; j < o + C; j++) {
            const q = kerasClip(p[j]);
            s -= t[j] * Math.log(q + EPS) + (1 - t[j]) * Math.log(1 - q + EPS);
            g[j] = k * kerasPass(p[j]) * ((1 - t[j]) / (1 - q + EPS) - t[j] / (q + EPS));
          }
          total += s / C;
        }
        return total / rows;
      },
    },
    tfjs: { loss: (tf, t, p) => tf.mean(tf.metrics.binaryCrossentropy(t, p)) },
    torch: 'keras:binary_crossentropy',
  },
  {
    // The same loss with fromLogits: true (the usual Keras setup without a final sigmoid).
    name: 'keras.binaryCrossentropy',
    family: 'classification',
    bound: 'compute',
    cases: rowCases.map((c) => ({ ...c, label: `${c.label} logits` })),
    inputs: (c) => [
      { name: 'yTrue', gen: LABELS, length: c.n, shape: c.shape },
      { name: 'yPred', gen: normal(1), length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape, fromLogits: true }),
    // per sample: mean over the row of max(x, 0) - x y + log1p(exp(-|x|)); d/dx = (sigmoid(x) - y) / (rows cols)
    js: {
      forward([t, x], c) {
        const [rows, C] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += C) {
          let s = 0;
          for (let j = o; j < o + C; j++) s += Math.max(x[j], 0) - x[j] * t[j] + Math.log1p(Math.exp(-Math.abs(x[j])));
          total += s / C;
        }
        return total / rows;
      },
      withGrad([t, x], [g], c) {
        const [rows, C] = rowsCols(c);
        const k = 1 / (rows * C);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += C) {
          let s = 0;
          for (let j = o; j < o + C; j++) {
            s += Math.max(x[j], 0) - x[j] * t[j] + Math.log1p(Math.exp(-Math.abs(x[j])));
            g[j] = k * (1 / (1 + Math.exp(-x[j])) - t[j]);
          }
          total += s / C;
        }
        return total / rows;
      },
    },
    // rows of equal length: the mean of the per-sample means is the mean over all elements
    tfjs: { loss: (tf, t, x) => tf.losses.sigmoidCrossEntropy(t, x) },
    torch: 'keras:binary_crossentropy_from_logits',
  },
  {
    // Softmax outputs (probabilities) against one-hot labels, 100 classes per sample.
    name: 'keras.categoricalCrossentropy',
    family: 'classification',
    bound: 'compute',
    cases: rowCases,
    inputs: (c) => [
      { name: 'yTrue', gen: onehot(15, cols(c)), length: c.n, shape: c.shape },
      { name: 'yPred', gen: softmax(16, cols(c)), length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape }),
    // per sample, s = sum p, q = clip(p / s, eps, 1 - eps): -sum y log q;
    // u_j = -[pass] y_j / q_j, d/dp_k = (u_k - sum_j u_j (p_j / s)) / s / rows
    js: {
      forward([t, p], c) {
        const [rows, C] = rowsCols(c);
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += C) {
          let sp = 0;
          for (let j = o; j < o + C; j++) sp += p[j];
          let s = 0;
          for (let j = o; j < o + C; j++) s -= t[j] * Math.log(kerasClip(p[j] / sp));
          total += s;
        }
        return total / rows;
      },
      withGrad([t, p], [g], c) {
        const [rows, C] = rowsCols(c);
        const k = 1 / rows;
        let total = 0;
        for (let r = 0, o = 0; r < rows; r++, o += C) {
          let sp = 0;
          for (let j = o; j < o + C; j++) sp += p[j];
          let s = 0;
          let uq = 0;
          for (let j = o; j < o + C; j++) {
            const q = p[j] / sp;
            const cq = kerasClip(q);
            s -= t[j] * Math.log(cq);
            const u = -kerasPass(q) * t[j] / cq;
            g[j] = u;
            uq += u * q;
          }
          total += s;
          const ks = k / sp;
          for (let j = o; j < o + C; j++) g[j] = ks * (g[j] - uq);
        }
        return total / rows;
      },
    },
    tfjs: { loss: (tf, t, p) => tf.mean(tf.metrics.categoricalCrossentropy(t, p)) },
    torch: 'keras:categorical_crossentropy',
  },
];
