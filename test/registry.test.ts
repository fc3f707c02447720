// Adding a loss is checked end to end: every loss kernel of the native table (namespace torch or keras)
// must have a facade export of the same name, a fixture file with enough cases, a README row, a benchmark
// workload (or a no-bench entry with its reason) and a property-suite spec. Each failure says what to add and where;
// docs/ARCHITECTURE.md "Adding a loss" walks through the files in order.
//
// Which kernels are losses: those named torch.* or keras.*. Every other namespace is internal (not
// exported by the facade) and must be listed in INTERNAL_NAMESPACES below, so a new framework namespace
// cannot slip past these checks.
import * as fs from 'fs';
import * as path from 'path';
import * as fastloss from '../src';
import { native } from '../src/core/native';
import { FIXTURE_MAX_BYTES, fixtureFiles, FixtureFile, readFixture } from './helpers/fixtures';
import { AnyLoss, findLoss } from './helpers/losses';
import { callArgs, Case } from './helpers/parity';

const ROOT = path.join(__dirname, '..');
const LOSS_NAMESPACES = ['torch', 'keras'];
const INTERNAL_NAMESPACES: Record<string, string> = {
  probe: 'benchmark probes (bench/run.js)',
  simd: 'vmath accuracy checks (test/vmath.test.ts)',
  libm: 'C library side of the vmath accuracy checks',
};
/** Namespaces of class forms inside torch / keras (torch.nn, keras.losses): not losses themselves. */
const CLASS_NAMESPACES: Record<string, string> = { torch: 'nn', keras: 'losses' };
/** Fewest fixture cases per loss (the smallest today: keras.poisson, three reductions x unweighted/weighted). */
const MIN_CASES = 6;

const kernelNames = Object.keys(native.kernels).sort();
const losses = kernelNames.filter((k) => LOSS_NAMESPACES.includes(k.split('.')[0]));


/** README.md "## Losses" table: one row per family, columns family | torch | keras, names in backticks. */
function readmeLossColumns(): Record<string, string[]> {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((s) => s.startsWith('Losses\n')) ?? '';
  const rows = section.split('\n').filter((l) => l.startsWith('|')).map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
  const header = rows[0] ?? [];
  const columns: Record<string, string[]> = {};
  for (const ns of LOSS_NAMESPACES) {
    const at = header.indexOf(ns);
    columns[ns] = at < 0 ? [] : rows.slice(2).map((r) => r[at] ?? '');
  }
  return columns;
}

interface NoBench { losses: Record<string, string> }
const NO_BENCH_FILE = 'bench/workloads/no-bench.json';
const noBench = (JSON.parse(fs.readFileSync(path.join(ROOT, NO_BENCH_FILE), 'utf8')) as NoBench).losses;
const workloads = (require('../bench/workloads') as { loadWorkloads(): { name: string; file: string }[] }).loadWorkloads();
const fuzzSpecs = (require('./fuzz/specs') as { specs: Record<string, unknown> }).specs;

const fixtures = fixtureFiles();
const readme = readmeLossColumns();

/** The reductions the facade accepts, read from its error for an unknown one (called with a fixture's arrays). */
function acceptedReductions(loss: AnyLoss, c: Case): string[] | string {
  const { arrays, opts } = callArgs(c);
  try {
    loss(...arrays, { ...opts, reduction: '(registry probe)' });
  } catch (e) {
    const m = /opts\.reduction must be one of (.*), got/.exec((e as Error).message);
    if (m) return [...m[1].matchAll(/'([^']+)'/g)].map((x) => x[1]);
    return `the call with an unknown reduction threw "${(e as Error).message}"`;
  }
  return 'the call with an unknown reduction did not throw';
}

function fixtureProblems(name: string, files: FixtureFile[], loss: AnyLoss | undefined): string[] {
  const want = `test/fixtures/<family>/${name}.json`;
  const howTo = `write its cases in scripts/gen_fixtures.py (reference: PyTorch autograd, or a Keras / torchvision formula in scripts/references.py) and run npm run fixtures`;
  if (files.length === 0) return [`fixtures: no ${want}; ${howTo}`];
  if (files.length > 1) return [`fixtures: ${files.map((f) => path.relative(ROOT, f.path)).join(' and ')}: keep one file`];
  const file = files[0];
  const rel = path.relative(ROOT, file.path);
  const out: string[] = [];
  if (file.bytes > FIXTURE_MAX_BYTES) out.push(`fixtures: ${rel} has ${file.bytes} bytes, the budget is ${FIXTURE_MAX_BYTES}: use fewer or smaller cases`);
  const { generator, cases } = readFixture<Case>(file);
  if (typeof generator !== 'string' || !/^scripts\/[\w.-]+\.py$/.test(generator) || !fs.existsSync(path.join(ROOT, generator)))
    out.push(`fixtures: ${rel} names no generator script that exists ("generator": ${JSON.stringify(generator)}); fixtures are written by a script in scripts/, never by hand`);
  const foreign = cases.filter((c) => c.loss !== name || !c.id.startsWith(`${name}/`));
  if (foreign.length) out.push(`fixtures: ${rel} holds ${foreign.length} case(s) of another loss or with an id not starting with '${name}/' (first: ${foreign[0].id})`);
  if (cases.length < MIN_CASES) out.push(`fixtures: ${rel} has ${cases.length} cases, at least ${MIN_CASES} needed; ${howTo}`);
  if (!loss || cases.length === 0) return out;
  const reductions = acceptedReductions(loss, cases[0]);
  if (typeof reductions === 'string') {
    out.push(`fixtures: cannot read the reductions of ${name} (${reductions}); the facade must reject an unknown opts.reduction with "must be one of ..."`);
    return out;
  }
  const withGrad = new Set(cases.filter((c) => c.expected.grad !== undefined).map((c) => c.opts?.reduction));
  const missing = reductions.filter((r) => !withGrad.has(r));
  if (missing.length) {
    out.push(`fixtures: ${rel} has no case with an expected gradient for reduction ${missing.map((r) => `'${r}'`).join(', ')} ` +
      `(${name} accepts ${reductions.join(', ')}; set opts.reduction explicitly); ${howTo}`);
  }
  return out;
}

function problemsOf(name: string): string[] {
  const [ns, short] = name.split('.');
  const out: string[] = [];
  const loss = findLoss(name);
  if (!loss) {
    out.push(`facade: require('../src').${name} is missing; add \`export const ${short} = defineLoss<...>({ name: '${name}', ... })\` ` +
      `to src/${ns}/<family>.ts (src/${ns}/index.ts re-exports the family files)`);
  } else if (loss.lossName !== name) {
    out.push(`facade: require('../src').${name} is defined with name '${String(loss.lossName)}'; defineLoss({ name: '${name}' }) must match the kernel`);
  }
  out.push(...fixtureProblems(name, fixtures.filter((f) => f.loss === name), loss));
  if (!readme[ns].some((cell) => cell.includes(`\`${short}\``))) {
    out.push(`README: no \`${short}\` in the ${ns} column of the table under "## Losses" in README.md; add it to its family's row with its options and defaults`);
  }
  const benched = workloads.filter((w) => w.name === name);
  const reason = noBench[name];
  if (benched.length === 0 && !(typeof reason === 'string' && reason.trim())) {
    out.push(`bench: no workload named '${name}' in bench/workloads/*.js (fields: bench/workloads/common.js) ` +
      `and no entry in ${NO_BENCH_FILE}; add a workload, or "${name}": "<why it needs none>" there`);
  }
  if (benched.length > 0 && reason !== undefined) {
    out.push(`bench: ${name} has a workload (bench/workloads/${benched[0].file}); remove its stale entry from ${NO_BENCH_FILE}`);
  }
  if (!(name in fuzzSpecs)) {
    out.push(`property suite: no spec '${name}' in test/fuzz/specs.js; add one (e.g. '${name}': ${ns}Pair({ <option>: <value makers> }))`);
  }
  return out;
}

describe('registry: every loss kernel is complete on every layer', () => {
  test('the kernel table has losses, and every other namespace is a known internal one', () => {
    expect(losses.length).toBeGreaterThan(0);
    const unknown = kernelNames.filter((k) => !LOSS_NAMESPACES.includes(k.split('.')[0]) && !(k.split('.')[0] in INTERNAL_NAMESPACES));
    if (unknown.length) {
      throw new Error(`kernels ${unknown.join(', ')} are neither losses (${LOSS_NAMESPACES.join(', ')}) nor internal ` +
        `(${Object.keys(INTERNAL_NAMESPACES).join(', ')}): name a loss kernel torch.* or keras.*, or add the namespace to INTERNAL_NAMESPACES in test/registry.test.ts with what it is for`);
    }
  });

  test.each(losses)('%s', (name) => {
    const problems = problemsOf(name);
    if (problems.length) throw new Error(`${name} is not complete:\n  - ${problems.join('\n  - ')}`);
    expect(problems).toEqual([]);
  });

  test('the facade namespaces hold losses only, each backed by a kernel', () => {
    const stray: string[] = [];
    for (const ns of LOSS_NAMESPACES) {
      for (const [key, v] of Object.entries((fastloss as unknown as Record<string, Record<string, unknown>>)[ns])) {
        if (key === CLASS_NAMESPACES[ns]) continue;
        const name = (v as AnyLoss | undefined)?.lossName;
        if (typeof v !== 'function' || name !== `${ns}.${key}` || !(name in native.kernels)) stray.push(`${ns}.${key}`);
      }
    }
    if (stray.length) throw new Error(`require('../src') exports ${stray.join(', ')}, which are not losses backed by a kernel of the same name: move helpers out of the torch/keras namespaces (e.g. src/core/)`);
    expect(stray).toEqual([]);
  });

  test('the checks fire: a kernel with nothing else gets one instruction per missing piece', () => {
    const problems = problemsOf('torch.registryProbeLoss');
    expect(problems).toEqual([
      expect.stringMatching(/^facade: .*export const registryProbeLoss = defineLoss.*src\/torch\/<family>\.ts/),
      expect.stringMatching(/^fixtures: no test\/fixtures\/<family>\/torch\.registryProbeLoss\.json; write its cases in scripts\/gen_fixtures\.py/),
      expect.stringMatching(/^README: no `registryProbeLoss` in the torch column of the table under "## Losses"/),
      expect.stringMatching(/^bench: no workload named 'torch\.registryProbeLoss' in bench\/workloads\/\*\.js .*bench\/workloads\/no-bench\.json/),
      expect.stringMatching(/^property suite: no spec 'torch\.registryProbeLoss' in test\/fuzz\/specs\.js/),
    ]);
  });

  test('every fixture file and no-bench entry names a loss kernel', () => {
    const orphans = [
      ...fixtures.filter((f) => !losses.includes(f.loss)).map((f) => `${path.relative(ROOT, f.path)} (no kernel ${f.loss})`),
      ...Object.keys(noBench).filter((n) => !losses.includes(n)).map((n) => `${NO_BENCH_FILE}: "${n}" (no such kernel)`),
    ];
    if (orphans.length) throw new Error(`entries for losses the kernel table does not have:\n  - ${orphans.join('\n  - ')}`);
    expect(orphans).toEqual([]);
  });

  test('every torch.* loss has a torch.nn class (keras.*: a keras.losses class) or a documented reason', () => {
    const missing: string[] = [];
    const classes = { torch: fastloss.torch.nn, keras: fastloss.keras.losses } as unknown as Record<string, Record<string, unknown>>;
    for (const info of fastloss.losses()) {
      const where = `${info.framework}.${CLASS_NAMESPACES[info.framework]}`;
      if (info.className === null) {
        if (!info.classNote || info.classNote.length < 20) missing.push(`${info.name}: no class and no reason (add it to CLASSLESS in src/core/catalog.ts)`);
        continue;
      }
      const C = classes[info.framework][info.className] as { name?: string } | undefined;
      if (typeof C !== 'function' || C.name !== info.className) missing.push(`${info.name}: ${where}.${info.className} is not exported`);
    }
    expect(fastloss.losses().map((i) => i.name).sort()).toEqual(losses);
    if (missing.length) throw new Error(`class forms missing:\n  - ${missing.join('\n  - ')}\n(add them to src/torch/nn.ts / src/keras/losses.ts)`);
    expect(missing).toEqual([]);
  });
});
