// Property-based suite (issue 8, item (a)) over every loss of the torch and keras namespaces, with
// fast-check: random shapes (empty, 1-D, [N, 1], rows of 1..8, sizes across the threading grain,
// split long rows), random valid and invalid options, values with NaN / +-Inf / denormals / +-3e38,
// every call mode, every ISA level. The checks are in test/fuzz/run.js; each loss runs in its own
// child process (two at a time), so a crash fails that loss's test instead of killing jest.
//
// Seed and size: FASTLOSS_FUZZ_SEED (default 20261126, fixed for CI), FASTLOSS_FUZZ_RUNS (cases per
// loss, default 90; scripts/sanitize.sh uses fewer), FASTLOSS_FUZZ_NAN=strict (compare NaN payloads too in
// the bitwise comparisons). Totals are printed at the end.
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { crashOf, ChildResult, root, runMany, sanitizerLog, slow } from './helpers/child';
import { lossNames } from './helpers/losses';

const { specs } = require('./fuzz/specs') as { specs: Record<string, unknown> };

const SEED = Number(process.env.FASTLOSS_FUZZ_SEED ?? 20261126);
const RUNS = Number(process.env.FASTLOSS_FUZZ_RUNS ?? 90);

const names = lossNames();

interface Violation { loss: string; check: string; count: number; example: { detail: string; case: string } }
interface Summary {
  seed: number; runs: number; levels: string[]; ms: number;
  stats: { cases: number; calls: number; okCases: number; errorCases: number; determinism: number; big: number };
  violations: Violation[];
}

function runLoss(name: string, index: number): Promise<ChildResult & { trace: string }> {
  const trace = path.join(os.tmpdir(), `fastloss-fuzz-${process.pid}-${index}.json`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(__dirname, 'fuzz', 'run.js'), '--loss', name, '--seed', String(SEED + index * 1000),
      '--runs', String(RUNS), '--trace', trace], { cwd: root });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL'); }, 120000 * slow);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      let last = '';
      try { last = fs.readFileSync(trace, 'utf8'); fs.unlinkSync(trace); } catch { /* none */ }
      const line = stdout.split('\n').filter((l) => l.startsWith('@@RESULT ')).pop();
      resolve({ status, signal, stdout, stderr: stderr + sanitizerLog(p.pid), timedOut, ms: Date.now() - t0, pid: p.pid,
        result: line ? JSON.parse(line.slice('@@RESULT '.length)) : undefined, trace: last });
    });
  });
}

const results = new Map<string, ChildResult & { trace: string }>();
let wall = 0;

beforeAll(async () => {
  const t0 = Date.now();
  const rs = await runMany(names.length, 2, (i) => runLoss(names[i], i));
  rs.forEach((r, i) => results.set(names[i], r));
  wall = Date.now() - t0;
}, 900000);

afterAll(() => {
  let cases = 0;
  let calls = 0;
  let det = 0;
  let big = 0;
  let ok = 0;
  for (const r of results.values()) {
    const s = r.result as Summary | undefined;
    if (!s) continue;
    cases += s.stats.cases;
    calls += s.stats.calls;
    det += s.stats.determinism;
    big += s.stats.big;
    ok += s.stats.okCases;
  }
  console.log(`property suite: seed ${SEED} (FASTLOSS_FUZZ_SEED), ${RUNS} runs per loss (FASTLOSS_FUZZ_RUNS), ${names.length} losses: ` +
    `${cases} cases fuzzed (${ok} with a result, ${cases - ok} rejected with an error, ${big} across the threading grain), ${calls} calls, ` +
    `${det} thread-count determinism configurations checked (2 and 3 threads against 1), ${(wall / 1000).toFixed(1)} s`);
});

test('every loss of the torch and keras namespaces has a fuzz spec', () => {
  expect(names.length).toBeGreaterThan(0);
  expect(names.filter((n) => !(n in specs))).toEqual([]);
  expect(Object.keys(specs).filter((n) => !names.includes(n))).toEqual([]);
});

test.each(names)('%s: no crash, named errors, nothing written on error, withGrad == forward/backward, async == sync, threads 1 == 2 == 3', (name) => {
  const r = results.get(name)!;
  const why = crashOf(r);
  if (why !== null) {
    throw new Error(`the fuzz child crashed: ${why}\nlast case: ${r.trace}\nreproduce: node test/fuzz/run.js --loss ${name} --seed ${SEED + names.indexOf(name) * 1000} --runs ${RUNS}\n` +
      `--- stderr (tail) ---\n${r.stderr.split('\n').slice(-30).join('\n')}`);
  }
  const s = r.result as Summary;
  expect(s.stats.cases).toBe(RUNS);
  const v = s.violations.map((x) => `${x.check} (${x.count} of ${s.stats.cases} cases), e.g. ${x.example.detail} in ${x.example.case}`);
  expect(v).toEqual([]);
});
