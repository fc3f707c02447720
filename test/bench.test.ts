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
  family: string;
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

// ---------------------------------------------------------------- --busy, --cluster, --sweep plumbing

const hogs = require('../bench/lib/hogs');
const { callLatencies, ratioInterval } = require('../bench/lib/harness');
const { busySpecs, SIZES: BUSY_SIZES } = require('../bench/modes/busy');
const { runCluster } = require('../bench/modes/cluster');
const { sweepSeries, sweepCall, ROW_LENGTHS, CLASS_COUNTS, BATCH_LOSSES } = require('../bench/modes/sweep');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function gone(pid: number): Promise<boolean> {
  for (let k = 0; k < 100 && alive(pid); k++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

describe('bench modes', () => {
  test('--busy hogs start, spin and are all stopped', async () => {
    const stop = await hogs.start(2);
    const pids: number[] = hogs.pids();
    expect(pids).toHaveLength(2);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    stop();
    for (const pid of pids) expect(await gone(pid)).toBe(true);
    expect(hogs.pids()).toEqual([]);
  });

  test('--busy covers every workload family at 64k, 1e6 and 1e7, in whole rows', () => {
    const specs = busySpecs([]);
    const familyOf = (name: string) => workloads.find((w) => w.name === name)!.family;
    const families = new Set(specs.map((s: { loss: string }) => familyOf(s.loss)));
    const allFamilies = new Set(workloads.map((w) => w.family));
    expect(families).toEqual(allFamilies);
    expect(BUSY_SIZES).toEqual([65536, 1e6, 1e7]);
    for (const s of specs) if (s.cols) expect(s.n % s.cols).toBe(0);
    expect(busySpecs(['mseLoss']).every((s: { loss: string }) => s.loss === 'torch.mseLoss')).toBe(true);
  });

  test('callLatencies times every variant, interleaved, at least minCalls each', () => {
    const seen: string[] = [];
    const r = callLatencies({ a: { call: () => seen.push('a') }, b: { before: () => seen.push('b0'), call: () => seen.push('b') } },
      { warmups: 1, block: 3, minCalls: 6, maxCalls: 6, budgetMs: 0 });
    expect(r.a.calls).toBe(6);
    expect(r.b.calls).toBe(6);
    for (const k of ['a', 'b']) for (const f of ['median', 'p99', 'max']) expect(r[k][f]).toBeGreaterThanOrEqual(0);
    // one round: a's block and b's (its before() first), in the round's seeded order
    expect([['a', 'a', 'a', 'b0', 'b', 'b', 'b'], ['b0', 'b', 'b', 'b', 'a', 'a', 'a']]).toContainEqual(seen.slice(-7));
  });

  test('ratioInterval: the bootstrap interval of a quantile ratio, paired by round', () => {
    const b = Array.from({ length: 400 }, (_, i) => 1 + ((i * 37) % 101));
    expect(ratioInterval(b, b, 0.99)).toEqual([1, 1]);
    expect(ratioInterval(b.map((x) => 2 * x), b, 0.5)).toEqual([2, 2]);
    // a variant slower in 3 % of its rounds: its p99 interval lies above 1, its median's is [1, 1]
    const slow = b.map((x, i) => (i % 33 === 0 ? 1000 : x));
    const [lo, hi] = ratioInterval(slow, b, 0.99);
    expect(lo).toBeGreaterThan(1);
    expect(hi).toBeGreaterThanOrEqual(lo);
    expect(ratioInterval(slow, b, 0.5)[0]).toBeLessThanOrEqual(1);
    expect(ratioInterval([1, 2], [1, 2], 0.99)).toEqual([NaN, NaN]);  // too few rounds to resample
    const r = callLatencies({ a: { call: () => 0 } }, { warmups: 0, block: 1, minCalls: 5, maxCalls: 5, budgetMs: 0, keepTimes: true });
    expect(r.a.times).toHaveLength(5);
  });

  test('--sweep: every Keras loss over every row length, crossEntropy over every class count; JS loops match fastloss', () => {
    const series = sweepSeries([]);
    expect(BATCH_LOSSES).toEqual(['keras.circle']);  // pairwise over the batch: no row length to sweep
    const keras = workloads.filter((w) => w.name.startsWith('keras.') && !BATCH_LOSSES.includes(w.name));
    expect(series.filter((s: { axis: string }) => s.axis === 'row')).toHaveLength(keras.length * ROW_LENGTHS.length);
    expect(series.filter((s: { axis: string }) => s.axis === 'C').map((s: { cols: number }) => s.cols)).toEqual(CLASS_COUNTS);
    for (const s of series) {
      const call = sweepCall(fastloss, data, s, 1000);
      expect(call.c.n % s.cols).toBe(0);
      const want = call.fastloss();
      const got = call.js();
      expect(Math.abs(got - want)).toBeLessThanOrEqual(1e-5 * Math.abs(want) + 1e-7);
    }
  });

  test('--cluster runs N processes per figure and reports each one', async () => {
    const log: string[] = [];
    const rep = await runCluster({ cluster: 2, quick: true, filters: ['mseLoss'] }, (m: string) => log.push(m));
    expect(rep.processes).toBe(2);
    expect(rep.rows).toHaveLength(1);
    const row = rep.rows[0];
    expect(row.loss).toBe('torch.mseLoss');
    expect(row.single).toBeGreaterThan(0);
    expect(row.oneThread).toHaveLength(2);
    expect(row.defaultThreads).toHaveLength(2);
    for (const v of [...row.oneThread, ...row.defaultThreads]) expect(v).toBeGreaterThan(0);
  }, 60000);
});
