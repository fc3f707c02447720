// keras.binaryCrossentropy on probabilities with hard labels (every target +-0 or 1, no NaN prediction, no
// label smoothing): the kernel takes one log per element (binary.cpp KerasBceHard, engine.h withSpecial).
// Checked on every ISA level against the Keras formula in float64, on the flat path (reduced, unweighted),
// rows of one (its 'none' output stays on the two-log path), short and long rows with weights and an
// upstream gradient, predictions at and beyond the clip (0, 1, eps, 1 - eps, < 0, > 1, +-Inf, -0), and
// beside calls that fall back (a soft label, a NaN prediction, label smoothing) in the same chunk.
import { runChild, expectClean } from './helpers/child';
import { isaLevels } from './helpers/parity';

const EPS = 1e-7;
const ONE_MINUS_EPS = Math.fround(1 - EPS);
const clip = (q: number) => (q < EPS ? EPS : q > ONE_MINUS_EPS ? ONE_MINUS_EPS : q);
const pass = (q: number) => (q >= EPS && q <= ONE_MINUS_EPS ? 1 : 0);

/** Predictions (a mix of the clip's edges and uniform values) and hard targets (+0, -0, 1). */
function makeData(n: number, seed: number): { p: Float32Array; t: Float32Array } {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const edges = [0, -0, 1, 1e-9, EPS, ONE_MINUS_EPS, 0.99999994, 2, -3, Infinity, -Infinity, 1e-40];
  const p = new Float32Array(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    p[i] = rnd() < 0.1 ? edges[Math.floor(rnd() * edges.length)] : rnd();
    const u = rnd();
    t[i] = u < 0.45 ? 0 : u < 0.55 ? -0 : 1;
  }
  return { p, t };
}

/**
 * Keras in float64: c = clip(p), y = t (1 - ls) + ls / 2, l = -(y log(c + eps) + (1 - y) log(1 - c + eps)),
 * per row the mean over its cols times its weight; dl/dp = k [pass] ((1 - y) / (1 - c + eps) - y / (c + eps)) / cols.
 */
function reference(p: Float32Array, t: Float32Array, cols: number, k: (r: number) => number, w: (r: number) => number, ls = 0) {
  const rows = p.length / cols;
  const loss = new Float64Array(rows);
  const grad = new Float64Array(p.length);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = r * cols; j < (r + 1) * cols; j++) {
      const c = clip(p[j]), y = t[j] * (1 - ls) + ls / 2;
      s -= y * Math.log(c + EPS) + (1 - y) * Math.log(1 - c + EPS);
      grad[j] = (k(r) * w(r) * pass(p[j]) * ((1 - y) / (1 - c + EPS) - y / (c + EPS))) / cols;
    }
    loss[r] = (s / cols) * w(r);
  }
  return { loss, grad };
}

const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const fromBits = (b: number[]) => new Float32Array(Uint32Array.from(b).buffer);

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, rtol: number, atol: number, what: string) {
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    const g = got[i], w = want[i];
    const ok = Number.isNaN(w) ? Number.isNaN(g) : Math.abs(g - w) <= atol + rtol * Math.abs(w);
    if (!ok) throw new Error(`${what}[${i}]: got ${g}, expected ${w}`);
  }
}

// [rows, cols]: rows of one, short rows, long rows (> 256: kerasRows), and a flat reduced call.
const SHAPES: [number, number][] = [[300, 1], [200, 7], [40, 300], [16, 1000]];

describe('keras.binaryCrossentropy, probabilities, hard labels (float64 Keras reference)', () => {
  test.each(isaLevels())('[%s] per-row losses and gradients, reduced totals', (level) => {
    const inputs = SHAPES.map(([rows, cols], k) => ({ rows, cols, ...makeData(rows * cols, 17 + k) }));
    // The child makes the same data (an argument of the inputs' bits would exceed the command line's limit).
    const code = `
      const EPS = ${EPS}, ONE_MINUS_EPS = ${ONE_MINUS_EPS};
      const makeData = ${makeData.toString()};
      const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
      const out = [];
      for (const [k, [rows, cols]] of ${JSON.stringify(SHAPES)}.entries()) {
        const { p: P, t: T } = makeData(rows * cols, 17 + k);
        const sw = Float32Array.from({ length: rows }, (_, r) => 0.25 + (r % 5) / 4);
        const up = Float32Array.from({ length: rows }, (_, r) => (r % 3 === 0 ? -0.5 : 1 + r / 64));
        const f = keras.binaryCrossentropy;
        const o = { shape: [rows, cols], reduction: 'none', sampleWeight: sw };
        const none = f(T, P, o);
        const wg = f.withGrad(T, P, { ...o, gradOutput: up });
        // Reduced and unweighted: the flat path over all elements.
        const flat = f.withGrad(T, P, { shape: [rows, cols], gradOutput: 2 });
        const sum = f(T, P, { shape: [rows, cols], reduction: 'sum' });
        // A soft label and a NaN prediction make their chunk fall back; label smoothing the whole call.
        const T2 = T.slice(); T2[T2.length >> 1] = 0.5;
        const P2 = P.slice(); P2[1] = NaN;
        const ls = f.withGrad(T, P, { ...o, gradOutput: up, labelSmoothing: 0.1 });
        const digest = (a) => bits(a).reduce((h, v) => (h * 31 + v) % 1000000007, 0);
        out.push({ rows, cols, data: [digest(P), digest(T)], none: bits(none), loss: bits(wg.loss), grad: bits(wg.grad), flat: flat.loss, flatGrad: bits(flat.grad),
          sum, soft: f(T2, P, { shape: [rows, cols], reduction: 'sum' }), nan: Number.isNaN(f(T, P2, { shape: [rows, cols], reduction: 'sum' })),
          lsLoss: bits(ls.loss), lsGrad: bits(ls.grad) });
      }
      report(out);`;
    const r = runChild(code, { env: { FASTLOSS_ISA: level }, timeout: 120000 });
    expectClean(r);
    const res = r.result as {
      rows: number; cols: number; data: number[]; none: number[]; loss: number[]; grad: number[]; flat: number; flatGrad: number[]; sum: number;
      soft: number; nan: boolean; lsLoss: number[]; lsGrad: number[];
    }[];
    expect(res).toHaveLength(SHAPES.length);
    for (const o of res) {
      const { p, t } = inputs.find((x) => x.rows === o.rows && x.cols === o.cols)!;
      expect(o.data).toEqual([bitsOf(p), bitsOf(t)].map((b) => b.reduce((a, v) => (a * 31 + v) % 1000000007, 0)));
      const what = `${level} [${o.rows}, ${o.cols}]`;
      const sw = (r: number) => Math.fround(0.25 + (r % 5) / 4);
      const up = (r: number) => Math.fround(r % 3 === 0 ? -0.5 : 1 + r / 64);
      const ref = reference(p, t, o.cols, up, sw);
      expect(fromBits(o.loss)).toEqual(fromBits(o.none)); // withGrad's loss is the forward's
      expectClose(fromBits(o.none), ref.loss, 2e-5, 1e-6, `${what} loss`);
      expectClose(fromBits(o.grad), ref.grad, 2e-5, 1e-6, `${what} grad`);
      const flat = reference(p, t, o.cols, () => 2 / o.rows, () => 1);
      const total = flat.loss.reduce((a, b) => a + b, 0);
      expectClose([o.flat], [total / o.rows], 2e-5, 0, `${what} flat loss`);
      expectClose([o.sum], [total], 2e-5, 0, `${what} sum`);
      expectClose(fromBits(o.flatGrad), flat.grad, 2e-5, 1e-6, `${what} flat grad`);
      const tSoft = t.slice();
      tSoft[tSoft.length >> 1] = 0.5;
      expectClose([o.soft], [reference(p, tSoft, o.cols, () => 1, () => 1).loss.reduce((a, b) => a + b, 0)], 2e-5, 0, `${what} soft`);
      expect(o.nan).toBe(true);
      const refLs = reference(p, t, o.cols, up, sw, 0.1);
      expectClose(fromBits(o.lsLoss), refLs.loss, 2e-5, 1e-6, `${what} smoothed loss`);
      expectClose(fromBits(o.lsGrad), refLs.grad, 2e-5, 1e-6, `${what} smoothed grad`);
    }
  });
});
