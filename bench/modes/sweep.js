'use strict';
// --sweep: short rows. ns per element on 1 thread, fastloss against the plain-JS loop, for every
// Keras per-sample loss over rows of 1 .. 1000 elements and for torch.crossEntropy over 2 .. 100
// classes, at 10^3 and 10^5 (and 10^6 without --quick) elements. Forward, default reduction.
const { DataCache } = require('../lib/data');
const { measure } = require('../lib/harness');
const { sig, ratio, table } = require('../lib/format');
const { loadWorkloads } = require('../workloads');
const { loadFastloss, lossFn, caseOf } = require('./common');

const ROW_LENGTHS = [1, 2, 3, 4, 8, 16, 100, 1000];
const CLASS_COUNTS = [2, 3, 4, 10, 16, 100];
const CLASS_LOSSES = ['torch.crossEntropy'];
// Keras losses over the whole batch, not per sample: keras.circle compares every pair of rows, so its cost
// grows with rows^2 (10^5 rows of 1 take minutes in the JS loop) and it has no row length to sweep.
const BATCH_LOSSES = ['keras.circle'];

/** [{ w, variant, cols, axis: 'row' | 'C' }] for the sweep, filtered by name. */
function sweepSeries(filters) {
  const seen = new Map();
  const series = [];
  for (const w of loadWorkloads()) {
    if (filters.length && !filters.some((f) => w.name.includes(f))) continue;
    if (BATCH_LOSSES.includes(w.name)) continue;
    const k = seen.get(w.name) ?? 0;
    seen.set(w.name, k + 1);
    const variant = k === 0 ? '' : w.cases[0].label.split(' ').slice(1).join(' ');
    if (w.name.startsWith('keras.')) for (const cols of ROW_LENGTHS) series.push({ w, variant, cols, axis: 'row' });
    else if (CLASS_LOSSES.includes(w.name)) for (const cols of CLASS_COUNTS) series.push({ w, variant, cols, axis: 'C' });
  }
  return series;
}

/** The call of one sweep point: fastloss and plain JS on the same arrays. */
function sweepCall(fastloss, data, s, n) {
  const c = caseOf(n, s.cols);
  const args = s.w.inputs(c).map((i) => data.get(i.gen, i.length));
  const opts = s.w.opts ? s.w.opts(c) : {};
  const fn = lossFn(fastloss, s.w.name);
  // Called as written by hand, not spread (a spread call cost 40-110 ns, charged to fastloss).
  const [a0, a1, a2, a3] = args;
  const call = [null, null, () => fn(a0, a1, opts), () => fn(a0, a1, a2, opts), () => fn(a0, a1, a2, a3, opts)][args.length]
    || (() => fn(...args, opts));
  return { c, fastloss: call, js: () => s.w.js.forward(args, c) };
}

function runSweep(opts, log) {
  const fastloss = loadFastloss();
  const threads = fastloss.getNumThreads();
  const sizes = opts.quick ? [1e3, 1e5] : [1e3, 1e5, 1e6];
  const cfg = opts.quick
    ? { sampleMs: 1, budgetMs: 40, minSamples: 5, maxSamples: 12, warmups: 3 }
    : { sampleMs: 2, budgetMs: 150, minSamples: 5, maxSamples: 30, warmups: 2 };
  const data = new DataCache();
  const series = sweepSeries(opts.filters);
  if (series.length === 0) throw new Error(`bench: no --sweep loss matches ${opts.filters.join(', ')}`);
  const rows = [];
  fastloss.setNumThreads(1);
  try {
    // One throwaway measurement first: the first one of a process runs slow (the harness and
    // the facade still warming up), which would fall on the first point of the table.
    const first = sweepCall(fastloss, data, series[0], sizes[0]);
    measure(first.fastloss, cfg);
    measure(first.js, cfg);
    for (const s of series) {
      log(`  --sweep ${s.w.name}${s.variant ? ` ${s.variant}` : ''} ${s.axis === 'C' ? 'C' : 'rows of'} ${s.cols}`);
      for (const n of sizes) {
        const call = sweepCall(fastloss, data, s, n);
        // Best of two alternating medians: a transient stall (a busy machine, a GC of the data
        // cache) hits one of them, not both.
        let fl = Infinity;
        let js = Infinity;
        for (let round = 0; round < 2; round++) {
          fl = Math.min(fl, measure(call.fastloss, cfg).ns / call.c.n);
          js = Math.min(js, measure(call.js, cfg).ns / call.c.n);
        }
        rows.push({ loss: s.w.name, variant: s.variant, axis: s.axis, cols: s.cols, size: n, n: call.c.n, case: call.c.label,
          fastlossNsPerElement: fl, jsNsPerElement: js });
      }
    }
  } finally {
    fastloss.setNumThreads(threads);
  }
  return { threads: 1, sizes, rows };
}

function printSweep(rep) {
  const out = [];
  const sizes = rep.sizes;
  out.push('Short rows, 1 thread: ns per element, fastloss / plain JS; x = JS time / fastloss time (goal: >= 3x from 1e5, >= 1x at 1e3)');
  const key = (r) => `${r.loss}|${r.variant}|${r.axis}|${r.cols}`;
  const groups = new Map();
  for (const r of rep.rows) {
    if (!groups.has(key(r))) groups.set(key(r), []);
    groups.get(key(r)).push(r);
  }
  const cols = [{ title: 'loss', align: 'l' }, { title: 'row', align: 'l' }];
  for (const n of sizes) {
    const e = `1e${Math.round(Math.log10(n))}`;
    cols.push({ title: `fl ${e}` }, { title: `JS ${e}` }, { title: `x ${e}` });
  }
  const lines = [];
  for (const rs of groups.values()) {
    const r0 = rs[0];
    const line = [`${r0.loss}${r0.variant ? ` ${r0.variant}` : ''}`, `${r0.axis === 'C' ? 'C=' : ''}${r0.cols}`];
    for (const n of sizes) {
      const r = rs.find((x) => x.size === n);
      line.push(sig(r && r.fastlossNsPerElement), sig(r && r.jsNsPerElement), r ? ratio(r.jsNsPerElement, r.fastlossNsPerElement) : '-');
    }
    lines.push(line);
  }
  out.push(table(cols, lines));
  return out.join('\n');
}

module.exports = { runSweep, printSweep, sweepSeries, sweepCall, ROW_LENGTHS, CLASS_COUNTS, BATCH_LOSSES };
