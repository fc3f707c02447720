// What the classification losses of both frameworks share: the class-axis shape and the label
// smoothing option. Internal: not exported on the torch or keras namespaces.
import * as check from './check';
import type { OptionSpec, Plan, PlanContext } from './define';
import { sampleWeights, shapeFor } from './frameworks';

export const labelSmoothingOption = (param: string): OptionSpec => ({
  default: 0,
  param,
  check(fn, arg, v) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw check.typeError(fn, arg, `must be a number in [0, 1], got ${check.describeValue(v)}`);
    if (!(v >= 0 && v <= 1)) throw check.rangeError(fn, arg, `must be in [0, 1], got ${v}`);
    return v;
  },
});

export interface ClassShape {
  shape: readonly number[];
  /** Positions: every axis but the class axis. */
  positions: number;
  classes: number;
}

/**
 * The logical shape of a class-axis input: opts.shape, or inferred from an index target of
 * `positions` entries ([N, C] when N > 1, else [C]). `classAxis` 1 (PyTorch) or -1 (Keras).
 */
export function classShape(ctx: PlanContext, inputName: string, n: number, indexTarget: { length: number } | null,
                           targetName: string, classAxis: 1 | -1): ClassShape {
  let shape: readonly number[];
  if (ctx.shape === undefined && indexTarget !== null && indexTarget.length !== 1) {
    const p = indexTarget.length;
    if (p === 0 || n % p !== 0)
      throw check.rangeError(ctx.fn, targetName, `has ${p} class indices, which do not divide ${inputName}'s length ${n}; pass opts.shape`);
    shape = [p, n / p];
  } else {
    shape = shapeFor(ctx, n, inputName);
  }
  if (shape.length === 0)
    throw check.rangeError(ctx.fn, 'opts.shape', `[] has no class axis; ${inputName} needs ${classAxis === 1 ? '[C], [N, C] or [N, C, d1, ...]' : '[..., C]'}`);
  const axis = classAxis === 1 && shape.length > 1 ? 1 : shape.length - 1;
  const classes = shape[axis];
  if (classes === 0) throw check.rangeError(ctx.fn, 'opts.shape', `[${shape.join(', ')}] has no classes (class axis of size 0)`);
  return { shape, positions: n / classes, classes };
}

/** Keras integer labels (yTrue, one per row of yPred [..., C]); kernel slots [yPred, yTrue, sampleWeight]. */
export function kerasLabelsPlan(ctx: PlanContext): Plan {
  const [yTrue, yPred] = ctx.args;
  const n = yPred.length;
  const cs = classShape(ctx, 'yPred', n, yTrue, 'yTrue', -1);
  if (yTrue.length !== cs.positions)
    throw check.rangeError(ctx.fn, 'yTrue', `has length ${yTrue.length}; expected ${cs.positions} labels for yPred shape [${cs.shape.join(', ')}]`);
  return { inputs: [yPred, yTrue, sampleWeights(ctx, cs.positions)], shape: cs.shape, outLength: cs.positions, gradLengths: [n] };
}
