// The README's examples run as written: every block marked `<!-- example: NAME (commonjs|esm) -->` is run
// with Node against the built package (a temporary node_modules/fastloss linked to this checkout), and
// what it prints must be the block marked `<!-- output: NAME -->`, numbers within the 4 printed decimals.
// Output numbers come from PyTorch 1.13 / Keras' formulas: each output line must also be the comment of a
// line of the example's `<!-- reference: NAME -->` block (the PyTorch / Keras code), when it has one.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

function blocks(kind: string, lang: string): Map<string, { text: string; module?: string }> {
  const re = new RegExp(`<!-- ${kind}: ([\\w-]+)(?: \\((commonjs|esm)\\))? -->\\n+\`\`\`${lang}\\n([\\s\\S]*?)\`\`\`\\n`, 'g');
  const out = new Map<string, { text: string; module?: string }>();
  for (const m of readme.matchAll(re)) {
    if (out.has(m[1])) throw new Error(`README: two ${kind} blocks named ${m[1]}`);
    out.set(m[1], { text: m[3], module: m[2] });
  }
  return out;
}

const examples = blocks('example', 'js');
const outputs = blocks('output', 'text');
const references = blocks('reference', 'python');
const NUMBER = /-?\d+(?:\.\d+)?(?:e[-+]?\d+)?/g;

let work: string;
beforeAll(() => {
  if (!fs.existsSync(path.join(root, 'dist', 'index.mjs'))) throw new Error('dist/ is missing: npm run build:ts');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-readme-'));
  fs.mkdirSync(path.join(work, 'node_modules'));
  fs.symlinkSync(root, path.join(work, 'node_modules', 'fastloss'), 'dir');
});
afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the README has runnable examples: a CommonJS one and an ES module one, each with its output', () => {
  const kinds = [...examples.values()].map((e) => e.module);
  expect(kinds).toContain('commonjs');
  expect(kinds).toContain('esm');
  expect([...outputs.keys()].sort()).toEqual([...examples.keys()].sort());
  for (const name of references.keys()) expect(examples.has(name)).toBe(true);
  // every ```js block of the README is an example (a new one must be marked and given its output)
  // (or says which test runs it: `<!-- run by test/x.test.ts -->`)
  const jsBlocks = readme.match(/^```js$/gm)?.length ?? 0;
  const runElsewhere = [...readme.matchAll(/<!-- run by (test\/[\w.-]+) -->\n+```js\n/g)].map((m) => m[1]);
  for (const file of runElsewhere) expect(fs.readFileSync(path.join(root, file), 'utf8')).toContain('README');
  expect(jsBlocks).toBe(examples.size + runElsewhere.length);
});

/** Lines as text with the numbers taken out, and the numbers. */
function parse(text: string): { shape: string[]; numbers: number[][] } {
  const lines = text.trimEnd().split('\n');
  return { shape: lines.map((l) => l.replace(NUMBER, '#')), numbers: lines.map((l) => (l.match(NUMBER) ?? []).map(Number)) };
}

test.each([...examples.keys()])('README example %s prints its output', (name) => {
  const { text, module } = examples.get(name)!;
  const file = path.join(work, `${name}.${module === 'esm' ? 'mjs' : 'cjs'}`);
  fs.writeFileSync(file, text);
  const r = spawnSync(process.execPath, [file], { cwd: work, encoding: 'utf8', timeout: 60_000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  const got = parse(r.stdout);
  const want = parse(outputs.get(name)!.text);
  expect(got.shape).toEqual(want.shape);
  got.numbers.forEach((line, i) => line.forEach((v, k) => {
    const w = want.numbers[i][k];
    // 4 printed decimals: float32 against the float64 reference may round to the neighbour
    if (!(Math.abs(v - w) <= 1.5e-4)) throw new Error(`${name}: line ${i + 1} number ${k + 1} is ${v}, the README says ${w}`);
  }));
  const ref = references.get(name);
  if (ref) {
    const commented = new Set(ref.text.split('\n').map((l) => /#\s*(.*)$/.exec(l)?.[1]?.trim()).filter(Boolean));
    for (const line of outputs.get(name)!.text.trimEnd().split('\n'))
      if (!commented.has(line.trim())) throw new Error(`${name}: output line "${line}" is not a reference value in the README's ${name} reference block`);
  }
});
