// PyTorch 1.13 classification and probabilistic losses (torch.nn.functional, and torchvision's
// sigmoid_focal_loss).
import * as check from '../core/check';
import { defineLoss, LossDef, OptionSpec, Plan, PlanContext, REDUCTION_BATCHMEAN } from '../core/define';
import { classShape, labelSmoothingOption } from '../core/classes';
import { TORCH_REDUCTIONS, torchPair, torchPairPlan } from '../core/frameworks';
import type { Loss, NoneByDefaultLoss, TorchOptions } from '../core/types';

type Pair<O = TorchOptions> = Loss<[input: Float32Array, target: Float32Array], O>;

export interface BinaryCrossEntropyOptions extends TorchOptions {
  /** Rescales each element's loss; the input's length. */
  weight?: Float32Array;
}
export interface BinaryCrossEntropyWithLogitsOptions extends BinaryCrossEntropyOptions {
  /** Weight of the positive term, broadcast along the last axis: length shape[-1]. */
  posWeight?: Float32Array;
}
export interface CrossEntropyOptions extends TorchOptions {
  /** One weight per class (length C). */
  weight?: Float32Array;
  /** Class-index target that contributes nothing (index targets only); default -100. */
  ignoreIndex?: number;
  /** In [0, 1]: mixes the target with the uniform distribution; default 0. */
  labelSmoothing?: number;
}
export interface NllLossOptions extends TorchOptions {
  /** One weight per class (length C). */
  weight?: Float32Array;
  /** Class-index target that contributes nothing; default -100. */
  ignoreIndex?: number;
}
export interface KlDivOptions extends Omit<TorchOptions, 'reduction'> {
  /** 'mean' (default, as in PyTorch: over every element), 'batchmean' (sum / shape[0]), 'sum' or 'none'. */
  reduction?: 'mean' | 'batchmean' | 'sum' | 'none';
  /** The target holds log-probabilities; default false. */
  logTarget?: boolean;
}
export interface PoissonNllLossOptions extends TorchOptions {
  /** The input is log(rate): loss exp(input) - target input; default true. */
  logInput?: boolean;
  /** Adds the Stirling term target log target - target + 0.5 log(2 pi target) where target > 1; default false. */
  full?: boolean;
  /** Added to the input inside the log when logInput is false; default 1e-8. */
  eps?: number;
}
export interface GaussianNllLossOptions extends TorchOptions {
  /** Adds the constant 0.5 log(2 pi); default false. */
  full?: boolean;
  /** var is clamped to at least eps (the gradient passes through the clamp, as in PyTorch); default 1e-6. */
  eps?: number;
}
export interface SigmoidFocalLossOptions extends Omit<TorchOptions, 'reduction'> {
  /** 'none' (default, as in torchvision), 'mean' or 'sum'. */
  reduction?: 'none' | 'mean' | 'sum';
  /** Weight of the positive class in (0, 1); a negative value disables the alpha term; default 0.25. */
  alpha?: number;
  /** Focusing exponent >= 0; default 2. */
  gamma?: number;
}

export type CrossEntropyLoss = Loss<[input: Float32Array, target: Float32Array | Int32Array], CrossEntropyOptions>;
export type NllLoss = Loss<[input: Float32Array, target: Int32Array], NllLossOptions>;
export type GaussianNllLoss = Loss<[input: Float32Array, target: Float32Array, variance: Float32Array],
  GaussianNllLossOptions, { input: Float32Array; var: Float32Array }>;

// ---------------------------------------------------------------- option checks


const arrayOption: OptionSpec = { check: check.float32 };
// One weight per element: an accumulator takes it with each chunk.
const elementWeightOption: OptionSpec = { check: check.float32, perChunk: true };
const boolOption = (dflt: boolean, param: string): OptionSpec => ({ default: dflt, check: check.boolean, param });
const int32Option = (dflt: number, param: string): OptionSpec => ({
  default: dflt,
  param,
  check(fn, arg, v) {
    const k = check.integer(fn, arg, v);
    if (k < -2147483648 || k > 2147483647) throw check.rangeError(fn, arg, `must be a 32-bit integer, got ${k}`);
    return k;
  },
});

function weightOf(ctx: PlanContext, name: string, expected: number, what: string): Float32Array | null {
  const w = ctx.opts[name] as Float32Array | undefined;
  if (w === undefined) return null;
  if (w.length !== expected) throw check.rangeError(ctx.fn, `opts.${name}`, `has length ${w.length}; expected ${expected} (${what})`);
  return w;
}

// ---------------------------------------------------------------- definitions

function torchLoss(name: string, args: LossDef['args'], options: LossDef['options'], plan: LossDef['plan'],
                   defaultReduction = 'mean', reductions = TORCH_REDUCTIONS): LossDef {
  return { name: `torch.${name}`, args, options, reductions, defaultReduction, plan };
}
const INPUT = { name: 'input', kind: 'f32', grad: true } as const;
const TARGET = { name: 'target', kind: 'f32' } as const;

/**
 * -weight (target log(input) + (1 - target) log(1 - input)) with each log clamped at -100, so
 * probabilities of exactly 0 and 1 give finite losses. The input must lie in [0, 1].
 * torch.nn.functional.binary_cross_entropy.
 */
export const binaryCrossEntropy: Pair<BinaryCrossEntropyOptions> = defineLoss(torchLoss('binaryCrossEntropy',
  [INPUT, TARGET], { weight: elementWeightOption }, (ctx) => {
    const p = torchPairPlan(ctx);
    return { ...p, inputs: [...p.inputs, weightOf(ctx, 'weight', ctx.args[0].length, "the input's length")] };
  }));

/**
 * (1 - target) input + (1 + (posWeight - 1) target) softplus(-input), times weight; stable for any
 * logit, soft targets allowed. torch.nn.functional.binary_cross_entropy_with_logits.
 */
export const binaryCrossEntropyWithLogits: Pair<BinaryCrossEntropyWithLogitsOptions> = defineLoss(torchLoss(
  'binaryCrossEntropyWithLogits', [INPUT, TARGET], { weight: elementWeightOption, posWeight: arrayOption }, (ctx) => {
    const p = torchPairPlan(ctx);
    const last = p.shape.length > 0 ? p.shape[p.shape.length - 1] : 1;
    return {
      ...p,
      inputs: [...p.inputs, weightOf(ctx, 'weight', ctx.args[0].length, "the input's length"),
        weightOf(ctx, 'posWeight', last, 'shape[-1]')],
    };
  }));

function crossEntropyPlan(ctx: PlanContext, indicesOnly: boolean): Plan {
  const [input, target] = ctx.args;
  const n = input.length;
  const isIndex = check.isInt32Array(target);
  if (indicesOnly && !isIndex) throw check.typeError(ctx.fn, 'target', 'must be an Int32Array of class indices');
  const cs = classShape(ctx, 'input', n, isIndex ? target : null, 'target', 1);
  if (isIndex) {
    if (target.length !== cs.positions)
      throw check.rangeError(ctx.fn, 'target', `has length ${target.length}; expected ${cs.positions} class indices for input shape [${cs.shape.join(', ')}]`);
  } else if (target.length !== n) {
    throw check.rangeError(ctx.fn, 'target', `has length ${target.length}; class probabilities need the input's length ${n}`);
  }
  return {
    inputs: [input, target, weightOf(ctx, 'weight', cs.classes, 'one per class')],
    shape: cs.shape,
    outLength: cs.positions,
    gradLengths: [n],
  };
}

/**
 * Softmax cross-entropy over the class axis (axis 1 of [N, C, d1, ...], or of [C]). target:
 * class indices (Int32Array, the shape without the class axis) or class probabilities
 * (Float32Array, the input's shape). Without opts.shape an index target of N > 1 entries means
 * [N, C]. Mean divides by the summed weights of the non-ignored targets (probabilities: by the
 * number of positions). torch.nn.functional.cross_entropy.
 */
export const crossEntropy: CrossEntropyLoss = defineLoss(torchLoss('crossEntropy',
  [INPUT, { name: 'target', kind: 'f32|i32' }], {
    weight: arrayOption,
    ignoreIndex: int32Option(-100, 'ignoreIndex'),
    labelSmoothing: labelSmoothingOption('labelSmoothing'),
  }, (ctx) => crossEntropyPlan(ctx, false)));

/** -weight[target] input[target] on log-probabilities, shapes as crossEntropy. torch.nn.functional.nll_loss. */
export const nllLoss: NllLoss = defineLoss(torchLoss('nllLoss',
  [INPUT, { name: 'target', kind: 'i32' }], {
    weight: arrayOption,
    ignoreIndex: int32Option(-100, 'ignoreIndex'),
  }, (ctx) => crossEntropyPlan(ctx, true)));

/**
 * target (log target - input) (logTarget: exp(target) (target - input)), input holding
 * log-probabilities. torch.nn.functional.kl_div; PyTorch's default reduction 'mean'.
 */
export const klDiv: Pair<KlDivOptions> = defineLoss(torchLoss('klDiv', [INPUT, TARGET],
  { logTarget: boolOption(false, 'logTarget') }, torchPairPlan, 'mean',
  { ...TORCH_REDUCTIONS, batchmean: REDUCTION_BATCHMEAN }));

/**
 * exp(input) - target input (logInput), or input - target log(input + eps).
 * torch.nn.functional.poisson_nll_loss.
 */
export const poissonNllLoss: Pair<PoissonNllLossOptions> = defineLoss(torchPair('poissonNllLoss', {
  logInput: boolOption(true, 'logInput'),
  full: boolOption(false, 'full'),
  eps: { default: 1e-8, check: check.positive, param: 'eps' },
}));

/**
 * 0.5 (log v + (input - target)^2 / v), v = max(var, eps). The third argument is PyTorch's
 * `var` (named `variance` here): the input's shape, or one value per row of the last axis
 * (shape[:-1], or [..., 1]). Gradients `{ input, var }`. torch.nn.functional.gaussian_nll_loss.
 */
export const gaussianNllLoss: GaussianNllLoss = defineLoss(torchLoss('gaussianNllLoss',
  [INPUT, TARGET, { name: 'var', kind: 'f32', grad: true }], {
    full: boolOption(false, 'full'),
    eps: { default: 1e-6, check: check.positive, param: 'eps' },
  }, (ctx) => {
    const p = torchPairPlan(ctx);
    const v = ctx.args[2];
    const n = ctx.args[0].length;
    const last = p.shape.length > 0 ? p.shape[p.shape.length - 1] : 1;
    const rows = last > 0 ? n / last : 0;
    if (v.length !== n && v.length !== rows)
      throw check.rangeError(ctx.fn, 'var', `has length ${v.length}; expected the input's length ${n} or one per row of the last axis (${rows})`);
    return { ...p, inputs: [...p.inputs, v], gradLengths: [n, v.length] };
  }));

/**
 * alpha_t (1 - p_t)^gamma BCE-with-logits, p = sigmoid(input). torchvision.ops.sigmoid_focal_loss;
 * default reduction 'none' as there.
 */
export const sigmoidFocalLoss: NoneByDefaultLoss<[input: Float32Array, target: Float32Array], SigmoidFocalLossOptions> = defineLoss(torchLoss('sigmoidFocalLoss', [INPUT, TARGET], {
  alpha: { default: 0.25, check: check.finiteNumber, param: 'alpha' },
  gamma: { default: 2, check: check.nonNegative, param: 'gamma' },
}, torchPairPlan, 'none'));
