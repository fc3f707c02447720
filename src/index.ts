// fastloss: PyTorch and Keras losses over Float32Array buffers, computed by native kernels.
import { describeLosses, LossInfo } from './core/catalog';
import { native, NativeInfo } from './core/native';
import * as keras from './keras';
import * as torch from './torch';

export { torch, keras };
export type * from './core/types';
export { Accumulator, accumulatorFromState } from './core/accumulate';
export type { AccumulateOptions, AccumulatorState, ChunkOptions, ExactSumState, LossAccumulator } from './core/accumulate';
export type { LossArgumentInfo, LossInfo, LossOptionInfo } from './core/catalog';

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

/** The loss names of both namespaces, in export order (class-form namespaces left out). */
function lossNames(): string[] {
  const names: string[] = [];
  for (const ns of [torch, keras] as unknown as Record<string, unknown>[]) {
    for (const v of Object.values(ns)) {
      const name = typeof v === 'function' ? (v as { lossName?: unknown }).lossName : undefined;
      if (typeof name === 'string') names.push(name);
    }
  }
  return names;
}

/**
 * Every loss: name, framework, arguments, options with their defaults, reductions and the default
 * one, and its class form (torch.nn / keras.losses), read from the definitions the losses run on.
 */
export function losses(): LossInfo[] {
  return describeLosses(lossNames());
}
