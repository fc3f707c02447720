// Porting hints (issue 15): options spelled the PyTorch / Keras way get "did you mean", deprecated
// PyTorch options point to `reduction`, and option type errors show the value's type with strings quoted.
import { keras, torch } from '../src';

const x = Float32Array.from([0.2, 0.7, 0.1, 0.9, 0.4, 0.6]);
const y = Float32Array.from([0, 1, 0, 1, 1, 0]);
const labels = Int32Array.of(1, 0);
type Any = (...a: unknown[]) => unknown;
const call = (fn: unknown, ...args: unknown[]) => () => (fn as Any)(...args);

describe('unknown options that are another spelling of a known one', () => {
  test.each([
    [torch.crossEntropy, [x, labels], 'ignore_index', 'torch.crossEntropy: opts.ignore_index is not an option of torch.crossEntropy; did you mean `ignoreIndex`?'],
    [torch.crossEntropy, [x, labels], 'label_smoothing', 'torch.crossEntropy: opts.label_smoothing is not an option of torch.crossEntropy; did you mean `labelSmoothing`?'],
    [torch.nllLoss, [x, labels], 'ignoreindex', 'torch.nllLoss: opts.ignoreindex is not an option of torch.nllLoss; did you mean `ignoreIndex`?'],
    [keras.categoricalCrossentropy, [y, x], 'label_smoothing', 'keras.categoricalCrossentropy: opts.label_smoothing is not an option of keras.categoricalCrossentropy; did you mean `labelSmoothing`?'],
    [keras.binaryCrossentropy, [y, x], 'from_logits', 'keras.binaryCrossentropy: opts.from_logits is not an option of keras.binaryCrossentropy; did you mean `fromLogits`?'],
    [keras.meanSquaredError, [y, x], 'sample_weight', 'keras.meanSquaredError: opts.sample_weight is not an option of keras.meanSquaredError; did you mean `sampleWeight`?'],
    [torch.binaryCrossEntropyWithLogits, [x, y], 'pos_weight', 'torch.binaryCrossEntropyWithLogits: opts.pos_weight is not an option of torch.binaryCrossEntropyWithLogits; did you mean `posWeight`?'],
    [torch.klDiv, [x, y], 'log_target', 'torch.klDiv: opts.log_target is not an option of torch.klDiv; did you mean `logTarget`?'],
    [torch.tripletMarginLoss, [x, y, x], 'swap_', 'torch.tripletMarginLoss: opts.swap_ is not an option of torch.tripletMarginLoss; did you mean `swap`?'],
  ])('%#: %s', (fn, args, key, message) => {
    expect(call(fn, ...args, { [key]: 1 })).toThrow(new TypeError(message));
  });

  test("the other framework's name: ignore_index on Keras, ignore_class on PyTorch, dim for axis, beta / delta", () => {
    expect(call(keras.sparseCategoricalCrossentropy, Int32Array.of(1, 0), x, { ignore_index: 0 }))
      .toThrow(/opts\.ignore_index is not an option of keras\.sparseCategoricalCrossentropy; did you mean `ignoreClass`\? \(this framework's name for ignoreIndex\)/);
    expect(call(torch.crossEntropy, x, labels, { ignore_class: 0 })).toThrow(/did you mean `ignoreIndex`\?/);
    expect(call(keras.categoricalFocalCrossentropy, y, x, { dim: 1 })).toThrow(/opts\.dim is not an option of keras\.categoricalFocalCrossentropy; did you mean `axis`\?/);
    expect(call(torch.huberLoss, x, y, { beta: 1 })).toThrow(/did you mean `delta`\?/);
    expect(call(torch.smoothL1Loss, x, y, { delta: 1 })).toThrow(/did you mean `beta`\?/);
  });

  test('from_logits on a PyTorch loss points to the logits forms', () => {
    expect(call(torch.binaryCrossEntropy, x, y, { from_logits: true }))
      .toThrow(new TypeError('torch.binaryCrossEntropy: opts.from_logits is not an option of torch.binaryCrossEntropy; PyTorch losses name their logits form: binaryCrossEntropyWithLogits, and crossEntropy takes logits'));
  });

  test.each(['size_average', 'reduce', 'sizeAverage'])('%s: deprecated in PyTorch, use reduction', (key) => {
    expect(call(torch.mseLoss, x, y, { [key]: false }))
      .toThrow(new TypeError(`torch.mseLoss: opts.${key} is not an option of torch.mseLoss; size_average and reduce are deprecated in PyTorch: use \`reduction\` ('mean', 'sum' or 'none')`));
  });

  test('an option with no near spelling says only that it is unknown', () => {
    expect(call(torch.mseLoss, x, y, { frobnicate: 1 })).toThrow(new TypeError('torch.mseLoss: opts.frobnicate is not an option of torch.mseLoss'));
    expect(call(torch.mseLoss, x, y, { gradOutput: 1 })).toThrow(/\(it applies to backward and withGrad\)$/);
  });
});

describe('reductions named the other way', () => {
  test.each([
    [torch.mseLoss, [x, y], 'batchmean', "torch.mseLoss: opts.reduction must be one of 'mean', 'sum', 'none', got 'batchmean' ('batchmean' is only for torch.klDiv)"],
    [torch.mseLoss, [x, y], 'sum_over_batch_size', "torch.mseLoss: opts.reduction must be one of 'mean', 'sum', 'none', got 'sum_over_batch_size'; did you mean 'mean'? (PyTorch's name for the mean over elements)"],
    [torch.mseLoss, [x, y], 'elementwise_mean', "torch.mseLoss: opts.reduction must be one of 'mean', 'sum', 'none', got 'elementwise_mean'; did you mean 'mean'? (PyTorch's name for the mean over elements)"],
    [torch.mseLoss, [x, y], 'Mean', "torch.mseLoss: opts.reduction must be one of 'mean', 'sum', 'none', got 'Mean'; did you mean 'mean'?"],
    [keras.meanSquaredError, [y, x], 'mean', "keras.meanSquaredError: opts.reduction must be one of 'sum_over_batch_size', 'sum', 'none', got 'mean'; did you mean 'sum_over_batch_size'? (Keras' name for the mean over samples)"],
    [keras.meanSquaredError, [y, x], 'auto', "keras.meanSquaredError: opts.reduction must be one of 'sum_over_batch_size', 'sum', 'none', got 'auto'; did you mean 'sum_over_batch_size'? (Keras' name for the mean over samples)"],
    [keras.meanSquaredError, [y, x], null, "keras.meanSquaredError: opts.reduction must be one of 'sum_over_batch_size', 'sum', 'none', got null (Keras' reduction=None is 'none' here)"],
  ])('%#: %s', (fn, args, reduction, message) => {
    expect(call(fn, ...args, { reduction })).toThrow(new RangeError(message));
  });
});

describe("option type errors show the value's type, strings quoted", () => {
  test.each([
    [torch.huberLoss, [x, y], { delta: '1' }, "torch.huberLoss: opts.delta must be a finite number, got a string '1'"],
    [torch.crossEntropy, [x, labels], { labelSmoothing: '0.1' }, "torch.crossEntropy: opts.labelSmoothing must be a number in [0, 1], got a string '0.1'"],
    [torch.crossEntropy, [x, labels], { ignoreIndex: '-1' }, "torch.crossEntropy: opts.ignoreIndex must be an integer, got a string '-1'"],
    [keras.binaryCrossentropy, [y, x], { fromLogits: 'true' }, "keras.binaryCrossentropy: opts.fromLogits must be a boolean, got a string 'true'"],
    [torch.binaryCrossEntropy, [x, y], { weight: [1, 2] }, 'torch.binaryCrossEntropy: opts.weight must be a Float32Array, got a plain Array'],
    [torch.tripletMarginLoss, [x, y, x], { swap: 1 }, 'torch.tripletMarginLoss: opts.swap must be a boolean, got a number 1'],
    [torch.huberLoss, [x, y], { delta: "it's" }, "torch.huberLoss: opts.delta must be a finite number, got a string 'it\\'s'"],
  ])('%#', (fn, args, opts, message) => {
    expect(call(fn, ...args, opts)).toThrow(new TypeError(message));
  });
});
