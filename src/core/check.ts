// Argument checks shared by every loss. Messages name the function and the argument.
import type { AnyTypedArray } from './native';

export function typeError(fn: string, arg: string, what: string): TypeError {
  return new TypeError(`${fn}: ${arg} ${what}`);
}

export function rangeError(fn: string, arg: string, what: string): RangeError {
  return new RangeError(`${fn}: ${arg} ${what}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a plain Array';
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`;
  return typeof v === 'object' ? `a ${(v as object).constructor?.name ?? 'object'}` : `a ${typeof v}`;
}

function isDetached(a: ArrayBufferView): boolean {
  if (a.byteLength !== 0) return false;  // a detached view reads as empty
  const buf = a.buffer as ArrayBuffer & { detached?: boolean };
  if (typeof buf.detached === 'boolean') return buf.detached;
  if (buf.byteLength !== 0) return false;
  // Engines without ArrayBuffer#detached: only a detached buffer refuses a new view.
  try {
    new Uint8Array(buf);
    return false;
  } catch {
    return true;
  }
}

function checkLive(fn: string, arg: string, a: ArrayBufferView): void {
  if (isDetached(a)) throw typeError(fn, arg, 'is backed by a detached ArrayBuffer');
}

export function float32(fn: string, arg: string, v: unknown): Float32Array {
  if (!(v instanceof Float32Array)) throw typeError(fn, arg, `must be a Float32Array, got ${describe(v)}`);
  checkLive(fn, arg, v);
  return v;
}

export function int32(fn: string, arg: string, v: unknown): Int32Array {
  if (!(v instanceof Int32Array)) throw typeError(fn, arg, `must be an Int32Array, got ${describe(v)}`);
  checkLive(fn, arg, v);
  return v;
}

export function float32OrInt32(fn: string, arg: string, v: unknown): AnyTypedArray {
  if (!(v instanceof Float32Array) && !(v instanceof Int32Array))
    throw typeError(fn, arg, `must be a Float32Array (probabilities) or an Int32Array (class indices), got ${describe(v)}`);
  checkLive(fn, arg, v);
  return v;
}

export function sameLength(fn: string, arg: string, a: { length: number }, ref: string, n: number): void {
  if (a.length !== n) throw rangeError(fn, arg, `has length ${a.length}, but ${ref} has length ${n}`);
}

export function finiteNumber(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(fn, arg, `must be a finite number, got ${String(v)}`);
  return v;
}

export function nonNegative(fn: string, arg: string, v: unknown): number {
  const x = finiteNumber(fn, arg, v);
  if (x < 0) throw rangeError(fn, arg, `must be >= 0, got ${x}`);
  return x;
}

export function positive(fn: string, arg: string, v: unknown): number {
  const x = finiteNumber(fn, arg, v);
  if (!(x > 0)) throw rangeError(fn, arg, `must be > 0, got ${x}`);
  return x;
}

export function boolean(fn: string, arg: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw typeError(fn, arg, `must be a boolean, got ${describe(v)}`);
  return v;
}

export function integer(fn: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw typeError(fn, arg, `must be an integer, got ${String(v)}`);
  return v;
}

// A logical shape: non-negative integers whose product is `length`.
export function shapeOf(fn: string, v: unknown, length: number, ref: string, maxDims: number): readonly number[] {
  if (v === undefined) return [length];
  if (!Array.isArray(v)) throw typeError(fn, 'opts.shape', `must be an array of integers, got ${describe(v)}`);
  if (v.length > maxDims) throw rangeError(fn, 'opts.shape', `has ${v.length} dimensions; at most ${maxDims} are supported`);
  let product = 1;
  for (const d of v) {
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw rangeError(fn, 'opts.shape', `must hold non-negative integers, got [${v.join(', ')}]`);
    product *= d;
  }
  if (product !== length)
    throw rangeError(fn, 'opts.shape', `[${v.join(', ')}] holds ${product} elements, but ${ref} has length ${length}`);
  return v as number[];
}

/** True when two views share bytes of one buffer. */
export function overlaps(a: ArrayBufferView, b: ArrayBufferView): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength && b.byteOffset < a.byteOffset + a.byteLength;
}
