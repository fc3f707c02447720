import { keras, torch } from '../src';
import { expectFiniteDifferences } from './helpers/gradcheck';
import { describeParity } from './helpers/parity';

describeParity('regression');

describe('regression gradients match central finite differences', () => {
  // Points kept away from the kinks (|x - y| near 0, beta, delta) where differences straddle branches.
  const input = Float32Array.from([0.3, -1.7, 2.4, 0.9, -0.45, 1.35]);
  const target = Float32Array.from([-0.8, 0.6, 0.2, 3.1, 0.55, 1.05]);
  const cases: [string, unknown, Record<string, unknown>][] = [
    ['torch.mseLoss', torch.mseLoss, {}],
    ['torch.l1Loss', torch.l1Loss, { reduction: 'sum' }],
    ['torch.smoothL1Loss', torch.smoothL1Loss, { beta: 1.5 }],
    ['torch.huberLoss', torch.huberLoss, { delta: 0.7, reduction: 'sum' }],
    ['keras.meanSquaredError', keras.meanSquaredError, { shape: [2, 3] }],
    ['keras.meanAbsoluteError', keras.meanAbsoluteError, { shape: [3, 2], sampleWeight: Float32Array.from([1, 0.5, 2]) }],
    ['keras.meanAbsolutePercentageError', keras.meanAbsolutePercentageError, { shape: [2, 3], reduction: 'sum' }],
    ['keras.meanSquaredLogarithmicError', keras.meanSquaredLogarithmicError, {}],
    ['keras.huber', keras.huber, { delta: 0.8, shape: [2, 3] }],
    ['keras.logCosh', keras.logCosh, { shape: [6, 1] }],
  ];
  test.each(cases)('%s', (name, loss, opts) => {
    const isKeras = name.startsWith('keras.');
    // keras: (yTrue, yPred), differentiate yPred; torch: (input, target), differentiate input.
    const arrays = isKeras ? [target.slice(), input.slice().map((v) => Math.abs(v) + 0.1)] : [input.slice(), target.slice()];
    if (name === 'keras.meanSquaredLogarithmicError') arrays[0] = arrays[0].map((v) => Math.abs(v));
    expectFiniteDifferences(loss as never, arrays, opts, isKeras ? 1 : 0);
  });
});
