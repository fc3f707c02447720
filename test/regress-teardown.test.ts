// Issue 8, scenario 9: worker teardown. Each run is a fresh process whose MAIN THREAD NEVER LOADS
// fastloss (jest's own process has it loaded, which hid the crash): only the worker does.
import { crashOf, dist, runChildAsync, runMany, ChildResult } from './helpers/child';

const REPEATS = 20;

function summarize(rs: ChildResult[]): string[] {
  return rs.map((r, i) => {
    const why = crashOf(r);
    return why === null ? '' : `run ${i}: ${why} ${r.stderr.split('\n').filter((l) => l.trim()).slice(-3).join(' | ')}`;
  }).filter((s) => s !== '');
}

const workerMain = (workerCode: string, after: string) => `
const { Worker } = require('worker_threads');
if (Object.keys(require.cache).some((k) => k.includes('fastloss') || k.includes('/dist/'))) throw new Error('main loaded fastloss');
const w = new Worker(${JSON.stringify(workerCode)}, { eval: true, workerData: { dist: __dist } });
${after}
`;

test(`(a) a worker that alone loads fastloss runs one multithreaded call and exits normally (x${REPEATS})`, async () => {
  const worker = `
    const { parentPort, workerData } = require('worker_threads');
    const fl = require(workerData.dist);
    fl.setNumThreads(2);
    const a = new Float32Array(1 << 20).map((_, i) => (i % 17) * 0.25), b = new Float32Array(1 << 20);
    parentPort.postMessage(fl.keras.logCosh(a, b, { shape: [1 << 10, 1 << 10] }) + fl.torch.mseLoss(a, b));`;
  const main = workerMain(worker, `
    let got = null;
    w.on('message', (v) => { got = v; });
    w.on('error', (e) => { console.error('worker error', e); process.exitCode = 3; });
    w.on('exit', (code) => { if (code !== 0 || typeof got !== 'number') { console.error('worker exit', code, got); process.exitCode = 4; } else report(got); });`);
  const rs = await runMany(REPEATS, 2, () => runChildAsync(main, { noLoad: true, timeout: 30000 }));
  expect(summarize(rs)).toEqual([]);
  expect(rs.every((r) => typeof r.result === 'number')).toBe(true);
  expect(dist).toBeDefined();
}, 300000);

test(`(b1) worker.terminate() with .async calls in flight (x${REPEATS})`, async () => {
  const worker = `
    const { parentPort, workerData } = require('worker_threads');
    const fl = require(workerData.dist);
    fl.setNumThreads(2);
    const a = new Float32Array(1 << 22).fill(1), b = new Float32Array(1 << 22);
    for (let i = 0; i < 8; i++) { fl.torch.huberLoss.withGradAsync(a, b).catch(() => {}); fl.keras.logCosh.async(a, b, { shape: [1 << 11, 1 << 11], reduction: 'none' }).catch(() => {}); }
    parentPort.postMessage('started');`;
  const main = workerMain(worker, `
    w.on('error', () => {});
    w.on('message', () => { w.terminate().then(() => setTimeout(() => report('done'), 50)); });`);
  const rs = await runMany(REPEATS, 2, () => runChildAsync(main, { noLoad: true, timeout: 30000 }));
  expect(summarize(rs)).toEqual([]);
  expect(rs.every((r) => r.result === 'done')).toBe(true);
}, 300000);

test(`(b2) process.exit() inside a worker with .async calls in flight (x${REPEATS})`, async () => {
  const worker = `
    const { workerData } = require('worker_threads');
    const fl = require(workerData.dist);
    fl.setNumThreads(2);
    const a = new Float32Array(1 << 22).fill(1), b = new Float32Array(1 << 22);
    for (let i = 0; i < 8; i++) { fl.torch.mseLoss.withGradAsync(a, b).catch(() => {}); fl.keras.huber.async(a, b, { shape: [1 << 11, 1 << 11], reduction: 'none' }).catch(() => {}); }
    process.exit(0);`;
  const main = workerMain(worker, `
    w.on('error', () => {});
    w.on('exit', () => setTimeout(() => report('done'), 50));`);
  const rs = await runMany(REPEATS, 2, () => runChildAsync(main, { noLoad: true, timeout: 30000 }));
  expect(summarize(rs)).toEqual([]);
  expect(rs.every((r) => r.result === 'done')).toBe(true);
}, 300000);

test('(c) several workers load fastloss, run parallel calls and exit while the main thread keeps going', async () => {
  const main = `
    const { Worker } = require('worker_threads');
    const code = ${JSON.stringify(`
      const { parentPort, workerData } = require('worker_threads');
      const fl = require(workerData.dist);
      const a = new Float32Array(1 << 20).fill(0.5), b = new Float32Array(1 << 20);
      Promise.all([fl.torch.mseLoss.async(a, b), fl.keras.logCosh.async(a, b, { shape: [1024, 1024] })]).then((v) => parentPort.postMessage(v));`)};
    let pending = 6, sum = 0;
    for (let i = 0; i < 6; i++) {
      const w = new Worker(code, { eval: true, workerData: { dist: __dist } });
      w.on('message', (v) => { sum += v[0]; });
      w.on('exit', () => { if (--pending === 0) report(sum); });
    }`;
  const rs = await runMany(5, 2, () => runChildAsync(main, { noLoad: true, timeout: 30000 }));
  expect(summarize(rs)).toEqual([]);
  expect(rs.map((r) => r.result)).toEqual([1.5, 1.5, 1.5, 1.5, 1.5]);
}, 300000);
