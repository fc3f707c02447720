#!/usr/bin/env node
// prebuildify's --node-gyp: it calls `<this> rebuild --target=... --arch=... --release` in its cwd,
// which scripts/prebuild.js makes a staging dir of its own (never the developer's build/). We
// build there with cmake-js (incrementally) as a portable, stripped, Node-API-only addon.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const arch = (process.argv.find((a) => a.startsWith('--arch=')) || `--arch=${process.arch}`).slice(7);
const root = process.env.FASTLOSS_ROOT;
const gomp = process.env.FASTLOSS_LIBGOMP_A;
if (!root || !gomp) {
  console.error('node-gyp-shim: run through scripts/prebuild.js (FASTLOSS_ROOT, FASTLOSS_LIBGOMP_A unset)');
  process.exit(2);
}
const args = [require.resolve('cmake-js/bin/cmake-js', { paths: [root] }), 'compile', '--release', '--out', 'build',
  '--CDFASTLOSS_PORTABLE=ON', `--CDFASTLOSS_LIBGOMP_A=${gomp}`];
if (arch !== process.arch) args.push(`--CDCMAKE_TOOLCHAIN_FILE=${path.join(__dirname, `toolchain-linux-${arch}.cmake`)}`);
const r = spawnSync(process.execPath, args, { cwd: process.cwd(), stdio: 'inherit' });
process.exit(r.status === null ? 1 : r.status);
