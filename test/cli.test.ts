// The `fastloss` command: results against PyTorch 1.13 (test/fixtures/io/expected.json), --json shapes,
// shard + merge = the whole, list / info / demo / help, and for bad input the exit status, ONE line on
// stderr naming the file or argument (and the row), and no --out file, also when killed mid-run.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawn, spawnSync } from 'child_process';
import { errorLine, main } from '../src/cli';
import { writeNpy } from '../src/io';

const ROOT = path.join(__dirname, '..');
const BIN = path.join(ROOT, 'bin', 'fastloss');
const FIX = path.join(__dirname, 'fixtures', 'io');
const fix = (name: string): string => path.join(FIX, name);
const expected = JSON.parse(fs.readFileSync(fix('expected.json'), 'utf8'));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-cli-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the CLI in this process: status, stdout; a thrown error becomes its one line and status. */
async function cli(...argv: string[]): Promise<{ status: number; out: string; err: string }> {
  let out = '';
  try {
    const status = await main(argv, (s) => { out += `${s}\n`; });
    return { status, out, err: '' };
  } catch (e) {
    const { line, status } = errorLine(e);
    return { status, out, err: line };
  }
}

/** Runs bin/fastloss as a process (stdout and stderr are pipes, not terminals). */
function bin(...argv: string[]): { status: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, ...argv], { cwd: tmp, encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.abs(b);
const CE = ['torch.crossEntropy', '--pred', fix('logits.npy'), '--target', fix('labels.npy')];

describe('fastloss score', () => {
  test('torch.crossEntropy from .npy files equals PyTorch', async () => {
    for (const reduction of ['mean', 'sum']) {
      const r = await cli('score', ...CE, '--reduction', reduction, '--json');
      expect(r.status).toBe(0);
      const doc = JSON.parse(r.out);
      expect(rel(doc.result, expected.torch.crossEntropy[reduction])).toBeLessThan(1e-6);
      expect(doc).toMatchObject({ loss: 'torch.crossEntropy', reduction, rows: 64, elements: 320 });
      for (const k of ['seconds', 'rowsPerSecond', 'elementsPerSecond']) expect(typeof doc[k]).toBe('number');
      expect(doc.state.kind).toBe('fastloss.accumulator');
    }
  });

  test('names: snake_case, no framework, no Loss suffix', async () => {
    const a = JSON.parse((await cli('score', 'cross_entropy', ...CE.slice(1), '--json')).out).result;
    const b = JSON.parse((await cli('score', 'crossEntropy', ...CE.slice(1), '--json')).out).result;
    expect(a).toBe(b);
    const mse = await cli('score', 'mse', '--pred', fix('pred.npy'), '--target', fix('target.npy'), '--json');
    expect(rel(JSON.parse(mse.out).result, expected.torch.mseLoss.mean)).toBeLessThan(1e-6);
  });

  test('the same result from .npz members, any chunk size, and the human summary', async () => {
    for (const rows of ['1', '5', '64', '1000']) {
      const r = await cli('score', 'torch.crossEntropy', '--pred', `${fix('deflated.npz')}:logits`, '--target', `${fix('stored.npz')}:labels`,
        '--chunk-rows', rows, '--json');
      expect(rel(JSON.parse(r.out).result, expected.torch.crossEntropy.mean)).toBeLessThan(1e-6);
    }
    const text = await cli('score', ...CE);
    expect(text.out).toMatch(/^torch\.crossEntropy \(mean\) = 1\.75196\d+\n {2}64 rows, 320 elements in [\d.]+ s: /);
  });

  test('--out writes the unreduced losses as .npy (PyTorch reduction none)', async () => {
    const out = path.join(tmp, 'losses.npy');
    const r = await cli('score', ...CE, '--out', out, '--chunk-rows', '10');
    expect(r.status).toBe(0);
    const { readAll } = await import('../src/io');
    const { data, shape } = await readAll(out, 'float32');
    expect(shape).toEqual([64]);
    data.forEach((v, i) => expect(rel(v, expected.torch.crossEntropy.none[i])).toBeLessThan(1e-5));
    expect(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  test('--shard i/n --json prints partial states that merge to the whole', async () => {
    const whole = JSON.parse((await cli('score', ...CE, '--json')).out);
    for (const n of [1, 3, 7]) {
      const parts: string[] = [];
      for (let i = 0; i < n; i++) {
        const r = await cli('score', ...CE, '--shard', `${i}/${n}`, '--json');
        const doc = JSON.parse(r.out);
        expect(doc.kind).toBe('fastloss.accumulator');
        expect(doc.shard).toMatchObject({ index: i, count: n, totalRows: 64 });
        const file = path.join(tmp, `part-${n}-${i}.json`);
        fs.writeFileSync(file, r.out);
        parts.push(file);
      }
      const merged = JSON.parse((await cli('merge', ...parts.reverse(), '--json')).out);
      expect(merged).toMatchObject({ loss: 'torch.crossEntropy', reduction: 'mean', rows: 64, elements: 320, parts: n });
      expect(rel(merged.result, whole.result)).toBeLessThan(1e-12);
      expect(rel(merged.result, expected.torch.crossEntropy.mean)).toBeLessThan(1e-6);
      // A merged state merges again.
      fs.writeFileSync(path.join(tmp, 'merged.json'), JSON.stringify(merged));
      expect(JSON.parse((await cli('merge', path.join(tmp, 'merged.json'), '--json')).out).result).toBe(merged.result);
    }
    const p0 = path.join(tmp, 'part-3-0.json');
    expect((await cli('merge', p0)).err).toBe('fastloss merge: shards 1/3, 2/3 missing; pass --partial to merge what is there');
    expect((await cli('merge', p0, p0)).err).toMatch(/are both shard 0\/3/);
    expect((await cli('merge', p0, path.join(tmp, 'part-7-1.json'))).err).toMatch(/of a 3-way split/);
    expect((await cli('merge', p0, '--partial', '--json')).status).toBe(0);
  });
});

describe('options, weights and other inputs: the file path equals the in-memory call', () => {
   
  const fastloss = require('../src');
  const N = 300;
  const C = 4;
  const wave = (k: number, n: number): Float32Array => Float32Array.from({ length: n }, (_, i) => 0.5 + 0.45 * Math.sin(i * k));
  const p = wave(0.7, N * C);
  const t = wave(1.3, N * C);
  const w = wave(2.1, N);
  const cw = Float32Array.from([0.5, 1, 2, 0.25, 1.5, 1, 1, 0.75, 2, 1]);
  const file = (name: string, data: Float32Array, shape: number[]): string => {
    const f = path.join(tmp, name);
    writeNpy(f, data, shape);
    return f;
  };
  const result = async (...argv: string[]): Promise<number> => {
    const r = await cli('score', ...argv, '--json');
    expect(r.err).toBe('');
    return JSON.parse(r.out).result;
  };

  test('--weight streams Keras sampleWeight with the rows', async () => {
    const got = await result('keras.meanSquaredError', '--pred', file('kp.npy', p, [N, C]), '--target', file('kt.npy', t, [N, C]),
      '--weight', file('kw.npy', w, [N]), '--chunk-rows', '7');
    expect(rel(got, fastloss.keras.meanSquaredError(t, p, { shape: [N, C], sampleWeight: w }))).toBeLessThan(1e-12);
  });

  test('--opt weight=FILE (class weights) and --opt labelSmoothing', async () => {
    const { readAll } = await import('../src/io');
    const logits = (await readAll(fix('logits.npy'), 'float32')).data;
    const labels = (await readAll(fix('labels.npy'), 'int32')).data;
    const got = await result(...CE, '--opt', `weight=${file('cw.npy', cw.subarray(0, 5), [5])}`, '--opt', 'labelSmoothing=0.1', '--chunk-rows', '9');
    expect(rel(got, fastloss.torch.crossEntropy(logits, labels, { shape: [64, 5], weight: cw.subarray(0, 5), labelSmoothing: 0.1 }))).toBeLessThan(1e-12);
  });

  test('--input NAME=FILE for a loss of three inputs', async () => {
    const got = await result('torch.tripletMarginLoss', '--input', `anchor=${path.join(tmp, 'kp.npy')}`, '--input', `positive=${path.join(tmp, 'kt.npy')}`,
      '--input', `negative=${file('kn.npy', wave(0.3, N * C), [N, C])}`, '--chunk-rows', '11');
    expect(rel(got, fastloss.torch.tripletMarginLoss(p, t, wave(0.3, N * C), { shape: [N, C] }))).toBeLessThan(1e-12);
  });

  test('--shape regroups a flat .npy', async () => {
    const got = await result('keras.meanSquaredError', '--pred', file('flat-p.npy', p, [N * C]), '--target', file('flat-t.npy', t, [N * C]),
      '--shape', `-1,${C}`, '--weight', path.join(tmp, 'kw.npy'));
    expect(rel(got, fastloss.keras.meanSquaredError(t, p, { shape: [N, C], sampleWeight: w }))).toBeLessThan(1e-12);
  });
});

describe('bad input: one line, the file or argument, exit status', () => {
  test.each([
    [['score', ...CE.slice(0, 2), fix('nope.npy'), ...CE.slice(3)], 1, /^fastloss: .*nope\.npy: no such file$/],
    [['score', ...CE.slice(0, 4), fix('labels_out_of_range.npy')], 1, /labels_out_of_range\.npy: row 17: torch\.crossEntropy: target\[17\] is 5; expected a class index in \[0, 5\)/],
    [['score', ...CE.slice(0, 4), fix('labels_short.npy')], 1, /labels_short\.npy: has 63 rows; --pred .*logits\.npy has 64/],
    [['score', 'keras.sparseCategoricalCrossentropy', '--pred', fix('logits.npy'), '--target', fix('labels_float.npy')], 1, /labels_float\.npy: holds float32; expected integers/],
    [['score', ...CE.slice(0, 4), fix('labels_float.npy')], 1, /target has length 64; class probabilities need .* --target .*labels_float\.npy is float32 \[64\]/],
    [['score', ...CE.slice(0, 4), fix('bad_fortran.npy')], 1, /bad_fortran\.npy: is in Fortran order/],
    [['score', 'crossEntropyy', ...CE.slice(1)], 2, /unknown loss 'crossEntropyy' \(did you mean torch\.crossEntropy\?\)/],
    [['score', ...CE, '--opt', 'bogus=1'], 2, /--opt bogus: torch\.crossEntropy has no option 'bogus' \(options: weight, ignoreIndex, labelSmoothing\)/],
    [['score', ...CE, '--opt', 'labelSmoothing=2'], 2, /--opt labelSmoothing must be in \[0, 1\], got 2/],
    [['score', ...CE, '--reduction', 'none'], 2, /--reduction none: torch\.crossEntropy reduces with mean, sum/],
    [['score', ...CE, '--shard', '3/3'], 2, /--shard must be I\/N with 0 <= I < N/],
    [['score', ...CE, '--threads', '0'], 2, /--threads must be an integer >= 1/],
    [['score', ...CE, '--bogus'], 2, /unknown option --bogus/],
    [['score', ...CE.slice(0, 3)], 2, /torch\.crossEntropy needs target: pass --target/],
    [['score', ...CE, '--out', 'x.txt'], 2, /--out must name a \.npy file/],
    [['frobnicate'], 2, /unknown command 'frobnicate'/],
  ])('%j', async (argv, status, message) => {
    const r = await cli(...(argv as string[]));
    expect(r.status).toBe(status);
    expect(r.err).toMatch(message as RegExp);
    expect(r.err).not.toMatch(/\n/);
  });

  test('a truncated file: exit 1, one line with the row, nothing on stdout, no --out file (process)', () => {
    const cut = path.join(tmp, 'cut.npy');
    const good = fs.readFileSync(fix('logits.npy'));
    fs.writeFileSync(cut, good.subarray(0, good.length - 50));
    const out = path.join(tmp, 'never.npy');
    const r = bin('score', 'torch.crossEntropy', '--pred', cut, '--target', fix('labels.npy'), '--out', out);
    expect(r.status).toBe(1);
    expect(r.out).toBe('');
    expect(r.err).toBe(`fastloss: ${cut}: is truncated: row 61 of 64 is incomplete (1230 of 1280 data bytes)\n`);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('never'))).toEqual([]);
  });

  test('a data error mid-file removes the temporary --out file', async () => {
    const out = path.join(tmp, 'partial.npy');
    const r = await cli('score', ...CE.slice(0, 4), fix('labels_out_of_range.npy'), '--out', out, '--chunk-rows', '8');
    expect(r.status).toBe(1);
    expect(fs.readdirSync(tmp).filter((f) => f.includes('partial'))).toEqual([]);
  });

  test('SIGTERM during a long score: no --out file and no temporary file left', async () => {
    const n = 400000;
    const pred = path.join(tmp, 'long-pred.npy');
    const target = path.join(tmp, 'long-target.npy');
    writeNpy(pred, new Float32Array(n).fill(0.25), [n]);
    writeNpy(target, new Float32Array(n).fill(0.5), [n]);
    const dir = fs.mkdtempSync(path.join(tmp, 'kill-'));
    const out = path.join(dir, 'losses.npy');
    // One row per chunk: long enough to be killed in the middle.
    const child = spawn(process.execPath, [BIN, 'score', 'torch.l1Loss', '--pred', pred, '--target', target, '--out', out, '--chunk-rows', '1'],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    // Wait until the temporary file exists (it is being written), then kill.
    const t0 = Date.now();
    while (!fs.readdirSync(dir).some((f) => f.endsWith('.tmp'))) {
      if (Date.now() - t0 > 15000) throw new Error('the temporary file never appeared');
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(143);
    expect(stdout).toBe('');
    expect(stderr).toBe('fastloss: interrupted (SIGTERM); no output written\n');
    expect(fs.readdirSync(dir)).toEqual([]);
  });
});

describe('commands', () => {
  test('a successful score writes nothing on stderr when it is not a terminal', () => {
    const r = bin('score', ...CE);
    expect(r.status).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^torch\.crossEntropy \(mean\) = /);
  });

  test('list: every loss with arguments, options, defaults and reductions, from the definitions', async () => {
    const doc = JSON.parse((await cli('list', '--json')).out);
     
    const fastloss = require('../src');
    const names = fastloss.losses().map((l: { name: string }) => l.name);
    expect(doc.map((d: { name: string }) => d.name).sort()).toEqual(names.sort());
    const ce = doc.find((d: { name: string }) => d.name === 'torch.crossEntropy');
    expect(ce).toEqual({
      name: 'torch.crossEntropy',
      args: [{ name: 'input', type: 'float32', differentiable: true }, { name: 'target', type: 'float32, or int32 class indices', differentiable: false }],
      options: [{ name: 'weight', default: null }, { name: 'ignoreIndex', default: -100 }, { name: 'labelSmoothing', default: 0 }],
      reductions: ['mean', 'sum', 'none'],
      defaultReduction: 'mean',
    });
    const text = (await cli('list', 'huber')).out;
    expect(text).toContain('torch.huberLoss(input*: float32, target: float32)\n    options: delta = 1');
    expect(text).toContain('keras.huber(');
  });

  test('info: version, ISA, threads, runtime, readers', async () => {
    const doc = JSON.parse((await cli('info', '--json')).out);
     
    expect(doc.version).toBe(require('../package.json').version);
    for (const k of ['isa', 'cpuIsa', 'threads', 'maxThreads', 'openmp']) expect(doc[k]).toBeDefined();
    expect(doc.readers.npy).toBe('built in');
    expect((await cli('info')).out).toMatch(/^fastloss \d+\.\d+\.\d+ .*\n {2}SIMD level/);
  });

  test('demo: writes the dataset, scores it, and the file result equals the in-memory one', async () => {
    const dir = path.join(tmp, 'demo');
    const r = await cli('demo', '--dir', dir, '--rows', '500');
    expect(r.status).toBe(0);
    expect(fs.readdirSync(dir).sort()).toEqual(['labels.npy', 'logits.npy', 'losses.npy']);
    const fromFile = Number(/torch\.crossEntropy \(mean\) = ([\d.]+)/.exec(r.out)![1]);
    const inMemory = Number(/in memory, .* = ([\d.]+)/.exec(r.out)![1]);
    expect(rel(fromFile, inMemory)).toBeLessThan(1e-12);
    expect(r.out).toContain('the 5 worst examples');
    // NumPy reads the demo's files too.
    const py = spawnSync('/usr/bin/python3', ['-c', `import numpy as np; print(np.load('${dir}/logits.npy').shape, np.load('${dir}/labels.npy').dtype)`], { encoding: 'utf8' });
    if (py.status === 0) expect(py.stdout.trim()).toBe('(500, 10) int64');
  });

  test('--help for every command, exit 0; no command: usage, exit 2', async () => {
    for (const c of ['score', 'list', 'info', 'demo', 'merge']) {
      const r = await cli(c, '--help');
      expect(r.status).toBe(0);
      expect(r.out).toMatch(new RegExp(`^usage: fastloss ${c}`));
    }
    expect((await cli('--help')).out).toMatch(/^usage: fastloss <command>/);
    expect((await cli()).status).toBe(2);
  });
});
