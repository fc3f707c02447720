#!/usr/bin/env node
'use strict';
// Where the fixed per-call cost goes: runs one loss at a small N in a tight loop under
// `node --cpu-prof` and prints self time per function (JS facade, the N-API call, GC ...).
// usage: node bench/profile_small.js [loss=torch.mseLoss] [N=256] [mode=forward|withGrad] [seconds=3]
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawnSync } = require('child_process');

const [lossName = 'torch.mseLoss', nArg = '256', mode = 'forward', secArg = '3'] = process.argv.slice(2);

if (process.env.FASTLOSS_PROFILE_CHILD) {
  const fastloss = require(path.join(__dirname, '..', 'dist'));
  const [ns, name] = lossName.split('.');
  const fn = fastloss[ns][name];
  const N = Number(nArg);
  const a = Float32Array.from({ length: N }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: N }, (_, i) => Math.cos(i));
  const end = Date.now() + Number(secArg) * 1000;
  let sink = 0;
  let calls = 0;
  while (Date.now() < end) {
    for (let k = 0; k < 10000; k++) sink += mode === 'withGrad' ? fn.withGrad(a, b).loss : fn(a, b);
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
