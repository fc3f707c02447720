// Keras 3 overlap losses (keras/src/losses/losses.py dice, tversky): one loss per position of the
// axes not in `axis`, then sample weights and the reduction.
import * as check from '../core/check';
import { defineLoss, OptionSpec, PlanContext, Plan, setParam } from '../core/define';
import { KERAS_REDUCTIONS, sampleWeightOption, sampleWeights, shapeFor } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';

type Pair<O = KerasOptions> = Loss<[yTrue: Float32Array, yPred: Float32Array], O>;

export interface DiceOptions extends KerasOptions {
  /**
   * The axes summed over: null (default, Keras' `axis=None`: every axis, one loss), an axis, or
   * an array of consecutive axes (e.g. [1, 2, 3] for per-sample dice of [N, H, W, C]). One loss
   * (and one sample weight) per position of the other axes.
   */
  axis?: number | readonly number[] | null;
}
export interface TverskyOptions extends DiceOptions {
  /** Weight of false positives, sum (1 - yTrue) yPred; default 0.5. */
  alpha?: number;
  /** Weight of false negatives, sum yTrue (1 - yPred); default 0.5. */
  beta?: number;
}

const MAX_AXES = 64;

const axisOption: OptionSpec = {
  default: null,
  check(fn, arg, v) {
    if (v === null) return null;
    if (typeof v === 'number') return [check.integer(fn, arg, v)];
    if (!Array.isArray(v)) throw check.typeError(fn, arg, `must be null, an integer or an array of integers, got ${check.show(v)}`);
    const n = v.length;
    if (n > MAX_AXES) throw check.rangeError(fn, arg, `has ${n} entries; a shape has at most 8 axes`);
    const axes: number[] = [];
    for (let i = 0; i < n; i++) axes.push(check.integer(fn, `${arg}[${i}]`, v[i]));
    return axes;
  },
};

/**
 * The reduced axes (made non-negative, consecutive) merged into one: the kernel sees
 * [outer, reduced, inner] and reduces its axis 1.
 */
function overlapPlan(ctx: PlanContext): Plan {
  const [yTrue, yPred] = ctx.args;
  const n = yPred.length;
  check.sameLength(ctx.fn, 'yTrue', yTrue, 'yPred', n);
  const shape = shapeFor(ctx, n, 'yPred');
  const ndim = shape.length;
  const given = ctx.opts.axis as number[] | null;
  let axes: number[];
  if (given === null) {
    axes = shape.map((_, d) => d);
  } else {
    axes = given.map((axis) => {
      if (axis < -ndim || axis >= ndim)
        throw check.rangeError(ctx.fn, 'opts.axis', `holds ${axis}, out of range for a ${ndim}-D shape [${shape.join(', ')}]`);
      return axis < 0 ? axis + ndim : axis;
    }).sort((x, y) => x - y);
    for (let i = 1; i < axes.length; i++) {
      if (axes[i] === axes[i - 1]) throw check.rangeError(ctx.fn, 'opts.axis', `holds axis ${axes[i]} twice`);
      if (axes[i] !== axes[i - 1] + 1)
        throw check.rangeError(ctx.fn, 'opts.axis', `must be consecutive axes, got [${given.join(', ')}]`);
    }
  }
  const lo = axes.length > 0 ? axes[0] : ndim;
  const hi = axes.length > 0 ? axes[axes.length - 1] + 1 : ndim;
  const product = (from: number, to: number) => shape.slice(from, to).reduce((a, b) => a * b, 1);
  const merged = [product(0, lo), product(lo, hi), product(hi, ndim)];
  setParam(ctx, 'axis', 1);
  const losses = merged[0] * merged[2];
  const w = ctx.opts.sampleWeight;
  if (check.isFloat32Array(w) && w.length !== losses)
    throw check.rangeError(ctx.fn, 'opts.sampleWeight', `has length ${w.length}, but there are ${losses} losses (one per position of the axes not in opts.axis)`);
  return { inputs: [yPred, yTrue, sampleWeights(ctx, losses)], shape: merged, outLength: losses, gradLengths: [n] };
}

function overlapLoss<L>(name: string, options: Record<string, OptionSpec>): L {
  return defineLoss<L>({
    name: `keras.${name}`,
    args: [{ name: 'yTrue', kind: 'f32' }, { name: 'yPred', kind: 'f32', grad: true }],
    options: { sampleWeight: sampleWeightOption, axis: axisOption, ...options },
    reductions: KERAS_REDUCTIONS,
    defaultReduction: 'sum_over_batch_size',
    plan: overlapPlan,
  });
}

/** 1 - 2 sum(yTrue yPred) / (sum yTrue + sum yPred + 1e-7) over `axis`. keras.losses.dice. */
export const dice: Pair<DiceOptions> = overlapLoss('dice', {});

/**
 * 1 - I / (I + alpha FP + beta FN + 1e-7) over `axis`, I = sum yTrue yPred, FP = sum (1 - yTrue)
 * yPred, FN = sum yTrue (1 - yPred). keras.losses.tversky.
 */
export const tversky: Pair<TverskyOptions> = overlapLoss('tversky', {
  alpha: { default: 0.5, check: check.finiteNumber, param: 'alpha' },
  beta: { default: 0.5, check: check.finiteNumber, param: 'beta' },
});
