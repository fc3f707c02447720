'use strict';
// The "limit" table of npm run bench (issue 12): each compute-bound loss on one thread, in cache,
// beside the throughput its own vmath primitive mix sustains there. The probe.<primitive> kernels
// (binding/kernels/probe.cpp) time one primitive summed over an in-cache array on the calling
// thread; a mix's limit is 1 / (sum of its primitives' ns per element), and
// %limit = the loss's elements/s / that limit (100%: the loss costs no more than its primitives).
// Both sides use the fastest sample (not the median): on one thread in cache that is the figure
// least disturbed by other processes, and what the core sustains.

// Per loss: the vmath primitives evaluated per element of the prediction input, forward and with
// the gradient (softplus = exp of -|x| + log1p of a unit argument; a sigmoid computed from the exp a softplus
// already paid for adds its division, 1 / (1 + e): div; expNonPositive = exp restricted to x <= 0, as softmax uses it;
// logPositive = log of a positive normal argument, as after Keras' clip), and optionally in-cache shapes (default: the
// 10^5 case).
const MIXES = {
  'torch.crossEntropy': { forward: ['expNonPositive'], withGrad: ['expNonPositive'], shapes: [[256, 1000], [64, 4000], [8, 32000]] },
  // withGrad: d/dx = (pw y + 1 - y) sigmoid(x) - pw y.
  'torch.binaryCrossEntropyWithLogits': { forward: ['softplus'], withGrad: ['softplus', 'div'] },
  'torch.binaryCrossEntropy': { forward: ['log', 'log1p'], withGrad: ['log', 'log1p'] },
  'torch.klDiv': { forward: ['log'], withGrad: ['log'] },
  'torch.poissonNllLoss': { forward: ['exp'], withGrad: ['exp'] },
  // p = sigmoid(x) is in the loss itself (m = 1 - p_t).
  'torch.sigmoidFocalLoss': { forward: ['softplus', 'div'], withGrad: ['softplus', 'div'] },
  // The general mix (soft labels). The bench's labels are hard (bernoulli 0/1), where the kernel takes one
  // logPositive (withGrad: + one div) per element (binary.cpp KerasBceHard): %limit here is against the
  // general mix, so above 100% is possible; the hard path's own mix is logPositive | logPositive + div.
  'keras.binaryCrossentropy': { forward: ['logPositive', 'logPositive'], withGrad: ['logPositive', 'logPositive'] },
  'keras.binaryCrossentropy logits': { forward: ['softplus'], withGrad: ['softplus', 'div'] },
  // withGrad: d log(o) / do = 1 / o, a division per element (Keras' p / sum(p) is p * (1 / sum) here).
  'keras.categoricalCrossentropy': { forward: ['logPositive'], withGrad: ['logPositive', 'div'] },
  'keras.categoricalFocalCrossentropy': { forward: ['logPositive'], withGrad: ['logPositive', 'div'] },
  'keras.meanSquaredLogarithmicError': { forward: ['log1p', 'log1p'], withGrad: ['log1p', 'log1p'] },
  'keras.logCosh': { forward: ['softplus'], withGrad: ['softplus', 'tanh'] },
};

// Probe inputs in each primitive's working range (the branch-free code costs the same anywhere).
const PRIMITIVE_INPUT = {
  exp: (i) => -8 + 16 * ((i * 0.618034) % 1),
  expNonPositive: (i) => -8 * ((i * 0.618034) % 1),
  log: (i) => 0.001 + (i * 0.618034) % 1,
  logPositive: (i) => 0.001 + (i * 0.618034) % 1,
  log1p: (i) => -0.5 + 2 * ((i * 0.618034) % 1),
  tanh: (i) => -4 + 8 * ((i * 0.618034) % 1),
  sigmoid: (i) => -8 + 16 * ((i * 0.618034) % 1),
  softplus: (i) => -8 + 16 * ((i * 0.618034) % 1),
  div: (i) => 0.001 + (i * 0.618034) % 1,
};
const PROBE_N = 1 << 14; // 64 KiB: in L1/L2 on every x86 core

function mixOf(r) {
  return MIXES[`${r.loss}${r.case.endsWith(' logits') ? ' logits' : ''}`] ?? null;
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

// The in-cache cases of a workload: its MIXES shapes, else its 10^5 case (else its smallest).
function inCacheCases(w, mix) {
  if (mix.shapes) {
    return mix.shapes.map((s) => ({ label: `[${s.join(',')}]`, n: s[0] * s[1], shape: s }));
  }
  const c = w.cases.find((k) => k.n === 1e5) ?? w.cases.reduce((a, b) => (b.n < a.n ? b : a));
  return [c];
}

/**
 * Runs the limit table: env = { fastloss, native, setRawCall, measure, timing, sink(v), lookup(name),
 * data (DataCache), workloads, log }. Returns { threads: 1, isa, primitives: {name: ns/el}, rows } or
 * { available: false, note }.
 */
function runLimit(env) {
  const { fastloss, measure, timing, sink, lookup, data, workloads, log } = env;
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
        for (const c0 of inCacheCases(w, mix)) {
          const c = { ...c0, label: base.label.endsWith(' logits') && !c0.label.endsWith(' logits') ? `${c0.label} logits` : c0.label };
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
          const row = { loss: w.name, case: c.label, n: c.n, mix };
          for (const [mode, m] of [['forward', fwd], ['withGrad', wg]]) {
            const ns = m.min / c.n;
            const lim = limitNs(mix[mode]);
            row[mode] = { nsPerElement: ns, limitNsPerElement: lim, MeS: 1e3 / ns, limitMeS: 1e3 / lim, fraction: lim / ns };
          }
          rows.push(row);
        }
      }
    }
    return { available: true, threads: 1, isa: fastloss.info().isa, probeElements: PROBE_N, primitives, rows };
  } finally {
    fastloss.setNumThreads(saved);
  }
}

function printLimit(rep, { sig, pct, table }) {
  if (!rep || !rep.available) return rep ? `Limit table skipped: ${rep.note}` : '';
  const out = [];
  out.push(`Compute-bound losses against their primitive mix: 1 thread, in cache, ISA ${rep.isa}; ns/el = ns per element`);
  out.push('(fastest sample of each figure, loss and probes alike),');
  out.push('limit = M el/s of the loss\'s vmath primitives alone (probe.<primitive>, summed over a ' +
    `${rep.probeElements}-float array), %limit = loss / limit`);
  out.push(`primitives (ns/el): ${Object.entries(rep.primitives).map(([k, v]) => `${k} ${sig(v)}`).join(', ')}`);
  out.push(table(
    [{ title: 'loss', align: 'l' }, { title: 'case', align: 'l' }, { title: 'mix (fwd | wg)', align: 'l' },
      { title: 'fwd ns/el' }, { title: 'fwd M/s' }, { title: 'limit' }, { title: '%limit' },
      { title: 'wg ns/el' }, { title: 'wg M/s' }, { title: 'limit' }, { title: '%limit' }],
    rep.rows.map((r) => [r.loss, r.case, `${r.mix.forward.join('+')} | ${r.mix.withGrad.join('+')}`,
      sig(r.forward.nsPerElement), sig(r.forward.MeS), sig(r.forward.limitMeS), pct(r.forward.fraction),
      sig(r.withGrad.nsPerElement), sig(r.withGrad.MeS), sig(r.withGrad.limitMeS), pct(r.withGrad.fraction)])));
  return out.join('\n');
}

module.exports = { MIXES, runLimit, printLimit };
