// The public types: test/types/*.ts (overloads, reductions, class forms) must compile, @ts-expect-error lines included
// (an expected error that does not happen is itself an error).
import { spawnSync } from 'child_process';
import * as path from 'path';

test('the overloads type each call by its reduction (tsc -p test/types)', () => {
  const root = path.join(__dirname, '..');
  const r = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'test', 'types', 'tsconfig.json')],
    { encoding: 'utf8', timeout: 120_000 });
  expect(r.stdout + r.stderr).toBe('');
  expect(r.status).toBe(0);
}, 180_000);
