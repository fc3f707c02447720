// Keras 3 focal and generalized cross-entropies (keras/src/losses/losses.py): one loss per
// position of the axes other than the class axis, then sample weights and the reduction.
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import { KERAS_REDUCTIONS, kerasAxisPlan, sampleWeightOption } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';
import { kerasLabelsPlan, labelSmoothingOption } from '../core/classes';

type Pair<O = KerasOptions> = Loss<[yTrue: Float32Array, yPred: Float32Array], O>;

export interface CategoricalFocalCrossentropyOptions extends KerasOptions {
  /** Weight of every class (a scalar; Keras' per-class list is not supported); default 0.25. */
  alpha?: number;
  /** Focusing exponent >= 0; default 2. */
  gamma?: number;
  /** yPred holds logits (softmax taken over `axis`); default false (probabilities). */
  fromLogits?: boolean;
  /** In [0, 1]: yTrue (1 - ls) + ls / C; default 0. */
  labelSmoothing?: number;
  /** The class axis; default -1. One loss (and one sample weight) per position of the other axes. */
  axis?: number;
}

export interface CategoricalGeneralizedCrossEntropyOptions extends KerasOptions {
  /** The noise parameter, in (0, 1): near 0 like cross-entropy, near 1 like MAE; default 0.5. */
  q?: number;
}

/**
 * sum over `axis` of alpha (1 - o)^gamma (-y log o), o = clip(p / sum p, 1e-7, 1 - 1e-7)
 * (fromLogits: p = softmax). keras.losses.categorical_focal_crossentropy.
 */
export const categoricalFocalCrossentropy: Pair<CategoricalFocalCrossentropyOptions> = defineLoss({
  name: 'keras.categoricalFocalCrossentropy',
  args: [{ name: 'yTrue', kind: 'f32' }, { name: 'yPred', kind: 'f32', grad: true }],
  options: {
    sampleWeight: sampleWeightOption,
    alpha: { default: 0.25, check: check.finiteNumber, param: 'alpha' },
    gamma: { default: 2, check: check.nonNegative, param: 'gamma' },
    fromLogits: { default: false, check: check.boolean, param: 'fromLogits' },
    labelSmoothing: labelSmoothingOption('labelSmoothing'),
    axis: { default: -1, check: check.integer },
  },
  reductions: KERAS_REDUCTIONS,
  defaultReduction: 'sum_over_batch_size',
  plan: kerasAxisPlan,
});

/**
 * Integer labels yTrue (Int32Array, one per row) against yPred [..., C]: (1 - p^q) / q with p the
 * predicted probability of the label (not clipped). Without opts.shape, N > 1 labels mean [N, C].
 * A label outside 0..C-1 raises a RangeError (Keras' one_hot would give p = 0 and a NaN
 * gradient). keras.losses.categorical_generalized_cross_entropy.
 */
export const categoricalGeneralizedCrossEntropy: Loss<[yTrue: Int32Array, yPred: Float32Array], CategoricalGeneralizedCrossEntropyOptions> = defineLoss({
  name: 'keras.categoricalGeneralizedCrossEntropy',
  args: [{ name: 'yTrue', kind: 'i32' }, { name: 'yPred', kind: 'f32', grad: true }],
  options: {
    sampleWeight: sampleWeightOption,
    q: {
      default: 0.5,
      param: 'q',
      check(fn, arg, v) {
        const q = check.finiteNumber(fn, arg, v);
        if (!(q > 0 && q < 1)) throw check.rangeError(fn, arg, `must be in the interval (0, 1), got ${q}`);
        return q;
      },
    },
  },
  reductions: KERAS_REDUCTIONS,
  defaultReduction: 'sum_over_batch_size',
  plan: kerasLabelsPlan,
});
