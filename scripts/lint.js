#!/usr/bin/env node
// `npm run lint` (and test/lint.test.ts, so `npm test`): ESLint on src/ test/ bench/ scripts/,
// tsc --noEmit, clang-format --dry-run --Werror on binding/. Every tool comes from devDependencies.
//   node scripts/lint.js [eslint|tsc|clang-format ...]   (default: all three; exit 1 when any fails)
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');


/** binding/'s C++ sources and headers (the .def tables stay one entry per line, unformatted). */
function bindingSources(dir = 'binding') {
  return fs.readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return bindingSources(rel);
    return /\.(cpp|h)$/.test(e.name) ? [rel] : [];
  }).sort();
}

const nodeBin = (pkg, file) => [process.execPath, path.join(path.dirname(require.resolve(`${pkg}/package.json`)), file)];

// ESLint and tsc remember what they checked (keyed by file contents) so that a rerun reads only what changed.
const cache = path.join(root, 'node_modules', '.cache', 'fastloss-lint');

/** Each linter's command line; clang-format is the npm package's binary for this platform. */
const linters = {
  eslint: () => [...nodeBin('eslint', 'bin/eslint.js'), '--cache', '--cache-location', path.join(cache, 'eslint'),
    'src', 'test', 'bench', 'scripts'],
  tsc: () => [...nodeBin('typescript', 'bin/tsc'), '--noEmit', '-p', '.', '--incremental',
    '--tsBuildInfoFile', path.join(cache, 'tsc-lint.tsbuildinfo')],
  'clang-format': () => [require('clang-format').getNativeBinary(), '--dry-run', '--Werror', ...bindingSources()],
};

const chosen = process.argv.slice(2);
for (const name of chosen) {
  if (!(name in linters)) {
    console.error(`lint: unknown linter ${name} (${Object.keys(linters).join(', ')})`);
    process.exit(2);
  }
}
let failed = 0;
for (const name of chosen.length ? chosen : Object.keys(linters)) {
  const t0 = Date.now();
  let r;
  try {
    const [command, ...args] = linters[name]();
    r = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  } catch (e) {
    r = { error: e };  // e.g. no clang-format binary for this platform
  }
  const ok = r.status === 0;
  if (!ok) failed++;
  const why = r.error ? r.error.message : `exit ${r.status ?? r.signal}`;
  console.log(`lint: ${name} ${ok ? 'ok' : `failed (${why})`} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
process.exit(failed ? 1 : 0);
