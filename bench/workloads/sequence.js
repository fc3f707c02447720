'use strict';
// Sequence losses: CTC at speech/OCR sizes, PyTorch's CPU ctc_loss as the peer. Characters:
// T = 1000, N = 16, C = 32, targets of S = 100; subwords: T = 200, N = 32, C = 5000, S = 50.
const { logSoftmax, classes } = require('./common');

const CASES = [
  { label: 'chars T1000 N16 C32 S100', T: 1000, N: 16, C: 32, S: 100 },
  { label: 'subwords T200 N32 C5000 S50', T: 200, N: 32, C: 5000, S: 50 },
].map((c) => ({ ...c, n: c.T * c.N * c.C, shape: [c.T, c.N, c.C] }));

// The harness's own cases ([rows, cols]: bench.test's mini case, --busy) are one unbatched sequence
// [T, C] with targets of T / 4 (at most 50).
function geometry(c) {
  if (c.T) return c;
  const [T, C] = c.shape;
  return { ...c, T, N: 1, C, S: Math.max(1, Math.min(50, Math.floor(T / 4))) };
}

const lse = (a, b) => (a === -Infinity && b === -Infinity ? -Infinity : Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b))));

// One sequence in float64: alpha (and with g, beta and the gradient exp(lp) - posteriors, times k).
function ctcSequence(lp, tg, b, c, g, k) {
  const { T, N, C, S } = c;
  const L = 2 * S + 1;
  const label = (s) => (s % 2 ? tg[b * S + (s - 1) / 2] : 0);
  const at = (t, s) => lp[(t * N + b) * C + label(s)];
  const skip = (s) => s % 2 === 1 && s > 1 && label(s) !== label(s - 2);
  const alpha = [Array.from({ length: L }, (_, s) => (s < 2 ? at(0, s) : -Infinity))];
  for (let t = 1; t < T; t++) {
    const p = alpha[t - 1];
    alpha.push(Array.from({ length: L }, (_, s) => lse(lse(p[s], s > 0 ? p[s - 1] : -Infinity), skip(s) ? p[s - 2] : -Infinity) + at(t, s)));
  }
  const nll = -lse(alpha[T - 1][L - 1], alpha[T - 1][L - 2]);
  if (!g) return nll;
  let beta = Array.from({ length: L }, (_, s) => (s >= L - 2 ? at(T - 1, s) : -Infinity));
  for (let t = T - 1; t >= 0; t--) {
    if (t < T - 1) {
      const n = beta;
      beta = Array.from({ length: L }, (_, s) => lse(lse(n[s], s + 1 < L ? n[s + 1] : -Infinity), s + 2 < L && skip(s + 2) ? n[s + 2] : -Infinity) + at(t, s));
    }
    const row = (t * N + b) * C;
    for (let j = 0; j < C; j++) g[row + j] = Math.exp(lp[row + j]);
    for (let s = 0; s < L; s++) g[row + label(s)] -= Math.exp(alpha[t][s] + beta[s] + nll - at(t, s));
    for (let j = 0; j < C; j++) g[row + j] *= k;
  }
  return nll;
}

// 'mean': mean over the batch of nll / S (every target has length S here).
function ctcMean([lp, tg], cs, g) {
  const c = geometry(cs);
  let total = 0;
  for (let b = 0; b < c.N; b++) total += ctcSequence(lp, tg, b, c, g, 1 / (c.N * c.S)) / c.S;
  return total / c.N;
}

module.exports = [
  {
    name: 'torch.ctcLoss',
    family: 'sequence',
    bound: 'compute',
    cases: CASES,
    inputs: (cs) => {
      const c = geometry(cs);
      return [
        { name: 'logProbs', gen: logSoftmax(1, c.C), length: c.n, shape: c.shape, grad: true },
        { name: 'targets', gen: { ...classes(2, c.C - 1), offset: 1 }, length: c.N * c.S, shape: [c.N, c.S] },
        { name: 'inputLengths', gen: { ...classes(3, 1), offset: c.T }, length: c.N, shape: [c.N] },
        { name: 'targetLengths', gen: { ...classes(4, 1), offset: c.S }, length: c.N, shape: [c.N] },
      ];
    },
    opts: (c) => ({ shape: c.shape }),
    js: {
      forward: (args, c) => ctcMean(args, c, null),
      withGrad: (args, [g], c) => ctcMean(args, c, g),
    },
    tfjs: null,
    torch: 'F.ctc_loss',
  },
];
