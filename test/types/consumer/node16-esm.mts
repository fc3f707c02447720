// Compiled (never run) by test/types-package.test.ts against the packed package.
import fastloss, { getNumThreads, keras, losses } from 'fastloss';
import type { LossInfo } from 'fastloss';
const { torch } = fastloss;

const x = new Float32Array(8);
const y = new Float32Array(8);
declare const r: 'mean' | 'none';

export const mean: number = torch.mseLoss(x, y);
export const none: Float32Array = torch.mseLoss(x, y, { reduction: 'none' });
export const either: number | Float32Array = torch.mseLoss(x, y, { reduction: r });
export const focal: Float32Array = torch.sigmoidFocalLoss(x, y);
export const focalSum: number = torch.sigmoidFocalLoss(x, y, { reduction: 'sum' });
export const kerasMean: number = keras.huber(y, x, { shape: [2, 4], sampleWeight: 0.5 });
export const grad: Float32Array = torch.huberLoss.backward(x, y);
export const fused: Promise<{ loss: Float32Array; grad: Float32Array }> = keras.logCosh.withGradAsync(y, x, { reduction: 'none' });
export const ce: number = new torch.nn.CrossEntropyLoss({ ignoreIndex: -1, labelSmoothing: 0.1 }).forward(x, new Int32Array(2));
export const ceNone: Float32Array = new torch.nn.CrossEntropyLoss({ reduction: 'none' }).forward(x, new Int32Array(2));
export const cc: number = new keras.losses.CategoricalCrossentropy({ fromLogits: true }).call(y, x, new Float32Array(2), { shape: [2, 4] });
export const listed: string[] = losses().map((l: LossInfo) => l.name);
export const threads: number = getNumThreads();
// @ts-expect-error a reduced loss is a number
export const wrong: Float32Array = torch.mseLoss(x, y);
// @ts-expect-error sigmoidFocalLoss reduces nothing by default
export const wrongFocal: number = torch.sigmoidFocalLoss(x, y);
// @ts-expect-error Keras reductions are not PyTorch's
keras.huber(y, x, { reduction: 'mean' });
// @ts-expect-error unknown option
new torch.nn.MSELoss({ ignoreIndex: 1 });
