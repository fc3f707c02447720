// Streaming accumulation (issue 14): every loss's `accumulate(opts)` gives an accumulator that takes
// the data in chunks of any size and gives what one call over the concatenation gives. Each chunk is
// one reduced kernel call that reports its parts (kReportParts, binding/kernels/engine.h
// reportParts): the summed losses, what 'mean' / 'batchmean' divides by (PyTorch's summed class
// weights, CTC's sequences, Keras' samples, shape[0]) and the items. Both sums are kept exact
// (ExactSum), so cuts, merge order and processes do not change the result's bits.
import * as check from './check';
import type { LossDef } from './define';
import { native } from './native';

/** The flag a chunk call adds to the call record (binding/kernels/loss_args.h kReportParts). */
export const FLAG_REPORT_PARTS = native.flags.reportParts;

// ------------------------------------------------------------------ exact sums

/**
 * An exact sum of doubles (Shewchuk's non-overlapping expansion, as Python's math.fsum): `add` is
 * exact, `value` the correctly rounded sum. Non-finite inputs are summed apart (NaN, +-Infinity).
 */
export class ExactSum {
  /** Non-overlapping partials, increasing magnitude, no zeros. */
  partials: number[] = [];
  /** The sum of the non-finite inputs (and of overflowed partial sums); 0 when none. */
  special = 0;

  add(value: number): void {
    if (!Number.isFinite(value)) {
      this.special += value;
      return;
    }
    const p = this.partials;
    let x = value;
    let kept = 0;
    for (let j = 0; j < p.length; j++) {
      let y = p[j];
      if (Math.abs(x) < Math.abs(y)) { const t = x; x = y; y = t; }
      const hi = x + y;
      if (!Number.isFinite(hi)) {  // beyond the double range: the sum is that infinity
        this.special += hi;
        p.length = 0;
        return;
      }
      const lo = y - (hi - x);
      if (lo !== 0) p[kept++] = lo;
      x = hi;
    }
    if (x !== 0) p[kept++] = x;
    if (p.length !== kept) p.length = kept;
  }

  addAll(other: ExactSum): void {
    for (const v of other.partials) this.add(v);
    if (other.special !== 0 || Number.isNaN(other.special)) this.add(other.special);
  }

  /** The sum, correctly rounded to a double (math.fsum's final rounding). */
  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // Half-way case: hi + lo rounded to even, but later partials break the tie.
    if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  toJSON(): ExactSumState {
    const state: ExactSumState = { partials: this.partials.slice() };
    if (this.special !== 0 || Number.isNaN(this.special)) state.special = String(this.special) as ExactSumState['special'];
    return state;
  }
}

/** An ExactSum as JSON: its partials (doubles round-trip exactly through JSON numbers) and non-finite part. */
export interface ExactSumState {
  partials: number[];
  special?: 'NaN' | 'Infinity' | '-Infinity';
}

// ------------------------------------------------------------------ the generic accumulator

/** What one chunk call reports (define.ts runParts). */
export interface ChunkParts {
  total: number;
  divisor: number;
  items: number;
  /** The chunk's logical shape. */
  shape: readonly number[];
}

/** How define.ts runs one chunk of a loss: a reduced forward call with kReportParts. */
export interface ChunkRunner {
  run(argv: unknown[]): ChunkParts;
  runAsync(argv: unknown[]): Promise<ChunkParts>;
}

interface LossEntry {
  def: LossDef;
  runner: ChunkRunner;
  /** Options captured at accumulate() (the rest go with each chunk). */
  fixed: string[];
  /** Options given with each add(): per-row data such as Keras' sampleWeight. */
  perChunk: Set<string>;
  /** The reductions an accumulator may use ('none' excluded). */
  reductions: string[];
  defaultReduction: string;
  /** The axis of the logical shape that counts rows (CTC's N), -1: the first. */
  rowAxis: number;
}

const registry = new Map<string, LossEntry>();

const STATE_KIND = 'fastloss.accumulator';
const STATE_VERSION = 1;

/** The JSON form of an accumulator's partial state (`acc.toJSON()`, `JSON.stringify(acc)`). */
export interface AccumulatorState {
  kind: 'fastloss.accumulator';
  version: 1;
  loss: string;
  reduction: string;
  /** The loss options fixed at accumulate(), defaults filled in; arrays as { float32: [...] } / { int32: [...] }. */
  options: Record<string, unknown>;
  rows: number;
  elements: number;
  chunks: number;
  items: number;
  total: ExactSumState;
  divisor: ExactSumState;
}

/** Options of accumulate(): the loss's options (those per row go with each add()), a reduction other than 'none', threads. */
export type AccumulateOptions<O> = Omit<O, 'reduction' | 'sampleWeight' | 'shape'> & {
  reduction?: Exclude<(O extends { reduction?: infer R } ? R : never), 'none'>;
  /** Default thread cap of every chunk call (add() may override it). */
  threads?: number;
};

/** Options of one add(): the chunk's shape, its per-row options (Keras sampleWeight, torch BCE weight), threads. */
export type ChunkOptions<O> = Pick<O, Extract<keyof O, 'sampleWeight' | 'shape'>> &
  (O extends { weight?: infer W } ? { weight?: W } : unknown) & { threads?: number };

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v);

/** A private copy of an option value (arrays copied, so later writes by the caller change nothing). */
function copyValue(v: unknown): unknown {
  if (check.isFloat32Array(v)) return Float32Array.from(v);
  if (check.isInt32Array(v)) return Int32Array.from(v);
  if (Array.isArray(v)) return v.map(copyValue);
  return v;
}

function encodeValue(v: unknown): unknown {
  if (check.isFloat32Array(v)) return { float32: Array.from(v, encodeNumber) };
  if (check.isInt32Array(v)) return { int32: Array.from(v) };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (typeof v === 'number') return encodeNumber(v);
  return v;
}

// JSON has no NaN, Infinity or -0: those travel as strings.
function encodeNumber(v: number): number | string {
  return Number.isFinite(v) && !Object.is(v, -0) ? v : String(Object.is(v, -0) ? '-0' : v);
}

function decodeNumber(v: unknown): unknown {
  if (v === 'NaN') return NaN;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  if (v === '-0') return -0;
  return v;
}

function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (isPlainObject(v)) {
    const keys = Object.keys(v);
    if (keys.length === 1 && keys[0] === 'float32' && Array.isArray(v.float32)) return Float32Array.from(v.float32.map(decodeNumber) as number[]);
    if (keys.length === 1 && keys[0] === 'int32' && Array.isArray(v.int32)) return Int32Array.from(v.int32 as number[]);
  }
  return decodeNumber(v);
}

/** Canonical text of fixed options, for merge's comparison (keys sorted, arrays by value). */
function optionsKey(options: Record<string, unknown>): string {
  return JSON.stringify(Object.keys(options).sort().map((k) => [k, encodeValue(options[k])]));
}

/** The accumulator of one loss's reduced result over chunks; see the README, "Streaming and batch scoring". */
export class Accumulator {
  /** 'torch.crossEntropy', ... */
  readonly loss: string;
  readonly reduction: string;
  // TypeScript-private (not #private: the ES2020 build turns those into WeakMap lookups on every add).
  private readonly _entry: LossEntry;
  private readonly _options: Record<string, unknown>;
  private readonly _threads: number | undefined;
  private readonly _optionsKey: string;
  private readonly _fn: string;
  private _total = new ExactSum();
  private _divisor = new ExactSum();
  private _items = 0;
  private _rows = 0;
  private _elements = 0;
  private _chunks = 0;

  /** @internal use `loss.accumulate(opts)` or `accumulatorFromState(state)`. */
  constructor(entry: LossEntry, reduction: string, options: Record<string, unknown>, threads: number | undefined) {
    this.loss = entry.def.name;
    this.reduction = reduction;
    this._entry = entry;
    this._options = options;
    this._threads = threads;
    this._optionsKey = optionsKey(options);
    this._fn = `${entry.def.name}.accumulate`;
  }

  /** Rows added so far (the first axis of each chunk's shape; CTC: sequences). */
  get rows(): number { return this._rows; }
  /** Elements added so far (of the prediction: the product of each chunk's shape). */
  get elements(): number { return this._elements; }
  /** Chunks added so far (merged accumulators' included). */
  get chunks(): number { return this._chunks; }

  /** The loss options fixed at accumulate() (defaults filled in; arrays are private copies). */
  get options(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(this._options)) out[k] = copyValue(this._options[k]);
    return out;
  }

  private _argv(args: unknown[], method: string): unknown[] {
    const def = this._entry.def;
    const fn = `${this._fn}().${method}`;
    const nArgs = def.args.length;
    if (args.length < nArgs) throw check.typeError(fn, def.args[args.length].name, 'is required');
    if (args.length > nArgs + 1) throw check.typeError(fn, 'arguments', `takes ${nArgs} arrays and an options object`);
    const call: Record<string, unknown> = { ...this._options, reduction: this.reduction };
    if (this._threads !== undefined) call.threads = this._threads;
    const given = args[nArgs];
    if (given !== undefined) {
      if (!isPlainObject(given)) throw check.typeError(fn, 'opts', 'must be an options object');
      for (const key of Object.keys(given)) {
        const value = given[key];
        if (key === 'shape' || key === 'threads' || this._entry.perChunk.has(key)) {
          if (value !== undefined) call[key] = value;
        } else if (key === 'reduction' || key in def.options) {
          throw check.typeError(fn, `opts.${key}`, `is fixed for the whole accumulator: pass it to ${def.name}.accumulate()`);
        } else {
          throw check.typeError(fn, `opts.${key}`, `is not a per-chunk option of ${def.name} (those are: ${
            ['shape', 'threads', ...this._entry.perChunk].join(', ')})`);
        }
      }
    }
    const argv = args.slice(0, nArgs);
    argv.push(call);
    return argv;
  }

  private _count(parts: ChunkParts): void {
    const shape = parts.shape;
    let elements = 1;
    for (const d of shape) elements *= d;
    const axis = this._entry.rowAxis;
    const rows = shape.length === 0 ? 1 : axis < 0 ? shape[0] : shape.length > axis ? shape[axis] : 1;
    this._total.add(parts.total);
    if (this.reduction !== 'sum') this._divisor.add(parts.divisor);
    this._items += parts.items;
    this._rows += rows;
    this._elements += elements;
    this._chunks++;
  }

  /**
   * Adds one chunk: the loss's arrays and `{ shape, ...per-row options }` as for one call of the loss.
   * Rows may be cut anywhere. On an error nothing is added.
   */
  add(...args: unknown[]): this {
    this._count(this._entry.runner.run(this._argv(args, 'add')));
    return this;
  }

  /** add() on the libuv pool; resolves to this accumulator. Concurrent adds give the same result in any order. */
  addAsync(...args: unknown[]): Promise<this> {
    let pending: Promise<ChunkParts>;
    try {
      pending = this._entry.runner.runAsync(this._argv(args, 'addAsync'));
    } catch (e) {
      return Promise.reject(e);
    }
    return pending.then((parts) => { this._count(parts); return this; });
  }

  /**
   * What one call over the concatenation of the chunks gives: the exact sums of the chunks' totals
   * and divisors, each correctly rounded to a double, divided in double (as the kernels end a call).
   * No chunks: 0 for 'sum' and for Keras' mean (divide_no_nan), NaN for PyTorch's mean (0 / 0).
   */
  result(): number {
    const total = this._total.value();
    if (this.reduction === 'sum') return total;
    if (this.loss.startsWith('keras.') && this._items === 0) return 0;
    return total / this._divisor.value();
  }

  /** The partial state as JSON (`JSON.stringify(acc)` calls this); `accumulatorFromState` rebuilds it. */
  toJSON(): AccumulatorState {
    const options: Record<string, unknown> = {};
    for (const k of Object.keys(this._options)) options[k] = encodeValue(this._options[k]);
    return {
      kind: STATE_KIND,
      version: STATE_VERSION,
      loss: this.loss,
      reduction: this.reduction,
      options,
      rows: this._rows,
      elements: this._elements,
      chunks: this._chunks,
      items: this._items,
      total: this._total.toJSON(),
      divisor: this._divisor.toJSON(),
    };
  }

  /**
   * Adds another accumulator's chunks (or its state, parsed JSON): exact, so merged shards give the
   * bits one run over the same chunks gives. The other must be of the same loss, reduction and options.
   */
  merge(other: Accumulator | AccumulatorState): this {
    const fn = `${this._fn}().merge`;
    const that = other instanceof Accumulator ? other : accumulatorFromStateAt(fn, 'other', other);
    if (that.loss !== this.loss)
      throw check.rangeError(fn, 'other', `accumulates ${that.loss}; this accumulator is ${this.loss}`);
    if (that.reduction !== this.reduction)
      throw check.rangeError(fn, 'other', `uses reduction '${that.reduction}'; this accumulator uses '${this.reduction}'`);
    if (that._optionsKey !== this._optionsKey) {
      const names = new Set([...Object.keys(this._options), ...Object.keys(that._options)]);
      const differing = [...names].filter((k) => optionsKey({ v: this._options[k] }) !== optionsKey({ v: that._options[k] }));
      throw check.rangeError(fn, 'other', `has other options (${differing.map((k) => `opts.${k}`).join(', ')}) than this accumulator`);
    }
    if (that === this) {  // merging with itself doubles it
      const copy = accumulatorFromStateAt(fn, 'other', this.toJSON());
      return this.merge(copy);
    }
    this._total.addAll(that._total);
    this._divisor.addAll(that._divisor);
    this._items += that._items;
    this._rows += that._rows;
    this._elements += that._elements;
    this._chunks += that._chunks;
    return this;
  }

  /** @internal restores counts and sums from a validated state. */
  static restore(acc: Accumulator, s: AccumulatorState): Accumulator {
    for (const v of s.total.partials) acc._total.add(v);
    if (s.total.special !== undefined) acc._total.add(Number(s.total.special));
    for (const v of s.divisor.partials) acc._divisor.add(v);
    if (s.divisor.special !== undefined) acc._divisor.add(Number(s.divisor.special));
    acc._items = s.items;
    acc._rows = s.rows;
    acc._elements = s.elements;
    acc._chunks = s.chunks;
    return acc;
  }
}

/** The option values an accumulator fixes: given or default, checked now, arrays copied. */
function fixedOptions(fn: string, entry: LossEntry, given: Record<string, unknown>): Record<string, unknown> {
  const options: Record<string, unknown> = {};
  for (const name of entry.fixed) {
    const spec = entry.def.options[name];
    const value = given[name] === undefined ? spec.default : given[name];
    if (value === undefined) continue;
    spec.check(fn, `opts.${name}`, value);
    options[name] = copyValue(value);
  }
  return options;
}

function makeAccumulator(entry: LossEntry, opts: unknown): Accumulator {
  const def = entry.def;
  const fn = `${def.name}.accumulate`;
  if (opts !== undefined && !isPlainObject(opts)) throw check.typeError(fn, 'opts', 'must be an options object');
  const given: Record<string, unknown> = { ...(opts as Record<string, unknown> | undefined) };  // each getter read once
  for (const key of Object.keys(given)) {
    if (key === 'reduction' || key === 'threads' || entry.fixed.includes(key)) continue;
    if (entry.perChunk.has(key) || key === 'shape')
      throw check.typeError(fn, `opts.${key}`, 'goes with each chunk: pass it to add()');
    throw check.typeError(fn, `opts.${key}`, `is not an option of ${def.name}`);
  }
  const reduction = given.reduction === undefined ? entry.defaultReduction : given.reduction;
  if (reduction === 'none')
    throw check.rangeError(fn, 'opts.reduction', `cannot be 'none' for an accumulator (it reduces); use ${entry.reductions.map((r) => `'${r}'`).join(' or ')}`);
  if (typeof reduction !== 'string' || !entry.reductions.includes(reduction))
    throw check.rangeError(fn, 'opts.reduction', `must be one of ${entry.reductions.map((r) => `'${r}'`).join(', ')}, got ${check.show(reduction)}`);
  const threads = given.threads === undefined ? undefined
    : check.threadCount(fn, 'opts.threads', given.threads, native.info().maxThreads);
  return new Accumulator(entry, reduction, fixedOptions(fn, entry, given), threads);
}

/** The hook defineLoss calls for every loss: returns the loss's `accumulate` method. */
export function accumulateMethod(def: LossDef, runner: ChunkRunner): (opts?: unknown) => Accumulator {
  const optionNames = Object.keys(def.options);
  const perChunk = new Set(optionNames.filter((k) => def.options[k].perChunk));
  const reductions = Object.keys(def.reductions).filter((r) => r !== 'none');
  const entry: LossEntry = {
    def,
    runner,
    fixed: optionNames.filter((k) => !perChunk.has(k)),
    perChunk,
    reductions,
    // A loss that does not reduce by default (torchvision's sigmoid_focal_loss) accumulates its mean.
    defaultReduction: def.defaultReduction === 'none' ? 'mean' : def.defaultReduction,
    rowAxis: def.dims ? def.dims.indexOf('N') : -1,
  };
  if (entry.rowAxis === 0) entry.rowAxis = -1;
  registry.set(def.name, entry);
  return (opts?: unknown) => makeAccumulator(entry, opts);
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

function exactSumState(fn: string, arg: string, v: unknown): ExactSumState {
  if (!isPlainObject(v) || !Array.isArray(v.partials))
    throw check.typeError(fn, arg, 'must be { partials: number[], special? }');
  for (const p of v.partials)
    if (typeof p !== 'number' || !Number.isFinite(p)) throw check.typeError(fn, `${arg}.partials`, `must hold finite numbers, got ${check.show(p)}`);
  if (v.special !== undefined && v.special !== 'NaN' && v.special !== 'Infinity' && v.special !== '-Infinity')
    throw check.typeError(fn, `${arg}.special`, `must be 'NaN', 'Infinity' or '-Infinity', got ${check.show(v.special)}`);
  return v as unknown as ExactSumState;
}

function accumulatorFromStateAt(fn: string, arg: string, state: unknown): Accumulator {
  if (!isPlainObject(state) || state.kind !== STATE_KIND)
    throw check.typeError(fn, arg, `must be an accumulator or its state (acc.toJSON(), kind '${STATE_KIND}'), got ${check.show(state)}`);
  if (state.version !== STATE_VERSION)
    throw check.rangeError(fn, `${arg}.version`, `is ${check.show(state.version)}; this fastloss reads version ${STATE_VERSION}`);
  const entry = typeof state.loss === 'string' ? registry.get(state.loss) : undefined;
  if (!entry) throw check.rangeError(fn, `${arg}.loss`, `is ${check.show(state.loss)}, not a loss of this fastloss`);
  for (const k of ['rows', 'elements', 'chunks', 'items'])
    if (!isCount(state[k])) throw check.typeError(fn, `${arg}.${k}`, `must be a non-negative integer, got ${check.show(state[k])}`);
  exactSumState(fn, `${arg}.total`, state.total);
  exactSumState(fn, `${arg}.divisor`, state.divisor);
  if (!isPlainObject(state.options)) throw check.typeError(fn, `${arg}.options`, 'must be an object');
  const options: Record<string, unknown> = {};
  for (const k of Object.keys(state.options)) options[k] = decodeValue(state.options[k]);
  let acc: Accumulator;
  try {
    acc = makeAccumulator(entry, { ...options, reduction: state.reduction });
  } catch (e) {
    // The loss's own check, about the state's field.
    const message = e instanceof Error ? e.message.replace(`${entry.def.name}.accumulate: opts.`, `${fn}: ${arg}.options.`) : String(e);
    throw e instanceof RangeError ? new RangeError(message) : new TypeError(message);
  }
  return Accumulator.restore(acc, state as unknown as AccumulatorState);
}

/** Rebuilds an accumulator from `acc.toJSON()` (or its JSON.parse'd text), e.g. a shard's partial result. */
export function accumulatorFromState(state: AccumulatorState | unknown): Accumulator {
  return accumulatorFromStateAt('accumulatorFromState', 'state', state);
}

/** An accumulator with the argument and option types of its loss (`loss.accumulate()`'s type). */
export interface LossAccumulator<A extends unknown[], O> extends Accumulator {
  /**
   * Adds one chunk: the loss's arrays and `{ shape, ...per-row options }` as for one call of the loss.
   * Rows may be cut anywhere. On an error nothing is added.
   */
  add(...args: [...A] | [...A, ChunkOptions<O>]): this;
  /** add() on the libuv pool; resolves to this accumulator. */
  addAsync(...args: [...A] | [...A, ChunkOptions<O>]): Promise<this>;
}
