// fastloss/io: streaming readers for scoring data (NumPy .npy / .npz, Arrow IPC / Feather, Parquet, CSV).
// Each yields row chunks as Float32Array / Int32Array views with their shape; see README "Files and the CLI".
import * as fs from 'fs';
import { openArrow } from './arrow';
import { openDuck } from './duckdb';
import { openNpy } from './npy';
import { openNpz } from './npz';
import { ArrayReader, ReadError } from './types';

export * from './types';
export { zipMembers } from './npz';

export type Format = 'npy' | 'npz' | 'arrow' | 'parquet' | 'csv';

/** 'preds.parquet:logits' -> path and column. A path that exists as given is never split. */
export function parseSpec(spec: string): { path: string; column: string | undefined } {
  if (fs.existsSync(spec)) return { path: spec, column: undefined };
  const at = spec.lastIndexOf(':');
  if (at > 0 && !spec.slice(at + 1).includes('/')) return { path: spec.slice(0, at), column: spec.slice(at + 1) };
  return { path: spec, column: undefined };
}

/** The format a file name says: .npy, .npz, .arrow / .feather / .ipc / .arrows, .parquet / .pq, .csv / .tsv. */
export function formatOf(path: string): Format | undefined {
  const ext = /\.([a-z0-9]+)(\.gz|\.zst)?$/i.exec(path)?.[1]?.toLowerCase();
  switch (ext) {
    case 'npy': return 'npy';
    case 'npz': return 'npz';
    case 'arrow': case 'feather': case 'ipc': case 'arrows': return 'arrow';
    case 'parquet': case 'pq': return 'parquet';
    case 'csv': case 'tsv': return 'csv';
    default: return undefined;
  }
}

/**
 * Opens `spec` (a path, optionally ':member' or ':column') as a row-chunked array. The format comes from
 * the extension unless `format` is given. Errors are ReadErrors naming the file.
 */
export async function openArray(spec: string, format?: Format): Promise<ArrayReader> {
  const { path, column } = parseSpec(spec);
  const f = format ?? formatOf(path);
  switch (f) {
    case 'npy':
      if (column !== undefined) throw new ReadError(spec, 'a .npy file holds one array; drop the :name');
      return openNpy(path, spec);
    case 'npz': return openNpz(path, column, spec);
    case 'arrow': return openArrow(path, column, spec);
    case 'parquet': return openDuck(path, column, spec, 'parquet');
    case 'csv': return openDuck(path, column, spec, 'csv');
    default:
      throw new ReadError(spec, 'has an unknown extension; supported: .npy, .npz, .arrow/.feather/.ipc, .parquet, .csv');
  }
}

/** Reads a whole (small) array into memory: one Float32Array or Int32Array. */
export async function readAll(spec: string, as: 'float32' | 'int32'): Promise<{ data: Float32Array | Int32Array; shape: readonly number[] }> {
  const r = await openArray(spec);
  try {
    const data = as === 'float32' ? new Float32Array(r.rows * r.rowElements) : new Int32Array(r.rows * r.rowElements);
    for await (const c of r.chunks({ as })) data.set(c.data, c.rowStart * r.rowElements);
    return { data, shape: r.shape };
  } finally {
    await r.close();
  }
}

export { writeNpy, NpyWriter } from './write';
