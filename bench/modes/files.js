// --files: scoring from files against the in-memory call on the same data (issue 14's goal: two .npy
// files in the page cache within 1.3x of the in-memory call, at about 1 GB), Parquet beside it.
// The files are written to os.tmpdir()/fastloss-bench-files (removed at the end) and read back warm.
// Workloads: torch.mseLoss over 2.5e8 elements, torch.crossEntropy over [1e6, 100] (int64 targets, as
// NumPy writes them), torch.binaryCrossEntropy over 1e8; --quick divides every size by 10. Each turn runs
// the in-memory call and the .npy files scored mapped (the default), with pread read ahead (FASTLOSS_MMAP=0)
// and with synchronous pread (FASTLOSS_READ_AHEAD=1 too), one after the other, the order rotated each turn
// (A/B/A/B: every variant sees the same machine); --files-runs turns (default 7, --quick 3). Per pass it
// records minor page faults, user and system CPU and GC time: faults per GB of file say which page-cache
// regime the run met (about 500 a GB: 2 MiB folios mapped as PMDs; 16,000: 4 KiB pages or 64 KiB folios).
// --files-write BYTES writes the .npy files in writes of that size: the page cache then holds folios no
// larger (4096: the small-page regime of a fragmented page cache, on purpose).
const fs = require('fs');
const os = require('os');
const path = require('path');
const { sig, table } = require('../lib/format');
const { loadFastloss } = require('./common');
const { fill } = require('../lib/random');

const root = path.join(__dirname, '..', '..');

function workloads(scale) {
  const n = (v) => Math.round(v / scale);
  return [
    { loss: 'torch.mseLoss', rows: n(2.5e8), cols: 1, inputs: (rows) => [
      { name: 'pred', data: fill(new Float32Array(rows), 1, (u) => 4 * u - 2) },
      { name: 'target', data: fill(new Float32Array(rows), 2, (u) => 4 * u - 2) }] },
    { loss: 'torch.crossEntropy', rows: n(1e6), cols: 100, inputs: (rows) => [
      { name: 'pred', data: fill(new Float32Array(rows * 100), 3, (u) => 8 * u - 4), shape: [rows, 100] },
      { name: 'target', data: fill(new BigInt64Array(rows), 4, (u) => BigInt(Math.floor(u * 100))), memory: 'int32' }] },
    { loss: 'torch.binaryCrossEntropy', rows: n(1e8), cols: 1, inputs: (rows) => [
      { name: 'pred', data: fill(new Float32Array(rows), 5, (u) => 0.01 + 0.98 * u) },
      { name: 'target', data: fill(new Float32Array(rows), 6, (u) => (u < 0.5 ? 0 : 1)) }] },
  ];
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

let gcMs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const e of list.getEntries()) gcMs += e.duration;
});

/** One pass of fn: wall ms, minor page faults, user and system CPU ms, GC ms. */
async function pass(fn) {
  await new Promise((r) => setTimeout(r, 0)); // deliver the GC entries of before
  const g0 = gcMs;
  const u0 = process.resourceUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  const u1 = process.resourceUsage();
  await new Promise((r) => setTimeout(r, 0));
  return { ms, faults: u1.minorPageFault - u0.minorPageFault, userMs: (u1.userCPUTime - u0.userCPUTime) / 1e3,
    sysMs: (u1.systemCPUTime - u0.systemCPUTime) / 1e3, gcMs: gcMs - g0 };
}

/**
 * Medians of a variant's passes; ratio: the median of its per-turn ratios to the in-memory pass of that turn,
 * cpuRatio the same of CPU time (user + system: steadier than wall time on a busy machine).
 */
function summarize(passes, memPasses, bytes) {
  const m = (k) => median(passes.map((p) => p[k]));
  const cpu = (p) => p.userMs + p.sysMs;
  const round = (x) => Math.round(x * 10) / 10;
  return { ms: m('ms'), cpuMs: median(passes.map(cpu)), faultsPerGB: m('faults') / (bytes / 1e9), userMs: m('userMs'),
    sysMs: m('sysMs'), gcMs: m('gcMs'), ratio: memPasses ? median(passes.map((p, i) => p.ms / memPasses[i].ms)) : 1,
    cpuRatio: memPasses ? median(passes.map((p, i) => cpu(p) / cpu(memPasses[i]))) : 1,
    passes: passes.map((p) => round(p.ms)), cpuPasses: passes.map((p) => round(cpu(p))) };
}

/** writeNpy, then (block: bytes) copied in writes of block bytes, so no page-cache folio is larger. */
function writeNpyIn(writeNpy, file, data, shape, block) {
  if (!block) return writeNpy(file, data, shape);
  const tmp = `${file}.tmp`;
  writeNpy(tmp, data, shape);
  const buf = Buffer.alloc(block);
  const src = fs.openSync(tmp, 'r');
  const dst = fs.openSync(file, 'w');
  try {
    for (let n; (n = fs.readSync(src, buf, 0, block, null)) > 0;) fs.writeSync(dst, buf, 0, n);
  } finally {
    fs.closeSync(src);
    fs.closeSync(dst);
    fs.rmSync(tmp);
  }
}

/** Writes the workload's Parquet file with DuckDB itself (its own random data of the same shape). */
async function writeParquet(w, file) {
  const { DuckDBInstance } = require('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const c = await db.connect();
  const pred = w.cols === 1 ? 'random()::FLOAT' : `list_transform(range(${w.cols}), x -> random()::FLOAT)::FLOAT[${w.cols}]`;
  const target = w.loss === 'torch.crossEntropy' ? `floor(random() * ${w.cols})::BIGINT` : 'round(random())::FLOAT';
  await c.run(`COPY (SELECT ${pred} AS pred, ${target} AS target FROM range(${w.rows})) TO '${file}' (FORMAT parquet)`);
  c.closeSync();
}

async function runFiles(opts, log) {
  const fastloss = loadFastloss();
  const { writeNpy } = require(path.join(root, 'dist', 'io'));
  const { main } = require(path.join(root, 'dist', 'cli'));
  const scale = opts.quick ? 10 : 1;
  const runs = opts.filesRuns ?? (opts.quick ? 3 : 7);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-bench-files-'));
  const rows = [];
  const score = async (args) => {
    let out = '';
    const status = await main(['score', ...args, '--json', '--no-progress'], (s) => { out += s; });
    if (status !== 0) throw new Error(`bench --files: fastloss score ${args.join(' ')} exited ${status}`);
    return JSON.parse(out);
  };
  gcObserver.observe({ entryTypes: ['gc'] });
  try {
    for (const w of workloads(scale)) {
      if (opts.filters.length && !opts.filters.some((f) => w.loss.includes(f))) continue;
      log(`  --files ${w.loss} ${w.cols > 1 ? `[${w.rows}, ${w.cols}]` : w.rows}: writing .npy`);
      const inputs = w.inputs(w.rows);
      const files = {};
      let bytes = 0;
      for (const i of inputs) {
        files[i.name] = path.join(dir, `${w.loss}.${i.name}.npy`);
        writeNpyIn(writeNpy, files[i.name], i.data, i.shape ?? [w.rows], opts.filesWrite);
        bytes += i.data.byteLength;
      }
      const mem = inputs.map((i) => (i.memory === 'int32' ? Int32Array.from(i.data, Number) : i.data));
      const shape = inputs[0].shape ?? [w.rows];
      const fn = fastloss.torch[w.loss.slice(6)];
      const expected = fn(mem[0], mem[1], { shape });
      log(`  --files ${w.loss}: in memory and the .npy files, ${runs} turns`);
      // The in-memory call; mapped (the default), pread read ahead (FASTLOSS_MMAP=0) and synchronous pread
      // (also FASTLOSS_READ_AHEAD=1): the same chunks and bits.
      let result = NaN;
      const fromFiles = async () => {
        result = (await score([w.loss, '--pred', files.pred, '--target', files.target])).result;
      };
      const variants = [
        { name: 'memory', run: () => fn(mem[0], mem[1], { shape }), passes: [] },
        { name: 'mapped', env: {}, run: fromFiles, passes: [] },
        { name: 'pread', env: { FASTLOSS_MMAP: '0' }, run: fromFiles, passes: [] },
        { name: 'sync', env: { FASTLOSS_MMAP: '0', FASTLOSS_READ_AHEAD: '1' }, run: fromFiles, passes: [] },
      ];
      const saved = { FASTLOSS_MMAP: process.env.FASTLOSS_MMAP, FASTLOSS_READ_AHEAD: process.env.FASTLOSS_READ_AHEAD };
      const setEnv = (env) => {
        for (const [k, v] of Object.entries(env)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      };
      try {
        await fromFiles(); // warm: the first pass compiles the reader
        for (let i = 0; i < runs; i++) {
          for (let j = 0; j < variants.length; j++) {
            const v = variants[(i + j) % variants.length];
            setEnv({ ...saved, ...(v.env ?? {}) });
            v.passes.push(await pass(v.run));
          }
        }
      } finally {
        setEnv(saved);
      }
      const memPasses = variants[0].passes;
      const [memory, mapped, pread, sync] = variants.map((v, k) => summarize(v.passes, k ? memPasses : null, bytes));
      const agree = Math.abs(result - expected) <= 1e-6 * Math.abs(expected);
      for (const f of Object.values(files)) fs.rmSync(f);
      mem.length = 0;
      inputs.length = 0;
      let parquet = null;
      if (opts.parquet !== false) {
        try {
          const file = path.join(dir, `${w.loss}.parquet`);
          log(`  --files ${w.loss}: writing and scoring Parquet`);
          await writeParquet(w, file);
          const pqBytes = fs.statSync(file).size;
          const t = await pass(() => score([w.loss, '--pred', `${file}:pred`, '--target', `${file}:target`]));
          parquet = { seconds: t.ms / 1e3, fileBytes: pqBytes };
          fs.rmSync(file);
        } catch (e) {
          parquet = { error: e.message };
        }
      }
      const elements = w.rows * w.cols;
      rows.push({ loss: w.loss, rows: w.rows, cols: w.cols, elements, npyBytes: bytes, memory, mapped, pread, sync,
        inMemorySeconds: memory.ms / 1e3, npySeconds: mapped.ms / 1e3, ratio: mapped.ratio, agree, parquet });
    }
  } finally {
    gcObserver.disconnect();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { threads: fastloss.getNumThreads(), runs, writeBytes: opts.filesWrite, rows };
}

function printFiles(rep) {
  const v = (x) => `${sig(x.ms)} (${x.ratio.toFixed(2)}x; cpu ${x.cpuRatio.toFixed(2)}x)`;
  const lines = rep.rows.map((r) => [
    r.loss, r.cols > 1 ? `[${r.rows}, ${r.cols}]` : String(r.rows), `${(r.npyBytes / 1e9).toFixed(2)} GB`,
    `${sig(r.memory.ms)} (cpu ${sig(r.memory.cpuMs)})`, `${v(r.mapped)}${r.agree ? '' : ' (RESULT DIFFERS)'}`, v(r.pread), v(r.sync),
    `${sig(r.mapped.faultsPerGB)} / ${sig(r.pread.faultsPerGB)}`,
    `${sig(r.memory.sysMs)} / ${sig(r.mapped.sysMs)} / ${sig(r.pread.sysMs)}`,
    `${sig(r.memory.gcMs)} / ${sig(r.mapped.gcMs)}`,
    sig(r.elements / r.memory.ms / 1e3), sig(r.elements / r.mapped.ms / 1e3),
    r.parquet?.seconds ? sig(r.elements / r.parquet.seconds / 1e6) : (r.parquet?.error ? 'error' : '-'),
  ]);
  return `Scoring from files (page cache) against the in-memory call, ${rep.threads} threads, ${rep.runs} turns ` +
    `(in memory, mapped, pread, sync pread interleaved; ms: medians; ratios: medians of per-turn ratios to in memory, of wall and of CPU time)` +
    `${rep.writeBytes ? `, files written in ${rep.writeBytes}-byte writes` : ''}; goal: .npy within 1.3x\n` + table([
    { title: 'loss', align: 'l' }, { title: 'shape', align: 'l' }, { title: '.npy size' }, { title: 'memory ms' },
    { title: 'mapped ms' }, { title: 'pread ms' }, { title: 'sync pread ms' }, { title: 'faults/GB map/pread' },
    { title: 'sys ms mem/map/pread' }, { title: 'GC ms mem/map' }, { title: 'memory M el/s' }, { title: '.npy M el/s' },
    { title: 'Parquet M el/s' },
  ], lines);
}

module.exports = { runFiles, printFiles };
