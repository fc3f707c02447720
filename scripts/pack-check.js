#!/usr/bin/env node
// Packs fastloss, installs the tarball into an empty project (building from source when no
// prebuild matches) and uses it there from require and from import. Exits non-zero on failure.
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');

const root = path.join(__dirname, '..');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-pack-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });

try {
  const packed = JSON.parse(sh(npm, ['pack', '--json', '--pack-destination', work], root));
  const tarball = path.join(work, packed[0].filename);
  const files = packed[0].files.map((f) => f.path);
  for (const must of ['dist/index.js', 'dist/index.mjs', 'dist/index.d.ts', 'binding/napi/addon.cpp', 'CMakeLists.txt', 'scripts/install.js'])
    if (!files.includes(must)) throw new Error(`tarball lacks ${must}`);
  if (files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/'))) throw new Error('tarball holds tests or node_modules');

  const app = path.join(work, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true, allowScripts: { fastloss: true } }));
  sh(npm, ['install', '--no-audit', '--no-fund', tarball], app);

  const cjs = sh(process.execPath, ['-e', `
    const { torch, keras, info } = require('fastloss');
    const x = new Float32Array([1, 2, 3]), y = new Float32Array([1, 0, 5]);
    console.log(JSON.stringify({ mse: torch.mseLoss(x, y), mae: keras.meanAbsoluteError(y, x), isa: info().isa }));
  `], app);
  const esm = sh(process.execPath, ['--input-type=module', '-e', `
    import { torch } from 'fastloss';
    import fastloss from 'fastloss';
    const x = new Float32Array([1, 2, 3]), y = new Float32Array([1, 0, 5]);
    console.log(JSON.stringify({ mse: torch.mseLoss(x, y), same: fastloss.torch === torch }));
  `], app);
  const a = JSON.parse(cjs);
  const b = JSON.parse(esm);
  // (0 + 4 + 4) / 3 and (0 + 2 + 2) / 3
  if (Math.abs(a.mse - 8 / 3) > 1e-6 || Math.abs(a.mae - 4 / 3) > 1e-6 || Math.abs(b.mse - 8 / 3) > 1e-6 || !b.same)
    throw new Error(`unexpected results: ${cjs} ${esm}`);
  console.log(`pack-check: ok (${packed[0].filename}, ${files.length} files, isa ${a.isa}; require and import both work)`);
} finally {
  fs.rmSync(work, { recursive: true, force: true });
}
