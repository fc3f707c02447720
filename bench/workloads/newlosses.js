'use strict';
// The losses of issue 13 (all but CTC): Keras 3's categorical focal cross-entropy, dice, tversky,
// circle and generalized cross-entropy against plain-JS loops, PyTorch's
// triplet_margin_with_distance_loss against PyTorch.
const { sweep, softmax, onehot, uniform, bernoulli } = require('./common');

const EPS = 1e-7; // keras.backend.epsilon()
const ONE_MINUS_EPS = Math.fround(1 - EPS);
const kerasClip = (p) => (p < EPS ? EPS : p > ONE_MINUS_EPS ? ONE_MINUS_EPS : p);
const kerasPass = (p) => (p >= EPS && p <= ONE_MINUS_EPS ? 1 : 0);
const rowCases = sweep((n) => [n / 100, 100]);
const rowsCols = (c) => [c.n / c.shape[c.shape.length - 1], c.shape[c.shape.length - 1]];

// keras categorical focal, alpha 0.25, gamma 2, per row of probabilities p (q = clip(p / sum p)):
// l = sum_j alpha (1 - q_j)^2 (-y_j log q_j); v_j = dl/dq_j, d/dp_k = (v_k - sum_j v_j q_j) / sum p.
function focalRows(t, p, g, c) {
  const [rows, C] = rowsCols(c);
  const alpha = 0.25;
  let total = 0;
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    let s = 0;
    for (let j = o; j < o + C; j++) s += p[j];
    let vq = 0;
    for (let j = o; j < o + C; j++) {
      const q = p[j] / s;
      const x = kerasClip(q);
      const lg = Math.log(x);
      const om = 1 - x;
      total += alpha * om * om * -t[j] * lg;
      if (g) {
        const v = kerasPass(q) * alpha * t[j] * (2 * om * lg - (om * om) / x);
        g[j] = v;
        vq += v * q;
      }
    }
    if (g) for (let j = o; j < o + C; j++) g[j] = (g[j] - vq) / s / rows;
  }
  return total / rows;
}

// keras dice (alpha, beta null) or tversky per row (axis -1): sums I = y.p, P, T, then
// dice l = 1 - 2I / (T + P + eps), dl/dp = -2y / D + 2I / D^2; tversky l = 1 - I / den,
// den = I + alpha (P - I) + beta (T - I) + eps, dl/dp = -(den - I (1 - alpha - beta)) y / den^2 + alpha I / den^2.
function overlapRows(t, p, g, c, alpha, beta) {
  const [rows, C] = rowsCols(c);
  let total = 0;
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    let si = 0;
    let sp = 0;
    let st = 0;
    for (let j = o; j < o + C; j++) {
      si += t[j] * p[j];
      sp += p[j];
      st += t[j];
    }
    let c1;
    let c0;
    if (alpha === null) {
      const d = st + sp + EPS;
      total += 1 - (2 * si) / d;
      c1 = -2 / d;
      c0 = (2 * si) / (d * d);
    } else {
      const den = si + alpha * (sp - si) + beta * (st - si) + EPS;
      total += 1 - si / den;
      c1 = -(den - si * (1 - alpha - beta)) / (den * den);
      c0 = (alpha * si) / (den * den);
    }
    if (g) for (let j = o; j < o + C; j++) g[j] = (c1 * t[j] + c0) / rows;
  }
  return total / rows;
}

// Per-sample masks: rows of 1000 pixels, binary targets, probabilities in (0, 1).
const maskCases = sweep((n) => [n / 1000, 1000]);
const maskInputs = (c) => [
  { name: 'yTrue', gen: bernoulli(21), length: c.n, shape: c.shape },
  { name: 'yPred', gen: uniform(22, 0.001, 0.999), length: c.n, shape: c.shape, grad: true },
];

module.exports = [
  {
    name: 'keras.dice',
    family: 'overlap',
    bound: 'memory',
    cases: maskCases,
    inputs: maskInputs,
    opts: (c) => ({ shape: c.shape, axis: -1 }),
    js: {
      forward: ([t, p], c) => overlapRows(t, p, null, c, null, null),
      withGrad: ([t, p], [g], c) => overlapRows(t, p, g, c, null, null),
    },
    tfjs: null,
    torch: null,
  },
  {
    name: 'keras.tversky',
    family: 'overlap',
    bound: 'memory',
    cases: maskCases,
    inputs: maskInputs,
    opts: (c) => ({ shape: c.shape, axis: -1, alpha: 0.3, beta: 0.7 }),
    js: {
      forward: ([t, p], c) => overlapRows(t, p, null, c, 0.3, 0.7),
      withGrad: ([t, p], [g], c) => overlapRows(t, p, g, c, 0.3, 0.7),
    },
    tfjs: null,
    torch: null,
  },
  {
    name: 'keras.categoricalFocalCrossentropy',
    family: 'classification',
    bound: 'compute',
    cases: rowCases,
    inputs: (c) => [
      { name: 'yTrue', gen: onehot(15, c.shape[1]), length: c.n, shape: c.shape },
      { name: 'yPred', gen: softmax(16, c.shape[1]), length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape }),
    js: {
      forward: ([t, p], c) => focalRows(t, p, null, c),
      withGrad: ([t, p], [g], c) => focalRows(t, p, g, c),
    },
    tfjs: null,
    torch: null,
  },
];
