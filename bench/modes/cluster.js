'use strict';
// --cluster: N processes running fastloss at once (cluster mode, PM2, one container per core),
// each one's throughput against one process alone on 1 thread. Each child (this file with
// --cluster-child) prepares its call, says 'ready', waits for 'go', then counts calls for a
// fixed time; all start together.
const os = require('os');
const { fork } = require('child_process');
const { sig, pct, table } = require('../lib/format');
const { specLabel } = require('./common');

const CASES = [
  { loss: 'torch.mseLoss', n: 1e6 },
  { loss: 'torch.binaryCrossEntropy', reduction: 'none', n: 65536 },
];

function child(spec, threads, ms) {
  const env = { ...process.env };
  if (threads === null) delete env.FASTLOSS_NUM_THREADS;
  else env.FASTLOSS_NUM_THREADS = String(threads);
  const proc = fork(__filename, ['--cluster-child', JSON.stringify({ spec, ms })], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const ready = new Promise((resolve, reject) => {
    proc.once('message', resolve);
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`bench: a --cluster process exited early (code ${code})`)));
  });
  const result = ready.then(() => new Promise((resolve, reject) => {
    proc.once('message', resolve);
    proc.once('exit', (code) => reject(new Error(`bench: a --cluster process exited early (code ${code})`)));
  }));
  result.catch(() => {});
  return { proc, ready, result };
}

/** `count` processes at once; resolves to their calls per second. */
async function group(spec, count, threads, ms) {
  const kids = Array.from({ length: count }, () => child(spec, threads, ms));
  try {
    await Promise.all(kids.map((k) => k.ready));
    for (const k of kids) k.proc.send('go');
    const results = await Promise.all(kids.map((k) => k.result));
    return results.map((r) => r.calls / (r.ns / 1e9));
  } finally {
    for (const k of kids) k.proc.kill('SIGKILL');
  }
}

async function runCluster(opts, log) {
  const count = opts.cluster || os.cpus().length;
  const ms = opts.quick ? 500 : 3000;
  const cases = CASES.filter((c) => opts.filters.length === 0 || opts.filters.some((f) => c.loss.includes(f)));
  const rows = [];
  for (const spec of cases) {
    log(`--cluster: ${specLabel(spec)}, ${count} processes`);
    const [single] = await group(spec, 1, 1, ms);
    const oneEach = await group(spec, count, 1, ms);
    const defaultEach = await group(spec, count, null, ms);
    rows.push({ ...spec, processes: count, single, oneThread: oneEach, defaultThreads: defaultEach });
  }
  return { processes: count, ms, rows };
}

function printCluster(rep) {
  const out = [];
  out.push(`Cluster mode: ${rep.processes} processes at once, ${rep.ms} ms each; calls/s of the slowest and the mean process as a ` +
    'share of one process alone on 1 thread (goal: >= 80%)');
  const min = (xs) => Math.min(...xs);
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
  out.push(table(
    [{ title: 'loss', align: 'l' }, { title: 'alone, 1t calls/s' }, { title: '1 thread each: min' }, { title: 'mean' },
      { title: 'default threads each: min' }, { title: 'mean' }],
    rep.rows.map((r) => [specLabel(r), sig(r.single), pct(min(r.oneThread) / r.single), pct(mean(r.oneThread) / r.single),
      pct(min(r.defaultThreads) / r.single), pct(mean(r.defaultThreads) / r.single)])));
  return out.join('\n');
}

if (require.main === module && process.argv[2] === '--cluster-child') {
  const { spec, ms } = JSON.parse(process.argv[3]);
  const { DataCache } = require('../lib/data');
  const { loadFastloss, prepareCall } = require('./common');
  const fastloss = loadFastloss();
  const p = prepareCall(fastloss, new DataCache(), spec);
  for (let k = 0; k < 5; k++) p.call();
  process.on('disconnect', () => process.exit(0));
  process.once('message', () => {
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(ms) * 1000000n;
    let calls = 0;
    let t = t0;
    while (t < end) {
      p.call();
      calls++;
      t = process.hrtime.bigint();
    }
    process.send({ calls, ns: Number(t - t0), threads: fastloss.getNumThreads() });
  });
  process.send('ready');
}

module.exports = { runCluster, printCluster, CASES };
