// Tensor-like array arguments (issue 15): { data, shape }, onnxruntime-node's Tensor (built by hand
// here: data, dims, type) and scijs ndarray. The shape comes from them; results equal the plain call
// with opts.shape bit for bit; 'none' results and gradients come back shaped, in the kind passed.
import * as fs from 'fs';
import * as path from 'path';
import { keras, torch } from '../src';
import { lossByName, lossNames } from './helpers/losses';

const ndarray = require('ndarray') as (data: Float32Array | Int32Array, shape: number[], stride?: number[], offset?: number) => {
  data: Float32Array; shape: number[]; stride: number[]; offset: number; transpose(...axes: number[]): unknown; lo(...i: number[]): unknown;
};
const { specs } = require('./fuzz/specs') as { specs: Record<string, { shapes: string; build(shape: number[], data: unknown): { arrays: (Float32Array | Int32Array)[] } }> };
const { makeData: fuzzData } = require('./fuzz/data') as { makeData(c: { seed: number; specialRate: number; badLabels: boolean }): unknown };

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'porting', 'tensor-like.json'), 'utf8'));
const f32 = (v: number[]) => Float32Array.from(v);

/** onnxruntime-node's Tensor as far as fastloss sees it: new Tensor(type, data, dims). */
class OrtTensor<D extends Float32Array | Int32Array = Float32Array> {
  readonly size: number;
  constructor(readonly type: string, readonly data: D, readonly dims: readonly number[]) {
    this.size = data.length;
  }
}

type Result = number | Float32Array | { data: Float32Array; shape: number[] } | Record<string, unknown>;

/** Valid data for the specs' builders: the fuzz data without special values or bad labels. */
const makeData = (seed: number) => fuzzData({ seed, specialRate: 0, badLabels: false });

// A shape per kind of the specs (3-D where the loss takes it, so the class axis and rows are not trivial).
const SHAPES: Record<string, number[]> = {
  any: [3, 4, 5], class1: [4, 5, 3], rows2: [4, 5], classLast: [2, 3, 5], sequence: [6, 2, 4], sequence3: [2, 6, 4], embeddings: [6, 4],
};

const dataOf = (r: unknown): unknown => (r && typeof r === 'object' && 'data' in r ? (r as { data: unknown }).data : r);
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
function sameBits(gotValue: unknown, want: unknown): void {
  const got = dataOf(gotValue);
  if (typeof want === 'number') { expect(Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want))).toBe(true); return; }
  if (want instanceof Float32Array) { expect(got).toBeInstanceOf(Float32Array); expect(bits(got as Float32Array)).toEqual(bits(want)); return; }
  for (const k of Object.keys(want as object)) sameBits((got as Record<string, unknown>)[k], (want as Record<string, unknown>)[k]);
}

describe('every loss: the first differentiable argument as { data, shape } gives the shape', () => {
  for (const name of lossNames()) {
    test(name, () => {
      const spec = specs[name];
      const loss = lossByName(name);
      const shape = SHAPES[spec.shapes];
      const { arrays } = spec.build(shape, makeData(7));
      const gradArg = name.startsWith('keras.') ? 1 : 0;
      const withTensor = arrays.map((a, i) => (i === gradArg ? { data: a, shape } : a));
      // forward (default reduction), 'none' and withGrad against the plain call with opts.shape
      sameBits(loss(...withTensor), loss(...arrays, { shape }));
      const noneT = loss(...withTensor, { reduction: 'none' }) as { data: Float32Array; shape: number[] };
      const noneP = loss(...arrays, { reduction: 'none', shape }) as Float32Array;
      sameBits(noneT.data, noneP);
      expect(noneT.shape.reduce((p, d) => p * d, 1)).toBe(noneP.length);
      const wgT = loss.withGrad(...withTensor) as { loss: Result; grad: Result };
      const wgP = loss.withGrad(...arrays, { shape }) as { loss: Result; grad: Result };
      sameBits(wgT.loss, wgP.loss);
      const gT = wgT.grad as Record<string, unknown>;
      if (wgP.grad instanceof Float32Array) {
        expect(gT).toEqual({ data: wgP.grad, shape });  // the gradient of the tensor-like, shaped as it
        sameBits(gT, wgP.grad);
      } else {
        for (const [k, g] of Object.entries(wgP.grad)) sameBits(gT[k], g);
      }
    });
  }
});

describe('every argument tensor-like, per family: shapes as the framework has them', () => {
  const X = (n: number, k = 0) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.7 + k));
  const P = (n: number) => Float32Array.from({ length: n }, (_, i) => (Math.sin(i) + 1.1) / 2.3);
  const T = <D extends Float32Array | Int32Array>(data: D, shape: number[]) => ({ data, shape });

  test('torch element-wise (mseLoss, binaryCrossEntropy): none and gradient of the input shape', () => {
    const r = torch.mseLoss(T(X(24), [2, 3, 4]), T(X(24, 1), [2, 3, 4]), { reduction: 'none' }) as unknown as { shape: number[] };
    expect(r.shape).toEqual([2, 3, 4]);
    const g = torch.binaryCrossEntropy.withGrad(T(P(24), [6, 4]), T(P(24).reverse(), [6, 4]));
    expect((g.grad as unknown as { shape: number[] }).shape).toEqual([6, 4]);
    expect(typeof g.loss).toBe('number');
  });

  test('torch.crossEntropy [N, C, d] with an index target [N, d] (PyTorch reference)', () => {
    const ce = fixture.crossEntropy;
    const input = T(f32(ce.input), ce.shape);
    const target = T(Int32Array.from(ce.target), ce.targetShape);
    expect(torch.crossEntropy(input, target)).toBeCloseTo(ce.mean, 5);
    const none = torch.crossEntropy(input, target, { reduction: 'none' }) as unknown as { data: Float32Array; shape: number[] };
    expect(none.shape).toEqual(ce.noneShape);
    none.data.forEach((v, i) => expect(v).toBeCloseTo(ce.none[i], 5));
    // the index target alone (input plain) fixes nothing: opts.shape still gives [N, C, d]
    expect(torch.crossEntropy(f32(ce.input), target, { shape: ce.shape })).toBeCloseTo(ce.mean, 5);
    expect(() => torch.crossEntropy(input, T(Int32Array.from(ce.target), [3, 4])))
      .toThrow(new RangeError('torch.crossEntropy: target has shape [3, 4]; expected [4, 3] for the shape [4, 5, 3]'));
    // probabilities: the input's shape
    expect(() => torch.crossEntropy(input, T(P(60), [4, 15]))).toThrow(/target has shape \[4, 15\]; expected \[4, 5, 3\]/);
  });

  test('torch.nllLoss, multiMarginLoss, cosineEmbeddingLoss: per-row targets [N]', () => {
    const lp = T(X(20), [4, 5]);
    expect(torch.nllLoss(lp, T(Int32Array.of(0, 1, 2, 3), [4]))).toBeCloseTo(torch.nllLoss(X(20), Int32Array.of(0, 1, 2, 3)), 6);
    expect(() => torch.nllLoss(lp, T(Int32Array.of(0, 1, 2, 3), [2, 2]))).toThrow(RangeError);
    const mm = torch.multiMarginLoss(lp, T(Int32Array.of(0, 1, 2, 3), [4]), { reduction: 'none' }) as unknown as { shape: number[] };
    expect(mm.shape).toEqual([4]);
    const ce = torch.cosineEmbeddingLoss.withGrad(lp, T(X(20, 2), [4, 5]), T(f32([1, -1, 1, -1]), [4]), { reduction: 'none' });
    expect((ce.loss as unknown as { shape: number[] }).shape).toEqual([4]);
    expect((ce.grad.input2 as unknown as { shape: number[] }).shape).toEqual([4, 5]);
    expect(() => torch.cosineEmbeddingLoss(lp, T(X(20, 2), [4, 5]), T(f32([1, -1, 1, -1]), [4, 1]))).not.toThrow();
    expect(() => torch.cosineEmbeddingLoss(lp, T(X(20, 2), [5, 4]), f32([1, -1, 1, -1])))
      .toThrow(new RangeError('torch.cosineEmbeddingLoss: input2 has shape [5, 4]; expected [4, 5] for the shape [4, 5]'));
  });

  test('torch.gaussianNllLoss: var of the input shape, [N] or [N, 1]', () => {
    const x = T(X(12), [3, 4]);
    const y = T(X(12, 1), [3, 4]);
    for (const [v, s] of [[P(12), [3, 4]], [P(3), [3]], [P(3), [3, 1]]] as [Float32Array, number[]][]) {
      const r = torch.gaussianNllLoss.withGrad(x, y, T(v, s));
      expect((r.grad.var as unknown as { shape: number[] }).shape).toEqual(s);
    }
    expect(() => torch.gaussianNllLoss(x, y, T(P(4), [4]))).toThrow(RangeError);
  });

  test('torch.tripletMarginLoss: the porting case gives PyTorch\'s number without opts.shape', () => {
    const t = fixture.triplet;
    const [a, p, n] = [t.anchor, t.positive, t.negative].map((v: number[]) => T(f32(v), t.shape));
    expect(torch.tripletMarginLoss(a, p, n, { margin: 0.5, swap: true })).toBeCloseTo(t.mean, 5);
    const none = torch.tripletMarginLoss(a, p, n, { margin: 0.5, swap: true, reduction: 'none' }) as unknown as { data: Float32Array; shape: number[] };
    expect(none.shape).toEqual(t.noneShape);
    none.data.forEach((v, i) => expect(v).toBeCloseTo(t.none[i], 5));
    const g = torch.tripletMarginLoss.withGrad(a, p, n, { margin: 0.5, swap: true }).grad.anchor as unknown as { data: Float32Array; shape: number[] };
    expect(g.shape).toEqual(t.shape);
    g.data.forEach((v, i) => expect(v).toBeCloseTo(t.gradAnchor[i], 5));
    // the flat arrays alone read one row of 128 (the silent 0 of the issue); opts.shape agrees or is a RangeError
    expect(torch.tripletMarginLoss(a, p, n, { margin: 0.5, swap: true, shape: [8, 16] })).toBeCloseTo(t.mean, 5);
    expect(() => torch.tripletMarginLoss(a, p, n, { shape: [16, 8] }))
      .toThrow(new RangeError('torch.tripletMarginLoss: opts.shape [16, 8] disagrees with the shape [8, 16] of anchor'));
    expect(() => torch.tripletMarginLoss(a, p, T(f32(t.negative), [16, 8])))
      .toThrow(new RangeError('torch.tripletMarginLoss: negative has shape [16, 8]; expected [8, 16] for the shape [8, 16]'));
  });

  test('torch.ctcLoss: logProbs [T, N, C], targets [N, S], lengths [N]', () => {
    const lp = new Float32Array(6 * 2 * 4).fill(Math.log(0.25));
    const args = [T(lp, [6, 2, 4]), T(Int32Array.of(1, 2, 3, 1), [2, 2]), T(Int32Array.of(6, 5), [2]), T(Int32Array.of(2, 1), [2])];
    expect(torch.ctcLoss(...args as [never, never, never, never]))
      .toBe(torch.ctcLoss(lp, Int32Array.of(1, 2, 3, 1), Int32Array.of(6, 5), Int32Array.of(2, 1), { shape: [6, 2, 4] }));
    const none = torch.ctcLoss(...args as [never, never, never, never], { reduction: 'none' }) as unknown as { shape: number[] };
    expect(none.shape).toEqual([2]);
    expect(() => torch.ctcLoss(args[0] as never, args[1] as never, T(Int32Array.of(6, 5), [1, 2]) as never, args[3] as never)).toThrow(RangeError);
  });

  test('keras per-sample losses: yTrue of yPred\'s shape, none of shape[:-1]', () => {
    const yt = T(P(24), [2, 3, 4]);
    const yp = T(P(24).reverse(), [2, 3, 4]);
    const none = keras.meanSquaredError(yt, yp, { reduction: 'none' }) as unknown as { shape: number[] };
    expect(none.shape).toEqual([2, 3]);
    expect(keras.categoricalCrossentropy(yt, yp)).toBe(keras.categoricalCrossentropy(P(24), P(24).reverse(), { shape: [2, 3, 4] }));
    expect(() => keras.binaryCrossentropy(T(P(24), [6, 4]), yp)).toThrow(/yTrue has shape \[6, 4\]; expected \[2, 3, 4\]/);
    // the shape from yTrue when yPred is a plain Float32Array
    expect(keras.meanSquaredError(yt, P(24).reverse())).toBe(keras.meanSquaredError(P(24), P(24).reverse(), { shape: [2, 3, 4] }));
  });

  test('keras integer labels: yTrue [N] or [N, 1] for yPred [N, C]; circle; ctc', () => {
    const yp = T(P(20), [4, 5]);
    const want = keras.sparseCategoricalCrossentropy(Int32Array.of(0, 4, 2, 1), P(20));
    expect(keras.sparseCategoricalCrossentropy(T(Int32Array.of(0, 4, 2, 1), [4]), yp)).toBe(want);
    expect(keras.sparseCategoricalCrossentropy(T(Int32Array.of(0, 4, 2, 1), [4, 1]), yp)).toBe(want);
    expect(() => keras.sparseCategoricalCrossentropy(T(Int32Array.of(0, 4, 2, 1), [2, 2]), yp)).toThrow(RangeError);
    expect(keras.categoricalGeneralizedCrossEntropy(T(Int32Array.of(0, 4, 2, 1), [4]), yp)).toBeCloseTo(
      keras.categoricalGeneralizedCrossEntropy(Int32Array.of(0, 4, 2, 1), P(20)), 7);
    const emb = T(X(24), [6, 4]);
    expect((keras.circle(T(Int32Array.of(0, 1, 0, 1, 2, 2), [6]), emb, { reduction: 'none' }) as unknown as { shape: number[] }).shape).toEqual([6]);
    const yPred = T(X(2 * 6 * 4), [2, 6, 4]);
    const none = keras.ctc(T(Int32Array.of(1, 2, 3, 0), [2, 2]), yPred, { reduction: 'none' }) as unknown as { shape: number[] };
    expect(none.shape).toEqual([2]);
    expect(() => keras.ctc(T(Int32Array.of(1, 2, 3, 0), [4]), yPred)).toThrow(RangeError);
  });

  test('keras axis losses: none without the reduced axes (categoricalFocalCrossentropy, dice)', () => {
    const yt = T(P(24), [2, 3, 4]);
    const yp = T(P(24).reverse(), [2, 3, 4]);
    expect((keras.categoricalFocalCrossentropy(yt, yp, { axis: 1, reduction: 'none' }) as unknown as { shape: number[] }).shape).toEqual([2, 4]);
    expect((keras.dice(yt, yp, { axis: [1, 2], reduction: 'none' }) as unknown as { shape: number[] }).shape).toEqual([2]);
    expect((keras.tversky(yt, yp, { reduction: 'none' }) as unknown as { shape: number[] }).shape).toEqual([]);
  });
});

describe('kinds of tensor-like', () => {
  const a = Float32Array.from({ length: 12 }, (_, i) => i / 7);
  const b = Float32Array.from({ length: 12 }, (_, i) => Math.cos(i));

  test('onnxruntime Tensor: dims give the shape; results are Tensors of the same class', () => {
    const x = new OrtTensor('float32', a, [3, 4]);
    const y = new OrtTensor('float32', b, [3, 4]);
    const none = torch.l1Loss(x, y, { reduction: 'none' }) as unknown as OrtTensor<Float32Array>;
    expect(none).toBeInstanceOf(OrtTensor);
    expect(none.type).toBe('float32');
    expect(none.dims).toEqual([3, 4]);
    sameBits(none.data, torch.l1Loss(a, b, { reduction: 'none' }));
    expect(torch.l1Loss.backward(x, y)).toBeInstanceOf(OrtTensor);
    const labels = new OrtTensor('int32', Int32Array.of(1, 0, 3), [3]);
    expect(torch.crossEntropy(x, labels)).toBe(torch.crossEntropy(a, Int32Array.of(1, 0, 3)));
    expect(() => torch.crossEntropy(x, new OrtTensor('int64', new BigInt64Array(3) as never, [3])))
      .toThrow(new TypeError("torch.crossEntropy: target is an onnxruntime Tensor of type 'int64'; fastloss reads 'float32' (and 'int32' class indices)"));
    expect(() => torch.l1Loss(new OrtTensor('float32', a, [5, 4]), y))
      .toThrow(new RangeError('torch.l1Loss: input.dims [5, 4] holds 20 elements, but input.data has length 12'));
  });

  test('a Tensor class that cannot be constructed as (type, data, dims) gives { data, shape }', () => {
    class Frozen { readonly type = 'float32'; constructor(readonly data: Float32Array, readonly dims: number[]) {} }
    const r = torch.l1Loss(new Frozen(a, [3, 4]), b, { reduction: 'none' }) as unknown as { data: Float32Array; shape: number[] };
    expect(r).not.toBeInstanceOf(Frozen);
    expect(r.shape).toEqual([3, 4]);
  });

  test('scijs ndarray: contiguous views used in place (offset: a subarray), others a TypeError', () => {
    const x = ndarray(a, [3, 4]);
    sameBits(torch.mseLoss(x, ndarray(b, [3, 4])), torch.mseLoss(a, b));
    const rows = x.lo(1, 0);  // rows 1..2: offset 4, contiguous
    expect(torch.mseLoss(rows as never, ndarray(b.subarray(4), [2, 4]))).toBe(torch.mseLoss(a.subarray(4), b.subarray(4)));
    const g = torch.mseLoss.backward(rows as never, ndarray(b.subarray(4), [2, 4])) as unknown as { data: Float32Array; shape: number[] };
    expect(g.shape).toEqual([2, 4]);
    expect(() => torch.mseLoss(x.transpose(1, 0) as never, b))
      .toThrow(new TypeError('torch.mseLoss: input is an ndarray with shape [4, 3] and stride [1, 4], not contiguous row-major (C order); pass a contiguous copy'));
    expect(() => torch.mseLoss(ndarray(a, [4, 4]) as never, b)).toThrow(RangeError);
  });

  test('bad tensor-likes: a TypeError or RangeError naming the function and argument', () => {
    expect(() => torch.mseLoss({ data: a } as never, b)).toThrow(/torch\.mseLoss: input is an object with data but no shape/);
    expect(() => torch.mseLoss({ data: [1, 2], shape: [2] } as never, b)).toThrow(/torch\.mseLoss: input\.data must be a Float32Array, got a plain Array/);
    expect(() => torch.mseLoss({ data: a, shape: [3, -4] } as never, b)).toThrow(TypeError);
    expect(() => torch.mseLoss({ data: a, shape: [3, 5] }, b)).toThrow(/input\.shape \[3, 5\] holds 15 elements, but input\.data has length 12/);
    expect(() => torch.mseLoss({ data: Int32Array.from(a), shape: [3, 4] } as never, b)).toThrow(/input\.data must be a Float32Array, got a Int32Array/);
  });

  test('async and out: tensor-like inputs, a Float32Array out, shaped results', async () => {
    const x = { data: a, shape: [3, 4] };
    const out = new Float32Array(12);
    const r = await torch.mseLoss.async(x, { data: b, shape: [3, 4] }, { reduction: 'none', out }) as unknown as { data: Float32Array; shape: number[] };
    expect(r.data).toBe(out);
    expect(r.shape).toEqual([3, 4]);
  });
});
