// The call contract shared by every loss, exercised on the regression family: errors, out buffers,
// async, threads, views and shared memory. Expected values are float64 JS computations.
import { getNumThreads, info, keras, setNumThreads, torch } from '../src';
import { native, params, setRawCall, SLOT } from '../src/core/native';
import { expectThrowsWritingNothing } from './helpers/errors';
import { uniformF32 } from './helpers/random';

const f32 = (a: number[]) => Float32Array.from(a);

function mse64(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return s / x.length;
}

// A Float32Array's bytes, for bitwise comparisons (toEqual walks large arrays element by element).
const bits = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

// n values uniform in [-2, 2).
const random = (n: number, seed: number) => uniformF32(n, seed, -2, 2);

describe('bad input: TypeError/RangeError naming the function and argument', () => {
  const x = f32([1, 2, 3, 4]);
  const y = f32([0, 1, 2, 3]);
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['plain array', () => torch.mseLoss([1, 2] as unknown as Float32Array, y), TypeError, /torch\.mseLoss: input must be a Float32Array, got a plain Array/],
    ['Float64Array', () => torch.l1Loss(x, new Float64Array(4) as unknown as Float32Array), TypeError, /torch\.l1Loss: target must be a Float32Array, got a Float64Array/],
    ['missing target', () => (torch.mseLoss as unknown as (a: unknown) => number)(x), TypeError, /torch\.mseLoss: target is required/],
    ['length mismatch', () => torch.huberLoss(x, f32([1, 2, 3])), RangeError, /torch\.huberLoss: target has length 3, but input has length 4/],
    ['shape product', () => torch.mseLoss(x, y, { shape: [3, 2] }), RangeError, /torch\.mseLoss: opts\.shape \[3, 2\] holds 6 elements, but input has length 4/],
    ['shape not integers', () => torch.mseLoss(x, y, { shape: [2, 1.5] }), RangeError, /opts\.shape must hold non-negative integers/],
    ['shape not array', () => torch.mseLoss(x, y, { shape: 4 as unknown as number[] }), TypeError, /opts\.shape must be an array/],
    ['unknown reduction', () => torch.mseLoss(x, y, { reduction: 'avg' as 'mean' }), RangeError, /torch\.mseLoss: opts\.reduction must be one of 'mean', 'sum', 'none', got 'avg'/],
    ['keras reduction in torch', () => torch.mseLoss(x, y, { reduction: 'sum_over_batch_size' as 'mean' }), RangeError, /opts\.reduction/],
    ['torch reduction in keras', () => keras.meanSquaredError(y, x, { reduction: 'mean' as 'sum' }), RangeError, /keras\.meanSquaredError: opts\.reduction must be one of 'sum_over_batch_size', 'sum', 'none'/],
    ['unknown option', () => torch.mseLoss(x, y, { beta: 1 } as never), TypeError, /torch\.mseLoss: opts\.beta is not an option of torch\.mseLoss/],
    ['gradOutput in forward', () => torch.mseLoss(x, y, { gradOutput: 1 } as never), TypeError, /opts\.gradOutput is not an option.*backward and withGrad/],
    ['negative beta', () => torch.smoothL1Loss(x, y, { beta: -0.5 }), RangeError, /torch\.smoothL1Loss: opts\.beta must be >= 0, got -0\.5/],
    ['NaN beta', () => torch.smoothL1Loss(x, y, { beta: NaN }), TypeError, /opts\.beta must be a finite number/],
    ['negative delta', () => torch.huberLoss(x, y, { delta: -1 }), RangeError, /torch\.huberLoss: opts\.delta must be > 0/],
    ['keras negative delta', () => keras.huber(y, x, { delta: -1 }), RangeError, /keras\.huber: opts\.delta must be >= 0/],
    ['opts not object', () => torch.mseLoss(x, y, 'mean' as never), TypeError, /torch\.mseLoss: opts must be an options object/],
    ['sampleWeight length', () => keras.meanSquaredError(y, x, { shape: [2, 2], sampleWeight: f32([1, 2, 3]) }), RangeError, /keras\.meanSquaredError: opts\.sampleWeight has length 3, but there are 2 samples/],
    ['sampleWeight type', () => keras.meanSquaredError(y, x, { sampleWeight: [1] as never }), TypeError, /opts\.sampleWeight must be a Float32Array/],
    ['out with reduced', () => torch.mseLoss(x, y, { out: new Float32Array(4) }), TypeError, /opts\.out is only used with reduction 'none'/],
    ['too many dims', () => torch.mseLoss(f32([1]), f32([1]), { shape: [1, 1, 1, 1, 1, 1, 1, 1, 1] }), RangeError, /at most 8/],
    ['gradOutput length', () => torch.mseLoss.backward(x, y, { reduction: 'none', gradOutput: f32([1]) }), RangeError, /torch\.mseLoss: opts\.gradOutput has length 1; the loss has 4 elements/],
    ['gradOutput type', () => torch.mseLoss.backward(x, y, { gradOutput: 'a' as never }), TypeError, /opts\.gradOutput must be a Float32Array/],
    ['setNumThreads', () => setNumThreads(0), RangeError, /setNumThreads: n must be >= 1/],
    ['setNumThreads type', () => setNumThreads(1.5), TypeError, /setNumThreads: n must be an integer/],
  ];
  test.each(cases)('%s', (_name, call, type, message) => {
    expect(call).toThrow(type);
    expect(call).toThrow(message);
  });

  test('detached ArrayBuffer', () => {
    const buf = new ArrayBuffer(16);
    const dead = new Float32Array(buf);
    structuredClone(buf, { transfer: [buf] });
    expect(() => torch.mseLoss(dead, y)).toThrow(TypeError);
    expect(() => torch.mseLoss(dead, y)).toThrow(/torch\.mseLoss: input is backed by a detached ArrayBuffer/);
  });

  test('nothing is written into out on error', () => {
    const out = new Float32Array(4);
    const grad = new Float32Array(4);
    expectThrowsWritingNothing(() => torch.mseLoss(x, f32([1, 2, 3]), { reduction: 'none', out }), RangeError,
      /torch\.mseLoss: target has length 3, but input has length 4/, out);
    expectThrowsWritingNothing(() => torch.mseLoss.backward(x, y, { reduction: 'none', out: grad, gradOutput: f32([1]) }), RangeError,
      /torch\.mseLoss: opts\.gradOutput has length 1; the loss has 4 elements/, grad);
    expectThrowsWritingNothing(() => torch.mseLoss.withGrad(x, y, { reduction: 'none', out: { loss: out, grad: new Float32Array(3) } }),
      RangeError, /opts\.out\.grad has length 3; expected 4/, out);
    expectThrowsWritingNothing(() => torch.mseLoss(x, y, { reduction: 'none', out: new Float32Array(5) }), RangeError,
      /opts\.out has length 5; expected 4/);
  });

  test('out may not overlap an input', () => {
    const buf = new Float32Array(8);
    const a = buf.subarray(0, 4);
    const out = buf.subarray(2, 6);
    expect(() => torch.mseLoss(a, y, { reduction: 'none', out })).toThrow(/opts\.out overlaps input/);
    expect(() => torch.mseLoss.withGrad(x, y, { reduction: 'none', out: { loss: a, grad: out } })).toThrow(/overlaps another output/);
  });

  test('async rejects instead of throwing', async () => {
    await expect(torch.mseLoss.async(x, f32([1]))).rejects.toThrow(/torch\.mseLoss: target has length 1/);
  });
});

describe('results and buffers', () => {
  const x = f32([1, -2, 3.5, 0]);
  const y = f32([0.5, -2, 1, 4]);

  test('mean of nothing is NaN, sum is 0, none is empty (PyTorch)', () => {
    const e = new Float32Array(0);
    expect(torch.mseLoss(e, e)).toBeNaN();
    expect(torch.mseLoss(e, e, { reduction: 'sum' })).toBe(0);
    expect(torch.mseLoss(e, e, { reduction: 'none' })).toHaveLength(0);
    expect(torch.mseLoss.backward(e, e)).toHaveLength(0);
  });

  test('out buffers are filled and returned', () => {
    const out = new Float32Array(4);
    const r = torch.mseLoss(x, y, { reduction: 'none', out });
    expect(r).toBe(out);
    expect(Array.from(out)).toEqual([0.25, 0, 6.25, 16]);
    const g = new Float32Array(4);
    expect(torch.mseLoss.backward(x, y, { out: g })).toBe(g);
    expect(Array.from(g)).toEqual([0.25, 0, 1.25, -2]);
    const lossOut = new Float32Array(4);
    const both = torch.mseLoss.withGrad(x, y, { reduction: 'none', out: { loss: lossOut, grad: g }, gradOutput: f32([1, 1, 2, 0.5]) });
    expect(both.loss).toBe(lossOut);
    expect(both.grad).toBe(g);
    expect(Array.from(g)).toEqual([1, 0, 10, -4]);
  });

  test('views with a byteOffset and SharedArrayBuffer-backed arrays', () => {
    const big = new Float32Array(10);
    big.set(x, 3);
    const view = big.subarray(3, 7);
    const shared = new Float32Array(new SharedArrayBuffer(16));
    shared.set(y);
    expect(torch.mseLoss(view, shared)).toBeCloseTo(mse64(x, y), 6);
    const out = new Float32Array(new SharedArrayBuffer(32), 16, 4);
    torch.l1Loss(view, shared, { reduction: 'none', out });
    expect(Array.from(out)).toEqual([0.5, 0, 2.5, 4]);
  });

  test('gradOutput scales reduced gradients; a one-element Float32Array works too', () => {
    const g1 = torch.huberLoss.backward(x, y, { reduction: 'sum', gradOutput: 3 });
    const g2 = torch.huberLoss.backward(x, y, { reduction: 'sum', gradOutput: f32([3]) });
    expect(Array.from(g1)).toEqual([1.5, 0, 3, -3]);
    expect(Array.from(g2)).toEqual(Array.from(g1));
  });

  test('keras: 1-D input is one sample; a number sampleWeight applies to every sample', () => {
    expect(keras.meanSquaredError(y, x, { reduction: 'none' })).toHaveLength(1);
    const w = keras.meanAbsoluteError(y, x, { shape: [2, 2], sampleWeight: 0.5, reduction: 'sum' });
    // |0.5| + |0| = 0.5 / 2 and |2.5| + |4| / 2, times 0.5
    expect(w).toBeCloseTo(0.5 * (0.25 + 3.25), 6);
  });

  test('keras: no samples gives 0 (divide_no_nan)', () => {
    const e = new Float32Array(0);
    expect(keras.meanSquaredError(e, e, { shape: [0, 3] })).toBe(0);
  });

  test('async returns what the sync call returns, for every result kind', async () => {
    const a = random(300000, 1);
    const b = random(300000, 2);
    expect(await torch.smoothL1Loss.async(a, b, { beta: 0.3 })).toBe(torch.smoothL1Loss(a, b, { beta: 0.3 }));
    const none = await keras.logCosh.async(b, a, { shape: [1000, 300], reduction: 'none' });
    expect(Array.from(none)).toEqual(Array.from(keras.logCosh(b, a, { shape: [1000, 300], reduction: 'none' })));
    const both = await torch.mseLoss.withGradAsync(a, b);
    const sync = torch.mseLoss.withGrad(a, b);
    expect(both.loss).toBe(sync.loss);
    expect(Array.from(both.grad.subarray(0, 1000))).toEqual(Array.from(sync.grad.subarray(0, 1000)));
  });

  test('many concurrent async calls all settle correctly', async () => {
    const a = random(1 << 20, 3);
    const b = random(1 << 20, 4);
    const want = torch.mseLoss(a, b);
    const got = await Promise.all(Array.from({ length: 12 }, () => torch.mseLoss.async(a, b)));
    for (const v of got) expect(v).toBe(want);
  });
});

describe('threads', () => {
  const initial = getNumThreads();
  afterAll(() => setNumThreads(initial));

  test('setNumThreads / getNumThreads / info', () => {
    setNumThreads(3);
    expect(getNumThreads()).toBe(3);
    expect(info().threads).toBe(3);
    expect(info().isaLevels).toContain(info().isa);
    expect(info().openmp).toBe('libgomp');
  });

  test('reduced results are bitwise identical for 1, 2, 3 and 4 threads', () => {
    const a = random(3_000_001, 5);
    const b = random(3_000_001, 6);
    const helperChunks = info().poolHelperChunks;
    const results = [1, 2, 3, 4].map((t) => {
      setNumThreads(t);
      return [
        torch.mseLoss(a, b), torch.l1Loss(a, b, { reduction: 'sum' }), torch.huberLoss.withGrad(a, b).loss,
        keras.logCosh(b, a, { shape: [3_000_001, 1] }), keras.meanSquaredError(b, a, { shape: [1, 3_000_001] }),
      ];
    });
    for (const r of results) expect(r).toEqual(results[0]);
    expect(info().poolHelperChunks).toBeGreaterThan(helperChunks);  // the pool's helpers did take part
  });

  test('the threads option: any count gives the same bits, on every call form', async () => {
    setNumThreads(2);
    const a = random(300_003, 11);
    const b = random(300_003, 12);
    const want = torch.huberLoss.withGrad(a, b);
    const wantGrad = bits(want.grad);
    const wantNone = bits(keras.logCosh(b, a, { shape: [300_003, 1], reduction: 'none' }));
    for (const threads of [1, 2, 3, info().maxThreads]) {
      expect(torch.huberLoss(a, b, { threads })).toBe(want.loss);
      expect(bits(torch.huberLoss.backward(a, b, { threads }))).toBe(wantGrad);
      const wg = torch.huberLoss.withGrad(a, b, { threads });
      expect([wg.loss, bits(wg.grad)]).toEqual([want.loss, wantGrad]);
      expect(await torch.huberLoss.async(a, b, { threads })).toBe(want.loss);
      const wga = await torch.huberLoss.withGradAsync(a, b, { threads });
      expect([wga.loss, bits(wga.grad)]).toEqual([want.loss, wantGrad]);
      expect(bits(keras.logCosh(b, a, { shape: [300_003, 1], reduction: 'none', threads }))).toBe(wantNone);
    }
  });

  test('the threads option bounds the call: 1 takes no lease, more than the default may be taken', () => {
    setNumThreads(2);
    const a = random(1 << 22, 13);
    const b = random(1 << 22, 14);
    native.takePeakThreads();
    torch.mseLoss(a, b, { threads: 1 });
    expect(native.takePeakThreads()).toBe(0);
    torch.mseLoss(a, b, { threads: 3 });
    expect(native.takePeakThreads()).toBe(3);
    torch.mseLoss(a, b);
    expect(native.takePeakThreads()).toBe(2);
  });

  test('the threads option is checked by name; a bad one writes nothing', () => {
    const x = f32([1, 2, 3, 4]);
    const y = f32([0, 1, 2, 3]);
    const max = info().maxThreads;
    const bad: [unknown, ErrorConstructor, string][] = [
      [0, RangeError, `torch.mseLoss: opts.threads must be an integer from 1 to ${max} (4 x the CPUs this process may use), got 0`],
      [max + 1, RangeError, `got ${max + 1}`],
      [-1, RangeError, 'got -1'],
      [1.5, TypeError, 'torch.mseLoss: opts.threads must be an integer, got 1.5'],
      [NaN, TypeError, 'must be an integer, got NaN'],
      ['2', TypeError, "must be an integer, got a string '2'"],
      [null, TypeError, 'must be an integer, got null'],
    ];
    for (const [threads, type, message] of bad) {
      const out = new Float32Array(4).fill(7);
      const call = () => torch.mseLoss(x, y, { reduction: 'none', out, threads: threads as number });
      expect(call).toThrow(type);
      expect(call).toThrow(message);
      expect(Array.from(out)).toEqual([7, 7, 7, 7]);
      expect(() => torch.mseLoss.withGrad(x, y, { threads: threads as number })).toThrow(type);
      expect(() => torch.mseLoss.backward(x, y, { threads: threads as number })).toThrow(/torch\.mseLoss: opts\.threads/);
    }
    return expect(torch.mseLoss.async(x, y, { threads: 0 })).rejects.toThrow(RangeError);
  });

  test('the native layer refuses a thread count outside 0..maxThreads in params', () => {
    const x = f32([1, 2, 3, 4]);
    for (const bad of [-1, 1.5, info().maxThreads + 1, NaN]) {
      setRawCall('torch.mseLoss', { flags: 1, reduction: 1, shape: [4] });
      params[SLOT.threads] = bad;
      expect(() => native.run(x, x)).toThrow('fastloss: malformed call parameters');
    }
    setRawCall('torch.mseLoss', { flags: 1, reduction: 1, shape: [4] });
    params[SLOT.threads] = info().maxThreads;
    expect(native.run(x, f32([0, 1, 2, 3]))).toBe(1);
  });

  test('concurrent async calls share the cores instead of multiplying them', async () => {
    setNumThreads(2);
    const a = random(1 << 22, 7);
    const b = random(1 << 22, 8);
    const want = torch.huberLoss(a, b);
    native.takePeakThreads();
    const got = await Promise.all(Array.from({ length: 8 }, () => torch.huberLoss.async(a, b)));
    for (const v of got) expect(v).toBe(want);
    // 8 calls on the 4 libuv workers, each wanting 2 threads: never more than 2 leased at once.
    expect(native.takePeakThreads()).toBeLessThanOrEqual(2);
  });

  test('worker_threads each get their own environment and the same numbers', async () => {
    const { Worker } = require('worker_threads') as typeof import('worker_threads');
    const a = random(100000, 9);
    const b = random(100000, 10);
    const code = `
      const { parentPort, workerData } = require('worker_threads');
      const { torch } = require(workerData.dist);
      parentPort.postMessage(torch.smoothL1Loss(workerData.a, workerData.b, { beta: 0.25 }));`;
    const want = torch.smoothL1Loss(a, b, { beta: 0.25 });
    const runWorker = () => new Promise<number>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { dist: `${__dirname}/../dist`, a, b } });
      w.once('message', resolve);
      w.once('error', reject);
    });
    const got = await Promise.all([runWorker(), runWorker(), runWorker()]);
    expect(got).toEqual([want, want, want]);
  });

  test('FASTLOSS_NUM_THREADS sets the default', () => {
    const { execFileSync } = require('child_process') as typeof import('child_process');
    const out = execFileSync(process.execPath, ['-e', "console.log(require('./build/Release/fastloss.node').getNumThreads())"], {
      cwd: `${__dirname}/..`, env: { ...process.env, FASTLOSS_NUM_THREADS: '3' }, encoding: 'utf8',
    });
    expect(out.trim()).toBe('3');
  });

  test('new large outputs (their pages faulted in before the region) hold what reused buffers get', async () => {
    // 2^19 elements: 2 MiB outputs, over the 256 KiB from which a threaded call faults in new pages first (runtime.h).
    const n = 1 << 19;
    const x = random(n, 21);
    const y = random(n, 22);
    const p = Float32Array.from(x, (v) => 0.02 + 0.96 * (v + 2) / 4);
    const t = Float32Array.from(y, (v) => (v > 0 ? 1 : 0));
    const reused = new Float32Array(n).fill(1);
    const reusedGrad = new Float32Array(n).fill(1);
    for (const threads of [1, 2]) {
      const want = bits(torch.binaryCrossEntropy(p, t, { reduction: 'none', out: reused, threads }));
      const wantGrad = bits(torch.mseLoss.backward(x, y, { out: reusedGrad, threads }));
      expect(bits(torch.binaryCrossEntropy(p, t, { reduction: 'none', threads }))).toBe(want);
      expect(bits(await torch.binaryCrossEntropy.async(p, t, { reduction: 'none', threads }))).toBe(want);
      expect(bits(torch.mseLoss.backward(x, y, { threads }))).toBe(wantGrad);
      const shared = new Float32Array(new SharedArrayBuffer(4 * n));
      expect(bits(torch.binaryCrossEntropy(p, t, { reduction: 'none', out: shared, threads }))).toBe(want);
    }
    // The values themselves, against float64 (PyTorch's formula; its log is clamped at -100).
    for (let i = 0; i < n; i += 4099) {
      const ref = -(t[i] * Math.log(p[i]) + (1 - t[i]) * Math.log(1 - p[i]));
      expect(Math.abs(reused[i] - ref)).toBeLessThanOrEqual(1e-6 * Math.max(1, ref));
      expect(Math.abs(reusedGrad[i] - 2 * (x[i] - y[i]) / n)).toBeLessThanOrEqual(1e-6 * Math.abs(2 * (x[i] - y[i]) / n) + 1e-30);
    }
  });

  test('starting the first helper thread is not counted as a contention stall', () => {
    // A fresh process (contention backoff on, as for users): its first parallel region starts the
    // pool's helper thread, whose creation can outlast the region. Counted as a stall, it ran the
    // next 20 ms (now 2 ms) of calls on one thread. A real stall can still hit a busy machine: one of 3 processes must
    // count none.
    const { execFileSync } = require('child_process') as typeof import('child_process');
    const script = `const { torch, info } = require('./dist');
      const x = new Float32Array(1e5).fill(0.5), t = new Float32Array(1e5).fill(1);
      torch.poissonNllLoss(x, t);
      const first = info();
      for (let i = 0; i < 50; i++) torch.poissonNllLoss(x, t);
      console.log(JSON.stringify({ stalls: first.poolStalls, threads: first.poolThreads }));`;
    const runs = [0, 1, 2].map(() => JSON.parse(execFileSync(process.execPath, ['-e', script], {
      cwd: `${__dirname}/..`, env: { ...process.env, FASTLOSS_NUM_THREADS: '2' }, encoding: 'utf8',
    })) as { stalls: number; threads: number });
    for (const r of runs) expect(r.threads).toBe(1);
    expect(Math.min(...runs.map((r) => r.stalls))).toBe(0);
  });
});

describe('accuracy of reductions', () => {
  test('mean of 1e8 float32 squared errors agrees with float64 to 1e-7 relative', () => {
    // 100 periods of 2^20 distinct values in [1, 2): the float64 reference sums one period
    // (squares of float32 values are exact in float64) with Neumaier compensation.
    const period = 1 << 20;
    const n = 100 * period;
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    let sum = 0;
    let c = 0;
    for (let i = 0; i < period; i++) {
      a[i] = 1 + ((i * 7919) % period) / period + 1 / 3;
      const v = a[i] * a[i];
      const t = sum + v;
      c += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
      sum = t;
    }
    for (let k = 1; k < 100; k++) a.copyWithin(k * period, 0, period);
    const want = (sum + c) / period;
    const got = torch.mseLoss(a, b);
    expect(Math.abs(got - want) / want).toBeLessThan(1e-7);
  });
});

test('the torch and keras namespaces hold losses only (and their class forms, nn / losses), each named as its kernel', () => {
  const classForms: Record<string, string> = { torch: 'nn', keras: 'losses' };
  for (const [ns, mod] of [['torch', torch], ['keras', keras]] as const) {
    for (const [key, value] of Object.entries(mod)) {
      if (key === classForms[ns]) continue;
      expect({ key, lossName: (value as { lossName?: string }).lossName }).toEqual({ key, lossName: `${ns}.${key}` });
      expect(native.kernels[`${ns}.${key}`]).toBeGreaterThanOrEqual(0);
    }
  }
  // and every loss kernel has its facade function (the registry test checks the rest of its layers)
  const lossKernels = Object.keys(native.kernels).filter((k) => /^(torch|keras)\./.test(k));
  expect(Object.keys(torch).length + Object.keys(keras).length - 2).toBe(lossKernels.length);
});
