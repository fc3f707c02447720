// Keras 3 metric-learning losses (keras/src/losses/losses.py): pairwise similarities inside the batch.
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import { KERAS_REDUCTIONS, sampleWeightOption, sampleWeights, shapeFor } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';

export interface CircleOptions extends KerasOptions {
  /** Scale of the similarities; default 80. */
  gamma?: number;
  /** Relaxation margin; default 0.4. */
  margin?: number;
  /** Leave each embedding's similarity to itself out of its positives; default true. */
  removeDiagonal?: boolean;
}

/**
 * Circle loss of integer labels yTrue [N] (Int32Array) and L2-normalized embeddings yPred [N, D]:
 * per row i, softplus(logsumexp_pos(-gamma max(m + d, 0) (m - d)) + logsumexp_neg(gamma
 * max(1 + m - d, 0) (1 - m - d))) over the other rows j, d = max(1 - e_i . e_j, 0), positives
 * with i's label, negatives with another. Rows whose loss is 0 (no positive or no negative) are
 * masked out as Keras does: 'sum_over_batch_size' averages over the other rows. Without
 * opts.shape, [N, yPred.length / N]. keras.losses.circle.
 */
export const circle: Loss<[yTrue: Int32Array, yPred: Float32Array], CircleOptions> = defineLoss({
  name: 'keras.circle',
  args: [{ name: 'yTrue', kind: 'i32' }, { name: 'yPred', kind: 'f32', grad: true }],
  options: {
    sampleWeight: sampleWeightOption,
    gamma: { default: 80, check: check.finiteNumber, param: 'gamma' },
    margin: { default: 0.4, check: check.finiteNumber, param: 'margin' },
    removeDiagonal: { default: true, check: check.boolean, param: 'removeDiagonal' },
  },
  reductions: KERAS_REDUCTIONS,
  defaultReduction: 'sum_over_batch_size',
  plan(ctx) {
    const [yTrue, yPred] = ctx.args;
    const n = yPred.length;
    const rows = yTrue.length;
    let shape: readonly number[];
    if (ctx.shape === undefined) {
      if (rows === 0 ? n !== 0 : n % rows !== 0)
        throw check.rangeError(ctx.fn, 'yTrue', `has ${rows} labels, which do not divide yPred's length ${n}; pass opts.shape`);
      shape = [rows, rows === 0 ? 0 : n / rows];
    } else {
      shape = shapeFor(ctx, n, 'yPred');
      if (shape.length !== 2)
        throw check.rangeError(ctx.fn, 'opts.shape', `must be [N, D] (one embedding per label), got [${shape.join(', ')}]`);
      if (shape[0] !== rows)
        throw check.rangeError(ctx.fn, 'yTrue', `has ${rows} labels, but opts.shape [${shape.join(', ')}] has ${shape[0]} embeddings`);
    }
    return { inputs: [yPred, yTrue, sampleWeights(ctx, rows)], shape, outLength: rows, gradLengths: [n] };
  },
});
