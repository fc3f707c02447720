// The benchmark's reference code (bench/workloads): every plain-JS loop must compute the same loss
// and gradient as fastloss, or the speed ratios compare different work. No timings here.
import * as fastloss from '../src';
import { native, setRawCall } from '../src/core/native';
import { findLoss } from './helpers/losses';

const { loadWorkloads } = require('../bench/workloads');
const { DataCache } = require('../bench/lib/data');

interface InputSpec { name: string; gen: object; length: number; shape: number[]; grad?: boolean }
interface Case { label: string; n: number; shape: number[] }
interface Workload {
  name: string;
  cases: Case[];
  inputs(c: Case): InputSpec[];
  opts?(c: Case): Record<string, unknown>;
  js: {
    forward(args: unknown[], c: Case): number;
    withGrad(args: unknown[], grads: Float32Array[], c: Case): number;
  };
}

// A small case of the same layout: 1-D -> [1000], [rows, cols] -> [8, min(cols, 100)].
function mini(w: Workload): Case {
  const s = w.cases[0].shape;
  const shape = s.length === 1 ? [1000] : [8, Math.min(s[1], 100)];
  return { label: 'mini', n: shape.reduce((a, b) => a * b, 1), shape };
}

const workloads: Workload[] = loadWorkloads();
const data = new DataCache();

describe('bench workloads: plain-JS reference loops match fastloss', () => {
  for (const w of workloads) {
    const fn = findLoss(w.name);
    (fn ? test : test.skip)(`${w.name}${fn ? '' : ' (not in fastloss yet)'}`, () => {
      const c = mini(w);
      const inputs = w.inputs(c);
      const args = inputs.map((s) => data.get(s.gen, s.length));
      const opts = w.opts ? w.opts(c) : {};
      const expected = fn!(...args, opts) as number;
      const js = w.js.forward(args, c);
      expect(Math.abs(js - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected) + 1e-7);

      const gradSpecs = inputs.filter((s) => s.grad);
      const jsGrads = gradSpecs.map((s) => new Float32Array(s.length));
      const jsLoss = w.js.withGrad(args, jsGrads, c);
      expect(Math.abs(jsLoss - expected)).toBeLessThanOrEqual(1e-5 * Math.abs(expected) + 1e-7);
      const { grad } = fn!.withGrad(...args, opts);
      const flGrads = gradSpecs.length === 1 ? [grad as Float32Array]
        : gradSpecs.map((s) => (grad as Record<string, Float32Array>)[s.name]);
      flGrads.forEach((g, k) => {
        let scale = 0;
        for (const v of g) scale = Math.max(scale, Math.abs(v));
        for (let i = 0; i < g.length; i++)
          expect(Math.abs(jsGrads[k][i] - g[i])).toBeLessThanOrEqual(1e-4 * scale + 1e-9);
      });
    });
  }
});

describe('bench probe kernel', () => {
  test('probe.streamRead sums a Float32Array (internal, not a loss)', () => {
    const id = native.kernels['probe.streamRead'];
    expect(id).toBeDefined();
    expect((fastloss as unknown as Record<string, unknown>).probe).toBeUndefined();
    for (const n of [0, 5, 1000, 100003]) {
      const x = Float32Array.from({ length: n }, (_, i) => (i % 7) - 3);
      let want = 0;
      for (const v of x) want += v;
      setRawCall('probe.streamRead', { flags: 1, reduction: 2, shape: [n] });
      expect(native.run(x)).toBe(want);
    }
  });
});
