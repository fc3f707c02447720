// The published types, as a consumer sees them: the packed tarball (npm pack --ignore-scripts of the
// built dist/) checked by arethetypeswrong for node10, node16 (CJS and ESM) and bundler, and a consumer
// project compiled against it with TypeScript 5.0 and the latest 5.x, without skipLibCheck, under
// each of those resolutions. The consumer: test/types/consumer/ (tsconfigs and checks.body).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.join(__dirname, '..');
const consumerSources = path.join(__dirname, 'types', 'consumer');
let work: string;
let tarball: string;

beforeAll(() => {
  for (const f of ['index.d.ts', 'index.d.mts', 'index.mjs'])
    if (!fs.existsSync(path.join(root, 'dist', f))) throw new Error(`dist/${f} is missing: npm run build:ts`);
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-types-'));
  const out = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work],
    { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  tarball = path.join(work, (JSON.parse(out) as { filename: string }[])[0].filename);
  // The consumer: its own node_modules/fastloss from the tarball, no @types (the declarations need none).
  const pkg = path.join(work, 'consumer', 'node_modules', 'fastloss');
  fs.mkdirSync(pkg, { recursive: true });
  execFileSync('tar', ['xzf', tarball, '-C', pkg, '--strip-components=1']);
  for (const f of fs.readdirSync(consumerSources)) fs.copyFileSync(path.join(consumerSources, f), path.join(work, 'consumer', f));
  // One body of checks (checks.body), compiled once per resolution under that resolution's import form.
  const body = fs.readFileSync(path.join(consumerSources, 'checks.body'), 'utf8');
  const named = "import { getNumThreads, keras, losses, torch } from 'fastloss';\n";
  const esmDefault = "import fastloss, { getNumThreads, keras, losses } from 'fastloss';\nconst { torch } = fastloss;\n";
  const header = "// Written by test/types-package.test.ts from checks.body; compiled, never run.\nimport type { LossInfo } from 'fastloss';\n";
  for (const [file, imports] of [['bundler.ts', named], ['node10.ts', named], ['node16-cjs.cts', named], ['node16-esm.mts', esmDefault]])
    fs.writeFileSync(path.join(work, 'consumer', file), header + imports + body);
}, 120_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('arethetypeswrong finds no problem for node10, node16 (CJS, ESM) and bundler', () => {
  const r = spawnSync(process.execPath, [path.join(path.dirname(require.resolve('@arethetypeswrong/cli/package.json')), 'dist', 'index.js'), tarball, '--format', 'json'],
    { encoding: 'utf8', timeout: 60_000 });
  const report = JSON.parse(r.stdout) as {
    analysis: { problems: unknown[]; entrypoints: Record<string, { resolutions: Record<string, { resolution?: { fileName: string } }> }> };
  };
  expect(report.analysis.problems).toEqual([]);
  const main = report.analysis.entrypoints['.'].resolutions;
  expect(main.node10.resolution?.fileName).toMatch(/dist\/index\.d\.ts$/);
  expect(main['node16-cjs'].resolution?.fileName).toMatch(/dist\/index\.d\.ts$/);
  expect(main['node16-esm'].resolution?.fileName).toMatch(/dist\/index\.d\.mts$/);
  expect(main.bundler.resolution?.fileName).toMatch(/dist\/index\.d\.mts$/);
  expect(r.status).toBe(0);
}, 90_000);

const compilers = [['5.0', 'typescript-5.0'], ['latest 5.x', 'typescript']] as const;
const projects = ['tsconfig.node10.json', 'tsconfig.node16.json', 'tsconfig.bundler.json'];

describe.each(compilers)('the declarations compile with TypeScript %s, without skipLibCheck', (_label, pkg) => {
  test.each(projects)('%s', (project) => {
    const tsc = require.resolve(`${pkg}/bin/tsc`);
    const version = (require(`${pkg}/package.json`) as { version: string }).version;
    if (pkg === 'typescript-5.0') expect(version).toBe('5.0.4');
    const r = spawnSync(process.execPath, [tsc, '-p', project], { cwd: path.join(work, 'consumer'), encoding: 'utf8', timeout: 60_000 });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  }, 90_000);
});
