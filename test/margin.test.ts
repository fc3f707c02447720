import { keras, torch } from '../src';
import { describeParity } from './helpers/parity';
import { expectErrorOf, expectThrowsWritingNothing, rejectionOf } from './helpers/errors';
import { AnyLoss } from './helpers/losses';
import { uniformF32 } from './helpers/random';

describeParity('margin');

const f32 = (...v: number[]) => Float32Array.from(v);
const i32 = (...v: number[]) => Int32Array.from(v);
const SENTINEL = 12345;

// n values uniform in [-scale, scale).
const randomF32 = (n: number, seed: number, scale = 1) => uniformF32(n, seed, -scale, scale);

/** Every entry point throws (or rejects with) `kind` matching `message`, and no output buffer is touched. */
async function expectError(lossFn: unknown, arrays: unknown[], opts: Record<string, unknown>, kind: typeof TypeError | typeof RangeError,
                           message: RegExp, gradNames: string[] = []): Promise<void> {
  const loss = lossFn as AnyLoss;
  const n = (arrays[0] as Float32Array).length;
  const gradBuffers = (gradNames.length ? gradNames : ['grad']).map(() => new Float32Array(n));
  const grads = gradNames.length ? Object.fromEntries(gradNames.map((g, k) => [g, gradBuffers[k]])) : gradBuffers[0];
  expectThrowsWritingNothing(() => loss(...arrays, opts), kind, message);
  expectThrowsWritingNothing(() => loss.backward(...arrays, opts), kind, message);
  expectThrowsWritingNothing(() => loss.withGrad(...arrays, opts), kind, message);
  expectErrorOf(await rejectionOf(loss.async(...arrays, opts)), kind, message);
  expectErrorOf(await rejectionOf(loss.withGradAsync(...arrays, opts)), kind, message);
  // With caller gradient buffers: nothing written before the error.
  const withOut = { ...opts, reduction: 'none' };
  expectThrowsWritingNothing(() => loss.withGrad(...arrays, { ...withOut, out: { grad: grads } }), kind, message, ...gradBuffers);
}

describe('margin errors', () => {
  test('hingeEmbeddingLoss: targets must be 1 or -1 (RangeError, nothing written)', async () => {
    await expectError(torch.hingeEmbeddingLoss, [f32(1, 2, 3), f32(1, -1, 0)], {}, RangeError,
      /torch\.hingeEmbeddingLoss: target\[2\] is 0; expected 1 or -1/);
    await expectError(torch.hingeEmbeddingLoss, [f32(1, 2), f32(1, NaN)], {}, RangeError, /target\[1\] is NaN/);
    const out = new Float32Array(3).fill(SENTINEL);
    expect(() => torch.hingeEmbeddingLoss(f32(1, 2, 3), f32(1, 0.5, 1), { reduction: 'none', out })).toThrow(/target\[1\] is 0\.5/);
    expect(Array.from(out)).toEqual([SENTINEL, SENTINEL, SENTINEL]);
  });

  test('hingeEmbeddingLoss: types, lengths, margin', async () => {
    await expectError(torch.hingeEmbeddingLoss, [new Float64Array(2), f32(1, 1)], {}, TypeError, /input must be a Float32Array, got a Float64Array/);
    await expectError(torch.hingeEmbeddingLoss, [f32(1, 2), f32(1)], {}, RangeError, /target has length 1, but input has length 2/);
    await expectError(torch.hingeEmbeddingLoss, [f32(1, 2), f32(1, 1)], { margin: '1' }, TypeError, /opts\.margin must be a finite number/);
  });

  test('cosineEmbeddingLoss: target values, shapes, types', async () => {
    const a = f32(1, 2, 3, 4), b = f32(4, 3, 2, 1);
    await expectError(torch.cosineEmbeddingLoss, [a, b, f32(1, 0)], {}, RangeError,
      /torch\.cosineEmbeddingLoss: target\[1\] is 0; expected 1 or -1/, ['input1', 'input2']);
    const out = new Float32Array(2).fill(SENTINEL);
    expect(() => torch.cosineEmbeddingLoss(a, b, f32(-1, 0.5), { reduction: 'none', out })).toThrow(/target\[1\] is 0\.5/);
    expect(Array.from(out)).toEqual([SENTINEL, SENTINEL]);
    await expectError(torch.cosineEmbeddingLoss, [a, f32(1, 2, 3), f32(1, 1)], {}, RangeError, /input2 has length 3, but input1 has length 4/, ['input1', 'input2']);
    await expectError(torch.cosineEmbeddingLoss, [a, b, f32(1, 1, 1)], {}, RangeError, /target has length 3, which does not divide/, ['input1', 'input2']);
    await expectError(torch.cosineEmbeddingLoss, [a, b, f32(1, 1)], { shape: [4, 1] }, RangeError, /target has length 2, but opts\.shape \[4, 1\] has 4 rows/, ['input1', 'input2']);
    await expectError(torch.cosineEmbeddingLoss, [a, b, f32(1, 1)], { shape: [2, 2, 1] }, RangeError, /opts\.shape must be \[N, D\] or \[D\]/, ['input1', 'input2']);
    await expectError(torch.cosineEmbeddingLoss, [a, b, i32(1, 1)], {}, TypeError, /target must be a Float32Array, got a Int32Array/, ['input1', 'input2']);
    await expectError(torch.cosineEmbeddingLoss, [a, b, f32(1, 1)], { margin: NaN }, TypeError, /opts\.margin must be a finite number/, ['input1', 'input2']);
    // shape inference and explicit shape agree
    expect(torch.cosineEmbeddingLoss(a, b, f32(1, -1))).toBe(torch.cosineEmbeddingLoss(a, b, f32(1, -1), { shape: [2, 2] }));
  });

  test('marginRankingLoss: lengths and types (any target value is used, as PyTorch does)', async () => {
    await expectError(torch.marginRankingLoss, [f32(1, 2), f32(1), f32(1, 1)], {}, RangeError, /input2 has length 1, but input1 has length 2/, ['input1', 'input2']);
    await expectError(torch.marginRankingLoss, [f32(1, 2), f32(1, 2), f32(1)], {}, RangeError, /target has length 1, but input1 has length 2/, ['input1', 'input2']);
    await expectError(torch.marginRankingLoss, [f32(1, 2), [1, 2], f32(1, 1)], {}, TypeError, /input2 must be a Float32Array, got a plain Array/, ['input1', 'input2']);
    expect(torch.marginRankingLoss(f32(1), f32(2), f32(0.5), { margin: 0.25 })).toBeCloseTo(0.75, 6);
  });

  test('multiMarginLoss: p, target range, weight, types', async () => {
    const x = f32(0.1, 0.2, 0.3, 0.4, 0.5, 0.6);
    await expectError(torch.multiMarginLoss, [x, i32(0, 1)], { p: 3 }, RangeError, /torch\.multiMarginLoss: opts\.p must be 1 or 2 \(as in PyTorch\), got 3/);
    await expectError(torch.multiMarginLoss, [x, i32(0, 3)], {}, RangeError, /torch\.multiMarginLoss: target\[1\] is 3; expected a class index in \[0, 3\)/);
    await expectError(torch.multiMarginLoss, [x, i32(-1, 0)], {}, RangeError, /target\[0\] is -1/);
    await expectError(torch.multiMarginLoss, [x, f32(0, 1)], {}, TypeError, /target must be an Int32Array, got a Float32Array/);
    await expectError(torch.multiMarginLoss, [x, i32(0, 1)], { weight: f32(1, 2) }, RangeError, /opts\.weight has length 2; expected 3/);
    await expectError(torch.multiMarginLoss, [x, i32(0, 1)], { weight: [1, 2, 3] }, TypeError, /opts\.weight must be a Float32Array/);
    await expectError(torch.multiMarginLoss, [x, i32(0, 1, 0, 1)], {}, RangeError, /target has length 4, which does not divide/);
    const out = new Float32Array(2).fill(SENTINEL);
    const grad = new Float32Array(6).fill(SENTINEL);
    expect(() => torch.multiMarginLoss.withGrad(x, i32(1, 9), { reduction: 'none', out: { loss: out, grad } })).toThrow(/target\[1\] is 9/);
    expect(out.every((v) => v === SENTINEL) && grad.every((v) => v === SENTINEL)).toBe(true);
  });

  test('multilabelMarginLoss: every target entry in [-1, C), as PyTorch checks', async () => {
    const x = f32(0.1, 0.2, 0.4, 0.8);
    await expectError(torch.multilabelMarginLoss, [x, i32(3, 4, -1, 0)], {}, RangeError,
      /torch\.multilabelMarginLoss: target\[1\] is 4; expected a class index in \[0, 4\) or -1/);
    await expectError(torch.multilabelMarginLoss, [x, i32(3, -2, 1, 0)], {}, RangeError, /target\[1\] is -2/);
    await expectError(torch.multilabelMarginLoss, [x, i32(-1, 7, 1, 1)], {}, RangeError, /target\[1\] is 7/);
    await expectError(torch.multilabelMarginLoss, [x, i32(3, -1, 1)], {}, RangeError, /target has length 3, but input has length 4/);
    await expectError(torch.multilabelMarginLoss, [x, i32(3, -1, 1, 0)], { shape: [1, 2, 2] }, RangeError, /opts\.shape must be \[N, C\] or \[C\]/);
    // stops at the first -1: [3, 0, -1, 1] reads classes 3 and 0
    expect(torch.multilabelMarginLoss(x, i32(3, 0, -1, 1))).toBeCloseTo(0.85, 6);
  });

  test('multilabelSoftMarginLoss: weight length, shapes', async () => {
    await expectError(torch.multilabelSoftMarginLoss, [f32(1, 2, 3, 4), f32(1, 0, 1, 0)], { shape: [2, 2], weight: f32(1, 2, 3) },
      RangeError, /opts\.weight has length 3; expected 2/);
    await expectError(torch.multilabelSoftMarginLoss, [f32(1, 2, 3, 4), f32(1, 0, 1)], {}, RangeError, /target has length 3, but input has length 4/);
  });

  test('tripletMarginLoss: bad p, eps, swap, lengths', async () => {
    const a = f32(1, 2), p = f32(1, 3), n = f32(2, 2);
    const names = ['anchor', 'positive', 'negative'];
    await expectError(torch.tripletMarginLoss, [a, p, n], { p: 0 }, RangeError, /torch\.tripletMarginLoss: opts\.p must be > 0, got 0/, names);
    await expectError(torch.tripletMarginLoss, [a, p, n], { p: -2 }, RangeError, /opts\.p must be > 0/, names);
    await expectError(torch.tripletMarginLoss, [a, p, n], { p: Infinity }, TypeError, /opts\.p must be a finite number/, names);
    await expectError(torch.tripletMarginLoss, [a, p, n], { p: '2' }, TypeError, /opts\.p must be a finite number/, names);
    await expectError(torch.tripletMarginLoss, [a, p, n], { swap: 1 }, TypeError, /opts\.swap must be a boolean/, names);
    await expectError(torch.tripletMarginLoss, [a, p, n], { eps: NaN }, TypeError, /opts\.eps must be a finite number/, names);
    await expectError(torch.tripletMarginLoss, [a, p, f32(1)], {}, RangeError, /negative has length 1, but anchor has length 2/, names);
    await expectError(torch.tripletMarginLoss, [a, p, n], { weight: f32(1) }, TypeError, /opts\.weight is not an option of torch\.tripletMarginLoss/, names);
    expect(() => torch.tripletMarginLoss.withGrad(a, p, n, { out: { grad: f32(0, 0) } } as never))
      .toThrow(/opts\.out\.grad must be an object keyed by anchor, positive, negative/);
    // Arrays of gradients (positional) are refused by name, not ignored, and nothing is written into them.
    const g = [f32(0, 0), f32(0, 0), f32(0, 0)];
    const bits = () => g.map((x) => Array.from(x).join()).join('|');
    const before = bits();
    expect(() => torch.tripletMarginLoss.withGrad(a, p, n, { out: { grad: g } } as never))
      .toThrow(/opts\.out\.grad must be an object keyed by anchor, positive, negative/);
    expect(() => torch.tripletMarginLoss.backward(a, p, n, { out: g } as never))
      .toThrow(/torch\.tripletMarginLoss: opts\.out must be an object keyed by anchor, positive, negative/);
    expect(() => torch.tripletMarginLoss.withGrad(a, p, n, { out: g } as never))
      .toThrow(/opts\.out must be \{ loss\?, grad\? \} for withGrad/);
    await expect(torch.tripletMarginLoss.withGradAsync(a, p, n, { out: { grad: g } } as never))
      .rejects.toThrow(/opts\.out\.grad must be an object keyed by anchor, positive, negative/);
    expect(() => torch.tripletMarginLoss(a, p, n, [] as never)).toThrow(/torch\.tripletMarginLoss: opts must be an options object/);
    expect(bits()).toBe(before);
  });

  test('keras: cosineSimilarity axis and sampleWeight, hinge types', async () => {
    const t = f32(1, 2, 3, 4, 5, 6), y = f32(1, 0, 0, 1, 1, 1);
    await expectError(keras.cosineSimilarity, [t, y], { shape: [2, 3], axis: 2 }, RangeError,
      /keras\.cosineSimilarity: opts\.axis is 2, out of range for a 2-D shape \[2, 3\]/);
    await expectError(keras.cosineSimilarity, [t, y], { shape: [2, 3], axis: -3 }, RangeError, /opts\.axis is -3/);
    await expectError(keras.cosineSimilarity, [t, y], { axis: 0.5 }, TypeError, /opts\.axis must be an integer/);
    await expectError(keras.cosineSimilarity, [t, y], { shape: [2, 3], axis: 0, sampleWeight: f32(1, 2) }, RangeError,
      /opts\.sampleWeight has length 2, but there are 3 losses/);
    await expectError(keras.hinge, [t, new Float64Array(6)], {}, TypeError, /keras\.hinge: yPred must be a Float32Array/);
    await expectError(keras.categoricalHinge, [t, f32(1, 2)], {}, RangeError, /keras\.categoricalHinge: yTrue has length 6, but yPred has length 2/);
  });
});

// ------------------------------------------------------------------ finite differences

/**
 * Central differences in float64 over the float32 loss (reduction 'sum' with a nonuniform
 * upstream via gradOutput on 'none' would also do; 'sum' keeps it simple), compared with
 * the analytic gradient of every differentiable argument.
 */
function fdCheck(loss: unknown, arrays: (Float32Array | Int32Array)[], wrt: number[], names: string[] | null,
                 opts: Record<string, unknown>, h = 1e-3, tol = { rtol: 2e-2, atol: 2e-3 }): void {
  const fn = loss as AnyLoss;
  const o = { ...opts, reduction: 'sum' };
  const g = fn.backward(...arrays, o) as Float32Array | Record<string, Float32Array>;
  wrt.forEach((argIndex, k) => {
    const x = arrays[argIndex] as Float32Array;
    const analytic = names ? (g as Record<string, Float32Array>)[names[k]] : (g as Float32Array);
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + h; const up = x[i]; const fUp = fn(...arrays, o) as number;
      x[i] = x0 - h; const down = x[i]; const fDown = fn(...arrays, o) as number;
      x[i] = x0;
      const numeric = (fUp - fDown) / (up - down);
      const err = Math.abs(numeric - analytic[i]);
      if (err > tol.atol + tol.rtol * Math.abs(numeric))
        throw new Error(`${fn.lossName} arg ${argIndex}[${i}]: analytic ${analytic[i]}, numeric ${numeric}`);
    }
  });
}

describe('margin gradients vs finite differences', () => {
  test('cosineEmbeddingLoss', () => {
    const t = f32(1, -1, 1, -1);
    fdCheck(torch.cosineEmbeddingLoss, [randomF32(12, 1), randomF32(12, 2), t], [0, 1], ['input1', 'input2'], { margin: -0.5 });
  });
  test('tripletMarginLoss p = 2, 2.5, 3, swap', () => {
    const arrays = () => [randomF32(15, 3), randomF32(15, 4), randomF32(15, 5)];
    const names = ['anchor', 'positive', 'negative'];
    for (const opts of [{ margin: 2 }, { margin: 2, p: 2.5 }, { margin: 2, p: 3 }, { margin: 2, swap: true }])
      fdCheck(torch.tripletMarginLoss, arrays(), [0, 1, 2], names, { ...opts, shape: [3, 5] }, 3e-3);
  });
  test('multiMarginLoss p = 2 with weight', () => {
    fdCheck(torch.multiMarginLoss, [randomF32(12, 6), i32(0, 3, 1)], [0], null, { p: 2, weight: f32(0.5, 1, 2, 1.5) });
  });
  test('multilabelSoftMarginLoss, softMarginLoss, multilabelMarginLoss', () => {
    fdCheck(torch.multilabelSoftMarginLoss, [randomF32(8, 7, 3), f32(1, 0, 0.25, 1, 0, 1, 0, 0)], [0], null,
      { shape: [2, 4], weight: f32(1, 2, 0.5, 1) });
    fdCheck(torch.softMarginLoss, [randomF32(6, 8, 4), f32(1, -1, 1, -1, 0.5, 2)], [0], null, {});
    fdCheck(torch.multilabelMarginLoss, [randomF32(8, 9), i32(1, 3, -1, 0, 2, -1, 0, 0)], [0], null, { shape: [2, 4] });
  });
  test('keras cosineSimilarity (axis -1 and 0), categoricalHinge, squaredHinge', () => {
    fdCheck(keras.cosineSimilarity, [randomF32(12, 10), randomF32(12, 11)], [1], null, { shape: [3, 4] });
    fdCheck(keras.cosineSimilarity, [randomF32(12, 12), randomF32(12, 13)], [1], null, { shape: [3, 4], axis: 0 });
    fdCheck(keras.categoricalHinge, [f32(0, 1, 0, 1, 0, 0), randomF32(6, 14)], [1], null, { shape: [2, 3] });
    fdCheck(keras.squaredHinge, [f32(0, 1, 0, 1, 0, 0), randomF32(6, 15, 2)], [1], null, { shape: [2, 3] });
  });
});

describe('margin: wide rows and thread counts', () => {
  // Rows long enough to be split across threads give the same bits as one thread.
  test('cosine, triplet, multiMargin, cosineSimilarity, multilabelSoftMargin on [2, 50000]: same bits on 1 and 2 threads', () => {
    const fastloss = require('../src') as typeof import('../src');
    const D = 50000;
    const a = randomF32(2 * D, 21), b = randomF32(2 * D, 22), c = randomF32(2 * D, 23);
    const before = fastloss.getNumThreads();
    const run = () => [
      torch.cosineEmbeddingLoss.withGrad(a, b, f32(1, -1), { margin: -1 }),
      torch.tripletMarginLoss.withGrad(a, b, c, { shape: [2, D], margin: 100 }),
      torch.multiMarginLoss.withGrad(a, i32(5, 49999), { shape: [2, D] }),
      keras.cosineSimilarity.withGrad(a, b, { shape: [2, D] }),
      torch.multilabelSoftMarginLoss.withGrad(a, b, { shape: [2, D], weight: c.subarray(0, D) }),
    ];
    try {
      fastloss.setNumThreads(1);
      const one = run();
      fastloss.setNumThreads(2);
      const two = run();
      two.forEach((r, k) => {
        const o = one[k] as { loss: number; grad: Float32Array | Record<string, Float32Array> };
        expect(r.loss).toBe(o.loss);
        const ga = r.grad instanceof Float32Array ? { g: r.grad } : r.grad as unknown as Record<string, Float32Array>;
        const gb = (o.grad instanceof Float32Array ? { g: o.grad } : o.grad) as Record<string, Float32Array>;
        for (const name of Object.keys(ga))
          expect(Buffer.compare(Buffer.from(ga[name].buffer), Buffer.from(gb[name].buffer))).toBe(0);
      });
    } finally {
      fastloss.setNumThreads(before);
    }
  });
});

describe('margin: long rows against float64', () => {
  // A row split across threads still computes the PyTorch formula (float64 reference in JS).
  test('cosineEmbeddingLoss and tripletMarginLoss on [3, 40000]', () => {
    const N = 3, D = 40000;
    const a = randomF32(N * D, 31), b = randomF32(N * D, 32), c = randomF32(N * D, 33);
    const t = f32(1, -1, 1);
    let cosTotal = 0, tripTotal = 0;
    for (let r = 0; r < N; r++) {
      let dot = 0, aa = 0, bb = 0, sp = 0, sn = 0;
      for (let j = r * D; j < (r + 1) * D; j++) {
        dot += a[j] * b[j]; aa += a[j] * a[j]; bb += b[j] * b[j];
        const u = a[j] - b[j] + 1e-6, v = a[j] - c[j] + 1e-6;
        sp += u * u; sn += v * v;
      }
      const cos = dot / Math.sqrt((aa + 1e-12) * (bb + 1e-12));
      cosTotal += t[r] === 1 ? 1 - cos : Math.max(0, cos + 0.5);
      tripTotal += Math.max(0, 1 + Math.sqrt(sp) - Math.sqrt(sn));
    }
    const cos = torch.cosineEmbeddingLoss(a, b, t, { margin: -0.5, reduction: 'sum' });
    const trip = torch.tripletMarginLoss(a, b, c, { shape: [N, D], reduction: 'sum' });
    expect(Math.abs(cos - cosTotal)).toBeLessThan(1e-6 * Math.max(1, Math.abs(cosTotal)));
    expect(Math.abs(trip - tripTotal)).toBeLessThan(1e-5 * Math.max(1, Math.abs(tripTotal)));
  });
});
