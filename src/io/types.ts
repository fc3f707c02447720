// What every reader (npy, npz, Arrow IPC, Parquet) gives: the array's header, then its rows in chunks.

/** Element types the readers understand (NumPy names). */
export type DType = 'float32' | 'float64' | 'int32' | 'int64' | 'uint8' | 'bool';

/** The element type a chunk is delivered in: what the loss kernels read. */
export type ChunkType = 'float32' | 'int32';

/** A data error (bad header, truncated file, NULL, out-of-range value): names the source and, for data, the row. */
export class ReadError extends Error {
  readonly source: string;
  readonly row: number | undefined;
  constructor(source: string, message: string, row?: number) {
    super(`${source}: ${message}`);
    this.name = 'ReadError';
    this.source = source;
    this.row = row;
  }
}

export interface ArrayHeader {
  /** The file (and member or column) as the user named it: 'preds.npz:logits'. */
  readonly source: string;
  readonly dtype: DType;
  /** Full shape, rows first: [N, C] (a 1-D array is [N]). */
  readonly shape: readonly number[];
  readonly rows: number;
  /** Elements per row: the product of shape[1:] (1 for a 1-D array). */
  readonly rowElements: number;
  /** The chunk size (elements per chunk) this reader reads best when rowsPerChunk is not given. */
  readonly chunkElements?: number;
}

export interface Chunk<T extends Float32Array | Int32Array = Float32Array | Int32Array> {
  /**
   * rows x rowElements elements. A view over the reader's buffer, valid until the next chunk is requested.
   * From a mapped file, bytes the file loses while the chunk is in use read as zeros; the next request (or
   * the pass's end) then throws the truncated row's ReadError.
   */
  readonly data: T;
  /** Index of the chunk's first row in the whole array. */
  readonly rowStart: number;
  readonly rows: number;
  /** [rows, ...shape[1:]]. */
  readonly shape: readonly number[];
}

export interface ReadOptions {
  /** Element type of the chunks; integer data may be read as float32, float data never as int32. */
  as: ChunkType;
  /** Most rows per chunk (readers may cut shorter, e.g. at Arrow record batches). Default: about 256 Ki elements. */
  rowsPerChunk?: number;
  /** First row to read (default 0) and the row after the last (default all rows): a shard. */
  start?: number;
  end?: number;
}

export interface ArrayReader extends ArrayHeader {
  /** The rows from start to end in chunks of rowsPerChunk rows; one pass at a time. */
  chunks(opts: ReadOptions): AsyncGenerator<Chunk>;
  close(): Promise<void>;
}

/** Integer dtypes (usable as class indices). */
export const isIntegerType = (d: DType): boolean => d === 'int32' || d === 'int64' || d === 'uint8' || d === 'bool';

export const BYTES: Record<DType, number> = { float32: 4, float64: 8, int32: 4, int64: 8, uint8: 1, bool: 1 };

/** Default chunk: 256 Ki elements per array (1 MiB of float32), small enough to stay in cache when copied. */
export const DEFAULT_CHUNK_ELEMENTS = 1 << 18;

/**
 * Chunk of a mapped file: 4 Mi elements per array (16 MiB of float32). A mapped chunk is a view (no copy), and every
 * chunk is one kernel call with its own fixed cost (checks, waking a helper): MSE over 2.5e8 elements from two
 * .npy files took 60-89 ms in chunks of 2^18, 57-60 in chunks of 2^22, against 52-55 in memory (AMD EPYC, quiet).
 */
export const MAPPED_CHUNK_ELEMENTS = 1 << 22;

export function rowsPerChunkFor(rowElements: number, elements = DEFAULT_CHUNK_ELEMENTS): number {
  return Math.max(1, Math.floor(elements / Math.max(1, rowElements)));
}

export function checkReadOptions(h: ArrayHeader, o: ReadOptions): { start: number; end: number; per: number } {
  if (o.as !== 'float32' && o.as !== 'int32') throw new TypeError(`${h.source}: read as must be 'float32' or 'int32'`);
  if (o.as === 'int32' && !isIntegerType(h.dtype))
    throw new ReadError(h.source, `holds ${h.dtype}; expected integers (int32, int64, uint8 or bool) for class indices`);
  const start = o.start ?? 0;
  const end = o.end ?? h.rows;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > h.rows || start > end)
    throw new RangeError(`${h.source}: rows [${start}, ${end}) are outside [0, ${h.rows}]`);
  const per = o.rowsPerChunk ?? rowsPerChunkFor(h.rowElements, h.chunkElements);
  if (!Number.isInteger(per) || per < 1) throw new RangeError(`${h.source}: rowsPerChunk must be an integer >= 1`);
  return { start, end, per };
}

/**
 * Converts `n` elements of src (any dtype view) into dst (float32 or int32). int64 to int32 checks the range
 * and reports the row; float to int never happens (checkReadOptions refuses it).
 */
export function convertInto(
  source: string, dst: Float32Array | Int32Array, dstAt: number,
  src: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array,
  firstRow: number, rowElements: number,
): void {
  if (src instanceof BigInt64Array) {
    // Read as two little-endian int32 words, value = hi * 2^32 + (lo >>> 0) (a BigInt per element cost ~30 ns):
    // it fits int32 when hi is lo's sign; below 2^53 in magnitude the double is exact, as Number(v) is.
    const words = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
    for (let i = 0; i < src.length; i++) {
      const lo = words[2 * i], hi = words[2 * i + 1];
      if (hi === lo >> 31) {
        dst[dstAt + i] = lo;
        continue;
      }
      if (dst instanceof Int32Array)
        throw new ReadError(source, `row ${firstRow + Math.floor(i / rowElements)}: int64 value ${src[i]} does not fit in int32`,
          firstRow + Math.floor(i / rowElements));
      dst[dstAt + i] = hi >= -0x200000 && hi < 0x200000 ? hi * 4294967296 + (lo >>> 0) : Number(src[i]);
    }
    return;
  }
  dst.set(src, dstAt);
}
