// Compiled (never run) by test/types.test.ts: the overloads give the types the calls return.
import { keras, torch } from '../../src';

const x = new Float32Array(4);
const y = new Float32Array(4);

const mean: number = torch.mseLoss(x, y);
const none: Float32Array = torch.mseLoss(x, y, { reduction: 'none' });
const kerasNone: Float32Array = keras.huber(y, x, { reduction: 'none' });
const grad: Float32Array = torch.huberLoss.backward(x, y);
const fused: { loss: number; grad: Float32Array } = torch.huberLoss.withGrad(x, y);
// torchvision's sigmoid_focal_loss reduces nothing by default
const focal: Float32Array = torch.sigmoidFocalLoss(x, y);
const focalMean: number = torch.sigmoidFocalLoss(x, y, { reduction: 'mean' });
const focalFused: { loss: Float32Array; grad: Float32Array } = torch.sigmoidFocalLoss.withGrad(x, y);
const pending: Promise<number> = torch.sigmoidFocalLoss.async(x, y, { reduction: 'sum' });

// @ts-expect-error a reduced loss is a number, not an array
const wrong: Float32Array = torch.mseLoss(x, y);
// @ts-expect-error sigmoidFocalLoss's default result is an array
const wrongFocal: number = torch.sigmoidFocalLoss(x, y);
// @ts-expect-error unknown option
torch.mseLoss(x, y, { delta: 1 });
// @ts-expect-error Keras reductions are not PyTorch's
keras.huber(y, x, { reduction: 'mean' });

export { mean, none, kerasNone, grad, fused, focal, focalMean, focalFused, pending, wrong, wrongFocal };
