// The bench's limit table (bench/lib/limit.js): every compute-bound workload has a primitive mix
// of existing probes, the table's arithmetic (limit = 1 / sum of the primitives' ns per
// element, %limit = limit / loss ns) holds on what it measured, and its in-L2 cases fit half the L2 read
// from sysfs. Tiny timing budget; no timing is asserted.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fastloss from '../src';
import { native, setRawCall } from '../src/core/native';

const { loadWorkloads } = require('../bench/workloads');
const { DataCache } = require('../bench/lib/data');
const { measure } = require('../bench/lib/harness');
const { MIXES, runLimit, printLimit, parseSize, l2Cache } = require('../bench/lib/limit');
const { sig, pct, table } = require('../bench/lib/format');

interface Workload { name: string; bound: string; cases: { label: string; n: number }[] }
interface Row {
  loss: string;
  case: string;
  n: number;
  mix: { forward: string[]; withGrad: string[] };
  forward: { nsPerElement: number; limitNsPerElement: number; fraction: number };
  withGrad: { nsPerElement: number; limitNsPerElement: number; fraction: number };
  workingSet: { forward: number; withGrad: number };
  inL2: boolean;
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

  test('rows for the selected losses, one thread, in-L2 and earlier shapes, with consistent limit and %limit', () => {
    const data = new DataCache();
    const selected = workloads.filter((w) => ['torch.crossEntropy', 'keras.logCosh'].includes(w.name));
    const threads = fastloss.getNumThreads();
    let sink = 0;
    const rep = runLimit({
      fastloss, native, setRawCall, measure, lookup, data, workloads: selected, log: () => {}, l2: { bytes: 1 << 20, source: 'test' },
      timing: { sampleMs: 0.2, budgetMs: 2, minSamples: 2, maxSamples: 3, warmups: 1 },
      sink: (v: number) => { sink += v; },
    });
    data.cleanup();
    expect(fastloss.getNumThreads()).toBe(threads);  // restored
    expect(Number.isFinite(sink)).toBe(true);
    expect(rep.available).toBe(true);
    expect(rep.threads).toBe(1);
    // a 1 MiB L2: 512 KiB for inputs + gradient. crossEntropy: 4 C bytes of logits, 4 C of gradient and a 4-byte
    // label per row; logCosh: yTrue, yPred and the gradient, 3 * 400 bytes per row of 100
    expect(rep.budget).toBe(1 << 19);
    expect(rep.rows.map((r: Row) => [r.loss, r.case, r.inL2])).toEqual([
      ['keras.logCosh', '[436,100]', true], ['keras.logCosh', '1e5', false],
      ['torch.crossEntropy', '[65,1000]', true], ['torch.crossEntropy', '[256,1000]', false],
      ['torch.crossEntropy', '[16,4000]', true], ['torch.crossEntropy', '[64,4000]', false],
      ['torch.crossEntropy', '[2,32000]', true], ['torch.crossEntropy', '[8,32000]', false]]);
    for (const r of rep.rows as Row[]) {
      const rows = r.case.startsWith('[') ? Number(r.case.slice(1).split(',')[0]) : r.n / 100;
      const perRow = r.workingSet.withGrad / rows;
      expect(r.inL2).toBe(r.workingSet.withGrad <= rep.budget);
      if (r.inL2) expect(r.workingSet.withGrad + perRow).toBeGreaterThan(rep.budget); // as many rows as fit
      expect(r.workingSet.forward).toBeLessThan(r.workingSet.withGrad);
      for (const mode of ['forward', 'withGrad'] as const) {
        const want = r.mix[mode].reduce((s, p) => s + rep.primitives[p], 0);
        expect(r[mode].limitNsPerElement).toBeCloseTo(want, 12);
        expect(r[mode].fraction).toBeCloseTo(want / r[mode].nsPerElement, 12);
        expect(r[mode].nsPerElement).toBeGreaterThan(0);
      }
    }
    const printed = printLimit(rep, { sig, pct, table });
    expect(printed).toMatch(/torch\.crossEntropy\s+\[256,1000\]\s+expNonPositive.*past L2$/m);
    expect(printed).toMatch(/torch\.crossEntropy\s+\[65,1000\]\s+expNonPositive.*\d$/m);
    expect(printed).toMatch(/half the 1024 KiB L2 of a core \(test\)/);
  });

  test('the L2 size comes from sysfs (level 2, data or unified), sizes parsed with their unit', () => {
    expect([parseSize('1024K'), parseSize('2M'), parseSize('1 MiB'), parseSize('512'), parseSize('1.5K'), parseSize('big')])
      .toEqual([1 << 20, 2 << 20, 1 << 20, 512, 1536, null]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-cache-'));
    try {
      const entry = (name: string, level: string, type: string, size: string) => {
        fs.mkdirSync(path.join(dir, name));
        for (const [f, v] of [['level', level], ['type', type], ['size', size]]) fs.writeFileSync(path.join(dir, name, f), `${v}\n`);
      };
      entry('index0', '1', 'Data', '48K');
      entry('index1', '2', 'Instruction', '64K');
      entry('index2', '2', 'Unified', '2048K');
      entry('index3', '3', 'Unified', '32768K');
      expect(l2Cache(dir)).toEqual({ bytes: 2 << 20, source: path.join(dir, 'index2', 'size') });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    const here = l2Cache();
    if (here) expect(here.bytes).toBeGreaterThanOrEqual(64 << 10);
  });
});
