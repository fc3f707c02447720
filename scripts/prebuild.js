#!/usr/bin/env node
// npm run prebuild [-- --arch x64,arm64]: portable Node-API prebuilds in prebuilds/linux-<arch>/,
// built by prebuildify through a cmake-js shim in build-prebuild/ (the developer's build/ is left
// alone), then checked: glibc <= 2.28, no libstdc++/libgomp/libgcc_s needed (scripts/prebuild/).
// linux-arm64 is cross-compiled: apt-get install g++-aarch64-linux-gnu.
'use strict';
const fs = require('fs');
const path = require('path');
const { spawnSync, execFileSync } = require('child_process');
const { checkBinary } = require('./prebuild/check-binary');

const root = path.join(__dirname, '..');
const TRIPLET = { x64: 'x86_64-linux-gnu', arm64: 'aarch64-linux-gnu' };
const i = process.argv.indexOf('--arch');
const arches = (i > 0 ? process.argv[i + 1] : process.env.FASTLOSS_PREBUILD_ARCH || 'x64,arm64').split(',')
  .map((a) => (a === 'host' ? process.arch : a));

function fail(msg) {
  console.error(`prebuild: ${msg}`);
  process.exit(1);
}

if (process.platform !== 'linux') fail('prebuilds are built on Linux (glibc) only');
for (const arch of arches) {
  const triplet = TRIPLET[arch];
  if (!triplet) fail(`unknown arch ${arch} (x64, arm64 or host)`);
  if (spawnSync(`${triplet}-g++`, ['--version']).status !== 0)
    fail(`${triplet}-g++ not found: apt-get install g++-${triplet.replace(/_/g, '-')}`);
  const gomp = execFileSync('bash', [path.join(__dirname, 'libgomp-pic.sh'), triplet], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
    .trim().split('\n').pop();

  // Staging dir: the sources by symlink, so prebuildify's build/ is not the developer's.
  const stage = path.join(root, 'build-prebuild', `linux-${arch}`);
  fs.mkdirSync(stage, { recursive: true });
  for (const name of ['CMakeLists.txt', 'binding', 'node_modules']) {
    const link = path.join(stage, name);
    if (!fs.existsSync(link)) fs.symlinkSync(path.join(root, name), link);
  }
  // cmake-js reads binary.napi_versions to use node-api-headers (offline) instead of downloading Node's.
  const { name, version, binary } = require(path.join(root, 'package.json'));
  fs.writeFileSync(path.join(stage, 'package.json'), JSON.stringify({ name, version, private: true, binary }));

  const t0 = Date.now();
  const r = spawnSync(process.execPath, [require.resolve('prebuildify/bin.js'), '--napi', '--tag-libc', '--libc', 'glibc',
    '--platform', 'linux', '--arch', arch, '--target', process.versions.node, '--cwd', stage, '--out', root,
    '--node-gyp', path.join(__dirname, 'prebuild', 'node-gyp-shim.js')],
  { stdio: 'inherit', env: { ...process.env, FASTLOSS_ROOT: root, FASTLOSS_LIBGOMP_A: gomp } });
  if (r.status !== 0) fail(`prebuildify failed for linux-${arch}`);

  const file = path.join(root, 'prebuilds', `linux-${arch}`, 'fastloss.glibc.node');
  const c = checkBinary(file, arch);
  const kb = Math.round(fs.statSync(file).size / 1024);
  console.log(`prebuild: ${path.relative(root, file)} ${kb} KiB in ${((Date.now() - t0) / 1000).toFixed(0)} s; ` +
    `GLIBC_${c.glibc}${c.glibcxx ? `, GLIBCXX_${c.glibcxx}` : ', no libstdc++'}; NEEDED ${c.needed.join(' ')}`);
  if (c.problems.length) fail(`${path.relative(root, file)}: ${c.problems.join('; ')}`);
}
