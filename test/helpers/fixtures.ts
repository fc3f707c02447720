// The committed reference fixtures: test/fixtures/<family>/<loss>.json, one file per loss
// (e.g. classification/torch.crossEntropy.json), written by scripts/gen_fixtures.py.
import * as fs from 'fs';
import * as path from 'path';

export const FIXTURE_DIR = path.join(__dirname, '..', 'fixtures');
/** Size budget of one fixture file (the generator enforces it too). */
export const FIXTURE_MAX_BYTES = 300 * 1024;

export interface FixtureFile {
  family: string;
  /** The loss the file holds, from its name: 'torch.crossEntropy'. */
  loss: string;
  path: string;
  bytes: number;
}

export function fixtureFamilies(): string[] {
  // io/ holds the file readers' fixtures (scripts/gen_io_fixtures.py), not loss cases.
  return fs.readdirSync(FIXTURE_DIR, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'io').map((e) => e.name).sort();
}

/** The fixture files of one family, or of every family. */
export function fixtureFiles(family?: string): FixtureFile[] {
  return (family === undefined ? fixtureFamilies() : [family]).flatMap((fam) => {
    const dir = path.join(FIXTURE_DIR, fam);
    return fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort().map((f) => {
      const file = path.join(dir, f);
      return { family: fam, loss: f.slice(0, -'.json'.length), path: file, bytes: fs.statSync(file).size };
    });
  });
}

/** One file: the script that wrote it (repository path), the PyTorch version and the cases in file order. */
export function readFixture<C = unknown>(file: Pick<FixtureFile, 'path'>): { generator?: string; torch?: string; cases: C[] } {
  return JSON.parse(fs.readFileSync(file.path, 'utf8'));
}

export function readCases<C = unknown>(file: Pick<FixtureFile, 'path'>): C[] {
  return readFixture<C>(file).cases;
}

/** Every case of a family folder ('margin'), file by file (losses in name order), or of one loss ('margin/keras.hinge'). */
export function readFamilyCases<C = unknown>(family: string): C[] {
  const oneLoss = path.join(FIXTURE_DIR, `${family}.json`);
  if (family.includes('/') && fs.existsSync(oneLoss)) return readCases<C>({ path: oneLoss });
  const files = fs.existsSync(path.join(FIXTURE_DIR, family)) ? fixtureFiles(family) : [];
  if (files.length === 0) throw new Error(`no fixture files in ${path.join(FIXTURE_DIR, family)} (nor ${oneLoss})`);
  return files.flatMap((f) => readCases<C>(f));
}
