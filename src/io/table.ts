// The header the table readers (Arrow IPC, DuckDB's Parquet / CSV) share: fixed when the file is opened.
import { ArrayReader, Chunk, DType, ReadOptions } from './types';

export abstract class TableReader implements ArrayReader {
  readonly rows: number;
  readonly rowElements: number;
  constructor(readonly source: string, readonly dtype: DType, readonly shape: readonly number[]) {
    this.rows = shape[0];
    this.rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
  }

  abstract chunks(o: ReadOptions): AsyncGenerator<Chunk>;

  async close(): Promise<void> {}
}
