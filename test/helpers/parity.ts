// Parity against committed reference fixtures (PyTorch 1.13 autograd / Keras formulas in float64),
// written by scripts/gen_fixtures.py. Every case runs forward, backward, withGrad and async,
// once per ISA level this machine can run.
import { native } from '../../src/core/native';
import { readFamilyCases } from './fixtures';
import { lossByName } from './losses';

export type Num = number | 'NaN' | 'Infinity' | '-Infinity';
export type Arr = { f32: Num[] } | { i32: number[] };
export interface Case {
  id: string;
  loss: string;
  args: Record<string, Arr>;
  shape?: number[];
  opts?: Record<string, unknown>;
  gradOutput?: Num | Arr;
  expected: { loss: Num | Num[]; grad?: Num[] | Record<string, Num[]> };
  tolerance?: { rtol?: number; atol?: number };
}

export function num(v: Num): number {
  return typeof v === 'number' ? v : v === 'NaN' ? NaN : v === 'Infinity' ? Infinity : -Infinity;
}

function isArr(v: unknown): v is Arr {
  return typeof v === 'object' && v !== null && ('f32' in v || 'i32' in v);
}

export function decode(v: Arr): Float32Array | Int32Array {
  return 'f32' in v ? Float32Array.from(v.f32.map(num)) : Int32Array.from(v.i32);
}

/** Every case of test/fixtures/<family>/*.json (one file per loss), or of one file: '<family>/<loss>'. */
export function loadCases(family: string): Case[] {
  return readFamilyCases<Case>(family);
}

export function callArgs(c: Case): { arrays: unknown[]; opts: Record<string, unknown> } {
  const arrays = Object.values(c.args).map(decode);
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.opts ?? {})) opts[k] = isArr(v) ? decode(v) : v;
  if (c.shape) opts.shape = c.shape;
  return { arrays, opts };
}

function gradOutputOf(c: Case): number | Float32Array | undefined {
  if (c.gradOutput === undefined) return undefined;
  return isArr(c.gradOutput) ? (decode(c.gradOutput) as Float32Array) : num(c.gradOutput);
}

/** |actual - expected| <= atol + rtol |expected|, with NaN and infinities matching exactly. */
export function expectClose(actual: number | ArrayLike<number>, expected: Num | Num[], what: string,
                            rtol = 2e-5, atol = 1e-6): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = Array.isArray(expected) ? expected.map(num) : [num(expected)];
  if (a.length !== e.length) throw new Error(`${what}: length ${a.length}, expected ${e.length}`);
  for (let i = 0; i < e.length; i++) {
    const ok = Number.isNaN(e[i]) ? Number.isNaN(a[i])
      : !Number.isFinite(e[i]) ? a[i] === e[i]
        : Math.abs(a[i] - e[i]) <= atol + rtol * Math.abs(e[i]);
    if (!ok) throw new Error(`${what}[${i}]: got ${a[i]}, expected ${e[i]}`);
  }
  expect(a.length).toBe(e.length);
}

function expectGrad(c: Case, grad: unknown, what: string): void {
  const want = c.expected.grad!;
  const rtol = c.tolerance?.rtol;
  const atol = c.tolerance?.atol;
  if (Array.isArray(want)) {
    expect(grad).toBeInstanceOf(Float32Array);
    expectClose(grad as Float32Array, want, `${c.id} ${what}`, rtol, atol);
  } else {
    for (const [name, g] of Object.entries(want))
      expectClose((grad as Record<string, Float32Array>)[name], g, `${c.id} ${what}.${name}`, rtol, atol);
  }
}

function expectLoss(c: Case, loss: unknown, what: string): void {
  const want = c.expected.loss;
  if (Array.isArray(want)) expect(loss).toBeInstanceOf(Float32Array);
  else expect(typeof loss).toBe('number');
  expectClose(loss as number | Float32Array, want, `${c.id} ${what}`, c.tolerance?.rtol, c.tolerance?.atol);
}

/** The ISA levels this CPU can run that the binary was built with, lowest first. */
export function isaLevels(): string[] {
  const info = native.info();
  const order = info.isaLevels;
  const cpu = order.indexOf(info.cpuIsa);
  return info.builtIsa.filter((l) => order.indexOf(l) <= cpu);
}

/** Every level the addon knows, as its messages list them: "baseline, avx2 or avx512". */
export function isaChoices(): string {
  const all = native.info().isaLevels;
  return `${all.slice(0, -1).join(', ')} or ${all[all.length - 1]}`;
}

/** One describe per ISA level, each running every case of the family. */
export function describeParity(family: string, filter: (c: Case) => boolean = () => true): void {
  describeParityCases(family, loadCases(family).filter(filter));
}

/** describeParity over cases read elsewhere (fixtures of one code path, outside test/fixtures/). */
export function describeParityCases(label: string, cases: Case[]): void {
  const initial = native.info().isa;
  for (const level of isaLevels()) {
    describe(`${label} parity [${level}]`, () => {
      beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
      afterAll(() => { native.setIsa(initial); });
      test('has cases', () => { expect(cases.length).toBeGreaterThan(0); });
      test.each(cases.map((c) => [c.id, c] as const))('%s', async (_id, c) => {
        const loss = lossByName(c.loss);
        const { arrays, opts } = callArgs(c);
        expectLoss(c, loss(...arrays, opts), 'forward');
        expectLoss(c, await loss.async(...arrays, opts), 'async');
        if (c.expected.grad === undefined) return;
        const gradOpts = { ...opts, gradOutput: gradOutputOf(c) };
        expectGrad(c, loss.backward(...arrays, gradOpts), 'backward');
        const both = loss.withGrad(...arrays, gradOpts);
        expectLoss(c, both.loss, 'withGrad.loss');
        expectGrad(c, both.grad, 'withGrad.grad');
      });
    });
  }
}
