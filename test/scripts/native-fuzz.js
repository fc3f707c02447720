'use strict';
// Calls every kernel straight through the native layer (no facade checks), with random shapes,
// flags, reductions, scalars (garbage included), index values out of range and lengths that are
// right or off by one. The native layer must answer each with a number or a TypeError/RangeError:
// never a crash, never a write past a buffer (the sanitizer job runs this too).
// usage: node native-fuzz.js [seed] [callsPerKernel]; prints one JSON line of counts.
const path = require('path');
const { native, setRawCall } = require(path.join(__dirname, '..', '..', 'dist', 'core', 'native.js'));

const { seededRandom } = require(path.join(__dirname, '..', 'helpers', 'random'));

const rand = seededRandom(Number(process.argv[2] || 12345));
const perKernel = Number(process.argv[3] || 300);
const pick = (xs) => xs[Math.floor(rand() * xs.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

// The extents grammar (binding/kernels/extents.h), mirrored to build calls that pass its checks.
function counts(dims, axis) {
  const prod = (skip) => dims.reduce((p, d, i) => (i === skip ? p : p * d), 1);
  const nd = dims.length;
  const c = { N: prod(-1), R: nd >= 1 ? prod(nd - 1) : 1, L: nd >= 1 ? dims[nd - 1] : 1 };
  if (nd >= 1) {
    const ca = nd > 1 ? 1 : 0;
    c.C = dims[ca];
    c.P = prod(ca);
  }
  if (nd >= 1 && axis >= 0 && axis < nd) c.A = prod(axis);
  dims.forEach((d, i) => { c[`D${i}`] = d; });  // '*' (any length) stays undefined: a random length
  return c;
}
function countOf(token, c, lengths, isInt) {
  let t = token;
  if (t.includes('/')) t = t.split('/')[isInt ? 1 : 0];
  const first = t.split('|')[0];
  if (first.startsWith('=')) return lengths[Number(first[1])];
  return c[first];
}
function sections(spec) {
  const [ins, out, grads] = spec.split(':').map((s) => s.trim().split(/\s+/).filter(Boolean));
  return { ins, out, grads };
}

const SCALARS = [0, 1, 2, -1, 0.5, 1e-8, 1e300, -1e300, NaN, Infinity, -Infinity, 3, 100, 2 ** 31, -(2 ** 31) - 1];
const VALUES = [0, 1, -1, 0.5, 1e-30, 1e30, 3e38, -3e38, NaN, Infinity, -Infinity, 1e-45];
const tally = { calls: 0, results: 0, typeErrors: 0, rangeErrors: 0, tamperedRejected: 0, kernels: 0 };

function floatArray(n) {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() < 0.2 ? pick(VALUES) : rand() * 4 - 2;
  return a;
}
function intArray(n, classes) {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = rand() < 0.1 ? pick([-1, -100, classes, classes + 1, 2 ** 31 - 1, -(2 ** 31)]) : int(0, Math.max(0, classes - 1));
  return a;
}

for (const [name, spec] of Object.entries(native.extents)) {
  if (name === 'probe.streamRead' && perKernel > 50) continue;  // a bandwidth probe: nothing to fuzz
  if (process.env.FUZZ_SKIP && process.env.FUZZ_SKIP.split(',').includes(name)) continue;
  tally.kernels++;
  const sig = native.signatures[name];
  const { ins, out, grads } = sections(spec);
  for (let k = 0; k < perKernel; k++) {
    const ndim = int(0, 3);
    const dims = Array.from({ length: ndim }, () => (rand() < 0.1 ? 0 : int(1, 6)));
    const scalars = Array.from({ length: 6 }, () => pick(SCALARS));
    if (rand() < 0.7) scalars[0] = int(-1, ndim);  // the axis of keras.cosineSimilarity, now and then valid
    const c = counts(dims, scalars[0]);
    const tamper = rand() < 0.25 ? int(0, ins.length + 2) : -1;
    const lengths = [];
    const arrays = [];
    for (let s = 0; s < sig.length; s++) {
      const letter = sig[s];
      if (letter === letter.toUpperCase() && rand() < 0.4) {
        arrays.push(null);
        lengths.push(0);
        continue;
      }
      const isInt = letter.toLowerCase() === 'i' || (letter.toLowerCase() === 'x' && rand() < 0.5);
      let n = countOf(ins[s], c, lengths, isInt);
      if (n === undefined) n = int(0, 8);
      if (tamper === s) n += pick([-1, 1]);
      n = Math.max(0, n);
      lengths.push(n);
      arrays.push(isInt ? intArray(n, c.C ?? c.L ?? 1) : floatArray(n));
    }
    const reduction = int(0, 3);
    const wantLoss = rand() < 0.8;
    const wantGrad = grads.length > 0 && (!wantLoss || rand() < 0.6);
    const flagsLoss = wantLoss ? 1 : 0;
    const flagsGrad = wantGrad ? 2 : 0;
    const hasOut = reduction === 0 && wantLoss;
    const hasGradOut = reduction === 0 && wantGrad && rand() < 0.5;
    const reportParts = rand() < 0.2 ? native.flags.reportParts : 0;  // accumulators: [total, divisor, items]
    const outLen = Math.max(0, (out.length ? countOf(out[0], c, lengths, false) : 0) ?? 0) + (tamper === ins.length ? 1 : 0);
    if (hasOut) arrays.push(new Float32Array(outLen));
    if (wantGrad) {
      for (let g = 0; g < grads.length; g++) {
        const n = Math.max(0, countOf(grads[g], c, lengths, false) ?? 0) + (tamper === ins.length + 1 ? 1 : 0);
        arrays.push(new Float32Array(n));
      }
    }
    if (hasGradOut) arrays.push(floatArray(outLen));
    setRawCall(name, {
      flags: flagsLoss | flagsGrad | (hasOut ? 4 : 0) | (hasGradOut ? 8 : 0) | reportParts,
      reduction,
      shape: dims,
      gradCount: wantGrad ? grads.length : 0,
      gradScale: pick([1, 0.5, NaN, -2]),
      scalars,
    });
    if (process.env.FUZZ_TRACE) process.stderr.write(`${name} ${JSON.stringify(dims)} red=${reduction} f=${flagsLoss | flagsGrad} t=${tamper} s=${JSON.stringify(scalars)}\n`);
    tally.calls++;
    try {
      const v = native.run(...arrays);
      const parts = reportParts && Array.isArray(v) && v.length === 3 && v.every((p) => typeof p === 'number');
      if (typeof v !== 'number' && !parts) throw new Error(`${name}: run returned ${typeof v}`);
      tally.results++;
    } catch (e) {
      if (e instanceof RangeError) tally.rangeErrors++;
      else if (e instanceof TypeError) tally.typeErrors++;
      else throw e;
      if (tamper >= 0) tally.tamperedRejected++;
    }
  }
}
console.log(JSON.stringify(tally));
