'use strict';
// The "limit" table of npm run bench (issue 12): each compute-bound loss on one thread, in cache,
// beside the throughput its own vmath primitive mix sustains there. The probe.<primitive> kernels
// (binding/kernels/probe.cpp) time one primitive summed over an in-cache array on the calling
// thread; a mix's limit is 1 / (sum of its primitives' ns per element), and
// %limit = the loss's elements/s / that limit (100%: the loss costs no more than its primitives).
// Both sides use the fastest sample (not the median): on one thread in cache that is the figure
// least disturbed by other processes, and what the core sustains.
// "In cache" means in the L2 of the core: the call's working set (its input arrays, plus the gradient it
// writes with withGrad) is at most half the L2 of cpu0, read at run time (l2Cache()); half, so the set stays
// resident beside the stack, the code and the hardware prefetcher's run-ahead. Each loss keeps the row length
// of its usual case (crossEntropy: each class count of its MIXES shapes) and takes as many rows as fit the
// withGrad set (then forward fits too). The previous fixed shapes (10^5 elements, crossEntropy [256, 1000] ...:
// 1.2-2 MB with the gradient, past a 1 MB L2) are reported beside them, marked "past L2".
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

// Per loss: the vmath primitives evaluated per element of the prediction input, forward and with
// the gradient (softplus = exp of -|x| + log1p of a unit argument; a sigmoid computed from the exp a softplus
// already paid for adds its division, 1 / (1 + e): div; expNonPositive = exp restricted to x <= 0, as softmax uses it;
// logPositive = log of a positive normal argument, as after Keras' clip; log1pPositive likewise), and optionally the shapes whose class counts
// to run (default: the 10^5 case's).
const MIXES = {
  'torch.crossEntropy': { forward: ['expNonPositive'], withGrad: ['expNonPositive'], shapes: [[256, 1000], [64, 4000], [8, 32000]] },
  // withGrad: d/dx = (pw y + 1 - y) sigmoid(x) - pw y.
  'torch.binaryCrossEntropyWithLogits': { forward: ['softplus'], withGrad: ['softplus', 'div'] },
  // withGrad: d/dx = (x - y) / max((1 - x) x, 1e-12), a division per element.
  'torch.binaryCrossEntropy': { forward: ['log', 'log1p'], withGrad: ['log', 'log1p', 'div'] },
  'torch.klDiv': { forward: ['log'], withGrad: ['log'] },
  // Summed blocks of |x| <= 86 take expInRange (exp's bits there, without its special cases).
  'torch.poissonNllLoss': { forward: ['expInRange'], withGrad: ['expInRange'] },
  // p = sigmoid(x) is in the loss itself (m = 1 - p_t).
  'torch.sigmoidFocalLoss': { forward: ['softplus', 'div'], withGrad: ['softplus', 'div'] },
  // The general mix (soft labels). The bench's labels are hard (bernoulli 0/1), where the kernel takes one
  // logPositive (withGrad: + one div) per element (binary.cpp KerasBceHard): %limit here is against the
  // general mix, so above 100% is possible; the hard path's own mix is logPositive | logPositive + div.
  // withGrad: (1 - y) / (1 - c + eps) - y / (c + eps), two divisions.
  'keras.binaryCrossentropy': { forward: ['logPositive', 'logPositive'], withGrad: ['logPositive', 'logPositive', 'div', 'div'] },
  'keras.binaryCrossentropy logits': { forward: ['softplus'], withGrad: ['softplus', 'div'] },
  // withGrad: d log(o) / do = 1 / o, a division per element (Keras' p / sum(p) is p * (1 / sum) here).
  'keras.categoricalCrossentropy': { forward: ['logPositive'], withGrad: ['logPositive', 'div'] },
  'keras.categoricalFocalCrossentropy': { forward: ['logPositive'], withGrad: ['logPositive', 'div'] },
  // log1p of Keras' clip max(v, 1e-7): log1pPositive (log1p's bits there, without its -1 and zero cases).
  // withGrad: 2 d / (p + 1), a division per element.
  'keras.meanSquaredLogarithmicError': { forward: ['log1pPositive', 'log1pPositive'], withGrad: ['log1pPositive', 'log1pPositive', 'div'] },
  // withGrad: tanh(x) from the softplus's e = exp(-2|x|) adds its division, 1 - 2 e / (1 + e): div.
  'keras.logCosh': { forward: ['softplus'], withGrad: ['softplus', 'div'] },
};

// Probe inputs in each primitive's working range (the branch-free code costs the same anywhere).
const PRIMITIVE_INPUT = {
  exp: (i) => -8 + 16 * ((i * 0.618034) % 1),
  expNonPositive: (i) => -8 * ((i * 0.618034) % 1),
  expInRange: (i) => -8 + 16 * ((i * 0.618034) % 1),
  log: (i) => 0.001 + (i * 0.618034) % 1,
  logPositive: (i) => 0.001 + (i * 0.618034) % 1,
  log1p: (i) => -0.5 + 2 * ((i * 0.618034) % 1),
  log1pPositive: (i) => 0.001 + 2 * ((i * 0.618034) % 1),
  tanh: (i) => -4 + 8 * ((i * 0.618034) % 1),
  sigmoid: (i) => -8 + 16 * ((i * 0.618034) % 1),
  softplus: (i) => -8 + 16 * ((i * 0.618034) % 1),
  div: (i) => 0.001 + (i * 0.618034) % 1,
};
const PROBE_N = 1 << 14; // 64 KiB: in L1/L2 on every x86 core

function mixOf(r) {
  return MIXES[`${r.loss}${r.case.endsWith(' logits') ? ' logits' : ''}`] ?? null;
}

/** Bytes per element of the prediction input: forward reads the inputs, withGrad also writes their gradients. */
function bytesPerElement(inputs, n) {
  const inBytes = inputs.reduce((s, i) => s + 4 * i.length, 0);
  const gradBytes = inputs.filter((i) => i.grad).reduce((s, i) => s + 4 * i.length, 0);
  return { forward: inBytes / n, withGrad: (inBytes + gradBytes) / n };
}

// "1024K", "2M", "1 MiB", "1048576" -> bytes
function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:i?B)?\s*$/i.exec(text);
  return m ? Math.round(Number(m[1]) * 1024 ** ' KMG'.indexOf(m[2].toUpperCase() || ' ')) : null;
}

/**
 * The level-2 cache of one core: { bytes, source } from sysfs (cpu0's level-2 data or unified cache), else from
 * `lscpu -B -C=NAME,ONE-SIZE`; null when neither says.
 */
function l2Cache(sysfs = '/sys/devices/system/cpu/cpu0/cache') {
  try {
    for (const d of fs.readdirSync(sysfs).filter((x) => /^index\d+$/.test(x))) {
      const read = (f) => fs.readFileSync(path.join(sysfs, d, f), 'utf8').trim();
      if (read('level') === '2' && read('type') !== 'Instruction') {
        const bytes = parseSize(read('size'));
        if (bytes) return { bytes, source: path.join(sysfs, d, 'size') };
      }
    }
  } catch { /* no sysfs */ }
  const r = spawnSync('lscpu', ['-B', '-C=NAME,ONE-SIZE'], { encoding: 'utf8' });
  const m = r.status === 0 && /^L2\s+(\d+)\s*$/m.exec(r.stdout);
  return m ? { bytes: Number(m[1]), source: 'lscpu' } : null;
}

// ns per element of each primitive, one thread.
function primitiveCosts(env) {
  const { native, setRawCall, measure, timing, sink } = env;
  const costs = {};
  for (const name of Object.keys(PRIMITIVE_INPUT)) {
    const kernel = `probe.${name}`;
    if (native.kernels[kernel] === undefined) return null;
    const x = new Float32Array(PROBE_N);
    for (let i = 0; i < x.length; i++) x[i] = PRIMITIVE_INPUT[name](i);
    const m = measure(() => {
      setRawCall(kernel, { flags: 1, reduction: 2, shape: [x.length] });
      sink(native.run(x));
    }, timing);
    costs[name] = m.min / x.length;
  }
  return costs;
}

// The previous fixed cases of a workload: its MIXES shapes, else its 10^5 case (else its smallest).
function fixedCases(w, mix) {
  if (mix.shapes) return mix.shapes.map((s) => ({ label: `[${s.join(',')}]`, n: s[0] * s[1], shape: s }));
  return [w.cases.find((k) => k.n === 1e5) ?? w.cases.reduce((a, b) => (b.n < a.n ? b : a))];
}

// Working set in bytes of case c: { forward, withGrad }.
function workingSet(w, c) {
  const b = bytesPerElement(w.inputs(c), c.n);
  return { forward: b.forward * c.n, withGrad: b.withGrad * c.n };
}

/**
 * The case of fixed case c0's row length (its last axis; 1-D: single elements) with the most rows whose withGrad
 * working set is at most budget bytes (1-D: a multiple of 1024 elements); at least one row.
 */
function fitCase(w, c0, budget) {
  const oneD = c0.shape.length === 1;
  const cols = oneD ? 1024 : c0.shape[c0.shape.length - 1];
  const at = (rows) => {
    const shape = oneD ? [rows * cols] : [rows, cols];
    return { label: oneD ? String(rows * cols) : `[${rows},${cols}]`, n: rows * cols, shape };
  };
  let rows = Math.max(1, Math.floor(budget / workingSet(w, at(1)).withGrad));
  while (rows > 1 && workingSet(w, at(rows)).withGrad > budget) rows--;
  return at(rows);
}

/**
 * Runs the limit table: env = { fastloss, native, setRawCall, measure, timing, sink(v), lookup(name),
 * data (DataCache), workloads, log, l2? ({ bytes, source }: default l2Cache()) }. Returns { threads: 1, isa,
 * primitives: {name: ns/el}, l2, budget, rows } or { available: false, note }. A row's workingSet is in bytes and
 * inL2 says whether its withGrad set is within the budget.
 */
function runLimit(env) {
  const { fastloss, measure, timing, sink, lookup, data, workloads, log } = env;
  const l2 = env.l2 === undefined ? l2Cache() : env.l2;
  if (!l2) return { available: false, note: 'the L2 size is unknown (no sysfs cache entry, no lscpu)' };
  const budget = l2.bytes / 2;
  const saved = fastloss.getNumThreads();
  fastloss.setNumThreads(1);
  try {
    const primitives = primitiveCosts(env);
    if (!primitives) return { available: false, note: 'the addon has no probe.<primitive> kernels (rebuild)' };
    const rows = [];
    for (const w of workloads) {
      if (w.bound !== 'compute') continue;
      const fn = lookup(w.name);
      for (const base of w.cases.length ? [w.cases[0]] : []) {
        const mix = mixOf({ loss: w.name, case: base.label });
        if (!fn || !mix) continue;
        const fixed = fixedCases(w, mix).map((c) => ({ ...c, label: c.label.replace(/ logits$/, '') }));
        // each in-L2 case, then the fixed one it was sized from when that one is past the budget
        const cases = fixed.flatMap((c) => [fitCase(w, c, budget), ...(workingSet(w, c).withGrad > budget ? [c] : [])]);
        for (const c0 of cases) {
          const c = { ...c0, label: base.label.endsWith(' logits') ? `${c0.label} logits` : c0.label };
          log(`  limit: ${w.name} ${c.label}`);
          const inputs = w.inputs(c);
          const args = inputs.map((s) => data.get(s.gen, s.length));
          const callOpts = w.opts ? w.opts(c) : {};
          const grads = inputs.filter((s) => s.grad).map((s) => new Float32Array(s.length));
          const outGrad = grads.length === 1 ? grads[0]
            : Object.fromEntries(inputs.filter((s) => s.grad).map((s, k) => [s.name, grads[k]]));
          const wgOpts = { ...callOpts, out: { grad: outGrad } };
          const fwd = measure(() => { sink(fn(...args, callOpts)); }, timing);
          const wg = measure(() => { sink(fn.withGrad(...args, wgOpts).loss); }, timing);
          const limitNs = (list) => list.reduce((s, p) => s + primitives[p], 0);
          const ws = workingSet(w, c);
          const row = { loss: w.name, case: c.label, n: c.n, mix, workingSet: ws, inL2: ws.withGrad <= budget };
          for (const [mode, m] of [['forward', fwd], ['withGrad', wg]]) {
            const ns = m.min / c.n;
            const lim = limitNs(mix[mode]);
            row[mode] = { nsPerElement: ns, limitNsPerElement: lim, MeS: 1e3 / ns, limitMeS: 1e3 / lim, fraction: lim / ns };
          }
          rows.push(row);
        }
      }
    }
    return { available: true, threads: 1, isa: fastloss.info().isa, probeElements: PROBE_N, primitives, l2, budget, rows };
  } finally {
    fastloss.setNumThreads(saved);
  }
}

function printLimit(rep, { sig, pct, table }) {
  if (!rep || !rep.available) return rep ? `Limit table skipped: ${rep.note}` : '';
  const out = [];
  out.push(`Compute-bound losses against their primitive mix: 1 thread, in cache, ISA ${rep.isa}; ns/el = ns per element`);
  out.push('(fastest sample of each figure, loss and probes alike); in cache = working set (inputs read + gradient written) within ' +
    `half the ${rep.l2.bytes / 1024} KiB L2 of a core (${rep.l2.source}),`);
  out.push('set KiB = working set forward | withGrad; rows marked "past L2" are the earlier fixed shapes, whose withGrad set is not;');
  out.push('limit = M el/s of the loss\'s vmath primitives alone (probe.<primitive>, summed over a ' +
    `${rep.probeElements}-float array), %limit = loss / limit`);
  out.push(`primitives (ns/el): ${Object.entries(rep.primitives).map(([k, v]) => `${k} ${sig(v)}`).join(', ')}`);
  out.push(table(
    [{ title: 'loss', align: 'l' }, { title: 'case', align: 'l' }, { title: 'mix (fwd | wg)', align: 'l' },
      { title: 'fwd ns/el' }, { title: 'fwd M/s' }, { title: 'limit' }, { title: '%limit' },
      { title: 'wg ns/el' }, { title: 'wg M/s' }, { title: 'limit' }, { title: '%limit' }, { title: 'set KiB' }, { title: '', align: 'l' }],
    rep.rows.map((r) => [r.loss, r.case, `${r.mix.forward.join('+')} | ${r.mix.withGrad.join('+')}`,
      sig(r.forward.nsPerElement), sig(r.forward.MeS), sig(r.forward.limitMeS), pct(r.forward.fraction),
      sig(r.withGrad.nsPerElement), sig(r.withGrad.MeS), sig(r.withGrad.limitMeS), pct(r.withGrad.fraction),
      `${sig(r.workingSet.forward / 1024)} | ${sig(r.workingSet.withGrad / 1024)}`, r.inL2 ? '' : 'past L2'])));
  return out.join('\n');
}

module.exports = { MIXES, runLimit, printLimit, bytesPerElement, parseSize, l2Cache, fitCase, workingSet };
