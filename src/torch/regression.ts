// PyTorch 1.13 regression losses (torch.nn.functional), element-wise then reduced.
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import { torchPair } from '../core/frameworks';
import type { Loss, TorchOptions } from '../core/types';

type Pair<O = TorchOptions> = Loss<[input: Float32Array, target: Float32Array], O>;

export interface SmoothL1Options extends TorchOptions {
  /** Where the loss turns from quadratic to linear; default 1. 0 gives L1 values (with PyTorch's smooth_l1 gradient: -1 at a tie). */
  beta?: number;
}
export interface HuberOptions extends TorchOptions {
  /** Where the loss turns from quadratic to linear; default 1. */
  delta?: number;
}

/** (input - target)^2, reduced. torch.nn.functional.mse_loss. */
export const mseLoss: Pair = defineLoss(torchPair('mseLoss'));

/** |input - target|, reduced; the gradient at a tie is 0. torch.nn.functional.l1_loss. */
export const l1Loss: Pair = defineLoss(torchPair('l1Loss'));

/** z = |input - target|: 0.5 z^2 / beta if z < beta, else z - 0.5 beta. torch.nn.functional.smooth_l1_loss. */
export const smoothL1Loss: Pair<SmoothL1Options> = defineLoss(torchPair('smoothL1Loss', {
  beta: { default: 1, check: check.nonNegative, param: 'beta' },
}));

/** z = |input - target|: 0.5 z^2 if z < delta, else delta (z - 0.5 delta). torch.nn.functional.huber_loss. */
export const huberLoss: Pair<HuberOptions> = defineLoss(torchPair('huberLoss', {
  delta: { default: 1, check: check.positive, param: 'delta' },
}));
