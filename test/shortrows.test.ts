// Short rows (issue 11): softmax cross-entropy over C = 2 .. 16 classes, Keras categorical and
// categorical focal crossentropy on rows of 1 .. 16 take block paths vectorized along the rows
// (binding/kernels/xent.h shortBlock / shortBlockFixed, keras_categorical.cpp
// KerasCategoricalShort, focal.cpp focalShortBlock; gceRows' vectorized ending). Fixture
// parity on every ISA level (PyTorch 1.13 autograd / Keras formulas in float64,
// scripts/fixtures_shortrows.py): more than one block of rows, non-finite logits, ignored
// targets, weights, smoothing, upstream gradients (test/fixtures-shortrows/); and thread-count independence.
import * as fs from 'fs';
import * as path from 'path';
import { getNumThreads, keras, setNumThreads, torch } from '../src';
import { Case, describeParityCases } from './helpers/parity';
import { uniformF32 } from './helpers/random';

// test/fixtures-shortrows/<loss>.json: outside test/fixtures/, which keeps one contract file per loss.
const SHORT_DIR = path.join(__dirname, 'fixtures-shortrows');
const shortCases: Case[] = fs.readdirSync(SHORT_DIR).filter((f) => f.endsWith('.json')).sort()
  .flatMap((f) => (JSON.parse(fs.readFileSync(path.join(SHORT_DIR, f), 'utf8')) as { cases: Case[] }).cases);

test('the short-row fixtures cover every short-row path', () => {
  const losses = new Set(shortCases.map((c) => c.loss));
  expect([...losses].sort()).toEqual(['keras.binaryCrossentropy', 'keras.categoricalCrossentropy',
    'keras.categoricalFocalCrossentropy', 'keras.categoricalGeneralizedCrossEntropy', 'keras.dice',
    'keras.meanSquaredError', 'keras.sparseCategoricalCrossentropy', 'keras.tversky', 'torch.crossEntropy']);
  for (const C of [2, 3, 4, 5, 10, 16]) expect(shortCases.some((c) => c.loss === 'torch.crossEntropy' && c.shape?.[1] === C)).toBe(true);
});

describeParityCases('shortrows', shortCases);

describe('short rows: the same bits for any thread count', () => {
  test('keras rows of one element: weighted, none and sum, loss and gradient', () => {
    const before = getNumThreads();
    const N = 50000;
    const p = uniformF32(N, 41, 0.01, 0.99);
    const t = uniformF32(N, 42, 0, 1);
    const w = uniformF32(N, 43, 0, 2);
    const up = uniformF32(N, 44, -1, 1);
    for (const loss of [keras.binaryCrossentropy, keras.meanSquaredError]) {
      const runs = [1, 2].map((threads) => {
        setNumThreads(threads);
        return [loss.withGrad(t, p, { shape: [N, 1], sampleWeight: w, reduction: 'sum' }),
          loss.withGrad(t, p, { shape: [N, 1], sampleWeight: w, reduction: 'none', gradOutput: up })];
      });
      setNumThreads(before);
      expect(Object.is(runs[0][0].loss, runs[1][0].loss)).toBe(true);
      for (const k of [0, 1]) expect(Buffer.from(runs[1][k].grad.buffer).equals(Buffer.from(runs[0][k].grad.buffer))).toBe(true);
      expect(Buffer.from((runs[1][1].loss as Float32Array).buffer).equals(Buffer.from((runs[0][1].loss as Float32Array).buffer))).toBe(true);
    }
  });

  const before = getNumThreads();
  afterAll(() => setNumThreads(before));
  const N = 20000;  // several row chunks of the engine
  /** The call on 1 and on 2 threads: the same loss and gradient bits, and a finite loss. */
  function sameBitsOnOneAndTwoThreads(run: () => { loss: number; grad: Float32Array }): void {
    setNumThreads(1);
    const one = run();
    setNumThreads(2);
    const two = run();
    expect(Object.is(one.loss, two.loss)).toBe(true);
    expect(Buffer.from(two.grad.buffer).equals(Buffer.from(one.grad.buffer))).toBe(true);
    expect(Number.isFinite(one.loss)).toBe(true);
  }
  for (const C of [2, 3, 4, 7, 16]) {
    test(`torch.crossEntropy C = ${C}, loss and gradient`, () => {
      const x = uniformF32(N * C, 11 + C, -4, 4);
      const y = Int32Array.from(uniformF32(N, 12 + C, 0, C), (v) => Math.floor(v));
      y[5] = -100;
      const run = () => torch.crossEntropy.withGrad(x, y, { shape: [N, C], labelSmoothing: 0.1 });
      sameBitsOnOneAndTwoThreads(run);
    });
    test(`keras.categoricalFocalCrossentropy rows of ${C} from logits, loss and gradient`, () => {
      const x = uniformF32(N * C, 31 + C, -3, 3);
      const t = uniformF32(N * C, 32 + C, 0, 1);
      const run = () => keras.categoricalFocalCrossentropy.withGrad(t, x, { shape: [N, C], fromLogits: true });
      sameBitsOnOneAndTwoThreads(run);
    });
    test(`keras.categoricalCrossentropy rows of ${C}, loss and gradient`, () => {
      const p = uniformF32(N * C, 21 + C, 0.01, 1);
      const t = uniformF32(N * C, 22 + C, 0, 1);
      const run = () => keras.categoricalCrossentropy.withGrad(t, p, { shape: [N, C] });
      sameBitsOnOneAndTwoThreads(run);
    });
  }
});

// PyTorch 1.13 (F.cross_entropy(x, t, ignore_index=-100).backward()): an ignored row's gradient is
// 0 * softmax, NaN when its logits hold a NaN or +inf, 0 with one -inf. The fixtures check this on the
// short, long and strided paths; rows of more than 2 * 8192 classes take the split path (xent.h splitRows).
test('torch.crossEntropy split rows (C = 16400): an ignored row with a NaN or +inf logit has a NaN gradient', () => {
  const N = 4, C = 16400;
  const x = uniformF32(N * C, 51, -2, 2);
  x[0 * C + 5] = NaN;
  x[1 * C + 9] = -Infinity;
  x[3 * C + C - 1] = Infinity;
  const target = new Int32Array([-100, -100, 7, -100]);
  const r = torch.crossEntropy.withGrad(x, target, { shape: [N, C] });
  expect(Number.isFinite(r.loss)).toBe(true);
  const row = (n: number) => Array.from(r.grad.subarray(n * C, (n + 1) * C));
  expect(row(0).every((v) => Number.isNaN(v))).toBe(true);
  expect(row(1).every((v) => Object.is(v, 0))).toBe(true);
  expect(row(2).every((v) => Number.isFinite(v))).toBe(true);
  expect(row(3).every((v) => Number.isNaN(v))).toBe(true);
});
