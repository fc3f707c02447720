#!/usr/bin/env node
// Streaming accumulation against the one call (issue 14): the same data scored in one call and in
// chunks through loss.accumulate(), and the fixed cost of one add() on a tiny chunk.
//
//   node bench/accumulate.js [--out FILE] [--reps N]
//
// Medians of --reps runs (default 7). Figures depend on the machine's load: say busy or quiet.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const fl = require(path.join(__dirname, '..', 'dist'));
const { uniformF32 } = require('../test/helpers/random');

const argv = process.argv.slice(2);
let out = null;
let reps = 7;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--out') out = argv[++i];
  else if (argv[i] === '--reps') reps = Number(argv[++i]);
  else throw new Error(`accumulate.js: unknown argument ${argv[i]}`);
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
function time(fn) {
  fn();  // warm
  const ms = [];
  for (let r = 0; r < reps; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return median(ms);
}

function workloads() {
  const N = 1 << 23;
  const x = uniformF32(N, 1);
  const y = uniformF32(N, 2);
  const rows = 1 << 17;
  const C = 64;
  const logits = uniformF32(rows * C, 3);
  const target = Int32Array.from({ length: rows }, (_, i) => (i * 7919) % C);
  return [
    { name: 'torch.mseLoss', loss: fl.torch.mseLoss, rows: N, rowArrays: (a, b) => [x.subarray(a, b), y.subarray(a, b)], shape: (n) => [n] },
    { name: 'torch.crossEntropy', loss: fl.torch.crossEntropy, rows, shape: (n) => [n, C],
      rowArrays: (a, b) => [logits.subarray(a * C, b * C), target.subarray(a, b)] },
  ];
}

const report = { cpu: os.cpus()[0]?.model, threads: fl.getNumThreads(), isa: fl.info().isa, loadavg: os.loadavg(), reps, rows: [] };
for (const w of workloads()) {
  const one = time(() => w.loss(...w.rowArrays(0, w.rows), { shape: w.shape(w.rows) }));
  const row = { loss: w.name, rows: w.rows, oneCallMs: one, chunks: [] };
  for (const chunkRows of [w.rows >> 3, w.rows >> 7]) {
    const ms = time(() => {
      const acc = w.loss.accumulate();
      for (let a = 0; a < w.rows; a += chunkRows) {
        const b = Math.min(w.rows, a + chunkRows);
        acc.add(...w.rowArrays(a, b), { shape: w.shape(b - a) });
      }
      return acc.result();
    });
    row.chunks.push({ chunkRows, ms, ratio: ms / one });
  }
  // Fixed cost: 16-row chunks, per call.
  const small = 16;
  const calls = 20000;
  const direct = time(() => { for (let k = 0; k < calls; k++) w.loss(...w.rowArrays(0, small), { shape: w.shape(small) }); });
  const acc = w.loss.accumulate();
  const added = time(() => { for (let k = 0; k < calls; k++) acc.add(...w.rowArrays(0, small), { shape: w.shape(small) }); });
  row.smallChunk = { rows: small, callUs: (direct * 1000) / calls, addUs: (added * 1000) / calls };
  report.rows.push(row);
  console.log(`${w.name}: one call over ${w.rows} rows ${one.toFixed(2)} ms; ` +
    row.chunks.map((c) => `chunks of ${c.chunkRows} rows ${c.ms.toFixed(2)} ms (${c.ratio.toFixed(3)}x)`).join(', ') +
    `; ${small}-row chunk: call ${row.smallChunk.callUs.toFixed(2)} us, add ${row.smallChunk.addUs.toFixed(2)} us`);
}
console.log(`${report.cpu}, ${report.threads} threads, ${report.isa}, load average ${report.loadavg.map((v) => v.toFixed(1)).join(' ')}`);
if (out) fs.writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
