// fastloss: PyTorch and Keras losses over Float32Array buffers, computed by native kernels.
import { native, NativeInfo } from './core/native';
import * as keras from './keras';
import * as torch from './torch';

export { torch, keras };
export type * from './core/types';
export { Accumulator, accumulatorFromState } from './core/accumulate';
export type { AccumulateOptions, AccumulatorState, ChunkOptions, ExactSumState, LossAccumulator } from './core/accumulate';

/** How a value reads in an error message: its type, and the value where it helps. */
function shown(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return `a string '${v.length > 20 ? `${v.slice(0, 20)}...` : v}'`;
  if (typeof v === 'bigint') return `a bigint ${v}n`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v === 'number' ? 'the number' : 'a boolean'} ${v}`;
  if (typeof v === 'object') return `an object (${(v as object).constructor?.name ?? 'no prototype'})`;
  return `a ${typeof v}`;
}

/**
 * Threads one large call may use: an integer from 1 to `info().maxThreads` (4 x the CPUs this
 * process may run on). Default: FASTLOSS_NUM_THREADS, else the OpenMP default (OMP_NUM_THREADS,
 * else the CPUs of the process), capped at maxThreads.
 */
export function setNumThreads(n: number): void {
  if (typeof n !== 'number' || !Number.isInteger(n))
    throw new TypeError(`setNumThreads: n must be an integer, got ${shown(n)}`);
  const max = native.info().maxThreads;
  if (n < 1 || n > max)
    throw new RangeError(`setNumThreads: n must be >= 1 and <= ${max} (4 x the CPUs this process may use), got ${n}`);
  native.setNumThreads(n);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export type Info = NativeInfo;

// An invalid FASTLOSS_NUM_THREADS (or an OpenMP default above the bound) is ignored by the addon
// with a reason; say so once, at load.
{
  const warning = native.info().threadsWarning;
  if (warning) process.emitWarning(warning, { code: 'FASTLOSS_NUM_THREADS' });
}

/** The SIMD level in use (FASTLOSS_ISA may force a lower one), thread count and OpenMP runtime. */
export function info(): Info {
  return native.info();
}
