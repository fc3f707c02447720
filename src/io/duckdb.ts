// Parquet and CSV through DuckDB's Node API (@duckdb/node-api): DuckDB streams the file in vectors of
// 2048 rows (row groups are read as needed, so the file never has to fit in memory) and we copy them into
// one reused chunk. A column may be a scalar, a fixed-size array (FLOAT[100]: [N, C] data) or a list of
// constant length; without a column, all columns together form a row (a CSV of C logits per line).
import { loadOptional } from './optional';
import { TableReader } from './table';
import { checkReadOptions, Chunk, DType, ReadError, ReadOptions } from './types';

type Flat = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

let instance: Promise<Any> | null = null;
async function connection(): Promise<Any> {
  const duckdb = loadOptional('@duckdb/node-api', 'Parquet and CSV');
  instance ??= duckdb.DuckDBInstance.create(':memory:', { threads: '1' });
  return (await instance).connect();
}

const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;

const SCALAR: Record<string, DType> = {
  FLOAT: 'float32', DOUBLE: 'float64', INTEGER: 'int32', BIGINT: 'int64', UTINYINT: 'uint8', BOOLEAN: 'bool',
};

/** 'FLOAT[100]' -> float32, [100]; 'DOUBLE[]' -> float64, list; 'BIGINT' -> int64, []. */
function parseType(t: string): { dtype: DType; dims: (number | null)[] } | null {
  const m = /^([A-Z]+)((?:\[\d*\])*)$/.exec(t);
  if (!m || !(m[1] in SCALAR)) return null;
  const dims = [...m[2].matchAll(/\[(\d*)\]/g)].map((x) => (x[1] === '' ? null : Number(x[1])));
  return { dtype: SCALAR[m[1]], dims };
}

function vectorItems(v: Any): Flat {
  if (v.items) return v.items as Flat;
  if (v.childData) return vectorItems(v.childData);
  throw new Error(`internal: unsupported DuckDB vector ${v.constructor?.name}`);
}

function firstNull(v: Any, n: number): number {
  const validity = v.validity;
  if (!validity || !validity.data) return -1;
  for (let i = 0; i < n; i++) if (!validity.itemValid(i)) return i;
  return -1;
}

export class DuckReader extends TableReader {
  constructor(
    source: string,
    dtype: DType,
    shape: readonly number[],
    private readonly from: string,
    private readonly columns: string[],
    private readonly list: boolean,
  ) {
    super(source, dtype, shape);
  }

  async *chunks(o: ReadOptions): AsyncGenerator<Chunk> {
    const { start, end, per } = checkReadOptions(this, o);
    if (start === end) return;
    const conn = await connection();
    try {
      const sql = `SELECT ${this.columns.map(ident).join(', ')} FROM ${this.from} LIMIT ${end - start} OFFSET ${start}`;
      const result = await conn.stream(sql);
      const C = this.rowElements;
      const cap = Math.min(per, end - start);
      const out = o.as === 'float32' ? new Float32Array(cap * C) : new Int32Array(cap * C);
      const yieldRows = (rows: number, rowStart: number): Chunk =>
        ({ data: out.subarray(0, rows * C), rowStart, rows, shape: [rows, ...this.shape.slice(1)] });
      let filled = 0;
      let row = start;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (!chunk || chunk.rowCount === 0) break;
        const n: number = chunk.rowCount;
        const vectors = this.columns.map((_, c) => chunk.getColumnVector(c));
        for (const v of vectors) {
          const bad = firstNull(v, n);
          if (bad >= 0) throw new ReadError(this.source, `row ${row + bad} is NULL; fill or drop missing values first`, row + bad);
        }
        let i = 0;
        while (i < n) {
          const take = Math.min(n - i, cap - filled);
          this.copyRows(vectors, i, take, out, filled, row + i);
          filled += take;
          i += take;
          if (filled === cap) {
            yield yieldRows(filled, row + i - filled);
            filled = 0;
          }
        }
        row += n;
      }
      if (filled > 0) yield yieldRows(filled, row - filled);
      if (row < end) throw new ReadError(this.source, `ends at row ${row}, before row ${end}`, row);
    } catch (e) {
      if (e instanceof ReadError) throw e;
      throw new ReadError(this.source, `cannot be read (${(e as Error).message.split('\n')[0]})`);
    } finally {
      conn.closeSync?.();
    }
  }

  /** Copies rows [i, i + take) of the vectors into out from row `at`, converting and checking int ranges. */
  private copyRows(vectors: Any[], i: number, take: number, out: Float32Array | Int32Array, at: number, firstRow: number): void {
    const C = this.rowElements;
    const put = (dst: number, src: Flat, from: number, count: number, row: number): void => {
      const part = src.subarray(from, from + count);
      if (part instanceof BigInt64Array) {
        for (let k = 0; k < count; k++) {
          const v = part[k];
          if (out instanceof Int32Array && (v < -2147483648n || v > 2147483647n))
            throw new ReadError(this.source, `row ${row + Math.floor(k / C)}: value ${v} does not fit in int32`, row + Math.floor(k / C));
          out[dst + k] = Number(v);
        }
      } else {
        out.set(part, dst);
      }
    };
    if (this.columns.length > 1) {
      // One column per element of the row.
      for (let c = 0; c < vectors.length; c++) {
        const src = vectorItems(vectors[c]);
        for (let r = 0; r < take; r++) put((at + r) * C + c, src, i + r, 1, firstRow + r);
      }
      return;
    }
    const v = vectors[0];
    if (this.list) {
      for (let r = 0; r < take; r++) {
        const len = v.getEntryLength(i + r);
        if (len !== C) throw new ReadError(this.source, `row ${firstRow + r} has ${len} values; row 0 has ${C}`, firstRow + r);
        const child = v.childVector;
        const bad = firstNull(child, child.itemCount);
        if (bad >= 0) throw new ReadError(this.source, `a value near row ${firstRow + r} is NULL`, firstRow + r);
        put((at + r) * C, vectorItems(child), v.getEntryOffset(i + r), C, firstRow + r);
      }
      return;
    }
    put(at * C, vectorItems(v), i * C, take * C, firstRow);
  }
}

/** Opens a Parquet or CSV file's column (see the file comment for what no column means). */
export async function openDuck(path: string, column: string | undefined, source: string, format: 'parquet' | 'csv'): Promise<DuckReader> {
  const { existsSync } = await import('fs');
  if (!existsSync(path)) throw new ReadError(source, 'no such file');
  const from = format === 'parquet' ? `read_parquet(${literal(path)})` : `read_csv(${literal(path)})`;
  const conn = await connection();
  try {
    let names: string[];
    let types: string[];
    try {
      const r = await conn.run(`SELECT * FROM ${from} LIMIT 0`);
      names = r.columnNames();
      types = r.columnTypes().map((t: Any) => String(t));
    } catch (e) {
      throw new ReadError(source, `is not a readable ${format === 'parquet' ? 'Parquet' : 'CSV'} file (${(e as Error).message.split('\n')[0]})`);
    }
    let columns: string[];
    if (column !== undefined) {
      if (!names.includes(column)) throw new ReadError(source, `has no column '${column}' (it has: ${names.join(', ')})`);
      columns = [column];
    } else if (names.length === 1) {
      columns = names;
    } else {
      columns = names;
      if (!types.every((t) => t === types[0] && parseType(t)?.dims.length === 0))
        throw new ReadError(source, `has ${names.length} columns of types ${[...new Set(types)].join(', ')}; name one: ${source}:${names[0]}`);
    }
    const parsed = parseType(types[names.indexOf(columns[0])]);
    if (!parsed)
      throw new ReadError(source, `column '${columns[0]}' has type ${types[names.indexOf(columns[0])]}; supported: FLOAT, DOUBLE, INTEGER, BIGINT, UTINYINT, BOOLEAN, or fixed arrays / lists of them`);
    const countResult = await conn.runAndReadAll(`SELECT count(*) FROM ${from}`);
    const rows = Number(countResult.getRows()[0][0]);
    let rowShape: number[];
    let list = false;
    if (columns.length > 1) {
      rowShape = [columns.length];
    } else if (parsed.dims.some((d) => d === null)) {
      if (parsed.dims.length !== 1) throw new ReadError(source, `column '${columns[0]}' is a nested list; use a fixed-size array type`);
      list = true;
      const first = await conn.runAndReadAll(`SELECT len(${ident(columns[0])}) FROM ${from} LIMIT 1`);
      rowShape = [Number(first.getRows()[0]?.[0] ?? 0)];
    } else {
      rowShape = parsed.dims as number[];
    }
    return new DuckReader(source, parsed.dtype, [rows, ...rowShape], from, columns, list);
  } finally {
    conn.closeSync?.();
  }
}
