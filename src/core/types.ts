// The public call contract shared by every loss.
import type { AccumulateOptions, LossAccumulator } from './accumulate';
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

/** The reductions an options type accepts ('mean' | 'sum' | 'none', ...). */
export type ReductionOf<O> = O extends { reduction?: infer R } ? Exclude<R, undefined> : never;

/** What a call with reduction R returns: a Float32Array for 'none', else a number (a union gives the union). */
export type Reduced<R> = R extends 'none' ? Float32Array : number;
/** The same for tensor-like inputs: 'none' gives a shaped result. */
export type ReducedShaped<R> = R extends 'none' ? TensorResult : number;

/** The default reduction of a framework's options: Keras' 'sum_over_batch_size', else PyTorch's 'mean'. */
export type DefaultReductionOf<O> = ReductionOf<O> & ('sum_over_batch_size' extends ReductionOf<O> ? 'sum_over_batch_size' : 'mean');

/** Options with the reduction narrowed to R (inferred from the call; absent: the loss's default). */
type With<R, X> = X & { reduction?: R };

/**
 * A loss as a function object. `A` is the tuple of array arguments, `O` the options,
 * `G` the gradient (a Float32Array, or an object keyed by argument name for several inputs),
 * `D` the default reduction. The result follows `opts.reduction`: a `Float32Array` for 'none',
 * a number for the others, the union for a reduction typed as a union, `D` without one.
 */
export interface Loss<A extends unknown[], O, G = Float32Array, D extends ReductionOf<O> = DefaultReductionOf<O>> {
  <R extends ReductionOf<O> = D>(...args: [...A] | [...A, With<R, ForwardOptions<O>>]): Reduced<R>;
  <R extends ReductionOf<O> = D>(...args: [...TensorArgs<A>] | [...TensorArgs<A>, With<R, ForwardOptions<O>>]): ReducedShaped<R>;
  /** Gradient of the result (times `gradOutput`) with respect to the prediction. */
  backward(...args: [...A] | [...A, BackwardOptions<O, G>]): G;
  backward(...args: [...TensorArgs<A>] | [...TensorArgs<A>, BackwardOptions<O, G>]): ShapedGrad<G>;
  /** Loss and gradient from one fused pass. */
  withGrad<R extends ReductionOf<O> = D>(...args: [...A] | [...A, With<R, WithGradOptions<O, G>>]): LossWithGrad<Reduced<R>, G>;
  withGrad<R extends ReductionOf<O> = D>(...args: [...TensorArgs<A>] | [...TensorArgs<A>, With<R, WithGradOptions<O, G>>]): LossWithGrad<ReducedShaped<R>, ShapedGrad<G>>;
  /**
   * Same as calling the loss, computed on the libuv thread pool. Arrays over a SharedArrayBuffer are
   * used in place; others are copied first (JS could detach them while the call runs), see the README.
   */
  async<R extends ReductionOf<O> = D>(...args: [...A] | [...A, With<R, ForwardOptions<O>>]): Promise<Reduced<R>>;
  async<R extends ReductionOf<O> = D>(...args: [...TensorArgs<A>] | [...TensorArgs<A>, With<R, ForwardOptions<O>>]): Promise<ReducedShaped<R>>;
  /** Same as withGrad, on the libuv thread pool. */
  withGradAsync<R extends ReductionOf<O> = D>(...args: [...A] | [...A, With<R, WithGradOptions<O, G>>]): Promise<LossWithGrad<Reduced<R>, G>>;
  withGradAsync<R extends ReductionOf<O> = D>(...args: [...TensorArgs<A>] | [...TensorArgs<A>, With<R, WithGradOptions<O, G>>]): Promise<LossWithGrad<ReducedShaped<R>, ShapedGrad<G>>>;
  /** 'torch.mseLoss', 'keras.huber', ... */
  readonly lossName: string;
  /** The reduction a call without `reduction` uses ('mean', 'sum_over_batch_size', or 'none' for sigmoidFocalLoss). */
  readonly defaultReduction: D;
  /** A streaming accumulator of the reduced loss over chunks (README, "Streaming and batch scoring"). */
  accumulate(opts?: AccumulateOptions<O>): LossAccumulator<A, O>;
}

export type ReducedReduction<O> = O & { reduction: 'mean' | 'sum' };

/**
 * A loss whose default reduction is 'none' (torchvision's sigmoid_focal_loss): without
 * `reduction`, or with 'none', it gives a Float32Array; with 'mean' or 'sum' a number.
 */
export type NoneByDefaultLoss<A extends unknown[], O, G = Float32Array> = Loss<A, O, G, 'none' & ReductionOf<O>>;
