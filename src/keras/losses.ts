// keras.losses' loss classes: `new keras.losses.CategoricalCrossentropy({ fromLogits: true }).call(yTrue, yPred, w)`.
// Each binds its options to the functional loss of the same name (src/core/classform.ts).
import { KerasClassOf, kerasClass, KerasInstanceOf } from '../core/classform';
import {
  binaryCrossentropy, binaryFocalCrossentropy, categoricalCrossentropy, klDivergence, poisson, sparseCategoricalCrossentropy,
} from './classification';
import { categoricalFocalCrossentropy, categoricalGeneralizedCrossEntropy } from './focal';
import { categoricalHinge, cosineSimilarity, hinge, squaredHinge } from './margin';
import { circle } from './metric';
import { dice, tversky } from './overlap';
import {
  huber, logCosh, meanAbsoluteError, meanAbsolutePercentageError, meanSquaredError, meanSquaredLogarithmicError,
} from './regression';
import { ctc } from './sequence';

// The instance types carry the reduction: `keras.losses.Huber<'none'>` calls to a Float32Array.
export const MeanSquaredError: KerasClassOf<typeof meanSquaredError> = kerasClass(meanSquaredError, 'MeanSquaredError');
export type MeanSquaredError<R = never> = KerasInstanceOf<typeof meanSquaredError, R>;
export const MeanAbsoluteError: KerasClassOf<typeof meanAbsoluteError> = kerasClass(meanAbsoluteError, 'MeanAbsoluteError');
export type MeanAbsoluteError<R = never> = KerasInstanceOf<typeof meanAbsoluteError, R>;
export const MeanAbsolutePercentageError: KerasClassOf<typeof meanAbsolutePercentageError> =
  kerasClass(meanAbsolutePercentageError, 'MeanAbsolutePercentageError');
export type MeanAbsolutePercentageError<R = never> = KerasInstanceOf<typeof meanAbsolutePercentageError, R>;
export const MeanSquaredLogarithmicError: KerasClassOf<typeof meanSquaredLogarithmicError> =
  kerasClass(meanSquaredLogarithmicError, 'MeanSquaredLogarithmicError');
export type MeanSquaredLogarithmicError<R = never> = KerasInstanceOf<typeof meanSquaredLogarithmicError, R>;
export const Huber: KerasClassOf<typeof huber> = kerasClass(huber, 'Huber');
export type Huber<R = never> = KerasInstanceOf<typeof huber, R>;
export const LogCosh: KerasClassOf<typeof logCosh> = kerasClass(logCosh, 'LogCosh');
export type LogCosh<R = never> = KerasInstanceOf<typeof logCosh, R>;

export const BinaryCrossentropy: KerasClassOf<typeof binaryCrossentropy> = kerasClass(binaryCrossentropy, 'BinaryCrossentropy');
export type BinaryCrossentropy<R = never> = KerasInstanceOf<typeof binaryCrossentropy, R>;
export const CategoricalCrossentropy: KerasClassOf<typeof categoricalCrossentropy> =
  kerasClass(categoricalCrossentropy, 'CategoricalCrossentropy');
export type CategoricalCrossentropy<R = never> = KerasInstanceOf<typeof categoricalCrossentropy, R>;
export const SparseCategoricalCrossentropy: KerasClassOf<typeof sparseCategoricalCrossentropy> =
  kerasClass(sparseCategoricalCrossentropy, 'SparseCategoricalCrossentropy');
export type SparseCategoricalCrossentropy<R = never> = KerasInstanceOf<typeof sparseCategoricalCrossentropy, R>;
export const KLDivergence: KerasClassOf<typeof klDivergence> = kerasClass(klDivergence, 'KLDivergence');
export type KLDivergence<R = never> = KerasInstanceOf<typeof klDivergence, R>;
export const Poisson: KerasClassOf<typeof poisson> = kerasClass(poisson, 'Poisson');
export type Poisson<R = never> = KerasInstanceOf<typeof poisson, R>;
export const BinaryFocalCrossentropy: KerasClassOf<typeof binaryFocalCrossentropy> =
  kerasClass(binaryFocalCrossentropy, 'BinaryFocalCrossentropy');
export type BinaryFocalCrossentropy<R = never> = KerasInstanceOf<typeof binaryFocalCrossentropy, R>;
export const CategoricalFocalCrossentropy: KerasClassOf<typeof categoricalFocalCrossentropy> =
  kerasClass(categoricalFocalCrossentropy, 'CategoricalFocalCrossentropy');
export type CategoricalFocalCrossentropy<R = never> = KerasInstanceOf<typeof categoricalFocalCrossentropy, R>;
export const CategoricalGeneralizedCrossEntropy: KerasClassOf<typeof categoricalGeneralizedCrossEntropy> =
  kerasClass(categoricalGeneralizedCrossEntropy, 'CategoricalGeneralizedCrossEntropy');
export type CategoricalGeneralizedCrossEntropy<R = never> = KerasInstanceOf<typeof categoricalGeneralizedCrossEntropy, R>;

export const Dice: KerasClassOf<typeof dice> = kerasClass(dice, 'Dice');
export type Dice<R = never> = KerasInstanceOf<typeof dice, R>;
export const Tversky: KerasClassOf<typeof tversky> = kerasClass(tversky, 'Tversky');
export type Tversky<R = never> = KerasInstanceOf<typeof tversky, R>;

export const Hinge: KerasClassOf<typeof hinge> = kerasClass(hinge, 'Hinge');
export type Hinge<R = never> = KerasInstanceOf<typeof hinge, R>;
export const SquaredHinge: KerasClassOf<typeof squaredHinge> = kerasClass(squaredHinge, 'SquaredHinge');
export type SquaredHinge<R = never> = KerasInstanceOf<typeof squaredHinge, R>;
export const CategoricalHinge: KerasClassOf<typeof categoricalHinge> = kerasClass(categoricalHinge, 'CategoricalHinge');
export type CategoricalHinge<R = never> = KerasInstanceOf<typeof categoricalHinge, R>;
export const CosineSimilarity: KerasClassOf<typeof cosineSimilarity> = kerasClass(cosineSimilarity, 'CosineSimilarity');
export type CosineSimilarity<R = never> = KerasInstanceOf<typeof cosineSimilarity, R>;
export const Circle: KerasClassOf<typeof circle> = kerasClass(circle, 'Circle');
export type Circle<R = never> = KerasInstanceOf<typeof circle, R>;

export const CTC: KerasClassOf<typeof ctc> = kerasClass(ctc, 'CTC');
export type CTC<R = never> = KerasInstanceOf<typeof ctc, R>;
