'use strict';
// The losses of issue 13 (all but CTC): Keras 3's categorical focal cross-entropy, dice, tversky,
// circle and generalized cross-entropy against plain-JS loops, PyTorch's
// triplet_margin_with_distance_loss against PyTorch.
const { sweep, shapes, normal, softmax, onehot, uniform, bernoulli, classes } = require('./common');

const TRIPLET = require('./margin').find((w) => w.name === 'torch.tripletMarginLoss');

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

// torch triplet with cosine distance, margin 1, no swap, mean over rows:
// l = max(1 + (1 - cos(a, p)) - (1 - cos(a, n)), 0), cos(x, y) = x.y / (|x| |y|),
// d(1 - cos(x, y))/dx = -y / (|x||y|) + cos x / |x|^2.
function cosineTripletRows([a, p, n], grads, c) {
  const [N, D] = c.shape;
  let total = 0;
  for (let r = 0, o = 0; r < N; r++, o += D) {
    let aa = 0;
    let pp = 0;
    let nn = 0;
    let ap = 0;
    let an = 0;
    for (let j = o; j < o + D; j++) {
      aa += a[j] * a[j];
      pp += p[j] * p[j];
      nn += n[j] * n[j];
      ap += a[j] * p[j];
      an += a[j] * n[j];
    }
    const na = Math.sqrt(Math.max(aa, 1e-16));
    const np = Math.sqrt(Math.max(pp, 1e-16));
    const nn2 = Math.sqrt(Math.max(nn, 1e-16));
    const cap = ap / (na * np);
    const can = an / (na * nn2);
    const l = 1 + (1 - cap) - (1 - can);
    if (l > 0) total += l;
    if (!grads) continue;
    const [ga, gp, gn] = grads;
    const k = l >= 0 ? 1 / N : 0;
    for (let j = o; j < o + D; j++) {
      ga[j] = k * ((cap - can) / (na * na) * a[j] - p[j] / (na * np) + n[j] / (na * nn2));
      gp[j] = k * (-a[j] / (na * np) + (cap / (np * np)) * p[j]);
      gn[j] = k * (a[j] / (na * nn2) - (can / (nn2 * nn2)) * n[j]);
    }
  }
  return total / N;
}

// keras generalized cross-entropy, q = 0.5, per row: l = (1 - p_y^q) / q, dl/dp_y = -p_y^(q - 1).
function gceRows([y, p], grads, c) {
  const [rows, C] = rowsCols(c);
  let total = 0;
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    const py = p[o + y[r]];
    total += (1 - Math.sqrt(py)) / 0.5;
    if (grads) {
      grads[0].fill(0, o, o + C);
      grads[0][o + y[r]] = -1 / Math.sqrt(py) / rows;
    }
  }
  return total / rows;
}

// keras circle, gamma 80, margin 0.4, diagonal removed, mean over the rows with a loss > 0:
// pair term t(s) (positive or negative, see binding/kernels/metric.cpp) and dt/ds; per row
// l = softplus(lse_pos + lse_neg); dL/de_k = sum_j (c_k G_kj + c_j G_jk) e_j.
function circleTerm(s, positive) {
  const m = 0.4;
  const g = 80;
  const dist = Math.max(1 - s, 0);
  const dd = 1 - s > 0 ? -1 : 0;
  if (positive) {
    const w = Math.max(m + dist, 0);
    return [-g * w * (m - dist), -g * ((m + dist > 0 ? 1 : 0) * (m - dist) - w) * dd];
  }
  const w = Math.max(1 + m - dist, 0);
  return [g * w * (1 - m - dist), g * (-(1 + m - dist > 0 ? 1 : 0) * (1 - m - dist) - w) * dd];
}
function circleRows([y, e], grads, c) {
  const [N, D] = c.shape;
  const dot = (i, j) => {
    let s = 0;
    for (let d = 0; d < D; d++) s += e[i * D + d] * e[j * D + d];
    return s;
  };
  const lse = (xs) => {
    if (xs.length === 0) return -Infinity;
    const mx = Math.max(...xs);
    return mx + Math.log(xs.reduce((a, x) => a + Math.exp(x - mx), 0));
  };
  const stats = [];
  for (let i = 0; i < N; i++) {
    const pos = [];
    const neg = [];
    for (let j = 0; j < N; j++) {
      if (j === i) continue;
      const [t] = circleTerm(dot(i, j), y[i] === y[j]);
      (y[i] === y[j] ? pos : neg).push(t);
    }
    const lp = lse(pos);
    const ln = lse(neg);
    const z = lp + ln;
    const loss = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    stats.push({ lp, ln, loss, sig: 1 / (1 + Math.exp(-z)) });
  }
  const kept = stats.filter((r) => Math.fround(r.loss) > 0).length;
  const cw = stats.map((r) => (Math.fround(r.loss) > 0 ? 1 / kept : 0));
  const total = stats.reduce((a, r, i) => a + r.loss * cw[i], 0);
  if (grads) {
    const g = grads[0];
    for (let k = 0; k < N; k++) {
      for (let d = 0; d < D; d++) g[k * D + d] = 0;
      for (let j = 0; j < N; j++) {
        if (j === k) continue;
        const positive = y[k] === y[j];
        const [t, dt] = circleTerm(dot(k, j), positive);
        const part = (r, w) => (w * r.sig === 0 ? 0 : w * r.sig * Math.exp(t - (positive ? r.lp : r.ln)) * dt);
        const coef = part(stats[k], cw[k]) + part(stats[j], cw[j]);
        for (let d = 0; d < D; d++) g[k * D + d] += coef * e[j * D + d];
      }
    }
  }
  return total;
}

module.exports = [
  {
    name: 'keras.circle',
    family: 'metric',
    bound: 'compute',
    cases: shapes([[256, 64], [1024, 128]]),
    inputs: (c) => [
      { name: 'yTrue', gen: classes(19, 16), length: c.shape[0], shape: [c.shape[0]] },
      { name: 'yPred', gen: normal(20, { std: 0.125 }), length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape }),
    js: {
      forward: (args, c) => circleRows(args, null, c),
      withGrad: (args, grads, c) => circleRows(args, grads, c),
    },
    tfjs: null,
    torch: null,
  },
  {
    name: 'keras.categoricalGeneralizedCrossEntropy',
    family: 'classification',
    bound: 'memory',
    cases: rowCases,
    inputs: (c) => [
      { name: 'yTrue', gen: classes(17, c.shape[1]), length: c.n / c.shape[1], shape: [c.n / c.shape[1]] },
      { name: 'yPred', gen: softmax(18, c.shape[1]), length: c.n, shape: c.shape, grad: true },
    ],
    opts: (c) => ({ shape: c.shape }),
    js: {
      forward: (args, c) => gceRows(args, null, c),
      withGrad: (args, grads, c) => gceRows(args, grads, c),
    },
    tfjs: null,
    torch: null,
  },
  {
    // The triplet inputs and sizes of torch.tripletMarginLoss's workload, with the cosine distance.
    ...TRIPLET,
    name: 'torch.tripletMarginWithDistanceLoss',
    family: 'metric',
    opts: (c) => ({ shape: c.shape, distanceFunction: 'cosine' }),
    js: {
      forward: (args, c) => cosineTripletRows(args, null, c),
      withGrad: (args, grads, c) => cosineTripletRows(args, grads, c),
    },
    tfjs: null,
    torch: 'F.triplet_margin_with_distance_loss:cosine',
  },
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
