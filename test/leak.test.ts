// Leak test (issue 8, item (d)), in child processes with --expose-gc: 10^6 calls of each call mode on a
// small loss keep RSS and external memory flat after gc(); and the facade does not keep the last call's
// arrays alive (two 256 MB inputs dropped after a sync call are freed by gc()).
import { expectClean, runChild, slow } from './helpers/child';

const SYNC_CALLS = Number(process.env.FASTLOSS_LEAK_CALLS ?? 1e6) / slow;
// Async calls cost a libuv round trip each (~10 us here against ~0.3 us for a sync call), so 10^6 of them
// would take most of a minute on their own: 2 * 10^5 (in awaited batches of 1000) covers the same paths.
const ASYNC_CALLS = Number(process.env.FASTLOSS_LEAK_ASYNC_CALLS ?? 2e5) / slow;

const MB = 1 << 20;

// Under the sanitizer job ASan keeps freed memory in a quarantine (256 MB by default), which RSS then
// shows as growth: the leak children run without it.
function noQuarantine(): Record<string, string | undefined> {
  const asan = process.env.ASAN_OPTIONS;
  return asan ? { ASAN_OPTIONS: `${asan}:quarantine_size_mb=0:thread_local_quarantine_size_kb=0` } : {};
}

interface Sample { mode: string; calls: number; ms: number; rss10: number; rss50: number; rssEnd: number; ext10: number; extEnd: number }

test(`${SYNC_CALLS} calls of each sync mode and ${ASYNC_CALLS} of each async mode keep RSS and external memory flat`, () => {
  const r = runChild(`(async () => {
    const x = new Float32Array(16).map((_, i) => i * 0.25), y = new Float32Array(16).map((_, i) => 1 - i * 0.1);
    const t3 = new Int32Array([0, 1, 2, 1]), lg = new Float32Array(16).map((_, i) => (i % 5) - 2);
    const out = new Float32Array(16), grad = new Float32Array(16), loss = new Float32Array(16), g2 = { input1: new Float32Array(16), input2: new Float32Array(16) };
    const sync = {
      forward: () => torch.mseLoss(x, y),
      forwardNone: () => torch.mseLoss(x, y, { reduction: 'none' }),
      backward: () => torch.mseLoss.backward(x, y),
      withGrad: () => torch.mseLoss.withGrad(x, y),
      forwardOut: () => torch.mseLoss(x, y, { reduction: 'none', out }),
      backwardOut: () => torch.mseLoss.backward(x, y, { out: grad }),
      withGradOut: () => torch.mseLoss.withGrad(x, y, { reduction: 'none', out: { loss, grad } }),
      kerasWithGrad: () => keras.logCosh.withGrad(y, x, { shape: [4, 4], sampleWeight: 0.5 }),
      crossEntropy: () => torch.crossEntropy.withGrad(lg, t3),
      pairOut: () => torch.marginRankingLoss.withGrad(x, y, out, { out: { grad: g2 } }),
    };
    const asyncModes = {
      async: () => torch.mseLoss.async(x, y),
      asyncNone: () => torch.mseLoss.async(x, y, { reduction: 'none' }),
      withGradAsync: () => torch.mseLoss.withGradAsync(x, y),
      withGradAsyncOut: () => torch.mseLoss.withGradAsync(x, y, { reduction: 'none', out: { loss, grad } }),
    };
    const mem = () => { global.gc(); const m = process.memoryUsage(); return [m.rss, m.external]; };
    // After async calls V8 frees the copied arrays' backing stores on a background sweeper: let it run
    // (a few GCs with the event loop turning) so a sample counts what is still held, not what is queued.
    const settled = async () => { for (let k = 0; k < 3; k++) { global.gc(); await new Promise((r) => setTimeout(r, 5)); } return mem(); };
    const res = [];
    for (const [mode, f] of Object.entries(sync)) {
      const N = ${SYNC_CALLS}, t0 = Date.now();
      let m10, m50;
      for (let i = 0; i < N; i++) { f(); if (i === N / 10) m10 = mem(); if (i === N / 2) m50 = mem(); }
      const end = mem();
      res.push({ mode, calls: N, ms: Date.now() - t0, rss10: m10[0], rss50: m50[0], rssEnd: end[0], ext10: m10[1], extEnd: end[1] });
    }
    // warm-up, not measured (also under the sanitizer): RSS takes one step of ~12 MB between the
    // 200,000th and the 300,000th async call, then stays flat up to 10^6
    for (let i = 0; i < 400000; i += 1000) await Promise.all(Array.from({ length: 1000 }, () => torch.mseLoss.async(x, y)));
    for (const [mode, f] of Object.entries(asyncModes)) {
      const N = ${ASYNC_CALLS}, B = 1000, t0 = Date.now();
      let m10, m50;
      for (let i = 0; i < N; i += B) {
        const ps = new Array(B);
        for (let k = 0; k < B; k++) ps[k] = f();
        await Promise.all(ps);
        if (i === N / 10) m10 = await settled();
        if (i === N / 2) m50 = await settled();
      }
      const end = await settled();
      res.push({ mode, calls: N, ms: Date.now() - t0, rss10: m10[0], rss50: m50[0], rssEnd: end[0], ext10: m10[1], extEnd: end[1] });
    }
    report(res);
  })();`, { flags: ['--expose-gc'], timeout: 300000, env: noQuarantine() });
  expectClean(r);
  const samples = r.result as Sample[];
  expect(samples.length).toBe(14);
  // external memory (where leaked buffers would show) must stay within 1 MB from the 10% point on. RSS
  // moves in steps (V8 and the allocator reserve pages once, e.g. +12 MB around the 300,000th async
  // call, then stay flat up to 10^6), so: at most 24 MB from the 10% point, and at most 4 MB over the
  // second half, where a leak of even 40 bytes per async call (8 per sync call) would show.
  const grew = samples.filter((s) => s.rssEnd - s.rss10 > 24 * MB || s.rssEnd - s.rss50 > 4 * MB || s.extEnd - s.ext10 > 1 * MB)
    .map((s) => `${s.mode}: rss +${((s.rssEnd - s.rss10) / MB).toFixed(1)} MB, external +${((s.extEnd - s.ext10) / MB).toFixed(2)} MB (+${((s.rssEnd - s.rss50) / MB).toFixed(1)} MB over the second half) over ${s.calls * 0.9} calls`);
  console.log(samples.map((s) => `${s.mode}: ${s.calls} calls in ${s.ms} ms, rss ${((s.rssEnd - s.rss10) / MB).toFixed(1)} MB, external ${((s.extEnd - s.ext10) / MB).toFixed(2)} MB`).join('\n'));
  expect(grew).toEqual([]);
}, 600000);

test('the facade does not keep the last call\'s arrays alive: two 256 MB inputs are freed by gc() after a sync call', () => {
  const r = runChild(`(async () => {
    const ext = () => { global.gc(); return process.memoryUsage().external; };
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    // V8 frees array buffers after a full GC on a background sweeper: external memory drops within a
    // few gc() + wait rounds (the control, arrays never given to fastloss, shows it).
    const settle = async (base) => { let e = ext(); for (let k = 0; k < 20 && e - base > 64 * 1048576; k++) { await sleep(50); e = ext(); } return e; };
    const res = {};
    const N = 64 << 20;  // 256 MB of float32
    for (const mode of ['control', 'forward', 'withGrad', 'async', 'mixed']) {
      const base = await settle(0);
      let a = new Float32Array(N).fill(1), b = new Float32Array(N);
      if (mode === 'forward') torch.mseLoss(a, b);
      else if (mode === 'withGrad') torch.mseLoss.backward(a, b, { out: new Float32Array(N) });
      else if (mode === 'async') await torch.mseLoss.async(a, b);
      else if (mode === 'mixed') { torch.mseLoss(a, b); try { torch.mseLoss(a, new Float32Array(3)); } catch {} }
      const held = ext();
      a = null; b = null;
      const after = await settle(base);
      res[mode] = { base, held, after };
    }
    report(res);
  })();`, { flags: ['--expose-gc'], timeout: 120000, env: noQuarantine() });
  expectClean(r);
  const o = r.result as Record<string, { base: number; held: number; after: number }>;
  expect({ control: o.control.after - o.control.base < 64 * MB }).toEqual({ control: true });  // the method works
  const kept = Object.entries(o).filter(([, v]) => v.after - v.base > 64 * MB)
    .map(([k, v]) => `${k}: ${((v.after - v.base) / MB).toFixed(0)} MB still held after gc() (${((v.held - v.base) / MB).toFixed(0)} MB during)`);
  expect(kept).toEqual([]);
}, 300000);
