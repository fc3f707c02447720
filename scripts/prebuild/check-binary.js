#!/usr/bin/env node
// What a shipped addon needs from the system: the highest GLIBC_/GLIBCXX_ symbol versions it
// imports (`objdump -T`) and its NEEDED libraries (`readelf -d`). Problems: anything newer than
// the floor (GLIBC_2.28, GLIBCXX_3.4.25) or a NEEDED library outside the C library itself.
// Usage: node scripts/prebuild/check-binary.js <file.node> [arch]
'use strict';
const { execFileSync } = require('child_process');

const FLOOR = { GLIBC: '2.28', GLIBCXX: '3.4.25' };
const LIBC_ONLY = new Set(['libc.so.6', 'libm.so.6', 'libpthread.so.0', 'libdl.so.2',
  'ld-linux-x86-64.so.2', 'ld-linux-aarch64.so.1']);
const OBJDUMP = { x64: process.arch === 'x64' ? 'objdump' : 'x86_64-linux-gnu-objdump',
  arm64: process.arch === 'arm64' ? 'objdump' : 'aarch64-linux-gnu-objdump' };

const cmp = (a, b) => {
  const x = a.split('.').map(Number), y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) if ((x[i] || 0) !== (y[i] || 0)) return (x[i] || 0) - (y[i] || 0);
  return 0;
};

function checkBinary(file, arch = process.arch) {
  const dyn = execFileSync(OBJDUMP[arch] || 'objdump', ['-T', file], { encoding: 'utf8', maxBuffer: 64 << 20 });
  const versions = { GLIBC: [], GLIBCXX: [] };
  for (const m of dyn.matchAll(/\b(GLIBCXX|GLIBC)_([0-9.]+)\b/g)) versions[m[1]].push(m[2]);
  const max = (v) => (v.length ? [...new Set(v)].sort(cmp).pop() : null);
  const newer = (kind) => [...new Set(versions[kind])].filter((v) => cmp(v, FLOOR[kind]) > 0).sort(cmp);
  const needed = [...execFileSync('readelf', ['-d', file], { encoding: 'utf8' }).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)]
    .map((m) => m[1]);
  const problems = [
    ...newer('GLIBC').map((v) => `imports GLIBC_${v} (floor ${FLOOR.GLIBC})`),
    ...newer('GLIBCXX').map((v) => `imports GLIBCXX_${v} (floor ${FLOOR.GLIBCXX})`),
    ...needed.filter((n) => !LIBC_ONLY.has(n)).map((n) => `needs ${n}`),
  ];
  return { glibc: max(versions.GLIBC), glibcxx: max(versions.GLIBCXX), needed, problems };
}

module.exports = { checkBinary, FLOOR };

if (require.main === module) {
  const r = checkBinary(process.argv[2], process.argv[3]);
  console.log(JSON.stringify(r, null, 2));
  process.exit(r.problems.length ? 1 : 0);
}
