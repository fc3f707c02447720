'use strict';
// Shared by the --busy, --cluster and --sweep modes: a workload's call at a chosen size and shape.
const path = require('path');
const { loadWorkloads } = require('../workloads');

const root = path.join(__dirname, '..', '..');

function loadFastloss() {
  return require(path.join(root, 'dist'));
}

/** fastloss.torch.mseLoss for 'torch.mseLoss', or null. */
function lossFn(fastloss, name) {
  const [ns, fn] = name.split('.');
  const f = fastloss[ns] && fastloss[ns][fn];
  return typeof f === 'function' ? f : null;
}

/** The first workload of that name (the plain one: keras.binaryCrossentropy has a fromLogits variant too). */
function workload(name) {
  const w = loadWorkloads().find((x) => x.name === name);
  if (!w) throw new Error(`bench: no workload ${name}`);
  return w;
}

/** n elements as [n] or as rows of `cols` ([floor(n / cols), cols]). */
function caseOf(n, cols) {
  if (!cols) return { label: String(n), n, shape: [n] };
  const rows = Math.max(1, Math.floor(n / cols));
  return { label: `[${rows},${cols}]`, n: rows * cols, shape: [rows, cols] };
}

/**
 * One call ready to time: args from the workload's generators (spec.n elements, as rows of
 * spec.cols when given), its options plus spec.reduction; a
 * 'none' result goes into a preallocated out (allocation is not what these modes measure).
 */
function prepareCall(fastloss, data, spec) {
  const w = workload(spec.loss);
  const fn = lossFn(fastloss, spec.loss);
  if (!fn) throw new Error(`bench: fastloss has no ${spec.loss}`);
  const c = caseOf(spec.n, spec.cols);
  const args = w.inputs(c).map((s) => data.get(s.gen, s.length));
  const opts = { ...(w.opts ? w.opts(c) : {}), ...(spec.reduction ? { reduction: spec.reduction } : {}) };
  const first = fn(...args, opts);
  if (first instanceof Float32Array) opts.out = new Float32Array(first.length);
  return { w, fn, c, args, opts, call: () => fn(...args, opts) };
}

function specLabel(spec) {
  const n = spec.n >= 1e6 ? `1e${Math.round(Math.log10(spec.n))}` : spec.n === 65536 ? '64k' : String(spec.n);
  return `${spec.loss}${spec.reduction ? ` '${spec.reduction}'` : ''}${spec.cols ? ` rows of ${spec.cols}` : ''} ${n}`;
}

module.exports = { root, loadFastloss, lossFn, workload, caseOf, prepareCall, specLabel };
