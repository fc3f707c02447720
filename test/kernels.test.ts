// Kernel-layer regressions of issue 8: torch.multilabelMarginLoss on long rows (its old mixed
// double + int64 simd reduction was miscompiled at AVX2 / AVX-512), results bitwise independent of
// the thread count on every ISA level, class indices read safely while memory changes, and the
// thread bound. Expected values are float64 computations of PyTorch's documented formulas.
import { execFileSync } from 'child_process';
import * as os from 'os';
import * as path from 'path';
import { getNumThreads, info, keras, setNumThreads, torch } from '../src';
import { FLAG_LOSS, native, setRawCall } from '../src/core/native';
import { isaLevels } from './helpers/parity';
import { AnyLoss } from './helpers/losses';
import { seededRandom } from './helpers/random';

function floats(n: number, seed: number, f: (u: number) => number): Float32Array {
  const r = seededRandom(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = f(r());
  return a;
}

function expectNear(got: ArrayLike<number>, want: ArrayLike<number>, what: string, rtol: number, atol: number): void {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!(Math.abs(got[i] - want[i]) <= atol + rtol * Math.abs(want[i])))
      throw new Error(`${what}[${i}]: got ${got[i]}, expected ${want[i]}`);
  }
}

const initialIsa = native.info().isa;
const initialThreads = getNumThreads();
afterAll(() => {
  native.setIsa(initialIsa);
  setNumThreads(initialThreads);
});

// ---------------------------------------------------------------- multilabelMarginLoss

// torch.nn.functional.multilabel_margin_loss, float64: per row, the targets are read up to the
// first negative entry; for each target j (duplicates count again) and each non-target i,
// max(0, 1 - (x_j - x_i)) / C. Gradient of the per-row losses (strict z > 0, as ATen).
function multilabelMarginRef(x: Float32Array, t: Int32Array, R: number, C: number): { rows: number[]; grad: number[] } {
  const rows: number[] = [];
  const grad = new Array<number>(R * C).fill(0);
  for (let r = 0; r < R; r++) {
    const targets: number[] = [];
    for (let k = 0; k < C; k++) {
      const v = t[r * C + k];
      if (v < 0) break;
      targets.push(v);
    }
    const isTarget = new Set(targets);
    let l = 0;
    for (const j of targets) {
      for (let i = 0; i < C; i++) {
        if (isTarget.has(i)) continue;
        const z = 1 - (x[r * C + j] - x[r * C + i]);
        if (z > 0) {
          l += z / C;
          grad[r * C + i] += 1 / C;
          grad[r * C + j] -= 1 / C;
        }
      }
    }
    rows.push(l);
  }
  return { rows, grad };
}

// Rows of C classes: x on a grid of 1/64 (so 1 - x_j + x_i is exact in float32 and the hinge
// decisions are those of the float64 reference), 0..9 targets per row (one duplicated when there
// are several), padded with -1, valid classes after the padding (PyTorch checks them, ignores them).
function multilabelCase(R: number, C: number, seed: number): { x: Float32Array; t: Int32Array } {
  const r = seededRandom(seed);
  const x = new Float32Array(R * C);
  for (let i = 0; i < x.length; i++) x[i] = Math.floor(r() * 257 - 128) / 64;
  const t = new Int32Array(R * C);
  for (let row = 0; row < R; row++) {
    const count = Math.min(C - 1, Math.floor(r() * 10));
    const picked: number[] = [];
    while (picked.length < count) {
      const c = Math.floor(r() * C);
      if (!picked.includes(c)) picked.push(c);
    }
    if (picked.length >= 3) picked[picked.length - 1] = picked[0];  // a duplicate counts again
    for (let k = 0; k < C; k++) t[row * C + k] = k < picked.length ? picked[k] : k === picked.length ? -1 : Math.floor(r() * C);
  }
  return { x, t };
}

describe.each(isaLevels())('torch.multilabelMarginLoss on long rows [%s]', (level) => {
  beforeAll(() => { expect(native.setIsa(level)).toBe(level); });

  test.each([7, 16, 32, 64, 100, 1024])('C = %i: values and gradients against the float64 formula', async (C) => {
    const R = 5;
    const { x, t } = multilabelCase(R, C, 1000 + C);
    const ref = multilabelMarginRef(x, t, R, C);
    const sum = ref.rows.reduce((s, v) => s + v, 0);
    const opts = { shape: [R, C] };
    expect(torch.multilabelMarginLoss(x, t, opts)).toBeCloseTo(sum / R, 6);
    expect(torch.multilabelMarginLoss(x, t, { ...opts, reduction: 'sum' })).toBeCloseTo(sum, 5);
    expectNear(torch.multilabelMarginLoss(x, t, { ...opts, reduction: 'none' }), ref.rows, 'none', 1e-6, 1e-6);
    const meanGrad = ref.grad.map((g) => g / R);
    for (let k = 0; k < 3; k++) {  // repeated calls gave different wrong sums before
      const both = torch.multilabelMarginLoss.withGrad(x, t, opts);
      expect(Math.abs(both.loss - sum / R)).toBeLessThanOrEqual(1e-6 * Math.abs(sum / R) + 1e-7);
      expectNear(both.grad, meanGrad, `withGrad.grad C=${C}`, 1e-5, 1e-7);
    }
    expectNear(torch.multilabelMarginLoss.backward(x, t, opts), meanGrad, 'backward', 1e-5, 1e-7);
    // 'none' with an upstream gradient per row.
    const up = Float32Array.from({ length: R }, (_, i) => i - 1.5);
    const upGrad = ref.grad.map((g, i) => g * up[Math.floor(i / C)]);
    expectNear(torch.multilabelMarginLoss.backward(x, t, { ...opts, reduction: 'none', gradOutput: up }), upGrad,
      'backward none', 1e-5, 1e-6);
    const asyncBoth = await torch.multilabelMarginLoss.withGradAsync(x, t, opts);
    expect(Math.abs(asyncBoth.loss - sum / R)).toBeLessThanOrEqual(1e-6 * Math.abs(sum / R) + 1e-7);
    expectNear(asyncBoth.grad, meanGrad, 'withGradAsync.grad', 1e-5, 1e-7);
  });

  test('withGradAsync on [2, 1024] with valid targets', async () => {
    const { x, t } = multilabelCase(2, 1024, 77);
    const ref = multilabelMarginRef(x, t, 2, 1024);
    const got = await Promise.all([0, 1, 2, 3].map(() => torch.multilabelMarginLoss.withGradAsync(x, t, { shape: [2, 1024] })));
    for (const g of got) {
      expect(g.loss).toBeCloseTo((ref.rows[0] + ref.rows[1]) / 2, 6);
      expectNear(g.grad, ref.grad.map((v) => v / 2), 'grad', 1e-5, 1e-7);
    }
  });
});

// ---------------------------------------------------------------- thread-count independence

type Result = number | Float32Array | { [k: string]: unknown };

// Every number bitwise: Float64 results with Object.is, arrays byte for byte.
function fingerprint(v: unknown): string {
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : Number.isNaN(v) ? 'NaN' : v.toString();
  if (v instanceof Float32Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (v && typeof v === 'object') return Object.keys(v).sort().map((k) => `${k}:${fingerprint((v as Record<string, unknown>)[k])}`).join('|');
  return String(v);
}

interface DetCase {
  name: string;
  weighted: boolean;
  run: (mode: 'reduced' | 'none' | 'withGrad' | 'withGradNone') => Result;
}

function detCases(R: number, C: number): DetCase[] {
  const n = R * C;
  const probs = floats(n, 11, (u) => 0.005 + 0.99 * u);
  const logits = floats(n, 12, (u) => 8 * u - 4);
  const labels = floats(n, 13, (u) => (u < 0.5 ? 0 : 1));
  const other = floats(n, 14, (u) => 4 * u - 2);
  const sw = floats(R, 15, (u) => 0.25 + 2 * u);
  const idx = Int32Array.from(floats(R, 16, (u) => Math.floor(u * C)));
  const ml = new Int32Array(n).fill(-1);
  for (let r = 0; r < R; r++) for (let k = 0; k < Math.min(C - 1, 2); k++) ml[r * C + k] = (r + 3 * k) % C;
  const varRow = floats(R, 17, (u) => 0.1 + u);
  const shape = [R, C];
  const modes = (fn: (o: Record<string, unknown>) => Result, gradFn: (o: Record<string, unknown>) => Result) =>
    (mode: 'reduced' | 'none' | 'withGrad' | 'withGradNone') =>
      mode === 'reduced' ? fn({ shape }) : mode === 'none' ? fn({ shape, reduction: 'none' })
        : gradFn(mode === 'withGrad' ? { shape } : { shape, reduction: 'none' });
  const keras3 = (name: string, lossFn: unknown, yt: Float32Array | Int32Array, yp: Float32Array, extra: Record<string, unknown> = {}) => {
    const loss = lossFn as AnyLoss;
    return [false, true].map((w) => ({
      name, weighted: w,
      run: modes((o) => loss(yt, yp, { ...o, ...extra, ...(w ? { sampleWeight: sw } : {}) }) as Result,
        (o) => loss.withGrad(yt, yp, { ...o, ...extra, ...(w ? { sampleWeight: sw } : {}) }) as Result),
    }));
  };
  const torch2 = (name: string, lossFn: unknown, args: (Float32Array | Int32Array)[], extra: Record<string, unknown> = {}) => ({
    name, weighted: false,
    run: modes((o) => (lossFn as AnyLoss)(...args, { ...o, ...extra }) as Result,
      (o) => (lossFn as AnyLoss).withGrad(...args, { ...o, ...extra }) as Result),
  });
  return [
    ...keras3('keras.binaryCrossentropy', keras.binaryCrossentropy, labels, probs),
    ...keras3('keras.binaryCrossentropy fromLogits', keras.binaryCrossentropy, labels, logits, { fromLogits: true }),
    ...keras3('keras.meanSquaredError', keras.meanSquaredError, other, logits),
    ...keras3('keras.logCosh', keras.logCosh, other, logits),
    ...keras3('keras.categoricalCrossentropy', keras.categoricalCrossentropy, labels, probs),
    ...keras3('keras.sparseCategoricalCrossentropy fromLogits', keras.sparseCategoricalCrossentropy, idx, logits, { fromLogits: true }),
    ...keras3('keras.sparseCategoricalCrossentropy', keras.sparseCategoricalCrossentropy, idx, probs),
    ...keras3('keras.hinge', keras.hinge, labels, logits),
    ...keras3('keras.cosineSimilarity', keras.cosineSimilarity, other, logits),
    ...keras3('keras.klDivergence', keras.klDivergence, probs, labels),
    ...keras3('keras.poisson', keras.poisson, labels, probs),
    torch2('torch.mseLoss', torch.mseLoss, [logits, other]),
    torch2('torch.binaryCrossEntropyWithLogits', torch.binaryCrossEntropyWithLogits, [logits, labels]),
    torch2('torch.crossEntropy', torch.crossEntropy, [logits, idx]),
    torch2('torch.crossEntropy probabilities', torch.crossEntropy, [logits, probs]),
    torch2('torch.nllLoss', torch.nllLoss, [logits, idx]),
    torch2('torch.multiMarginLoss', torch.multiMarginLoss, [logits, idx]),
    torch2('torch.multilabelMarginLoss', torch.multilabelMarginLoss, [logits, ml]),
    torch2('torch.gaussianNllLoss', torch.gaussianNllLoss, [logits, other, probs]),
    torch2('torch.gaussianNllLoss per row', torch.gaussianNllLoss, [logits, other, varRow]),
  ];
}

describe.each(isaLevels())('results are bitwise identical on 1, 2, 3 and 5 threads [%s]', (level) => {
  beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
  afterAll(() => setNumThreads(initialThreads));
  const threads = [1, 2, 3, 5].filter((t) => t <= info().maxThreads);

  test.each([[2400, 4], [1000, 3], [5000, 7], [40000, 3]])('[%i, %i]', (R, C) => {
    let configurations = 0;
    for (const c of detCases(R, C)) {
      for (const mode of ['reduced', 'none', 'withGrad', 'withGradNone'] as const) {
        const got = threads.map((t) => {
          setNumThreads(t);
          return fingerprint(c.run(mode));
        });
        for (let k = 1; k < got.length; k++) {
          if (got[k] !== got[0])
            throw new Error(`${c.name}${c.weighted ? ' sampleWeight' : ''} ${mode} [${R}, ${C}]: ${threads[k]} threads differ from 1`);
        }
        configurations++;
      }
    }
    expect(configurations).toBeGreaterThan(100);
  });
});

// ---------------------------------------------------------------- indices changed during a call

describe('class indices changed while a call runs', () => {
  // The async kernel runs on the pool while JS overwrites the targets with out-of-range values:
  // the call must settle with a number or a RangeError, never touch memory out of bounds.
  test.each([
    ['torch.nllLoss', (x: Float32Array, t: Int32Array, R: number, C: number) => torch.nllLoss.withGradAsync(x, t, { shape: [R, C] })],
    ['torch.crossEntropy', (x: Float32Array, t: Int32Array, R: number, C: number) => torch.crossEntropy.withGradAsync(x, t, { shape: [R, C] })],
    ['keras.sparseCategoricalCrossentropy', (x: Float32Array, t: Int32Array, R: number, C: number) =>
      keras.sparseCategoricalCrossentropy.withGradAsync(t, x, { shape: [R, C], fromLogits: true })],
    ['torch.multiMarginLoss', (x: Float32Array, t: Int32Array, R: number, C: number) => torch.multiMarginLoss.withGradAsync(x, t, { shape: [R, C] })],
  ])('%s', async (_name, call) => {
    const R = 1 << 18;
    const C = 4;
    const x = floats(R * C, 3, (u) => u);
    const t = new Int32Array(R).fill(1);
    const pending = (call as (x: Float32Array, t: Int32Array, R: number, C: number) => Promise<unknown>)(x, t, R, C);
    t.fill(1 << 30);
    await pending.then(
      (v) => expect(v).toBeDefined(),
      (e) => { expect(e.name).toBe('RangeError'); expect(String(e.message)).toMatch(/out of range|changed during the call|expected a class index/); });
  });

  test('torch.multilabelMarginLoss', async () => {
    const R = 1 << 16;
    const C = 8;
    const x = floats(R * C, 3, (u) => u);
    const t = new Int32Array(R * C).fill(-1);
    for (let r = 0; r < R; r++) t[r * C] = 1;
    const pending = torch.multilabelMarginLoss.withGradAsync(x, t, { shape: [R, C] });
    t.fill(1 << 30);
    await pending.then(
      (v) => expect(v).toBeDefined(),
      (e) => { expect(e.name).toBe('RangeError'); expect(String(e.message)).toMatch(/out of range|changed during the call|expected a class index/); });
  });
});

// ---------------------------------------------------------------- thread bound

describe('thread bound', () => {
  afterAll(() => setNumThreads(initialThreads));
  const avail = (os as unknown as { availableParallelism?: () => number }).availableParallelism;
  const cpus = avail ? avail() : os.cpus().length;

  test('maxThreads is 4 x the CPUs this process may use', () => {
    expect(info().maxThreads).toBe(4 * cpus);
    expect(info().threads).toBeLessThanOrEqual(info().maxThreads);
  });

  test('setNumThreads accepts 1..maxThreads and rejects anything else by name', () => {
    const max = info().maxThreads;
    setNumThreads(max);
    expect(getNumThreads()).toBe(max);
    setNumThreads(1);
    expect(getNumThreads()).toBe(1);
    for (const bad of [0, -1, max + 1, 1e9, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) {
      expect(() => setNumThreads(bad)).toThrow(RangeError);
      expect(() => setNumThreads(bad)).toThrow(/setNumThreads: n must be >= 1 and <= \d+/);
    }
    expect(getNumThreads()).toBe(1);  // nothing changed, in particular 2**31 did not become 1 by wrapping
    expect(() => setNumThreads('2' as unknown as number)).toThrow(TypeError);
    expect(() => setNumThreads('2' as unknown as number)).toThrow("setNumThreads: n must be an integer, got a string '2'");
    expect(() => setNumThreads(BigInt(2) as unknown as number)).toThrow(/got a bigint 2n/);
    expect(() => setNumThreads(undefined as unknown as number)).toThrow(/got undefined/);
    expect(() => setNumThreads(1.5)).toThrow(/setNumThreads: n must be an integer, got the number 1.5/);
    expect(() => setNumThreads(NaN)).toThrow(TypeError);
    // The native export applies the same bound on its own.
    // (errors thrown by the addon come from another realm than jest's: checked by name)
    for (const bad of [max + 1, 2 ** 31, 0, 1.5]) {
      let err: Error | undefined;
      try { native.setNumThreads(bad); } catch (e) { err = e as Error; }
      expect(err?.name).toBe('RangeError');
      expect(err?.message).toMatch(/^setNumThreads: n must be an integer from 1 to \d+$/);
    }
    expect(getNumThreads()).toBe(1);
  });

  // A fresh process with the environment variable: the native default, its warning, and the
  // facade's one process warning at load.
  function child(env: Record<string, string | undefined>): { threads: number; max: number; warning: string | null; stderr: string } {
    const root = path.join(__dirname, '..');
    const script = "const f = require('./dist'); const i = f.info(); console.log(JSON.stringify({ threads: i.threads, max: i.maxThreads, warning: i.threadsWarning }));";
    const { spawnSync } = require('child_process') as typeof import('child_process');
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
    expect(r.status).toBe(0);
    return { ...JSON.parse(r.stdout), stderr: r.stderr };
  }

  test('FASTLOSS_NUM_THREADS: integers from 1 to maxThreads are taken', () => {
    const max = info().maxThreads;
    for (const v of ['1', '3', String(max)]) {
      const c = child({ FASTLOSS_NUM_THREADS: v, OMP_NUM_THREADS: undefined });
      expect(c.threads).toBe(Number(v));
      expect(c.warning).toBeNull();
      expect(c.stderr).not.toMatch(/FASTLOSS_NUM_THREADS/);
    }
  });

  test('FASTLOSS_NUM_THREADS: anything else is ignored with a warning', () => {
    const max = info().maxThreads;
    const plain = child({ FASTLOSS_NUM_THREADS: undefined, OMP_NUM_THREADS: undefined });
    expect(plain.warning).toBeNull();
    for (const v of ['1e9', '3abc', '', '99999999999', '0', '-2', ' 3', '2.0', '0x4', String(max + 1)]) {
      const c = child({ FASTLOSS_NUM_THREADS: v, OMP_NUM_THREADS: undefined });
      expect(c.threads).toBe(plain.threads);
      expect(c.warning).toContain(`ignoring FASTLOSS_NUM_THREADS='${v}'`);
      expect(c.warning).toContain(`from 1 to ${max}`);
      expect(c.stderr).toContain(`[FASTLOSS_NUM_THREADS] Warning: fastloss: ignoring FASTLOSS_NUM_THREADS='${v}'`);
    }
  });

  test('an OpenMP default above the bound is capped', () => {
    const max = info().maxThreads;
    const c = child({ FASTLOSS_NUM_THREADS: undefined, OMP_NUM_THREADS: String(max * 10) });
    expect(c.threads).toBe(max);
    expect(c.warning).toMatch(/OMP_NUM_THREADS/);
    const within = child({ FASTLOSS_NUM_THREADS: undefined, OMP_NUM_THREADS: '1' });
    expect(within.threads).toBe(1);
    expect(within.warning).toBeNull();
  });

  test('the native default without the facade follows the same rule', () => {
    const out = execFileSync(process.execPath, ['-e', "const a = require('./build/Release/fastloss.node'); console.log(a.getNumThreads(), a.info().threadsWarning !== null)"], {
      cwd: path.join(__dirname, '..'), env: { ...process.env, FASTLOSS_NUM_THREADS: '99999999999' }, encoding: 'utf8',
    });
    const [threads, warned] = out.trim().split(' ');
    expect(Number(threads)).toBeLessThanOrEqual(info().maxThreads);
    expect(warned).toBe('true');
  });
});

// ---------------------------------------------------------------- Keras short rows

// Rows shorter than a few vectors take a flat path (engine.h kerasShortRows): values, gradients
// and 'none' outputs against Keras' formulas in float64, with sample weights and an upstream
// gradient, over blocks and chunks of rows.
describe.each(isaLevels())('Keras losses on short rows with sample weights [%s]', (level) => {
  beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
  const eps = Math.fround(1e-7);
  const clip = (p: number) => Math.min(Math.max(p, eps), Math.fround(1 - eps));
  const bce = (y: number, p: number) => -(y * Math.log(clip(p) + eps) + (1 - y) * Math.log(1 - clip(p) + eps));
  const dbce = (y: number, p: number) => (p >= eps && p <= Math.fround(1 - eps) ? (1 - y) / (1 - clip(p) + eps) - y / (clip(p) + eps) : 0);
  const logCosh = (y: number, p: number) => Math.log(Math.cosh(p - y));
  const dLogCosh = (y: number, p: number) => Math.tanh(p - y);

  test.each([[2400, 4], [333, 7], [500, 40], [64, 255]])('[%i, %i]', (R, C) => {
    const y = floats(R * C, 21, (u) => (u < 0.5 ? 0 : 1));
    const p = floats(R * C, 22, (u) => 0.002 + 0.996 * u);
    const sw = floats(R, 23, (u) => 2 * u);
    const up = floats(R, 24, (u) => u - 0.5);
    for (const [loss, f, df, yy] of [[keras.binaryCrossentropy, bce, dbce, y], [keras.logCosh, logCosh, dLogCosh, floats(R * C, 25, (u) => u)]] as const) {
      const rows: number[] = [];
      const grad: number[] = [];
      const gradNone: number[] = [];
      for (let r = 0; r < R; r++) {
        let s = 0;
        for (let j = 0; j < C; j++) s += f(yy[r * C + j], p[r * C + j]);
        rows.push(s / C * sw[r]);
        for (let j = 0; j < C; j++) {
          const d = df(yy[r * C + j], p[r * C + j]) / C * sw[r];
          grad.push(d / R);
          gradNone.push(d * up[r]);
        }
      }
      const opts = { shape: [R, C], sampleWeight: sw };
      const mean = rows.reduce((a, b) => a + b, 0) / R;
      expect(Math.abs((loss(yy, p, opts) as number) - mean)).toBeLessThanOrEqual(1e-6 * Math.abs(mean));
      expectNear(loss(yy, p, { ...opts, reduction: 'none' }) as unknown as Float32Array, rows, 'none', 1e-5, 1e-7);
      const both = loss.withGrad(yy, p, opts);
      expect(Math.abs((both.loss as number) - mean)).toBeLessThanOrEqual(1e-6 * Math.abs(mean));
      expectNear(both.grad as Float32Array, grad, 'withGrad.grad', 1e-4, 1e-9);
      expectNear(loss.backward(yy, p, { ...opts, reduction: 'none', gradOutput: up }) as Float32Array, gradNone,
        'backward none', 1e-4, 1e-8);
    }
  });
});

// ---------------------------------------------------------------- cross-entropy paths that read indices

// torch.nn.functional.cross_entropy with class indices, float64: per position lse - x_y, mean over
// the positions whose target is not ignoreIndex; gradient softmax - onehot over that count.
function crossEntropyRef(x: Float32Array, t: Int32Array, N: number, C: number, S: number, ignore: number): { loss: number; grad: number[] } {
  const grad = new Array<number>(N * C * S).fill(0);
  let total = 0;
  let count = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const y = t[n * S + s];
      if (y === ignore) continue;
      count++;
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, x[(n * C + c) * S + s]);
      let se = 0;
      for (let c = 0; c < C; c++) se += Math.exp(x[(n * C + c) * S + s] - m);
      total += Math.log(se) + m - x[(n * C + y) * S + s];
      for (let c = 0; c < C; c++) grad[(n * C + c) * S + s] += Math.exp(x[(n * C + c) * S + s] - m) / se - (c === y ? 1 : 0);
    }
  }
  return { loss: total / count, grad: grad.map((g) => g / count) };
}

describe.each(isaLevels())('torch.crossEntropy with index targets, split rows and strided classes [%s]', (level) => {
  beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
  test.each([[3, 40000, 1], [4, 5, 300], [2, 3, 1000]])('[%i, %i, S = %i]', async (N, C, S) => {
    const x = floats(N * C * S, 31, (u) => 6 * u - 3);
    const t = Int32Array.from(floats(N * S, 32, (u) => Math.floor(u * C)));
    t[1] = -100;  // ignored
    const ref = crossEntropyRef(x, t, N, C, S, -100);
    const shape = S === 1 ? [N, C] : [N, C, S];
    const both = torch.crossEntropy.withGrad(x, t, { shape });
    expect(Math.abs(both.loss - ref.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(ref.loss));
    expectNear(both.grad, ref.grad, 'grad', 1e-4, 1e-8);
    const viaAsync = await torch.crossEntropy.withGradAsync(x, t, { shape });
    expect(viaAsync.loss).toBe(both.loss);
  });
});

// Few long rows are split across threads (margin.cpp wideRows: the choice depends on the thread
// count); the split and the unsplit row give the same bits.
describe.each(isaLevels())('long rows split across threads give the same bits [%s]', (level) => {
  beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
  afterAll(() => setNumThreads(initialThreads));
  const threads = [1, 2, 3, 5].filter((t) => t <= info().maxThreads);
  test.each([[1, 100000], [3, 50000]])('[%i, %i]', (R, D) => {
    const a = floats(R * D, 41, (u) => u - 0.5);
    const b = floats(R * D, 42, (u) => u - 0.5);
    const c = floats(R * D, 43, (u) => u - 0.5);
    const t = Float32Array.from({ length: R }, (_, i) => (i % 2 ? 1 : -1));
    const cls = Int32Array.from({ length: R }, (_, i) => i);
    const calls: Record<string, () => { loss: unknown; grad: unknown }> = {
      triplet: () => torch.tripletMarginLoss.withGrad(a, b, c, { shape: [R, D] }),
      tripletSwapP3: () => torch.tripletMarginLoss.withGrad(a, b, c, { shape: [R, D], swap: true, p: 3 }),
      cosineEmbedding: () => torch.cosineEmbeddingLoss.withGrad(a, b, t, { shape: [R, D], reduction: 'none' }),
      cosineSimilarity: () => keras.cosineSimilarity.withGrad(a, b, { shape: [R, D] }),
      multilabelSoftMargin: () => torch.multilabelSoftMarginLoss.withGrad(a, b.map((v) => (v > 0 ? 1 : 0)), { shape: [R, D] }),
      multiMargin: () => torch.multiMarginLoss.withGrad(a, cls, { shape: [R, D] }),
      crossEntropy: () => torch.crossEntropy.withGrad(a, cls, { shape: [R, D] }),
      categoricalHinge: () => keras.categoricalHinge.withGrad(b, a, { shape: [R, D] }),
    };
    for (const [name, f] of Object.entries(calls)) {
      const got = threads.map((n) => {
        setNumThreads(n);
        const r = f();
        return `${fingerprint(r.loss)}#${fingerprint(r.grad)}`;
      });
      for (let k = 1; k < got.length; k++)
        if (got[k] !== got[0]) throw new Error(`${name} [${R}, ${D}]: ${threads[k]} threads differ from 1`);
    }
  });
});

// ---------------------------------------------------------------- params never decide memory

// Direct kernel calls with scalars the facade would never send: the kernels read what the real
// arrays and dims say, and reject what they cannot use.
describe('kernels do not trust params for memory', () => {
  function raw(kernel: string, shape: number[], scalars: number[], arrays: (Float32Array | Int32Array | null)[]): { value?: number; error?: Error } {
    setRawCall(kernel, { flags: FLAG_LOSS, reduction: 1, shape, scalars });
    try {
      return { value: native.run(...arrays) };
    } catch (e) {
      return { error: e as Error };
    }
  }

  test('torch.crossEntropy: index or probability target from the array type, not p[2]', () => {
    const x = Float32Array.from([1, 2, 3, 0.5, -1, 2]);  // [2, 3]
    const idx = Int32Array.from([2, 0]);
    const lse = (r: number[]) => Math.log(r.reduce((s, v) => s + Math.exp(v), 0));
    const want = ((lse([1, 2, 3]) - 3) + (lse([0.5, -1, 2]) - 0.5)) / 2;
    for (const p2 of [0, 1]) {  // p[2] claims probabilities, then indices: the Int32Array decides
      const r = raw('torch.crossEntropy', [2, 3], [-100, 0, p2], [x, idx, null]);
      expect(r.error).toBeUndefined();
      expect(r.value).toBeCloseTo(want, 6);
    }
    const probs = Float32Array.from([0, 0, 1, 1, 0, 0]);
    for (const p2 of [0, 1]) {  // a Float32Array target is read as probabilities (6 elements), whatever p[2]
      const r = raw('torch.crossEntropy', [2, 3], [-100, 0, p2], [x, probs, null]);
      expect(r.value).toBeCloseTo(want, 6);
    }
  });

  test('torch.nllLoss / crossEntropy: an ignoreIndex outside int32 (or not an integer) ignores nothing', () => {
    const x = Float32Array.from([-1, -2, -3, -0.5]);  // [2, 2] log-probabilities
    const t = Int32Array.from([1, 0]);
    for (const ignore of [1e300, -1e300, NaN, 2 ** 40, 0.5]) {
      const r = raw('torch.nllLoss', [2, 2], [ignore], [x, t, null]);
      expect(r.error).toBeUndefined();
      expect(r.value).toBeCloseTo((2 + 3) / 2, 6);
    }
  });

  test('torch.multiMarginLoss: p other than 1 or 2 is an error', () => {
    const x = Float32Array.from([0.1, 0.2, 0.3, 0.4]);
    const t = Int32Array.from([0, 1]);
    for (const p of [0, 3, 1.5, NaN]) {
      const r = raw('torch.multiMarginLoss', [2, 2], [p, 1], [x, t, null]);
      // A direct call gets the kernel's error as data (the facade words it; its own check comes first).
      expect(r.error).toMatchObject({ name: 'RangeError', code: 'ERR_FASTLOSS_KERNEL', reason: 'UnsupportedValue',
        param: native.params['torch.multiMarginLoss'].indexOf('p'), value: p, bound: [1, 2, 0] });
      expect(r.error?.message).toMatch(/torch.multiMarginLoss: UnsupportedValue \(parameter p\)/);
    }
    // p = 1: rows [0.1, 0.2] target 0 -> max(0, 1 - 0.1 + 0.2) / 2; [0.3, 0.4] target 1 -> max(0, 1 - 0.4 + 0.3) / 2.
    expect(raw('torch.multiMarginLoss', [2, 2], [1, 1], [x, t, null]).value).toBeCloseTo((1.1 / 2 + 0.9 / 2) / 2, 6);
  });

  test('keras.cosineSimilarity: an axis outside the dims is an error, not an index', () => {
    const a = Float32Array.from([1, 0, 0, 1, 1, 1]);
    for (const axis of [2, -1, 1e300, NaN, 0.5]) {
      const r = raw('keras.cosineSimilarity', [2, 3], [axis], [a, a, null]);
      expect(r.error?.name).toBe('RangeError');
      expect(r.error?.message).toMatch(/axis|shape|out of range/);  // the Node-API layer may reject it first
    }
    // axis 1 of identical rows: cosine 1 per row, the loss is -1.
    expect(raw('keras.cosineSimilarity', [2, 3], [1], [a, a, null]).value).toBeCloseTo(-1, 6);
  });

  test('torch.gaussianNllLoss: var of N or R elements, anything else is an error', () => {
    const x = Float32Array.from([0, 1, 2, 3, 4, 5]);
    const y = Float32Array.from([0, 1, 2, 3, 4, 5]);
    // Every difference 0: 0.5 log(v) per element.
    const perRow = raw('torch.gaussianNllLoss', [2, 3], [0, 1e-6], [x, y, Float32Array.from([1, Math.E ** 2])]);
    expect(perRow.value).toBeCloseTo((0 * 3 + 1 * 3) / 6, 6);
    const full = raw('torch.gaussianNllLoss', [2, 3], [0, 1e-6], [x, y, new Float32Array(6).fill(Math.E ** 2)]);
    expect(full.value).toBeCloseTo(1, 6);
    const odd = raw('torch.gaussianNllLoss', [2, 3], [0, 1e-6], [x, y, new Float32Array(3).fill(1)]);
    expect(odd.error?.name).toBe('RangeError');
  });
});
