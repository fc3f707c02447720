// Compiled (never run) by test/types.test.ts: the class forms type their results by the bound reduction.
import { keras, torch } from '../../src';

const x = new Float32Array(8);
const y = new Float32Array(8);
const labels = new Int32Array(2);
declare const r: 'mean' | 'none';

const ce = new torch.nn.CrossEntropyLoss({ weight: new Float32Array(4), ignoreIndex: -1, labelSmoothing: 0.1 });
const ceMean: number = ce.forward(x, labels);
const ceNone: Float32Array = new torch.nn.CrossEntropyLoss({ reduction: 'none' }).forward(x, labels, { shape: [2, 4] });
const ceUnion: number | Float32Array = new torch.nn.CrossEntropyLoss({ reduction: r }).forward(x, labels);
const ceFused: { loss: number; grad: Float32Array } = ce.withGrad(x, labels, { threads: 1 });
const asType: torch.nn.MSELoss<'none'> = new torch.nn.MSELoss({ reduction: 'none' });
const asDefault: torch.nn.MSELoss = new torch.nn.MSELoss();
const triplet: Promise<number> = new torch.nn.TripletMarginLoss({ margin: 0.5, swap: true }).async(x, y, x, { shape: [2, 4] });
const kl: number = new torch.nn.KLDivLoss({ reduction: 'batchmean', logTarget: true }).forward(x, y);
const ctc: Float32Array = new torch.nn.CTCLoss({ blank: 0, reduction: 'none' }).forward(x, labels, 2, 1, { shape: [2, 1, 4] });

const cc = new keras.losses.CategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1, name: 'cc' });
const ccMean: number = cc.call(y, x);
const ccWeighted: number = cc.call(y, x, new Float32Array(2), { shape: [2, 4] });
const ccScalarWeight: number = cc.call(y, x, 0.5);
const huberNone: Float32Array = new keras.losses.Huber({ delta: 2, reduction: 'none' }).call(y, x);
const kerasType: keras.losses.Huber<'sum'> = new keras.losses.Huber({ reduction: 'sum' });
const sparse: Promise<{ loss: number; grad: Float32Array }> = new keras.losses.SparseCategoricalCrossentropy({ fromLogits: true }).withGradAsync(labels, x);

// @ts-expect-error the reduction is bound: not per call
ce.forward(x, labels, { reduction: 'sum' });
// @ts-expect-error a reduced criterion gives a number
const ceWrong: Float32Array = ce.forward(x, labels);
// @ts-expect-error PyTorch spelling is not an option
new torch.nn.CrossEntropyLoss({ ignore_index: -1 });
// @ts-expect-error sampleWeight is call's third argument, not an option
new keras.losses.Huber({ sampleWeight: 1 });
// @ts-expect-error Keras reductions only
new keras.losses.Huber({ reduction: 'mean' });
// @ts-expect-error a 'none' instance is not a reduced one
const mixed: torch.nn.MSELoss<'mean'> = new torch.nn.MSELoss({ reduction: 'none' });

export {
  ceMean, ceNone, ceUnion, ceFused, asType, asDefault, triplet, kl, ctc, ccMean, ccWeighted, ccScalarWeight, huberNone,
  kerasType, sparse, ceWrong, mixed,
};
