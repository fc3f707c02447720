// Accuracy of the vectorized transcendentals (binding/kernels/vmath.h) on every ISA level:
// against a float64 reference (Math.*, then the distance in float32 ulps of the reference) and
// against the C library's float functions, over 2^18 bit patterns spread over all 2^32 plus
// special values (scripts/vmath_check.cpp sweeps every pattern).
import { FLAG_HAS_OUT, FLAG_LOSS, native, setRawCall } from '../src/core/native';
import { isaLevels } from './helpers/parity';

function evaluate(kernel: string, input: Float32Array): Float32Array {
  const out = new Float32Array(input.length);
  setRawCall(kernel, { flags: FLAG_LOSS | FLAG_HAS_OUT, reduction: 0, shape: [input.length] });
  native.run(input, out);
  return out;
}

// Size of one float32 ulp at the magnitude of v (subnormal spacing below 2^-126).
function ulpOf(v: number): number {
  const a = Math.abs(v);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

function softplus64(x: number): number {
  return Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));
}

// name, float64 reference, documented bound in ulps (vmath.h comments), and whether the C
// library has the function itself (sigmoid and softplus have no libm counterpart to compare).
const functions: [string, (x: number) => number, number, boolean][] = [
  ['exp', Math.exp, 1, true],
  ['log', Math.log, 1, true],
  ['log1p', Math.log1p, 1, true],
  ['tanh', Math.tanh, 2, true],
  ['sigmoid', (x) => 1 / (1 + Math.exp(-x)), 2, false],
  ['softplus', softplus64, 2, false],
];

function sweep(): Float32Array {
  const bits = new Uint32Array(1 << 18);
  for (let i = 0; i < bits.length; i++) bits[i] = Math.imul(i, 16411) >>> 0;  // spread over all 2^32 patterns
  const specials = [0, -0, Infinity, -Infinity, NaN, 2 ** -149, -(2 ** -149), 2 ** -126, 1.17549421e-38, 1, -1,
    88.72283, 88.72284, -87.33654, -103.27893, -103.9720840454, -104, 89, -89, 1e-10, -1e-10, 1e-30,
    -0.9999999, -0.99999994, 0.99999994, 1.0000001, 9, -9, 15, -15, 16.6355, -16.6355, 3.4028234663852886e38];
  const a = new Float32Array(bits.buffer);
  const out = new Float32Array(a.length + specials.length);
  out.set(a);
  out.set(specials, a.length);
  return out;
}

const input = sweep();

for (const level of isaLevels()) {
  describe(`vmath [${level}]`, () => {
    const initial = native.info().isa;
    beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
    afterAll(() => { native.setIsa(initial); });

    test.each(functions)('%s within its documented bound of the float64 value and of the C library', (name, ref, bound, hasLibm) => {
      const got = evaluate(`simd.${name}`, input);
      const libm = hasLibm ? evaluate(`libm.${name}`, input) : got;
      let worst = 0;
      let worstVsLibm = 0;
      let worstAt = NaN;
      for (let i = 0; i < input.length; i++) {
        const x = input[i];
        const want = ref(x);
        const wantF = Math.fround(want);
        if (Number.isNaN(want)) {
          if (!Number.isNaN(got[i])) throw new Error(`${name}(${x}) = ${got[i]}, expected NaN`);
          continue;
        }
        if (!Number.isFinite(wantF)) {
          if (got[i] !== wantF) throw new Error(`${name}(${x}) = ${got[i]}, expected ${wantF}`);
          continue;
        }
        if (!Number.isFinite(got[i])) throw new Error(`${name}(${x}) = ${got[i]}, expected ${want}`);
        const err = Math.abs(got[i] - want) / ulpOf(want);
        if (err > worst) { worst = err; worstAt = x; }
        if (Number.isFinite(libm[i])) worstVsLibm = Math.max(worstVsLibm, Math.abs(got[i] - libm[i]) / ulpOf(libm[i]));
      }
      if (worst > bound) throw new Error(`${name}: ${worst.toFixed(2)} ulp at x = ${worstAt}`);
      expect(worst).toBeLessThanOrEqual(bound);
      expect(worstVsLibm).toBeLessThanOrEqual(bound + 1);
    });

    // The bench's limit probes (probe.<name>: the primitive summed on one thread) compute what
    // they time: the sum of the function over the input, against the float64 reference.
    test.each(functions)('probe.%s sums the function over its input', (name, ref) => {
      const n = 1000;  // 62 blocks of 16 lanes and a remainder of 8
      const x = new Float32Array(n);
      for (let i = 0; i < n; i++) x[i] = name === 'log' ? 0.01 + i / 97 : name === 'log1p' ? -0.5 + i / 500 : -8 + (16 * i) / n;
      let want = 0;
      for (let i = 0; i < n; i++) want += ref(x[i]);
      setRawCall(`probe.${name}`, { flags: FLAG_LOSS, reduction: 2, shape: [n] });
      const got = native.run(x) as number;
      expect(Math.abs(got - want)).toBeLessThan(1e-5 * Math.abs(want) + 1e-4);
    });

    // logPositive (log for positive normal arguments, as after Keras' clip) and log1pPositive (log1p for
    // x > 0, +Inf or NaN, as after Keras' clip to [1e-7, ...)): the bits of log / log1p over that domain,
    // including the clip bounds and 1; NaN stays NaN. Their probes sum the same values.
    const positive: [string, string, (v: number) => boolean, number[]][] = [
      ['logPositive', 'log', (v) => v >= 2 ** -126 && v < Infinity,
        [1e-7, 1 - 1e-7, 1, 2 ** -126, 1.0000001, 0.99999994, 3.4028234663852886e38, 2e-7, 1.0000001e-7]],
      ['log1pPositive', 'log1p', (v) => v > 0,
        [1e-7, 2 ** -149, 2 ** -126, 1, 1.0000001, 0.99999994, 3.4028234663852886e38, Infinity, NaN]],
    ];
    test.each(positive)('%s has the bits of %s on its domain', (fast, general, inDomain, bounds) => {
      const x = Float32Array.from([...input.filter(inDomain), ...bounds]);
      const got = new Uint32Array(evaluate(`simd.${fast}`, x).buffer);
      const want = new Uint32Array(evaluate(`simd.${general}`, x).buffer);
      let diff = 0;
      for (let i = 0; i < x.length; i++) if (got[i] !== want[i]) diff++;
      expect(x.length).toBeGreaterThan(100000);
      expect(diff).toBe(0);
      expect(Number.isNaN(evaluate(`simd.${fast}`, Float32Array.from([NaN]))[0])).toBe(true);
      setRawCall(`probe.${fast}`, { flags: FLAG_LOSS, reduction: 2, shape: [x.length] });
      const sum = native.run(x) as number;
      setRawCall(`probe.${general}`, { flags: FLAG_LOSS, reduction: 2, shape: [x.length] });
      expect(sum).toBe(native.run(x) as number);
    });

    test('exact special values', () => {
      const x = Float32Array.from([0, -0, Infinity, -Infinity, NaN, -1, -2]);
      expect(Array.from(evaluate('simd.exp', x)).slice(0, 5)).toEqual([1, 1, Infinity, 0, NaN]);
      expect(Array.from(evaluate('simd.log', x))).toEqual([-Infinity, -Infinity, Infinity, NaN, NaN, NaN, NaN]);
      const l1p = evaluate('simd.log1p', x);
      expect(Object.is(l1p[0], 0) && Object.is(l1p[1], -0)).toBe(true);
      expect(Array.from(l1p).slice(2)).toEqual([Infinity, NaN, NaN, -Infinity, NaN]);
      expect(Array.from(evaluate('simd.tanh', x)).slice(0, 5)).toEqual([0, -0, 1, -1, NaN]);
      expect(Array.from(evaluate('simd.sigmoid', x)).slice(0, 5)).toEqual([0.5, 0.5, 1, 0, NaN]);
      expect(Array.from(evaluate('simd.softplus', x)).slice(0, 5)).toEqual([Math.fround(Math.LN2), Math.fround(Math.LN2), Infinity, 0, NaN]);
    });
  });
}
