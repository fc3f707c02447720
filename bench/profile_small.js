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
if (argv[0] === '--calls') {
  const [, kArg, lossName = 'torch.mseLoss', nArg = '256', mode = 'forward'] = argv;
  const fastloss = require(distDir);
  const call = makeCall(fastloss, lossName, Number(nArg), mode);
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
