// Quick throughput check of the margin family's benchmark workloads against plain JS loops.
//   node bench/margin.js [threads]      (build first: node scripts/ensure-built.js)
// Figures: M elements/s of one [N, D] input (N * D / time), best of several runs.
'use strict';
const fl = require('../dist');
const { torch } = fl;

const threads = Number(process.argv[2] || 2);
fl.setNumThreads(threads);

function randn(n, seed) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

function time(fn, reps) {
  fn();
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return best;
}

// ---- plain JS references (float64 arithmetic, PyTorch formulas, mean reduction)
function jsCosine(a, b, t, N, D, ga, gb) {
  let total = 0;
  for (let r = 0; r < N; r++) {
    const o = r * D;
    let dot = 0, aa = 0, bb = 0;
    for (let j = 0; j < D; j++) { const x = a[o + j], y = b[o + j]; dot += x * y; aa += x * x; bb += y * y; }
    const m1 = aa + 1e-12, m2 = bb + 1e-12, den = Math.sqrt(m1 * m2), cos = dot / den;
    const pos = t[r] === 1;
    total += pos ? 1 - cos : Math.max(0, cos);
    if (ga) {
      const c = (pos ? -1 : (cos >= 0 ? 1 : 0)) / N;
      const kb = c / den, k1 = c * cos / m1, k2 = c * cos / m2;
      for (let j = 0; j < D; j++) {
        ga[o + j] = kb * b[o + j] - k1 * a[o + j];
        gb[o + j] = kb * a[o + j] - k2 * b[o + j];
      }
    }
  }
  return total / N;
}

function jsTriplet(a, p, n, N, D, ga, gp, gn) {
  const eps = 1e-6;
  let total = 0;
  for (let r = 0; r < N; r++) {
    const o = r * D;
    let sp = 0, sn = 0;
    for (let j = 0; j < D; j++) {
      const u = a[o + j] - p[o + j] + eps, v = a[o + j] - n[o + j] + eps;
      sp += u * u; sn += v * v;
    }
    const dp = Math.sqrt(sp), dn = Math.sqrt(sn), l = 1 + dp - dn;
    total += Math.max(0, l);
    if (ga) {
      const g = l >= 0 ? 1 / N : 0, kp = dp > 0 ? g / dp : 0, kn = dn > 0 ? g / dn : 0;
      for (let j = 0; j < D; j++) {
        const u = (a[o + j] - p[o + j] + eps) * kp, v = (a[o + j] - n[o + j] + eps) * kn;
        ga[o + j] = u - v; gp[o + j] = -u; gn[o + j] = v;
      }
    }
  }
  return total / N;
}

function jsMultiMargin(x, y, N, C, g) {
  let total = 0;
  for (let r = 0; r < N; r++) {
    const o = r * C, t = y[r], xy = x[o + t];
    let acc = 0, gs = 0;
    for (let j = 0; j < C; j++) {
      const z = 1 - xy + x[o + j];
      const on = z > 0 && j !== t;
      if (on) acc += z;
      if (g) { g[o + j] = on ? 1 / (C * N) : 0; if (on) gs += 1 / (C * N); }
    }
    if (g) g[o + t] = -gs;
    total += acc / C;
  }
  return total / N;
}

function report(name, elems, native, js) {
  const f = (t) => (elems / t / 1e6).toFixed(0).padStart(6);
  console.log(`${name.padEnd(34)} native ${f(native)} M elem/s (${(native * 1e3).toFixed(1).padStart(6)} ms)   ` +
              `plain JS ${f(js)} M elem/s (${(js * 1e3).toFixed(1).padStart(7)} ms)   x${(js / native).toFixed(1)}`);
}

console.log(`fastloss ${JSON.stringify(fl.info())}, ${threads} thread(s)`);
{
  const N = 65536, D = 256, n = N * D;
  const a = randn(n, 1), b = randn(n, 2), c = randn(n, 3);
  const t = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? -1 : 1));
  const ga = new Float32Array(n), gb = new Float32Array(n), gc = new Float32Array(n);
  const opts = { shape: [N, D] };
  const out = { grad: { input1: ga, input2: gb } };
  const reps = 12;
  report('cosineEmbeddingLoss fwd [65536,256]', n, time(() => torch.cosineEmbeddingLoss(a, b, t, opts), reps),
         time(() => jsCosine(a, b, t, N, D), 2));
  report('cosineEmbeddingLoss withGrad', n, time(() => torch.cosineEmbeddingLoss.withGrad(a, b, t, { ...opts, out }), reps),
         time(() => jsCosine(a, b, t, N, D, ga, gb), 2));
  const tout = { grad: { anchor: ga, positive: gb, negative: gc } };
  report('tripletMarginLoss fwd [65536,256]', n, time(() => torch.tripletMarginLoss(a, b, c, opts), reps),
         time(() => jsTriplet(a, b, c, N, D), 2));
  report('tripletMarginLoss withGrad', n, time(() => torch.tripletMarginLoss.withGrad(a, b, c, { ...opts, out: tout }), reps),
         time(() => jsTriplet(a, b, c, N, D, ga, gb, gc), 2));
}
{
  const N = 16384, C = 1000, n = N * C;
  const x = randn(n, 4);
  const y = Int32Array.from({ length: N }, (_, i) => (i * 7919) % C);
  const g = new Float32Array(n);
  const opts = { shape: [N, C] };
  report('multiMarginLoss fwd [16384,1000]', n, time(() => torch.multiMarginLoss(x, y, opts), 12),
         time(() => jsMultiMargin(x, y, N, C), 2));
  report('multiMarginLoss withGrad', n, time(() => torch.multiMarginLoss.withGrad(x, y, { ...opts, out: { grad: g } }), 12),
         time(() => jsMultiMargin(x, y, N, C, g), 2));
}
