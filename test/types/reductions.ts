// Compiled (never run) by test/types.test.ts: results follow each loss's own default reduction,
// `reduction` narrows them, and a reduction typed as a union gives the union.
import { keras, torch } from '../../src';
import type { Loss } from '../../src';

const x = new Float32Array(8);
const y = new Float32Array(8);
const labels = new Int32Array(2);
declare const torchR: 'mean' | 'none';
declare const kerasR: 'sum' | 'none';
declare const anyTorch: 'mean' | 'sum' | 'none';

// PyTorch losses, default 'mean'
const ce: number = torch.crossEntropy(x, labels);
const ceNone: Float32Array = torch.crossEntropy(x, labels, { reduction: 'none', ignoreIndex: 1 });
const ceUnion: number | Float32Array = torch.crossEntropy(x, labels, { reduction: torchR });
const kl: number = torch.klDiv(x, y, { reduction: 'batchmean' });
const triplet: Float32Array = torch.tripletMarginLoss(x, y, x, { reduction: 'none', shape: [2, 4] });
const tripletGrad: { anchor: Float32Array; positive: Float32Array; negative: Float32Array } = torch.tripletMarginLoss.backward(x, y, x);
const ctc: Promise<Float32Array> = torch.ctcLoss.async(x, labels, 2, 1, { shape: [2, 1, 4], reduction: 'none' });
// torchvision's sigmoid_focal_loss, default 'none'
const focalUnion: number | Float32Array = torch.sigmoidFocalLoss(x, y, { reduction: anyTorch });
const focalFused: { loss: number; grad: Float32Array } = torch.sigmoidFocalLoss.withGrad(x, y, { reduction: 'mean' });
// Keras losses, default 'sum_over_batch_size'
const cce: number = keras.categoricalCrossentropy(y, x, { fromLogits: true, shape: [2, 4] });
const cceSum: number = keras.categoricalCrossentropy(y, x, { reduction: 'sum' });
const cceUnion: number | Float32Array = keras.categoricalCrossentropy(y, x, { reduction: kerasR });
const scce: Promise<{ loss: Float32Array; grad: Float32Array }> = keras.sparseCategoricalCrossentropy.withGradAsync(labels, x, { reduction: 'none' });
const dice: number = keras.dice(y, x, { axis: [1] , shape: [2, 4] });

// keyof typeof torch / keras: losses only, besides the class-form namespaces nn / losses.
type TorchLosses = Exclude<keyof typeof torch, 'nn'>;
type KerasLosses = Exclude<keyof typeof keras, 'losses'>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type IsLoss<T> = T extends Loss<any, any, any, any> ? true : false;
const everyTorchIsLoss: { [K in TorchLosses]: IsLoss<(typeof torch)[K]> } extends Record<TorchLosses, true> ? true : false = true;
const everyKerasIsLoss: { [K in KerasLosses]: IsLoss<(typeof keras)[K]> } extends Record<KerasLosses, true> ? true : false = true;

// @ts-expect-error a union reduction is not always a number
const ceUnionWrong: number = torch.crossEntropy(x, labels, { reduction: torchR });
// @ts-expect-error 'batchmean' is klDiv's only
torch.mseLoss(x, y, { reduction: 'batchmean' });
// @ts-expect-error a 'none' Keras loss is an array
const kerasNoneWrong: number = keras.huber(y, x, { reduction: 'none' });
// @ts-expect-error the default of a Keras loss is a number
const kerasDefaultWrong: Float32Array = keras.poisson(y, x);
// @ts-expect-error a helper is not on the namespace
torch.torchPair('x');

export {
  ce, ceNone, ceUnion, kl, triplet, tripletGrad, ctc, focalUnion, focalFused, cce, cceSum, cceUnion, scce, dice,
  everyTorchIsLoss, everyKerasIsLoss, ceUnionWrong, kerasNoneWrong, kerasDefaultWrong,
};
