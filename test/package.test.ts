// npm pack, install into an empty project (source build), use from require and import.
import { execFileSync } from 'child_process';
import * as path from 'path';
import * as fastloss from '../src';

test('the ES module entry exports every name of the CommonJS entry', () => {
  const root = path.join(__dirname, '..');
  const out = execFileSync(process.execPath, ['--input-type=module', '-e',
    "import * as m from './dist/index.mjs'; console.log(JSON.stringify(Object.keys(m).sort()))"], { cwd: root, encoding: 'utf8' });
  const cjsNames = Object.keys(require(path.join(root, 'dist'))).sort();
  expect(JSON.parse(out)).toEqual(['default', ...cjsNames].sort());
  expect(Object.keys(fastloss).sort()).toEqual(cjsNames);
});

test('npm pack installs into an empty project and works from require and import', () => {
  const out = execFileSync(process.execPath, [path.join(__dirname, '..', 'scripts', 'pack-check.js')], { encoding: 'utf8' });
  expect(out).toMatch(/pack-check: ok .*require and import both work/);
}, 600000);
