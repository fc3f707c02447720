#!/usr/bin/env node
// Builds the addon of an installed fastloss from source, for platforms without a prebuild:
//   node <path of the installed fastloss>/scripts/build-from-source.js
// The same command for npm, pnpm and yarn (require('fastloss') prints it with the path filled in).
// Needs CMake >= 3.15, a C++17 compiler and OpenMP (libgomp or libomp). The build tools
// (cmake-js, node-addon-api: devDependencies, so not installed with the package) are fetched with
// npm into build-tools/ beside this script when they cannot be resolved. Output: build/Release/.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');
const pkg = require(path.join(root, 'package.json'));

function fail(msg) {
  console.error(`fastloss build-from-source: ${msg}`);
  process.exit(1);
}

function resolves(id, paths) {
  try {
    return require.resolve(id, { paths });
  } catch {
    return null;
  }
}

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0)
  fail('cmake not found. Building fastloss needs CMake >= 3.15, a C++17 compiler and OpenMP ' +
    '(Debian/Ubuntu: apt-get install cmake g++; Alpine: apk add cmake g++ make libgomp; RHEL/Fedora: dnf install cmake gcc-c++ libgomp).');

let cmakeJs = resolves('cmake-js/bin/cmake-js', [root]);
let nodePath = process.env.NODE_PATH || '';
if (!cmakeJs || !resolves('node-addon-api', [root])) {
  const tools = path.join(root, 'build-tools');
  const specs = ['cmake-js', 'node-addon-api'].map((n) => `${n}@${pkg.devDependencies[n]}`);
  if (!resolves('cmake-js/bin/cmake-js', [tools]) || !resolves('node-addon-api', [tools])) {
    console.error(`fastloss build-from-source: fetching ${specs.join(' ')} into ${tools}`);
    fs.mkdirSync(tools, { recursive: true });
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const r = spawnSync(npm, ['install', '--prefix', tools, '--no-audit', '--no-fund', '--no-package-lock',
      '--ignore-scripts', ...specs], { stdio: 'inherit', shell: process.platform === 'win32' });
    if (r.status !== 0) fail(`could not install ${specs.join(' ')} with npm (${r.error ? r.error.message : `exit ${r.status}`})`);
  }
  cmakeJs = resolves('cmake-js/bin/cmake-js', [tools]);
  // CMakeLists.txt finds node-addon-api with `node -p require(...)`, which honours NODE_PATH.
  nodePath = [path.join(tools, 'node_modules'), nodePath].filter(Boolean).join(path.delimiter);
}

const r = spawnSync(process.execPath, [cmakeJs, 'compile', '--release', '--out', 'build'],
  { cwd: root, stdio: 'inherit', env: { ...process.env, NODE_PATH: nodePath } });
if (r.status !== 0) fail('the build failed (see above)');
const addon = path.join(root, 'build', 'Release', 'fastloss.node');
const check = spawnSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(root)}).info().isa)`], { encoding: 'utf8' });
if (check.status !== 0) fail(`built ${addon}, but it does not load:\n${check.stderr}`);
console.log(`fastloss build-from-source: built ${addon} (${check.stdout.trim()}); require('fastloss') uses it from now on`);
