import { getNumThreads, keras, setNumThreads, torch } from '../src';
import { describeParity } from './helpers/parity';
import { expectThrowsWritingNothing } from './helpers/errors';
import { seededRandom } from './helpers/random';

describeParity('classification');

// Deterministic pseudo-random float32 data.
function randn(n: number, scale: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (r() + r() + r() - 1.5) * 2 * scale;
  return a;
}
function labels(n: number, classes: number, seed: number): Int32Array {
  const r = seededRandom(seed);
  return Int32Array.from({ length: n }, () => Math.floor(r() * classes));
}

describe('classification argument errors', () => {
  const x = randn(12, 1, 1);
  const t = Int32Array.from([0, 1, 3]);

  test('class index out of range names the index and the position', () => {
    const out = new Float32Array(3);
    const grad = new Float32Array(12);
    const bad = Int32Array.from([0, 4, 1]);
    expectThrowsWritingNothing(() => torch.crossEntropy(x, bad, { shape: [3, 4], reduction: 'none', out }), RangeError,
      /torch\.crossEntropy: target\[1\] is 4; expected a class index in \[0, 4\) or opts\.ignoreIndex \(-100\)/, out);
    expectThrowsWritingNothing(() => torch.crossEntropy.withGrad(x, bad, { shape: [3, 4], reduction: 'none', out: { loss: out, grad } }),
      RangeError, /target\[1\] is 4;/, out, grad);
    expectThrowsWritingNothing(() => torch.crossEntropy.backward(x, Int32Array.from([0, 1, -3]), { shape: [3, 4], out: grad }),
      RangeError, /target\[2\] is -3; expected a class index in \[0, 4\)/, grad);
    expectThrowsWritingNothing(() => torch.nllLoss.backward(x, Int32Array.from([5, 1, 0]), { shape: [3, 4], out: grad }),
      RangeError, /torch\.nllLoss: target\[0\] is 5; expected a class index in \[0, 4\) or opts\.ignoreIndex/, grad);
    expectThrowsWritingNothing(() => keras.sparseCategoricalCrossentropy.backward(Int32Array.from([0, 9, 1]), x, { shape: [3, 4], out: grad }),
      RangeError, /keras\.sparseCategoricalCrossentropy: yTrue\[1\] is 9; expected a class index in \[0, 4\)/, grad);
    expectThrowsWritingNothing(() => keras.sparseCategoricalCrossentropy.backward(Int32Array.from([0, 9, 1]), x,
      { shape: [3, 4], out: grad, fromLogits: true }), RangeError, /yTrue\[1\] is 9;/, grad);
    // The ignore index itself is fine, even outside the classes.
    expect(Number.isFinite(torch.crossEntropy(x, Int32Array.from([0, -100, 2]), { shape: [3, 4] }))).toBe(true);
    expect(Number.isFinite(torch.crossEntropy(x, Int32Array.from([0, 7, 2]), { shape: [3, 4], ignoreIndex: 7 }))).toBe(true);
  });

  test('async rejects with the same error', async () => {
    const err = await torch.crossEntropy.async(x, Int32Array.from([0, 4, 1]), { shape: [3, 4] }).catch((e: Error) => e);
    expect((err as Error).constructor.name).toBe('RangeError');
    expect((err as Error).message).toMatch(/target\[1\] is 4; expected a class index in \[0, 4\)/);
  });

  test('labelSmoothing must be a number in [0, 1]', () => {
    expect(() => torch.crossEntropy(x, t, { shape: [3, 4], labelSmoothing: -0.1 })).toThrow(RangeError);
    expect(() => torch.crossEntropy(x, t, { shape: [3, 4], labelSmoothing: 1.5 })).toThrow(/labelSmoothing must be in \[0, 1\], got 1.5/);
    expect(() => torch.crossEntropy(x, t, { shape: [3, 4], labelSmoothing: '0.1' as unknown as number })).toThrow(TypeError);
    expect(() => keras.categoricalCrossentropy(x, x, { labelSmoothing: 2 })).toThrow(RangeError);
    expect(() => keras.binaryCrossentropy(x, x, { labelSmoothing: NaN })).toThrow(TypeError);
  });

  test('weight arrays of the wrong length', () => {
    const out = new Float32Array(3);
    expectThrowsWritingNothing(() => torch.crossEntropy(x, t, { shape: [3, 4], weight: new Float32Array(3), reduction: 'none', out }),
      RangeError, /torch\.crossEntropy: opts\.weight has length 3; expected 4/, out);
    expect(() => torch.nllLoss(x, t, { shape: [3, 4], weight: new Float32Array(5) })).toThrow(/opts\.weight has length 5; expected 4/);
    expect(() => torch.binaryCrossEntropy(new Float32Array(4).fill(0.5), new Float32Array(4), { weight: new Float32Array(3) }))
      .toThrow(/opts\.weight has length 3; expected 4/);
    expect(() => torch.binaryCrossEntropyWithLogits(x, x, { shape: [3, 4], posWeight: new Float32Array(3) }))
      .toThrow(/opts\.posWeight has length 3; expected 4/);
    expect(() => torch.crossEntropy(x, t, { shape: [3, 4], weight: [1, 1, 1, 1] as unknown as Float32Array })).toThrow(TypeError);
  });

  test('shapes without a class axis and mismatched targets', () => {
    expect(() => torch.crossEntropy(new Float32Array(1), new Int32Array(1), { shape: [] })).toThrow(/no class axis/);
    expect(() => torch.crossEntropy(x, t, { shape: [3, 0, 4] })).toThrow(RangeError);
    expect(() => torch.crossEntropy(x, t, { shape: [4, 3] })).toThrow(/target has length 3; expected 4 class indices/);
    expect(() => torch.crossEntropy(x, new Int32Array(5))).toThrow(/do not divide/);
    expect(() => torch.crossEntropy(x, new Float32Array(11), { shape: [3, 4] })).toThrow(/class probabilities need the input's length 12/);
    expect(() => keras.sparseCategoricalCrossentropy(new Int32Array(2), x, { shape: [3, 4] })).toThrow(/yTrue has length 2; expected 3/);
  });

  test('targets of the wrong type', () => {
    expect(() => torch.crossEntropy(x, new Float64Array(3) as unknown as Int32Array, { shape: [3, 4] }))
      .toThrow(/torch\.crossEntropy: target must be a Float32Array \(probabilities\) or an Int32Array \(class indices\), got a Float64Array/);
    expect(() => torch.nllLoss(x, new Float32Array(3) as unknown as Int32Array, { shape: [3, 4] })).toThrow(/target must be an Int32Array/);
    expect(() => keras.sparseCategoricalCrossentropy(new Float32Array(3) as unknown as Int32Array, x, { shape: [3, 4] }))
      .toThrow(TypeError);
    expect(() => torch.crossEntropy(x, t, { shape: [3, 4], ignoreIndex: 0.5 })).toThrow(TypeError);
    expect(() => keras.sparseCategoricalCrossentropy(t, x, { shape: [3, 4], ignoreClass: 'x' as unknown as number })).toThrow(TypeError);
  });

  test('data checks of binaryCrossEntropy and gaussianNllLoss', () => {
    const out = new Float32Array(4);
    expectThrowsWritingNothing(() => torch.binaryCrossEntropy(Float32Array.from([0.5, 1.5, 0, 1]), new Float32Array(4), { reduction: 'none', out }),
      RangeError, /torch\.binaryCrossEntropy: input\[1\] = 1\.5; all elements of input should be between 0 and 1/, out);
    expect(() => torch.binaryCrossEntropy(Float32Array.from([NaN]), new Float32Array(1))).toThrow(/input\[0\] = NaN/);
    const gi = new Float32Array(4);
    const gv = new Float32Array(4);
    expectThrowsWritingNothing(() => torch.gaussianNllLoss.backward(x.subarray(0, 4), x.subarray(4, 8), Float32Array.from([1, 0, -1, 2]),
      { out: { input: gi, var: gv } }), RangeError, /torch\.gaussianNllLoss: var\[2\] = -1 is negative/, gi, gv);
    expect(() => torch.gaussianNllLoss(x, x, new Float32Array(5), { shape: [3, 4] }))
      .toThrow(/var has length 5; expected the input's length 12 or one per row of the last axis \(3\)/);
  });

  test('reductions', () => {
    expect(() => torch.klDiv(x, x, { reduction: 'batchmean' })).not.toThrow();
    expect(() => torch.crossEntropy(x, t, { shape: [3, 4], reduction: 'batchmean' as 'mean' })).toThrow(RangeError);
    expect(torch.sigmoidFocalLoss(x, x)).toBeInstanceOf(Float32Array);  // torchvision's default 'none'
  });
});

// ------------------------------------------------------------------ float64 references

interface XentCase {
  N: number;
  C: number;
  S: number;
  x: Float32Array;
  idx?: Int32Array;
  prob?: Float32Array;
  w?: Float32Array;
  ignore?: number;
  ls: number;
}

/** torch.nn.functional.cross_entropy (PyTorch 1.13 definition) in float64, mean reduction. */
function xentReference(c: XentCase): { loss: number; grad: Float64Array; none: Float64Array } {
  const { N, C, S, x } = c;
  const P = N * S;
  const at = (n: number, k: number, s: number) => (n * C + k) * S + s;
  const w = (k: number) => (c.w ? c.w[k] : 1);
  let D = 0;
  if (c.idx) {
    for (let p = 0; p < P; p++) if (c.idx[p] !== c.ignore) D += w(c.idx[p]);
  } else {
    D = P;
  }
  const grad = new Float64Array(x.length);
  const none = new Float64Array(P);
  let total = 0;
  for (let n = 0; n < N; n++) {
    for (let s = 0; s < S; s++) {
      const p = n * S + s;
      let m = -Infinity;
      for (let k = 0; k < C; k++) m = Math.max(m, x[at(n, k, s)]);
      let se = 0;
      for (let k = 0; k < C; k++) se += Math.exp(x[at(n, k, s)] - m);
      const lse = m + Math.log(se);
      const a = new Float64Array(C);  // coefficient of (lse - x_k)
      if (c.idx) {
        const y = c.idx[p];
        if (y === c.ignore) continue;
        for (let k = 0; k < C; k++) a[k] = (c.ls / C) * w(k);
        a[y] += (1 - c.ls) * w(y);
      } else {
        for (let k = 0; k < C; k++) a[k] = (c.prob![at(n, k, s)] * (1 - c.ls) + c.ls / C) * w(k);
      }
      let l = 0;
      let A = 0;
      for (let k = 0; k < C; k++) {
        l += a[k] * (lse - x[at(n, k, s)]);
        A += a[k];
      }
      none[p] = l;
      total += l;
      for (let k = 0; k < C; k++) grad[at(n, k, s)] = (A * Math.exp(x[at(n, k, s)] - lse) - a[k]) / D;
    }
  }
  return { loss: total / D, grad, none };
}

function expectNear(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol: number, atol: number, what: string): void {
  expect(actual.length).toBe(expected.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) - (atol + rtol * Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  if (at >= 0) throw new Error(`${what}[${at}]: got ${actual[at]}, expected ${expected[at]}`);
}

describe('crossEntropy on large rows and strided class axes (float64 reference)', () => {
  const cases: [string, XentCase][] = [];
  {
    // Few huge rows: the row is split into chunks (C > 16384), smoothing + weights + ignore.
    const N = 3;
    const C = 20000;
    const x = randn(N * C, 3, 11);
    x[5] = 90;  // one logit dominating its row by ~80
    const idx = Int32Array.from([17, -100, 19999]);
    const w = randn(C, 0.5, 12).map((v) => 1 + v);
    w[17] = 0.25;
    cases.push(['split rows [3, 20000]', { N, C, S: 1, x, idx, w, ignore: -100, ls: 0.15 }]);
    const prob = randn(N * C, 1, 13).map(Math.abs);
    for (let r = 0; r < N; r++) {
      let s = 0;
      for (let k = 0; k < C; k++) s += prob[r * C + k];
      for (let k = 0; k < C; k++) prob[r * C + k] /= s;
    }
    cases.push(['split rows, probabilities [3, 20000]', { N, C, S: 1, x, prob, w, ls: 0.1 }]);
  }
  {
    // Strided class axis over two position blocks (300 = 256 + 44).
    const N = 2;
    const C = 5;
    const S = 300;
    const x = randn(N * C * S, 2, 21);
    const idx = labels(N * S, C, 22);
    idx[3] = -1;
    idx[299] = -1;
    idx[400] = -1;
    const w = Float32Array.from([0.5, 1, 0, 2, 1.5]);
    cases.push(['strided [2, 5, 300] with weights, ignore, smoothing', { N, C, S, x, idx, w, ignore: -1, ls: 0.2 }]);
    const prob = randn(N * C * S, 1, 23).map(Math.abs);
    cases.push(['strided probabilities [2, 5, 300]', { N, C, S, x, prob, ls: 0 }]);
  }
  const initial = getNumThreads();
  afterAll(() => setNumThreads(initial));

  test.each(cases)('%s', (_name, c) => {
    const shape = c.S === 1 ? [c.N, c.C] : [c.N, c.C, c.S];
    const target = c.idx ?? c.prob!;
    const opts = { shape, weight: c.w, labelSmoothing: c.ls, ...(c.ignore !== undefined ? { ignoreIndex: c.ignore } : {}) };
    const ref = xentReference(c);
    const results = [1, 2].map((threads) => {
      setNumThreads(threads);
      const both = torch.crossEntropy.withGrad(c.x, target, opts);
      const none = torch.crossEntropy(c.x, target, { ...opts, reduction: 'none' });
      const back = torch.crossEntropy.backward(c.x, target, opts);
      return { both, none, back };
    });
    for (const r of results) {
      expectNear([r.both.loss], [ref.loss], 1e-5, 1e-6, 'loss');
      expectNear(r.both.grad, ref.grad, 1e-4, 1e-9, 'grad');
      expectNear(r.none, ref.none, 1e-5, 1e-5, 'none');
      expect(Array.from(r.back)).toEqual(Array.from(r.both.grad));
    }
    // The same bits for any thread count.
    expect(results[1].both.loss).toBe(results[0].both.loss);
    expect(Array.from(results[1].both.grad)).toEqual(Array.from(results[0].both.grad));
  });
});

// ------------------------------------------------------------------ finite differences

type Fn = (x: Float32Array) => number;

/** Central differences in float64 over a float32 function, at every coordinate. */
function finiteDiff(f: Fn, x: Float32Array, h: number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = Float32Array.from(x);
    const xm = Float32Array.from(x);
    xp[i] = x[i] + h;
    xm[i] = x[i] - h;
    g[i] = (f(xp) - f(xm)) / (xp[i] - xm[i]);
  }
  return g;
}

describe('gradients against finite differences', () => {
  const h = 1e-2;
  const tol = (g: ArrayLike<number>, fd: ArrayLike<number>, what: string) => expectNear(g, fd, 2e-2, 2e-3, what);

  test('crossEntropy: strided, weights, ignore, smoothing', () => {
    const x = randn(24, 1, 31);
    const t = Int32Array.from([0, 3, -100, 1, 2, 0]);
    const opts = { shape: [2, 4, 3], weight: Float32Array.from([1, 0.5, 2, 0]), labelSmoothing: 0.3 };
    tol(torch.crossEntropy.backward(x, t, opts), finiteDiff((v) => torch.crossEntropy(v, t, opts), x, h), 'grad');
  });

  test('crossEntropy: probabilities with weights', () => {
    const x = randn(12, 1, 32);
    const p = randn(12, 1, 33).map(Math.abs);
    const opts = { shape: [3, 4], weight: Float32Array.from([1, 0.5, 2, 0.25]), labelSmoothing: 0.1, reduction: 'sum' as const };
    tol(torch.crossEntropy.backward(x, p, opts), finiteDiff((v) => torch.crossEntropy(v, p, opts), x, h), 'grad');
  });

  test('gaussianNllLoss: input and per-row var', () => {
    const x = randn(12, 1, 34);
    const y = randn(12, 1, 35);
    const v = Float32Array.from([0.5, 1.25, 2]);
    const opts = { shape: [3, 4], full: true };
    const g = torch.gaussianNllLoss.backward(x, y, v, opts);
    tol(g.input, finiteDiff((a) => torch.gaussianNllLoss(a, y, v, opts), x, h), 'input');
    tol(g.var, finiteDiff((a) => torch.gaussianNllLoss(x, y, a, opts), v, 1e-3), 'var');
  });

  test('sigmoidFocalLoss with a fractional gamma', () => {
    const x = randn(8, 2, 36);
    const t = Float32Array.from([1, 0, 1, 1, 0, 0.5, 1, 0]);
    const opts = { gamma: 1.5, alpha: 0.3, reduction: 'mean' as const };
    tol(torch.sigmoidFocalLoss.backward(x, t, opts), finiteDiff((v) => torch.sigmoidFocalLoss(v, t, opts), x, h), 'grad');
  });

  test('keras categoricalCrossentropy on unnormalized probabilities', () => {
    const p = randn(12, 1, 37).map((v) => 0.2 + Math.abs(v));
    const t = Float32Array.from([0, 1, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0, 1]);
    const opts = { shape: [3, 4], labelSmoothing: 0.1, sampleWeight: Float32Array.from([1, 2, 0.5]) };
    tol(keras.categoricalCrossentropy.backward(t, p, opts), finiteDiff((v) => keras.categoricalCrossentropy(t, v, opts), p, 1e-3), 'grad');
  });

  test('keras binaryFocalCrossentropy from logits, balanced', () => {
    const x = randn(8, 2, 38);
    const t = Float32Array.from([1, 0, 1, 1, 0, 0, 1, 0]);
    const opts = { shape: [2, 4], fromLogits: true, applyClassBalancing: true, gamma: 2.5, labelSmoothing: 0.1 };
    tol(keras.binaryFocalCrossentropy.backward(t, x, opts), finiteDiff((v) => keras.binaryFocalCrossentropy(t, v, opts), x, h), 'grad');
  });

  test('keras sparseCategoricalCrossentropy on probabilities', () => {
    const p = randn(12, 1, 39).map((v) => 0.05 + Math.abs(v));
    const t = Int32Array.from([3, 0, 2]);
    const opts = { shape: [3, 4] };
    tol(keras.sparseCategoricalCrossentropy.backward(t, p, opts),
      finiteDiff((v) => keras.sparseCategoricalCrossentropy(t, v, opts), p, 1e-3), 'grad');
  });
});

describe('shape inference', () => {
  test('an index target of N entries means [N, C]', () => {
    const x = randn(12, 1, 41);
    const t = Int32Array.from([1, 0, 3]);
    expect(torch.crossEntropy(x, t)).toBe(torch.crossEntropy(x, t, { shape: [3, 4] }));
    expect(keras.sparseCategoricalCrossentropy(t, x)).toBe(keras.sparseCategoricalCrossentropy(t, x, { shape: [3, 4] }));
    expect(torch.crossEntropy(x, t, { reduction: 'none' })).toHaveLength(3);
  });
});

describe('async', () => {
  test('withGradAsync equals withGrad (split rows, on the libuv pool)', async () => {
    const x = randn(2 * 40000, 2, 51);
    const t = Int32Array.from([7, 39999]);
    const opts = { shape: [2, 40000], labelSmoothing: 0.05 };
    const sync = torch.crossEntropy.withGrad(x, t, opts);
    const [a, b] = await Promise.all([torch.crossEntropy.withGradAsync(x, t, opts), torch.crossEntropy.withGradAsync(x, t, opts)]);
    for (const r of [a, b]) {
      expect(r.loss).toBe(sync.loss);
      expect(Array.from(r.grad)).toEqual(Array.from(sync.grad));
    }
    const g = await torch.gaussianNllLoss.withGradAsync(x.subarray(0, 6), x.subarray(6, 12), Float32Array.from([1, 2]), { shape: [2, 3] });
    expect(Object.keys(g.grad).sort()).toEqual(['input', 'var']);
  });
});
