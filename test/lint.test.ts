// `npm test` runs the linters of `npm run lint` (scripts/lint.js), one test each: ESLint on src/
// test/ bench/ scripts/, tsc --noEmit, clang-format --dry-run --Werror on binding/.
import { spawnSync } from 'child_process';
import * as path from 'path';

const lint = path.join(__dirname, '..', 'scripts', 'lint.js');

test.each(['eslint', 'tsc', 'clang-format'])('%s finds nothing', (linter) => {
  const r = spawnSync(process.execPath, [lint, linter], { encoding: 'utf8', timeout: 170_000 });
  // Everything but the closing "ok" line is a finding (or why the linter did not run).
  expect((r.stdout + r.stderr).replace(new RegExp(`^lint: ${linter} ok in [0-9.]+ s\n`, 'm'), '')).toBe('');
  expect(r.status).toBe(0);
}, 180_000);

// A merge's conflict markers once sat in docs/ARCHITECTURE.md for two stops: no tracked text file may keep one.
test('no tracked file keeps a merge conflict marker', () => {
  const r = spawnSync('git', ['grep', '-n', '-I', '-E', '^(<<<<<<< |>>>>>>> |=======$)', '--', '.', ':!node_modules'],
    { cwd: path.join(__dirname, '..'), encoding: 'utf8' });
  // git grep: status 1 = no match, 0 = matches (listed), anything else = git failed (e.g. not a checkout)
  if (r.status !== 0 && r.status !== 1) throw new Error(`git grep failed: ${r.stderr}`);
  expect(r.stdout).toBe('');
});
