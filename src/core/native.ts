// Loads the addon: prebuilds/ first, then build/Release (node-gyp-build's lookup).
import * as path from 'path';

export type AnyTypedArray = Float32Array | Int32Array;
type Slot = AnyTypedArray | null | undefined;

export interface NativeInfo {
  isa: 'baseline' | 'avx2' | 'avx512';
  cpuIsa: 'baseline' | 'avx2' | 'avx512';
  builtIsa: string[];
  threads: number;
  openmp: string;
}

export interface NativeAddon {
  kernels: Record<string, number>;
  paramCount: number;
  maxDims: number;
  run(id: number, flags: number, reduction: number, params: Float64Array, out: Slot, g0: Slot, g1: Slot, g2: Slot,
      gradOut: Slot, ...inputs: Slot[]): number;
  runAsync(id: number, flags: number, reduction: number, params: Float64Array, out: Slot, g0: Slot, g1: Slot,
           g2: Slot, gradOut: Slot, ...inputs: Slot[]): Promise<number>;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  info(): NativeInfo;
  setIsa(level: string): string;
  takePeakThreads(): number;
}

// eslint-disable-next-line @typescript-eslint/no-var-requires
const load = require('node-gyp-build') as (dir: string) => NativeAddon;

function loadAddon(): NativeAddon {
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

// Layout of the params Float64Array (binding/kernels/loss_args.h).
export const PARAM_GRAD_SCALE = 0;
export const PARAM_NDIM = 1;
export const PARAM_DIMS = 2;
export const PARAM_SCALARS = PARAM_DIMS + native.maxDims;
