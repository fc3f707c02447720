// What the two frameworks share across their losses: reductions and the common shape plans.
import * as check from './check';
import type { LossDef, OptionSpec, Plan, PlanContext } from './define';
import { REDUCTION_MEAN, REDUCTION_NONE, REDUCTION_SUM, setParam } from './define';
import { native } from './native';

export const TORCH_REDUCTIONS: Record<string, number> = { mean: REDUCTION_MEAN, sum: REDUCTION_SUM, none: REDUCTION_NONE };
// Keras' SUM_OVER_BATCH_SIZE is the kernel's mean over samples.
export const KERAS_REDUCTIONS: Record<string, number> = {
  sum_over_batch_size: REDUCTION_MEAN,
  sum: REDUCTION_SUM,
  none: REDUCTION_NONE,
};

export function shapeFor(ctx: PlanContext, length: number, ref: string): readonly number[] {
  return check.shapeOf(ctx.fn, ctx.shape, length, ref, native.maxDims);
}

/** opts.shape, required, with one of the given numbers of dims (`layouts` names them for the error). */
export function requiredShape(ctx: PlanContext, length: number, ref: string, dims: number[], layouts: string): readonly number[] {
  if (ctx.shape === undefined) throw check.typeError(ctx.fn, 'opts.shape', `is required: ${layouts}`);
  const shape = shapeFor(ctx, length, ref);
  if (!dims.includes(shape.length)) throw check.rangeError(ctx.fn, 'opts.shape', `must be ${layouts}, got [${shape.join(', ')}]`);
  return shape;
}

/** PyTorch element-wise pair (input, target) of equal length; kernel slots [input, target]. */
export function torchPairPlan(ctx: PlanContext): Plan {
  const [input, target] = ctx.args;
  const n = input.length;
  check.sameLength(ctx.fn, 'target', target, 'input', n);
  return { inputs: [input, target], shape: shapeFor(ctx, n, 'input'), outLength: n, gradLengths: [n] };
}

export const sampleWeightOption: OptionSpec = {
  perChunk: true,
  check(fn, arg, v) {
    if (typeof v === 'number') return check.finiteNumber(fn, arg, v);
    return check.float32(fn, arg, v);
  },
};

/** Samples of a Keras shape: every axis but the last; a 1-D (or 0-D) tensor is one sample. */
export function kerasSampleCount(shape: readonly number[]): number {
  let rows = 1;
  for (let d = 0; d + 1 < shape.length; d++) rows *= shape[d];
  return rows;
}

/** The per-sample weights: one per sample, a number broadcast to all, or null. */
export function sampleWeights(ctx: PlanContext, samples: number): Float32Array | null {
  const w = ctx.opts.sampleWeight as Float32Array | number | undefined;
  if (w === undefined) return null;
  if (typeof w === 'number') return new Float32Array(samples).fill(w);
  if (w.length !== samples)
    throw check.rangeError(ctx.fn, 'opts.sampleWeight', `has length ${w.length}, but there are ${samples} samples (product of shape[:-1])`);
  return w;
}

/** Keras (yTrue, yPred) of equal length, reduced over the last axis; slots [yPred, yTrue, sampleWeight]. */
export function kerasPairPlan(ctx: PlanContext): Plan {
  const [yTrue, yPred] = ctx.args;
  const n = yPred.length;
  check.sameLength(ctx.fn, 'yTrue', yTrue, 'yPred', n);
  const shape = shapeFor(ctx, n, 'yPred');
  const samples = kerasSampleCount(shape);
  return { inputs: [yPred, yTrue, sampleWeights(ctx, samples)], shape, outLength: samples, gradLengths: [n] };
}

/**
 * Keras (yTrue, yPred) of equal length, reduced over opts.axis (the kernel's `axis`, made
 * non-negative): one loss and one sample weight per position of the other axes.
 */
export function kerasAxisPlan(ctx: PlanContext): Plan {
  const [yTrue, yPred] = ctx.args;
  const n = yPred.length;
  check.sameLength(ctx.fn, 'yTrue', yTrue, 'yPred', n);
  const shape = shapeFor(ctx, n, 'yPred');
  const axis = ctx.opts.axis as number;
  const ndim = shape.length;
  if (axis < -ndim || axis >= ndim)
    throw check.rangeError(ctx.fn, 'opts.axis', `is ${axis}, out of range for a ${ndim}-D shape [${shape.join(', ')}]`);
  const a = axis < 0 ? axis + ndim : axis;
  setParam(ctx, 'axis', a);
  let samples = 1;
  for (let d = 0; d < ndim; d++) if (d !== a) samples *= shape[d];
  const w = ctx.opts.sampleWeight;
  if (check.isFloat32Array(w) && w.length !== samples)
    throw check.rangeError(ctx.fn, 'opts.sampleWeight', `has length ${w.length}, but there are ${samples} losses (one per position of the axes other than ${axis})`);
  return { inputs: [yPred, yTrue, sampleWeights(ctx, samples)], shape, outLength: samples, gradLengths: [n] };
}

type Options = LossDef['options'];

/** A PyTorch loss on (input, target) Float32Arrays. */
export function torchPair(name: string, options: Options = {}): LossDef {
  return {
    name: `torch.${name}`,
    args: [{ name: 'input', kind: 'f32', grad: true }, { name: 'target', kind: 'f32' }],
    options,
    reductions: TORCH_REDUCTIONS,
    defaultReduction: 'mean',
    plan: torchPairPlan,
  };
}

/** A Keras loss on (yTrue, yPred) Float32Arrays with sampleWeight. */
export function kerasPair(name: string, options: Options = {}): LossDef {
  return {
    name: `keras.${name}`,
    args: [{ name: 'yTrue', kind: 'f32' }, { name: 'yPred', kind: 'f32', grad: true }],
    options: { sampleWeight: sampleWeightOption, ...options },
    reductions: KERAS_REDUCTIONS,
    defaultReduction: 'sum_over_batch_size',
    plan: kerasPairPlan,
  };
}
