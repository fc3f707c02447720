// Argument checks shared by every loss. Messages name the function and the argument.

export function typeError(fn: string, arg: string, what: string): TypeError {
  return new TypeError(`${fn}: ${arg} ${what}`);
}

export function rangeError(fn: string, arg: string, what: string): RangeError {
  return new RangeError(`${fn}: ${arg} ${what}`);
}

// Built-in getters of typed arrays and ArrayBuffers, called directly: they answer for the real
// object and run no user code (a subclass or an own property cannot change what they return).
const TYPED_ARRAY_PROTO = Object.getPrototypeOf(Float32Array.prototype) as object;
const intrinsic = (proto: object, key: PropertyKey) =>
  Object.getOwnPropertyDescriptor(proto, key)!.get! as (this: unknown) => unknown;
const tagGetter = intrinsic(TYPED_ARRAY_PROTO, Symbol.toStringTag);
const lengthGetter = intrinsic(TYPED_ARRAY_PROTO, 'length');
const bufferGetter = intrinsic(TYPED_ARRAY_PROTO, 'buffer');
const byteOffsetGetter = intrinsic(TYPED_ARRAY_PROTO, 'byteOffset');
const byteLengthGetter = intrinsic(TYPED_ARRAY_PROTO, 'byteLength');
const abDetachedDesc = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, 'detached');
const abDetachedGetter = abDetachedDesc?.get as ((this: unknown) => boolean) | undefined;
const abByteLengthGetter = intrinsic(ArrayBuffer.prototype, 'byteLength');

/** The typed-array kind of v ('Float32Array', ...), undefined for anything else (Proxies included). */
export function typedArrayTag(v: unknown): string | undefined {
  return tagGetter.call(v) as string | undefined;
}

/** True for a real Int32Array (by its brand: whatever its prototype says). */
export function isInt32Array(v: unknown): v is Int32Array {
  return typedArrayTag(v) === 'Int32Array';
}

/** True for a real Float32Array. */
export function isFloat32Array(v: unknown): v is Float32Array {
  return typedArrayTag(v) === 'Float32Array';
}

/** The real element count of a typed array, whatever its `length` property says. */
export function lengthOf(a: ArrayBufferView): number {
  return lengthGetter.call(a) as number;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  switch (typeof v) {
    case 'string': return `a string ${quote(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`;
    case 'bigint': return `a bigint ${String(v)}n`;
    case 'number': case 'boolean': return `a ${typeof v} ${String(v)}`;
    case 'symbol': case 'function': return `a ${typeof v}`;
    default: break;
  }
  if (Array.isArray(v)) return 'a plain Array';
  const tag = typedArrayTag(v);
  if (tag !== undefined) return `a ${tag}`;
  try {  // only on the way to an error: a getter that runs here cannot affect a call
    const name = (v as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === 'string' && name.endsWith('Array'))
      return `an object that looks like a ${name} but is not one (a Proxy, or made with Object.create)`;
    if (typeof name === 'string' && name !== '') return `a ${name}`;
  } catch {
    // fall through
  }
  return 'an object';
}

/** A string in a message: single-quoted as the option values in messages are ('mean'). */
function quote(s: string): string {
  return `'${JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}

/** A value with its type, for type errors: `a string '1'`, `a boolean true`, `a Float32Array`. */
export function describeValue(v: unknown): string {
  return describe(v);
}

/** A value in a message: numbers as they are, bigints with their n, strings quoted. */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return `${String(v)}n`;
  if (typeof v === 'string') return quote(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null || v === undefined) return String(v);
  return describe(v);
}

function isDetached(a: ArrayBufferView): boolean {
  if ((byteLengthGetter.call(a) as number) !== 0) return false;  // a detached view reads as empty
  const buf = bufferGetter.call(a);
  if (abDetachedGetter && buf instanceof ArrayBuffer) return abDetachedGetter.call(buf);
  if (!(buf instanceof ArrayBuffer) || (abByteLengthGetter.call(buf) as number) !== 0) return false;
  // Engines without ArrayBuffer#detached: only a detached buffer refuses a new view.
  try {
    new Uint8Array(buf);
    return false;
  } catch {
    return true;
  }
}

type TypedCtor = Float32ArrayConstructor | Int32ArrayConstructor;

/**
 * v itself when its `length` tells the truth; otherwise (a subclass or an own `length` that lies) a
 * new plain view of the same memory, whose `length` is the built-in one.
 */
function plainView<T extends Float32Array | Int32Array>(fn: string, arg: string, v: T, ctor: TypedCtor): T {
  const n = lengthOf(v);
  const a = v.length === n ? v : new ctor(bufferGetter.call(v) as ArrayBuffer, byteOffsetGetter.call(v) as number, n) as T;
  if (n === 0 && isDetached(a)) throw typeError(fn, arg, 'is backed by a detached ArrayBuffer');
  return a;
}

export function float32(fn: string, arg: string, v: unknown): Float32Array {
  if (typedArrayTag(v) !== 'Float32Array') throw typeError(fn, arg, `must be a Float32Array, got ${describe(v)}`);
  return plainView(fn, arg, v as Float32Array, Float32Array);
}

export function int32(fn: string, arg: string, v: unknown): Int32Array {
  if (typedArrayTag(v) !== 'Int32Array') throw typeError(fn, arg, `must be an Int32Array, got ${describe(v)}`);
  return plainView(fn, arg, v as Int32Array, Int32Array);
}

export function float32OrInt32(fn: string, arg: string, v: unknown): Float32Array | Int32Array {
  const tag = typedArrayTag(v);
  if (tag === 'Float32Array') return plainView(fn, arg, v as Float32Array, Float32Array);
  if (tag === 'Int32Array') return plainView(fn, arg, v as Int32Array, Int32Array);
  throw typeError(fn, arg, `must be a Float32Array (probabilities) or an Int32Array (class indices), got ${describe(v)}`);
}

export function sameLength(fn: string, arg: string, a: { length: number }, ref: string, n: number): void {
  if (a.length !== n) throw rangeError(fn, arg, `has length ${a.length}, but ${ref} has length ${n}`);
}

const FLOAT32_MAX = 3.4028234663852886e38;

/** A finite number that float32 kernels can hold: |v| <= 3.4e38 (larger ones would become Infinity). */
export function finiteNumber(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(fn, arg, `must be a finite number, got ${describe(v)}`);
  if (!Number.isFinite(v)) throw typeError(fn, arg, `must be a finite number, got ${v}`);
  if (Math.abs(v) > FLOAT32_MAX) throw rangeError(fn, arg, `must be at most 3.4e38 in magnitude (float32), got ${v}`);
  return v;
}

export function nonNegative(fn: string, arg: string, v: unknown): number {
  const x = finiteNumber(fn, arg, v);
  if (x < 0) throw rangeError(fn, arg, `must be >= 0, got ${x}`);
  return x;
}

/** > 0, and still > 0 in float32 (1e-300 would become 0). */
export function positive(fn: string, arg: string, v: unknown): number {
  const x = finiteNumber(fn, arg, v);
  if (!(x > 0)) throw rangeError(fn, arg, `must be > 0, got ${x}`);
  if (Math.fround(x) === 0) throw rangeError(fn, arg, `must be at least 1.4e-45 (the smallest float32 above 0), got ${x}`);
  return x;
}

export function boolean(fn: string, arg: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw typeError(fn, arg, `must be a boolean, got ${describe(v)}`);
  return v;
}

export function integer(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number') throw typeError(fn, arg, `must be an integer, got ${describe(v)}`);
  if (!Number.isInteger(v)) throw typeError(fn, arg, `must be an integer, got ${v}`);
  return v;
}

/** A thread count: an integer from 1 to max (info().maxThreads, 4 x the CPUs this process may use). */
export function threadCount(fn: string, arg: string, v: unknown, max: number): number {
  const n = integer(fn, arg, v);
  if (n < 1 || n > max) throw rangeError(fn, arg, `must be an integer from 1 to ${max} (4 x the CPUs this process may use), got ${n}`);
  return n;
}

// Shape bounds, the same as the native layer's (binding/kernels/extents.h).
const MAX_EXTENT = 2 ** 40;
const MAX_EMPTY_EXTENT = 2 ** 24;

/** opts.shape as given, copied once into plain values (a getter on it runs here, and only here). */
export function snapshotShape(v: unknown): unknown {
  if (!Array.isArray(v)) return v;
  const n = v.length;
  if (typeof n !== 'number' || n > 64) return v;  // refused by shapeOf, which reports the length
  const copy = new Array<unknown>(n);
  for (let i = 0; i < n; i++) copy[i] = v[i];
  return copy;
}

// A logical shape: non-negative integers whose product is `length`. An empty input may describe
// at most 2^24 rows (the product of its nonzero dims), so no call loops over rows of nothing.
export function shapeOf(fn: string, v: unknown, length: number, ref: string, maxDims: number): readonly number[] {
  if (v === undefined) return [length];
  if (!Array.isArray(v)) throw typeError(fn, 'opts.shape', `must be an array of integers, got ${describe(v)}`);
  if (v.length > maxDims) throw rangeError(fn, 'opts.shape', `has ${v.length} dimensions; at most ${maxDims} are supported`);
  const text = () => `[${v.map(show).join(', ')}]`;
  let product = 1;
  let nonzero = 1;
  for (const d of v) {
    if (typeof d !== 'number') throw typeError(fn, 'opts.shape', `must hold numbers, got ${text()}`);
    if (!Number.isInteger(d) || d < 0) throw rangeError(fn, 'opts.shape', `must hold non-negative integers, got ${text()}`);
    product *= d;
    if (d > 0) nonzero *= d;
    if (nonzero > MAX_EXTENT) throw rangeError(fn, 'opts.shape', `${text()} holds more than 2^40 elements`);
  }
  if (product === 0 && nonzero > MAX_EMPTY_EXTENT)
    throw rangeError(fn, 'opts.shape', `${text()} has a zero dimension, and its other dimensions describe more than 2^24 empty rows`);
  if (product !== length)
    throw rangeError(fn, 'opts.shape', `${text()} holds ${product} elements, but ${ref} has length ${length}`);
  return v as number[];
}
