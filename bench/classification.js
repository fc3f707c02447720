// Quick throughput check for the classification family (not a test):
//   node bench/classification.js
// Reports M elements/s for forward and withGrad, fastloss (all threads) vs a plain JS loop.
'use strict';
const { torch, info, setNumThreads, getNumThreads } = require('../dist');

// Best of several ~100 ms batches (ms per call): robust to other work on a shared machine.
function timeIt(fn, totalMs = 600) {
  fn();
  let best = Infinity;
  const end = Date.now() + totalMs;
  do {
    let reps = 0;
    const t0 = process.hrtime.bigint();
    let el = 0;
    do {
      fn();
      reps++;
      el = Number(process.hrtime.bigint() - t0) / 1e6;
    } while (el < 100);
    best = Math.min(best, el / reps);
  } while (Date.now() < end);
  return best;
}

function rand(n, scale) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (Math.random() * 2 - 1) * scale;
  return a;
}

// Plain JS: cross-entropy with class indices, mean, optional gradient (softmax - onehot) / N.
function jsCrossEntropy(x, t, N, C, g) {
  let total = 0;
  for (let r = 0; r < N; r++) {
    const o = r * C;
    let m = -Infinity;
    for (let c = 0; c < C; c++) if (x[o + c] > m) m = x[o + c];
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x[o + c] - m);
    const ls = Math.log(s);
    total += ls + m - x[o + t[r]];
    if (g) {
      const k = 1 / (s * N);
      for (let c = 0; c < C; c++) g[o + c] = Math.exp(x[o + c] - m) * k;
      g[o + t[r]] -= 1 / N;
    }
  }
  return total / N;
}

function jsBceLogits(x, y, g) {
  const n = x.length;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const v = x[i];
    const e = Math.exp(-Math.abs(v));
    total += (1 - y[i]) * v + Math.max(-v, 0) + Math.log1p(e);
    if (g) g[i] = ((v >= 0 ? 1 : e) / (1 + e) - y[i]) / n;
  }
  return total / n;
}

const rows = [];
const maxThreads = getNumThreads();
function report(name, n, f, fg, jf, jfg) {
  const js = `plain JS fwd ${(n / timeIt(jf, 300) / 1e3).toFixed(0).padStart(5)} M/s  fwd+grad ${(n / timeIt(jfg, 300) / 1e3).toFixed(0).padStart(5)} M/s`;
  for (let th = 1; th <= maxThreads; th++) {
    setNumThreads(th);
    const r = { name, threads: th, fwd: n / timeIt(f) / 1e3, fwdGrad: n / timeIt(fg) / 1e3 };
    rows.push(r);
    console.log(`${name.padEnd(40)} ${th} thr: fwd ${r.fwd.toFixed(0).padStart(6)} M/s  withGrad ${r.fwdGrad.toFixed(0).padStart(6)} M/s  | ${js}`);
  }
  setNumThreads(maxThreads);
}

console.log(info());
for (const [N, C] of [[16384, 1000], [8, 128000]]) {
  const n = N * C;
  const x = rand(n, 4);
  const t = new Int32Array(N).map(() => Math.floor(Math.random() * C));
  const gbuf = new Float32Array(n);
  const jg = new Float32Array(n);
  const opts = { shape: [N, C] };
  const gopts = { shape: [N, C], out: { grad: gbuf } };
  report(`torch.crossEntropy [${N}, ${C}]`, n,
    () => torch.crossEntropy(x, t, opts),
    () => torch.crossEntropy.withGrad(x, t, gopts),
    () => jsCrossEntropy(x, t, N, C, null),
    () => jsCrossEntropy(x, t, N, C, jg));
}
{
  const n = 1e7;
  const x = rand(n, 6);
  const y = rand(n, 0.5).map((v) => v + 0.5);
  const gbuf = new Float32Array(n);
  const jg = new Float32Array(n);
  report('torch.binaryCrossEntropyWithLogits 1e7', n,
    () => torch.binaryCrossEntropyWithLogits(x, y),
    () => torch.binaryCrossEntropyWithLogits.withGrad(x, y, { out: { grad: gbuf } }),
    () => jsBceLogits(x, y, null),
    () => jsBceLogits(x, y, jg));
}
