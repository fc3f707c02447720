// PyTorch 1.13 sequence losses (torch.nn.functional.ctc_loss).
import * as check from '../core/check';
import { defineLoss } from '../core/define';
import type { PlanContext } from '../core/define';
import { requiredShape, TORCH_REDUCTIONS } from '../core/frameworks';
import type { Loss, TorchOptions } from '../core/types';

export interface CtcLossOptions extends TorchOptions {
  /** Required: [T, N, C] (time first), or [T, C] for one unbatched sequence. */
  shape?: readonly number[];
  /** The blank class, an integer in [0, C); default 0. */
  blank?: number;
  /** Infinite losses (impossible alignments) and their gradients become 0; default false. */
  zeroInfinity?: boolean;
}

export type CtcLoss = Loss<
  [logProbs: Float32Array, targets: Int32Array, inputLengths: Int32Array | number, targetLengths: Int32Array | number],
  CtcLossOptions
>;

/** An Int32Array of n lengths: the one given, or `count` for every sequence. */
function lengths(ctx: PlanContext, slot: number, name: string, n: number): Int32Array {
  const count = ctx.counts[slot];
  if (count !== undefined) return (ctx.args[slot] = new Int32Array(n).fill(count));  // named in kernel errors
  const given = ctx.args[slot] as Int32Array;
  if (given.length !== n) throw check.rangeError(ctx.fn, name, `has length ${given.length}; expected N = ${n}`);
  return given;
}

/**
 * Connectionist temporal classification: per sequence b, -log of the summed probability of every
 * alignment of targets_b (blank-separated, repeats kept apart by a blank) to the first
 * inputLengths[b] steps of logProbs (log-softmax output, [T, N, C] time first, or [T, C]:
 * opts.shape is required). targets: Int32Array, padded [N, S] (each row's first targetLengths[b]
 * labels) or the rows concatenated (length = the sum of targetLengths; read so when both fit, which
 * then describe the same labels). inputLengths / targetLengths: Int32Array of N, or one number
 * for all. 'mean' divides each loss by its target length (at least 1), then averages; 'none' gives
 * [N] (one value unbatched). An impossible alignment gives Infinity (zeroInfinity: 0, and a zero
 * gradient). The gradient is PyTorch's CPU one: exp(logProbs) minus the state posteriors (that of
 * the logits under a log-softmax), 0 beyond each input length. A label out of [0, C) or equal to
 * the blank, an input length > T, a target length > S: RangeError naming the argument and index.
 * An input length of 0 gives 0 for an empty target and Infinity otherwise (PyTorch 2.x; 1.13
 * returns uninitialized memory). torch.nn.functional.ctc_loss.
 */
export const ctcLoss: CtcLoss = defineLoss({
  name: 'torch.ctcLoss',
  args: [
    { name: 'logProbs', kind: 'f32', grad: true },
    { name: 'targets', kind: 'i32' },
    { name: 'inputLengths', kind: 'i32|count' },
    { name: 'targetLengths', kind: 'i32|count' },
  ],
  options: {
    blank: {
      default: 0,
      param: 'blank',
      check(fn, arg, v) {
        const k = check.integer(fn, arg, v);
        if (k < 0 || k > 2147483647) throw check.rangeError(fn, arg, `must be an integer in [0, C), got ${k}`);
        return k;
      },
    },
    zeroInfinity: { default: false, check: check.boolean, param: 'zeroInfinity' },
  },
  reductions: TORCH_REDUCTIONS,
  defaultReduction: 'mean',
  dims: ['T', 'N', 'C'],
  plan(ctx) {
    const [logProbs, targets] = ctx.args;
    const shape = requiredShape(ctx, logProbs.length, 'logProbs', [3, 2], '[T, N, C] or [T, C] (unbatched)');
    const batched = shape.length === 3;
    const [T, N, C] = batched ? shape : [shape[0], 1, shape[1]];
    if ((ctx.opts.blank as number) >= C)
      throw check.rangeError(ctx.fn, 'opts.blank', `is ${ctx.opts.blank as number}; expected an integer in [0, C = ${C})`);
    return {
      inputs: [logProbs, targets, lengths(ctx, 2, 'inputLengths', N), lengths(ctx, 3, 'targetLengths', N)],
      shape: [T, N, C],
      outLength: N,
      gradLengths: [logProbs.length],
    };
  },
});
