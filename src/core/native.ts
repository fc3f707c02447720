// Loads the addon: prebuilds/ first, then build/Release (node-gyp-build's lookup).
import * as path from 'path';

export type AnyTypedArray = Float32Array | Int32Array;
type Slot = AnyTypedArray | null | undefined;

export interface ParamSlots {
  kernel: number;
  flags: number;
  reduction: number;
  gradScale: number;
  gradCount: number;
  ndim: number;
  dims: number;
  scalars: number;
}

export interface NativeInfo {
  isa: 'baseline' | 'avx2' | 'avx512';
  cpuIsa: 'baseline' | 'avx2' | 'avx512';
  builtIsa: string[];
  threads: number;
  openmp: string;
}

export interface NativeAddon {
  kernels: Record<string, number>;
  /** Input slots per kernel: f Float32Array, i Int32Array, x either; upper case optional. */
  signatures: Record<string, string>;
  /** Element counts per slot from the shape (binding/kernels/extents.h), checked before every call. */
  extents: Record<string, string>;
  paramCount: number;
  maxDims: number;
  paramSlots: ParamSlots;
  /** Binds the Float64Array every later run() reads its kernel, flags, shape and scalars from. */
  bindParams(params: Float64Array): void;
  /** Arguments: the kernel's inputs in slot order, then out, the gradients, gradOutput (as flagged). */
  run(...arrays: Slot[]): number;
  runAsync(...arrays: Slot[]): Promise<number>;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): NativeInfo;
  setIsa(level: string): string;
  takePeakThreads(): number;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const load = require('node-gyp-build') as (dir: string) => NativeAddon;

function loadAddon(): NativeAddon {
  // FASTLOSS_ADDON: path of a fastloss.node to load instead (the sanitizer build in CI).
  const override = process.env.FASTLOSS_ADDON;
  if (override) return require(path.resolve(override)) as NativeAddon;
  try {
    return load(path.join(__dirname, '..', '..'));
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new Error(`fastloss: the native addon is not built for this platform (${why}). ` +
      'Build it with `npm rebuild fastloss` (needs CMake >= 3.15 and a C++17 compiler); ' +
      'if your npm skips dependency install scripts, allow them with `npm install-scripts approve fastloss`.');
  }
}

export const native: NativeAddon = loadAddon();

/** The one params buffer of this environment (layout: binding/kernels/loss_args.h). */
export const params = new Float64Array(native.paramCount);
native.bindParams(params);
export const SLOT = native.paramSlots;

export const FLAG_LOSS = 1;
export const FLAG_GRAD = 2;
export const FLAG_HAS_OUT = 4;
export const FLAG_HAS_GRAD_OUT = 8;
/** Shifted by the output slot (0 'out', 1 + k gradient k): allocated for this call (loss_args.h). */
export const FLAG_FRESH_OUT = 16;

/**
 * Fills params for a direct native.run() of one kernel (tests and the benchmark; the facade
 * does this itself). The arrays then go to run() in the kernel's slot order, followed by `out`,
 * the gradients and gradOutput as `flags` says.
 */
export function setRawCall(kernel: string, call: { flags: number; reduction: number; shape: readonly number[];
  gradCount?: number; gradScale?: number; scalars?: readonly number[] }): void {
  const id = native.kernels[kernel];
  if (id === undefined) throw new Error(`fastloss: no kernel ${kernel}`);
  params.fill(0);
  params[SLOT.kernel] = id;
  params[SLOT.flags] = call.flags;
  params[SLOT.reduction] = call.reduction;
  params[SLOT.gradCount] = call.gradCount ?? 0;
  params[SLOT.gradScale] = call.gradScale ?? 1;
  params[SLOT.ndim] = call.shape.length;
  call.shape.forEach((d, k) => { params[SLOT.dims + k] = d; });
  (call.scalars ?? []).forEach((v, k) => { params[SLOT.scalars + k] = v; });
}
