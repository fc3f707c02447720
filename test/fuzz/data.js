// The fuzz specs' data (test/fuzz/specs.js builds arrays from it): seeded values by role (probabilities,
// +-1, 0/1 labels, counts, variances, weights, else uniform in [-3, 3) or, in 'wide' mode, any
// magnitude), with special values (NaN, +-Inf, denormals, +-3e38) at c.specialRate and bad labels
// when c.badLabels. { seed, specialRate: 0, badLabels: false } gives plain valid data.
'use strict';
const { seededRandom } = require('../helpers/random');

const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1e-40, -1e-40, 1.4e-45, 3e38, -3e38, 1e-7, 1 - 1e-7, 1, -1, 0.5];

function makeData(c) {
  const next = seededRandom(c.seed >>> 0 || 1);
  const value = (role) => {
    switch (role) {
      case 'prob': return next();
      case 'pm1': return next() < 0.5 ? -1 : 1;
      case 'label01': return next() < 0.5 ? 0 : 1;
      case 'count': return Math.floor(next() * 5);
      case 'var': return next() * 2 + 0.01;
      case 'w': return next() * 2;
      default:
        if (c.mode === 'wide') return (next() < 0.5 ? -1 : 1) * 10 ** (next() * 76 - 38);
        return next() * 6 - 3;
    }
  };
  const labelRole = (role) => role === 'pm1' || role === 'label01' || role === 'count' || role === 'prob' || role === 'var';
  return {
    coin: (p) => next() < p,
    f32(n, role) {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = value(role);
      // Specials everywhere for plain values; in labels only when the case asks for bad labels.
      const rate = labelRole(role) ? (c.badLabels ? c.specialRate : 0) : c.specialRate;
      if (rate > 0) for (let i = 0; i < n; i++) if (next() < rate) a[i] = SPECIALS[Math.floor(next() * SPECIALS.length)];
      return a;
    },
    idx(n, C) {
      const a = new Int32Array(n);
      for (let i = 0; i < n; i++) a[i] = Math.floor(next() * C);
      if (c.badLabels) for (let i = 0; i < n; i++) if (next() < 0.05) a[i] = [C, -1, -100, 1 << 30, -(2 ** 31)][Math.floor(next() * 5)];
      return a;
    },
    multilabel(n, C) {
      const a = new Int32Array(n).fill(-1);
      if (C === 0) return a;
      // The loss costs targets x C per row (as in PyTorch): long rows get at most 64 targets, so a
      // [2, 40000] case takes milliseconds, not minutes, on the baseline level.
      const most = C > 4096 ? 64 : C;
      for (let r = 0; r < n / C; r++) {
        const k = Math.floor(next() * (most + 1));
        for (let j = 0; j < k; j++) a[r * C + j] = Math.floor(next() * C);
      }
      if (c.badLabels) for (let i = 0; i < n; i++) if (next() < 0.05) a[i] = [C, -2, 1 << 30][Math.floor(next() * 3)];
      return a;
    },
  };
}

module.exports = { makeData, SPECIALS };
