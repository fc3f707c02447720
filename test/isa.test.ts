// Runtime ISA dispatch: FASTLOSS_ISA forces a level no higher than the CPU's, and the per-ISA
// builds of the kernels never share a symbol (so no AVX-512 code can stand in for baseline code).
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { native } from '../src/core/native';
import { isaChoices, isaLevels } from './helpers/parity';

const root = path.join(__dirname, '..');
const order = native.info().isaLevels;

function infoWith(env: Record<string, string>): { isa: string; cpuIsa: string } {
  const out = execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./dist').info()))"],
    { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  return JSON.parse(out);
}

test.each(order)('FASTLOSS_ISA=%s selects that level, or the CPU\'s best when lower', (level) => {
  const info = infoWith({ FASTLOSS_ISA: level });
  const expected = order[Math.min(order.indexOf(level), order.indexOf(info.cpuIsa))];
  expect(info.isa).toBe(expected);
});

test('without FASTLOSS_ISA the best level of the CPU is used', () => {
  const env = { ...process.env };
  delete env.FASTLOSS_ISA;
  const out = execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('./dist').info()))"], { cwd: root, env, encoding: 'utf8' });
  const info = JSON.parse(out);
  expect(info.isa).toBe(isaLevels()[isaLevels().length - 1]);
});

test('an unknown FASTLOSS_ISA fails at load with a clear message', () => {
  const r = spawnSync(process.execPath, ['-e', "require('./dist')"], { cwd: root, env: { ...process.env, FASTLOSS_ISA: 'sse9' }, encoding: 'utf8' });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain(`FASTLOSS_ISA must be ${isaChoices()}, not 'sse9'`);
});

test('per-ISA kernel objects define no shared (weak or global) symbol outside their namespace', () => {
  const objDir = path.join(root, 'build', 'CMakeFiles');
  const dirs = native.info().builtIsa.slice(1).map((level) => `kernels_${level}.dir`).filter((d) => fs.existsSync(path.join(objDir, d)));
  expect(dirs.length).toBeGreaterThan(0);
  const offenders: string[] = [];
  for (const d of dirs) {
    const level = d.slice('kernels_'.length, -'.dir'.length);
    const objs = execFileSync('find', [path.join(objDir, d), '-name', '*.o'], { encoding: 'utf8' }).trim().split('\n');
    for (const o of objs) {
      const syms = execFileSync('nm', ['-C', '--defined-only', o], { encoding: 'utf8' }).split('\n');
      for (const line of syms) {
        const m = /^[0-9a-f]+ ([A-Za-z]) (.*)$/.exec(line);
        if (!m || !/[WVTDBRu]/.test(m[1])) continue;  // external (global or weak) definitions only
        if (m[2].includes(`isa_${level}`)) continue;
        if (m[2] === 'DW.ref.__gxx_personality_v0') continue;  // exception-table data pointer, no code
        offenders.push(`${path.basename(o)}: ${m[1]} ${m[2]}`);
      }
    }
  }
  expect(offenders).toEqual([]);
});
