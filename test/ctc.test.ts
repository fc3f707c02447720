// torch.ctcLoss and keras.ctc: fixtures (PyTorch 1.13 autograd, scripts/fixtures_ctc.py), finite
// differences, the argument checks, and the conventions the fixtures cannot show.
import { getNumThreads, keras, setNumThreads, torch } from '../src';
import { expectThrowsWritingNothing } from './helpers/errors';
import { expectFiniteDifferences } from './helpers/gradcheck';
import { describeParity } from './helpers/parity';
import { seededRandom, uniformF32 } from './helpers/random';

describeParity('sequence');

/** n values uniform in [-scale, scale). */
const logits = (n: number, seed: number, scale = 2) => uniformF32(n, seed, -scale, scale);
/** Log-softmax over the last axis of rows of C, in float64, rounded to float32. */
function logSoftmax(z: Float32Array, C: number): Float32Array {
  const out = new Float32Array(z.length);
  for (let r = 0; r < z.length; r += C) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, z[r + c]);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += Math.exp(z[r + c] - m);
    for (let c = 0; c < C; c++) out[r + c] = z[r + c] - m - Math.log(sum);
  }
  return out;
}
const i32 = (...v: number[]) => Int32Array.from(v);

describe('finite differences', () => {
  // PyTorch's ctc_loss gradient is that of the logits under a log-softmax (its CPU backward adds
  // exp(logProbs)): checked against differences of ctcLoss(logSoftmax(z)).
  const T = 7, N = 3, C = 4;
  const targets = i32(1, 2, 2, 3, 1, 0, 2, 0, 0);
  const args = [targets, i32(7, 6, 4), i32(3, 2, 1)];
  type Rest = [Int32Array, Int32Array, Int32Array, object];
  const viaLogSoftmax = Object.assign(
    (...a: unknown[]) => torch.ctcLoss(logSoftmax(a[0] as Float32Array, C), ...(a.slice(1) as Rest)),
    {
      backward: (...a: unknown[]) => torch.ctcLoss.backward(logSoftmax(a[0] as Float32Array, C), ...(a.slice(1) as Rest)),
      lossName: 'torch.ctcLoss',
    },
  );
  test.each(['mean', 'sum'])('torch.ctcLoss, %s, blank 0 and blank 3', (reduction) => {
    expectFiniteDifferences(viaLogSoftmax, [logits(T * N * C, 11), ...args] as Float32Array[],
      { shape: [T, N, C], reduction }, 0);
    const labelsBelow3 = i32(1, 2, 2, 0, 1, 0, 2, 0, 0);
    expectFiniteDifferences(viaLogSoftmax, [logits(T * N * C, 12), labelsBelow3, args[1], args[2]] as Float32Array[],
      { shape: [T, N, C], reduction, blank: 3 }, 0);
  });

  test.each(['sum_over_batch_size', 'sum'])('keras.ctc, %s, with sample weights', (reduction) => {
    const yTrue = i32(1, 3, 3, 2, 0, 0, 3, 1, 0);
    expectFiniteDifferences(keras.ctc as never, [yTrue, logits(N * T * C, 13)] as unknown as Float32Array[],
      { shape: [N, T, C], reduction, sampleWeight: Float32Array.of(0.5, 2, 1) }, 1);
  });
});

describe('arguments', () => {
  const T = 5, N = 2, C = 4;
  const lp = logSoftmax(logits(T * N * C, 3), C);
  const opts = { shape: [T, N, C] };

  test('lengths given as numbers equal the same Int32Array', () => {
    const targets = i32(1, 2, 3, 1);
    const a = torch.ctcLoss.withGrad(lp, targets, 5, 2, opts);
    const b = torch.ctcLoss.withGrad(lp, targets, i32(5, 5), i32(2, 2), opts);
    expect(a.loss).toBe(b.loss);
    expect(a.grad).toEqual(b.grad);
    expect(() => torch.ctcLoss(lp, targets, -1, 2, opts)).toThrow(/^torch\.ctcLoss: inputLengths must be an Int32Array or an integer from 0 to 2\^31 - 1, got -1$/);
    expect(() => torch.ctcLoss(lp, targets, i32(5), 2, opts)).toThrow(/^torch\.ctcLoss: inputLengths has length 1; expected N = 2$/);
  });

  test('an input length of 0: 0 for an empty target, Infinity otherwise, a zero gradient (PyTorch 2.x)', () => {
    // p(empty labels | no steps) = 1 and p(labels | no steps) = 0 by the definition of CTC; PyTorch
    // 1.13 reads uninitialized memory here, 2.x's ctc_loss_cpu_template returns these.
    const r = torch.ctcLoss.withGrad(lp, i32(1, 2, 3, 1), i32(0, 0), i32(0, 2), { ...opts, reduction: 'none' });
    expect(Array.from(r.loss)).toEqual([0, Infinity]);
    expect(r.grad.every((v) => v === 0)).toBe(true);
  });

  // Every call form refuses, and leaves caller buffers as they were.
  function expectRefused(call: (out: Float32Array) => unknown, kind: typeof RangeError | typeof TypeError, message: RegExp): void {
    const out = new Float32Array(T * N * C);
    expectThrowsWritingNothing(() => call(out), kind, message, out);
  }

  test.each([
    ['an input length above T', i32(1, 2, 3, 1), i32(5, 6), i32(2, 2), /^torch\.ctcLoss: inputLengths\[1\] is 6; expected 0 to T = 5$/],
    ['one input length above T, given as a number', i32(1, 2, 3, 1), 6, i32(2, 2), /^torch\.ctcLoss: inputLengths\[0\] is 6; expected 0 to T = 5$/],
    ['a negative target length', i32(1, 2, 3, 1), i32(5, 5), i32(-1, 2), /^torch\.ctcLoss: targetLengths\[0\] = -1 is negative; targetLengths must be >= 0$/],
    ['a target length above the padded width', i32(1, 2, 3, 1, 2, 3), i32(5, 5), i32(4, 1),
      /^torch\.ctcLoss: targetLengths\[0\] is 4, more than the padded target width S = 3/],
    ['targets of neither layout', i32(1, 2, 3), i32(5, 5), i32(2, 2),
      /^torch\.ctcLoss: targets has length 3: neither the sum of targetLengths \(4, concatenated\) nor a multiple of N = 2/],
    ['a label equal to the blank', i32(1, 2, 0, 1), i32(5, 5), i32(2, 2),
      /^torch\.ctcLoss: targets\[2\] is 0; expected a class in \[0, 4\) other than the blank \(0\)$/],
    ['a label out of range', i32(1, 2, 3, 4), i32(5, 5), i32(2, 2),
      /^torch\.ctcLoss: targets\[3\] is 4; expected a class in \[0, 4\) other than the blank \(0\)$/],
  ])('torch.ctcLoss: %s is a RangeError naming the argument and index', (_what, targets, il, tl, message) => {
    expectRefused((out) => torch.ctcLoss.backward(lp, targets, il, tl, { ...opts, out }), RangeError, message);
    expectRefused((out) => torch.ctcLoss(lp, targets, il, tl, { ...opts, reduction: 'none', out: out.subarray(0, N) }), RangeError, message);
  });

  test('torch.ctcLoss: shape and blank', () => {
    const targets = i32(1, 2, 3, 1);
    expectRefused(() => torch.ctcLoss(lp, targets, 5, 2), TypeError, /^torch\.ctcLoss: opts\.shape is required: \[T, N, C\] or \[T, C\]/);
    expectRefused(() => torch.ctcLoss(lp, targets, 5, 2, { shape: [T * N * C] }), RangeError, /^torch\.ctcLoss: opts\.shape must be \[T, N, C\] or \[T, C\]/);
    expectRefused((out) => torch.ctcLoss.backward(lp, targets, 5, 2, { ...opts, blank: 4, out }), RangeError,
      /^torch\.ctcLoss: opts\.blank is 4; expected an integer in \[0, C = 4\)$/);
    expectRefused(() => torch.ctcLoss(lp, targets, 5, 2, { ...opts, blank: 1.5 }), TypeError, /^torch\.ctcLoss: opts\.blank must be an integer/);
  });

  test.each([
    ['a 0 before a label', i32(1, 0, 2, 0, 0, 0), /^keras\.ctc: yTrue\[2\] is 2 after a 0 in its row; 0 \(the blank\) may only pad the end of a row$/],
    ['a label out of range', i32(1, 2, 0, 4, 0, 0), /^keras\.ctc: yTrue\[3\] is 4; expected a label in \[1, 4\) or 0/],
    ['a negative label', i32(1, 2, 0, -1, 0, 0), /^keras\.ctc: yTrue\[3\] is -1; expected a label in \[1, 4\) or 0/],
    ['labels that are not [N, S]', i32(1, 2, 0), /^keras\.ctc: yTrue has length 3; expected \[N, S\] labels with N = 2$/],
  ])('keras.ctc: %s is a RangeError', (_what, yTrue, message) => {
    const yPred = logits(N * T * C, 4);
    expectRefused((out) => keras.ctc.backward(yTrue, yPred, { shape: [N, T, C], out }), RangeError, message);
  });

  test('keras.ctc: no classes is a RangeError (class 0 is the blank)', () => {
    expect(() => keras.ctc(i32(0, 0), new Float32Array(0), { shape: [N, T, 0] }))
      .toThrow(/^keras\.ctc: yPred has no classes \(C = 0\); class 0 is the blank$/);
  });
});

describe('threads', () => {
  test('1, 2 and 3 threads give the same bits (a batch split across threads)', () => {
    const T = 120, N = 9, C = 40, S = 30;
    const lp = logSoftmax(logits(T * N * C, 21, 3), C);
    const r = seededRandom(22);
    const targets = Int32Array.from({ length: N * S }, () => 1 + Math.floor(r() * (C - 1)));
    const il = Int32Array.from({ length: N }, (_, b) => T - 5 * b);
    const tl = Int32Array.from({ length: N }, (_, b) => S - 2 * b);
    const before = getNumThreads();
    const results = [1, 2, 3].map((k) => {
      setNumThreads(k);
      return {
        torch: torch.ctcLoss.withGrad(lp, targets, il, tl, { shape: [T, N, C], reduction: 'none' }),
        keras: keras.ctc.withGrad(targets, lp, { shape: [N, T, C] }),
      };
    });
    setNumThreads(before);
    const bits = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
    for (const r of results.slice(1)) {
      expect(bits(r.torch.loss).equals(bits(results[0].torch.loss))).toBe(true);
      expect(bits(r.torch.grad).equals(bits(results[0].torch.grad))).toBe(true);
      expect(r.keras.loss).toBe(results[0].keras.loss);
      expect(bits(r.keras.grad).equals(bits(results[0].keras.grad))).toBe(true);
    }
  });
});
