// PyTorch 1.13 margin, ranking and embedding losses (torch.nn.functional).
import * as check from '../core/check';
import { defineLoss, setParam } from '../core/define';
import type { LossDef, OptionSpec, Plan, PlanContext } from '../core/define';
import { shapeFor, TORCH_REDUCTIONS, torchPair } from '../core/frameworks';
import type { Loss, TorchOptions } from '../core/types';

type Pair<O = TorchOptions> = Loss<[input: Float32Array, target: Float32Array], O>;
type IndexPair<O = TorchOptions> = Loss<[input: Float32Array, target: Int32Array], O>;

export interface MarginOptions extends TorchOptions {
  /** The margin; default as in PyTorch (1 for hingeEmbeddingLoss, 0 for marginRankingLoss / cosineEmbeddingLoss). */
  margin?: number;
}
export interface MultilabelSoftMarginOptions extends TorchOptions {
  /** Weight per class, length C. */
  weight?: Float32Array;
}
export interface MultiMarginOptions extends TorchOptions {
  /** 1 (default) or 2: the power of each hinge term. */
  p?: 1 | 2;
  /** Default 1. */
  margin?: number;
  /** Weight per class, length C; a row's terms are scaled by the weight of its target class. */
  weight?: Float32Array;
}
export interface TripletMarginOptions extends TorchOptions {
  /** Default 1. */
  margin?: number;
  /** Degree of the distance norm, a finite number > 0; default 2. */
  p?: number;
  /** Added to the difference before the norm: ||a - p + eps||_p; default 1e-6. */
  eps?: number;
  /** Use min(d(a, n), d(p, n)) as the negative distance; default false. */
  swap?: boolean;
}

export interface TripletMarginWithDistanceOptions extends TorchOptions {
  /** 'pairwise' (default: ||x - y + 1e-6||_2) or 'cosine' (1 - cosine similarity). */
  distanceFunction?: 'pairwise' | 'cosine';
  /** Default 1. */
  margin?: number;
  /** Use min(d(a, n), d(p, n)) as the negative distance; default false. */
  swap?: boolean;
}

/** Gradients of the two-input losses. */
export interface PairGrad {
  input1: Float32Array;
  input2: Float32Array;
}
/** Gradients of tripletMarginLoss. */
export interface TripletGrad {
  anchor: Float32Array;
  positive: Float32Array;
  negative: Float32Array;
}

type Ranking<O> = Loss<[input1: Float32Array, input2: Float32Array, target: Float32Array], O, PairGrad>;
type Triplet = Loss<[anchor: Float32Array, positive: Float32Array, negative: Float32Array], TripletMarginOptions, TripletGrad>;

const margin = (value: number): OptionSpec => ({ default: value, check: check.finiteNumber, param: 'margin' });

const weightOption: OptionSpec = { check: check.float32 };

/** input1 and input2 of one length, returned. */
function pairLength(ctx: PlanContext): number {
  const [input1, input2] = ctx.args;
  check.sameLength(ctx.fn, 'input2', input2, 'input1', input1.length);
  return input1.length;
}

/** (input1, input2, target): both inputs differentiated. */
const PAIR_ARGS: LossDef['args'] = [
  { name: 'input1', kind: 'f32', grad: true }, { name: 'input2', kind: 'f32', grad: true }, { name: 'target', kind: 'f32' },
];

function expectLength(fn: string, arg: string, got: number, want: number): void {
  if (got !== want) throw check.rangeError(fn, arg, `has length ${got}; expected ${want}`);
}

/**
 * The logical shape of a row loss whose row count comes from a per-row argument
 * (`rowsArg`, `rows` long): opts.shape when given (1-D [D] for one row, or 2-D [N, D], as
 * PyTorch accepts), else [D] for one row or [rows, length / rows].
 */
function rowsFromTarget(ctx: PlanContext, n: number, rows: number, ref: string, rowsArg: string): readonly number[] {
  const fn = ctx.fn;
  if (ctx.shape !== undefined) {
    const shape = shapeFor(ctx, n, ref);
    if (shape.length !== 1 && shape.length !== 2)
      throw check.rangeError(fn, 'opts.shape', `must be [N, D] or [D] (PyTorch takes 2-D or 1-D inputs), got [${shape.join(', ')}]`);
    const r = shape.length === 2 ? shape[0] : 1;
    if (r !== rows)
      throw check.rangeError(fn, rowsArg, `has length ${rows}, but opts.shape [${shape.join(', ')}] has ${r} row${r === 1 ? '' : 's'}`);
    return shape;
  }
  if (rows === 1) return [n];
  if (rows === 0) {
    if (n !== 0) throw check.rangeError(fn, rowsArg, `is empty, but ${ref} has length ${n}`);
    return [0, 0];
  }
  if (n % rows !== 0)
    throw check.rangeError(fn, rowsArg, `has length ${rows}, which does not divide the length ${n} of ${ref} into rows; pass opts.shape`);
  return [rows, n / rows];
}

/** Shape of a loss over the last axis, with the same-length second argument. */
function lastAxisShape(ctx: PlanContext, n: number, ref: string, maxDims?: number): readonly number[] {
  const shape = shapeFor(ctx, n, ref);
  if (shape.length === 0) throw check.rangeError(ctx.fn, 'opts.shape', 'must have at least one dimension');
  if (maxDims !== undefined && shape.length > maxDims)
    throw check.rangeError(ctx.fn, 'opts.shape', `must be [N, C] or [C] (PyTorch takes 2-D or 1-D inputs), got [${shape.join(', ')}]`);
  return shape;
}

function rowCount(shape: readonly number[]): number {
  let rows = 1;
  for (let d = 0; d + 1 < shape.length; d++) rows *= shape[d];
  return rows;
}

const TRIPLET_ARGS: LossDef['args'] = [
  { name: 'anchor', kind: 'f32', grad: true }, { name: 'positive', kind: 'f32', grad: true }, { name: 'negative', kind: 'f32', grad: true },
];

/** (anchor, positive, negative) of one length, rows along the last axis (at most maxDims axes). */
function tripletPlan(ctx: PlanContext, maxDims?: number): Plan {
  const [anchor, positive, negative] = ctx.args;
  const n = anchor.length;
  check.sameLength(ctx.fn, 'positive', positive, 'anchor', n);
  check.sameLength(ctx.fn, 'negative', negative, 'anchor', n);
  const shape = lastAxisShape(ctx, n, 'anchor', maxDims);
  return { inputs: [anchor, positive, negative], shape, outLength: rowCount(shape), gradLengths: [n, n, n] };
}

function torchDef(name: string, args: LossDef['args'], options: LossDef['options'], plan: (ctx: PlanContext) => Plan): LossDef {
  return { name: `torch.${name}`, args, options, reductions: TORCH_REDUCTIONS, defaultReduction: 'mean', plan };
}

/**
 * target == 1 ? input : max(0, margin - input), element-wise, reduced.
 * torch.nn.functional.hinge_embedding_loss. Targets must be 1 or -1: other values give a
 * RangeError (PyTorch silently adds both branches for them).
 */
export const hingeEmbeddingLoss: Pair<MarginOptions> = defineLoss(torchPair('hingeEmbeddingLoss', {
  margin: margin(1),
}));

/** log(1 + exp(-target * input)), element-wise, reduced (computed without overflow). torch.nn.functional.soft_margin_loss. */
export const softMarginLoss: Pair = defineLoss(torchPair('softMarginLoss'));

/**
 * Per row of [N, C] (last axis; opts.shape, default one row):
 * mean_c weight_c (-target log sigmoid(input) - (1 - target) log sigmoid(-input)).
 * 'none' gives one loss per row. torch.nn.functional.multilabel_soft_margin_loss.
 */
export const multilabelSoftMarginLoss: Pair<MultilabelSoftMarginOptions> = defineLoss(torchDef(
  'multilabelSoftMarginLoss',
  [{ name: 'input', kind: 'f32', grad: true }, { name: 'target', kind: 'f32' }],
  { weight: weightOption },
  (ctx) => {
    const [input, target] = ctx.args;
    const n = input.length;
    check.sameLength(ctx.fn, 'target', target, 'input', n);
    const shape = lastAxisShape(ctx, n, 'input');
    const C = shape[shape.length - 1];
    const weight = ctx.opts.weight as Float32Array | undefined;
    if (weight) expectLength(ctx.fn, 'opts.weight', weight.length, C);
    return { inputs: [input, target, weight ?? null], shape, outLength: rowCount(shape), gradLengths: [n] };
  },
));

/**
 * Per row of input [N, C] with target class y (Int32Array, one per row):
 * sum_{c != y} weight_y max(0, margin - input_y + input_c)^p / C. A 1-D input [C] takes one
 * target. The row count comes from target (or opts.shape). torch.nn.functional.multi_margin_loss.
 */
export const multiMarginLoss: IndexPair<MultiMarginOptions> = defineLoss(torchDef(
  'multiMarginLoss',
  [{ name: 'input', kind: 'f32', grad: true }, { name: 'target', kind: 'i32' }],
  {
    p: {
      default: 1,
      param: 'p',
      check(fn, arg, v) {
        const p = check.finiteNumber(fn, arg, v);
        if (p !== 1 && p !== 2) throw check.rangeError(fn, arg, `must be 1 or 2 (as in PyTorch), got ${p}`);
        return p;
      },
    },
    margin: margin(1),
    weight: weightOption,
  },
  (ctx) => {
    const [input, target] = ctx.args;
    const n = input.length;
    const shape = rowsFromTarget(ctx, n, target.length, 'input', 'target');
    const C = shape[shape.length - 1];
    if (C === 0) throw check.rangeError(ctx.fn, 'input', 'has no classes (C = 0)');
    const weight = ctx.opts.weight as Float32Array | undefined;
    if (weight) expectLength(ctx.fn, 'opts.weight', weight.length, C);
    return { inputs: [input, target, weight ?? null], shape, outLength: target.length, gradLengths: [n] };
  },
));

/**
 * Per row of input [N, C] (opts.shape, default one row [C]) with target Int32Array [N, C]:
 * the row's classes, read up to the first -1 (padding). For target classes y and the other
 * classes i: sum max(0, 1 - (input_y - input_i)) / C. Every target entry must be in [-1, C)
 * (RangeError otherwise, as PyTorch checks). torch.nn.functional.multilabel_margin_loss.
 */
export const multilabelMarginLoss: IndexPair = defineLoss(torchDef(
  'multilabelMarginLoss',
  [{ name: 'input', kind: 'f32', grad: true }, { name: 'target', kind: 'i32' }],
  {},
  (ctx) => {
    const [input, target] = ctx.args;
    const n = input.length;
    check.sameLength(ctx.fn, 'target', target, 'input', n);
    const shape = lastAxisShape(ctx, n, 'input', 2);
    return { inputs: [input, target], shape, outLength: rowCount(shape), gradLengths: [n] };
  },
));

/**
 * max(0, -target (input1 - input2) + margin), element-wise, reduced; gradients { input1, input2 }.
 * torch.nn.functional.margin_ranking_loss. Any target value is used as given, as PyTorch does
 * (1 or -1 rank the pair; other values scale it).
 */
export const marginRankingLoss: Ranking<MarginOptions> = defineLoss(torchDef(
  'marginRankingLoss',
  PAIR_ARGS,
  { margin: margin(0) },
  (ctx) => {
    const n = pairLength(ctx);
    check.sameLength(ctx.fn, 'target', ctx.args[2], 'input1', n);
    return { inputs: ctx.args, shape: shapeFor(ctx, n, 'input1'), outLength: n, gradLengths: [n, n] };
  },
));

/**
 * Per row of input1, input2 [N, D] (or [D] with one target): cos = x1.x2 /
 * sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12)); target 1: 1 - cos, target -1: max(0, cos - margin).
 * Targets must be 1 or -1: other values give a RangeError (PyTorch silently returns 0 for
 * them). Gradients { input1, input2 }. torch.nn.functional.cosine_embedding_loss.
 */
export const cosineEmbeddingLoss: Ranking<MarginOptions> = defineLoss(torchDef(
  'cosineEmbeddingLoss',
  PAIR_ARGS,
  { margin: margin(0) },
  (ctx) => {
    const n = pairLength(ctx);
    const rows = ctx.args[2].length;
    return { inputs: ctx.args, shape: rowsFromTarget(ctx, n, rows, 'input1', 'target'), outLength: rows, gradLengths: [n, n] };
  },
));

/**
 * Per row (last axis of opts.shape, e.g. [N, D]; default one row):
 * max(0, margin + d(anchor, positive) - d(anchor, negative)), d(x, y) = ||x - y + eps||_p;
 * with swap the negative distance is min(d(a, n), d(p, n)). Gradients { anchor, positive,
 * negative }. torch.nn.functional.triplet_margin_loss.
 */
export const tripletMarginLoss: Triplet = defineLoss(torchDef(
  'tripletMarginLoss',
  TRIPLET_ARGS,
  {
    margin: margin(1),
    p: { default: 2, check: check.positive, param: 'p' },
    eps: { default: 1e-6, check: check.finiteNumber, param: 'eps' },
    swap: { default: false, check: check.boolean, param: 'swap' },
  },
  (ctx) => tripletPlan(ctx),
));

/**
 * max(0, margin + d(anchor, positive) - d(anchor, negative)) per row, with the distance named:
 * 'pairwise' (default; PyTorch's default pairwise_distance, ||x - y + 1e-6||_2, per row of the
 * last axis) or 'cosine' (1 - cosine_similarity(x, y), eps 1e-8, over rows [N, D] or one row
 * [D]). swap: min(d(a, n), d(p, n)) as the negative distance. Gradients { anchor, positive,
 * negative }. torch.nn.functional.triplet_margin_with_distance_loss.
 */
export const tripletMarginWithDistanceLoss: Loss<[anchor: Float32Array, positive: Float32Array, negative: Float32Array],
  TripletMarginWithDistanceOptions, TripletGrad> = defineLoss(torchDef(
  'tripletMarginWithDistanceLoss',
  TRIPLET_ARGS,
  {
    distanceFunction: {
      default: 'pairwise',
      check(fn, arg, v) {
        if (v === 'pairwise' || v === 'cosine') return v;
        if (typeof v !== 'string') throw check.typeError(fn, arg, `must be 'pairwise' or 'cosine', got ${check.show(v)}`);
        throw check.rangeError(fn, arg, `must be 'pairwise' or 'cosine', got '${v}'`);
      },
    },
    margin: margin(1),
    swap: { default: false, check: check.boolean, param: 'swap' },
  },
  (ctx) => {
    const cosine = ctx.opts.distanceFunction === 'cosine';
    setParam(ctx, 'cosine', cosine ? 1 : 0);
    return tripletPlan(ctx, cosine ? 2 : undefined);
  },
));
