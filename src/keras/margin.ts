// TF 2.x Keras hinge and similarity losses: one loss per sample, then sample weights and the reduction.
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import { KERAS_REDUCTIONS, kerasAxisPlan, kerasPair, sampleWeightOption } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';

type Pair<O = KerasOptions> = Loss<[yTrue: Float32Array, yPred: Float32Array], O>;

export interface CosineSimilarityOptions extends KerasOptions {
  /** The axis the similarity is taken over; default -1. One loss per position of the other axes. */
  axis?: number;
}

/**
 * mean(max(1 - yTrue * yPred, 0)) over the last axis. Labels are turned from 0/1 into -1/1
 * when every label is 0 or 1, as Keras does. keras.losses.hinge.
 */
export const hinge: Pair = defineLoss(kerasPair('hinge'));

/** mean(max(1 - yTrue * yPred, 0)^2) over the last axis, with hinge's 0/1 label conversion. keras.losses.squared_hinge. */
export const squaredHinge: Pair = defineLoss(kerasPair('squaredHinge'));

/**
 * Per sample (last axis): max(max((1 - yTrue) * yPred) - sum(yTrue * yPred) + 1, 0).
 * keras.losses.categorical_hinge.
 */
export const categoricalHinge: Pair = defineLoss(kerasPair('categoricalHinge'));

/**
 * -sum(l2_normalize(yTrue) * l2_normalize(yPred)) over `axis` (default -1), with Keras'
 * l2_normalize: x / sqrt(max(sum(x^2), 1e-12)). One loss (and one sample weight) per
 * position of the other axes. keras.losses.cosine_similarity.
 */
export const cosineSimilarity: Pair<CosineSimilarityOptions> = defineLoss({
  name: 'keras.cosineSimilarity',
  args: [{ name: 'yTrue', kind: 'f32' }, { name: 'yPred', kind: 'f32', grad: true }],
  options: { sampleWeight: sampleWeightOption, axis: { default: -1, check: check.integer } },
  reductions: KERAS_REDUCTIONS,
  defaultReduction: 'sum_over_batch_size',
  plan: kerasAxisPlan,
});
