// The bench's limit table (bench/lib/limit.js): every compute-bound workload has a primitive mix
// of existing probes, and the table's arithmetic (limit = 1 / sum of the primitives' ns per
// element, %limit = limit / loss ns) holds on what it measured. Tiny timing budget; no timing is
// asserted.
import * as fastloss from '../src';
import { native, setRawCall } from '../src/core/native';

const { loadWorkloads } = require('../bench/workloads');
const { DataCache } = require('../bench/lib/data');
const { measure } = require('../bench/lib/harness');
const { MIXES, runLimit, printLimit } = require('../bench/lib/limit');
const { sig, pct, table } = require('../bench/lib/format');

interface Workload { name: string; bound: string; cases: { label: string; n: number }[] }
interface Row {
  loss: string;
  case: string;
  mix: { forward: string[]; withGrad: string[] };
  forward: { nsPerElement: number; limitNsPerElement: number; fraction: number };
  withGrad: { nsPerElement: number; limitNsPerElement: number; fraction: number };
}

const workloads: Workload[] = loadWorkloads();
const lookup = (name: string) => {
  const [ns, fn] = name.split('.');
  const f = (fastloss as unknown as Record<string, Record<string, unknown>>)[ns]?.[fn];
  return typeof f === 'function' ? f : null;
};

describe('bench limit table', () => {
  test('every mix names compute-bound workloads and existing probe.<primitive> kernels', () => {
    const compute = new Set(workloads.filter((w) => w.bound === 'compute').map((w) => w.name));
    for (const [key, mix] of Object.entries(MIXES) as [string, { forward: string[]; withGrad: string[] }][]) {
      expect(compute.has(key.replace(/ logits$/, ''))).toBe(true);
      for (const p of [...mix.forward, ...mix.withGrad]) expect(native.kernels[`probe.${p}`]).toBeDefined();
    }
  });

  test('rows for the selected losses, one thread, with consistent limit and %limit', () => {
    const data = new DataCache();
    const selected = workloads.filter((w) => ['torch.crossEntropy', 'keras.logCosh'].includes(w.name));
    const threads = fastloss.getNumThreads();
    let sink = 0;
    const rep = runLimit({
      fastloss, native, setRawCall, measure, lookup, data, workloads: selected, log: () => {},
      timing: { sampleMs: 0.2, budgetMs: 2, minSamples: 2, maxSamples: 3, warmups: 1 },
      sink: (v: number) => { sink += v; },
    });
    data.cleanup();
    expect(fastloss.getNumThreads()).toBe(threads);  // restored
    expect(Number.isFinite(sink)).toBe(true);
    expect(rep.available).toBe(true);
    expect(rep.threads).toBe(1);
    expect(rep.rows.map((r: Row) => r.loss).sort()).toEqual(['keras.logCosh', 'torch.crossEntropy', 'torch.crossEntropy',
      'torch.crossEntropy']);
    for (const r of rep.rows as Row[]) {
      for (const mode of ['forward', 'withGrad'] as const) {
        const want = r.mix[mode].reduce((s, p) => s + rep.primitives[p], 0);
        expect(r[mode].limitNsPerElement).toBeCloseTo(want, 12);
        expect(r[mode].fraction).toBeCloseTo(want / r[mode].nsPerElement, 12);
        expect(r[mode].nsPerElement).toBeGreaterThan(0);
      }
    }
    expect(printLimit(rep, { sig, pct, table })).toMatch(/torch\.crossEntropy\s+\[256,1000\]\s+expNonPositive/);
  });
});
