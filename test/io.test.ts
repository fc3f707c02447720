// fastloss/io readers: NumPy .npy / .npz files written by real NumPy (test/fixtures/io, from
// scripts/gen_io_fixtures.py), every header field corrupted and every truncation (a clean ReadError, never
// a crash), chunking and row ranges, Arrow IPC and Parquet / CSV written by apache-arrow and DuckDB.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { spawnSync } from 'child_process';
import { ArrayReader, openArray, readAll, ReadError, writeNpy } from '../src/io';

const FIX = path.join(__dirname, 'fixtures', 'io');
const expected = JSON.parse(fs.readFileSync(path.join(FIX, 'expected.json'), 'utf8'));
const fix = (name: string): string => path.join(FIX, name);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-io-test-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function collect(r: ArrayReader, as: 'float32' | 'int32', o: { rowsPerChunk?: number; start?: number; end?: number } = {}): Promise<number[]> {
  const out: number[] = [];
  let next = o.start ?? 0;
  for await (const c of r.chunks({ as, ...o })) {
    expect(c.rowStart).toBe(next);
    expect(c.data.length).toBe(c.rows * r.rowElements);
    expect(c.shape).toEqual([c.rows, ...r.shape.slice(1)]);
    next += c.rows;
    out.push(...c.data);
  }
  expect(next).toBe(o.end ?? r.rows);
  return out;
}

/** What `message` a failing open or read gives (a ReadError), or null when it succeeds. */
async function readError(file: string): Promise<string | null> {
  try {
    const r = await openArray(file);
    try {
      await collect(r, 'float32');
    } finally {
      await r.close();
    }
    return null;
  } catch (e) {
    if (!(e instanceof ReadError)) throw e;
    return e.message;
  }
}

describe('.npy written by NumPy', () => {
  const cases = Object.keys(expected).filter((k) => k.endsWith('.npy'));
  test.each(cases)('%s reads back what NumPy wrote', async (name) => {
    const e = expected[name];
    const r = await openArray(fix(name));
    const dtype = e.dtype === 'bool' ? 'bool' : e.dtype;
    expect(r.dtype).toBe(dtype);
    expect(r.shape).toEqual(e.shape);
    const integer = !e.dtype.startsWith('float');
    // Integers as int32 (class indices) and as float32; floats as float32 (float64 rounded per element).
    if (integer) expect(await collect(r, 'int32', { rowsPerChunk: 4 })).toEqual(e.values);
    const want = Array.from(Float32Array.from(e.values as number[]));
    expect(await collect(r, 'float32', { rowsPerChunk: 3 })).toEqual(want);
    await r.close();
  });

  test('any chunk size and row range gives the same rows', async () => {
    const e = expected['f4_3d.npy'];
    const all = Array.from(Float32Array.from(e.values as number[]));
    const r = await openArray(fix('f4_3d.npy'));
    const per = r.rowElements;
    for (const rowsPerChunk of [1, 2, 3, 4, 100]) {
      for (const [start, end] of [[0, 4], [1, 3], [2, 2], [3, 4]]) {
        expect(await collect(r, 'float32', { rowsPerChunk, start, end })).toEqual(all.slice(start * per, end * per));
      }
    }
    await expect(collect(r, 'float32', { start: 3, end: 5 })).rejects.toThrow(RangeError);
    await r.close();
  });

  test('float data is never read as class indices', async () => {
    const r = await openArray(fix('f4_2d.npy'));
    await expect(collect(r, 'int32')).rejects.toThrow(/holds float32; expected integers/);
    await r.close();
  });

  test.each([
    ['bad_fortran.npy', /Fortran order/],
    ['bad_object.npy', /Python objects/],
    ['bad_bigendian.npy', /big-endian \(>f4\)/],
    ['bad_complex.npy', /dtype <c8; supported/],
    ['bad_structured.npy', /structured dtypes/],
    ['missing.npy', /missing\.npy: no such file/],
  ])('%s is refused with a clear error', async (name, message) => {
    const err = await readError(fix(name));
    expect(err).toMatch(message);
    expect(err).toContain(name);
  });
});

describe('.npy header fuzz', () => {
  const good = fs.readFileSync(fix('f4_2d.npy'));
  const headerEnd = 10 + good.readUInt16LE(8);

  test('every header byte corrupted: a ReadError or the right data, never a crash', async () => {
    const file = path.join(tmp, 'fuzz.npy');
    const values = [0x00, 0x20, 0x27, 0x28, 0x29, 0x2c, 0x30, 0x39, 0x3a, 0x7b, 0x7d, 0x80, 0xff];
    let refused = 0;
    for (let at = 0; at < headerEnd; at++) {
      for (const v of values) {
        if (good[at] === v) continue;
        const bad = Buffer.from(good);
        bad[at] = v;
        fs.writeFileSync(file, bad);
        const err = await readError(file);
        if (err === null) continue; // a change NumPy would read the same (padding)
        refused++;
        expect(err.startsWith(file)).toBe(true);
        expect(err).not.toMatch(/\n/);
      }
    }
    expect(refused).toBeGreaterThan(headerEnd * 2);
  });

  test('every truncation is reported, with the row for a short data section', async () => {
    const file = path.join(tmp, 'short.npy');
    for (let n = 0; n < good.length; n += n < headerEnd + 8 ? 1 : 7) {
      fs.writeFileSync(file, good.subarray(0, n));
      const err = await readError(file);
      expect(err).not.toBeNull();
      if (n >= headerEnd) expect(err).toMatch(new RegExp(`truncated: row ${Math.floor((n - headerEnd) / 12)} of 7`));
    }
    fs.writeFileSync(file, Buffer.concat([good, Buffer.alloc(5)]));
    expect(await readError(file)).toMatch(/5 bytes after the data/);
  });

  test('header fields: version, length, keys, shape', async () => {
    const file = path.join(tmp, 'field.npy');
    const withHeader = (dict: string, major = 1): Buffer => {
      const pre = major === 1 ? 10 : 12;
      const text = dict.padEnd(Math.ceil((pre + dict.length + 1) / 64) * 64 - pre - 1) + '\n';
      const b = Buffer.alloc(pre + text.length + 4 * 6);
      Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]).copy(b);
      if (major === 1) b.writeUInt16LE(text.length, 8);
      else b.writeUInt32LE(text.length, 8);
      b.write(text, pre, 'latin1');
      return b;
    };
    const check = async (b: Buffer, message: RegExp): Promise<void> => {
      fs.writeFileSync(file, b);
      expect(await readError(file)).toMatch(message);
    };
    await check(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 4), /format version 4.0/);
    await check(withHeader("{'descr': '<f4', 'fortran_order': False, }"), /keys \{descr, fortran_order\}/);
    await check(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'x': 1, }"), /bad \.npy header/);
    await check(withHeader("{'descr': '<f4', 'fortran_order': 0, 'shape': (6,), }"), /bad \.npy header/);
    await check(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (-6,), }"), /non-negative integer/);
    await check(withHeader("{'descr': 5, 'fortran_order': False, 'shape': (6,), }"), /bad \.npy header/);
    await check(withHeader("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,), }"), /duplicate key/);
    await check(withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999,), }"), /too large|truncated/);
    // A v2 header reads like v1; the data are 6 float32 zeros.
    fs.writeFileSync(file, withHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }", 2));
    expect(Array.from((await readAll(file, 'float32')).data)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('.npz written by NumPy', () => {
  test.each(['stored.npz', 'deflated.npz'])('%s: members by name, chunked', async (name) => {
    const logits = await openArray(`${fix(name)}:logits`);
    expect(logits.shape).toEqual([64, 5]);
    expect(await collect(logits, 'float32', { rowsPerChunk: 7 })).toEqual(Array.from(Float32Array.from(expected.npz.logits)));
    expect(await collect(logits, 'float32', { rowsPerChunk: 5, start: 10, end: 31 }))
      .toEqual(Array.from(Float32Array.from(expected.npz.logits)).slice(50, 155));
    await logits.close();
    const labels = await readAll(`${fix(name)}:labels.npy`, 'int32');
    expect(Array.from(labels.data)).toEqual(expected.npz.labels);
  });

  test('a missing or unnamed member names the members', async () => {
    await expect(openArray(`${fix('stored.npz')}:nope`)).rejects.toThrow(/has no array 'nope' \(it holds: logits, labels\)/);
    await expect(openArray(fix('stored.npz'))).rejects.toThrow(/holds 2 arrays \(logits, labels\); name one/);
  });

  test('a truncated or corrupt archive is a ReadError', async () => {
    const good = fs.readFileSync(fix('deflated.npz'));
    const file = path.join(tmp, 'cut.npz');
    for (const n of [0, 10, 100, good.length - 30, good.length - 1]) {
      fs.writeFileSync(file, good.subarray(0, n));
      await expect(readAll(`${file}:logits`, 'float32')).rejects.toThrow(ReadError);
    }
    const flipped = Buffer.from(good);
    for (let i = 200; i < 260; i++) flipped[i] ^= 0x5a; // inside the deflated logits
    fs.writeFileSync(file, flipped);
    await expect(readAll(`${file}:logits`, 'float32')).rejects.toThrow(ReadError);
  });
});

describe('writeNpy', () => {
  test('NumPy reads what writeNpy wrote (when python3-numpy is present)', () => {
    const file = path.join(tmp, 'w.npy');
    writeNpy(file, new Float32Array([1.5, -2, 3.25, 4, 5, 6]), [2, 3]);
    const r = spawnSync('/usr/bin/python3', ['-c', `import numpy as np; a = np.load('${file}'); print(a.dtype, a.shape, a.ravel().tolist())`], { encoding: 'utf8' });
    if (r.status !== 0) return; // no NumPy here: the round trip through our reader still runs below
    expect(r.stdout.trim()).toBe('float32 (2, 3) [1.5, -2.0, 3.25, 4.0, 5.0, 6.0]');
  });

  test('round trip through the reader', async () => {
    const file = path.join(tmp, 'w2.npy');
    writeNpy(file, new BigInt64Array([3n, -1n, 2n ** 40n]), [3]);
    const r = await openArray(file);
    expect(r.dtype).toBe('int64');
    await expect(collect(r, 'int32')).rejects.toThrow(/row 2: int64 value 1099511627776 does not fit in int32/);
    expect(await collect(r, 'float32')).toEqual([3, -1, 2 ** 40]);
    await r.close();
  });

  test('int64 across the 32-bit word boundary: Math.fround(Number(v)) as float32, v as int32 when it fits', async () => {
    const wide = [0n, -1n, 4294967295n, 2147483648n, -2147483649n, 2n ** 40n + 1n, -(2n ** 52n) - 1n, 2n ** 53n + 1n,
      2n ** 62n + 12345n, -(2n ** 63n), 2n ** 63n - 1n, 2147483647n, -2147483648n];
    const fileWide = path.join(tmp, 'w3.npy');
    writeNpy(fileWide, new BigInt64Array(wide), [wide.length]);
    const rw = await openArray(fileWide);
    expect(await collect(rw, 'float32', { rowsPerChunk: 5 })).toEqual(wide.map((v) => Math.fround(Number(v))));
    await rw.close();
    const fits = [0n, -1n, 2147483647n, -2147483648n, 123456789n, -5n, 65536n, -65537n];
    const fileFits = path.join(tmp, 'w4.npy');
    writeNpy(fileFits, new BigInt64Array(fits), [fits.length]);
    const rf = await openArray(fileFits);
    expect(await collect(rf, 'int32', { rowsPerChunk: 3 })).toEqual(fits.map(Number));
    await rf.close();
  });
});

describe('Arrow IPC, Parquet and CSV', () => {
   
  const arrow = require('apache-arrow');
  const N = 3000;
  const C = 4;
  const x = Float32Array.from({ length: N * C }, (_, i) => Math.sin(i));
  const t = Int32Array.from({ length: N }, (_, i) => i % C);

  beforeAll(async () => {
    const child = arrow.makeData({ type: new arrow.Float32(), length: N * C, data: x });
    const logits = new arrow.Vector([arrow.makeData({
      type: new arrow.FixedSizeList(C, new arrow.Field('v', new arrow.Float32())), length: N, nullCount: 0, child })]);
    // Several record batches, so chunks cross batch boundaries.
    const table = new arrow.Table({ logits, target: arrow.makeVector(t), w: arrow.makeVector(Float64Array.from(t, (v) => v / 2)) });
    const batches = [];
    for (let s = 0; s < N; s += 700) batches.push(...table.slice(s, Math.min(N, s + 700)).batches);
    const split = new arrow.Table(batches);
    fs.writeFileSync(path.join(tmp, 'a.arrow'), arrow.tableToIPC(split, 'file'));
    fs.writeFileSync(path.join(tmp, 'a.arrows'), arrow.tableToIPC(split, 'stream'));
     
    const { DuckDBInstance } = require('@duckdb/node-api');
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    const row = (k: number): string => `sin(i * ${C} + ${k})::FLOAT`;
    await c.run(`COPY (SELECT [${[0, 1, 2, 3].map(row).join(', ')}]::FLOAT[${C}] AS logits, [${[0, 1, 2, 3].map(row).join(', ')}] AS lst,
      (i % ${C})::BIGINT AS target FROM range(${N}) t(i)) TO '${tmp}/a.parquet' (FORMAT parquet, ROW_GROUP_SIZE 1000)`);
    await c.run(`COPY (SELECT ${[0, 1, 2, 3].map((k) => `${row(k)} AS c${k}`).join(', ')} FROM range(${N}) t(i)) TO '${tmp}/a.csv'`);
    await c.run(`COPY (SELECT CASE WHEN i = 1234 THEN NULL ELSE i::FLOAT END AS v FROM range(${N}) t(i)) TO '${tmp}/nulls.parquet' (FORMAT parquet)`);
    c.closeSync();
  });

  test.each(['a.arrow:logits', 'a.arrows:logits', 'a.parquet:logits', 'a.parquet:lst', 'a.csv'])('%s: [N, C] rows in order, any chunking', async (spec) => {
    const r = await openArray(path.join(tmp, spec));
    expect(r.shape).toEqual([N, C]);
    expect(r.rows).toBe(N);
    expect(await collect(r, 'float32', { rowsPerChunk: 999 })).toEqual(Array.from(x));
    expect(await collect(r, 'float32', { start: 650, end: 1470, rowsPerChunk: 64 })).toEqual(Array.from(x.subarray(650 * C, 1470 * C)));
    await r.close();
  });

  test.each(['a.arrow:target', 'a.parquet:target'])('%s: class indices', async (spec) => {
    expect(Array.from((await readAll(path.join(tmp, spec), 'int32')).data)).toEqual(Array.from(t));
  });

  test('an Arrow float32 column is handed over without a copy', async () => {
    const r = await openArray(path.join(tmp, 'a.arrow:logits'));
    for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 10000 })) {
      // A view into the record batch's body: the buffer holds more than this column's rows.
      expect(c.data.buffer.byteLength).toBeGreaterThan(c.data.byteLength);
    }
    await r.close();
  });

  test('column errors name the file and the columns', async () => {
    await expect(openArray(path.join(tmp, 'a.arrow'))).rejects.toThrow(/has 3 columns \(logits, target, w\); name one/);
    await expect(openArray(path.join(tmp, 'a.parquet:nope'))).rejects.toThrow(/has no column 'nope' \(it has: logits, lst, target\)/);
    await expect(openArray(path.join(tmp, 'missing.parquet'))).rejects.toThrow(/missing\.parquet: no such file/);
    await expect(readAll(path.join(tmp, 'nulls.parquet'), 'float32')).rejects.toThrow(/row 1234 is NULL/);
    fs.writeFileSync(path.join(tmp, 'junk.arrow'), 'not arrow at all');
    await expect(openArray(path.join(tmp, 'junk.arrow:x'))).rejects.toThrow(ReadError);
  });
});

describe('Arrow IPC: the row count from the batches\' metadata alone', () => {
  const arrow = require('apache-arrow');
  const { seededRandom } = require('./helpers/random');
  const dir = fs.mkdtempSync(path.join(tmp, 'arrow-count-'));
  /** The reference: apache-arrow's full read of the file (every batch, bodies included). */
  const fullRows = (file: string): number => arrow.tableFromIPC(fs.readFileSync(file)).numRows;
  /** A table of record batches of these sizes: float32 column x, and a dictionary column (its batches are no rows). */
  function batched(sizes: number[]): unknown {
    const n = sizes.reduce((a, b) => a + b, 0);
    const x = arrow.makeVector(Float32Array.from({ length: n }, (_, i) => i));
    const d = arrow.vectorFromArray(Array.from({ length: n }, (_, i) => ['u', 'v', 'w'][i % 3]), new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32()));
    const all = new arrow.Table({ x, d });
    if (sizes.length === 0) return new arrow.Table(all.schema);
    const batches = [];
    for (let i = 0, s = 0; i < sizes.length; s += sizes[i++]) batches.push(...all.slice(s, s + sizes[i]).batches);
    return new arrow.Table(batches);
  }
  const next = seededRandom(7);
  const layouts: Record<string, number[]> = {
    none: [],
    empty: [0],
    one: [1],
    'with an empty batch': [700, 0, 5, 1000],
    'seeded sizes': Array.from({ length: 25 }, () => Math.floor(next() * 5000)),
  };
  const writers: Record<string, (t: unknown) => Uint8Array> = {
    file: (t) => arrow.tableToIPC(t, 'file'),
    stream: (t) => arrow.tableToIPC(t, 'stream'),
    'stream without its end marker': (t) => arrow.tableToIPC(t, 'stream').subarray(0, -8),
    'stream before Arrow 0.15 (no continuation marker)': (t) =>
      new arrow.RecordBatchStreamWriter({ writeLegacyIpcFormat: true }).writeAll(t).toUint8Array(true),
  };
  const cases = Object.keys(layouts).flatMap((l) => Object.keys(writers).map((w) => [l, w]));

  test.each(cases)('%s, %s: rows as the full read, and as many rows read', async (layout, writer) => {
    const file = path.join(dir, `${layout}-${writer}.arrow`.replace(/[^a-z0-9.-]+/gi, '_'));
    fs.writeFileSync(file, writers[writer](batched(layouts[layout])));
    const want = fullRows(file);
    expect(want).toBe(layouts[layout].reduce((a, b) => a + b, 0));
    const r = await openArray(`${file}:x`);
    expect(r.rows).toBe(want);
    expect(r.shape).toEqual([want]);
    let read = 0;
    for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 999 })) read += c.rows;
    expect(read).toBe(want);
    await r.close();
  });

  test('opening reads the batches\' metadata, not their bodies', async () => {
    const file = path.join(dir, 'bodies.arrows');
    fs.writeFileSync(file, arrow.tableToIPC(batched(Array(20).fill(50000)), 'stream'));
    const probe = await fs.promises.open(file, 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => Promise<{ bytesRead: number }> };
    await probe.close();
    const read = proto.read;
    let bytes = 0;
    proto.read = async function (this: unknown, ...a: unknown[]) {
      const r = await read.apply(this, a);
      bytes += r.bytesRead;
      return r;
    };
    try {
      const r = await openArray(`${file}:x`);
      expect(r.rows).toBe(1e6);
      await r.close();
    } finally {
      proto.read = read;
    }
    expect(bytes).toBeGreaterThan(0);
    expect(bytes).toBeLessThan(fs.statSync(file).size / 100);  // the x column alone is 4 MB
  });

  test('a stream cut inside a batch, or inside its metadata, is a ReadError naming the rows before it', async () => {
    const three = batched([700, 700, 700]) as { batches: unknown[] };
    const bytes = arrow.tableToIPC(three, 'stream');
    // The third batch's message starts where a stream of the first two ends its batches (before its end marker).
    const last = arrow.tableToIPC(new arrow.Table(three.batches.slice(0, 2)), 'stream').length - 8;
    expect(bytes.subarray(last, last + 4)).toEqual(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
    for (const [name, end] of [['body', bytes.length - 100], ['metadata', last + 12], ['prefix', last + 6]] as const) {
      const file = path.join(dir, `cut-${name}.arrows`);
      fs.writeFileSync(file, bytes.subarray(0, end));
      const e = await openArray(`${file}:x`).catch((err: unknown) => err);
      expect(e).toBeInstanceOf(ReadError);
      expect((e as ReadError).message).toMatch(/is truncated or corrupt after row 1400 /);
    }
    // A metadata length past the end of the file (corrupt): a ReadError, before anything that size is allocated.
    const corrupt = Buffer.from(bytes);
    corrupt.writeInt32LE(0x7fffffff, last + 4);
    const file = path.join(dir, 'corrupt-length.arrows');
    fs.writeFileSync(file, corrupt);
    await expect(openArray(`${file}:x`)).rejects.toThrow(/is truncated or corrupt after row 1400 \(the message at byte \d+ is cut\)/);
  });
});

describe('optional readers', () => {
  test("require('fastloss') and require('fastloss/io') load neither Arrow, DuckDB, Parquet nor the progress bar", () => {
    // The compiled entry points (npm test builds dist/ first), in a fresh process.
    const root = path.join(__dirname, '..');
    const script = `require('./dist'); require('./dist/io');
      console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /node_modules\\/(apache-arrow|@duckdb|parquet-wasm|cli-progress)/.test(k))));`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: root, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([]);
    // The same check sees a reader when one is used.
    const used = spawnSync(process.execPath, ['-e', `require('./dist/io/optional').loadOptional('@duckdb/node-api', 'Parquet'); ${script}`],
      { cwd: root, encoding: 'utf8' });
    expect(used.stdout).toMatch(/@duckdb/);
  });
});
