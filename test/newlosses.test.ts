// The losses of issue 13 (all but CTC): fixture parity (PyTorch 1.13 autograd / Keras 3 formulas
// in float64, scripts/fixtures_newlosses.py), finite differences, named errors that write
// nothing, and thread-count independence on inputs across the threading grain.
import { getNumThreads, keras, setNumThreads, torch } from '../src';
import { expectFiniteDifferences } from './helpers/gradcheck';
import { AnyLoss } from './helpers/losses';
import { describeParity } from './helpers/parity';
import { uniformF32 } from './helpers/random';


describeParity('focal');
describeParity('overlap');
describeParity('metric');

/** Deterministic values in [lo, hi). */
const values = (n: number, seed: number, lo = 0, hi = 1) => uniformF32(n, seed, lo, hi);

function oneHot(rows: number, classes: number, seed: number): Float32Array {
  const t = new Float32Array(rows * classes);
  const pick = values(rows, seed, 0, classes);
  for (let r = 0; r < rows; r++) t[r * classes + Math.floor(pick[r])] = 1;
  return t;
}

describe('finite differences', () => {
  const focal: [string, Record<string, unknown>][] = [
    ['probabilities', { shape: [3, 4] }],
    ['logits, gamma 1.5, label smoothing', { shape: [3, 4], fromLogits: true, gamma: 1.5, labelSmoothing: 0.1 }],
    ['axis 0, weighted, sum', { shape: [4, 3], axis: 0, sampleWeight: Float32Array.from([0.5, 2, 1]), reduction: 'sum' }],
    ['axis 1 of 3-D, logits', { shape: [2, 4, 2], axis: 1, fromLogits: true }],
  ];
  test.each(focal)('keras.categoricalFocalCrossentropy: %s', (_tag, opts) => {
    const n = (opts.shape as number[]).reduce((a, b) => a * b, 1);
    const logits = opts.fromLogits === true;
    const yPred = values(n, 7, logits ? -2 : 0.1, logits ? 2 : 1);
    const yTrue = values(n, 11, 0, 1);
    expectFiniteDifferences(keras.categoricalFocalCrossentropy as never, [yTrue, yPred], opts, 1, undefined, 1e-3);
  });
});

describe('finite differences: keras.categoricalGeneralizedCrossEntropy', () => {
  test.each([0.5, 0.1, 0.9])('q %p, weighted', (q) => {
    const yPred = values(12, 31, 0.05, 1);
    const yTrue = Int32Array.from([2, 0, 3]);
    expectFiniteDifferences(keras.categoricalGeneralizedCrossEntropy as never, [yTrue as unknown as Float32Array, yPred],
      { shape: [3, 4], q, sampleWeight: Float32Array.from([1, 0.5, 2]) }, 1, undefined, 1e-3);
  });
});

describe('finite differences: keras.circle', () => {
  /** N unit rows of D (Keras expects L2-normalized embeddings). */
  function unitRows(N: number, D: number, seed: number): Float32Array {
    const e = values(N * D, seed, -1, 1);
    for (let r = 0; r < N; r++) {
      let s = 0;
      for (let d = 0; d < D; d++) s += e[r * D + d] ** 2;
      for (let d = 0; d < D; d++) e[r * D + d] /= Math.sqrt(s);
    }
    return e;
  }
  const variants: [string, Record<string, unknown>][] = [
    ['defaults (gamma 80)', {}],
    ['gamma 8, margin 0.25, sum, weighted', { gamma: 8, margin: 0.25, reduction: 'sum', sampleWeight: Float32Array.from([1, 0.5, 2, 1, 0, 1.5]) }],
    ['keep diagonal', { removeDiagonal: false, gamma: 8 }],
  ];
  test.each(variants)('%s', (_tag, opts) => {
    const labels = Int32Array.from([0, 1, 0, 2, 1, 2]);
    expectFiniteDifferences(keras.circle as never, [labels as unknown as Float32Array, unitRows(6, 4, 37)], opts, 1, undefined, 1e-4);
  });
});

describe('finite differences: overlap losses', () => {
  const overlap: [string, AnyLoss, Record<string, unknown>][] = [
    ['dice, every axis', keras.dice as never, { shape: [3, 4] }],
    ['dice, per sample, weighted, sum', keras.dice as never, { shape: [3, 4], axis: -1, sampleWeight: Float32Array.from([0.5, 2, 1]), reduction: 'sum' }],
    ['dice, spatial per channel', keras.dice as never, { shape: [2, 3, 2, 2], axis: [1, 2] }],
    ['tversky, alpha 0.3, beta 0.7, leading axis', keras.tversky as never, { shape: [4, 3], axis: 0, alpha: 0.3, beta: 0.7 }],
    ['tversky, every axis, long', keras.tversky as never, { shape: [20000] }],
  ];
  test.each(overlap)('%s', (_tag, loss, opts) => {
    const n = (opts.shape as number[]).reduce((a, b) => a * b, 1);
    const yTrue = values(n, 13, 0, 1).map((v) => (v < 0.5 ? 0 : 1));
    const yPred = values(n, 17, 0.05, 0.95);
    if (n > 1000) {
      // Every element of a long input: check a stride of them against the analytic gradient.
      const g = loss.backward(yTrue, yPred, opts) as Float32Array;
      for (let i = 0; i < n; i += 1999) {
        const x0 = yPred[i];
        yPred[i] = x0 + 1e-2;
        const up = loss(yTrue, yPred, opts) as number;
        yPred[i] = x0 - 1e-2;
        const down = loss(yTrue, yPred, opts) as number;
        yPred[i] = x0;
        expect(Math.abs((up - down) / 2e-2 - g[i])).toBeLessThanOrEqual(1e-5 + 2e-2 * Math.abs(g[i]));
      }
      return;
    }
    expectFiniteDifferences(loss, [yTrue, yPred], opts, 1, undefined, 1e-3);
  });
});

describe('finite differences: torch.tripletMarginWithDistanceLoss', () => {
  const variants: [string, Record<string, unknown>][] = [
    ['pairwise', { shape: [4, 5] }],
    ['pairwise, swap, sum', { shape: [4, 5], swap: true, reduction: 'sum' }],
    ['cosine', { shape: [4, 5], distanceFunction: 'cosine' }],
    ['cosine, swap, one row', { shape: [6], distanceFunction: 'cosine', swap: true, margin: 1.5 }],
  ];
  for (const [tag, opts] of variants) {
    test.each(['anchor', 'positive', 'negative'])(`${tag}: d/d%s`, (key) => {
      const n = (opts.shape as number[]).reduce((a, b) => a * b, 1);
      const arrays = [values(n, 19, -1, 1), values(n, 23, -1, 1), values(n, 29, -1, 1)];
      expectFiniteDifferences(torch.tripletMarginWithDistanceLoss as never, arrays, opts, ['anchor', 'positive', 'negative'].indexOf(key), key, 1e-3);
    });
  }
  test("'pairwise' is tripletMarginLoss with p = 2, eps = 1e-6, bit for bit", () => {
    const n = 64 * 33;
    const arrays = [values(n, 1, -1, 1), values(n, 2, -1, 1), values(n, 3, -1, 1)];
    for (const swap of [false, true]) {
      const a = torch.tripletMarginWithDistanceLoss.withGrad(arrays[0], arrays[1], arrays[2], { shape: [64, 33], swap });
      const b = torch.tripletMarginLoss.withGrad(arrays[0], arrays[1], arrays[2], { shape: [64, 33], swap });
      expect(Object.is(a.loss, b.loss)).toBe(true);
      for (const k of ['anchor', 'positive', 'negative'] as const) expect(Buffer.from(a.grad[k].buffer).equals(Buffer.from(b.grad[k].buffer))).toBe(true);
    }
  });
});

describe('errors name the argument and write nothing', () => {
  const cases: [string, AnyLoss, unknown[], Record<string, unknown>, RegExp][] = [
    ['focal axis', keras.categoricalFocalCrossentropy as never, [new Float32Array(6), new Float32Array(6)], { shape: [2, 3], axis: 2 },
      /keras\.categoricalFocalCrossentropy: opts\.axis is 2, out of range/],
    ['focal sampleWeight', keras.categoricalFocalCrossentropy as never, [new Float32Array(6), new Float32Array(6)],
      { shape: [2, 3], axis: 0, sampleWeight: new Float32Array(2) }, /opts\.sampleWeight has length 2, but there are 3 losses/],
    ['focal labelSmoothing', keras.categoricalFocalCrossentropy as never, [new Float32Array(6), new Float32Array(6)],
      { shape: [2, 3], labelSmoothing: 2 }, /opts\.labelSmoothing must be in \[0, 1\]/],
    ['focal gamma', keras.categoricalFocalCrossentropy as never, [new Float32Array(6), new Float32Array(6)],
      { shape: [2, 3], gamma: -1 }, /opts\.gamma must be >= 0/],
    ['dice axis not consecutive', keras.dice as never, [new Float32Array(24), new Float32Array(24)], { shape: [2, 3, 4], axis: [0, 2] },
      /keras\.dice: opts\.axis must be consecutive axes, got \[0, 2\]/],
    ['dice axis twice', keras.dice as never, [new Float32Array(24), new Float32Array(24)], { shape: [2, 3, 4], axis: [1, -2] },
      /keras\.dice: opts\.axis holds axis 1 twice/],
    ['dice axis out of range', keras.dice as never, [new Float32Array(24), new Float32Array(24)], { shape: [2, 3, 4], axis: [3] },
      /keras\.dice: opts\.axis holds 3, out of range/],
    ['dice axis type', keras.dice as never, [new Float32Array(6), new Float32Array(6)], { axis: [0.5] }, /keras\.dice: opts\.axis\[0\] must be an integer/],
    ['dice sampleWeight', keras.dice as never, [new Float32Array(24), new Float32Array(24)], { shape: [2, 3, 4], axis: [1, 2], sampleWeight: new Float32Array(3) },
      /opts\.sampleWeight has length 3, but there are 2 losses/],
    ['triplet distanceFunction', torch.tripletMarginWithDistanceLoss as never, [new Float32Array(6), new Float32Array(6), new Float32Array(6)],
      { distanceFunction: 'euclidean' }, /torch\.tripletMarginWithDistanceLoss: opts\.distanceFunction must be 'pairwise' or 'cosine', got 'euclidean'/],
    ['triplet distanceFunction type', torch.tripletMarginWithDistanceLoss as never, [new Float32Array(6), new Float32Array(6), new Float32Array(6)],
      { distanceFunction: (x: number) => x }, /opts\.distanceFunction must be 'pairwise' or 'cosine'/],
    ['triplet cosine 3-D', torch.tripletMarginWithDistanceLoss as never, [new Float32Array(8), new Float32Array(8), new Float32Array(8)],
      { distanceFunction: 'cosine', shape: [2, 2, 2] }, /torch\.tripletMarginWithDistanceLoss: opts\.shape must be/],
    ['triplet negative length', torch.tripletMarginWithDistanceLoss as never, [new Float32Array(6), new Float32Array(6), new Float32Array(5)],
      {}, /torch\.tripletMarginWithDistanceLoss: negative/],
    ['gce label', keras.categoricalGeneralizedCrossEntropy as never, [Int32Array.from([0, 3]), new Float32Array(6)], { shape: [2, 3] },
      /^keras\.categoricalGeneralizedCrossEntropy: yTrue\[1\] is 3; expected a class index in \[0, 3\)$/],
    ['gce negative label', keras.categoricalGeneralizedCrossEntropy as never, [Int32Array.from([-1, 0]), new Float32Array(6)], { shape: [2, 3] },
      /^keras\.categoricalGeneralizedCrossEntropy: yTrue\[0\] is -1; expected a class index in \[0, 3\)$/],
    ['gce q', keras.categoricalGeneralizedCrossEntropy as never, [Int32Array.from([0, 1]), new Float32Array(6)], { shape: [2, 3], q: 1 },
      /opts\.q must be in the interval \(0, 1\), got 1/],
    ['gce yTrue length', keras.categoricalGeneralizedCrossEntropy as never, [Int32Array.from([0, 1, 1]), new Float32Array(6)], { shape: [2, 3] },
      /keras\.categoricalGeneralizedCrossEntropy: yTrue has length 3; expected 2 labels/],
    ['circle shape', keras.circle as never, [Int32Array.from([0, 1]), new Float32Array(6)], { shape: [3, 2] },
      /keras\.circle: yTrue has 2 labels, but opts\.shape \[3, 2\] has 3 embeddings/],
    ['circle labels', keras.circle as never, [Int32Array.from([0, 1, 1, 2]), new Float32Array(6)], {},
      /keras\.circle: yTrue has 4 labels, which do not divide yPred's length 6/],
    ['circle gamma', keras.circle as never, [Int32Array.from([0, 1]), new Float32Array(6)], { gamma: Infinity },
      /keras\.circle: opts\.gamma must be a finite number/],
    ['tversky alpha', keras.tversky as never, [new Float32Array(6), new Float32Array(6)], { alpha: NaN }, /keras\.tversky: opts\.alpha must be a finite number/],
    ['tversky yTrue length', keras.tversky as never, [new Float32Array(5), new Float32Array(6)], {}, /keras\.tversky: yTrue/],
  ];
  test.each(cases)('%s', (_tag, loss, arrays, opts, message) => {
    // The 'none' output of an honest call of this shape: 2 losses for the gce cases, else 3.
    const out = new Float32Array(64).fill(7);
    const outLength = arrays[0] instanceof Int32Array ? (arrays[0] as Int32Array).length : 3;
    expect(() => loss(...arrays, { ...opts, reduction: 'none', out: out.subarray(0, outLength) })).toThrow(message);
    const grad = new Float32Array(64).fill(7);
    const n = (arrays[arrays.length === 3 ? 0 : 1] as Float32Array).length;
    const gradOut = arrays.length === 3
      ? { anchor: grad.subarray(0, n), positive: grad.subarray(n, 2 * n), negative: grad.subarray(2 * n, 3 * n) }
      : grad.subarray(0, n);
    expect(() => loss.backward(...arrays, { ...opts, out: gradOut })).toThrow(message);
    expect(out.every((v) => v === 7) && grad.every((v) => v === 7)).toBe(true);
  });
});

describe('any thread count gives the same bits', () => {
  const initial = getNumThreads();
  afterAll(() => setNumThreads(initial));
  const rows = 5000;
  const C = 37;
  const cases: [string, AnyLoss, () => unknown[], Record<string, unknown>][] = [
    ['keras.categoricalFocalCrossentropy', keras.categoricalFocalCrossentropy as never,
      () => [oneHot(rows, C, 3), values(rows * C, 5, 0.01, 1)], { shape: [rows, C] }],
    ['keras.categoricalFocalCrossentropy logits axis 0', keras.categoricalFocalCrossentropy as never,
      () => [values(rows * C, 3), values(rows * C, 5, -3, 3)], { shape: [C, rows], axis: 0, fromLogits: true }],
    ['keras.dice, every axis', keras.dice as never, () => [values(300001, 3), values(300001, 5)], {}],
    ['keras.dice, per sample', keras.dice as never, () => [values(rows * C, 3), values(rows * C, 5)], { shape: [rows, C], axis: -1 }],
    ['keras.tversky, spatial per channel', keras.tversky as never, () => [values(64 * 4096 * 3, 3), values(64 * 4096 * 3, 5)],
      { shape: [64, 4096, 3], axis: [1], alpha: 0.3, beta: 0.7 }],
    ['keras.tversky, leading axis', keras.tversky as never, () => [values(rows * C, 3), values(rows * C, 5)], { shape: [rows, C], axis: 0 }],
    ['keras.categoricalGeneralizedCrossEntropy', keras.categoricalGeneralizedCrossEntropy as never,
      () => [Int32Array.from(values(rows, 3, 0, C), Math.floor), values(rows * C, 5, 0, 1)], { shape: [rows, C], q: 0.3 }],
    ['keras.circle', keras.circle as never, () => [Int32Array.from(values(300, 9, 0, 12), Math.floor), values(300 * 64, 5, -0.2, 0.2)],
      { shape: [300, 64], gamma: 16 }],
    ['torch.tripletMarginWithDistanceLoss cosine swap', torch.tripletMarginWithDistanceLoss as never,
      () => [values(rows * C, 3, -1, 1), values(rows * C, 5, -1, 1), values(rows * C, 7, -1, 1)], { shape: [rows, C], distanceFunction: 'cosine', swap: true }],
    ['torch.tripletMarginWithDistanceLoss cosine wide rows', torch.tripletMarginWithDistanceLoss as never,
      () => [values(3 * 70000, 3, -1, 1), values(3 * 70000, 5, -1, 1), values(3 * 70000, 7, -1, 1)], { shape: [3, 70000], distanceFunction: 'cosine' }],
  ];
  test.each(cases)('%s', (_tag, loss, make, opts) => {
    const arrays = make();
    const runs = [1, 2, 3].map((t) => {
      setNumThreads(t);
      const both = loss.withGrad(...arrays, opts);
      const none = loss(...arrays, { ...opts, reduction: 'none' }) as Float32Array;
      const grads = both.grad instanceof Float32Array ? [both.grad] : Object.values(both.grad as Record<string, Float32Array>);
      return { loss: both.loss as number, grad: Buffer.concat(grads.map((g) => Buffer.from(g.buffer))), none: Buffer.from(none.buffer) };
    });
    for (const r of runs.slice(1)) {
      expect(Object.is(r.loss, runs[0].loss)).toBe(true);
      expect(r.grad.equals(runs[0].grad)).toBe(true);
      expect(r.none.equals(runs[0].none)).toBe(true);
    }
  });
});
