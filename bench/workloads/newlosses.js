'use strict';
// The losses of issue 13 (all but CTC): Keras 3's categorical focal cross-entropy, dice, tversky,
// circle and generalized cross-entropy against plain-JS loops, PyTorch's
// triplet_margin_with_distance_loss against PyTorch.
const { sweep, softmax, onehot } = require('./common');

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

module.exports = [
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
