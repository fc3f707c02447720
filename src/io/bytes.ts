// Sequential byte sources for the NumPy readers: a file region read with positioned reads, or a
// deflated zip member inflated as it is read. Neither holds more than one chunk in memory.
import * as fs from 'fs';
import * as zlib from 'zlib';

export interface ByteSource {
  /** Fills dst from the current position; returns the bytes read (< dst.length only at the end). */
  fill(dst: Uint8Array): Promise<number>;
  /** Skips n bytes; returns the bytes skipped (< n only at the end). */
  skip(n: number): Promise<number>;
  close(): void;
}

/** Bytes [start, end) of an open file descriptor, read with pread into the caller's buffer (no copies). */
export class FileRegion implements ByteSource {
  private pos: number;
  constructor(readonly fd: number, readonly start: number, readonly end: number) {
    this.pos = start;
  }
  /**
   * Fills dst from `at` bytes into the region, on the libuv pool, without moving the position; resolves to
   * the bytes read (< dst.length only at the region's or the file's end) or to the read's error. Never rejects,
   * so reads issued ahead and not yet awaited cannot become unhandled rejections.
   */
  async fillAt(dst: Uint8Array, at: number): Promise<number | Error> {
    let got = 0;
    let pos = this.start + at;
    while (got < dst.length && pos < this.end) {
      const want = Math.min(dst.length - got, this.end - pos, 0x40000000);
      const n = await readAt(this.fd, dst, got, want, pos);
      if (typeof n !== 'number') return n;
      if (n === 0) break;
      got += n;
      pos += n;
    }
    return got;
  }
  async fill(dst: Uint8Array): Promise<number> {
    return this.fillSync(dst);
  }
  fillSync(dst: Uint8Array): number {
    let got = 0;
    while (got < dst.length && this.pos < this.end) {
      const want = Math.min(dst.length - got, this.end - this.pos, 0x40000000);
      const n = fs.readSync(this.fd, dst, got, want, this.pos);
      if (n === 0) break;
      got += n;
      this.pos += n;
    }
    return got;
  }
  async skip(n: number): Promise<number> {
    const k = Math.max(0, Math.min(n, this.end - this.pos));
    this.pos += k;
    return k;
  }
  close(): void {
    // The descriptor belongs to the reader that opened it.
  }
}

function readAt(fd: number, dst: Uint8Array, offset: number, length: number, position: number): Promise<number | Error> {
  return new Promise((resolve) => {
    fs.read(fd, dst, offset, length, position, (err, n) => resolve(err ?? n));
  });
}

/** A raw-deflate stream over bytes [start, end) of a file, inflated on demand. */
export class InflatedRegion implements ByteSource {
  private readonly input: fs.ReadStream;
  private readonly inflater: zlib.InflateRaw;
  private readonly it: AsyncIterator<Buffer>;
  private pending: Buffer = Buffer.alloc(0);
  private done = false;
  constructor(path: string, start: number, end: number) {
    this.input = fs.createReadStream(path, { start, end: Math.max(start, end - 1), highWaterMark: 1 << 20 });
    if (end <= start) this.input.destroy();
    this.inflater = zlib.createInflateRaw({ chunkSize: 1 << 20 });
    this.input.on('error', (e) => this.inflater.destroy(e));
    this.input.pipe(this.inflater);
    this.it = this.inflater[Symbol.asyncIterator]();
  }
  private async more(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    this.pending = r.value;
    return true;
  }
  async fill(dst: Uint8Array): Promise<number> {
    let got = 0;
    while (got < dst.length) {
      if (this.pending.length === 0 && !(await this.more())) break;
      const k = Math.min(this.pending.length, dst.length - got);
      dst.set(this.pending.subarray(0, k), got);
      this.pending = this.pending.subarray(k);
      got += k;
    }
    return got;
  }
  async skip(n: number): Promise<number> {
    let skipped = 0;
    while (skipped < n) {
      if (this.pending.length === 0 && !(await this.more())) break;
      const k = Math.min(this.pending.length, n - skipped);
      this.pending = this.pending.subarray(k);
      skipped += k;
    }
    return skipped;
  }
  close(): void {
    this.input.destroy();
    this.inflater.destroy();
  }
}
