#!/usr/bin/env node
'use strict';
// Where the fixed per-call cost goes: runs one loss at a small N in a tight loop under
// `node --cpu-prof` and prints self time per function (JS facade, the N-API call, GC ...).
// usage: node bench/profile_small.js [loss=torch.mseLoss] [N=256] [mode=forward|withGrad] [seconds=3]
//   loss 'js.mseLoss': the plain JS loop (bench/workloads/regression.js) instead of fastloss.
//   torch.crossEntropy: input [N / 16, 16] with an Int32Array target of N / 16 class indices.
// Timing table (no profiler): node bench/profile_small.js --table [N=256] [seconds=2]
// Instruction counts: node bench/profile_small.js --calls K loss N mode, under
//   valgrind --tool=cachegrind; (Ir(2K) - Ir(K)) / K is the count per call (see README).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

// FASTLOSS_DIST: another build of the facade to measure (e.g. the main branch's dist/).
const distDir = process.env.FASTLOSS_DIST ? path.resolve(process.env.FASTLOSS_DIST) : path.join(__dirname, '..', 'dist');

// The plain JS loops are the bench's own (bench/workloads/regression.js); withGrad allocates its
// gradient as fastloss's withGrad does.
const jsMseLoops = require('./workloads/regression').find((w) => w.name === 'torch.mseLoss').js;
const jsMse = (x, y) => jsMseLoops.forward([x, y]);
function jsMseWithGrad(x, y) {
  const grad = new Float32Array(x.length);
  return { loss: jsMseLoops.withGrad([x, y], [grad]), grad };
}

// The calls of the small-call matrix (issue 11): loss (at about 256 elements), mode, and the options
// beside the arrays. withGrad and backward allocate their gradient unless the variant is 'out'.
const MATRIX_LOSSES = ['torch.mseLoss', 'torch.binaryCrossEntropy', 'torch.crossEntropy', 'keras.meanSquaredError'];
const MATRIX_MODES = ['forward', 'backward', 'withGrad'];
const MATRIX_VARIANTS = ['', 'reduction', 'out', 'threads', 'weight'];

/** The plain JS loop doing what `mode` does (forward + gradient for withGrad and backward). */
function jsCall(lossName, N, mode, variant) {
  const w = require('./workloads').loadWorkloads().find((x) => x.name === lossName);
  const shape = lossName === 'torch.crossEntropy' ? [N / 16, 16] : lossName.startsWith('keras.') ? [N, 1] : [N];
  const c = { n: N, shape };
  const data = new (require('./lib/data').DataCache)();
  const args = w.inputs(c).map((s) => data.get(s.gen, s.length));
  if (mode === 'forward') return () => w.js.forward(args, c);
  const g = new Float32Array(N);
  if (variant === 'out') return () => w.js.withGrad(args, [g], c);
  return () => w.js.withGrad(args, [new Float32Array(N)], c);
}

/** One call of the matrix: `loss(arrays, opts)` for the mode and variant, as a no-argument closure. */
function matrixCall(fastloss, lossName, N, mode, variant) {
  if (lossName.startsWith('js.')) return jsCall(lossName.slice(3), N, mode, variant);
  const [ns, name] = lossName.split('.');
  const fn = fastloss[ns][name];
  const keras = ns === 'keras';
  const ce = lossName === 'torch.crossEntropy';
  const a = Float32Array.from({ length: N }, (_, i) => 0.5 + 0.4 * Math.sin(i));  // probabilities for BCE
  const b = Float32Array.from({ length: N }, (_, i) => 0.5 + 0.4 * Math.cos(i));
  const args = ce ? [a, Int32Array.from({ length: N / 16 }, (_, i) => (i * 7) % 16)] : [a, b];
  const base = keras ? { shape: [N, 1] } : {};
  const g = new Float32Array(N);
  const none = new Float32Array(ce ? N / 16 : N);
  let opts;
  switch (variant) {
    case '': opts = keras ? base : undefined; break;
    case 'reduction': opts = { ...base, reduction: 'sum' }; break;
    case 'threads': opts = { ...base, threads: 1 }; break;
    case 'weight':
      if (lossName === 'torch.mseLoss') return null;  // no weight option
      opts = { ...base, [keras ? 'sampleWeight' : 'weight']: Float32Array.from({ length: ce ? 16 : N }, (_, i) => 0.5 + (i % 3) / 4) };
      break;
    case 'out':
      opts = mode === 'forward' ? { ...base, reduction: 'none', out: none } : mode === 'backward' ? { ...base, out: g } : { ...base, out: { grad: g } };
      break;
    default: throw new Error(`profile_small: unknown variant ${variant}`);
  }
  const [x, y] = args;
  const f = mode === 'forward' ? fn : fn[mode];
  const pickNumber = mode === 'forward' ? (r) => (typeof r === 'number' ? r : r[0]) : mode === 'backward' ? (r) => r[0] : (r) => r.grad[0];
  return opts === undefined ? () => pickNumber(f(x, y)) : () => pickNumber(f(x, y, opts));
}

/** A no-argument closure making one call of `lossName` on N elements. */
function makeCall(fastloss, lossName, N, mode) {
  const a = Float32Array.from({ length: N }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: N }, (_, i) => Math.cos(i));
  if (lossName === 'js.mseLoss') return mode === 'withGrad' ? () => jsMseWithGrad(a, b).loss : () => jsMse(a, b);
  const [ns, name] = lossName.split('.');
  const fn = fastloss[ns][name];
  // Calls with plain-value options (the fast path with options): GCE { q } on rows of C, dice { shape, axis: -1 }.
  const gce = /^keras\.gce(\d+)$/.exec(lossName);
  if (gce) {
    const C = Number(gce[1]);
    const fg = fastloss.keras.categoricalGeneralizedCrossEntropy;
    const p = Float32Array.from({ length: N }, (_, i) => 0.5 + 0.4 * Math.sin(i));
    const t = Int32Array.from({ length: N / C }, (_, i) => (i * 7) % C);
    return mode === 'withGrad' ? () => fg.withGrad(t, p, { q: 0.7 }).loss : () => fg(t, p, { q: 0.7 });
  }
  const diceRows = /^keras\.dice(\d+)$/.exec(lossName);
  if (diceRows) {
    const C = Number(diceRows[1]);
    const fd = fastloss.keras.dice;
    const t = Float32Array.from({ length: N }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const p = Float32Array.from({ length: N }, (_, i) => 0.5 + 0.4 * Math.sin(i));
    const shape = [N / C, C];
    return mode === 'withGrad' ? () => fd.withGrad(t, p, { shape, axis: -1 }).loss : () => fd(t, p, { shape, axis: -1 });
  }
  if (lossName === 'torch.crossEntropy') {
    const t = Int32Array.from({ length: N / 16 }, (_, i) => (i * 7) % 16);
    return mode === 'withGrad' ? () => fn.withGrad(a, t).loss : () => fn(a, t);
  }
  return mode === 'withGrad' ? () => fn.withGrad(a, b).loss : () => fn(a, b);
}

function nsPerCall(call, seconds) {
  let sink = 0;
  for (let k = 0; k < 20000; k++) sink += call();  // warm up (optimizing compiler)
  const samples = [];
  const cpu = [];  // CPU time of this process (a busy machine stretches wall time, not this)
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    for (let k = 0; k < 10000; k++) sink += call();
    samples.push(Number(process.hrtime.bigint() - t0) / 10000);
    const c1 = process.cpuUsage(c0);
    cpu.push(((c1.user + c1.system) * 1000) / 10000);
  }
  samples.sort((x, y) => x - y);
  cpu.sort((x, y) => x - y);
  return { ns: samples[samples.length >> 1], best: samples[0], cpu: cpu[cpu.length >> 1], sink };
}

const argv = process.argv.slice(2);
if (argv[0] === '--table') {
  const [, nArg = '256', secArg = '2'] = argv;
  const fastloss = require(distDir);
  const N = Number(nArg);
  const rows = [['torch.mseLoss', 'forward'], ['torch.mseLoss', 'withGrad'], ['torch.crossEntropy', 'forward'],
    ['torch.crossEntropy', 'withGrad'], ['js.mseLoss', 'forward'], ['js.mseLoss', 'withGrad'],
    // with options, at about 10^3 elements whatever N: GCE { q }, dice { shape, axis: -1 }
    ['keras.gce8', 'forward', 1000], ['keras.gce16', 'forward', 1008], ['keras.dice8', 'forward', 1000]];
  console.log(`N = ${N}: ns per call (median of 10k-call batches, best batch; CPU-time median)`);
  for (const [loss, mode, n = N] of rows) {
    const r = nsPerCall(makeCall(fastloss, loss, n, mode), Number(secArg));
    const label = loss === 'torch.crossEntropy' ? `${loss} [${n / 16}, 16]` : /\d$/.test(loss) ? `${loss} N=${n}` : loss;
    console.log(`${`${label} ${mode}`.padEnd(40)} ${r.ns.toFixed(0).padStart(6)} ns  (best ${r.best.toFixed(0)})  cpu ${r.cpu.toFixed(0).padStart(6)} ns`);
  }
  process.exit(0);
}
// --matrix [seconds=0.3] [filter]: ns per call of every matrix cell beside the plain JS loop, as JSON
// with --json; --ab OTHER_DIST [rounds=5] [seconds=0.3] [filter]: this dist and OTHER_DIST in
// alternating child processes, median per cell (interleaved A/B on a busy machine).
function runMatrix(seconds, filter) {
  const fastloss = require(distDir);
  const rows = [];
  for (const loss of MATRIX_LOSSES) {
    const N = 256;
    for (const mode of MATRIX_MODES) {
      for (const variant of MATRIX_VARIANTS) {
        const label = `${loss} ${mode}${variant ? ` {${variant}}` : ''}`;
        if (filter && !label.includes(filter)) continue;
        const call = matrixCall(fastloss, loss, N, mode, variant);
        if (call === null) continue;
        const js = jsCall(loss, N, mode, variant);
        const r = nsPerCall(call, seconds);
        const j = nsPerCall(js, seconds);
        rows.push({ label, ns: r.ns, js: j.ns });
      }
    }
  }
  return rows;
}
const printMatrix = (rows, title) => {
  console.log(title);
  console.log(`${'call'.padEnd(48)} ${'fastloss'.padStart(9)} ${'plain JS'.padStart(9)}  JS/fl`);
  for (const r of rows)
    console.log(`${r.label.padEnd(48)} ${r.ns.toFixed(0).padStart(6)} ns ${r.js.toFixed(0).padStart(6)} ns  ${(r.js / r.ns).toFixed(2)}${r.ns > r.js ? '  slower' : ''}`);
};
if (argv[0] === '--matrix') {
  const json = argv.includes('--json');
  const [, secArg = '0.3', filter = ''] = argv.filter((a) => a !== '--json');
  const rows = runMatrix(Number(secArg), filter);
  if (json) console.log(JSON.stringify(rows));
  else printMatrix(rows, `ns per call (${os.cpus()[0].model}; median of 10k-call batches)`);
  process.exit(0);
}
if (argv[0] === '--ab') {
  const [, other, roundsArg = '5', secArg = '0.3', filter = ''] = argv;
  const dists = { A: path.resolve(other), B: distDir };
  const got = { A: [], B: [] };
  for (let k = 0; k < Number(roundsArg); k++) {
    for (const which of k % 2 ? ['B', 'A'] : ['A', 'B']) {
      const r = spawnSync(process.execPath, [__filename, '--matrix', secArg, filter, '--json'], {
        encoding: 'utf8', env: { ...process.env, FASTLOSS_DIST: dists[which], FASTLOSS_ADDON: which === 'A' ? process.env.FASTLOSS_ADDON_A || '' : process.env.FASTLOSS_ADDON || '' },
      });
      if (r.status !== 0) throw new Error(r.stderr);
      got[which].push(JSON.parse(r.stdout.trim().split('\n').pop()));
    }
  }
  const med = (xs) => xs.slice().sort((x, y) => x - y)[xs.length >> 1];
  console.log(`interleaved A/B, ${roundsArg} rounds each, median ns per call (${os.cpus()[0].model}); A = ${dists.A}, B = ${dists.B}`);
  console.log(`${'call'.padEnd(48)} ${'A'.padStart(7)} ${'B'.padStart(7)} ${'JS'.padStart(7)}  JS/B`);
  got.B[0].forEach((row, i) => {
    const a = med(got.A.map((r) => r[i].ns));
    const b = med(got.B.map((r) => r[i].ns));
    const js = med([...got.A, ...got.B].map((r) => r[i].js));
    console.log(`${row.label.padEnd(48)} ${a.toFixed(0).padStart(7)} ${b.toFixed(0).padStart(7)} ${js.toFixed(0).padStart(7)}  ${(js / b).toFixed(2)}${b > js ? '  slower' : ''}`);
  });
  process.exit(0);
}
if (argv[0] === '--calls') {
  // --calls K loss N mode [variant]: a variant ('' | reduction | out | threads | weight, or 'plain') takes the matrix's call
  const [, kArg, lossName = 'torch.mseLoss', nArg = '256', mode = 'forward', variant] = argv;
  const fastloss = require(distDir);
  const call = variant === undefined ? makeCall(fastloss, lossName, Number(nArg), mode)
    : matrixCall(fastloss, lossName, Number(nArg), mode, variant === 'plain' ? '' : variant);
  // in a function, count hoisted: the loop itself gets optimized (top-level code ran in the baseline
  // compiler and converted kArg every iteration: ~250 instructions a call on top of the call's own)
  const loop = (k) => {
    let sink = 0;
    for (let i = 0; i < k; i++) sink += call();
    return sink;
  };
  console.log(loop(Number(kArg)));
  process.exit(0);
}

const [lossName = 'torch.mseLoss', nArg = '256', mode = 'forward', secArg = '3'] = argv;

if (process.env.FASTLOSS_PROFILE_CHILD) {
  const fastloss = require(distDir);
  const call = makeCall(fastloss, lossName, Number(nArg), mode);
  const end = Date.now() + Number(secArg) * 1000;
  let sink = 0;
  let calls = 0;
  while (Date.now() < end) {
    for (let k = 0; k < 10000; k++) sink += call();
    calls += 10000;
  }
  console.log(JSON.stringify({ calls, nsPerCall: (Number(secArg) * 1e9) / calls, sink }));
  process.exit(0);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-prof-'));
const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, __filename, lossName, nArg, mode, secArg], {
  encoding: 'utf8', env: { ...process.env, FASTLOSS_PROFILE_CHILD: '1' },
});
if (r.status !== 0) {
  console.error(r.stderr);
  process.exit(1);
}
const run = JSON.parse(r.stdout.trim().split('\n').pop());
const file = fs.readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
fs.rmSync(dir, { recursive: true, force: true });

const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
prof.samples.forEach((id, k) => {
  const dt = prof.timeDeltas[k] || 0;
  const n = byId.get(id);
  const cf = n.callFrame;
  const where = cf.url ? `${path.relative(path.join(__dirname, '..'), cf.url.replace('file://', ''))}:${cf.lineNumber + 1}` : '';
  const key = `${cf.functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) || 0) + dt);
  total += dt;
});
const top = [...self.entries()].sort((x, y) => y[1] - x[1]).slice(0, 20);
console.log(`${lossName} N=${nArg} ${mode}: ${run.nsPerCall.toFixed(0)} ns per call (${run.calls} calls, profiler on)`);
console.log('self time   share  ns/call  function');
for (const [k, us] of top)
  console.log(`${(us / 1e3).toFixed(0).padStart(7)} ms  ${((100 * us) / total).toFixed(1).padStart(5)}%  ${((us * 1e3) / run.calls).toFixed(0).padStart(6)}  ${k}`);
