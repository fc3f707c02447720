#!/usr/bin/env node
'use strict';
// npm run bench: throughput of every loss (fastloss, a plain-JS loop, TensorFlow.js on WASM,
// PyTorch 1.13), fixed per-call cost at small N, and a roofline against the measured read
// bandwidth. Tables on stdout, progress on stderr, all figures in bench/results/latest.json.
// Options: --quick, --filter <substring>, --case <substring>, --threads N, --no-tfjs, --no-torch,
//          --include-missing, --out <file>. See the Benchmark section of README.md.
// Modes that run instead of the throughput tables (any combination; bench/modes/):
//   --busy [--hogs N]  per-call median and p99, default threads vs 1, beside N CPU-bound processes
//   --cluster [N]      N processes at once (default: one per core) vs one process alone
//   --sweep            short rows and small class counts against plain JS, 1 thread
//   --tfjs             ms per tfjs-layers training step, tfjs' own loss vs fastloss/tfjs, CPU and wasm backends
//   --files [--no-parquet] [--files-runs N] [--files-write BYTES]
//                      scoring .npy / Parquet files against the in-memory call (bench/modes/files.js)
//   --small            the fixed per-call cost table alone (forward, withGrad and backward at small N)
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const { DataCache } = require('./lib/data');
const { measureQuiet, median, now } = require('./lib/harness');
const { sig, ratio, pct, table } = require('./lib/format');
const { loadTfjs } = require('./lib/tfjs');
const { runLimit, printLimit, bytesPerElement, l2Cache } = require('./lib/limit');
const cpuLoad = require('./lib/load');
const { startTorch, localSide, peerSide, interleave } = require('./lib/peer');
const { loadWorkloads } = require('./workloads');

const root = path.join(__dirname, '..');
const fastloss = require(path.join(root, 'dist'));
const { native, setRawCall } = require(path.join(root, 'dist', 'core', 'native'));

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { quick: false, filters: [], cases: [], threads: null, tfjs: true, torch: true, includeMissing: false, waitQuiet: 0,
    out: null, small: false, busy: false, hogs: null, cluster: 0, sweep: false, tfjsSteps: false, files: false, parquet: true, filesRuns: null, filesWrite: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`bench: ${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--filter') o.filters.push(value());
    else if (a.startsWith('--filter=')) o.filters.push(a.slice(9));
    else if (a === '--case') o.cases.push(value());
    else if (a.startsWith('--case=')) o.cases.push(a.slice(7));
    else if (a === '--threads') o.threads = Number(value());
    else if (a.startsWith('--threads=')) o.threads = Number(a.slice(10));
    else if (a === '--no-tfjs') o.tfjs = false;
    else if (a === '--no-torch') o.torch = false;
    else if (a === '--include-missing') o.includeMissing = true;
    else if (a === '--wait-quiet') o.waitQuiet = Number(value());
    else if (a === '--out') o.out = path.resolve(value());
    else if (a === '--busy') o.busy = true;
    else if (a === '--small') o.small = true;
    else if (a === '--hogs') o.hogs = Number(value());
    else if (a === '--sweep') o.sweep = true;
    else if (a === '--tfjs') o.tfjsSteps = true;
    else if (a === '--files') o.files = true;
    else if (a === '--no-parquet') o.parquet = false;
    else if (a === '--files-runs') o.filesRuns = Number(value());
    else if (a === '--files-write') o.filesWrite = Number(value());
    else if (a === '--cluster') o.cluster = /^\d+$/.test(argv[i + 1] ?? '') ? Number(argv[++i]) : os.cpus().length;
    else if (a === '--help' || a === '-h') {
      console.log('usage: npm run bench -- [--quick] [--filter <substring>]... [--case <substring>]... [--threads N] [--no-tfjs] [--no-torch]\n' +
        '                       [--include-missing] [--wait-quiet <max seconds>] [--out <file>]\n' +
        '                       [--small] [--busy [--hogs N]] [--cluster [N]] [--sweep] [--tfjs] [--files [--no-parquet] [--files-runs N] [--files-write BYTES]]   (modes: only their tables)');
      process.exit(0);
    } else throw new Error(`bench: unknown option ${a} (try --help)`);
  }
  if (o.threads !== null && !(Number.isInteger(o.threads) && o.threads >= 1))
    throw new Error('bench: --threads needs an integer >= 1');
  if (o.hogs !== null && !(Number.isInteger(o.hogs) && o.hogs >= 0)) throw new Error('bench: --hogs needs an integer >= 0');
  if (!(Number.isInteger(o.cluster) && o.cluster >= 0)) throw new Error('bench: --cluster needs an integer >= 1');
  if (o.filesRuns !== null && !(Number.isInteger(o.filesRuns) && o.filesRuns >= 1)) throw new Error('bench: --files-runs needs an integer >= 1');
  if (o.filesWrite !== null && !(Number.isInteger(o.filesWrite) && o.filesWrite >= 4096 && o.filesWrite % 4096 === 0))
    throw new Error('bench: --files-write needs a multiple of 4096 bytes');
  o.modes = o.busy || o.cluster > 0 || o.sweep || o.tfjsSteps || o.files;
  o.out = o.out ?? path.join(__dirname, 'results', o.modes ? 'modes.json' : o.small ? 'small.json' : 'latest.json');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
// Per measurement: samples of at least sampleMs, at least minSamples of them, then more
// until budgetMs is spent (at most maxSamples).
// A figure measured while other processes used more than maxOtherCores is measured again (up to
// `retries` times, after waiting up to quietWaitMs for a quiet moment); the report counts the rest.
// The PyTorch comparison takes torchRounds interleaved rounds per figure (bench/lib/peer.js; odd: a middle
// round is the median; at least 20 for the bootstrap interval).
const TIMING = opts.quick
  ? { sampleMs: 1, budgetMs: 40, minSamples: 3, maxSamples: 15, warmups: 1, retries: 0, maxOtherCores: 0.25, quietWaitMs: 0,
    torchRounds: 21 }
  : { sampleMs: 2, budgetMs: 250, minSamples: 5, maxSamples: 40, warmups: 2, retries: 3, maxOtherCores: 0.25, quietWaitMs: 20000,
    waitBudget: { ms: 180000 }, torchRounds: 31 };
const contention = { figures: 0, contended: 0, retried: 0 };
function measure(fn, cfg) {
  const m = measureQuiet(fn, cfg);
  contention.figures++;
  if (m.attempts > 1) contention.retried++;
  if (m.otherCores !== null && m.otherCores > cfg.maxOtherCores) contention.contended++;
  return m;
}
const SMALL_N = [1, 16, 256, 4096];
const SMALL_LOSSES = ['torch.mseLoss', 'keras.logCosh'];
const PROBE_FLOATS = 1 << 26; // 256 MiB: far beyond the last-level cache
let t0 = now();
let stopLoad = cpuLoad.start();
const log = (...a) => console.error(...a);
let sink = 0; // results land here so no call can be optimized away

if (opts.threads !== null) fastloss.setNumThreads(opts.threads);
const threads = fastloss.getNumThreads();
const matches = (name) => opts.filters.length === 0 || opts.filters.some((f) => name.includes(f));
const caseMatches = (label) => opts.cases.length === 0 || opts.cases.some((f) => label.includes(f));

// ---------------------------------------------------------------- machine
function machineInfo() {
  let cpu = os.cpus()[0] ? os.cpus()[0].model : 'unknown';
  let l3 = null;
  const l2 = l2Cache();
  try {
    const m = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.*)$/m);
    if (m) cpu = m[1].trim();
  } catch { /* not Linux */ }
  try {
    l3 = fs.readFileSync('/sys/devices/system/cpu/cpu0/cache/index3/size', 'utf8').trim();
  } catch { /* unknown */ }
  return {
    cpu,
    cores: os.cpus().length,
    l2: l2 && `${l2.bytes / 1024}K`,
    l3,
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    platform: `${process.platform}-${process.arch}`,
    node: process.version,
    fastloss: fastloss.info(),
  };
}

function lookup(name) {
  const [ns, fn] = name.split('.');
  const f = fastloss[ns] && fastloss[ns][fn];
  return typeof f === 'function' ? f : null;
}

function isInt(a) {
  return a instanceof Int32Array;
}

// ---------------------------------------------------------------- bandwidth probe
function bandwidth() {
  const id = native.kernels['probe.streamRead'];
  if (id === undefined) return { available: false, note: 'the addon has no probe.streamRead kernel (rebuild)' };
  const x = new Float32Array(PROBE_FLOATS).fill(1);
  const run = () => {
    setRawCall('probe.streamRead', { flags: 1, reduction: 2, shape: [x.length] });
    sink += native.run(x);
  };
  const at = (t) => {
    fastloss.setNumThreads(t);
    const m = measure(run, { ...TIMING, minSamples: Math.max(5, TIMING.minSamples) });
    return { threads: t, GBps: (x.byteLength / m.ns), ...m };
  };
  const res = { available: true, kernel: 'probe.streamRead', bytes: x.byteLength, runs: [at(threads)] };
  if (threads !== 1) res.runs.push(at(1));
  fastloss.setNumThreads(threads);
  res.GBps = res.runs[0].GBps;
  return res;
}

// Roofline of one case, robust to bandwidth drift (a VM's memory bandwidth moves with its
// neighbours): ROUNDS rounds, each timing one read of the case's own input arrays with
// probe.streamRead (same bytes, same cache state: the read-only floor), one forward and one
// withGrad call; fractions are medians of the per-round ratios.
const ROOF_ROUNDS = 15;
function rooflineOf(args, inBytes, wgBytes, forward, withGrad) {
  const id = native.kernels['probe.streamRead'];
  if (id === undefined) return null;
  const views = args.map((a) => (a instanceof Float32Array ? a : new Float32Array(a.buffer, a.byteOffset, a.length)));
  const read = () => {
    for (const v of views) {
      setRawCall('probe.streamRead', { flags: 1, reduction: 2, shape: [v.length] });
      sink += native.run(v);
    }
  };
  const time = (f) => {
    const t = process.hrtime.bigint();
    f();
    return Number(process.hrtime.bigint() - t);
  };
  read();
  const rounds = { read: [], fwd: [], wg: [] };
  for (let k = 0; k < ROOF_ROUNDS; k++) {
    const tr = time(read);
    const tf = time(forward);
    const tw = time(withGrad);
    rounds.read.push(inBytes / tr);
    rounds.fwd.push(tr / tf);
    rounds.wg.push((wgBytes / tw) / (inBytes / tr));
  }
  return { rounds: ROOF_ROUNDS, readGBps: median(rounds.read), forwardFraction: median(rounds.fwd), withGradFraction: median(rounds.wg) };
}

// ---------------------------------------------------------------- throughput
function relDiff(a, b) {
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b), 1e-30);
}

function maxGradDiff(as, bs) {
  let worst = 0;
  for (let k = 0; k < as.length; k++) {
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < as[k].length; i++) {
      scale = Math.max(scale, Math.abs(as[k][i]));
      diff = Math.max(diff, Math.abs(as[k][i] - bs[k][i]));
    }
    worst = Math.max(worst, scale > 0 ? diff / scale : diff);
  }
  return worst;
}

function tfjsRunner(tf, w, c, inputs, args) {
  const made = inputs.map((s, k) => tf.tensor(args[k], s.shape, isInt(args[k]) ? 'int32' : 'float32'));
  // prepare (one-hot labels ...) inside tidy: its intermediates go, the returned tensors stay
  const tensors = w.tfjs.prepare ? tf.tidy(() => w.tfjs.prepare(tf, made, c)) : made;
  const keep = new Set([...made, ...tensors]);
  const diffIdx = inputs.map((s, k) => (s.grad ? k : -1)).filter((k) => k >= 0);
  let value = NaN;
  const forward = () => {
    tf.tidy(() => { value = w.tfjs.loss(tf, ...tensors).dataSync()[0]; });
    sink += value;
  };
  const vg = tf.valueAndGrads((...d) => {
    const all = tensors.slice();
    diffIdx.forEach((i, k) => { all[i] = d[k]; });
    return w.tfjs.loss(tf, ...all);
  });
  const withGrad = () => {
    tf.tidy(() => { value = vg(diffIdx.map((i) => tensors[i])).value.dataSync()[0]; });
    sink += value;
  };
  return {
    forward,
    withGrad,
    value: () => { forward(); return value; },
    dispose: () => { for (const t of keep) t.dispose(); },
  };
}

function runCase(w, c, fn, data, tf, checks) {
  const inputs = w.inputs(c);
  const args = inputs.map((s) => data.get(s.gen, s.length));
  const callOpts = w.opts ? w.opts(c) : {};
  const gradSpecs = inputs.filter((s) => s.grad);
  const flGrads = gradSpecs.map((s) => new Float32Array(s.length));
  const jsGrads = gradSpecs.map((s) => new Float32Array(s.length));
  const outGrad = gradSpecs.length === 1 ? flGrads[0] : Object.fromEntries(gradSpecs.map((s, k) => [s.name, flGrads[k]]));
  const wgOpts = { ...callOpts, out: { grad: outGrad } };
  const tag = `${w.name} ${c.label}`;
  const r = { loss: w.name, family: w.family, bound: w.bound, case: c.label, n: c.n, shape: c.shape,
    bytesPerElement: bytesPerElement(inputs, c.n), forward: {}, withGrad: {}, values: {} };
  const rate = (m) => ({ MeS: c.n / m.ns * 1e3, nsPerCall: m.ns, samples: m.samples, inner: m.inner });

  // values first (also a warm-up), then the timings
  r.values.js = w.js.forward(args, c);
  if (fn) {
    r.values.fastloss = fn(...args, callOpts);
    const d = relDiff(r.values.fastloss, r.values.js);
    if (!(d < 1e-4)) checks.push(`${tag}: fastloss ${r.values.fastloss} vs plain JS ${r.values.js} (rel ${d.toExponential(1)})`);
    const wg = fn.withGrad(...args, wgOpts);
    w.js.withGrad(args, jsGrads, c);
    const gd = maxGradDiff(flGrads, jsGrads);
    r.gradMaxRelDiff = gd;
    if (!(gd < 1e-3)) checks.push(`${tag}: withGrad gradient differs from plain JS (max rel ${gd.toExponential(1)})`);
    if (relDiff(wg.loss, r.values.fastloss) > 1e-6) checks.push(`${tag}: withGrad loss ${wg.loss} != forward ${r.values.fastloss}`);
  }

  const jsCalls = { forward: () => { sink += w.js.forward(args, c); }, withGrad: () => { sink += w.js.withGrad(args, jsGrads, c); } };
  // what the PyTorch rounds interleave with: fastloss, or the plain loop for a loss fastloss lacks
  const calls = fn
    ? { forward: () => { sink += fn(...args, callOpts); }, withGrad: () => { sink += fn.withGrad(...args, wgOpts).loss; } }
    : jsCalls;
  if (fn) {
    log(`  ${tag}: fastloss`);
    r.forward.fastloss = rate(measure(calls.forward, TIMING));
    r.withGrad.fastloss = rate(measure(calls.withGrad, TIMING));
    r.withGrad.fastlossAlloc = rate(measure(() => { sink += fn.withGrad(...args, callOpts).loss; }, TIMING));
    if (c.n === Math.max(...w.cases.map((k) => k.n))) {
      const inBytes = r.bytesPerElement.forward * c.n;
      r.roofline = rooflineOf(args, inBytes, r.bytesPerElement.withGrad * c.n, calls.forward, calls.withGrad);
    }
  }
  log(`  ${tag}: plain JS`);
  r.forward.js = rate(measure(jsCalls.forward, TIMING));
  r.withGrad.js = rate(measure(jsCalls.withGrad, TIMING));

  if (tf && w.tfjs) {
    log(`  ${tag}: tfjs`);
    const before = tf.memory().numTensors;
    let runner;
    try {
      runner = tfjsRunner(tf, w, c, inputs, args);
      r.values.tfjs = runner.value();
      const ref = fn ? r.values.fastloss : r.values.js;
      const d = relDiff(r.values.tfjs, ref);
        if (!(d < 2e-3))
        checks.push(`${tag}: tfjs ${r.values.tfjs} vs ${ref} (rel ${d.toExponential(1)})${c.n >= 1e6 ? ': tfjs-wasm sums in float32' : ''}`);
      r.forward.tfjs = rate(measure(runner.forward, TIMING));
      r.withGrad.tfjs = rate(measure(runner.withGrad, TIMING));
    } catch (e) {
      r.tfjsError = e.message;
      checks.push(`${tag}: tfjs failed: ${e.message}`);
    } finally {
      if (runner) runner.dispose();
    }
    const leaked = tf.memory().numTensors - before;
    if (leaked) checks.push(`${tag}: tfjs leaked ${leaked} tensors`);
  }
  return { result: r, inputs, calls };
}

// ---------------------------------------------------------------- small-N fixed cost
function smallN(w, fn, data) {
  const rows = [];
  const keras = w.name.startsWith('keras.');
  for (const N of SMALL_N) {
    const c = { label: String(N), n: N, shape: [N] };
    const inputs = w.inputs(c);
    const args = inputs.map((s) => data.get(s.gen, s.length));
    // the kernel's slot order: torch [input, target], keras [yPred, yTrue, sampleWeight]
    const slots = keras ? [args[1], args[0], null] : args;
    const g = new Float32Array(N);
    // native.run with the call prepared once (no facade): kernel inputs in slot order, then outputs
    const rawForward = () => setRawCall(w.name, { flags: 1, reduction: 1, shape: [N] });
    const [r0, r1, r2, r3] = [...slots, g];
    const rawWithGrad = () => setRawCall(w.name, { flags: 3, reduction: 1, shape: [N], gradCount: 1 });
    const jsG = new Float32Array(N);
    const [a0, a1] = args;
    const m = {
      forward: {
        fastloss: measure(() => { sink += fn(a0, a1); }, TIMING),
        native: (rawForward(), measure(() => { sink += native.run(slots[0], slots[1], slots[2]); }, TIMING)),
        js: measure(() => { sink += w.js.forward(args, c); }, TIMING),
      },
      backward: {
        fastloss: measure(() => { sink += fn.backward(a0, a1)[0]; }, TIMING),
        fastlossOut: measure(() => { sink += fn.backward(a0, a1, { out: g })[0]; }, TIMING),
      },
      withGrad: {
        fastloss: measure(() => { sink += fn.withGrad(a0, a1).loss; }, TIMING),
        fastlossOut: measure(() => { sink += fn.withGrad(a0, a1, { out: { grad: g } }).loss; }, TIMING),
        native: (rawWithGrad(), measure(() => { sink += native.run(r0, r1, r2, r3); }, TIMING)),
        js: measure(() => { sink += w.js.withGrad(args, [new Float32Array(N)], c); }, TIMING),
        jsOut: measure(() => { sink += w.js.withGrad(args, [jsG], c); }, TIMING),
      },
    };
    const ns = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.ns]));
    const calls = { forward: () => { sink += fn(a0, a1); }, withGrad: () => { sink += fn.withGrad(a0, a1).loss; } };
    rows.push({ loss: w.name, N, inputs, calls, forward: ns(m.forward), withGrad: ns(m.withGrad), backward: ns(m.backward) });
  }
  return rows;
}

// ---------------------------------------------------------------- PyTorch
function torchAvailable() {
  const r = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  if (r.error) return { ok: false, note: `no /usr/bin/python3 (${r.error.code})` };
  if (r.status !== 0) return { ok: false, note: '/usr/bin/python3 cannot import torch' };
  return { ok: true };
}

// The PyTorch server (bench/lib/peer.js) on fastloss's thread count: { peer, info } or { info } with a note.
async function openTorch() {
  const check = torchAvailable();
  if (!check.ok) return { info: { available: false, note: check.note } };
  const peer = startTorch(threads);
  try {
    const hello = await peer.hello;
    return { peer, info: { available: true, version: hello.version, threads: hello.threads, parallel: hello.parallel,
      cpuCapability: hello.cpuCapability, python: '/usr/bin/python3' } };
  } catch (e) {
    return { info: { available: false, note: `bench/torch_bench.py did not start: ${e.message}` } };
  }
}

// One case in PyTorch, interleaved with `calls` (fastloss's forward / withGrad): { value, forward, withGrad },
// each mode { ratio (x torch), interval, rounds, flNs, otherNs (PyTorch ns per call), otherCores } (peer.js).
const torchContention = { figures: 0, contended: 0 };
async function compareTorch(peer, w, inputs, calls, data) {
  const { value } = await peer.request({ op: 'load', case: {
    torch: w.torch,
    keras: w.name.startsWith('keras.'),
    inputs: inputs.map((s) => ({ file: data.file(s.gen, s.length), dtype: isInt(data.get(s.gen, s.length)) ? 'i32' : 'f32',
      shape: s.shape, grad: !!s.grad })),
  } });
  const out = { value };
  for (const mode of ['forward', 'withGrad']) {
    const stop = cpuLoad.start([peer.proc.pid]); // the server's CPU time is not "other processes"
    const stallsBefore = native.info().poolStalls;
    const cmp = await interleave(localSide(calls[mode], TIMING.sampleMs), peerSide(peer, mode, TIMING.sampleMs), TIMING.torchRounds);
    const { otherCores } = stop();
    torchContention.figures++;
    if (otherCores !== null && otherCores > TIMING.maxOtherCores) torchContention.contended++;
    // poolStalls: contention stalls fastloss's runtime counted during the rounds (each puts its next calls on
    // one thread for a while: runtime.cpp's backoff), so a slow fastloss side can be told from a slow kernel.
    out[mode] = { ...cmp, otherCores, poolStalls: native.info().poolStalls - stallsBefore };
  }
  return out;
}

// ---------------------------------------------------------------- main
// --wait-quiet S: wait (at most S seconds) until other processes use less than 0.15 cores.
async function waitQuiet(maxSec) {
  const deadline = Date.now() + maxSec * 1000;
  for (;;) {
    const stop = cpuLoad.start();
    await new Promise((r) => setTimeout(r, 3000));
    const { otherCores } = stop();
    if (otherCores === null || otherCores < 0.15) return;
    if (Date.now() > deadline) {
      log(`machine still busy (${otherCores.toFixed(2)} cores used by others): starting anyway`);
      return;
    }
    log(`waiting for a quiet machine: others use ${otherCores.toFixed(2)} cores`);
  }
}

// --busy, --cluster, --sweep: their tables only.
async function runModes() {
  const modes = require('./modes');
  const report = { date: new Date().toISOString(), machine: machineInfo(), config: { quick: opts.quick, filters: opts.filters } };
  const printed = [];
  if (opts.busy) {
    report.busy = await modes.busy.runBusy(opts, log);
    printed.push(modes.busy.printBusy(report.busy));
  }
  if (opts.cluster > 0) {
    report.cluster = await modes.cluster.runCluster(opts, log);
    printed.push(modes.cluster.printCluster(report.cluster));
  }
  if (opts.sweep) {
    report.sweep = modes.sweep.runSweep(opts, log);
    printed.push(modes.sweep.printSweep(report.sweep));
  }
  if (opts.tfjsSteps) {
    report.tfjs = await modes.tfjs.runTfjs(opts, log);
    printed.push(modes.tfjs.printTfjs(report.tfjs));
  }
  if (opts.files) {
    report.files = await modes.files.runFiles(opts, log);
    printed.push(modes.files.printFiles(report.files));
  }
  report.otherLoad = stopLoad();
  const m = report.machine;
  console.log(`fastloss bench modes  ${report.date}${opts.quick ? '  (--quick)' : ''}\n` +
    `machine   ${m.cpu}, ${m.cores} cores, node ${m.node}; fastloss ISA ${m.fastloss.isa}, ${m.fastloss.threads} threads by default\n`);
  console.log(printed.join('\n\n'));
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
}

// --small: the fixed per-call cost table alone.
function runSmall() {
  const data = new DataCache();
  const all = loadWorkloads();
  const smallN = smallRows(all, data);
  const report = { date: new Date().toISOString(), machine: machineInfo(), config: { quick: opts.quick, filters: opts.filters, threads },
    smallN, otherLoad: stopLoad(), contention };
  const m = report.machine;
  const out = [`fastloss bench --small  ${report.date}${opts.quick ? '  (--quick)' : ''}`,
    `machine   ${m.cpu}, ${m.cores} cores, node ${m.node}; fastloss ISA ${m.fastloss.isa}, ${threads} threads`, ''];
  printSmall(report, out);
  console.log(out.join('\n'));
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), opts.out) || opts.out}`);
  data.cleanup();
  if (sink === 0.123456789) console.log(''); // keep sink observable
}

/** smallN() of every SMALL_LOSSES workload the filters take. */
function smallRows(all, data) {
  const small = [];
  for (const name of SMALL_LOSSES) {
    const w = all.find((x) => x.name === name);
    const fn = w && lookup(name);
    if (!w || !fn || !matches(name)) continue;
    log(`  small N: ${name}`);
    const rows = smallN(w, fn, data);
    small.push(...rows);
  }
  return small;
}

async function main() {
  if (opts.modes) return runModes();
  if (opts.small) return runSmall();
  if (opts.waitQuiet > 0) {
    await waitQuiet(opts.waitQuiet);
    t0 = now();
    stopLoad = cpuLoad.start();
  }
  const machine = machineInfo();
  const all = loadWorkloads();
  const workloads = all.filter((w) => matches(w.name));
  if (workloads.length === 0) throw new Error(`bench: no workload matches ${opts.filters.join(', ')}`);
  log(`fastloss bench: ${workloads.length} losses, ${threads} threads${opts.quick ? ', quick' : ''}`);

  let tf = null;
  let tfjsInfo = { available: false, note: 'disabled (--no-tfjs)' };
  if (opts.tfjs) {
    const t = await loadTfjs();
    tf = t.tf;
    tfjsInfo = t.info;
  }
  const { peer, info: torchInfo } = opts.torch ? await openTorch() : { info: { available: false, note: 'disabled (--no-torch)' } };
  if (!peer) log(`PyTorch skipped: ${torchInfo.note}`);

  log('bandwidth probe');
  const bw = bandwidth();

  const data = new DataCache();
  const checks = [];
  const skipped = [];
  const results = [];
  for (const w of workloads) {
    const fn = lookup(w.name);
    if (!fn) {
      const note = `fastloss has no ${w.name} yet`;
      if (!opts.includeMissing) {
        skipped.push({ loss: w.name, note: `${note}: skipped` });
        log(`skip ${w.name}: ${note}`);
        continue;
      }
      skipped.push({ loss: w.name, note: `${note}: other columns only (--include-missing)` });
    }
    for (const c of w.cases.filter((k) => caseMatches(k.label))) {
      const { result: r, inputs, calls } = runCase(w, c, fn, data, tf, checks);
      results.push(r);
      if (!peer || !w.torch) continue;
      log(`  ${w.name} ${c.label}: torch, ${TIMING.torchRounds} rounds interleaved with ${fn ? 'fastloss' : 'plain JS'}`);
      try {
        const t = await compareTorch(peer, w, inputs, calls, data);
        r.values.torch = t.value;
        const ref = r.values.fastloss ?? r.values.js;
        const d = relDiff(t.value, ref);
        if (!(d < 1e-3)) checks.push(`${r.loss} ${r.case}: torch ${t.value} vs ${ref} (rel ${d.toExponential(1)})`);
        for (const mode of ['forward', 'withGrad']) {
          const m = t[mode];
          r[mode].torch = { MeS: r.n / m.otherNs * 1e3, nsPerCall: m.otherNs, samples: m.rounds, otherCores: m.otherCores,
            // x torch: median of the per-round ratios against fastloss (none when the partner was plain JS)
            ...(fn ? { ratio: m.ratio, interval: m.interval, fastlossNs: m.flNs, poolStalls: m.poolStalls } : {}),
            times: m.otherTimes, partnerTimes: m.flTimes };
        }
      } catch (e) {
        checks.push(`${r.loss} ${r.case}: torch: ${e.message}`);
      }
    }
  }

  log('limit: compute-bound losses against their primitive mix, 1 thread, in L2');
  const limit = runLimit({ fastloss, native, setRawCall, measure, timing: TIMING, sink: (v) => { sink += v; }, lookup, data,
    workloads, log });

  const small = smallRows(all, data);
  for (const s of peer ? small : []) {
    const w = all.find((x) => x.name === s.loss);
    if (!w.torch) continue;
    try {
      const t = await compareTorch(peer, w, s.inputs, s.calls, data);
      s.forward.torch = t.forward.otherNs;
      s.withGrad.torch = t.withGrad.otherNs;
    } catch (e) {
      checks.push(`${s.loss} N=${s.N}: torch: ${e.message}`);
    }
  }
  if (peer) await peer.close();
  data.cleanup();
  for (const s of small) {
    delete s.inputs;
    delete s.calls;
  }

  // roofline at the largest case of each loss
  const roofline = [];
  for (const name of [...new Set(results.map((r) => r.loss))]) {
    const rs = results.filter((r) => r.loss === name);
    const r = rs.reduce((a, b) => (b.n > a.n ? b : a));
    if (!r.forward.fastloss || !bw.available) continue;
    const gbF = r.forward.fastloss.MeS * r.bytesPerElement.forward / 1e3;
    const gbG = r.withGrad.fastloss.MeS * r.bytesPerElement.withGrad / 1e3;
    const rf = r.roofline;
    roofline.push({ loss: name, case: r.case, bound: r.bound, bytesPerElement: r.bytesPerElement, readGBps: rf && rf.readGBps,
      forward: { GBps: gbF, fraction: rf && rf.forwardFraction, fractionOfProbe: gbF / bw.GBps },
      withGrad: { GBps: gbG, fraction: rf && rf.withGradFraction, fractionOfProbe: gbG / bw.GBps } });
  }

  const runtimeSec = (now() - t0) / 1e9;
  const load = stopLoad();
  const report = {
    date: new Date().toISOString(),
    machine,
    config: { quick: opts.quick, filters: opts.filters, cases: opts.cases, threads, timing: TIMING, includeMissing: opts.includeMissing },
    tfjs: tfjsInfo,
    torch: torchInfo.available
      ? { ...torchInfo, rounds: TIMING.torchRounds } : { available: false, note: torchInfo.note },
    bandwidth: bw.available ? { kernel: bw.kernel, bytes: bw.bytes, GBps: bw.GBps,
      runs: bw.runs.map((r) => ({ threads: r.threads, GBps: r.GBps, samples: r.samples })) } : bw,
    torchContention: torchInfo.available ? torchContention : undefined,
    throughput: results,
    roofline,
    limit,
    smallN: small,
    skipped,
    checks,
    otherLoad: load,
    contention,
    runtimeSec,
  };
  print(report);
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, `${JSON.stringify(report, null, 1)}\n`);
  console.log(`\nwrote ${path.relative(process.cwd(), opts.out) || opts.out}; total bench runtime ${runtimeSec.toFixed(0)} s`);
  if (sink === 0.123456789) console.log(''); // keep sink observable
}

// ---------------------------------------------------------------- printing
// The fixed per-call cost tables (forward, withGrad, backward) into `out`.
function printSmall(rep, out) {
  if (!rep.smallN.length) return;
  const ns = (v) => (v ? sig(v) : '-');
  out.push('Fixed per-call cost: ns per call (1-D input of N elements, default options); JS/fl = plain JS time / fastloss time (above 1: fastloss faster)');
  out.push('forward: fastloss = loss(a, b); native.run = the addon call with prepared params (no facade)');
  out.push(table(
    [{ title: 'loss', align: 'l' }, { title: 'N' }, { title: 'fastloss' }, { title: 'native.run' }, { title: 'plain JS' }, { title: 'JS/fl' }, { title: 'torch' }],
    rep.smallN.map((s) => [s.loss, s.N, ns(s.forward.fastloss), ns(s.forward.native), ns(s.forward.js),
      ratio(s.forward.js, s.forward.fastloss), ns(s.forward.torch)])));
  out.push('withGrad: fastloss = new gradient array each call, fl(out) = into opts.out.grad; plain JS (loss and gradient) the same two ways');
  out.push(table(
    [{ title: 'loss', align: 'l' }, { title: 'N' }, { title: 'fastloss' }, { title: 'plain JS' }, { title: 'JS/fl' },
      { title: 'fl(out)' }, { title: 'native.run' }, { title: 'JS(out)' }, { title: 'JS/fl(out)' }, { title: 'torch' }],
    rep.smallN.map((s) => [s.loss, s.N, ns(s.withGrad.fastloss), ns(s.withGrad.js), ratio(s.withGrad.js, s.withGrad.fastloss),
      ns(s.withGrad.fastlossOut), ns(s.withGrad.native), ns(s.withGrad.jsOut), ratio(s.withGrad.jsOut, s.withGrad.fastlossOut),
      ns(s.withGrad.torch)])));
  out.push('backward: fastloss = new gradient array each call, fl(out) = into opts.out; against the same plain JS loops as withGrad');
  out.push(table(
    [{ title: 'loss', align: 'l' }, { title: 'N' }, { title: 'fastloss' }, { title: 'plain JS' }, { title: 'JS/fl' },
      { title: 'fl(out)' }, { title: 'JS(out)' }, { title: 'JS/fl(out)' }],
    rep.smallN.map((s) => [s.loss, s.N, ns(s.backward?.fastloss), ns(s.withGrad.js), ratio(s.withGrad.js, s.backward?.fastloss),
      ns(s.backward?.fastlossOut), ns(s.withGrad.jsOut), ratio(s.withGrad.jsOut, s.backward?.fastlossOut)])));
  out.push('');
  const slower = smallSlower(rep.smallN);
  if (rep.throughput === undefined) out.push(slower.length ? `fastloss slower than plain JS:\n  ${slower.join('\n  ')}` : 'fastloss slower than plain JS: nowhere');
}

/** The fixed-cost rows where fastloss took longer than the plain JS loop doing the same. */
function smallSlower(rows) {
  const slower = [];
  const row = (s, what, fl, js) => { if (fl && js && fl > js) slower.push(`${s.loss} N=${s.N} ${what}: ${sig(fl)} ns vs plain JS ${sig(js)} ns`); };
  for (const s of rows) {
    row(s, 'forward', s.forward.fastloss, s.forward.js);
    row(s, 'withGrad', s.withGrad.fastloss, s.withGrad.js);
    row(s, 'withGrad into out', s.withGrad.fastlossOut, s.withGrad.jsOut);
    row(s, 'backward', s.backward?.fastloss, s.withGrad.js);
    row(s, 'backward into out', s.backward?.fastlossOut, s.withGrad.jsOut);
  }
  return slower;
}

function print(rep) {
  const m = rep.machine;
  const fl = m.fastloss;
  const out = [];
  out.push(`fastloss benchmark  ${rep.date}${rep.config.quick ? '  (--quick)' : ''}`);
  out.push(`machine   ${m.cpu}, ${m.cores} cores${m.l2 ? `, L2 ${m.l2}` : ''}${m.l3 ? `, L3 ${m.l3}` : ''}, ${m.memoryGiB} GiB, ${m.platform}, node ${m.node}`);
  out.push(`fastloss  ISA ${fl.isa} (built ${fl.builtIsa.join('/')}), ${rep.config.threads} threads (${fl.openmp})`);
  out.push(`plain JS  straightforward loops, 1 thread (double accumulators)`);
  out.push(rep.tfjs.available
    ? `tfjs      ${rep.tfjs.version} backend ${rep.tfjs.backend}, ${rep.tfjs.wasmFile} (${rep.tfjs.flavour}), ${rep.tfjs.threads} thread${rep.tfjs.threads > 1 ? 's' : ''}${rep.tfjs.note ? `: ${rep.tfjs.note}` : ''}`
    : `tfjs      skipped: ${rep.tfjs.note}`);
  out.push(rep.torch.available
    ? `torch     PyTorch ${rep.torch.version}, ${rep.torch.threads} threads (${rep.torch.parallel}); ${rep.torch.rounds} rounds per figure, ` +
      'each a sample of fastloss and one of PyTorch in turn (x torch: median of the per-round ratios)'
    : `torch     skipped: ${rep.torch.note}`);
  const t = rep.config.timing;
  out.push(`method    median of >= ${t.minSamples} samples of >= ${t.sampleMs} ms each (batched calls) after warm-up; budget ${t.budgetMs} ms per figure`);
  out.push('');
  if (rep.bandwidth.GBps) {
    out.push(`Streaming read bandwidth (${rep.bandwidth.kernel}, ${(rep.bandwidth.bytes / 2 ** 20).toFixed(0)} MiB): ` +
      rep.bandwidth.runs.map((r) => `${sig(r.GBps)} GB/s on ${r.threads} thread${r.threads > 1 ? 's' : ''}`).join(', '));
    out.push('');
  }

  const speed = 'x = fastloss throughput / other (above 1: fastloss faster)';
  const tput = (mode, title) => {
    out.push(`${title}: million elements/s (elements of the prediction input); ${speed};`);
    out.push('x torch = median over the interleaved rounds of PyTorch\'s time / fastloss\'s, x torch 90% = its bootstrap interval');
    const cols = [{ title: 'loss', align: 'l' }, { title: 'case', align: 'l' }, { title: 'fastloss' }];
    if (mode === 'withGrad') cols.push({ title: 'fl(alloc)' });
    cols.push({ title: 'plain JS' }, { title: 'x JS' }, { title: 'tfjs' }, { title: 'x tfjs' }, { title: 'torch' }, { title: 'x torch' },
      { title: 'x torch 90%', align: 'l' });
    const rows = rep.throughput.map((r) => {
      const d = r[mode];
      const f = d.fastloss && d.fastloss.MeS;
      const row = [r.loss, r.case, sig(f)];
      if (mode === 'withGrad') row.push(sig(d.fastlossAlloc && d.fastlossAlloc.MeS));
      const js = d.js && d.js.MeS;
      const tj = d.tfjs && d.tfjs.MeS;
      const th = d.torch && d.torch.MeS;
      const iv = d.torch && d.torch.interval;
      row.push(sig(js), ratio(f, js), sig(tj), ratio(f, tj), sig(th), d.torch && d.torch.ratio ? `${sig(d.torch.ratio)}x` : '-',
        iv && Number.isFinite(iv[0]) ? `${sig(iv[0])}-${sig(iv[1])}` : '-');
      return row;
    });
    out.push(table(cols, rows));
    out.push('');
  };
  tput('forward', 'Forward');
  tput('withGrad', 'Forward + gradient (fastloss withGrad into out buffers; fl(alloc) = withGrad returning new arrays; tfjs valueAndGrads; torch autograd)');

  if (rep.roofline.length) {
    out.push('Roofline at the largest case: B/el = bytes per element (inputs read + gradients written), GB/s from the tables above;');
    out.push(`read GB/s = probe.streamRead over the case's own inputs; %read = achieved / read rate, median of ${ROOF_ROUNDS} interleaved`);
    out.push(`rounds (probe, forward, withGrad: immune to bandwidth drift); %probe = GB/s / the ${sig(rep.bandwidth.GBps)} GB/s 256 MiB probe`);
    out.push(table(
      [{ title: 'loss', align: 'l' }, { title: 'case', align: 'l' }, { title: 'bound', align: 'l' }, { title: 'read GB/s' },
        { title: 'fwd B/el' }, { title: 'fwd GB/s' }, { title: 'fwd %read' }, { title: '%probe' },
        { title: 'wg B/el' }, { title: 'wg GB/s' }, { title: 'wg %read' }, { title: '%probe' }],
      rep.roofline.map((r) => [r.loss, r.case, r.bound, sig(r.readGBps), sig(r.bytesPerElement.forward), sig(r.forward.GBps),
        pct(r.forward.fraction), pct(r.forward.fractionOfProbe), sig(r.bytesPerElement.withGrad), sig(r.withGrad.GBps),
        pct(r.withGrad.fraction), pct(r.withGrad.fractionOfProbe)])));
    out.push('');
  }

  if (rep.limit) {
    out.push(printLimit(rep.limit, { sig, pct, table }));
    out.push('');
  }

  printSmall(rep, out);

  if (rep.skipped.length) {
    out.push('Skipped:');
    for (const s of rep.skipped) out.push(`  ${s.loss}: ${s.note}`);
    out.push('');
  }
  const slower = [];
  for (const r of rep.throughput)
    for (const mode of ['forward', 'withGrad']) {
      const d = r[mode];
      if (d.fastloss && d.js && d.fastloss.MeS < d.js.MeS) slower.push(`${r.loss} ${r.case} ${mode}: ${ratio(d.fastloss.MeS, d.js.MeS)} vs plain JS`);
    }
  slower.push(...smallSlower(rep.smallN));
  out.push(slower.length ? `fastloss slower than plain JS:\n  ${slower.join('\n  ')}` : 'fastloss slower than plain JS: nowhere');
  const ol = rep.otherLoad;
  if (ol && ol.otherCores !== null)
    out.push(`Other processes used ${ol.otherCores.toFixed(2)} of ${m.cores} cores on average during the run` +
      (ol.otherCores > 0.1 ? ': the machine was not quiet, figures (parallel ones most) are pessimistic' : ' (quiet machine)'));
  if (rep.contention) {
    const c = rep.contention;
    out.push(`Figures: ${c.figures} measured, ${c.retried} re-measured because other processes took CPU meanwhile, ` +
      `${c.contended} still taken with more than ${rep.config.timing.maxOtherCores} cores busy elsewhere` +
      (rep.torchContention ? `; PyTorch comparisons: ${rep.torchContention.contended} of ${rep.torchContention.figures} with more ` +
        `than ${rep.config.timing.maxOtherCores} cores busy elsewhere (both sides alike: interleaved)` : ''));
  }
  out.push(rep.checks.length ? `Checks (value agreement between implementations):\n  ${rep.checks.join('\n  ')}` : 'Checks: all implementations agree on every loss value (and fastloss/JS gradients)');
  console.log(out.join('\n'));
}

main().catch((e) => {
  console.error(e && e.stack ? e.stack : e);
  process.exit(1);
});
