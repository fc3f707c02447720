// fastloss score: streams the files chunk by chunk through the loss's accumulator (and, with --out,
// its 'none' call), with row-aligned chunks across the inputs.
import * as fs from 'fs';
import * as path from 'path';
import type { ArrayReader, Chunk } from '../io/types';
import { DEFAULT_CHUNK_ELEMENTS, ReadError, rowsPerChunkFor } from '../io/types';
import { NpyWriter } from '../io/write';
import { one, Parsed, parseArgs, UsageError } from './args';
import { parseOptionValue, resolveLoss } from './losses';
import { Progress } from './progress';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export const SCORE_HELP = `usage: fastloss score <loss> --pred FILE[:column] --target FILE[:column] [options]

Scores predictions against targets from files of any size, streamed in chunks.

  <loss>               torch.crossEntropy, keras.meanSquaredError, mseLoss, cross_entropy, ... (fastloss list)
  --pred FILE          the differentiated input (PyTorch input, Keras yPred)
  --target FILE        the target (PyTorch target, Keras yTrue)
  --input NAME=FILE    any argument by its name (fastloss list shows them), for losses of more inputs
  --weight FILE        per-row weights streamed with the rows (Keras sampleWeight, torch BCE weight)
  --opt NAME=VALUE     a loss option: a number, true/false, a string, 1,2,3 or an array FILE (class weights)
  --reduction R        mean / sum / sum_over_batch_size / batchmean (per loss; default: the loss's)
  --shape D,D,...      the logical shape, rows first (-1 for the row count): reshapes .npy / .npz data
  --out FILE.npy       also write the unreduced losses (reduction 'none') as float32 .npy
  --threads N          threads per chunk call (default: fastloss's default)
  --shard I/N          score only the I-th of N equal row ranges; with --json, print its partial state
  --chunk-rows N       rows per chunk (default: about 256 Ki elements)
  --json               one JSON document on stdout
  --no-progress        no progress bar (it is shown only when stderr is a terminal anyway)

Files: .npy, .npz[:member], .arrow/.feather/.ipc[:column], .parquet[:column], .csv[:column].
Exit status: 0 scored, 1 a file or data error, 2 a usage error; one line on stderr names the file or argument.`;

interface Input {
  arg: string;
  flag: string;
  reader: ArrayReader;
  as: 'float32' | 'int32';
  /** The row shape the loss sees (after --shape). */
  rowShape: number[];
}

/** int32 for class indices ('i32'), float32 else; 'f32|i32' follows the file (integers -> class indices). */
function chunkType(kind: string, reader: ArrayReader): 'float32' | 'int32' {
  if (kind === 'i32' || kind === 'i32|count') return 'int32';
  if (kind === 'f32|i32') return ['int32', 'int64', 'uint8', 'bool'].includes(reader.dtype) && reader.rowElements === 1 ? 'int32' : 'float32';
  return 'float32';
}

function parseShard(raw: string | undefined): { index: number; count: number } | null {
  if (raw === undefined) return null;
  const m = /^(\d+)\/(\d+)$/.exec(raw);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2]))
    throw new UsageError(`score: --shard must be I/N with 0 <= I < N (e.g. 0/4), got '${raw}'`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

function positiveInt(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`score: ${flag} must be an integer >= 1, got '${raw}'`);
  return Number(raw);
}

/** Zips the inputs' chunk streams into row-aligned steps (readers may cut their chunks differently). */
async function* aligned(inputs: Input[], start: number, end: number, per: number): AsyncGenerator<{ rowStart: number; rows: number; data: (Float32Array | Int32Array)[] }> {
  const its = inputs.map((inp) => inp.reader.chunks({ as: inp.as, start, end, rowsPerChunk: per }));
  const cur: (Chunk | null)[] = inputs.map(() => null);
  const used = inputs.map(() => 0);
  try {
    for (let row = start; row < end;) {
      for (let k = 0; k < its.length; k++) {
        if (cur[k] === null || used[k] === cur[k]!.rows) {
          const r = await its[k].next();
          if (r.done) throw new ReadError(inputs[k].reader.source, `ended at row ${row} of ${end}`, row);
          cur[k] = r.value;
          used[k] = 0;
        }
      }
      const rows = Math.min(...cur.map((c, k) => c!.rows - used[k]));
      const data = cur.map((c, k) => {
        const e = c!.data.length / c!.rows;
        return c!.rows === rows && used[k] === 0 ? c!.data : c!.data.subarray(used[k] * e, (used[k] + rows) * e);
      });
      yield { rowStart: row, rows, data };
      for (let k = 0; k < used.length; k++) used[k] += rows;
      row += rows;
    }
  } finally {
    await Promise.all(its.map((it) => it.return(undefined)));
  }
}

/** Where a kernel error's 'target[17]' points in the files: the flag, the file and the row. */
function locate(e: Error, inputs: Input[], rowStart: number): Error {
  const m = /(\w+)\[(\d+)\]/.exec(e.message);
  const inp = m ? inputs.find((i) => i.arg === m[1] || (m[1] === 'opts' && i.arg === 'weight')) : undefined;
  if (!m || !inp) {
    // A shape or type mismatch: say what each file holds.
    const held = inputs.map((i) => `${i.flag} ${i.reader.source} is ${i.reader.dtype} [${i.reader.shape.join(', ')}]`).join('; ');
    return new Error(`${e.message} (${held})`);
  }
  const per = inp.rowShape.reduce((a, b) => a * b, 1);
  const row = rowStart + Math.floor(Number(m[2]) / per);
  return new ReadError(inp.reader.source, `row ${row}: ${e.message}`, row);
}

export interface ScoreResult {
  [key: string]: unknown;
}

export async function score(argv: string[], print: (s: string) => void): Promise<number> {
  const p: Parsed = parseArgs('score', argv, {
    values: ['pred', 'target', 'weight', 'reduction', 'shape', 'out', 'threads', 'shard', 'chunk-rows'],
    repeatable: ['opt', 'input'],
    flags: ['json', 'help', 'no-progress'],
    aliases: { h: 'help' },
  });
  if (p.flags.has('help')) {
    print(SCORE_HELP);
    return 0;
  }
  if (p.positional.length !== 1)
    throw new UsageError(p.positional.length ? `score: one loss name expected, got ${p.positional.join(' ')}` : 'score: name the loss (fastloss list shows them), e.g. fastloss score torch.crossEntropy --pred logits.npy --target labels.npy');
  const loss = resolveLoss(p.positional[0]);
  const def = loss.def;
  // Files are cut into chunks along their first axis: the loss's rows must be there.
  if (def.dims && def.dims[0] !== 'N')
    throw new UsageError(`score: ${def.name} takes [${def.dims.join(', ')}] data, rows on axis ${def.dims.indexOf('N')}; fastloss score streams rows along the first axis: use ${def.name}.accumulate() from code`);
  const threads = positiveInt('--threads', one(p, 'threads'));
  const chunkRows = positiveInt('--chunk-rows', one(p, 'chunk-rows'));
  const shard = parseShard(one(p, 'shard'));
  const json = p.flags.has('json');
  const outPath = one(p, 'out');
  if (outPath !== undefined && !outPath.endsWith('.npy')) throw new UsageError(`score: --out must name a .npy file, got '${outPath}'`);
  if (outPath !== undefined && shard) throw new UsageError('score: --out and --shard together: write one --out per shard is not supported; score the whole file, or shard without --out');

  // Which file feeds which argument.
  const files = new Map<string, { file: string; flag: string }>();
  const argNames = def.args.map((a) => a.name);
  const predArg = def.args.find((a) => a.grad)?.name;
  const others = def.args.filter((a) => !a.grad).map((a) => a.name);
  for (const raw of p.values.get('input') ?? []) {
    const eq = raw.indexOf('=');
    const name = raw.slice(0, eq);
    if (eq <= 0 || !argNames.includes(name))
      throw new UsageError(`score: --input must be NAME=FILE with NAME one of ${argNames.join(', ')} (${def.name}), got '${raw}'`);
    files.set(name, { file: raw.slice(eq + 1), flag: `--input ${name}` });
  }
  const pred = one(p, 'pred');
  const target = one(p, 'target');
  if (pred !== undefined) {
    if (!predArg) throw new UsageError(`score: ${def.name} has no differentiated input for --pred; use --input NAME=FILE`);
    files.set(predArg, { file: pred, flag: '--pred' });
  }
  if (target !== undefined) {
    if (others.length !== 1) throw new UsageError(`score: ${def.name} takes ${argNames.join(', ')}: name each with --input NAME=FILE`);
    files.set(others[0], { file: target, flag: '--target' });
  }
  for (const a of argNames) {
    if (!files.has(a)) {
      const flag = a === predArg ? '--pred' : others.length === 1 && a === others[0] ? '--target' : `--input ${a}=FILE`;
      throw new UsageError(`score: ${def.name} needs ${a}: pass ${flag}`);
    }
  }

  // Options: --opt name=value, --reduction, and --weight (the per-row option).
  const options: Record<string, unknown> = {};
  const perChunkNames = Object.keys(def.options).filter((k) => (def.options[k] as { perChunk?: boolean }).perChunk || k === 'sampleWeight');
  const optionFiles: [string, string][] = [];
  for (const raw of p.values.get('opt') ?? []) {
    const eq = raw.indexOf('=');
    const name = raw.slice(0, eq);
    if (eq <= 0) throw new UsageError(`score: --opt must be NAME=VALUE, got '${raw}'`);
    if (!(name in def.options))
      throw new UsageError(`score: --opt ${name}: ${def.name} has no option '${name}' (options: ${Object.keys(def.options).join(', ') || 'none'})`);
    if (perChunkNames.includes(name)) throw new UsageError(`score: --opt ${name} is per row: pass --weight FILE`);
    const value = raw.slice(eq + 1);
    if (/\.(npy|npz|arrow|feather|parquet|csv)(:.*)?$/.test(value)) optionFiles.push([name, value]);
    else options[name] = parseOptionValue(value);
  }
  const reduction = one(p, 'reduction');
  if (reduction !== undefined) {
    const allowed = Object.keys(def.reductions).filter((r) => r !== 'none');
    if (!allowed.includes(reduction))
      throw new UsageError(`score: --reduction ${reduction}: ${def.name} reduces with ${allowed.join(', ')} (the unreduced losses: --out FILE.npy)`);
    options.reduction = reduction;
  }
  const weightFile = one(p, 'weight');
  let weightOption: string | undefined;
  if (weightFile !== undefined) {
    if (perChunkNames.length !== 1)
      throw new UsageError(`score: --weight: ${def.name} has no per-row weight${'weight' in def.options ? " (its weight is per class: --opt weight=FILE)" : ''}`);
    weightOption = perChunkNames[0];
  }
  const shapeArg = one(p, 'shape');
  let shapeOverride: number[] | null = null;
  if (shapeArg !== undefined) {
    shapeOverride = shapeArg.split(',').map((s) => Number(s.trim()));
    if (shapeOverride.some((d, i) => !Number.isInteger(d) || d < (i === 0 ? -1 : 1)))
      throw new UsageError(`score: --shape must be integers >= 1 separated by commas (the first may be -1), got '${shapeArg}'`);
  }

  const io = await import('../io');
  const inputs: Input[] = [];
  let writer: NpyWriter | null = null;
  try {
    for (const [name, value] of optionFiles) {
      const r = await io.readAll(value, 'float32');
      options[name] = r.data;
    }
    for (const a of def.args) {
      const { file, flag } = files.get(a.name)!;
      const reader = await io.openArray(file);
      inputs.push({ arg: a.name, flag, reader, as: chunkType(a.kind, reader), rowShape: reader.shape.slice(1) });
    }
    if (weightFile !== undefined) {
      const reader = await io.openArray(weightFile);
      inputs.push({ arg: weightOption!, flag: '--weight', reader, as: 'float32', rowShape: reader.shape.slice(1) });
    }
    const predIndex = Math.max(0, def.args.findIndex((a) => a.grad));
    const main = inputs[predIndex];
    if (shapeOverride) {
      const total = main.reader.rows * main.reader.rowElements;
      const rowElems = shapeOverride.slice(1).reduce((x, y) => x * y, 1);
      const rows = shapeOverride[0] === -1 ? total / rowElems : shapeOverride[0];
      if (!Number.isInteger(rows) || rows * rowElems !== total)
        throw new UsageError(`score: --shape ${shapeArg} does not fit ${main.reader.source}, which holds ${total} elements (shape [${main.reader.shape.join(', ')}])`);
      for (const inp of inputs) {
        if (inp.reader.rows * inp.reader.rowElements !== total || inp.reader.rows === rows) {
          if (inp.reader.rows === rows && inp.reader.rowElements === rowElems) inp.rowShape = shapeOverride.slice(1);
          continue;
        }
        const reshape = (inp.reader as Any).withShape as ((s: number[]) => ArrayReader) | undefined;
        if (!reshape) throw new UsageError(`score: --shape can regroup the rows of .npy / .npz files only; ${inp.reader.source} has shape [${inp.reader.shape.join(', ')}]`);
        inp.reader = reshape.call(inp.reader, [rows, ...shapeOverride.slice(1)]);
        inp.rowShape = shapeOverride.slice(1);
      }
    }
    const rows = main.reader.rows;
    for (const inp of inputs) {
      if (inp.reader.rows !== rows)
        throw new ReadError(inp.reader.source, `has ${inp.reader.rows} rows; ${main.flag} ${main.reader.source} has ${rows} (${inp.flag})`);
    }

    if (typeof loss.fn.accumulate !== 'function') throw new Error(`this build of fastloss has no ${def.name}.accumulate`);
    if (threads !== undefined) options.threads = threads;
    let acc: Any;
    try {
      acc = loss.fn.accumulate(options);
    } catch (e) {
      throw new UsageError(`score: ${(e as Error).message.replace('opts.threads', '--threads').replace('opts.reduction', '--reduction').replace(/opts\.(\w+)/, '--opt $1')}`);
    }
    const start = shard ? Math.floor((shard.index * rows) / shard.count) : 0;
    const end = shard ? Math.floor(((shard.index + 1) * rows) / shard.count) : rows;
    const rowElementsMax = Math.max(...inputs.map((i) => i.rowShape.reduce((a, b) => a * b, 1)));
    const per = chunkRows ?? rowsPerChunkFor(rowElementsMax, Math.min(...inputs.map((i) => i.reader.chunkElements ?? DEFAULT_CHUNK_ELEMENTS)));
    const progress = new Progress(end - start, !json && !p.flags.has('no-progress'));
    const t0 = process.hrtime.bigint();
    const argCount = def.args.length;
    let perRowOut = -1;
    const noneOptions = { ...options, reduction: 'none' };
    delete (noneOptions as Record<string, unknown>).threads;
    if (threads !== undefined) (noneOptions as Record<string, unknown>).threads = threads;
    let lastYield = Date.now();
    for await (const step of aligned(inputs, start, end, per)) {
      const chunkOpts: Record<string, unknown> = { shape: [step.rows, ...main.rowShape] };
      if (weightOption) chunkOpts[weightOption] = step.data[argCount];
      const args = step.data.slice(0, argCount);
      try {
        acc.add(...args, chunkOpts);
        if (outPath !== undefined) {
          const losses: Float32Array = loss.fn(...args, { ...noneOptions, ...chunkOpts });
          if (perRowOut < 0) {
            perRowOut = losses.length / step.rows;
            const outShape = perRowOut === 1 ? [rows] : perRowOut === main.rowShape.reduce((a, b) => a * b, 1) ? [rows, ...main.rowShape] : [rows, perRowOut];
            writer = new NpyWriter(outPath, outShape);
          }
          writer!.write(losses);
        }
      } catch (e) {
        if (e instanceof ReadError) throw e;
        throw locate(e as Error, inputs, step.rowStart);
      }
      progress.tick(step.rows);
      // The synchronous readers never return to the event loop by themselves: let signals (SIGINT,
      // SIGTERM: remove the temporary --out file) and the progress bar through every 50 ms.
      if (Date.now() - lastYield > 50) {
        await new Promise((r) => setImmediate(r));
        lastYield = Date.now();
      }
    }
    progress.stop();
    if (outPath !== undefined && writer === null) writer = new NpyWriter(outPath, [0]);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    writer?.commit();
    writer = null;
    const state = acc.toJSON();
    const summary = {
      loss: def.name,
      reduction: acc.reduction,
      result: acc.result(),
      rows: acc.rows,
      elements: acc.elements,
      seconds,
      rowsPerSecond: acc.rows / seconds,
      elementsPerSecond: acc.elements / seconds,
      inputs: Object.fromEntries(inputs.map((i) => [i.arg, i.reader.source])),
      ...(outPath !== undefined ? { out: path.resolve(outPath) } : {}),
    };
    if (shard) {
      const doc = { ...state, shard: { index: shard.index, count: shard.count, rowStart: start, rowEnd: end, totalRows: rows }, seconds };
      if (json) print(JSON.stringify(doc, null, 1));
      else print(`${summaryText(summary)}\n  shard ${shard.index}/${shard.count}: rows [${start}, ${end}) of ${rows}; its state for fastloss merge: add --json > part-${shard.index}.json`);
    } else if (json) {
      print(JSON.stringify({ ...summary, state }, null, 1));
    } else {
      print(summaryText(summary));
    }
    return 0;
  } catch (e) {
    (writer as NpyWriter | null)?.abort();
    throw e;
  } finally {
    for (const i of inputs) await i.reader.close();
  }
}

const fmt = (x: number): string => (x >= 1e9 ? `${(x / 1e9).toFixed(2)} G` : x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : `${x.toFixed(0)} `);


export function summaryText(s: { loss: string; reduction: string; result: number; rows: number; elements: number; seconds: number; out?: string }): string {
  return `${s.loss} (${s.reduction}) = ${s.result}\n` +
    `  ${s.rows} rows, ${s.elements} elements in ${s.seconds.toFixed(3)} s: ${fmt(s.rows / s.seconds)} rows/s, ${fmt(s.elements / s.seconds)} elements/s` +
    (s.out ? `\n  unreduced losses: ${s.out}` : '');
}

export function fileExists(f: string): boolean {
  return fs.existsSync(f);
}
