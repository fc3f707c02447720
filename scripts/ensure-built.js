#!/usr/bin/env node
// Builds whatever is missing or older than its sources: the addon (cmake-js) and dist/ (tsc).
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

function newest(dir, exts) {
  let t = 0;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) t = Math.max(t, newest(p, exts));
    else if (exts.some((x) => e.name.endsWith(x))) t = Math.max(t, fs.statSync(p).mtimeMs);
  }
  return t;
}

function mtime(p) {
  try {
    return fs.statSync(p).mtimeMs;
  } catch {
    return 0;
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status === null ? 1 : r.status);
}

const addon = path.join(root, 'build', 'Release', 'fastloss.node');
const nativeSources = Math.max(newest(path.join(root, 'binding'), ['.cpp', '.h', '.def']), mtime(path.join(root, 'CMakeLists.txt')));
if (mtime(addon) < nativeSources) run(process.execPath, [require.resolve('cmake-js/bin/cmake-js'), 'compile', '--release', '--out', 'build']);

const dist = path.join(root, 'dist', 'index.mjs');
if (mtime(dist) < newest(path.join(root, 'src'), ['.ts'])) {
  run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
  run(process.execPath, [path.join(__dirname, 'write-esm.js')]);
}
