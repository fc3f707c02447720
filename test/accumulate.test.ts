// Streaming accumulation (issue 14): for every loss and every reducing reduction, chunks cut anywhere
// give what one call over the concatenation gives (1e-12 relative), the same bits for any thread
// count and for sync / async adds, and serialized shard states merge to the bits of one run.
// ExactSum is checked against Python's math.fsum (test/fixtures/accumulate-fsum.json).
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import fc from 'fast-check';
import * as fastloss from '../src';
import { ExactSum } from '../src/core/accumulate';
import { lossByName, lossNames } from './helpers/losses';

const { seededRandom } = require('./helpers/random') as { seededRandom(seed: number): () => number };

// Cases per loss, variant and reduction (FASTLOSS_ACCUMULATE_RUNS for a longer search).
const RUNS = Number(process.env.FASTLOSS_ACCUMULATE_RUNS ?? 4);
type Arr = Float32Array | Int32Array;
type Rnd = () => number;
interface Acc {
  add(...a: unknown[]): Acc;
  addAsync(...a: unknown[]): Promise<Acc>;
  result(): number;
  toJSON(): unknown;
  merge(o: unknown): Acc;
  rows: number;
  elements: number;
}
type Accumulating = ((...a: unknown[]) => unknown) & { accumulate(o?: unknown): Acc };

// ------------------------------------------------------------------ per-loss data

const f32 = (n: number, v: (r: Rnd) => number, r: Rnd) => Float32Array.from({ length: n }, () => v(r));
const x = (r: Rnd) => r() * 6 - 3;
const prob = (r: Rnd) => 0.02 + r() * 0.96;
const pm1 = (r: Rnd) => (r() < 0.5 ? -1 : 1);
const label01 = (r: Rnd) => (r() < 0.5 ? 0 : 1);
const count = (r: Rnd) => Math.floor(r() * 5);
const idx = (n: number, C: number, r: Rnd) => Int32Array.from({ length: n }, () => Math.floor(r() * C));

/**
 * One loss's data for `rows` rows: the arrays (each holds perRow[k] elements per row, rows
 * contiguous, unless `slice` says otherwise), the shape of one row, fixed options and variants.
 */
interface Case {
  rowShape: number[];
  arrays(rows: number, r: Rnd, variant: Record<string, unknown>): Arr[];
  perRow: number[];
  /** Per-row options made with the data: Keras sampleWeight, torch BCE weight (elements per row). */
  rowOptions?: Record<string, number>;
  /** Options to accumulate() with, one set per variant. */
  variants?: Record<string, unknown>[];
  /** A chunk of rows [r0, r1) when rows are not contiguous (CTC's [T, N, C]). */
  slice?(arrays: Arr[], r0: number, r1: number): Arr[];
  shapeOf?(rows: number): number[];
}

const C = 5;
const pair = (a: (r: Rnd) => number, b: (r: Rnd) => number, variants?: Record<string, unknown>[]): Case => ({
  rowShape: [C], perRow: [C, C], arrays: (n, r) => [f32(n * C, a, r), f32(n * C, b, r)], variants,
});
const torchPair = (input = x, target = x, variants?: Record<string, unknown>[]) => pair(input, target, variants);
// Keras (yTrue, yPred) with one sample weight per row.
const kerasPair = (yTrue = x, yPred = x, variants?: Record<string, unknown>[]): Case =>
  ({ ...pair(yTrue, yPred, variants), rowOptions: { sampleWeight: 1 } });
const classWeights = Float32Array.from([0.5, 1, 2, 0.25, 1.5]);

const T = 6;
const S = 2;
const CASES: Record<string, Case> = {
  'torch.mseLoss': torchPair(),
  'torch.l1Loss': torchPair(),
  'torch.smoothL1Loss': torchPair(x, x, [{}, { beta: 0.5 }]),
  'torch.huberLoss': torchPair(x, x, [{ delta: 2 }]),
  'torch.binaryCrossEntropy': { ...torchPair(prob, prob), rowOptions: { weight: C } },
  'torch.binaryCrossEntropyWithLogits': { ...torchPair(x, prob, [{}, { posWeight: classWeights }]), rowOptions: { weight: C } },
  'torch.crossEntropy': {
    // 20 % of the targets ignored (opts.ignoreIndex, default -100).
    rowShape: [C], perRow: [C, 1],
    arrays: (n, r, v) => [f32(n * C, x, r), idx(n, C, r).map((k) => (r() < 0.2 ? (v.ignoreIndex as number | undefined) ?? -100 : k))],
    variants: [{}, { weight: classWeights }, { weight: classWeights, labelSmoothing: 0.1 }, { ignoreIndex: 2, labelSmoothing: 0.2 }],
  },
  'torch.nllLoss': {
    rowShape: [C], perRow: [C, 1], arrays: (n, r) => [f32(n * C, x, r), idx(n, C, r).map((v) => (r() < 0.2 ? -100 : v))],
    variants: [{}, { weight: classWeights }],
  },
  'torch.klDiv': torchPair(x, prob, [{}, { logTarget: true }]),
  'torch.poissonNllLoss': torchPair(x, count, [{}, { full: true, logInput: false }]),
  'torch.gaussianNllLoss': { rowShape: [C], perRow: [C, C, 1], arrays: (n, r) => [f32(n * C, x, r), f32(n * C, x, r), f32(n, prob, r)] },
  'torch.sigmoidFocalLoss': torchPair(x, prob, [{}, { alpha: 0.5, gamma: 1 }]),
  'torch.hingeEmbeddingLoss': torchPair(x, pm1),
  'torch.softMarginLoss': torchPair(x, pm1),
  'torch.multilabelSoftMarginLoss': torchPair(x, label01, [{}, { weight: classWeights }]),
  'torch.multiMarginLoss': {
    rowShape: [C], perRow: [C, 1], arrays: (n, r) => [f32(n * C, x, r), idx(n, C, r)], variants: [{}, { p: 2, weight: classWeights }],
  },
  'torch.multilabelMarginLoss': {
    rowShape: [C], perRow: [C, C],
    arrays: (n, r) => [f32(n * C, x, r), Int32Array.from({ length: n * C }, (_, i) => (i % C < 2 ? Math.floor(r() * C) : -1))],
  },
  'torch.marginRankingLoss': { rowShape: [C], perRow: [C, C, C], arrays: (n, r) => [f32(n * C, x, r), f32(n * C, x, r), f32(n * C, pm1, r)] },
  'torch.cosineEmbeddingLoss': { rowShape: [C], perRow: [C, C, 1], arrays: (n, r) => [f32(n * C, x, r), f32(n * C, x, r), f32(n, pm1, r)] },
  'torch.tripletMarginLoss': { rowShape: [C], perRow: [C, C, C], arrays: (n, r) => [f32(n * C, x, r), f32(n * C, x, r), f32(n * C, x, r)] },
  'torch.tripletMarginWithDistanceLoss': {
    rowShape: [C], perRow: [C, C, C], arrays: (n, r) => [f32(n * C, x, r), f32(n * C, x, r), f32(n * C, x, r)],
    variants: [{}, { distanceFunction: 'cosine' }],
  },
  'torch.ctcLoss': {
    // logProbs [T, N, C], padded targets [N, S] in [1, C), input lengths T, target lengths 1..S.
    rowShape: [], perRow: [T * C, S, 1, 1], shapeOf: (n) => [T, n, C],
    arrays: (n, r) => [f32(T * n * C, x, r), Int32Array.from({ length: n * S }, () => 1 + Math.floor(r() * (C - 1))),
      new Int32Array(n).fill(T), Int32Array.from({ length: n }, () => 1 + Math.floor(r() * S))],
    slice([lp, targets, il, tl], r0, r1) {
      const n = lp.length / (T * C);
      const part = new Float32Array(T * (r1 - r0) * C);
      for (let t = 0; t < T; t++) part.set(lp.subarray((t * n + r0) * C, (t * n + r1) * C), t * (r1 - r0) * C);
      return [part, targets.subarray(r0 * S, r1 * S), il.subarray(r0, r1), tl.subarray(r0, r1)];
    },
    variants: [{}, { zeroInfinity: true }],
  },
  'keras.meanSquaredError': kerasPair(),
  'keras.meanAbsoluteError': kerasPair(),
  'keras.meanAbsolutePercentageError': kerasPair(),
  'keras.meanSquaredLogarithmicError': kerasPair(prob, prob),
  'keras.huber': kerasPair(x, x, [{}, { delta: 0.5 }]),
  'keras.logCosh': kerasPair(),
  'keras.binaryCrossentropy': kerasPair(label01, prob, [{}, { labelSmoothing: 0.1 }]),
  'keras.categoricalCrossentropy': kerasPair(label01, prob, [{}, { fromLogits: true }]),
  'keras.sparseCategoricalCrossentropy': {
    rowShape: [C], perRow: [1, C], arrays: (n, r) => [idx(n, C, r), f32(n * C, prob, r)], rowOptions: { sampleWeight: 1 },
    variants: [{}, { fromLogits: true, ignoreClass: 1 }],
  },
  'keras.klDivergence': kerasPair(prob, prob),
  'keras.poisson': kerasPair(count, prob),
  'keras.binaryFocalCrossentropy': kerasPair(label01, prob, [{}, { applyClassBalancing: true, gamma: 1 }]),
  'keras.hinge': kerasPair(pm1, x),
  'keras.squaredHinge': kerasPair(label01, x),
  'keras.categoricalHinge': kerasPair(label01, x),
  'keras.cosineSimilarity': kerasPair(),
  'keras.ctc': {
    // yTrue [N, S] labels in [1, C) (0 pads the end), yPred [N, T, C] logits.
    rowShape: [T, C], perRow: [S, T * C], rowOptions: { sampleWeight: 1 },
    arrays: (n, r) => [Int32Array.from({ length: n * S }, (_, i) => (i % S === 1 && r() < 0.3 ? 0 : 1 + Math.floor(r() * (C - 1)))),
      f32(n * T * C, x, r)],
  },
  'keras.categoricalFocalCrossentropy': kerasPair(prob, prob, [{}, { alpha: 0.5, gamma: 1, fromLogits: false }]),
  'keras.categoricalGeneralizedCrossEntropy': {
    rowShape: [C], perRow: [1, C], arrays: (n, r) => [idx(n, C, r), f32(n * C, prob, r)], rowOptions: { sampleWeight: 1 },
  },
  // Each chunk is its own batch (pairs only within a chunk): checked apart below.
  'keras.circle': {
    rowShape: [C], perRow: [1, C], arrays: (n, r) => [idx(n, 3, r), f32(n * C, x, r)], rowOptions: { sampleWeight: 1 },
  },
  // Per-sample overlap (axis -1): axis null would make each chunk one sample, like circle's batches.
  'keras.dice': kerasPair(prob, prob, [{ axis: -1 }]),
  'keras.tversky': kerasPair(prob, prob, [{ axis: -1, alpha: 0.3, beta: 0.7 }]),
};
const BATCH_COUPLED = new Set(['keras.circle']);

const reductionsOf = (name: string) => (name.startsWith('keras.') ? ['sum_over_batch_size', 'sum'] : ['mean', 'sum']);
const reductionSets = (name: string) => (name === 'torch.klDiv' ? [...reductionsOf(name), 'batchmean'] : reductionsOf(name));

interface Data { c: Case; rows: number; arrays: Arr[]; rowOpts: Record<string, Float32Array> }

function makeData(name: string, rows: number, seed: number, variant: Record<string, unknown> = {}): Data {
  const c = CASES[name];
  const r = seededRandom(seed);
  const rowOpts: Record<string, Float32Array> = {};
  for (const [k, per] of Object.entries(c.rowOptions ?? {})) rowOpts[k] = f32(rows * per, (q) => q() * 2, r);
  return { c, rows, arrays: c.arrays(rows, r, variant), rowOpts };
}

/** The arrays and per-chunk options of rows [r0, r1). */
function chunk(d: Data, r0: number, r1: number): unknown[] {
  const c = d.c;
  const arrays = c.slice ? c.slice(d.arrays, r0, r1) : d.arrays.map((a, k) => a.subarray(r0 * c.perRow[k], r1 * c.perRow[k]));
  const opts: Record<string, unknown> = { shape: c.shapeOf ? c.shapeOf(r1 - r0) : [r1 - r0, ...c.rowShape] };
  for (const [k, per] of Object.entries(c.rowOptions ?? {})) opts[k] = d.rowOpts[k].subarray(r0 * per, r1 * per);
  return [...arrays, opts];
}

/** Chunk bounds from cut points (sorted, deduplicated, inside (0, rows)). */
function bounds(rows: number, cuts: number[]): [number, number][] {
  const points = [...new Set(cuts.filter((k) => k > 0 && k < rows))].sort((a, b) => a - b);
  const edges = [0, ...points, rows];
  return edges.slice(1).map((e, i) => [edges[i], e]);
}

const accumulateOf = (name: string) => lossByName(name) as unknown as Accumulating;

function accumulateChunks(name: string, d: Data, opts: Record<string, unknown>, parts: [number, number][], callOpts: Record<string, unknown> = {}): Acc {
  const acc = accumulateOf(name).accumulate(opts);
  for (const [a, b] of parts) {
    const args = chunk(d, a, b);
    Object.assign(args[args.length - 1] as object, callOpts);
    acc.add(...args);
  }
  return acc;
}

/** The one-shot call over all rows. */
function oneShot(name: string, d: Data, opts: Record<string, unknown>): number {
  return accumulateOf(name)(...chunk(d, 0, d.rows).slice(0, -1), { ...(chunk(d, 0, d.rows).pop() as object), ...opts }) as number;
}

function closeTo(actual: number, expected: number, what: string): void {
  if (Number.isNaN(expected)) {
    expect(`${what}: ${actual}`).toBe(`${what}: NaN`);
    return;
  }
  const err = Math.abs(actual - expected);
  if (!(err <= 1e-12 * Math.abs(expected) || err === 0)) throw new Error(`${what}: ${actual} vs one-shot ${expected} (relative ${err / Math.abs(expected)})`);
}

// ------------------------------------------------------------------ tests

describe('every loss accumulates', () => {
  test('every loss has a case here and an accumulate method', () => {
    const names = lossNames();
    expect(names.filter((n) => !CASES[n])).toEqual([]);
    for (const n of names) expect(typeof accumulateOf(n).accumulate).toBe('function');
  });

  for (const name of Object.keys(CASES)) {
    test(`${name}: random cuts equal the one-shot call (1e-12), shards merge bitwise, async equals sync`, async () => {
      const variants = CASES[name].variants ?? [{}];
      let seed = 1;
      for (const variant of variants) {
        for (const reduction of reductionSets(name)) {
          const opts = { ...variant, reduction };
          await fc.assert(fc.asyncProperty(
            fc.integer({ min: 1, max: 37 }), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 8 }), fc.boolean(),
            async (rows, cuts, oneRowChunks) => {
              const d = makeData(name, rows, seed++, variant);
              const parts = oneRowChunks ? bounds(rows, Array.from({ length: rows }, (_, i) => i)) : bounds(rows, cuts);
              const acc = accumulateChunks(name, d, opts, parts);
              const what = `${name} ${JSON.stringify(variant)} ${reduction} rows ${rows} cuts ${JSON.stringify(parts)}`;
              if (!BATCH_COUPLED.has(name) || parts.length === 1) closeTo(acc.result(), oneShot(name, d, opts), what);
              expect(acc.rows).toBe(rows);
              // Shards, serialized and rebuilt, merge to the bits of the single run.
              const shards = [0, 1, 2].map(() => accumulateOf(name).accumulate(opts));
              parts.forEach(([a, b], i) => shards[i % 3].add(...chunk(d, a, b)));
              const merged = fastloss.accumulatorFromState(JSON.parse(JSON.stringify(shards[2])));
              merged.merge(JSON.parse(JSON.stringify(shards[0].toJSON()))).merge(shards[1] as never);
              expect(Object.is(merged.result(), acc.result()) || `${what}: merged ${merged.result()} vs ${acc.result()}`).toBe(true);
              expect([merged.rows, merged.elements]).toEqual([acc.rows, acc.elements]);
              // Async adds, all in flight at once, give the same bits.
              const asyncAcc = accumulateOf(name).accumulate(opts);
              await Promise.all(parts.map(([a, b]) => asyncAcc.addAsync(...chunk(d, a, b))));
              expect(Object.is(asyncAcc.result(), acc.result()) || `${what}: async ${asyncAcc.result()} vs ${acc.result()}`).toBe(true);
            }), { numRuns: RUNS, seed: 14 + seed });
        }
      }
    });
  }

  test.each(['sum_over_batch_size', 'sum'])('keras.circle (%s): a chunk is its own batch (pairs within a chunk), as one call per chunk', (reduction) => {
    const d = makeData('keras.circle', 30, 7);
    const parts = bounds(30, [7, 8, 19]);
    const circle = accumulateOf('keras.circle');
    const acc = accumulateChunks('keras.circle', d, { reduction }, parts);
    let total = 0;
    for (const [a, b] of parts) {
      const args = chunk(d, a, b);
      const value = circle(...args.slice(0, -1), { ...(args[args.length - 1] as object), reduction }) as number;
      total += reduction === 'sum' ? value : value * (b - a);  // the chunk's mean times its samples
    }
    closeTo(acc.result(), reduction === 'sum' ? total : total / 30, 'circle');
  });
});

describe('every ISA level', () => {
  const { native } = require('../src/core/native') as typeof import('../src/core/native');
  const info = native.info();
  const levels = info.builtIsa.filter((l) => info.isaLevels.indexOf(l) <= info.isaLevels.indexOf(info.cpuIsa));
  afterAll(() => native.setIsa(info.isa));

  // An element's loss must not depend on its position in a call (vector body or scalar tail).
  test.each(levels)('%s: 1-row and 3-row chunks equal one call for every loss and variant', (level) => {
    native.setIsa(level);
    for (const name of Object.keys(CASES)) {
      if (BATCH_COUPLED.has(name)) continue;
      for (const variant of CASES[name].variants ?? [{}]) {
        const opts = { ...variant, reduction: reductionsOf(name)[0] };
        const d = makeData(name, 23, 99, variant);
        const one = oneShot(name, d, opts);
        closeTo(accumulateChunks(name, d, opts, bounds(23, Array.from({ length: 23 }, (_, i) => i))).result(), one, `${level} ${name} 1-row`);
        closeTo(accumulateChunks(name, d, opts, bounds(23, [3, 6, 9, 12, 15, 18, 21])).result(), one, `${level} ${name} 3-row`);
      }
    }
  });
});

describe('large inputs and threads', () => {
  const saved = fastloss.getNumThreads();
  afterAll(() => fastloss.setNumThreads(saved));

  test('torch.mseLoss over 10^6 rows: one chunk and odd cuts agree with the one-shot call; same bits for 1, 2 and 3 threads', () => {
    const rows = 1000000;
    const d = makeData('torch.mseLoss', rows, 3);  // [10^6, 5]
    const one = oneShot('torch.mseLoss', d, {});
    const cuts = bounds(rows, [1, 2, 77777, 77778, 131071, 524289, 999999]);
    fastloss.setNumThreads(1);
    const single = accumulateChunks('torch.mseLoss', d, {}, cuts).result();
    closeTo(single, one, 'mse cuts');
    closeTo(accumulateChunks('torch.mseLoss', d, {}, [[0, rows]]).result(), one, 'mse one chunk');
    for (const threads of [2, 3]) {
      fastloss.setNumThreads(threads);
      expect(Object.is(accumulateChunks('torch.mseLoss', d, {}, cuts).result(), single)).toBe(true);
    }
    fastloss.setNumThreads(saved);
    expect(Object.is(accumulateChunks('torch.mseLoss', d, {}, cuts, { threads: 1 }).result(), single)).toBe(true);
    expect(Object.is(accumulateChunks('torch.mseLoss', d, { threads: 3 }, cuts).result(), single)).toBe(true);
  });

  test.each([
    ['torch.crossEntropy', { weight: classWeights, labelSmoothing: 0.1 }],
    ['keras.sparseCategoricalCrossentropy', {}],
    ['keras.meanSquaredError', {}],
  ])('%s over 10^5 rows: per-call threads give the same bits', (name, opts) => {
    const d = makeData(name, 100000, 5, opts);
    const cuts = bounds(100000, [33333, 65537]);
    const base = accumulateChunks(name, d, opts, cuts, { threads: 1 }).result();
    closeTo(base, oneShot(name, d, opts), name);
    for (const threads of [2, 3]) expect(Object.is(accumulateChunks(name, d, opts, cuts, { threads }).result(), base)).toBe(true);
  });
});

describe('reductions and empty accumulators', () => {
  test("reduction 'none' cannot be accumulated; a loss reducing to 'none' by default accumulates its mean", () => {
    // @ts-expect-error the types refuse 'none' too
    expect(() => fastloss.torch.mseLoss.accumulate({ reduction: 'none' }))
      .toThrow(new RangeError("torch.mseLoss.accumulate: opts.reduction cannot be 'none' for an accumulator (it reduces); use 'mean' or 'sum'"));
    expect(() => fastloss.keras.huber.accumulate({ reduction: 'mean' } as never)).toThrow(/^keras\.huber\.accumulate: opts\.reduction must be one of 'sum_over_batch_size', 'sum', got 'mean'$/);
    const acc = fastloss.torch.sigmoidFocalLoss.accumulate();
    expect(acc.reduction).toBe('mean');
    const input = Float32Array.from([0.5, -1, 2]);
    const target = Float32Array.from([1, 0, 1]);
    acc.add(input, target);
    expect(acc.result()).toBe(fastloss.torch.sigmoidFocalLoss(input, target, { reduction: 'mean' }));
  });

  test('no chunks: NaN for a PyTorch mean, 0 for sums and Keras means (as the one-shot call on empty data)', () => {
    const empty = new Float32Array(0);
    expect(fastloss.torch.mseLoss.accumulate().result()).toBeNaN();
    expect(fastloss.torch.mseLoss(empty, empty)).toBeNaN();
    expect(fastloss.torch.mseLoss.accumulate({ reduction: 'sum' }).result()).toBe(0);
    expect(fastloss.keras.meanSquaredError.accumulate().result()).toBe(0);
    expect(fastloss.keras.meanSquaredError(empty, empty, { shape: [0, 3] })).toBe(0);
    // Empty chunks change nothing.
    const acc = fastloss.keras.meanSquaredError.accumulate().add(empty, empty, { shape: [0, 3] });
    expect([acc.result(), acc.rows, acc.elements]).toEqual([0, 0, 0]);
  });

  test('all targets ignored: the weighted mean is 0 / 0 = NaN, as one call', () => {
    const input = new Float32Array(6);
    const target = new Int32Array([-100, -100]);
    const acc = fastloss.torch.crossEntropy.accumulate().add(input, target, { shape: [2, 3] });
    expect(acc.result()).toBeNaN();
    expect(fastloss.torch.crossEntropy(input, target, { shape: [2, 3] })).toBeNaN();
  });
});

describe('options and errors', () => {
  const input = Float32Array.from([0.1, 0.7, -0.3, 1.2, 0.5, -2]);
  const target = Int32Array.from([2, 0]);

  test('option arrays are copied at accumulate(): later writes by the caller change nothing', () => {
    const weight = Float32Array.from([1, 2, 3]);
    const acc = fastloss.torch.crossEntropy.accumulate({ weight });
    weight.fill(100);
    acc.add(input, target, { shape: [2, 3] });
    expect(acc.result()).toBe(fastloss.torch.crossEntropy(input, target, { shape: [2, 3], weight: Float32Array.from([1, 2, 3]) }));
    expect(JSON.parse(JSON.stringify(acc)).options.weight).toEqual({ float32: [1, 2, 3] });
  });

  test('bad chunks throw errors naming the function and argument, and leave the accumulator unchanged', async () => {
    const acc = fastloss.torch.crossEntropy.accumulate().add(input, target, { shape: [2, 3] });
    const before = JSON.stringify(acc);
    expect(() => acc.add(input, Int32Array.from([2, 3]), { shape: [2, 3] }))
      .toThrow(new RangeError('torch.crossEntropy: target[1] is 3; expected a class index in [0, 3) or opts.ignoreIndex (-100)'));
    expect(() => acc.add(input, target, { shape: [3, 3] })).toThrow(/^torch\.crossEntropy: /);
    expect(() => acc.add(input, { length: 2 } as never)).toThrow(/^torch\.crossEntropy: target must be/);
    expect(() => acc.add(input, target, { shape: [2, 3], weight: new Float32Array(3) } as never))
      .toThrow(new TypeError('torch.crossEntropy.accumulate().add: opts.weight is fixed for the whole accumulator: pass it to torch.crossEntropy.accumulate()'));
    expect(() => acc.add(input, target, { shape: [2, 3], reduction: 'sum' } as never)).toThrow(TypeError);
    expect(() => acc.add(input, target, { shape: [2, 3], bogus: 1 } as never)).toThrow(/^torch\.crossEntropy\.accumulate\(\)\.add: opts\.bogus is not a per-chunk option/);
    expect(() => acc.add(...([input] as unknown as [Float32Array, Int32Array]))).toThrow(new TypeError('torch.crossEntropy.accumulate().add: target is required'));
    await expect(acc.addAsync(input, Int32Array.from([5, 0]), { shape: [2, 3] })).rejects.toThrow(/^torch\.crossEntropy: target\[0\] is 5/);
    expect(JSON.stringify(acc)).toBe(before);
    expect(() => fastloss.torch.crossEntropy.accumulate({ weight: [1, 2] } as never)).toThrow(/^torch\.crossEntropy\.accumulate: opts\.weight must be a Float32Array/);
    expect(() => fastloss.keras.huber.accumulate({ sampleWeight: 2 } as never))
      .toThrow(new TypeError('keras.huber.accumulate: opts.sampleWeight goes with each chunk: pass it to add()'));
    expect(() => fastloss.torch.mseLoss.accumulate({ nope: 1 } as never)).toThrow(/^torch\.mseLoss\.accumulate: opts\.nope is not an option/);
  });

  test('merge refuses another loss, reduction or options, saying which', () => {
    const acc = fastloss.torch.crossEntropy.accumulate({ weight: Float32Array.from([1, 2, 3]) });
    expect(() => acc.merge(fastloss.torch.nllLoss.accumulate()))
      .toThrow(new RangeError('torch.crossEntropy.accumulate().merge: other accumulates torch.nllLoss; this accumulator is torch.crossEntropy'));
    expect(() => acc.merge(fastloss.torch.crossEntropy.accumulate({ weight: Float32Array.from([1, 2, 3]), reduction: 'sum' }).toJSON()))
      .toThrow(/^torch\.crossEntropy\.accumulate\(\)\.merge: other uses reduction 'sum'/);
    expect(() => acc.merge(fastloss.torch.crossEntropy.accumulate({ weight: Float32Array.from([1, 2, 4]) })))
      .toThrow(new RangeError('torch.crossEntropy.accumulate().merge: other has other options (opts.weight) than this accumulator'));
    expect(() => acc.merge(fastloss.torch.crossEntropy.accumulate({ weight: Float32Array.from([1, 2, 3]), ignoreIndex: 0 })))
      .toThrow(/other options \(opts\.ignoreIndex\)/);
    // Defaults given explicitly are the same options.
    expect(() => fastloss.torch.crossEntropy.accumulate().merge(fastloss.torch.crossEntropy.accumulate({ ignoreIndex: -100 }))).not.toThrow();
    expect(() => acc.merge({ kind: 'something else' } as never)).toThrow(TypeError);
  });

  test('accumulatorFromState checks every field', () => {
    const state = JSON.parse(JSON.stringify(fastloss.torch.mseLoss.accumulate().add(input, Float32Array.from(input).reverse())));
    expect(fastloss.accumulatorFromState(state).result()).toBe(fastloss.torch.mseLoss(input, Float32Array.from(input).reverse()));
    expect(() => fastloss.accumulatorFromState({ ...state, loss: 'torch.nope' })).toThrow(/^accumulatorFromState: state\.loss is 'torch\.nope'/);
    expect(() => fastloss.accumulatorFromState({ ...state, version: 2 })).toThrow(/^accumulatorFromState: state\.version is 2/);
    expect(() => fastloss.accumulatorFromState({ ...state, rows: -1 })).toThrow(/^accumulatorFromState: state\.rows must be/);
    expect(() => fastloss.accumulatorFromState({ ...state, total: { partials: [null] } })).toThrow(/^accumulatorFromState: state\.total\.partials/);
    expect(() => fastloss.accumulatorFromState({ ...state, reduction: 'none' })).toThrow(RangeError);
    expect(() => fastloss.accumulatorFromState(null)).toThrow(/^accumulatorFromState: state must be/);
  });

  test('non-finite losses travel through the state', () => {
    const inf = Float32Array.from([Infinity, 1]);
    const acc = fastloss.torch.mseLoss.accumulate().add(inf, new Float32Array(2));
    const back = fastloss.accumulatorFromState(JSON.parse(JSON.stringify(acc)));
    expect([acc.result(), back.result()]).toEqual([Infinity, Infinity]);
    acc.add(Float32Array.from([NaN]), new Float32Array(1));
    expect(fastloss.accumulatorFromState(JSON.parse(JSON.stringify(acc))).result()).toBeNaN();
  });
});

describe('shards in other processes', () => {
  test('partial states written by two child processes merge to the bits of one run with the same cuts', () => {
    // Each child scores rows [a, b) of a seeded torch.crossEntropy problem in 1000-row chunks and prints its state.
    const script = `
      const fl = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
      const { seededRandom } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'random.js'))});
      const [a, b] = process.argv.slice(1).map(Number);
      const r = seededRandom(42), rows = 10000, C = 7;
      const x = Float32Array.from({ length: rows * C }, () => r() * 6 - 3);
      const t = Int32Array.from({ length: rows }, () => (r() < 0.1 ? -100 : Math.floor(r() * C)));
      const acc = fl.torch.crossEntropy.accumulate({ weight: Float32Array.from([1, 2, 3, 0.5, 1, 1, 4]), labelSmoothing: 0.05 });
      for (let k = a; k < b; k += 1000) acc.add(x.subarray(k * C, Math.min(b, k + 1000) * C), t.subarray(k, Math.min(b, k + 1000)), { shape: [Math.min(b, k + 1000) - k, C] });
      process.stdout.write(JSON.stringify(acc));`;
    const shard = (a: number, b: number) => JSON.parse(execFileSync(process.execPath, ['-e', script, String(a), String(b)], { encoding: 'utf8' }));
    const whole = fastloss.accumulatorFromState(shard(0, 10000));
    const merged = fastloss.accumulatorFromState(shard(6000, 10000)).merge(shard(0, 6000));
    expect(Object.is(merged.result(), whole.result())).toBe(true);
    expect([merged.rows, merged.elements, merged.chunks]).toEqual([10000, 70000, 10]);
  });
});

describe('types', () => {
  test('accumulate() and add() take the loss\'s own argument and option types', async () => {
    const lp = new Float32Array(2 * 1 * 3);
    const ctc = fastloss.torch.ctcLoss.accumulate({ blank: 0, zeroInfinity: true, reduction: 'sum' });
    ctc.add(lp, Int32Array.from([1]), 2, 1, { shape: [2, 1, 3] });
    const huber = fastloss.keras.huber.accumulate({ delta: 0.5 });
    await huber.addAsync(new Float32Array(4), new Float32Array(4), { shape: [2, 2], sampleWeight: Float32Array.from([1, 2]) });
    const focal = fastloss.torch.sigmoidFocalLoss.accumulate({ alpha: 0.5, reduction: 'sum' });
    focal.add(new Float32Array(2), new Float32Array(2), { threads: 1 });
    // @ts-expect-error sampleWeight goes with each chunk, not to accumulate()
    expect(() => fastloss.keras.huber.accumulate({ sampleWeight: 2 })).toThrow(TypeError);
    // @ts-expect-error a crossEntropy chunk needs its target
    expect(() => fastloss.torch.crossEntropy.accumulate().add(new Float32Array(3))).toThrow(TypeError);
    const n: number = ctc.result() + huber.result() + focal.result() + ctc.rows + huber.elements;
    expect(Number.isFinite(n)).toBe(true);
    expect([ctc.rows, huber.rows, focal.rows]).toEqual([1, 2, 2]);
  });
});

describe('ExactSum', () => {
  // Inputs and math.fsum results written by scripts/gen_accumulate_fixtures.py (Python's math.fsum).
  const cases = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'accumulate-fsum.json'), 'utf8')) as
    { generator: string; cases: { name: string; values: number[]; fsum: number }[] };

  test.each(cases.cases.map((c) => [c.name, c] as const))('%s: equals math.fsum, in any order and through JSON', (_, c) => {
    const s = new ExactSum();
    for (const v of c.values) s.add(v);
    expect(s.value()).toBe(c.fsum);
    const reversed = new ExactSum();
    for (let i = c.values.length - 1; i >= 0; i--) reversed.add(c.values[i]);
    expect(reversed.value()).toBe(c.fsum);
    const halves = [new ExactSum(), new ExactSum()];
    c.values.forEach((v, i) => halves[i % 2].add(v));
    const back = new ExactSum();
    for (const p of (JSON.parse(JSON.stringify(halves[0])) as { partials: number[] }).partials) back.add(p);
    back.addAll(halves[1]);
    expect(back.value()).toBe(c.fsum);
  });
});
