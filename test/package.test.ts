// The packed tarball as users get it: it installs without a compiler, cmake, Python or libgomp
// (test/helpers/no-toolchain.sh hides them in a mount namespace) with npm 11 (defaults,
// --ignore-scripts, --strict-allow-scripts), pnpm 10 and yarn, and works from require and import.
// Where no prebuild matches, require() names the platform and the command that builds from
// source, and that command works. Needs root or unprivileged user namespaces (for the sandbox).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as fastloss from '../src';
import { isaChoices } from './helpers/parity';

const root = path.join(__dirname, '..');
const sandbox = path.join(__dirname, 'helpers', 'no-toolchain.sh');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-pack-'));
const prebuilt = `prebuilds/linux-${process.arch}/fastloss.glibc.node`;
const report: Record<string, unknown> = {};
let tarball = '';
let packedFiles: string[] = [];
let tools = '';

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeout?: number } = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeout ?? 600000, ...opts });
  if (r.error) throw r.error;
  return r;
}

function ok(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = run(cmd, args, opts);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

// What an app runs: small exact values (mseLoss of [0.5, 2, -1, 3] and [1, 2, 0, 1]: squared
// differences 0.25, 0, 1, 4, mean 1.3125, gradient 2 (x - y) / 4), and a 2^21-element call on two
// OpenMP threads against a float64 loop (exact: the squares are multiples of 0.25).
const CHECK_CJS = `
const fs = require('fs');
const fl = require('fastloss');
const x = new Float32Array([0.5, 2.0, -1.0, 3.0]), y = new Float32Array([1.0, 2.0, 0.0, 1.0]);
const { loss, grad } = fl.torch.mseLoss.withGrad(x, y);
fl.setNumThreads(2);
const n = 1 << 21, a = new Float32Array(n), b = new Float32Array(n);
let s = 0;
for (let i = 0; i < n; i++) { a[i] = (i % 7) * 0.5; b[i] = i % 3; s += (a[i] - b[i]) * (a[i] - b[i]); }
const before = fs.readdirSync('/proc/self/task').length;
const big = fl.torch.mseLoss(a, b);
const threadsStarted = fs.readdirSync('/proc/self/task').length - before;
const loaded = Object.keys(require.cache).filter((k) => k.endsWith('.node'));
let internal = 'reachable';
try { require('fastloss/dist/core/native'); } catch (e) { internal = e.code; }
const names = [...Object.keys(fl), ...Object.keys(fl.torch), ...Object.keys(fl.keras)];
console.log(JSON.stringify({ mse: fl.torch.mseLoss(x, y), loss, grad: Array.from(grad), big, bigExpected: s / n,
  threadsStarted, loaded, info: fl.info(), internal, testKernels: names.filter((k) => /simd|libm|probe/i.test(k)),
  top: Object.keys(fl).sort() }));
`;
const CHECK_ESM = `
import { torch } from 'fastloss';
import fl from 'fastloss';
const x = new Float32Array([0.5, 2.0, -1.0, 3.0]), y = new Float32Array([1.0, 2.0, 0.0, 1.0]);
console.log(JSON.stringify({ mse: torch.mseLoss(x, y), grad: Array.from(torch.mseLoss.backward(x, y)), same: fl.torch === torch }));
`;

function expectWorks(app: string, env: NodeJS.ProcessEnv = process.env, wrap: string[] = []): { loaded: string[] } {
  const cjs = JSON.parse(ok(wrap[0] ?? process.execPath, [...wrap.slice(1), ...(wrap.length ? [process.execPath] : []), 'check.cjs'], { cwd: app, env }));
  expect(cjs.mse).toBe(1.3125);
  expect(cjs.loss).toBe(1.3125);
  expect(cjs.grad).toEqual([-0.25, 0, -0.5, 1]);
  expect(Math.abs(cjs.big - cjs.bigExpected)).toBeLessThanOrEqual(1e-7 * cjs.bigExpected);
  expect(cjs.threadsStarted).toBeGreaterThanOrEqual(1);  // the OpenMP team really ran
  expect(cjs.info.openmp).toBe('libgomp');
  // The test-only kernels (simd.*, libm.*, probe.*) live in the internal native module, which exports hides.
  expect(cjs.internal).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  expect(cjs.testKernels).toEqual([]);
  expect(cjs.top).toEqual(['Accumulator', 'accumulatorFromState', 'getNumThreads', 'info', 'keras', 'losses', 'setNumThreads', 'torch']);
  const esm = JSON.parse(ok(wrap[0] ?? process.execPath, [...wrap.slice(1), ...(wrap.length ? [process.execPath] : []), 'check.mjs'], { cwd: app, env }));
  expect(esm).toEqual({ mse: 1.3125, grad: [-0.25, 0, -0.5, 1], same: true });
  return cjs;
}

function newApp(name: string): string {
  const app = path.join(work, name);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: `app-${name}`, version: '1.0.0', private: true }));
  fs.writeFileSync(path.join(app, 'check.cjs'), CHECK_CJS);
  fs.writeFileSync(path.join(app, 'check.mjs'), CHECK_ESM);
  return app;
}

beforeAll(() => {
  // The host's prebuild (incremental after the first time), then the tarball around it.
  ok(process.execPath, [path.join(root, 'scripts', 'prebuild.js'), '--arch', 'host'], { cwd: root });
  const packed = JSON.parse(ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: root }))[0];
  tarball = path.join(work, packed.filename);
  packedFiles = packed.files.map((f: { path: string }) => f.path);
  report.tarball = { file: packed.filename, bytes: packed.size, unpacked: packed.unpackedSize, files: packed.entryCount };
  // pnpm 10 and yarn from npm, into a prefix of their own.
  tools = path.join(work, 'tools');
  ok('npm', ['install', '--prefix', tools, '--no-audit', '--no-fund', 'pnpm@10', 'yarn@1']);
}, 900000);

afterAll(() => {
  fs.mkdirSync(path.join(root, 'build-prebuild'), { recursive: true });
  fs.writeFileSync(path.join(root, 'build-prebuild', 'install-report.json'), JSON.stringify(report, null, 2));
  fs.rmSync(work, { recursive: true, force: true });
});

test('the ES module entry exports every name of the CommonJS entry', () => {
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    "import * as m from './dist/index.mjs'; console.log(JSON.stringify(Object.keys(m).sort()))"], { cwd: root, encoding: 'utf8' });
  const cjsNames = Object.keys(require(path.join(root, 'dist'))).sort();
  expect(JSON.parse(out)).toEqual(['default', ...cjsNames].sort());
  expect(Object.keys(fastloss).sort()).toEqual(cjsNames);
});

test('the tarball holds the prebuild, the sources, LICENSE and CHANGELOG, and no install script', () => {
  for (const f of [prebuilt, 'LICENSE', 'CHANGELOG.md', 'README.md', 'dist/index.js', 'dist/index.mjs', 'dist/index.d.ts',
    'binding/napi/addon.cpp', 'CMakeLists.txt', 'scripts/build-from-source.js', 'package.json'])
    expect(packedFiles).toContain(f);
  expect(packedFiles.filter((f) => /^(test|node_modules|build|build-prebuild|build-tools|src)\//.test(f))).toEqual([]);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  expect(Object.keys(pkg.scripts).filter((s) => /^(pre|post)?install$/.test(s))).toEqual([]);
  expect(Object.keys(pkg.dependencies).sort()).toEqual(['cli-progress', 'node-gyp-build']);  // cli-progress: the CLI's bar (0.1 MB)
});

test('the sandbox has no compiler, cmake, make, Python or libgomp', () => {
  const probe = ['cc', 'gcc', 'g++', 'c++', 'cmake', 'make', 'python3', '/usr/bin/python3']
    .map((c) => `if ${c} --version >/dev/null 2>&1; then echo "found ${c}"; fi`).join('; ');
  const out = ok(sandbox, ['bash', '-c', `${probe}; ls /usr/lib/*/libgomp.so* /usr/lib/libgomp.so* 2>/dev/null || true`]);
  expect(out.trim()).toBe('');
  // The control: a source build (linked to the system libgomp) cannot load there, and says why.
  const dev = path.join(root, 'build', 'Release', 'fastloss.node');
  const r = run(sandbox, [process.execPath, '-e', `require(${JSON.stringify(path.join(root, 'dist'))})`], { env: { ...process.env, FASTLOSS_ADDON: '' } });
  expect(fs.existsSync(dev)).toBe(true);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('fastloss: libgomp.so.1 not found: install libgomp1');
}, 120000);

const installs: [string, (app: string) => string[]][] = [
  ['npm', () => ['npm', 'install', '--no-audit', '--no-fund', tarball]],
  ['npm --ignore-scripts', () => ['npm', 'install', '--no-audit', '--no-fund', '--ignore-scripts', tarball]],
  ['npm --strict-allow-scripts', () => ['npm', 'install', '--no-audit', '--no-fund', '--strict-allow-scripts', tarball]],
  ['pnpm 10', () => [process.execPath, path.join(tools, 'node_modules', 'pnpm', 'bin', 'pnpm.cjs'), 'add', tarball]],
  ['yarn 1', () => [process.execPath, path.join(tools, 'node_modules', 'yarn', 'bin', 'yarn.js'), 'add', '--no-progress', `file:${tarball}`]],
];

test.each(installs)('installs with %s where nothing can build, and works from require and import', (name, cmd) => {
  const app = newApp(name.replace(/\W+/g, '-'));
  const [c, ...args] = cmd(app);
  const t0 = Date.now();
  const r = run(sandbox, [c, ...args], { cwd: app });
  const seconds = (Date.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${name} install failed:\n${r.stdout}\n${r.stderr}`);
  expect(`${r.stdout}\n${r.stderr}`).not.toMatch(/fastloss[^\n]*(install script|allowScripts|approve)/i);
  const res = expectWorks(app, process.env, [sandbox]);
  expect(res.loaded.map((f) => path.basename(path.dirname(path.dirname(f))) + '/' + path.basename(path.dirname(f)) + '/' + path.basename(f)))
    .toEqual([prebuilt]);
  report[`install ${name}, no compiler (s)`] = seconds;
}, 300000);

test('npm install of the tarball with a compiler present takes the prebuild too', () => {
  const app = newApp('with-compiler');
  const t0 = Date.now();
  ok('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app });
  report['install npm, compiler present (s)'] = (Date.now() - t0) / 1000;
  expect(expectWorks(app).loaded[0].endsWith(prebuilt)).toBe(true);
  // An error of the addon's own initialisation comes through as it is, not as "not built".
  const r = run(process.execPath, ['-e', "try { require('fastloss') } catch (e) { console.log(e.message) }"],
    { cwd: app, env: { ...process.env, FASTLOSS_ISA: 'sse9' } });
  expect(r.stdout.trim()).toBe(`fastloss: FASTLOSS_ISA must be ${isaChoices()}, not 'sse9'`);
}, 300000);

test('without a matching prebuild, require names the platform and the command, and that command builds from source', () => {
  const app = newApp('source-build');
  ok('npm', ['install', '--no-audit', '--no-fund', tarball], { cwd: app });
  const musl = { ...process.env, LIBC: 'musl' };  // node-gyp-build then refuses the glibc prebuild
  const r = run(process.execPath, ['check.cjs'], { cwd: app, env: musl });
  expect(r.status).not.toBe(0);
  const m = /Error: (fastloss: no prebuilt binary for linux-\S+ \(musl\).*Build it from source \(needs CMake >= 3\.15, a C\+\+17 compiler and OpenMP\): (node ".*build-from-source\.js"))/.exec(r.stderr);
  expect(m).not.toBeNull();
  expect(m![1]).toMatch(new RegExp(`has prebuilds for .*linux-${process.arch} \\(glibc\\)`));
  const t0 = Date.now();
  ok('sh', ['-c', m![2]], { cwd: work });
  report['build from source (s)'] = (Date.now() - t0) / 1000;
  const res = expectWorks(app, musl);
  expect(res.loaded[0]).toBe(fs.realpathSync(path.join(app, 'node_modules', 'fastloss', 'build', 'Release', 'fastloss.node')));
}, 900000);

test('the prebuild imports nothing newer than GLIBC_2.28 and needs only the C library (objdump -T, readelf -d)', () => {
  const file = path.join(root, prebuilt);
  const dyn = ok('objdump', ['-T', file]);
  const versions = [...new Set([...dyn.matchAll(/\b(GLIBC|GLIBCXX|CXXABI|GCC|GOMP|OMP)_([0-9.]+)/g)].map((m) => m[0]))];
  const newer = (v: string, floor: number[]) => {
    const x = v.split('_')[1].split('.').map(Number);
    for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (floor[i] ?? 0)) return (x[i] ?? 0) > (floor[i] ?? 0);
    return false;
  };
  expect(versions.filter((v) => v.startsWith('GLIBC_'))).toContain('GLIBC_2.2.5');
  expect(versions.filter((v) => !v.startsWith('GLIBC_') || newer(v, [2, 28]))).toEqual([]);  // no libstdc++, libgcc_s or libgomp
  const needed = [...ok('readelf', ['-d', file]).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]).sort();
  expect(needed).toEqual(['ld-linux-x86-64.so.2', 'libc.so.6', 'libdl.so.2', 'libm.so.6', 'libpthread.so.0']
    .filter((n) => process.arch === 'x64' || n !== 'ld-linux-x86-64.so.2'));
  expect(ok('file', [file])).toMatch(/stripped/);
  expect(ok('file', [file])).not.toMatch(/not stripped/);
});

// Two OpenMP runtimes in one process: the source build (build/Release, linked to the system
// libgomp.so.1) and the prebuild (its own libgomp, hidden), in both load orders, each running
// 2-thread regions, sync and on the libuv pool, interleaved.
test.each([['system libgomp first', false], ['prebuild first', true]])('%s: both keep working', (_, prebuildFirst) => {
  const dev = path.join(root, 'build', 'Release', 'fastloss.node');
  const script = `
    const fs = require('fs');
    const dist = ${JSON.stringify(path.join(root, 'dist'))};
    function load(addon) {
      for (const k of Object.keys(require.cache)) if (k.startsWith(dist)) delete require.cache[k];
      process.env.FASTLOSS_ADDON = addon;
      return require(dist);
    }
    const order = ${JSON.stringify(prebuildFirst ? [path.join(root, prebuilt), dev] : [dev, path.join(root, prebuilt)])};
    const libs = order.map(load);
    const n = 1 << 21, a = new Float32Array(n), b = new Float32Array(n);
    let s = 0;
    for (let i = 0; i < n; i++) { a[i] = (i % 5) * 0.5; b[i] = i % 4; s += (a[i] - b[i]) * (a[i] - b[i]); }
    (async () => {
      const got = [];
      for (let round = 0; round < 3; round++) for (const fl of libs) {
        fl.setNumThreads(2);
        got.push(fl.torch.mseLoss(a, b), await fl.torch.mseLoss.async(a, b), fl.torch.mseLoss.withGrad(a, b).loss);
      }
      const maps = fs.readFileSync('/proc/self/maps', 'utf8');
      console.log(JSON.stringify({ got, expected: s / n, systemGomp: /\\/libgomp\\.so\\.1/.test(maps),
        both: order.every((f) => maps.includes(f)), openmp: libs.map((l) => l.info().openmp) }));
    })();
  `;
  const r = JSON.parse(ok(process.execPath, ['-e', script]));
  expect(r.systemGomp).toBe(true);
  expect(r.both).toBe(true);
  expect(r.openmp).toEqual(['libgomp', 'libgomp']);
  expect(r.got).toHaveLength(18);
  for (const v of r.got) expect(Math.abs(v - r.expected)).toBeLessThanOrEqual(1e-7 * r.expected);
}, 120000);
