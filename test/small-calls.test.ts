// The facade's fast path for calls without options (issue 11, small calls): a call whose arguments
// have the lengths and element types of the last such call reuses its checked plan (and the native
// layer's checked call record, runPlan). Property: for every loss and mode, every call gives the
// same bits (or the same error) as the full path (the same call with an empty options object),
// whatever calls came before it.
import { setFastPath } from '../src/core/define';
import { native } from '../src/core/native';
import { lossByName, lossNames } from './helpers/losses';

// Counts the calls that took the fast path (the native runPlan).
let fastCalls = 0;
const runPlan = native.runPlan;
beforeAll(() => { native.runPlan = (...a) => { fastCalls++; return runPlan(...a); }; });
afterAll(() => { native.runPlan = runPlan; });

const { specs } = require('./fuzz/specs') as { specs: Record<string, { shapes: string; build(shape: number[], data: unknown): { arrays: (Float32Array | Int32Array)[] } }> };
const { makeData: fuzzData } = require('./fuzz/data') as { makeData(c: { seed: number; specialRate: number; badLabels: boolean }): unknown };

/** Valid data for the specs' builders: the fuzz data without special values or bad labels. */
const makeData = (seed: number) => fuzzData({ seed, specialRate: 0, badLabels: false });

// Shapes whose default (no opts.shape) reading is valid for most losses, and ones where it is not.
const SHAPES: Record<string, number[][]> = {
  any: [[16], [7], [2, 8]], class1: [[4, 4], [3, 5], [6]], rows2: [[8], [2, 4], [5]], classLast: [[4, 4], [3, 6]],
  sequence: [[5, 2, 3], [4, 3]], sequence3: [[2, 5, 3]], embeddings: [[4, 3], [6, 2]],
};

const bits = (v: unknown): unknown => {
  if (v instanceof Float32Array) return Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length));
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : Object.is(v, -0) ? '-0' : v;
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, bits(x)]));
  return v;
};
function outcome(f: () => unknown): unknown {
  try {
    return { ok: bits(f()) };
  } catch (e) {
    return { error: `${(e as Error).name}: ${(e as Error).message}` };
  }
}

const MODES = ['forward', 'withGrad', 'backward'] as const;

describe('fast path = full path, bit for bit (or the same error), every loss', () => {
  for (const name of lossNames()) {
    test(name, () => {
      const spec = specs[name];
      const loss = lossByName(name);
      const fn = (mode: typeof MODES[number]) => (mode === 'forward' ? loss : loss[mode].bind(loss)) as (...a: unknown[]) => unknown;
      const cases = SHAPES[spec.shapes].map((shape, k) => spec.build(shape, makeData(11 + k)).arrays);
      // the full path: the same call with the fast path off
      const full = (f: () => unknown) => { setFastPath(false); try { return outcome(f); } finally { setFastPath(true); } };
      // 'shape': the case's own opts.shape (recorded with its entries), fresh each call; 'out': new
      // caller outputs each call (forward: with reduction 'none'), as long as the full path's results
      const optionSets: (Record<string, unknown> | 'shape' | 'out' | undefined)[] = [undefined, {}, { reduction: 'sum' }, { reduction: 'none' }, { threads: 1 }, 'shape', 'out'];
      const like = (v: unknown): unknown => (v instanceof Float32Array ? new Float32Array(v.length).fill(7)
        : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, like(x)])) : undefined);
      const outOpts = (mode: typeof MODES[number], args: unknown[]): Record<string, unknown> => {
        setFastPath(false);
        try {
          if (mode === 'forward') return { reduction: 'none', out: like(fn(mode)(...args, { reduction: 'none' })) };
          const r = fn(mode)(...args) as { grad: unknown };
          return { out: mode === 'backward' ? like(r) : { grad: like(r.grad) } };
        } catch {
          return {};
        } finally {
          setFastPath(true);
        }
      };
      let checked = 0;
      let succeeded = 0;
      const before = fastCalls;
      // each case three times (miss, record, reuse), then the cases interleaved (the record changes)
      const order = [0, 0, 0, 1, 1, 0, 1, cases.length - 1, 0].filter((k) => k < cases.length);
      for (const mode of MODES) {
        for (const opts of optionSets) {
          for (const k of order) {
            const optsOf = () => (opts === 'shape' ? { shape: [...SHAPES[spec.shapes][k]] } : opts === 'out' ? outOpts(mode, cases[k]) : opts);
            const argsOf = () => (opts === undefined ? cases[k] : [...cases[k], optsOf()]);
            const got = outcome(() => fn(mode)(...argsOf()));
            expect(got).toEqual(full(() => fn(mode)(...argsOf())));
            checked++;
            if ('ok' in (got as object)) succeeded++;
          }
        }
      }
      expect(checked).toBe(MODES.length * optionSets.length * order.length);
      // every mode repeats a case at least twice in a row: each success after the first is a fast call
      if (succeeded > 0) expect(fastCalls - before).toBeGreaterThan(0);
    });
  }
});

describe('a recorded call does not outlive what it checked', () => {
  const torch = require('../src').torch;
  const x = Float32Array.from({ length: 8 }, (_, i) => i / 10);
  const y = Float32Array.from({ length: 8 }, (_, i) => 1 - i / 10);

  test('another length, another element type, a subclass, a detached buffer: checked as usual', () => {
    torch.mseLoss(x, y);
    const before = fastCalls;
    torch.mseLoss(x, y);  // recorded
    torch.mseLoss(x, y);
    expect(fastCalls - before).toBe(2);
    expect(() => torch.mseLoss(x, y.subarray(1))).toThrow(new RangeError('torch.mseLoss: target has length 7, but input has length 8'));
    expect(() => torch.mseLoss(x, Int32Array.from(y))).toThrow(/torch\.mseLoss: target must be a Float32Array, got a Int32Array/);
    class Lying extends Float32Array { get length() { return 3; } }
    expect(torch.mseLoss(new Lying(x), y)).toBe(torch.mseLoss(x, y, {}));
    const buffer = new ArrayBuffer(32);
    const detached = new Float32Array(buffer);
    structuredClone(buffer, { transfer: [buffer] });
    expect(() => torch.mseLoss(detached, y)).toThrow(/input is backed by a detached ArrayBuffer|input has length 0/);
    expect(torch.mseLoss(x, y)).toBe(torch.mseLoss(x, y, {}));
  });

  test('options of plain values are recorded too; each option is still read once per call', () => {
    let reads = 0;
    const opts = { get reduction() { reads++; return 'sum'; }, threads: 1 };
    const want = torch.mseLoss(x, y, { reduction: 'sum', threads: 1 });
    const before = fastCalls;
    for (let k = 0; k < 3; k++) expect(torch.mseLoss(x, y, opts)).toBe(want);
    expect(reads).toBe(3);
    expect(fastCalls - before).toBeGreaterThanOrEqual(2);
    // opts.shape: recorded by its entries, read once per call; another shape or a lying array: the full path
    let shapeReads = 0;
    const shaped = { get shape() { shapeReads++; return [2, 4]; }, reduction: 'sum' };
    const wantShaped = torch.mseLoss(x, y, { shape: [2, 4], reduction: 'sum' });
    const beforeShaped = fastCalls;
    for (let k = 0; k < 3; k++) expect(torch.mseLoss(x, y, shaped)).toBe(wantShaped);
    expect(shapeReads).toBe(3);
    expect(fastCalls - beforeShaped).toBeGreaterThanOrEqual(2);
    expect(() => torch.mseLoss(x, y, { shape: [3, 4], reduction: 'sum' })).toThrow(RangeError);
    // an array too long to be copied is never recorded, whatever its length says when read again
    const long = new Proxy(new Array(65).fill(1), { get: (t, k) => (k === 'length' ? (shapeReads++ === 3 ? 65 : 2) : Reflect.get(t, k)) });
    const beforeLong = fastCalls;
    expect(() => torch.mseLoss(x, y, { shape: long, reduction: 'sum' })).toThrow(RangeError);
    expect(fastCalls).toBe(beforeLong);
    // another value, an array option, out: the full path
    expect(torch.mseLoss(x, y, { reduction: 'mean', threads: 1 })).toBe(torch.mseLoss(x, y));
    const out = new Float32Array(8);
    expect(torch.mseLoss(x, y, { reduction: 'none', out })).toBe(out);
    expect(() => torch.mseLoss(x, y, { reduction: 'sum', threads: 0 })).toThrow(RangeError);
  });

  test('recorded options: the same reads in the same order, a getter calling fastloss again, a miss after matching', () => {
    const { keras } = require('../src') as typeof import('../src');
    const gce = keras.categoricalGeneralizedCrossEntropy;
    const t = Int32Array.of(1, 0, 3, 2);
    const p = Float32Array.from({ length: 16 }, (_, i) => 0.05 + ((i * 7) % 16) / 20);
    const log: string[] = [];
    const traced = (o: Record<string, unknown>) => new Proxy(o, {
      ownKeys: (target) => { log.push('keys'); return Reflect.ownKeys(target); },
      get: (target, k) => { log.push(String(k)); return Reflect.get(target, k); },
    });
    const want = gce(t, p, { q: 0.7, reduction: 'sum' });
    const orders: string[] = [];
    for (let k = 0; k < 4; k++) {
      log.length = 0;
      expect(gce(t, p, traced({ q: 0.7, reduction: 'sum' }))).toBe(want);
      orders.push(log.join(' '));
    }
    setFastPath(false);
    log.length = 0;
    gce(t, p, traced({ q: 0.7, reduction: 'sum' }) as never);
    setFastPath(true);
    expect(new Set([...orders, log.join(' ')]).size).toBe(1);  // fast or full, first or later: one order
    // a getter that calls the same loss while its options are read: both results right
    const inner = gce(t, p, { q: 0.3, reduction: 'sum' });
    let got: number | undefined;
    const reentrant = { get q() { got = gce(t, p, { q: 0.3, reduction: 'sum' }) as number; return 0.7; }, reduction: 'sum' };
    for (let k = 0; k < 3; k++) expect(gce(t, p, reentrant as never)).toBe(want);
    expect(got).toBe(inner);
    // options that match the record, arrays that do not (another length): the full path, same options
    const t3 = Int32Array.of(1, 0, 3);
    const p3 = p.subarray(0, 12);
    setFastPath(false);
    const want3 = gce.withGrad(t3, p3, { q: 0.7, reduction: 'sum' });
    setFastPath(true);
    gce.withGrad(t, p, { q: 0.7, reduction: 'sum' });
    gce.withGrad(t, p, { q: 0.7, reduction: 'sum' });
    expect(gce.withGrad(t3, p3, { q: 0.7, reduction: 'sum' })).toEqual(want3);
    expect(() => gce(t, p, { q: 0.7, reduction: 'sum', sampleWeight: 'x' } as never)).toThrow(TypeError);
    expect(() => gce(t, p, { q: 0.7, reduction: 'sum', bogus: 1 } as never)).toThrow(/opts\.bogus is not an option/);
  });

  test('caller outputs, array options and a gradOutput number are recorded by type and length', () => {
    const { keras } = require('../src') as typeof import('../src');
    const full = <T>(f: () => T): T => { setFastPath(false); try { return f(); } finally { setFastPath(true); } };
    const p = Float32Array.from({ length: 8 }, (_, i) => 0.05 + i / 9);
    const fastBy = (f: () => void, calls: number) => { const before = fastCalls; f(); return fastCalls - before >= calls; };
    // withGrad into out: the caller's buffer, every call, whichever buffer of that length
    const wants = full(() => torch.mseLoss.withGrad(x, y));
    expect(fastBy(() => {
      for (let k = 0; k < 4; k++) {
        const g = new Float32Array(8);
        const r = torch.mseLoss.withGrad(x, y, { out: { grad: g } });
        expect(r.grad).toBe(g);
        expect(r.loss).toBe(wants.loss);
        expect(g).toEqual(wants.grad);
      }
    }, 3)).toBe(true);
    // a wrong length, an overlap, another type: the full path's named error, nothing written
    const short = new Float32Array(7).fill(5);
    expect(() => torch.mseLoss.withGrad(x, y, { out: { grad: short } })).toThrow(new RangeError('torch.mseLoss: opts.out.grad has length 7; expected 8'));
    expect(short.every((v) => v === 5)).toBe(true);
    const xc = x.slice();
    expect(() => torch.mseLoss.withGrad(xc, y, { out: { grad: xc } })).toThrow(/^torch\.mseLoss: opts\.out .*overlaps input/);
    expect(xc).toEqual(x);
    expect(() => torch.mseLoss.withGrad(x, y, { out: { grad: new Int32Array(8) } })).toThrow(/opts\.out\.grad must be a Float32Array/);
    // forward into out ('none') and backward into out
    const none = new Float32Array(8);
    expect(fastBy(() => { for (let k = 0; k < 3; k++) expect(torch.mseLoss(x, y, { reduction: 'none', out: none })).toBe(none); }, 2)).toBe(true);
    expect(none).toEqual(full(() => torch.mseLoss(x, y, { reduction: 'none' })));
    const gb = new Float32Array(8);
    expect(fastBy(() => { for (let k = 0; k < 3; k++) expect(torch.mseLoss.backward(x, y, { out: gb, gradOutput: 2 })).toBe(gb); }, 2)).toBe(true);
    expect(gb).toEqual(full(() => torch.mseLoss.backward(x, y, { gradOutput: 2 })));
    expect(torch.mseLoss.backward(x, y, { out: gb, gradOutput: 3 })).toEqual(full(() => torch.mseLoss.backward(x, y, { gradOutput: 3 })));
    // a gradOutput array is never recorded (a reduced call reads its element)
    expect(torch.mseLoss.backward(x, y, { out: gb, gradOutput: Float32Array.of(3) })).toEqual(full(() => torch.mseLoss.backward(x, y, { gradOutput: 3 })));
    // array options: any array of the recorded type and length, its own elements
    const w1 = Float32Array.from({ length: 8 }, (_, i) => i / 4);
    const w2 = Float32Array.from({ length: 8 }, (_, i) => 2 - i / 5);
    expect(fastBy(() => {
      for (const w of [w1, w1, w2, w1, w2]) expect(torch.binaryCrossEntropy.withGrad(p, y, { weight: w })).toEqual(full(() => torch.binaryCrossEntropy.withGrad(p, y, { weight: w })));
    }, 3)).toBe(true);
    expect(() => torch.binaryCrossEntropy(p, y, { weight: w1.subarray(1) })).toThrow(new RangeError("torch.binaryCrossEntropy: opts.weight has length 7; expected 8 (the input's length)"));
    expect(() => torch.binaryCrossEntropy(p, y, { weight: new Int32Array(8) })).toThrow(/opts\.weight must be a Float32Array/);
    const cw = Float32Array.of(1, 2, 0.5, 3);
    const t = Int32Array.of(3, 0);
    const cw2 = Float32Array.of(2, 1, 1, 0.25);
    expect(fastBy(() => {
      for (const w of [cw, cw, cw2, cw]) expect(torch.crossEntropy(x, t, { weight: w })).toBe(full(() => torch.crossEntropy(x, t, { weight: w })));
    }, 2)).toBe(true);
    // Keras: sampleWeight an array (recorded) or a number (the plan derives an array: never recorded, still right)
    const sw = Float32Array.from({ length: 8 }, (_, i) => (i % 3) / 2);
    const sw2 = sw.slice().reverse();
    expect(fastBy(() => {
      for (const s of [sw, sw, sw2, sw]) {
        const o = { shape: [8, 1], sampleWeight: s };
        expect(keras.meanSquaredError.withGrad(y, x, o)).toEqual(full(() => keras.meanSquaredError.withGrad(y, x, o)));
      }
    }, 2)).toBe(true);
    for (let k = 0; k < 3; k++)
      expect(keras.meanSquaredError(y, x, { shape: [8, 1], sampleWeight: 0.5 + k })).toBe(full(() => keras.meanSquaredError(y, x, { shape: [8, 1], sampleWeight: 0.5 + k })));
  });

  test('one array passed as two arguments (or options) is not recorded: a later call with two arrays gets its own', () => {
    const full = <T>(f: () => T): T => { setFastPath(false); try { return f(); } finally { setFastPath(true); } };
    for (let k = 0; k < 3; k++) expect(torch.mseLoss(x, x)).toBe(0);
    expect(torch.mseLoss(x, y)).toBe(full(() => torch.mseLoss(x, y)));
    const w = Float32Array.from({ length: 8 }, (_, i) => 1 + i / 8);
    const w2 = w.slice().reverse();
    const bce = torch.binaryCrossEntropyWithLogits;
    for (let k = 0; k < 3; k++) bce(x, y, { weight: w, posWeight: w });
    expect(bce(x, y, { weight: w, posWeight: w2 })).toBe(full(() => bce(x, y, { weight: w, posWeight: w2 })));
  });

  test('a kernel error after a recorded call names the argument (the full path reports it)', () => {
    torch.binaryCrossEntropy(x, y);
    torch.binaryCrossEntropy(x, y);
    const bad = x.slice();
    bad[3] = 2;
    expect(() => torch.binaryCrossEntropy(bad, y))
      .toThrow(new RangeError('torch.binaryCrossEntropy: input[3] = 2; all elements of input should be between 0 and 1'));
  });

  test('runPlan checks every array against the record and its buffer (direct calls)', () => {
    torch.mseLoss(x, y);
    torch.mseLoss(x, y);
    const slot = 4090;
    const { params, setRawCall, SLOT } = require('../src/core/native');
    setRawCall('torch.mseLoss', { flags: 1, reduction: 1, shape: [8] });
    native.setPlan(slot, params, 0);
    // a reduced loss comes back in params[SLOT.result], not as the call's value
    const planned = (...arrays: unknown[]): number => {
      params[SLOT.result] = NaN;
      expect((native.runPlan as (...a: unknown[]) => unknown)(slot, ...arrays)).toBeUndefined();
      return params[SLOT.result];
    };
    expect(SLOT.result).toBe(native.paramCount);
    expect(planned(x, y)).toBe(torch.mseLoss(x, y, {}));
    expect(planned(x, y)).toBe(torch.mseLoss(x, y, {}));
    expect(() => native.runPlan(slot, x, y.subarray(1))).toThrow(/torch\.mseLoss: input 1 has length 7; shape \[8\] needs 8/);
    expect(() => native.runPlan(slot, x, new Uint8Array(8) as never)).toThrow(/input 1 has the wrong element type/);
    expect(() => native.runPlan(slot, x, [1, 2] as never)).toThrow(/input 1 must be a typed array/);
    expect(() => native.runPlan(slot, x)).toThrow(/input 1 is required/);
    expect(() => native.runPlan(4095, x, y)).toThrow(/no plan in that slot/);
    expect(() => native.setPlan(slot, new Float64Array(2), 0)).toThrow(/setPlan takes a slot/);
    // any other view: its bytes read as bytes / 4 elements, inside the view (memory-safe; the facade
    // never passes one); a length that does not fit gets run()'s full check and its message
    expect(() => native.runPlan(slot, x, new Float64Array(8) as never)).toThrow(/input 1 has the wrong element type/);
    expect(() => native.runPlan(slot, x, new Uint8Array(3) as never)).toThrow(/input 1 has the wrong element type/);
    expect(planned(x, new Float64Array(4))).toBe(torch.mseLoss(x, new Float32Array(8), {}));
    expect(planned(x, new Uint8Array(new ArrayBuffer(48), 16, 32))).toBe(torch.mseLoss(x, new Float32Array(8), {}));
    expect(planned(x, new DataView(new ArrayBuffer(32)))).toBe(torch.mseLoss(x, new Float32Array(8), {}));
    const shared = new Float32Array(new SharedArrayBuffer(32));
    shared.set(y);
    expect(planned(x, shared)).toBe(torch.mseLoss(x, y, {}));
    const detached = new Float32Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    expect(() => native.runPlan(slot, x, detached)).toThrow(/input 1 is backed by a detached ArrayBuffer/);
    // lengths: another element count than the record's is a miss (false, nothing run), not an error
    native.setPlan(slot, params, 0, 0, [8, 8]);
    expect(planned(x, y)).toBe(torch.mseLoss(x, y, {}));
    params[SLOT.result] = 12345;
    expect((native.runPlan as (...a: unknown[]) => unknown)(slot, x.subarray(1), y.subarray(1))).toBe(false);
    expect(params[SLOT.result]).toBe(12345);
    expect(() => native.runPlan(slot, x, new Uint8Array(3) as never)).toThrow(/input 1 has the wrong element type/);
    for (const lengths of [[8, 8, 8, 8, 8, 8, 8], [-2], ['8']])
      expect(() => native.setPlan(slot, params, 0, 0, lengths as never)).toThrow(/^fastloss: setPlan: lengths/);
    setRawCall('torch.mseLoss', { flags: 1, reduction: 1, shape: [8] });
    native.setPlan(slot, params, 0);
    // absentMask: an optional input absent in every call takes no argument (BCE's weight, slot 2)
    const p = Float32Array.from({ length: 8 }, (_, i) => 0.1 + i / 10);
    setRawCall('torch.binaryCrossEntropy', { flags: 1, reduction: 1, shape: [8] });
    native.setPlan(slot, params, 0, 0b100);
    expect(planned(p, y)).toBe(torch.binaryCrossEntropy(p, y, {}));
    expect(() => native.runPlan(slot, p)).toThrow(/input 1 is required/);
    expect(planned(p, y, x)).toBe(torch.binaryCrossEntropy(p, y, {}));  // an extra argument is not read
    for (const [ints, absent] of [[0, 0b1], [0, 0b1000], [0b100, 0b100], [0, -1], [0, 1 << native.maxInputs]])
      expect(() => native.setPlan(slot, params, ints, absent)).toThrow(/^fastloss: setPlan/);
  });

  test('crossEntropy alternating index and probability targets of one length', () => {
    const logits = Float32Array.from({ length: 4 }, (_, i) => Math.sin(i));
    const index = Int32Array.of(2);
    const probs = Float32Array.of(0.1, 0.2, 0.3, 0.4);
    for (let k = 0; k < 3; k++) {
      expect(torch.crossEntropy(logits, index)).toBe(torch.crossEntropy(logits, index, {}));
      expect(torch.crossEntropy(logits, probs)).toBe(torch.crossEntropy(logits, probs, {}));
    }
  });
});
