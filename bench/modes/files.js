'use strict';
// --files: scoring from files against the in-memory call on the same data (issue 14's goal: two .npy
// files in the page cache within 1.3x of the in-memory call, at about 1 GB), Parquet beside it.
// The files are written to os.tmpdir()/fastloss-bench-files (removed at the end) and read back warm.
// Workloads: torch.mseLoss over 2.5e8 elements, torch.crossEntropy over [1e6, 100] (int64 targets, as
// NumPy writes them), torch.binaryCrossEntropy over 1e8; --quick divides every size by 10. The .npy files are
// scored mapped (the default), with pread read ahead (FASTLOSS_MMAP=0) and with synchronous pread
// (FASTLOSS_READ_AHEAD=1 too), in turn.
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

async function timeIt(fn, runs) {
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(ts);
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
  const runs = opts.quick ? 2 : 3;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-bench-files-'));
  const rows = [];
  const score = async (args) => {
    let out = '';
    const status = await main(['score', ...args, '--json', '--no-progress'], (s) => { out += s; });
    if (status !== 0) throw new Error(`bench --files: fastloss score ${args.join(' ')} exited ${status}`);
    return JSON.parse(out);
  };
  try {
    for (const w of workloads(scale)) {
      if (opts.filters.length && !opts.filters.some((f) => w.loss.includes(f))) continue;
      log(`  --files ${w.loss} ${w.cols > 1 ? `[${w.rows}, ${w.cols}]` : w.rows}: writing .npy`);
      const inputs = w.inputs(w.rows);
      const files = {};
      let bytes = 0;
      for (const i of inputs) {
        files[i.name] = path.join(dir, `${w.loss}.${i.name}.npy`);
        writeNpy(files[i.name], i.data, i.shape ?? [w.rows]);
        bytes += i.data.byteLength;
      }
      const mem = inputs.map((i) => (i.memory === 'int32' ? Int32Array.from(i.data, Number) : i.data));
      const shape = inputs[0].shape ?? [w.rows];
      const fn = fastloss.torch[w.loss.slice(6)];
      const inMemory = await timeIt(() => fn(mem[0], mem[1], { shape }), runs);
      const expected = fn(mem[0], mem[1], { shape });
      log(`  --files ${w.loss}: scoring the .npy files`);
      // Mapped (the default), pread read ahead (FASTLOSS_MMAP=0) and synchronous pread (also
      // FASTLOSS_READ_AHEAD=1): the same chunks and bits, run by run in turn so that all see the same machine.
      let result = NaN;
      const variants = [
        { env: {}, times: [] },
        { env: { FASTLOSS_MMAP: '0' }, times: [] },
        { env: { FASTLOSS_MMAP: '0', FASTLOSS_READ_AHEAD: '1' }, times: [] },
      ];
      const saved = { FASTLOSS_MMAP: process.env.FASTLOSS_MMAP, FASTLOSS_READ_AHEAD: process.env.FASTLOSS_READ_AHEAD };
      const setEnv = (env) => {
        for (const [k, v] of Object.entries(env)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      };
      try {
        for (let i = 0; i < runs; i++) {
          for (const v of variants) {
            setEnv({ ...saved, ...v.env });
            v.times.push(await timeIt(async () => {
              result = (await score([w.loss, '--pred', files.pred, '--target', files.target])).result;
            }, 1));
          }
        }
      } finally {
        setEnv(saved);
      }
      const [fromNpy, fromNpyPread, fromNpySync] = variants.map((v) => median(v.times));
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
          const t = await timeIt(() => score([w.loss, '--pred', `${file}:pred`, '--target', `${file}:target`]), 1);
          parquet = { seconds: t, fileBytes: pqBytes };
          fs.rmSync(file);
        } catch (e) {
          parquet = { error: e.message };
        }
      }
      const elements = w.rows * w.cols;
      rows.push({ loss: w.loss, rows: w.rows, cols: w.cols, elements, npyBytes: bytes, inMemorySeconds: inMemory,
        npySeconds: fromNpy, ratio: fromNpy / inMemory, npyPreadSeconds: fromNpyPread, preadRatio: fromNpyPread / inMemory, npySyncSeconds: fromNpySync, syncRatio: fromNpySync / inMemory, agree, parquet });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return { threads: fastloss.getNumThreads(), runs, rows };
}

function printFiles(rep) {
  const lines = rep.rows.map((r) => [
    r.loss, r.cols > 1 ? `[${r.rows}, ${r.cols}]` : String(r.rows), `${(r.npyBytes / 1e9).toFixed(2)} GB`,
    sig(r.inMemorySeconds * 1e3), sig(r.npySeconds * 1e3), `${r.ratio.toFixed(2)}x${r.agree ? '' : ' (RESULT DIFFERS)'}`,
    `${sig(r.npyPreadSeconds * 1e3)} (${r.preadRatio.toFixed(2)}x)`, `${sig(r.npySyncSeconds * 1e3)} (${r.syncRatio.toFixed(2)}x)`,
    sig(r.elements / r.inMemorySeconds / 1e6), sig(r.elements / r.npySeconds / 1e6),
    r.parquet?.seconds ? sig(r.elements / r.parquet.seconds / 1e6) : (r.parquet?.error ? 'error' : '-'),
  ]);
  return `Scoring from files (page cache) against the in-memory call, ${rep.threads} threads, median of ${rep.runs}; ` +
    'goal: .npy within 1.3x\n' + table([
    { title: 'loss', align: 'l' }, { title: 'shape', align: 'l' }, { title: '.npy size' }, { title: 'memory ms' },
    { title: '.npy ms' }, { title: '.npy / memory' }, { title: 'pread ms' }, { title: 'sync pread ms' }, { title: 'memory M el/s' }, { title: '.npy M el/s' }, { title: 'Parquet M el/s' },
  ], lines);
}

module.exports = { runFiles, printFiles };
