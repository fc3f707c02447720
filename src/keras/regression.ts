// TF 2.x Keras regression losses: element-wise loss averaged over the last axis per sample.
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import { kerasPair } from '../core/frameworks';
import type { KerasOptions, Loss } from '../core/types';

type Pair<O = KerasOptions> = Loss<[yTrue: Float32Array, yPred: Float32Array], O>;

export interface HuberOptions extends KerasOptions {
  /** Where the loss turns from quadratic to linear; default 1. */
  delta?: number;
}

/** mean((yPred - yTrue)^2) over the last axis. keras.losses.mean_squared_error. */
export const meanSquaredError: Pair = defineLoss(kerasPair('meanSquaredError'));

/** mean(|yPred - yTrue|) over the last axis. keras.losses.mean_absolute_error. */
export const meanAbsoluteError: Pair = defineLoss(kerasPair('meanAbsoluteError'));

/** 100 mean(|(yTrue - yPred) / max(|yTrue|, 1e-7)|). keras.losses.mean_absolute_percentage_error. */
export const meanAbsolutePercentageError: Pair = defineLoss(kerasPair('meanAbsolutePercentageError'));

/** mean((log(max(yPred, 1e-7) + 1) - log(max(yTrue, 1e-7) + 1))^2). keras.losses.mean_squared_logarithmic_error. */
export const meanSquaredLogarithmicError: Pair = defineLoss(kerasPair('meanSquaredLogarithmicError'));

/** e = yPred - yTrue: mean(0.5 e^2 if |e| <= delta else delta |e| - 0.5 delta^2). keras.losses.huber. */
export const huber: Pair<HuberOptions> = defineLoss(kerasPair('huber', {
  delta: { default: 1, check: check.nonNegative, param: 'delta' },
}));

/** x = yPred - yTrue: mean(log(cosh(x))) = mean(x + softplus(-2x) - log 2). keras.losses.log_cosh. */
export const logCosh: Pair = defineLoss(kerasPair('logCosh'));
