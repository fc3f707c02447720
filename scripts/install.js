#!/usr/bin/env node
// npm install hook: use a prebuilt binary when one matches this platform, else build from source.
'use strict';
const path = require('path');
const { spawnSync } = require('child_process');

const root = path.join(__dirname, '..');

function hasBinary() {
  try {
    require('node-gyp-build').path(root);
    return true;
  } catch {
    return false;
  }
}

if (process.env.FASTLOSS_FORCE_BUILD !== '1' && hasBinary()) process.exit(0);

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  console.error('fastloss: no prebuilt binary matches this platform, and building from source needs CMake >= 3.15,');
  console.error('a C++17 compiler (g++ or clang++) and, for threads, OpenMP (libgomp or libomp).');
  console.error('Install them (Debian/Ubuntu: apt-get install cmake g++) and run npm install again.');
  process.exit(1);
}
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const build = spawnSync(process.execPath, [cmakeJs, 'compile', '--release', '--out', 'build'], { cwd: root, stdio: 'inherit' });
process.exit(build.status === null ? 1 : build.status);
