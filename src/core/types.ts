// The public call contract shared by every loss.
import type { TensorLike, TensorResult } from './tensor';

export type { TensorLike, TensorResult } from './tensor';

/** An array argument, or a tensor-like carrying that typed array and its shape (src/core/tensor.ts). */
export type TensorArgs<A extends unknown[]> = { [K in keyof A]: A[K] | (A[K] extends Float32Array | Int32Array ? TensorLike<A[K]> : never) };
/** Gradients for tensor-like arguments: shaped as each tensor-like (a Float32Array for a plain argument). */
export type ShapedGrad<G> = G extends Float32Array ? Float32Array | TensorResult : { [K in keyof G]: Float32Array | TensorResult };

export type TorchReduction = 'mean' | 'sum' | 'none';
export type KerasReduction = 'sum_over_batch_size' | 'sum' | 'none';

export interface TorchOptions {
  /** 'mean' (default), 'sum' or 'none' (one loss per element). */
  reduction?: TorchReduction;
  /** Logical row-major shape of the inputs; default `[length]`. */
  shape?: readonly number[];
}

export interface KerasOptions {
  /** 'sum_over_batch_size' (default: weighted sum / number of samples), 'sum' or 'none' (one loss per sample). */
  reduction?: KerasReduction;
  /** Logical row-major shape; the last axis is averaged per sample. Default `[length]` (one sample). */
  shape?: readonly number[];
  /** One weight per sample (length = product of shape[:-1]), or one number for all samples. */
  sampleWeight?: Float32Array | number;
}

export type NoneReduction<O> = O & { reduction: 'none' };

export interface Upstream {
  /** Upstream gradient: a number for reduced results, or one value per output element for 'none'. Default 1. */
  gradOutput?: number | Float32Array;
}

/** Options every call takes. */
export interface CallOptions {
  /**
   * At most this many threads for this call: an integer from 1 to `info().maxThreads`. Default:
   * `getNumThreads()`. Concurrent calls still share one budget of cores. Any count gives the same bits.
   */
  threads?: number;
}

export type ForwardOptions<O> = O & CallOptions & { out?: Float32Array };
export type BackwardOptions<O, G> = O & CallOptions & Upstream & { out?: G };
export type WithGradOptions<O, G> = O & CallOptions & Upstream & { out?: { loss?: Float32Array; grad?: G } };

export interface LossWithGrad<L, G> {
  loss: L;
  grad: G;
}

/**
 * A loss as a function object. `A` is the tuple of array arguments, `O` the options,
 * `G` the gradient (a Float32Array, or an object keyed by argument name for several inputs).
 */
export interface Loss<A extends unknown[], O, G = Float32Array> {
  (...args: [...A, NoneReduction<ForwardOptions<O>>]): Float32Array;
  (...args: [...A] | [...A, ForwardOptions<O>]): number;
  (...args: [...TensorArgs<A>, NoneReduction<ForwardOptions<O>>]): TensorResult;
  (...args: [...TensorArgs<A>] | [...TensorArgs<A>, ForwardOptions<O>]): number;
  /** Gradient of the result (times `gradOutput`) with respect to the prediction. */
  backward(...args: [...A] | [...A, BackwardOptions<O, G>]): G;
  backward(...args: [...TensorArgs<A>] | [...TensorArgs<A>, BackwardOptions<O, G>]): ShapedGrad<G>;
  /** Loss and gradient from one fused pass. */
  withGrad(...args: [...A, NoneReduction<WithGradOptions<O, G>>]): LossWithGrad<Float32Array, G>;
  withGrad(...args: [...A] | [...A, WithGradOptions<O, G>]): LossWithGrad<number, G>;
  withGrad(...args: [...TensorArgs<A>, NoneReduction<WithGradOptions<O, G>>]): LossWithGrad<TensorResult, ShapedGrad<G>>;
  withGrad(...args: [...TensorArgs<A>] | [...TensorArgs<A>, WithGradOptions<O, G>]): LossWithGrad<number, ShapedGrad<G>>;
  /**
   * Same as calling the loss, computed on the libuv thread pool. Arrays over a SharedArrayBuffer are
   * used in place; others are copied first (JS could detach them while the call runs), see the README.
   */
  async(...args: [...A, NoneReduction<ForwardOptions<O>>]): Promise<Float32Array>;
  async(...args: [...A] | [...A, ForwardOptions<O>]): Promise<number>;
  async(...args: [...TensorArgs<A>, NoneReduction<ForwardOptions<O>>]): Promise<TensorResult>;
  async(...args: [...TensorArgs<A>] | [...TensorArgs<A>, ForwardOptions<O>]): Promise<number>;
  /** Same as withGrad, on the libuv thread pool. */
  withGradAsync(...args: [...A, NoneReduction<WithGradOptions<O, G>>]): Promise<LossWithGrad<Float32Array, G>>;
  withGradAsync(...args: [...A] | [...A, WithGradOptions<O, G>]): Promise<LossWithGrad<number, G>>;
  withGradAsync(...args: [...TensorArgs<A>, NoneReduction<WithGradOptions<O, G>>]): Promise<LossWithGrad<TensorResult, ShapedGrad<G>>>;
  withGradAsync(...args: [...TensorArgs<A>] | [...TensorArgs<A>, WithGradOptions<O, G>]): Promise<LossWithGrad<number, ShapedGrad<G>>>;
  /** 'torch.mseLoss', 'keras.huber', ... */
  readonly lossName: string;
}

export type ReducedReduction<O> = O & { reduction: 'mean' | 'sum' };

/**
 * A loss whose default reduction is 'none' (torchvision's sigmoid_focal_loss): without
 * `reduction`, or with 'none', it gives a Float32Array; with 'mean' or 'sum' a number.
 */
export interface NoneByDefaultLoss<A extends unknown[], O, G = Float32Array> {
  (...args: [...A, ReducedReduction<ForwardOptions<O>>]): number;
  (...args: [...A] | [...A, ForwardOptions<O>]): Float32Array;
  (...args: [...TensorArgs<A>, ReducedReduction<ForwardOptions<O>>]): number;
  (...args: [...TensorArgs<A>] | [...TensorArgs<A>, ForwardOptions<O>]): TensorResult;
  backward(...args: [...A] | [...A, BackwardOptions<O, G>]): G;
  backward(...args: [...TensorArgs<A>] | [...TensorArgs<A>, BackwardOptions<O, G>]): ShapedGrad<G>;
  withGrad(...args: [...A, ReducedReduction<WithGradOptions<O, G>>]): LossWithGrad<number, G>;
  withGrad(...args: [...A] | [...A, WithGradOptions<O, G>]): LossWithGrad<Float32Array, G>;
  withGrad(...args: [...TensorArgs<A>, ReducedReduction<WithGradOptions<O, G>>]): LossWithGrad<number, ShapedGrad<G>>;
  withGrad(...args: [...TensorArgs<A>] | [...TensorArgs<A>, WithGradOptions<O, G>]): LossWithGrad<TensorResult, ShapedGrad<G>>;
  async(...args: [...A, ReducedReduction<ForwardOptions<O>>]): Promise<number>;
  async(...args: [...A] | [...A, ForwardOptions<O>]): Promise<Float32Array>;
  async(...args: [...TensorArgs<A>, ReducedReduction<ForwardOptions<O>>]): Promise<number>;
  async(...args: [...TensorArgs<A>] | [...TensorArgs<A>, ForwardOptions<O>]): Promise<TensorResult>;
  withGradAsync(...args: [...A, ReducedReduction<WithGradOptions<O, G>>]): Promise<LossWithGrad<number, G>>;
  withGradAsync(...args: [...A] | [...A, WithGradOptions<O, G>]): Promise<LossWithGrad<Float32Array, G>>;
  withGradAsync(...args: [...TensorArgs<A>, ReducedReduction<WithGradOptions<O, G>>]): Promise<LossWithGrad<number, ShapedGrad<G>>>;
  withGradAsync(...args: [...TensorArgs<A>] | [...TensorArgs<A>, WithGradOptions<O, G>]): Promise<LossWithGrad<TensorResult, ShapedGrad<G>>>;
  readonly lossName: string;
}
