// TF 2.x Keras classification and probabilistic losses: per-sample loss over the last axis,
// then sample weights, then the reduction.
import * as check from '../core/check';
import { defineLoss, OptionSpec, setParam } from '../core/define';
import { KERAS_REDUCTIONS, kerasPair, sampleWeightOption } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';
import { kerasLabelsPlan, labelSmoothingOption } from '../core/classes';

type Pair<O = KerasOptions> = Loss<[yTrue: Float32Array, yPred: Float32Array], O>;

export interface BinaryCrossentropyOptions extends KerasOptions {
  /** yPred holds logits; default false (probabilities, clipped to [1e-7, 1 - 1e-7]). */
  fromLogits?: boolean;
  /** In [0, 1]: yTrue (1 - ls) + 0.5 ls; default 0. */
  labelSmoothing?: number;
}
export interface CategoricalCrossentropyOptions extends KerasOptions {
  /** yPred holds logits; default false (probabilities: rows normalized, then clipped). */
  fromLogits?: boolean;
  /** In [0, 1]: yTrue (1 - ls) + ls / C; default 0. */
  labelSmoothing?: number;
}
export interface SparseCategoricalCrossentropyOptions extends KerasOptions {
  /** yPred holds logits; default false. */
  fromLogits?: boolean;
  /** Samples with this label give 0, and 'sum_over_batch_size' averages over the other samples. */
  ignoreClass?: number | null;
}
export interface BinaryFocalCrossentropyOptions extends BinaryCrossentropyOptions {
  /** Focusing exponent >= 0; default 2. */
  gamma?: number;
  /** Weight of the positive class when applyClassBalancing; default 0.25. */
  alpha?: number;
  /** Weighs each element by alpha (positive) or 1 - alpha (negative); default false. */
  applyClassBalancing?: boolean;
}

export type SparseCategoricalCrossentropyLoss = Loss<[yTrue: Int32Array, yPred: Float32Array], SparseCategoricalCrossentropyOptions>;

const boolOption = (param: string): OptionSpec => ({ default: false, check: check.boolean, param });

/**
 * mean over the last axis of -(y log(p + eps) + (1 - y) log(1 - p + eps)), p clipped to
 * [eps, 1 - eps], eps = 1e-7 (fromLogits: sigmoid cross-entropy). keras.losses.binary_crossentropy.
 */
export const binaryCrossentropy: Pair<BinaryCrossentropyOptions> = defineLoss(kerasPair('binaryCrossentropy', {
  fromLogits: boolOption('fromLogits'),
  labelSmoothing: labelSmoothingOption('labelSmoothing'),
}));

/**
 * -sum over the last axis of y log(clip(p / sum p, eps, 1 - eps)); fromLogits: softmax
 * cross-entropy, whose gradient is TF's softmax - yTrue. keras.losses.categorical_crossentropy.
 */
export const categoricalCrossentropy: Pair<CategoricalCrossentropyOptions> = defineLoss(kerasPair('categoricalCrossentropy', {
  fromLogits: boolOption('fromLogits'),
  labelSmoothing: labelSmoothingOption('labelSmoothing'),
}));

/**
 * Integer labels yTrue (Int32Array, shape[:-1]) against yPred [..., C]: -log softmax(yPred)[y]
 * (probabilities: log of the clipped probabilities first). Without opts.shape, N > 1 labels
 * mean [N, C]. keras.losses.sparse_categorical_crossentropy.
 */
export const sparseCategoricalCrossentropy: SparseCategoricalCrossentropyLoss = defineLoss({
  name: 'keras.sparseCategoricalCrossentropy',
  args: [{ name: 'yTrue', kind: 'i32' }, { name: 'yPred', kind: 'f32', grad: true }],
  options: {
    sampleWeight: sampleWeightOption,
    fromLogits: boolOption('fromLogits'),
    ignoreClass: {
      default: null,
      check(fn, arg, v) {
        if (v === null) return null;
        const k = check.integer(fn, arg, v);
        if (k < -2147483648 || k > 2147483647) throw check.rangeError(fn, arg, `must be a 32-bit integer, got ${k}`);
        return k;
      },
    },
  },
  reductions: KERAS_REDUCTIONS,
  defaultReduction: 'sum_over_batch_size',
  plan(ctx) {
    const ignore = ctx.opts.ignoreClass as number | null;
    setParam(ctx, 'hasIgnoreClass', ignore === null ? 0 : 1);
    setParam(ctx, 'ignoreClass', ignore === null ? 0 : ignore);
    return kerasLabelsPlan(ctx);
  },
});

/** sum over the last axis of y log(y / p), both clipped to [1e-7, 1]. keras.losses.kl_divergence. */
export const klDivergence: Pair = defineLoss(kerasPair('klDivergence'));

/** mean over the last axis of p - y log(p + 1e-7). keras.losses.poisson. */
export const poisson: Pair = defineLoss(kerasPair('poisson'));

/**
 * mean over the last axis of (1 - p_t)^gamma bce (times alpha_t with applyClassBalancing).
 * keras.losses.binary_focal_crossentropy.
 */
export const binaryFocalCrossentropy: Pair<BinaryFocalCrossentropyOptions> = defineLoss(kerasPair('binaryFocalCrossentropy', {
  gamma: { default: 2, check: check.nonNegative, param: 'gamma' },
  alpha: { default: 0.25, check: check.finiteNumber, param: 'alpha' },
  applyClassBalancing: boolOption('applyClassBalancing'),
  fromLogits: boolOption('fromLogits'),
  labelSmoothing: labelSmoothingOption('labelSmoothing'),
}));
