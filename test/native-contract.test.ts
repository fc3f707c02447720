// The native layer's own guarantees, whatever the facade computed: every buffer checked against
// the kernel's extents, outputs apart from inputs on the real addresses, and async calls that
// JavaScript cannot pull memory from under.
import { spawnSync } from 'child_process';
import * as path from 'path';
import { keras, torch } from '../src';
import { native, setRawCall } from '../src/core/native';

const root = path.join(__dirname, '..');

describe('native layer checks every call against the kernel extents', () => {
  test('random shapes, flags, scalars and lengths for every kernel: a number or a TypeError/RangeError, never a crash', () => {
    const seed = Number(process.env.FASTLOSS_FUZZ_SEED ?? 20261126);
    const r = spawnSync(process.execPath, [path.join(root, 'test', 'scripts', 'native-fuzz.js'), String(seed), '300'], {
      encoding: 'utf8', env: process.env, timeout: 120_000,
    });
    expect(r.signal).toBeNull();
    expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error/);
    expect(r.status).toBe(0);
    const tally = JSON.parse(r.stdout.trim().split('\n').pop()!);
    expect(tally.kernels).toBe(Object.keys(native.kernels).length - 1);  // all but the bandwidth probe
    expect(tally.calls).toBe(tally.results + tally.typeErrors + tally.rangeErrors);
    expect(tally.results).toBeGreaterThan(tally.calls / 2);  // most calls reach a kernel
    expect(tally.tamperedRejected).toBeGreaterThan(0);
  });

  test('a length the shape does not allow is refused, naming the kernel, before anything is written', () => {
    const x = new Float32Array(6);
    const out = new Float32Array(5).fill(7);
    setRawCall('keras.meanSquaredError', { flags: 1 | 4, reduction: 0, shape: [3, 2] });
    expect(() => native.run(x, x, null, out)).toThrow(/^keras\.meanSquaredError: opts\.out has length 5; shape \[3, 2\] needs 3$/);
    expect(Array.from(out)).toEqual([7, 7, 7, 7, 7]);
    setRawCall('torch.mseLoss', { flags: 1, reduction: 1, shape: [1 << 26] });
    expect(() => native.run(x, x)).toThrow(/^torch\.mseLoss: input 0 has length 6; shape \[67108864\] needs 67108864$/);
    setRawCall('torch.mseLoss', { flags: 1, reduction: 1, shape: [2 ** 53, 0] });
    expect(() => native.run(new Float32Array(0), new Float32Array(0))).toThrow(/^torch\.mseLoss: opts\.shape must hold integers from 0 to 2\^40$/);
    setRawCall('torch.tripletMarginLoss', { flags: 1, reduction: 1, shape: [2 ** 30, 0] });
    const e = new Float32Array(0);
    expect(() => native.run(e, e, e)).toThrow(/more than 2\^24 empty rows/);
  });

  test('an Int32Array target is read as class indices whatever the params say', () => {
    // [2, 3] logits, index targets [2, 0]: float64 reference of -log softmax.
    const logits = [0.5, -1, 2, 1.5, 0.25, -0.75];
    const ref = (row: number[], k: number) => Math.log(row.reduce((s, v) => s + Math.exp(v), 0)) - row[k];
    const want = (ref(logits.slice(0, 3), 2) + ref(logits.slice(3), 0)) / 2;
    setRawCall('torch.crossEntropy', { flags: 1, reduction: 1, shape: [2, 3], scalars: [-100, 0, 0] });
    expect(() => native.run(new Float32Array(logits), new Int32Array([2, 0, 1, 1, 1, 1]))).toThrow(/input 1 has length 6; shape \[2, 3\] needs 2/);
    expect(torch.crossEntropy(new Float32Array(logits), new Int32Array([2, 0]), { shape: [2, 3] })).toBeCloseTo(want, 6);
    // params saying "probabilities" (scalar 2 = 0) cannot make the kernel read 2 indices as 6 floats
    expect(native.run(new Float32Array(logits), new Int32Array([2, 0]))).toBeCloseTo(want, 6);
  });
});

describe('outputs apart from inputs on the real addresses', () => {
  test('two SharedArrayBuffer objects over one memory are caught, naming the output', () => {
    const sab = new SharedArrayBuffer(4 * 8);
    const input = new Float32Array(sab).fill(0.5);
    const alias = new Float32Array(structuredClone(sab));
    alias[0] = 3;
    expect(input[0]).toBe(3);  // the same memory
    expect(() => torch.mseLoss.backward(input, new Float32Array(8), { out: alias }))
      .toThrow(/^torch\.mseLoss: opts\.out .*overlaps/);
    expect(() => torch.mseLoss(input, new Float32Array(8), { reduction: 'none', out: alias })).toThrow(RangeError);
    expect(() => torch.mseLoss.withGrad(input, new Float32Array(8), { out: { grad: alias } }))
      .toThrow(/^torch\.mseLoss: opts\.out \(input gradient\) .*overlaps/);
  });
});

describe('async calls and memory JavaScript can take away', () => {
  const n = 1 << 16;
  const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
  const b = Float32Array.from({ length: n }, (_, i) => Math.cos(3 * i));
  // float64 reference of the mean squared error
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (a[i] - b[i]) ** 2;
  const mse = sum / n;

  test('inputs over a plain ArrayBuffer are copied: changing them after the call starts changes nothing', async () => {
    const x = a.slice();
    const pending = torch.mseLoss.async(x, b);
    x.fill(100);
    await expect(pending).resolves.toBeCloseTo(mse, 6);
  });

  test('inputs over a SharedArrayBuffer are used in place, and the result is still a number', async () => {
    const x = new Float32Array(new SharedArrayBuffer(4 * n));
    x.set(a);
    await expect(torch.mseLoss.async(x, b)).resolves.toBeCloseTo(mse, 6);
  });

  test('an input transferred away or a resizable buffer shrunk mid-call: the call still computes on its copy', async () => {
    const x = a.slice();
    const pending = torch.mseLoss.async(x, b);
    structuredClone(x.buffer, { transfer: [x.buffer] });
    await expect(pending).resolves.toBeCloseTo(mse, 6);
    const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(4 * n, { maxByteLength: 4 * n });
    const y = new Float32Array(rab);
    y.set(a);
    const pending2 = torch.mseLoss.async(y, b);
    rab.resize(0);
    await expect(pending2).resolves.toBeCloseTo(mse, 6);
  });

  test('a caller out buffer detached mid-call: the promise rejects naming opts.out; otherwise it is written', async () => {
    const rows = 64;
    const yt = new Float32Array(rows * 1024);
    const yp = new Float32Array(rows * 1024).fill(1);
    const out = new Float32Array(rows);
    const pending = keras.logCosh.async(yt, yp, { shape: [rows, 1024], reduction: 'none', out });
    structuredClone(out.buffer, { transfer: [out.buffer] });
    await expect(pending).rejects.toThrow(/^keras\.logCosh: opts\.out was detached, transferred or resized during the async call; nothing was written$/);
    const out2 = new Float32Array(rows);
    const result = await keras.logCosh.async(yt, yp, { shape: [rows, 1024], reduction: 'none', out: out2 });
    expect(result).toBe(out2);
    for (const v of out2) expect(v).toBeCloseTo(Math.log(Math.cosh(1)), 6);
  });

  test('async equals sync bitwise, with fresh, shared and caller outputs', async () => {
    const sync = torch.huberLoss.withGrad(a, b, { reduction: 'none' });
    const fresh = await torch.huberLoss.withGradAsync(a, b, { reduction: 'none' });
    const shared = { loss: new Float32Array(new SharedArrayBuffer(4 * n)), grad: new Float32Array(new SharedArrayBuffer(4 * n)) };
    await torch.huberLoss.withGradAsync(a, b, { reduction: 'none', out: shared });
    const plain = { loss: new Float32Array(n), grad: new Float32Array(n) };
    await torch.huberLoss.withGradAsync(a, b, { reduction: 'none', out: plain });
    for (const r of [fresh, shared, plain]) {
      expect(Buffer.from(r.loss.buffer).equals(Buffer.from(sync.loss.buffer))).toBe(true);
      expect(Buffer.from(r.grad.buffer).equals(Buffer.from(sync.grad.buffer))).toBe(true);
    }
  });
});

describe('kernel parameters by name', () => {
  test('an option naming a parameter its kernel does not declare fails when the loss is defined', () => {
    const { defineLoss } = require('../src/core/define') as typeof import('../src/core/define');
    const { torchPairPlan, TORCH_REDUCTIONS } = require('../src/core/frameworks') as typeof import('../src/core/frameworks');
    const def = (param: string) => ({
      name: 'torch.smoothL1Loss',
      args: [{ name: 'input', kind: 'f32' as const, grad: true }, { name: 'target', kind: 'f32' as const }],
      options: { beta: { default: 1, check: (_f: string, _a: string, v: unknown) => v, param } },
      reductions: TORCH_REDUCTIONS,
      defaultReduction: 'mean',
      plan: torchPairPlan,
    });
    expect(() => defineLoss(def('bta'))).toThrow(/^fastloss: torch\.smoothL1Loss: option beta names kernel parameter 'bta', which the kernel does not declare \(it has: beta\)$/);
    expect(() => defineLoss(def('beta'))).not.toThrow();
  });

  test('the addon exports every kernel\'s parameter names and the wire constants', () => {
    expect(native.params['torch.tripletMarginLoss']).toEqual(['margin', 'p', 'eps', 'swap']);
    expect(native.params['torch.mseLoss']).toEqual([]);
    expect(native.flags).toEqual({ wantLoss: 1, wantGrad: 2, hasOut: 4, hasGradOut: 8, freshOut: 16, reportParts: 256 });
    for (const names of Object.values(native.params)) expect(names.length).toBeLessThanOrEqual(native.maxParams);
  });
});
