// torch.nn's loss classes: `new torch.nn.CrossEntropyLoss({ ignoreIndex: -1 }).forward(logits, target)`.
// Each binds its options to the functional loss of the same semantics (src/core/classform.ts).
// torchvision's sigmoid_focal_loss is functional only (no torch.nn class): see CLASSLESS in src/core/catalog.ts.
import { TorchClassOf, torchClass, TorchInstanceOf } from '../core/classform';
import {
  binaryCrossEntropy, binaryCrossEntropyWithLogits, crossEntropy, gaussianNllLoss, klDiv, nllLoss, poissonNllLoss,
} from './classification';
import {
  cosineEmbeddingLoss, hingeEmbeddingLoss, marginRankingLoss, multilabelMarginLoss, multilabelSoftMarginLoss,
  multiMarginLoss, softMarginLoss, tripletMarginLoss, tripletMarginWithDistanceLoss,
} from './margin';
import { huberLoss, l1Loss, mseLoss, smoothL1Loss } from './regression';
import { ctcLoss } from './sequence';

// The instance types carry the reduction: `torch.nn.MSELoss<'none'>` forwards to a Float32Array.
export const MSELoss: TorchClassOf<typeof mseLoss> = torchClass(mseLoss, 'MSELoss');
export type MSELoss<R = never> = TorchInstanceOf<typeof mseLoss, R>;
export const L1Loss: TorchClassOf<typeof l1Loss> = torchClass(l1Loss, 'L1Loss');
export type L1Loss<R = never> = TorchInstanceOf<typeof l1Loss, R>;
export const SmoothL1Loss: TorchClassOf<typeof smoothL1Loss> = torchClass(smoothL1Loss, 'SmoothL1Loss');
export type SmoothL1Loss<R = never> = TorchInstanceOf<typeof smoothL1Loss, R>;
export const HuberLoss: TorchClassOf<typeof huberLoss> = torchClass(huberLoss, 'HuberLoss');
export type HuberLoss<R = never> = TorchInstanceOf<typeof huberLoss, R>;

export const CrossEntropyLoss: TorchClassOf<typeof crossEntropy> = torchClass(crossEntropy, 'CrossEntropyLoss');
export type CrossEntropyLoss<R = never> = TorchInstanceOf<typeof crossEntropy, R>;
export const NLLLoss: TorchClassOf<typeof nllLoss> = torchClass(nllLoss, 'NLLLoss');
export type NLLLoss<R = never> = TorchInstanceOf<typeof nllLoss, R>;
export const BCELoss: TorchClassOf<typeof binaryCrossEntropy> = torchClass(binaryCrossEntropy, 'BCELoss');
export type BCELoss<R = never> = TorchInstanceOf<typeof binaryCrossEntropy, R>;
export const BCEWithLogitsLoss: TorchClassOf<typeof binaryCrossEntropyWithLogits> =
  torchClass(binaryCrossEntropyWithLogits, 'BCEWithLogitsLoss');
export type BCEWithLogitsLoss<R = never> = TorchInstanceOf<typeof binaryCrossEntropyWithLogits, R>;
export const KLDivLoss: TorchClassOf<typeof klDiv> = torchClass(klDiv, 'KLDivLoss');
export type KLDivLoss<R = never> = TorchInstanceOf<typeof klDiv, R>;
export const PoissonNLLLoss: TorchClassOf<typeof poissonNllLoss> = torchClass(poissonNllLoss, 'PoissonNLLLoss');
export type PoissonNLLLoss<R = never> = TorchInstanceOf<typeof poissonNllLoss, R>;
export const GaussianNLLLoss: TorchClassOf<typeof gaussianNllLoss> = torchClass(gaussianNllLoss, 'GaussianNLLLoss');
export type GaussianNLLLoss<R = never> = TorchInstanceOf<typeof gaussianNllLoss, R>;

export const HingeEmbeddingLoss: TorchClassOf<typeof hingeEmbeddingLoss> = torchClass(hingeEmbeddingLoss, 'HingeEmbeddingLoss');
export type HingeEmbeddingLoss<R = never> = TorchInstanceOf<typeof hingeEmbeddingLoss, R>;
export const SoftMarginLoss: TorchClassOf<typeof softMarginLoss> = torchClass(softMarginLoss, 'SoftMarginLoss');
export type SoftMarginLoss<R = never> = TorchInstanceOf<typeof softMarginLoss, R>;
export const MultiLabelSoftMarginLoss: TorchClassOf<typeof multilabelSoftMarginLoss> =
  torchClass(multilabelSoftMarginLoss, 'MultiLabelSoftMarginLoss');
export type MultiLabelSoftMarginLoss<R = never> = TorchInstanceOf<typeof multilabelSoftMarginLoss, R>;
export const MultiMarginLoss: TorchClassOf<typeof multiMarginLoss> = torchClass(multiMarginLoss, 'MultiMarginLoss');
export type MultiMarginLoss<R = never> = TorchInstanceOf<typeof multiMarginLoss, R>;
export const MultiLabelMarginLoss: TorchClassOf<typeof multilabelMarginLoss> = torchClass(multilabelMarginLoss, 'MultiLabelMarginLoss');
export type MultiLabelMarginLoss<R = never> = TorchInstanceOf<typeof multilabelMarginLoss, R>;
export const MarginRankingLoss: TorchClassOf<typeof marginRankingLoss> = torchClass(marginRankingLoss, 'MarginRankingLoss');
export type MarginRankingLoss<R = never> = TorchInstanceOf<typeof marginRankingLoss, R>;
export const CosineEmbeddingLoss: TorchClassOf<typeof cosineEmbeddingLoss> = torchClass(cosineEmbeddingLoss, 'CosineEmbeddingLoss');
export type CosineEmbeddingLoss<R = never> = TorchInstanceOf<typeof cosineEmbeddingLoss, R>;
export const TripletMarginLoss: TorchClassOf<typeof tripletMarginLoss> = torchClass(tripletMarginLoss, 'TripletMarginLoss');
export type TripletMarginLoss<R = never> = TorchInstanceOf<typeof tripletMarginLoss, R>;
export const TripletMarginWithDistanceLoss: TorchClassOf<typeof tripletMarginWithDistanceLoss> =
  torchClass(tripletMarginWithDistanceLoss, 'TripletMarginWithDistanceLoss');
export type TripletMarginWithDistanceLoss<R = never> = TorchInstanceOf<typeof tripletMarginWithDistanceLoss, R>;

export const CTCLoss: TorchClassOf<typeof ctcLoss> = torchClass(ctcLoss, 'CTCLoss');
export type CTCLoss<R = never> = TorchInstanceOf<typeof ctcLoss, R>;
