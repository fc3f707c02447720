// Writing float32 .npy files: streamed (the shape is known up front), into a temporary file beside the
// target that is renamed only when complete, so no partial file is ever left under the target's name.
import * as fs from 'fs';
import * as path from 'path';

/** The .npy 1.0 header for a C-order little-endian array, padded so the data starts at a multiple of 64. */
export function npyHeader(descr: string, shape: readonly number[]): Buffer {
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${dims}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64;
  dict = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const b = Buffer.alloc(total);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(b, 0);
  b.writeUInt16LE(dict.length, 8);
  b.write(dict, 10, 'latin1');
  return b;
}

/** Live writers, removed on process exit and on SIGINT / SIGTERM (see removeTemporaries). */
const live = new Set<NpyWriter>();

export class NpyWriter {
  readonly tempPath: string;
  private fd: number;
  private written = 0;
  private readonly expected: number;
  constructor(readonly target: string, readonly shape: readonly number[], descr = '<f4') {
    const dir = path.dirname(path.resolve(target));
    this.tempPath = path.join(dir, `.${path.basename(target)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    this.fd = fs.openSync(this.tempPath, 'wx');
    live.add(this);
    this.expected = shape.reduce((a, b) => a * b, 1);
    try {
      fs.writeSync(this.fd, npyHeader(descr, shape));
    } catch (e) {
      this.abort();
      throw e;
    }
  }
  write(values: Float32Array): void {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    this.written += values.length;
  }
  /** Closes and renames onto the target; throws when fewer values were written than the shape says. */
  commit(): void {
    if (this.written !== this.expected) throw new Error(`internal: ${this.target}: wrote ${this.written} of ${this.expected} values`);
    fs.closeSync(this.fd);
    this.fd = -1;
    fs.renameSync(this.tempPath, this.target);
    live.delete(this);
  }
  abort(): void {
    if (this.fd >= 0) {
      try { fs.closeSync(this.fd); } catch { /* already closed */ }
      this.fd = -1;
    }
    try { fs.unlinkSync(this.tempPath); } catch { /* already gone */ }
    live.delete(this);
  }
}

/** Removes every temporary file of writers not committed (for signal handlers and exit). */
export function removeTemporaries(): void {
  for (const w of [...live]) w.abort();
}

/** Writes a whole array as .npy (float32 '<f4', int32 '<i4', float64 '<f8', int64 '<i8', uint8 '|u1'). */
export function writeNpy(target: string, data: Float32Array | Int32Array | Float64Array | BigInt64Array | Uint8Array, shape: readonly number[]): void {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Int32Array ? '<i4' : data instanceof Float64Array ? '<f8'
    : data instanceof BigInt64Array ? '<i8' : '|u1';
  const header = npyHeader(descr, shape);
  const fd = fs.openSync(target, 'w');
  try {
    fs.writeSync(fd, header);
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
  } finally {
    fs.closeSync(fd);
  }
}
