// keras.categoricalCrossentropy and keras.categoricalFocalCrossentropy on probabilities with one-hot
// and sparse targets: the kernels skip the log (and the gradient's division) of class vectors whose
// targets are all zero (keras_categorical.cpp, focal.cpp, lanes.h rowVectors). Checked on every ISA
// level against the Keras formulas in float64: one-hot in the body, in the tail vector's overlap and
// new lanes, all-zero and -0 rows (zeros with their sign), NaN / Inf / negative / zero-sum rows.
import { keras } from '../src';
import { native } from '../src/core/native';
import { runChild, expectClean } from './helpers/child';
import { isaLevels } from './helpers/parity';

const EPS = 1e-7;
const ONE_MINUS_EPS = Math.fround(1 - EPS);
const clip = (q: number) => (q < EPS ? EPS : q > ONE_MINUS_EPS ? ONE_MINUS_EPS : q);
const pass = (q: number) => (q >= EPS && q <= ONE_MINUS_EPS ? 1 : 0);

/** Deterministic rows of C: probabilities p and targets t, one kind of row each. */
function makeRows(C: number): { p: Float32Array; t: Float32Array; rows: number } {
  let s = 0x2545f491;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const kinds: ((p: Float32Array, t: Float32Array) => void)[] = [
    (_p, t) => { t[Math.floor(rnd() * C)] = 1; },
    (_p, t) => { t[C - 1] = 1; }, // the tail vector's new lanes
    (_p, t) => { t[C - 12] = 1; }, // the tail vector's overlap with the body (AVX-512 / AVX2 lanes)
    (_p, t) => { t[C - 6] = 1; },
    () => {}, // all +0: loss -0, gradient -0 * k / sum
    (_p, t) => { t.fill(-0); },
    (_p, t) => { t.fill(-0); t[3] = 1; },
    (_p, t) => { t[2] = 0.25; t[C - 2] = 0.75; },
    (p, t) => { t[1] = 1; p[C - 3] = NaN; }, // NaN at a zero target: NaN
    (p, t) => { t[1] = 1; p[C - 3] = Infinity; },
    (p, t) => { t[1] = 1; p[C - 3] = -p[C - 3]; }, // a negative probability: clipped, finite
    (p, t) => { t[0] = 1; p.fill(0); p[0] = 1; }, // q = 1 and 0: clipped
    (p, t) => { t[5] = 1; p.fill(0); }, // sum 0: NaN
    (p, t) => { t[C - 1] = 1; p[7] = 3; p[8] = -3; }, // cancelling terms
  ];
  const rows = kinds.length * 2;
  const p = new Float32Array(rows * C);
  const t = new Float32Array(rows * C);
  for (let r = 0; r < rows; r++) {
    const pr = p.subarray(r * C, (r + 1) * C);
    let sum = 0;
    for (let j = 0; j < C; j++) sum += pr[j] = Math.exp(3 * rnd());
    for (let j = 0; j < C; j++) pr[j] /= sum;
    kinds[r % kinds.length](pr, t.subarray(r * C, (r + 1) * C));
  }
  return { p, t, rows };
}

/**
 * Keras on probabilities, float64 (q = p / sum p, o = clip(q)): focal null gives categorical
 * crossentropy, l = -sum y log o, dl/dq_j = -[pass] y_j / o_j; focal {alpha, gamma} gives
 * l = sum alpha (1 - o)^gamma (-y log o), dl/dq = [pass] alpha y (gamma (1 - o)^(gamma - 1) log o -
 * (1 - o)^gamma / o). dl/dp_k = k (dl/dq_k - sum_j dl/dq_j q_j) / sum p, k = upstream x weight.
 */
function reference(p: Float32Array, t: Float32Array, C: number, k: Float64Array, focal: { alpha: number; gamma: number } | null) {
  const rows = p.length / C;
  const loss = new Float64Array(rows);
  const grad = new Float64Array(p.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < C; j++) s += p[r * C + j];
    let l = 0;
    let dqq = 0;
    const dq = new Float64Array(C);
    for (let j = 0; j < C; j++) {
      // y = t (1 - ls) + ls / C at ls = 0 (as the kernels smooth): a -0 target is +0 here, where Keras
      // (no smoothing at ls = 0) keeps -0 and its gradient's zero has the other sign.
      const q = p[r * C + j] / s, o = clip(q), y = t[r * C + j] + 0, lg = Math.log(o);
      if (focal) {
        const mod = (1 - o) ** focal.gamma;
        l += focal.alpha * mod * (-y * lg);
        dq[j] = pass(q) * focal.alpha * y * (focal.gamma * (1 - o) ** (focal.gamma - 1) * lg - mod / o);
      } else {
        l += y * lg;
        dq[j] = pass(q) * (-y / o);
      }
      dqq += dq[j] * q;
    }
    loss[r] = focal ? l : -l;
    for (let j = 0; j < C; j++) grad[r * C + j] = (k[r] * (dq[j] - dqq)) / s;
  }
  return { loss, grad };
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const fromBits = (b: number[]) => new Float32Array(Uint32Array.from(b).buffer);

/** NaN where expected NaN; exact zeros with their sign; else within rtol + atol. */
function expectClose(got: Float32Array, want: Float64Array, rtol: number, atol: number, what: string) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : w === 0 ? Object.is(g, Math.fround(w)) : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) throw new Error(`${what}[${i}]: got ${Object.is(g, -0) ? '-0' : g}, expected ${Object.is(w, -0) ? '-0' : w}`);
  }
}

describe('keras categorical and focal crossentropy, probabilities, one-hot / sparse targets (float64 Keras reference)', () => {
  const Cs = [37, 100];
  test.each(isaLevels())('[%s] losses and gradients per row, C = 37 and 100', (level) => {
    const inputs = Cs.map((C) => ({ C, ...makeRows(C) }));
    const code = `
      const fromBits = (b) => new Float32Array(Uint32Array.from(b).buffer);
      const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      const out = [];
      for (const { C, rows, p, t } of ${JSON.stringify(inputs.map(({ C, rows, p, t }) => ({ C, rows, p: bitsOf(p), t: bitsOf(t) })))}) {
        const P = fromBits(p), T = fromBits(t);
        const up = Float32Array.from({ length: rows }, (_, r) => (r % 3 === 0 ? -0.5 : 1 + r / 8));
        for (const [name, opts] of [['categoricalCrossentropy', {}], ['categoricalFocalCrossentropy', {}],
          ['categoricalFocalCrossentropy', { gamma: 1.5, alpha: 0.5 }], ['categoricalFocalCrossentropy', { gamma: 0, alpha: -0.25 }]]) {
          const o = { ...opts, shape: [rows, C], reduction: 'none' };
          const none = keras[name](T, P, o);
          const wg = keras[name].withGrad(T, P, { ...o, gradOutput: up });
          out.push({ C, name, opts, none: bits(none), loss: bits(wg.loss), grad: bits(wg.grad), up: bits(up) });
        }
      }
      report(out);`;
    const r = runChild(code, { env: { FASTLOSS_ISA: level }, timeout: 120000 });
    expectClean(r);
    const res = r.result as { C: number; name: string; opts: { gamma?: number; alpha?: number }; none: number[]; loss: number[]; grad: number[]; up: number[] }[];
    expect(res).toHaveLength(Cs.length * 4);
    for (const o of res) {
      const { p, t } = inputs.find((x) => x.C === o.C)!;
      const focal = o.name === 'categoricalFocalCrossentropy' ? { alpha: o.opts.alpha ?? 0.25, gamma: o.opts.gamma ?? 2 } : null;
      const k = Float64Array.from(fromBits(o.up));
      const ref = reference(p, t, o.C, k, focal);
      const what = `${level} C=${o.C} ${o.name} ${JSON.stringify(o.opts)}`;
      expect(fromBits(o.loss)).toEqual(fromBits(o.none)); // withGrad's loss is the forward's
      expectClose(fromBits(o.none), ref.loss, 2e-5, 1e-7, `${what} loss`);
      expectClose(fromBits(o.grad), ref.grad, 2e-5, 1e-6, `${what} grad`);
    }
  });
});

// withGrad's loss was 1 ulp off the forward on a few one-hot rows whose label sat in the tail vector's
// new lanes (AVX2 C = 17, AVX-512 C = 31 / 33 / 47: ~1 row in 2000): GCC contracted log's
// multiply-adds (vmath.h logCore) one way in the focal forward loop and the other in the gradient's.
describe('keras categorical / focal crossentropy: withGrad.loss equals the forward bitwise, random one-hot rows', () => {
  const initial = native.info().isa;
  afterAll(() => { native.setIsa(initial); });
  test.each(isaLevels())('[%s] C = 17, 31, 33, 47', (level) => {
    expect(native.setIsa(level)).toBe(level);
    let s = 777;
    const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (const C of [17, 31, 33, 47]) {
      for (const rows of [7, 64, 20000]) {
        const p = new Float32Array(rows * C), t = new Float32Array(rows * C);
        for (let r = 0; r < rows; r++) {
          let sum = 0;
          for (let j = 0; j < C; j++) sum += p[r * C + j] = Math.exp(3 * rnd());
          for (let j = 0; j < C; j++) p[r * C + j] /= sum;
          t[r * C + Math.floor(rnd() * C)] = 1;
        }
        for (const [name, opts] of [['categoricalCrossentropy', {}], ['categoricalFocalCrossentropy', {}],
          ['categoricalFocalCrossentropy', { gamma: 1.5 }]] as const) {
          const o = { ...opts, shape: [rows, C], reduction: 'none' as const };
          const fwd = keras[name](t, p, o) as Float32Array;
          const wg = keras[name].withGrad(t, p, o).loss as Float32Array;
          const off = fwd.findIndex((v, i) => !Object.is(v, wg[i]));
          if (off >= 0) throw new Error(`${level} ${name} ${JSON.stringify(opts)} [${rows}, ${C}] row ${off}: forward ${fwd[off]}, withGrad ${wg[off]}`);
        }
      }
    }
  });
});
