// fastloss: PyTorch and Keras losses over Float32Array buffers, computed by native kernels.
import * as check from './core/check';
import { native, NativeInfo } from './core/native';
import * as keras from './keras';
import * as torch from './torch';

export { torch, keras };
export type * from './core/types';

/** Threads one large call may use (default: the OpenMP default, or FASTLOSS_NUM_THREADS). */
export function setNumThreads(n: number): void {
  const k = check.integer('setNumThreads', 'n', n);
  if (k < 1) throw check.rangeError('setNumThreads', 'n', `must be >= 1, got ${k}`);
  native.setNumThreads(k);
}

export function getNumThreads(): number {
  return native.getNumThreads();
}

export type Info = NativeInfo;

/** The SIMD level in use (FASTLOSS_ISA may force a lower one), thread count and OpenMP runtime. */
export function info(): Info {
  return native.info();
}
