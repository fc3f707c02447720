// Plain .npy files read ahead on the libuv pool (FASTLOSS_READ_AHEAD, src/io/npy.ts chunksAhead): the same
// chunks and bytes as the synchronous path for every depth, chunk size and row range; a file truncated or
// replaced mid-run is a ReadError naming the first incomplete row (never a crash); a pass left early waits
// for its reads; and fastloss score gives the same bits at every depth. The pread path: FASTLOSS_MMAP=0
// (mapped files: io-mmap.test.ts).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { errorLine, main } from '../src/cli';
import { ArrayReader, openArray, ReadError, writeNpy } from '../src/io';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-readahead-test-'));
const saved = process.env.FASTLOSS_READ_AHEAD;
const savedMmap = process.env.FASTLOSS_MMAP;
process.env.FASTLOSS_MMAP = '0';
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  if (saved === undefined) delete process.env.FASTLOSS_READ_AHEAD;
  else process.env.FASTLOSS_READ_AHEAD = saved;
  if (savedMmap === undefined) delete process.env.FASTLOSS_MMAP;
  else process.env.FASTLOSS_MMAP = savedMmap;
});
const depth = (d: number): void => {
  process.env.FASTLOSS_READ_AHEAD = String(d);
};

/** Deterministic values (xorshift32). */
function values(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    a[i] = x / 4294967296 - 0.5;
  }
  return a;
}

async function collect(r: ArrayReader, as: 'float32' | 'int32', o: { rowsPerChunk?: number; start?: number; end?: number }): Promise<number[]> {
  const out: number[] = [];
  let next = o.start ?? 0;
  for await (const c of r.chunks({ as, ...o })) {
    expect(c.rowStart).toBe(next);
    expect(c.rows).toBe(Math.min(o.rowsPerChunk ?? r.rows, (o.end ?? r.rows) - next));
    expect(c.data.length).toBe(c.rows * r.rowElements);
    next += c.rows;
    for (const v of c.data) out.push(v);
  }
  expect(next).toBe(o.end ?? r.rows);
  return out;
}

/** The ReadError a full pass gives, with the file cut to `bytes` after `afterChunks` chunks were taken. */
async function cutMidRun(file: string, per: number, afterChunks: number, cut: (f: string) => void): Promise<ReadError> {
  const r = await openArray(file);
  let taken = 0;
  try {
    for await (const c of r.chunks({ as: 'float32', rowsPerChunk: per })) {
      expect(c.rowStart).toBe(taken * per);
      if (++taken === afterChunks) cut(file);
    }
  } catch (e) {
    expect(e).toBeInstanceOf(ReadError);
    return e as ReadError;
  } finally {
    await r.close();
  }
  throw new Error('no ReadError');
}

describe('.npy read ahead', () => {
  const rows = 1000;
  const cols = 7;
  const data = values(rows * cols, 7);
  const f32 = path.join(tmp, 'f32.npy');
  const f64 = path.join(tmp, 'f64.npy');
  const i64 = path.join(tmp, 'i64.npy');
  const ints = BigInt64Array.from({ length: rows }, (_, i) => BigInt((i * 37) % 101 - 50));
  beforeAll(() => {
    writeNpy(f32, data, [rows, cols]);
    writeNpy(f64, Float64Array.from(data), [rows, cols]);
    writeNpy(i64, ints, [rows]);
  });

  test('every depth, chunk size and row range gives the same rows (many chunks, converted or not)', async () => {
    const want = Array.from(data);
    for (const d of [1, 2, 3, 4, 16]) {
      depth(d);
      for (const [per, start, end] of [[1, 0, rows], [3, 0, rows], [64, 5, 998], [999, 0, rows], [1000, 0, rows], [4096, 10, 11], [7, 400, 400]]) {
        for (const file of [f32, f64]) {
          const r = await openArray(file);
          expect(await collect(r, 'float32', { rowsPerChunk: per, start, end })).toEqual(want.slice(start * cols, end * cols));
          await r.close();
        }
        const r = await openArray(i64);
        expect(await collect(r, 'int32', { rowsPerChunk: per, start, end })).toEqual(Array.from(ints.slice(start, end), Number));
        await r.close();
      }
    }
  });

  test('a file truncated mid-run: a ReadError naming the first incomplete row', async () => {
    for (const d of [1, 4]) {
      depth(d);
      const file = path.join(tmp, `cut-${d}.npy`);
      writeNpy(file, data, [rows, cols]);
      const dataStart = fs.statSync(file).size - data.byteLength;
      // 10 rows a chunk; after 2 chunks the file loses everything from the middle of row 503 on.
      const e = await cutMidRun(file, 10, 2, (f) => fs.truncateSync(f, dataStart + (503 * cols + 2) * 4));
      expect(e.row).toBe(503);
      expect(e.message).toContain('is truncated: row 503 of 1000');
      // Cut to nothing after the first chunk: the next unread row is the first incomplete one (reads in
      // flight may have finished before the cut: never later than the depth allows).
      writeNpy(file, data, [rows, cols]);
      const e2 = await cutMidRun(file, 10, 1, (f) => fs.truncateSync(f, 0));
      expect(e2.row).toBeGreaterThanOrEqual(10);
      expect(e2.row).toBeLessThanOrEqual(10 * d);
    }
  });

  test('a file that changes size: growing reads the rows of the header, a shorter replacement is truncation', async () => {
    depth(4);
    const file = path.join(tmp, 'grow.npy');
    writeNpy(file, data, [rows, cols]);
    const r = await openArray(file);
    let n = 0;
    for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 50 })) {
      if (n === 0) fs.appendFileSync(file, Buffer.alloc(4096, 1));
      expect(Array.from(c.data)).toEqual(Array.from(data.subarray(c.rowStart * cols, (c.rowStart + c.rows) * cols)));
      n += c.rows;
    }
    expect(n).toBe(rows);
    await r.close();
    // Shortened in place through another descriptor: row 599 loses its last byte.
    writeNpy(file, data, [rows, cols]);
    const dataStart = fs.statSync(file).size - data.byteLength;
    const e = await cutMidRun(file, 50, 1, (f) => {
      const fd = fs.openSync(f, 'r+');
      fs.ftruncateSync(fd, dataStart + 600 * cols * 4 - 1);
      fs.closeSync(fd);
    });
    expect(e.row).toBe(599);
  });

  test('a pass left early (break or a throw) waits for its reads; the reader closes and reads again', async () => {
    depth(8);
    const r = await openArray(f32);
    for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 5 })) {
      expect(c.rowStart).toBe(0);
      break;
    }
    await expect((async () => {
      for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 5 })) if (c.rowStart === 20) throw new Error('consumer failed');
    })()).rejects.toThrow('consumer failed');
    expect(await collect(r, 'float32', { rowsPerChunk: 333 })).toEqual(Array.from(data));
    await r.close();
  });

  test('fastloss score with a file truncated while it reads: exit 1 naming the file and row, no --out file', async () => {
    depth(4);
    const dir = fs.mkdtempSync(path.join(tmp, 'cut-cli-'));
    const pred = path.join(dir, 'pred.npy');
    const target = path.join(dir, 'target.npy');
    const n = 1 << 21;
    writeNpy(pred, values(n, 5), [n]);
    writeNpy(target, values(n, 6), [n]);
    const out = path.join(dir, 'losses.npy');
    // The cut lands at the first turn of the event loop: at the open or after a few of the 2048 chunks, long
    // before the reads reach row n - 5000.
    setImmediate(() => fs.truncateSync(target, fs.statSync(target).size - 4 * 5000));
    let status = 0;
    let line = '';
    try {
      status = await main(['score', 'torch.mseLoss', '--pred', pred, '--target', target, '--chunk-rows', '1024', '--out', out, '--json'], () => {});
    } catch (e) {
      ({ status, line } = errorLine(e));
    }
    expect(status).toBe(1);
    expect(line).toContain(`${target}: is truncated: row ${n - 5000} of ${n}`);
    expect(fs.readdirSync(dir).sort()).toEqual(['pred.npy', 'target.npy']);
  });

  test('fastloss score: the same bits at every depth for the same chunks', async () => {
    const pred = path.join(tmp, 'pred.npy');
    const target = path.join(tmp, 'target.npy');
    writeNpy(pred, values(20000 * 10, 3), [20000, 10]);
    writeNpy(target, Int32Array.from({ length: 20000 }, (_, i) => (i * 7) % 10), [20000]);
    const results = new Set<string>();
    for (const d of [1, 2, 4, 7]) {
      depth(d);
      for (const rowsPerChunk of ['37', '20000']) {
        let out = '';
        const status = await main(['score', 'torch.crossEntropy', '--pred', pred, '--target', target, '--chunk-rows', rowsPerChunk, '--json'], (s) => { out += s; });
        expect(status).toBe(0);
        const doc = JSON.parse(out);
        expect(doc.rows).toBe(20000);
        results.add(`${rowsPerChunk}:${JSON.stringify(doc.state.total)}:${doc.result}`);
      }
    }
    // One result per chunking, whatever the depth.
    expect([...results].filter((s) => s.startsWith('37:'))).toHaveLength(1);
    expect([...results].filter((s) => s.startsWith('20000:'))).toHaveLength(1);
  });
});
