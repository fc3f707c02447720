// NumPy .npy (format versions 1.0, 2.0, 3.0; numpy/lib/format.py) read in row chunks. Every header field
// is checked: magic, version, header length, the dict's keys, descr (byte order and type), fortran_order,
// shape, and the data length against the file.
import * as fs from 'fs';
import type { NativeAddon } from '../core/native';
import { ByteSource, FileRegion } from './bytes';
import {
  ArrayReader, BYTES, checkReadOptions, Chunk, convertInto, DEFAULT_CHUNK_ELEMENTS, DType, MAPPED_CHUNK_ELEMENTS, ReadError, ReadOptions,
} from './types';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
/** Largest header we accept (NumPy itself refuses more than 10000 bytes by default since 1.24). */
const MAX_HEADER = 1 << 20;

const DESCR: Record<string, DType> = {
  '<f4': 'float32', '<f8': 'float64', '<i4': 'int32', '<i8': 'int64', '|u1': 'uint8', '<u1': 'uint8', '|b1': 'bool',
};

export interface NpyHeader {
  dtype: DType;
  shape: number[];
  /** Offset of the data from the start of the .npy bytes. */
  dataOffset: number;
}

/** A tiny parser for the Python literal NumPy writes: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } */
class Literal {
  i = 0;
  constructor(readonly s: string, readonly source: string) {}
  fail(what: string): never {
    throw new ReadError(this.source, `bad .npy header: ${what} at character ${this.i} of ${JSON.stringify(this.s.trim())}`);
  }
  ws(): void {
    while (this.i < this.s.length && ' \t\r\n'.includes(this.s[this.i])) this.i++;
  }
  eat(c: string): boolean {
    this.ws();
    if (this.s[this.i] === c) {
      this.i++;
      return true;
    }
    return false;
  }
  expect(c: string, what: string): void {
    if (!this.eat(c)) this.fail(`expected ${what}`);
  }
  string(): string {
    this.ws();
    const q = this.s[this.i];
    if (q !== "'" && q !== '"') this.fail('expected a quoted string');
    const end = this.s.indexOf(q, this.i + 1);
    if (end < 0) this.fail('unterminated string');
    const v = this.s.slice(this.i + 1, end);
    this.i = end + 1;
    return v;
  }
  value(): unknown {
    this.ws();
    const c = this.s[this.i];
    if (c === "'" || c === '"') return this.string();
    if (c === '(') {
      this.i++;
      const items: number[] = [];
      for (;;) {
        if (this.eat(')')) return items;
        this.ws();
        const m = /^\d+/.exec(this.s.slice(this.i));
        if (!m) this.fail('expected a non-negative integer in shape');
        this.i += m[0].length;
        if (this.eat('L')) { /* Python 2 long suffix */ }
        items.push(Number(m[0]));
        if (!this.eat(',')) {
          this.expect(')', "',' or ')'");
          return items;
        }
      }
    }
    for (const [word, v] of [['True', true], ['False', false]] as const) {
      if (this.s.startsWith(word, this.i)) {
        this.i += word.length;
        return v;
      }
    }
    if (c === '[') return this.fail('structured dtypes (a descr list) are not supported');
    return this.fail('expected a string, True/False or a tuple');
  }
  dict(): Map<string, unknown> {
    const d = new Map<string, unknown>();
    this.expect('{', "'{'");
    for (;;) {
      if (this.eat('}')) break;
      const k = this.string();
      if (d.has(k)) this.fail(`duplicate key '${k}'`);
      this.expect(':', "':'");
      d.set(k, this.value());
      if (!this.eat(',')) {
        this.expect('}', "',' or '}'");
        break;
      }
    }
    this.ws();
    if (this.i !== this.s.length) this.fail('unexpected text after the dict');
    return d;
  }
}

/** The length of the preamble (magic, version, header length) for a version, or an error. */
function preamble(source: string, bytes: Uint8Array): { version: number; headerStart: number; headerLength: number } {
  if (bytes.length < 10) throw new ReadError(source, `is not a .npy file (${bytes.length} bytes, shorter than the preamble)`);
  for (let i = 0; i < MAGIC.length; i++)
    if (bytes[i] !== MAGIC[i]) throw new ReadError(source, 'is not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  const minor = bytes[7];
  if (major < 1 || major > 3 || minor !== 0)
    throw new ReadError(source, `has .npy format version ${major}.${minor}; supported: 1.0, 2.0, 3.0`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (major === 1) return { version: 1, headerStart: 10, headerLength: view.getUint16(8, true) };
  if (bytes.length < 12) throw new ReadError(source, 'is truncated inside the .npy preamble');
  return { version: major, headerStart: 12, headerLength: view.getUint32(8, true) };
}

/** Parses a .npy header from the first bytes of the file (at least the preamble; fetch more with `more`). */
export async function readNpyHeader(source: string, head: (n: number) => Promise<Uint8Array>): Promise<NpyHeader> {
  const pre = preamble(source, await head(12));
  if (pre.headerLength > MAX_HEADER)
    throw new ReadError(source, `has a .npy header length of ${pre.headerLength} bytes (more than ${MAX_HEADER}: corrupt)`);
  const total = pre.headerStart + pre.headerLength;
  const bytes = await head(total);
  if (bytes.length < total) throw new ReadError(source, `is truncated inside the .npy header (${bytes.length} of ${total} bytes)`);
  const raw = bytes.subarray(pre.headerStart, total);
  let text: string;
  if (pre.version === 3) {
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      throw new ReadError(source, 'has a .npy 3.0 header that is not UTF-8');
    }
  } else {
    if (raw.some((b) => b > 0x7f)) throw new ReadError(source, `has a non-ASCII .npy ${pre.version}.0 header`);
    text = Buffer.from(raw).toString('latin1');
  }
  const d = new Literal(text, source).dict();
  const keys = [...d.keys()].sort().join(', ');
  if (keys !== 'descr, fortran_order, shape')
    throw new ReadError(source, `has .npy header keys {${keys}}; expected exactly descr, fortran_order, shape`);
  const descr = d.get('descr');
  const fortran = d.get('fortran_order');
  const shape = d.get('shape');
  if (typeof descr !== 'string') throw new ReadError(source, 'has a .npy descr that is not a string');
  if (typeof fortran !== 'boolean') throw new ReadError(source, 'has a .npy fortran_order that is not True or False');
  if (!Array.isArray(shape)) throw new ReadError(source, 'has a .npy shape that is not a tuple');
  const dtype = npyType(source, descr);
  for (const s of shape as number[])
    if (!Number.isSafeInteger(s)) throw new ReadError(source, `has a .npy shape entry ${s} that is too large`);
  const dims = shape as number[];
  if (fortran && dims.filter((s) => s > 1).length > 1)
    throw new ReadError(source, 'is in Fortran order; save it in C order (np.ascontiguousarray(a)) to score it');
  let elements = 1;
  for (const s of dims) elements *= s;
  if (!Number.isSafeInteger(elements * BYTES[dtype]))
    throw new ReadError(source, `has a .npy shape (${dims.join(', ')}) too large to address`);
  return { dtype, shape: dims.length === 0 ? [1] : dims, dataOffset: total };
}

function npyType(source: string, descr: string): DType {
  const t = DESCR[descr];
  if (t) return t;
  if (descr === '|O' || descr === '<O' || descr === '>O')
    throw new ReadError(source, 'holds Python objects (dtype object); save a numeric array (float32, int64, ...)');
  if (/^>/.test(descr) && DESCR[`<${descr.slice(1)}`])
    throw new ReadError(source, `is big-endian (${descr}); save it little-endian (a.astype('<${descr.slice(1)}'))`);
  throw new ReadError(source,
    `has dtype ${descr}; supported: float32 (<f4), float64 (<f8), int32 (<i4), int64 (<i8), uint8 (|u1), bool (|b1)`);
}

/**
 * A .npy array over a byte source opened for each pass. `total` is the bytes available after the header
 * when known (a plain file or a stored zip member): a short file is then reported before any chunk.
 */
export class NpyReader implements ArrayReader {
  readonly rows: number;
  readonly rowElements: number;
  readonly shape: readonly number[];
  readonly dtype: DType;
  constructor(
    readonly source: string,
    header: NpyHeader,
    private readonly open: (dataOffset: number) => ByteSource,
    private readonly dataBytes: number | null,
    private readonly onClose: () => void = () => {},
    /** A plain file region (a .npy file, a stored .npz member): chunks are mapped views where useMmap(). */
    private readonly mappable = false,
  ) {
    this.dtype = header.dtype;
    this.shape = header.shape;
    this.rows = header.shape[0];
    this.rowElements = header.shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = this.rowElements * BYTES[this.dtype];
    const want = this.rows * rowBytes;
    if (dataBytes !== null && dataBytes < want) {
      const whole = rowBytes > 0 ? Math.floor(dataBytes / rowBytes) : this.rows;
      throw new ReadError(source,
        `is truncated: row ${whole} of ${this.rows} is incomplete (${dataBytes} of ${want} data bytes)`, whole);
    }
    if (dataBytes !== null && dataBytes > want)
      throw new ReadError(source, `has ${dataBytes - want} bytes after the data its header describes (corrupt or not one array)`);
    this.dataOffset = header.dataOffset;
  }
  private readonly dataOffset: number;

  get chunkElements(): number {
    return this.mappable && useMmap() ? MAPPED_CHUNK_ELEMENTS : DEFAULT_CHUNK_ELEMENTS;
  }

  /** The same data under another C-order shape of the same element count (rows regrouped). */
  withShape(shape: readonly number[]): NpyReader {
    const n = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);
    if (n(shape) !== n(this.shape)) throw new RangeError(`${this.source}: shape [${shape.join(', ')}] does not hold ${n(this.shape)} elements`);
    return new NpyReader(this.source, { dtype: this.dtype, shape: [...shape], dataOffset: this.dataOffset }, this.open, this.dataBytes, this.onClose, this.mappable);
  }

  async *chunks(o: ReadOptions): AsyncGenerator<Chunk> {
    const { start, end, per } = checkReadOptions(this, o);
    const rowBytes = this.rowElements * BYTES[this.dtype];
    const src = this.open(this.dataOffset);
    try {
      if ((await src.skip(start * rowBytes)) < start * rowBytes) this.truncated(start);
      const rowsMax = Math.min(per, Math.max(1, end - start));
      if (src instanceof FileRegion && useMmap() && src.start % BYTES[this.dtype] === 0 && end > start && mappable(src.fd)) {
        yield* this.chunksMapped(src, o.as, start, end, per, rowsMax);
        return;
      }
      if (src instanceof FileRegion && readAhead() > 1) {
        yield* this.chunksAhead(src, o.as, start, end, per, rowsMax);
        return;
      }
      const out = o.as === 'float32' ? new Float32Array(rowsMax * this.rowElements) : new Int32Array(rowsMax * this.rowElements);
      const direct = this.dtype === o.as;
      const staging = direct ? null : new Uint8Array(rowsMax * rowBytes);
      for (let r = start; r < end; r += per) {
        const rows = Math.min(per, end - r);
        const n = rows * this.rowElements;
        const bytes = rows * rowBytes;
        const data = out.subarray(0, n);
        const dst = staging ? staging.subarray(0, bytes) : new Uint8Array(data.buffer, data.byteOffset, bytes);
        const got = src instanceof FileRegion ? src.fillSync(dst) : await src.fill(dst);
        if (got < bytes) this.truncated(r + Math.floor(got / rowBytes));
        if (staging) convertInto(this.source, data, 0, typedView(this.dtype, staging.buffer, bytes), r, this.rowElements);
        yield { data, rowStart: r, rows, shape: [rows, ...this.shape.slice(1)] };
      }
    } finally {
      src.close();
    }
  }

  /**
   * A plain file's chunks read ahead on the libuv pool: a ring of readAhead() buffers, chunk k in slot
   * k % depth, depth - 1 reads in flight while the caller scores chunk k (the chunk is a view of its slot,
   * valid until the next one is asked for, when that slot gets chunk k + depth). Same chunks, same bytes as
   * the synchronous path; a read that comes back short is the truncated row, reported in chunk order.
   */
  private async *chunksAhead(src: FileRegion, as: 'float32' | 'int32', start: number, end: number, per: number, rowsMax: number): AsyncGenerator<Chunk> {
    const rowBytes = this.rowElements * BYTES[this.dtype];
    const count = Math.ceil((end - start) / per);
    // At most 64 MiB of ring beyond one chunk: huge chunks are read one at a time.
    const ring = Math.max(1, Math.min(readAhead(), count, Math.floor(RING_BYTES / Math.max(1, rowsMax * rowBytes))));
    const slots = Array.from({ length: ring }, () => new Uint8Array(rowsMax * rowBytes));
    const direct = this.dtype === as;
    const out = direct ? null : as === 'float32' ? new Float32Array(rowsMax * this.rowElements) : new Int32Array(rowsMax * this.rowElements);
    const reads: Promise<number | Error>[] = [];
    const issue = (k: number): void => {
      const r = start + k * per;
      const bytes = Math.min(per, end - r) * rowBytes;
      reads[k] = src.fillAt(slots[k % slots.length].subarray(0, bytes), r * rowBytes);
    };
    let k = 0;
    try {
      for (let i = 0; i < Math.min(slots.length, count); i++) issue(i);
      for (; k < count; k++) {
        const r = start + k * per;
        const rows = Math.min(per, end - r);
        const n = rows * this.rowElements;
        const bytes = rows * rowBytes;
        const got = await reads[k];
        if (typeof got !== 'number') throw new ReadError(this.source, `cannot be read at row ${r} (${(got as NodeJS.ErrnoException).code ?? got.message})`, r);
        if (got < bytes) this.truncated(r + Math.floor(got / rowBytes));
        const raw = slots[k % slots.length];
        let data: Float32Array | Int32Array;
        if (out) {
          data = out.subarray(0, n);
          convertInto(this.source, data, 0, typedView(this.dtype, raw.buffer, bytes), r, this.rowElements);
        } else {
          data = as === 'float32' ? new Float32Array(raw.buffer, 0, n) : new Int32Array(raw.buffer, 0, n);
        }
        yield { data, rowStart: r, rows, shape: [rows, ...this.shape.slice(1)] };
        if (k + slots.length < count) issue(k + slots.length);
      }
    } finally {
      // No read may still write into a slot (or use the descriptor) once the pass is over.
      await Promise.all(reads.slice(k));
    }
  }

  /**
   * A plain file's chunks as views of read-only mappings (mapFile) of up to MAP_WINDOW bytes: no copy. The
   * pass detaches a window (unmapFile) when it leaves it, so a chunk is valid until the next one is asked for,
   * as with the ring. Pages the file loses while mapped read as zeros (the SIGBUS handler of
   * binding/napi/mapfile.cpp): once the caller has used a chunk (at the next request or the pass's end), the
   * window's fault flag and the file's size are checked (mapCheck), and a truncation throws the truncated row's
   * ReadError.
   * A window that cannot be mapped is read with pread. Same chunks, same bytes as the other paths.
   */
  private async *chunksMapped(src: FileRegion, as: 'float32' | 'int32', start: number, end: number, per: number, rowsMax: number): AsyncGenerator<Chunk> {
    const addon = mapAddon();
    const window = mapWindow();
    const rowBytes = this.rowElements * BYTES[this.dtype];
    const direct = this.dtype === as;
    const out = direct ? null : as === 'float32' ? new Float32Array(rowsMax * this.rowElements) : new Int32Array(rowsMax * this.rowElements);
    let staging: Uint8Array | null = null; // pread fallback
    // The window: file bytes [from, to) at byte skew of buffer.
    let buffer: ArrayBuffer | null = null;
    let win: { skew: number; from: number; to: number } | null = null;
    let pending: { r: number; rows: number; win: ArrayBuffer | null } | null = null;
    const check = (): void => {
      if (pending === null) return;
      const { r, rows, win: w } = pending;
      pending = null;
      const checked = w !== null ? addon.mapCheck(w, src.fd) : -2;
      const faulted = checked === -1;
      const size = checked >= 0 ? checked : fs.fstatSync(src.fd).size;
      if (faulted || size < src.start + (r + rows) * rowBytes)
        this.truncated(Math.min(r + rows - 1, Math.max(r, Math.floor((size - src.start) / rowBytes))));
    };
    const release = (): void => {
      if (buffer !== null) putWindow(addon, buffer);
      buffer = null;
      win = null;
    };
    try {
      for (let r = start; r < end; r += per) {
        check();
        const rows = Math.min(per, end - r);
        const n = rows * this.rowElements;
        const bytes = rows * rowBytes;
        const at = src.start + r * rowBytes;
        if (win === null || at + bytes > win.to) {
          // The next window, into the same buffer (its views, the chunks before, now see the new bytes).
          const to = Math.min(src.end, at + Math.max(window, rowsMax * rowBytes));
          const pooled = buffer === null ? takeWindow(to - at) : undefined;
          let m = addon.mapFile(src.fd, at, to - at, buffer ?? pooled);
          if (m === null && pooled !== undefined) m = addon.mapFile(src.fd, at, to - at); // detached in the pool (transferred)
          if (m === null) release();
          else {
            buffer = m[0];
            win = { skew: m[1], from: at, to };
          }
        }
        let data: Float32Array | Int32Array;
        if (win !== null && buffer !== null) {
          const offset = win.skew + (at - win.from);
          if (out) {
            data = out.subarray(0, n);
            convertInto(this.source, data, 0, typedView(this.dtype, buffer, bytes, offset), r, this.rowElements);
          } else {
            data = as === 'float32' ? new Float32Array(buffer, offset, n) : new Int32Array(buffer, offset, n);
          }
        } else {
          // Not mappable (too many mappings, the file shrank): this chunk by pread, as the synchronous path.
          const dst = out ? (staging ??= new Uint8Array(rowsMax * rowBytes)).subarray(0, bytes) : null;
          const target = out ? out.subarray(0, n) : as === 'float32' ? new Float32Array(n) : new Int32Array(n);
          const raw = dst ?? new Uint8Array(target.buffer, 0, bytes);
          const got = new FileRegion(src.fd, at, src.end).fillSync(raw);
          if (got < bytes) this.truncated(r + Math.floor(got / rowBytes));
          if (dst) convertInto(this.source, target, 0, typedView(this.dtype, dst.buffer, bytes), r, this.rowElements);
          data = target;
        }
        pending = { r, rows, win: win !== null ? buffer : null };
        yield { data, rowStart: r, rows, shape: [rows, ...this.shape.slice(1)] };
      }
      check();
    } finally {
      try {
        check();
      } finally {
        release();
      }
    }
  }

  private truncated(row: number): never {
    throw new ReadError(this.source, `is truncated: row ${row} of ${this.rows} is incomplete (the data ends early)`, row);
  }

  async close(): Promise<void> {
    this.onClose();
  }
}

function typedView(dtype: DType, buf: ArrayBufferLike, bytes: number, at = 0): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  switch (dtype) {
    case 'float32': return new Float32Array(buf, at, bytes / 4);
    case 'float64': return new Float64Array(buf, at, bytes / 8);
    case 'int32': return new Int32Array(buf, at, bytes / 4);
    case 'int64': return new BigInt64Array(buf, at, bytes / 8);
    default: return new Uint8Array(buf, at, bytes);
  }
}

const RING_BYTES = 64 << 20;
/**
 * Bytes of a file mapped at once by chunksMapped (address space only: pages are faulted in as read); at least
 * one chunk. FASTLOSS_MMAP_WINDOW overrides the 32 MiB (tests: many windows on small files).
 */
function mapWindow(): number {
  const v = Number(process.env.FASTLOSS_MMAP_WINDOW ?? 32 << 20);
  return Number.isSafeInteger(v) && v >= 1 ? v : 32 << 20;
}

/**
 * Windows of finished passes, attached, their pages zeros (unmapFile keep): the next passes map into them. A
 * new external buffer per pass (2 x 34 MiB for two inputs) made V8 collect garbage ("external memory
 * pressure": two scavenges and a mark-compact, 2-20 ms) in every pass. A chunk view kept after its pass reads
 * zeros, then a later pass's bytes: chunks are valid until the next one is asked for.
 */
const windowPool: ArrayBuffer[] = [];
const POOL_MAX = 4;

/** The last pooled window that holds `length` bytes at any skew (below 2 MiB), if any. */
function takeWindow(length: number): ArrayBuffer | undefined {
  for (let i = windowPool.length - 1; i >= 0; i--)
    if (windowPool[i].byteLength >= length + (2 << 20)) return windowPool.splice(i, 1)[0];
  return undefined;
}

function putWindow(addon: MapAddon, buffer: ArrayBuffer): void {
  const keep = windowPool.length < POOL_MAX;
  if (addon.unmapFile(buffer, keep) && keep) windowPool.push(buffer);
}

type MapAddon = Pick<NativeAddon, 'mapFile' | 'unmapFile' | 'mapCheck'>;
let addonForMaps: MapAddon | null = null;
/** The addon, loaded on first use (the readers work without it through pread). */
function mapAddon(): MapAddon {
  return (addonForMaps ??= (require('../core/native') as { native: NativeAddon }).native);
}

/**
 * Plain files are read through read-only mappings (zero-copy) unless FASTLOSS_MMAP=0 (pread: read ahead on
 * the libuv pool, or synchronous with FASTLOSS_READ_AHEAD=1). Linux only.
 */
export function useMmap(): boolean {
  return process.platform === 'linux' && process.env.FASTLOSS_MMAP !== '0';
}

/** A regular file (a FIFO or a device is read with pread). */
function mappable(fd: number): boolean {
  try {
    return fs.fstatSync(fd).isFile();
  } catch {
    return false;
  }
}

/**
 * Chunks of a plain .npy file read ahead at once, on the libuv pool (FASTLOSS_READ_AHEAD, default 4;
 * 1: synchronous reads into one buffer).
 */
export function readAhead(): number {
  const v = Number(process.env.FASTLOSS_READ_AHEAD ?? 4);
  return Number.isInteger(v) && v >= 1 ? Math.min(v, 64) : 4;
}

/** Reads up to n bytes from the start of a file descriptor. */
export function headFromFd(fd: number, offset = 0, limit = Infinity): (n: number) => Promise<Uint8Array> {
  return async (n: number) => {
    const want = Math.max(0, Math.min(n, limit));
    const b = new Uint8Array(want);
    const got = new FileRegion(fd, offset, offset + want).fillSync(b);
    return b.subarray(0, got);
  };
}

/** Opens a .npy file. */
export async function openNpy(path: string, source = path): Promise<NpyReader> {
  const fd = openFile(path, source);
  try {
    const size = fs.fstatSync(fd).size;
    const header = await readNpyHeader(source, headFromFd(fd));
    return new NpyReader(source, header, (at) => new FileRegion(fd, at, size), size - header.dataOffset, () => fs.closeSync(fd), true);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

export function openFile(path: string, source: string): number {
  try {
    const fd = fs.openSync(path, 'r');
    if (fs.fstatSync(fd).isDirectory()) {
      fs.closeSync(fd);
      throw new ReadError(source, 'is a directory');
    }
    return fd;
  } catch (e) {
    if (e instanceof ReadError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ReadError(source, code === 'ENOENT' ? 'no such file' : `cannot be opened (${code ?? (e as Error).message})`);
  }
}
