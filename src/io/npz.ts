// NumPy .npz: a zip of .npy members (np.savez: stored; np.savez_compressed: deflated), zip64 included.
// 'file.npz:name' selects the member name.npy; without a name the archive must hold exactly one array.
import * as fs from 'fs';
import { FileRegion, InflatedRegion } from './bytes';
import { headFromFd, NpyReader, openFile, readNpyHeader } from './npy';
import { ReadError } from './types';

interface Member {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeader: number;
}

const u16 = (b: Buffer, at: number): number => b.readUInt16LE(at);
const u32 = (b: Buffer, at: number): number => b.readUInt32LE(at);
const u64 = (b: Buffer, at: number): number => Number(b.readBigUInt64LE(at));

function readAt(fd: number, at: number, n: number): Buffer {
  const b = Buffer.alloc(n);
  const got = new FileRegion(fd, at, at + n).fillSync(b);
  return b.subarray(0, got);
}

/** The members of a zip archive, from its central directory. */
export function zipMembers(fd: number, source: string): Member[] {
  const size = fs.fstatSync(fd).size;
  const tailLength = Math.min(size, 65535 + 22);
  const tail = readAt(fd, size - tailLength, tailLength);
  let eocd = -1;
  for (let i = tail.length - 22; i >= 0; i--) {
    if (u32(tail, i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ReadError(source, 'is not a zip archive (.npz): no end-of-central-directory record');
  let count = u16(tail, eocd + 10);
  let cdSize = u32(tail, eocd + 12);
  let cdOffset = u32(tail, eocd + 16);
  // Zip64: the locator sits 20 bytes before the classic record.
  if (eocd >= 20 && u32(tail, eocd - 20) === 0x07064b50) {
    const rec = readAt(fd, u64(tail, eocd - 20 + 8), 56);
    if (rec.length < 56 || u32(rec, 0) !== 0x06064b50) throw new ReadError(source, 'has a corrupt zip64 directory');
    count = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > size) throw new ReadError(source, 'is truncated (its zip central directory points past the end)');
  const cd = readAt(fd, cdOffset, cdSize);
  const members: Member[] = [];
  let p = 0;
  for (let k = 0; k < count; k++) {
    if (p + 46 > cd.length || u32(cd, p) !== 0x02014b50) throw new ReadError(source, 'has a corrupt zip central directory');
    const nameLength = u16(cd, p + 28);
    const extraLength = u16(cd, p + 30);
    const commentLength = u16(cd, p + 32);
    const m: Member = {
      name: cd.toString('utf8', p + 46, p + 46 + nameLength),
      method: u16(cd, p + 10),
      compressedSize: u32(cd, p + 20),
      size: u32(cd, p + 24),
      localHeader: u32(cd, p + 42),
    };
    // Zip64 extra field: the 64-bit values for those that read 0xffffffff, in this order.
    let e = p + 46 + nameLength;
    const extraEnd = e + extraLength;
    while (e + 4 <= extraEnd) {
      const id = u16(cd, e);
      const len = u16(cd, e + 2);
      if (id === 1) {
        let q = e + 4;
        if (m.size === 0xffffffff) { m.size = u64(cd, q); q += 8; }
        if (m.compressedSize === 0xffffffff) { m.compressedSize = u64(cd, q); q += 8; }
        if (m.localHeader === 0xffffffff) { m.localHeader = u64(cd, q); q += 8; }
      }
      e += 4 + len;
    }
    members.push(m);
    p = extraEnd + commentLength;
  }
  return members;
}

/** Opens the member `name` (with or without '.npy') of an .npz archive. */
export async function openNpz(path: string, member: string | undefined, source: string): Promise<NpyReader> {
  const fd = openFile(path, source);
  try {
    const members = zipMembers(fd, source);
    const arrays = members.filter((m) => m.name.endsWith('.npy'));
    const names = arrays.map((m) => m.name.slice(0, -4));
    let m: Member | undefined;
    if (member === undefined) {
      if (arrays.length !== 1)
        throw new ReadError(source, `holds ${arrays.length} arrays (${names.join(', ') || 'none'}); name one: ${source}:${names[0] ?? 'name'}`);
      m = arrays[0];
    } else {
      m = members.find((x) => x.name === member || x.name === `${member}.npy`);
      if (!m) throw new ReadError(source, `has no array '${member}' (it holds: ${names.join(', ') || 'none'})`);
    }
    const local = readAt(fd, m.localHeader, 30);
    if (local.length < 30 || u32(local, 0) !== 0x04034b50) throw new ReadError(source, `has a corrupt zip entry for ${m.name}`);
    const dataStart = m.localHeader + 30 + u16(local, 26) + u16(local, 28);
    const fileSize = fs.fstatSync(fd).size;
    if (dataStart + m.compressedSize > fileSize)
      throw new ReadError(source, `is truncated: member ${m.name} ends ${dataStart + m.compressedSize - fileSize} bytes past the end of the file`);
    const closeFd = (): void => fs.closeSync(fd);
    if (m.method === 0) {
      const header = await readNpyHeader(source, headFromFd(fd, dataStart, m.size));
      return new NpyReader(source, header, (at) => new FileRegion(fd, dataStart + at, dataStart + m.size),
        m.size - header.dataOffset, closeFd, true);
    }
    if (m.method !== 8)
      throw new ReadError(source, `member ${m.name} uses zip compression method ${m.method}; supported: stored (0), deflate (8)`);
    const end = dataStart + m.compressedSize;
    const head = async (n: number): Promise<Uint8Array> => {
      const s = new InflatedRegion(path, dataStart, end);
      try {
        const b = new Uint8Array(Math.min(n, m.size));
        return b.subarray(0, await s.fill(b));
      } catch (e) {
        throw new ReadError(source, `member ${m.name} does not inflate (${(e as Error).message})`);
      } finally {
        s.close();
      }
    };
    const header = await readNpyHeader(source, head);
    const size = m.size;
    return new NpyReader(source, header, (at) => {
      const s = new InflatedRegion(path, dataStart, end);
      const skipTo = s.skip(at);
      // The header's bytes are skipped before the first fill.
      return {
        fill: async (dst: Uint8Array) => { await skipTo; return s.fill(dst); },
        skip: async (n: number) => { await skipTo; return s.skip(n); },
        close: () => s.close(),
      };
    }, size - header.dataOffset, closeFd);
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}
