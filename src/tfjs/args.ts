// The tensor arguments of every loss, in the facade's call order, for the tfjs adapter: how each
// tensor becomes the typed array the loss reads, and which ones get a gradient. A loss not listed
// takes its framework's pair (test/tfjs.test.ts checks every name and count against the facade).

/** 'f32' Float32Array; 'i32' Int32Array (integers checked); 'f32|i32' probabilities when the
 * tensor has the prediction's shape, else class indices (PyTorch's rule); 'i32|count' also a number. */
export type TensorKind = 'f32' | 'i32' | 'f32|i32' | 'i32|count';

export interface TensorArg {
  name: string;
  kind: TensorKind;
  /** Differentiable: the adapter returns its gradient. */
  grad?: boolean;
}

const INPUT: TensorArg = { name: 'input', kind: 'f32', grad: true };
const TARGET: TensorArg = { name: 'target', kind: 'f32' };
const INDEX_TARGET: TensorArg = { name: 'target', kind: 'i32' };
const Y_TRUE: TensorArg = { name: 'yTrue', kind: 'f32' };
const LABELS: TensorArg = { name: 'yTrue', kind: 'i32' };
const Y_PRED: TensorArg = { name: 'yPred', kind: 'f32', grad: true };

export const TORCH_PAIR: readonly TensorArg[] = [INPUT, TARGET];
export const KERAS_PAIR: readonly TensorArg[] = [Y_TRUE, Y_PRED];

const PAIR_OF_INPUTS: readonly TensorArg[] = [
  { name: 'input1', kind: 'f32', grad: true }, { name: 'input2', kind: 'f32', grad: true }, TARGET,
];
const TRIPLET: readonly TensorArg[] = [
  { name: 'anchor', kind: 'f32', grad: true }, { name: 'positive', kind: 'f32', grad: true },
  { name: 'negative', kind: 'f32', grad: true },
];

/** Losses whose arguments are not their framework's pair. */
export const TENSOR_ARGS: Readonly<Record<string, readonly TensorArg[]>> = {
  'torch.crossEntropy': [INPUT, { name: 'target', kind: 'f32|i32' }],
  'torch.nllLoss': [INPUT, INDEX_TARGET],
  'torch.multiMarginLoss': [INPUT, INDEX_TARGET],
  'torch.multilabelMarginLoss': [INPUT, INDEX_TARGET],
  'torch.gaussianNllLoss': [INPUT, TARGET, { name: 'var', kind: 'f32', grad: true }],
  'torch.marginRankingLoss': PAIR_OF_INPUTS,
  'torch.cosineEmbeddingLoss': PAIR_OF_INPUTS,
  'torch.tripletMarginLoss': TRIPLET,
  'torch.tripletMarginWithDistanceLoss': TRIPLET,
  'torch.ctcLoss': [
    { name: 'logProbs', kind: 'f32', grad: true }, { name: 'targets', kind: 'i32' },
    { name: 'inputLengths', kind: 'i32|count' }, { name: 'targetLengths', kind: 'i32|count' },
  ],
  'keras.sparseCategoricalCrossentropy': [LABELS, Y_PRED],
  'keras.categoricalGeneralizedCrossEntropy': [LABELS, Y_PRED],
  'keras.circle': [LABELS, Y_PRED],
  'keras.ctc': [LABELS, Y_PRED],
};

/** Losses whose default reduction is 'none' (torchvision's sigmoid_focal_loss). */
export const NONE_BY_DEFAULT: ReadonlySet<string> = new Set(['torch.sigmoidFocalLoss']);

export function tensorArgs(lossName: string): readonly TensorArg[] {
  return TENSOR_ARGS[lossName] ?? (lossName.startsWith('torch.') ? TORCH_PAIR : KERAS_PAIR);
}
