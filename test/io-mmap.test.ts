// Plain .npy files and stored .npz members read through mappings (src/io/npy.ts chunksMapped,
// binding/napi/mapfile.cpp): the same bytes as the pread path (FASTLOSS_MMAP=0) for every dtype, chunk size,
// row range and window size; a file truncated while a pass reads it is the truncated row's ReadError and never
// kills the process (child processes: the SIGBUS of a lost page is the handler's); no file mapping outlives a pass
// (its window is pooled for the next pass, holding zero pages).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { setFlagsFromString } from 'v8';
import { runInNewContext } from 'vm';
import { native } from '../src/core/native';
import { ArrayReader, openArray, writeNpy } from '../src/io';
import { expectClean, root, runChild } from './helpers/child';
import { uniformF32 } from './helpers/random';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fastloss-mmap-test-'));
const saved = { FASTLOSS_MMAP: process.env.FASTLOSS_MMAP, FASTLOSS_MMAP_WINDOW: process.env.FASTLOSS_MMAP_WINDOW };
function setEnv(env: Record<string, string | undefined>): void {
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
}
afterEach(() => setEnv(saved));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const linux = process.platform === 'linux';
const onLinux = linux ? test : test.skip;

/** Mappings of `file` in this process (/proc/self/maps lines). */
const mapsOf = (file: string): number => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(file)).length;

/** All chunks' bytes, and whether `file` was mapped while the first chunk was read. */
async function bytesOf(r: ArrayReader, file: string, as: 'float32' | 'int32', o: { rowsPerChunk?: number; start?: number; end?: number }): Promise<{ bytes: Buffer; mapped: boolean }> {
  const parts: Buffer[] = [];
  let mapped: boolean | undefined;
  for await (const c of r.chunks({ as, ...o })) {
    parts.push(Buffer.from(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength)));
    mapped ??= mapsOf(file) > 0;
  }
  return { bytes: Buffer.concat(parts), mapped: mapped ?? false };
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));
// A full garbage collection: a detached window's address range goes with its ArrayBuffer's finalizer.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

describe('.npy through mappings', () => {
  const rows = 1500;
  const cols = 7;
  const data = uniformF32(rows * cols, 11, -0.5, 0.5);
  const ints = Int32Array.from({ length: rows * cols }, (_, i) => ((i * 37) % 201) - 100);
  const files: [string, string, ('float32' | 'int32')[]][] = [];
  beforeAll(() => {
    const write = (name: string, a: ArrayLike<number | bigint> & { buffer: ArrayBufferLike }, as: ('float32' | 'int32')[]): void => {
      const f = path.join(tmp, name);
      writeNpy(f, a as Float32Array, [rows, cols]);
      files.push([f, name, as]);
    };
    write('f32.npy', data, ['float32']);
    write('f64.npy', Float64Array.from(data, (v) => v * 1e3), ['float32']);
    write('i32.npy', ints, ['int32', 'float32']);
    write('i64.npy', BigInt64Array.from(ints, (v) => BigInt(v)), ['int32', 'float32']);
    write('u8.npy', Uint8Array.from(ints, (v) => v & 255), ['int32', 'float32']);
    // bool: a NumPy file with descr |b1 (writeNpy writes no bools): the uint8 file's header changed.
    const u8 = fs.readFileSync(path.join(tmp, 'u8.npy'));
    const b1 = Buffer.from(u8);
    b1.write("'|b1'", u8.indexOf("'|u1'"), 'latin1');
    for (let i = u8.length - rows * cols; i < u8.length; i++) b1[i] = b1[i] & 1;
    fs.writeFileSync(path.join(tmp, 'b1.npy'), b1);
    files.push([path.join(tmp, 'b1.npy'), 'b1.npy', ['int32', 'float32']]);
  });

  onLinux('every dtype, chunk size, row range and window: the bytes of the pread path, bit for bit', async () => {
    const cases: [number, number, number][] = [[1, 0, rows], [7, 0, rows], [64, 5, 1498], [1499, 0, rows], [4096, 10, 11], [333, 700, 700]];
    for (const [file, name, types] of files) {
      for (const as of types) {
        for (const [per, start, end] of cases) {
          setEnv({ FASTLOSS_MMAP: '0' });
          const r = await openArray(file);
          const want = await bytesOf(r, file, as, { rowsPerChunk: per, start, end });
          expect(want.mapped).toBe(false);
          for (const window of [undefined, '1', '5000', String(4096 * 3 + 28)]) {
            setEnv({ FASTLOSS_MMAP: undefined, FASTLOSS_MMAP_WINDOW: window });
            const got = await bytesOf(r, file, as, { rowsPerChunk: per, start, end });
            if (!got.bytes.equals(want.bytes)) throw new Error(`${name} as ${as}, ${per} rows a chunk, [${start}, ${end}), window ${window}: bytes differ`);
            expect(got.mapped).toBe(end > start);
          }
          await r.close();
        }
      }
    }
  });

  onLinux('stored .npz members are mapped too, with the same bytes', async () => {
    const npz = path.join(root, 'test', 'fixtures', 'io', 'stored.npz');
    for (const [member, as] of [['logits', 'float32'], ['labels', 'int32']] as const) {
      const r = await openArray(`${npz}:${member}`);
      setEnv({ FASTLOSS_MMAP: '0' });
      const want = await bytesOf(r, npz, as, { rowsPerChunk: 5 });
      setEnv({ FASTLOSS_MMAP: undefined, FASTLOSS_MMAP_WINDOW: '4096' });
      const got = await bytesOf(r, npz, as, { rowsPerChunk: 5 });
      expect(got.mapped).toBe(true);
      expect(got.bytes.equals(want.bytes)).toBe(true);
      await r.close();
    }
  });

  onLinux('many passes, left early or not, leave no mapping behind', async () => {
    const [file] = files[0];
    await turn();
    const before = mapsOf(file);
    expect(before).toBe(0);
    setEnv({ FASTLOSS_MMAP_WINDOW: '8192' });
    for (let i = 0; i < 200; i++) {
      const r = await openArray(file);
      let k = 0;
      try {
        for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 50 })) {
          expect(mapsOf(file)).toBeLessThanOrEqual(1); // one window at a time
          if (i % 3 === 1 && ++k === 3) break;
          if (i % 3 === 2 && c.rowStart === 400) throw new Error('consumer');
        }
      } catch (e) {
        expect((e as Error).message).toBe('consumer');
      }
      // The file's pages are released when the pass ends, the address range at the next turn.
      expect(mapsOf(file)).toBe(0);
      await r.close();
    }
    // Only the pooled windows (src/io/npy.ts windowPool) stay, attached and holding no file pages, once the
    // detached ones are collected (when V8 collects was up to the load: 6 ranges left under load without this).
    for (let k = 0; k < 4; k++) {
      collectGarbage();
      await turn();
    }
    expect(native.mappedCount()).toBeLessThanOrEqual(4);
    expect(mapsOf(file)).toBe(0);
  });

  onLinux('later passes map into the windows of earlier ones (no new buffer per pass); a chunk kept after its pass reads zeros', async () => {
    const [file] = files[0];
    const r = await openArray(file);
    let kept: Float32Array | null = null;
    for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 100 })) kept ??= c.data as Float32Array;
    expect(mapsOf(file)).toBe(0);
    expect(kept!.length).toBe(700); // attached (pooled), its pages zeros: no file bytes after the pass
    expect(kept!.every((v) => v === 0)).toBe(true);
    const count = native.mappedCount();
    setEnv({ FASTLOSS_MMAP: '0' });
    const want = await bytesOf(r, file, 'float32', { rowsPerChunk: 100 });
    setEnv({ FASTLOSS_MMAP: undefined });
    for (let i = 0; i < 5; i++) {
      const buffers = new Set<ArrayBufferLike>();
      const parts: Buffer[] = [];
      for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 100 })) {
        buffers.add(c.data.buffer);
        parts.push(Buffer.from(new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength)));
      }
      expect([...buffers]).toEqual([kept!.buffer]);
      expect(Buffer.concat(parts).equals(want.bytes)).toBe(true);
      expect(native.mappedCount()).toBe(count);
    }
    // A pooled window transferred away (detached, or copied) by a consumer: the next pass maps a new one.
    try {
      structuredClone(kept!.buffer, { transfer: [kept!.buffer as ArrayBuffer] });
    } catch { /* not transferable: stays pooled */ }
    const again = await bytesOf(r, file, 'float32', { rowsPerChunk: 100 });
    expect(again.mapped).toBe(true);
    expect(again.bytes.equals(want.bytes)).toBe(true);
    await r.close();
  });

  test('FASTLOSS_MMAP=0 maps nothing', async () => {
    setEnv({ FASTLOSS_MMAP: '0' });
    const r = await openArray(files[0][0]);
    expect((await bytesOf(r, files[0][0], 'float32', { rowsPerChunk: 10 })).mapped).toBe(false);
    await r.close();
  });
});

// Truncation while mapped: a read of a lost page raises SIGBUS, so these run in child processes.
describe('a file truncated while mapped (child processes)', () => {
  const io = JSON.stringify(path.join(root, 'dist', 'io'));
  const cli = JSON.stringify(path.join(root, 'dist', 'cli'));
  const run = (code: string, env: Record<string, string | undefined> = {}): Record<string, unknown> => {
    const r = runChild(code, { env: { FASTLOSS_MMAP: undefined, ...env } });
    expectClean(r);
    return r.result as Record<string, unknown>;
  };

  onLinux('cut at a page, inside a page, to nothing: the ReadError of the first incomplete row', () => {
    const file = JSON.stringify(path.join(tmp, 'cut.npy'));
    const o = run(`(async () => {
      const fs = require('fs');
      const { openArray, writeNpy } = require(${io});
      const rows = 4000, cols = 16, file = ${file};
      const data = new Float32Array(rows * cols).map((_, i) => (i % 97) / 97);
      const out = {};
      // cut: the file's length after the cut (from the data start); at: the chunk after which it is cut.
      for (const [name, cut, at] of [['page', 4096 * 40, 2], ['inside', (2503 * cols + 2) * 4, 5], ['nothing', 0, 1], ['lastRow', rows * cols * 4 - 1, 30]]) {
        writeNpy(file, data, [rows, cols]);
        const start = fs.statSync(file).size - data.byteLength;
        const r = await openArray(file);
        let k = 0, sum = 0;
        try {
          for await (const c of r.chunks({ as: 'float32', rowsPerChunk: 100 })) {
            if (++k === at) fs.truncateSync(file, start + cut);
            for (let i = 0; i < c.data.length; i++) sum += c.data[i]; // reads lost pages: zeros
          }
          out[name] = 'no error';
        } catch (e) {
          out[name] = { name: e.name, row: e.row, message: e.message };
        }
        await r.close();
      }
      report(out);
    })();`);
    const err = (k: string): { name: string; row: number; message: string } => o[k] as { name: string; row: number; message: string };
    expect(err('page')).toMatchObject({ name: 'ReadError', row: 2560 });
    expect(err('page').message).toContain('is truncated: row 2560 of 4000');
    expect(err('inside')).toMatchObject({ name: 'ReadError', row: 2503 });
    // Chunk 0 was read after the cut (zeros): it is the incomplete one.
    expect(err('nothing')).toMatchObject({ name: 'ReadError', row: 0 });
    expect(err('lastRow')).toMatchObject({ name: 'ReadError', row: 3999 });
  });

  onLinux('the loss kernel reads the lost pages on every thread: ReadError at the next chunk, converted or not', () => {
    const dir = JSON.stringify(tmp);
    const o = run(`(async () => {
      const fs = require('fs'), path = require('path');
      const { openArray, writeNpy } = require(${io});
      const n = 1 << 22, per = 1 << 20, out = {};
      const other = new Float32Array(per).fill(0.5);
      for (const type of ['float32', 'float64']) {
        const file = path.join(${dir}, 'kernel-' + type + '.npy');
        const data = new Float32Array(n).map((_, i) => (i % 89) / 89);
        writeNpy(file, type === 'float32' ? data : Float64Array.from(data), [n]);
        const start = fs.statSync(file).size - n * (type === 'float32' ? 4 : 8);
        const r = await openArray(file);
        const losses = [];
        try {
          let k = 0;
          for await (const c of r.chunks({ as: 'float32', rowsPerChunk: per })) {
            // Cut before the kernel reads chunk 2 (a mapped view, or the conversion already read it).
            if (++k === 2) fs.truncateSync(file, start + 4096);
            losses.push(torch.mseLoss(c.data, other.subarray(0, c.data.length), { threads: 2 }));
          }
          out[type] = 'no error';
        } catch (e) {
          out[type] = { name: e.name, row: e.row, chunks: losses.length };
        }
        await r.close();
      }
      report(out);
    })();`);
    // float32: chunk 2 was a mapped view the kernel read as zeros; float64: converted before the cut.
    expect(o.float32).toEqual({ name: 'ReadError', row: 1 << 20, chunks: 2 });
    expect((o.float64 as { name: string }).name).toBe('ReadError');
  });

  onLinux('fastloss score with a file cut while it reads: exit 1 naming the file and row', () => {
    const dir = JSON.stringify(tmp);
    const o = run(`(async () => {
      const fs = require('fs'), path = require('path');
      const { writeNpy } = require(${io});
      const { main, errorLine } = require(${cli});
      const pred = path.join(${dir}, 'cli-pred.npy'), target = path.join(${dir}, 'cli-target.npy');
      // Long enough (8192 chunks) that the CLI's loop yields to setImmediate (every 50 ms) before it ends.
      const n = 1 << 23;
      writeNpy(pred, new Float32Array(n).fill(0.25), [n]);
      writeNpy(target, new Float32Array(n).fill(0.5), [n]);
      setImmediate(() => fs.truncateSync(target, fs.statSync(target).size - 4 * 5000));
      let status = 0, line = '';
      try {
        status = await main(['score', 'torch.mseLoss', '--pred', pred, '--target', target, '--chunk-rows', '1024', '--json'], () => {});
      } catch (e) {
        ({ status, line } = errorLine(e));
      }
      report({ status, line, n });
    })();`, { FASTLOSS_MMAP_WINDOW: '65536' });
    expect(o.status).toBe(1);
    expect(o.line).toContain(`cli-target.npy: is truncated: row ${(o.n as number) - 5000} of ${o.n}`);
  });
});
