// Keras 3 sequence losses (keras.losses.ctc).
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import { KERAS_REDUCTIONS, requiredShape, sampleWeightOption, sampleWeights } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';

export interface CtcOptions extends KerasOptions {
  /** Required: [N, T, C] of yPred (batch first, as Keras). */
  shape?: readonly number[];
}

export type Ctc = Loss<[yTrue: Int32Array, yPred: Float32Array], CtcOptions>;

/**
 * Connectionist temporal classification as Keras 3 computes it (keras.losses.ctc, then
 * tf.nn.ctc_loss on dense labels): yPred [N, T, C] logits (log-softmax taken inside; opts.shape is
 * required), yTrue [N, S] Int32Array labels in [1, C) with 0 as the blank, which may only pad the
 * end of a row (Keras counts a row's non-zero labels but TF reads that many from its start: a 0
 * before a label would be read as a label, and TF's gradient ignores it, so it is a RangeError
 * here). Every sequence uses all T steps. Per sample -log p(labels | yPred), times sampleWeight;
 * the gradient is TF's softmax(yPred) minus the state posteriors. An impossible alignment gives
 * Infinity (and a NaN gradient, as TF).
 */
export const ctc: Ctc = defineLoss({
  name: 'keras.ctc',
  args: [{ name: 'yTrue', kind: 'i32' }, { name: 'yPred', kind: 'f32', grad: true }],
  options: { sampleWeight: sampleWeightOption },
  reductions: KERAS_REDUCTIONS,
  defaultReduction: 'sum_over_batch_size',
  dims: ['N', 'T', 'C'],
  plan(ctx) {
    const [yTrue, yPred] = ctx.args;
    const shape = requiredShape(ctx, yPred.length, 'yPred', [3], '[N, T, C]');
    const N = shape[0];
    if (N > 0 ? yTrue.length % N !== 0 : yTrue.length !== 0)
      throw check.rangeError(ctx.fn, 'yTrue', `has length ${yTrue.length}; expected [N, S] labels with N = ${N}`);
    return { inputs: [yPred, yTrue, sampleWeights(ctx, N)], shape, outLength: N, gradLengths: [yPred.length] };
  },
});
