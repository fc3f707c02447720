// Apache Arrow IPC (file format = Feather v2, and the stream format) through `apache-arrow`, one record
// batch at a time. A float32 / int32 column (or a fixed-size list of them: [N, C] data) is handed to the
// kernels as a view of the batch's own buffer, without a copy.
import * as fs from 'fs';
import { loadOptional } from './optional';
import { TableReader } from './table';
import { checkReadOptions, Chunk, convertInto, DType, ReadError, ReadOptions } from './types';

// apache-arrow's Type enum values we read (stable since Arrow 0.x).
const TYPE_INT = 2;
const TYPE_FLOAT = 3;
const TYPE_BOOL = 6;
const TYPE_FIXED_SIZE_LIST = 16;

interface ArrowType { typeId: number; precision?: number; bitWidth?: number; isSigned?: boolean; listSize?: number; children?: { type: ArrowType }[] }

/** The dtype and per-row shape of an Arrow column type, or why it cannot be read. */
function columnLayout(t: ArrowType): { dtype: DType; rowShape: number[] } | string {
  if (t.typeId === TYPE_FIXED_SIZE_LIST) {
    const inner = columnLayout(t.children![0].type);
    if (typeof inner === 'string') return inner;
    return { dtype: inner.dtype, rowShape: [t.listSize!, ...inner.rowShape] };
  }
  if (t.typeId === TYPE_FLOAT && t.precision === 1) return { dtype: 'float32', rowShape: [] };
  if (t.typeId === TYPE_FLOAT && t.precision === 2) return { dtype: 'float64', rowShape: [] };
  if (t.typeId === TYPE_INT && t.isSigned && t.bitWidth === 32) return { dtype: 'int32', rowShape: [] };
  if (t.typeId === TYPE_INT && t.isSigned && t.bitWidth === 64) return { dtype: 'int64', rowShape: [] };
  if (t.typeId === TYPE_INT && !t.isSigned && t.bitWidth === 8) return { dtype: 'uint8', rowShape: [] };
  if (t.typeId === TYPE_BOOL) return { dtype: 'bool', rowShape: [] };
  return `type ${String(t)}; supported: float32, float64, int32, int64, uint8, bool, or a fixed-size list of them`;
}

interface ArrowData {
  length: number;
  offset: number;
  nullCount: number;
  values: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;
  children: ArrowData[];
  type: ArrowType;
}

/** The flat values of a column's data (descending through fixed-size lists), from `first` row, `rows` rows. */
function flatValues(d: ArrowData, source: string, rowStart: number): { values: ArrowData['values']; offset: number; perRow: number } {
  if (d.nullCount > 0) {
    throw new ReadError(source, `has ${d.nullCount} null value(s) in the record batch starting at row ${rowStart}; fill or drop them first`, rowStart);
  }
  if (d.type.typeId === TYPE_FIXED_SIZE_LIST) {
    const inner = flatValues(d.children[0], source, rowStart);
    const size = d.type.listSize!;
    return { values: inner.values, offset: inner.offset + d.offset * size * inner.perRow, perRow: size * inner.perRow };
  }
  if (d.type.typeId === TYPE_BOOL) {
    // Bit-packed: unpack to one byte per value.
    const out = new Uint8Array(d.length);
    for (let i = 0; i < d.length; i++) {
      const bit = d.offset + i;
      out[i] = (d.values[bit >> 3] as number >> (bit & 7)) & 1;
    }
    return { values: out, offset: 0, perRow: 1 };
  }
  return { values: d.values, offset: d.offset, perRow: 1 };
}

/** `length` bytes of the file from `position` (fewer at its end). */
async function readAt(handle: fs.promises.FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let got = 0;
  while (got < length) {
    const { bytesRead } = await handle.read(buf, got, length - got, position + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

interface IpcMessage { bodyLength: number; isRecordBatch(): boolean; header(): { length: number } }
interface ArrowIpc { Message: { decode(b: Uint8Array): IpcMessage } }

/**
 * The IPC message at `position`, metadata only: its prefix (0xFFFFFFFF and the metadata length, or
 * before Arrow 0.15 the length alone), its flatbuffer (apache-arrow's `Message.decode`) and where its
 * body ends. null at the end of a stream (a zero length, or no bytes left).
 */
async function messageAt(arrow: ArrowIpc, handle: fs.promises.FileHandle, position: number, size: number):
  Promise<{ message: IpcMessage; end: number } | null> {
  const prefix = await readAt(handle, position, 8);
  if (prefix.length < 4) return null;
  const view = new DataView(prefix.buffer, prefix.byteOffset, prefix.length);
  const continued = view.getInt32(0, true) === -1;
  const length = continued ? (prefix.length === 8 ? view.getInt32(4, true) : -1) : view.getInt32(0, true);
  if (length === 0) return null;
  const start = position + (continued ? 8 : 4);
  if (length < 0 || start + length > size) throw new Error(`the message at byte ${position} is cut`);
  const message = arrow.Message.decode(await readAt(handle, start, length));
  const body = message.bodyLength;
  if (!Number.isSafeInteger(body) || body < 0) throw new Error(`the message at byte ${position} has a body of ${body} bytes`);
  const end = start + length + body;
  if (end > size) throw new Error(`the message at byte ${position} ends at byte ${end}, after the end of the file (${size})`);
  return { message, end };
}

/**
 * The row count from the record batches' metadata, without reading their bodies: a file's footer
 * lists its batches (blocks); a stream is walked message by message, skipping each body.
 */
async function countRows(arrow: ArrowIpc, handle: fs.promises.FileHandle,
  footer: { recordBatches(): Iterable<{ offset: number }> } | null, onRows: (rows: number) => void): Promise<void> {
  const size = (await handle.stat()).size;
  if (footer) {
    for (const block of footer.recordBatches()) {
      const m = await messageAt(arrow, handle, block.offset, size);
      if (!m || !m.message.isRecordBatch()) throw new Error(`no record batch at byte ${block.offset}, where the footer has one`);
      onRows(m.message.header().length);
    }
    return;
  }
  let m = await messageAt(arrow, handle, 0, size);
  while (m) {
    if (m.message.isRecordBatch()) onRows(m.message.header().length);
    m = await messageAt(arrow, handle, m.end, size);  // m.end > its start: the walk moves on
  }
}

export class ArrowReader extends TableReader {
  constructor(source: string, dtype: DType, shape: readonly number[], private readonly path: string, private readonly column: string) {
    super(source, dtype, shape);
  }

  async *chunks(o: ReadOptions): AsyncGenerator<Chunk> {
    const { start, end, per } = checkReadOptions(this, o);
    const arrow = loadOptional('apache-arrow', 'Arrow IPC / Feather');
    const handle = await fs.promises.open(this.path, 'r');
    try {
      const reader = await arrow.RecordBatchReader.from(handle);
      await reader.open();
      let scratch: Float32Array | Int32Array | null = null;
      let batchStart = 0;
      for await (const batch of reader) {
        const batchRows: number = batch.numRows;
        const from = Math.max(start, batchStart);
        const to = Math.min(end, batchStart + batchRows);
        if (from < to) {
          const col = batch.getChild(this.column);
          for (const data of col.data as ArrowData[]) {
            // A batch's column normally holds one Data; more are read one after the other.
            const dataEnd = batchStart + data.length;
            const lo = Math.max(from, batchStart);
            const hi = Math.min(to, dataEnd);
            if (lo < hi) {
              const { values, offset } = flatValues(data, this.source, batchStart);
              for (let r = lo; r < hi; r += per) {
                const rows = Math.min(per, hi - r);
                const a = offset + (r - batchStart) * this.rowElements;
                const view = values.subarray(a, a + rows * this.rowElements);
                let out: Float32Array | Int32Array;
                if ((o.as === 'float32' && view instanceof Float32Array) || (o.as === 'int32' && view instanceof Int32Array)) {
                  out = view; // zero-copy
                } else {
                  const n = rows * this.rowElements;
                  if (!scratch || scratch.length < n) scratch = o.as === 'float32' ? new Float32Array(n) : new Int32Array(n);
                  out = scratch.subarray(0, n);
                  convertInto(this.source, out, 0, view, r, this.rowElements);
                }
                yield { data: out, rowStart: r, rows, shape: [rows, ...this.shape.slice(1)] };
              }
            }
            batchStart = dataEnd;
          }
        } else {
          batchStart += batchRows;
        }
        if (batchStart >= end) break;
      }
      if (batchStart < end) throw new ReadError(this.source, `ends at row ${batchStart}, before row ${end}`, batchStart);
    } finally {
      await handle.close();
    }
  }
}

/** Opens column `column` of an Arrow IPC file or stream (any column when the table has exactly one). */
export async function openArrow(path: string, column: string | undefined, source: string): Promise<ArrowReader> {
  const arrow = loadOptional('apache-arrow', 'Arrow IPC / Feather');
  let handle: fs.promises.FileHandle;
  try {
    handle = await fs.promises.open(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ReadError(source, code === 'ENOENT' ? 'no such file' : `cannot be opened (${code})`);
  }
  try {
    let reader;
    try {
      reader = await arrow.RecordBatchReader.from(handle);
      await reader.open();
    } catch (e) {
      throw new ReadError(source, `is not an Arrow IPC file or stream (${(e as Error).message})`);
    }
    const fields = reader.schema.fields as { name: string; type: ArrowType }[];
    const names = fields.map((f) => f.name);
    let field;
    if (column === undefined) {
      if (fields.length !== 1) throw new ReadError(source, `has ${fields.length} columns (${names.join(', ')}); name one: ${source}:${names[0]}`);
      field = fields[0];
    } else {
      field = fields.find((f) => f.name === column);
      if (!field) throw new ReadError(source, `has no column '${column}' (it has: ${names.join(', ')})`);
    }
    const layout = columnLayout(field.type);
    if (typeof layout === 'string') throw new ReadError(source, `column '${field.name}' has ${layout}`);
    // The row count: the sum of the record batches' lengths, read from their metadata alone.
    let rows = 0;
    try {
      await countRows(arrow, handle, reader.isFile() ? reader.footer : null, (n) => { rows += n; });
    } catch (e) {
      throw new ReadError(source, `is truncated or corrupt after row ${rows} (${(e as Error).message})`, rows);
    }
    return new ArrowReader(source, layout.dtype, [rows, ...layout.rowShape], path, field.name);
  } finally {
    await handle.close();
  }
}
