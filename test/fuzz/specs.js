// How to build arguments and options for every loss of the torch and keras namespaces, for the
// property suite (test/fuzz/run.js). Each spec: build(shape, data) -> arrays, options: name ->
// a list of value makers (valid and invalid ones), reductions.
'use strict';

const TORCH_RED = ['mean', 'sum', 'none'];
const KERAS_RED = ['sum_over_batch_size', 'sum', 'none'];

const prod = (s) => s.reduce((a, b) => a * b, 1);
const last = (s) => (s.length ? s[s.length - 1] : 1);
const rowsOf = (s) => (s.length > 1 ? prod(s.slice(0, -1)) : 1);

// Values shared by every option: invalid ones (wrong type, not finite, overflowing float32).
const INVALID = [() => 'x', () => NaN, () => Infinity, () => -1e300, () => 1e300, () => 1e-300, () => null, () => ({}), () => [1], () => true, () => 2 ** 31, () => -5];
const num = (...vs) => vs.map((v) => () => v);
const finite = [...num(-2, -0.5, 0, 0.25, 1, 3)];
const nonNeg = [...num(0, 0.1, 0.5, 1, 2.5)];
const positive = [...num(1e-3, 0.3, 1, 2, 5)];
const bool = [...num(true, false)];
const unit = [...num(0, 0.1, 0.5, 1), () => 1.5, () => -0.1];
const int32 = [...num(-100, -1, 0, 1, 3), () => 1.5];
// Arrays sized from the case: { arr: 'n' | 'C' | 'rows' | 'last' | 'samples', wrong?: true }.
const arr = (size) => [() => ({ arr: size }), () => ({ arr: size }), () => ({ arr: size, wrong: true }), () => new Float64Array(2)];

function f32(data, n, role) { return data.f32(n, role); }

function torchPair(extraOptions = {}, roles = {}, reductions = TORCH_RED) {
  return {
    shapes: 'any',
    reductions,
    options: extraOptions,
    build(shape, data) {
      const n = prod(shape);
      return { arrays: [f32(data, n, roles.input || 'x'), f32(data, n, roles.target || 'y')], n, C: last(shape), rows: rowsOf(shape) };
    },
  };
}

function kerasPair(extraOptions = {}, roles = {}) {
  return {
    shapes: 'any',
    reductions: KERAS_RED,
    options: { sampleWeight: [...num(0.5, 2), () => ({ arr: 'samples' }), () => ({ arr: 'samples' }), () => ({ arr: 'samples', wrong: true }), () => NaN], ...extraOptions },
    build(shape, data) {
      const n = prod(shape);
      return { arrays: [f32(data, n, roles.yTrue || 'y'), f32(data, n, roles.yPred || 'x')], n, C: last(shape), rows: rowsOf(shape), samples: shape.length > 1 ? rowsOf(shape) : 1 };
    },
  };
}

// keras.dice / keras.tversky: axis null, one axis or consecutive axes (some out of range, some not
// consecutive), before sampleWeight so its size can follow the axes.
function overlapSpec(extraOptions = {}) {
  const axes = [...num(null, -1, 0, 1, [0], [-1], [1, 2], [0, 1], [0, 2], [2, 1], [], [1, 1], [7]), () => 0.5, () => [0.5]];
  const base = kerasPair({}, { yTrue: 'prob', yPred: 'prob' });
  return {
    ...base,
    options: { axis: axes, ...base.options, ...extraOptions },
    build: (shape, data) => ({ ...base.build(shape, data), samples: null }),
    samplesFor(shape, opts) {
      const ax = opts.axis === undefined || opts.axis === null ? shape.map((_, d) => d) : [].concat(opts.axis);
      const set = ax.map((a) => (a < 0 ? a + shape.length : a));
      return shape.reduce((p, d, i) => (set.includes(i) ? p : p * d), 1);
    },
  };
}

const specs = {
  'torch.mseLoss': torchPair(),
  'torch.l1Loss': torchPair(),
  'torch.smoothL1Loss': torchPair({ beta: nonNeg }),
  'torch.huberLoss': torchPair({ delta: positive }),
  'torch.binaryCrossEntropy': torchPair({ weight: arr('n') }, { input: 'prob', target: 'prob' }),
  'torch.binaryCrossEntropyWithLogits': torchPair({ weight: arr('n'), posWeight: arr('C') }, { target: 'prob' }),
  'torch.crossEntropy': {
    shapes: 'class1',
    reductions: TORCH_RED,
    options: { weight: arr('C'), ignoreIndex: int32, labelSmoothing: unit },
    build(shape, data) {
      const n = prod(shape);
      const C = shape.length > 1 ? shape[1] : shape[0];
      const positions = C > 0 ? n / C : 0;
      const probs = data.coin(0.3);
      return { arrays: [f32(data, n, 'x'), probs ? f32(data, n, 'prob') : data.idx(positions, C)], n, C, rows: positions };
    },
  },
  'torch.nllLoss': {
    shapes: 'class1',
    reductions: TORCH_RED,
    options: { weight: arr('C'), ignoreIndex: int32 },
    build(shape, data) {
      const n = prod(shape);
      const C = shape.length > 1 ? shape[1] : shape[0];
      const positions = C > 0 ? n / C : 0;
      return { arrays: [f32(data, n, 'x'), data.idx(positions, C)], n, C, rows: positions };
    },
  },
  'torch.klDiv': torchPair({ logTarget: bool }, { target: 'prob' }, [...TORCH_RED, 'batchmean']),
  'torch.poissonNllLoss': torchPair({ logInput: bool, full: bool, eps: positive }, { target: 'count' }),
  'torch.gaussianNllLoss': {
    shapes: 'any',
    reductions: TORCH_RED,
    options: { full: bool, eps: positive },
    build(shape, data) {
      const n = prod(shape);
      const perRow = data.coin(0.3);
      const rows = last(shape) > 0 ? n / last(shape) : 0;
      return { arrays: [f32(data, n, 'x'), f32(data, n, 'y'), f32(data, perRow ? rows : n, 'var')], n, C: last(shape), rows };
    },
  },
  'torch.sigmoidFocalLoss': torchPair({ alpha: finite, gamma: nonNeg }, { target: 'prob' }, ['none', 'mean', 'sum']),
  'torch.hingeEmbeddingLoss': torchPair({ margin: finite }, { target: 'pm1' }),
  'torch.softMarginLoss': torchPair({}, { target: 'pm1' }),
  'torch.multilabelSoftMarginLoss': torchPair({ weight: arr('C') }, { target: 'label01' }),
  'torch.multiMarginLoss': {
    shapes: 'rows2',
    reductions: TORCH_RED,
    options: { p: [...num(1, 2), () => 3], margin: finite, weight: arr('C') },
    build(shape, data) {
      const n = prod(shape);
      const C = last(shape);
      const rows = shape.length === 2 ? shape[0] : 1;
      return { arrays: [f32(data, n, 'x'), data.idx(rows, C)], n, C, rows };
    },
  },
  'torch.multilabelMarginLoss': {
    shapes: 'rows2',
    reductions: TORCH_RED,
    options: {},
    build(shape, data) {
      const n = prod(shape);
      const C = last(shape);
      return { arrays: [f32(data, n, 'x'), data.multilabel(n, C)], n, C, rows: rowsOf(shape) };
    },
  },
  'torch.marginRankingLoss': {
    shapes: 'any',
    reductions: TORCH_RED,
    options: { margin: finite },
    build(shape, data) {
      const n = prod(shape);
      return { arrays: [f32(data, n, 'x'), f32(data, n, 'y'), f32(data, n, 'pm1')], n, C: last(shape), rows: rowsOf(shape) };
    },
  },
  'torch.cosineEmbeddingLoss': {
    shapes: 'rows2',
    reductions: TORCH_RED,
    options: { margin: finite },
    build(shape, data) {
      const n = prod(shape);
      const rows = shape.length === 2 ? shape[0] : 1;
      return { arrays: [f32(data, n, 'x'), f32(data, n, 'y'), f32(data, rows, 'pm1')], n, C: last(shape), rows };
    },
  },
  'torch.tripletMarginLoss': {
    shapes: 'any',
    reductions: TORCH_RED,
    options: { margin: finite, p: [...positive, () => 1.5], eps: [...finite, () => 1e-6], swap: bool },
    build(shape, data) {
      const n = prod(shape);
      return { arrays: [f32(data, n, 'x'), f32(data, n, 'y'), f32(data, n, 'x')], n, C: last(shape), rows: rowsOf(shape) };
    },
  },
  'keras.meanSquaredError': kerasPair(),
  'keras.meanAbsoluteError': kerasPair(),
  'keras.meanAbsolutePercentageError': kerasPair(),
  'keras.meanSquaredLogarithmicError': kerasPair(),
  'keras.huber': kerasPair({ delta: nonNeg }),
  'keras.logCosh': kerasPair(),
  'keras.binaryCrossentropy': kerasPair({ fromLogits: bool, labelSmoothing: unit }, { yTrue: 'label01', yPred: 'prob' }),
  'keras.categoricalCrossentropy': kerasPair({ fromLogits: bool, labelSmoothing: unit }, { yTrue: 'label01', yPred: 'prob' }),
  'keras.sparseCategoricalCrossentropy': {
    shapes: 'classLast',
    reductions: KERAS_RED,
    options: {
      sampleWeight: [...num(0.5), () => ({ arr: 'samples' }), () => ({ arr: 'samples', wrong: true })],
      fromLogits: bool,
      ignoreClass: [...num(null, 0, 1, -1), () => 0.5],
    },
    build(shape, data) {
      const n = prod(shape);
      const C = last(shape);
      const positions = C > 0 ? n / C : 0;
      return { arrays: [data.idx(positions, C), f32(data, n, data.coin(0.5) ? 'prob' : 'x')], n, C, rows: positions, samples: positions };
    },
  },
  'keras.klDivergence': kerasPair({}, { yTrue: 'prob', yPred: 'prob' }),
  'keras.poisson': kerasPair({}, { yTrue: 'count', yPred: 'prob' }),
  'keras.binaryFocalCrossentropy': kerasPair({ gamma: nonNeg, alpha: finite, applyClassBalancing: bool, fromLogits: bool, labelSmoothing: unit },
    { yTrue: 'label01', yPred: 'prob' }),
  'keras.hinge': kerasPair({}, { yTrue: 'pm1' }),
  'keras.squaredHinge': kerasPair({}, { yTrue: 'label01' }),
  'keras.categoricalHinge': kerasPair({}, { yTrue: 'label01' }),
  'keras.cosineSimilarity': (() => {
    const s = kerasPair({ axis: [...num(-1, 0, 1, -2, 5), () => 0.5] });
    const build = s.build;
    s.build = (shape, data) => ({ ...build(shape, data), samples: null });  // depends on axis: sampleWeight sized by the loss
    return s;
  })(),
  'torch.ctcLoss': {
    shapes: 'sequence',
    reductions: TORCH_RED,
    options: { blank: [...num(0, 0, 1), () => 2.5], zeroInfinity: bool },
    build(shape, data) {
      // [T, N, C] or unbatched [T, C]; labels 1..C-1 (blank 0 by default), padded [N, S] or concatenated
      const [T, N, C] = shape.length === 3 ? shape : [shape[0], 1, shape[1]];
      const S = (T % 4) + 1;
      const inputLengths = data.idx(N, T + 1);
      const targetLengths = data.idx(N, S + 1);
      const labelsOf = (n) => data.idx(n, Math.max(1, C - 1)).map((v) => v + 1);
      const total = targetLengths.reduce((a, b) => a + Math.min(Math.max(b, 0), S), 0);  // bad lengths: clamped
      const targets = data.coin(0.5) ? labelsOf(N * S) : labelsOf(total);
      return { arrays: [f32(data, prod(shape), 'x'), targets, inputLengths, targetLengths], n: prod(shape), C, rows: N };
    },
  },
  'keras.ctc': {
    shapes: 'sequence3',
    reductions: KERAS_RED,
    options: { sampleWeight: [...num(0.5), () => ({ arr: 'samples' }), () => ({ arr: 'samples', wrong: true })] },
    build(shape, data) {
      // [N, T, C] logits; yTrue [N, S]: labels in [1, C) then 0 padding
      const [N, T, C] = shape;
      const S = (T % 4) + 1;
      const yTrue = data.idx(N * S, Math.max(1, C - 1)).map((v) => v + 1);
      const lengths = data.idx(N, S + 1);
      for (let b = 0; b < N; b++) yTrue.fill(0, b * S + Math.min(S, Math.max(0, lengths[b])), (b + 1) * S);
      return { arrays: [yTrue, f32(data, prod(shape), 'x')], n: prod(shape), C, rows: N, samples: N };
    },
  },
  'keras.categoricalFocalCrossentropy': (() => {
    const s = kerasPair({ axis: [...num(-1, 0, 1, -2, 5), () => 0.5], alpha: finite, gamma: nonNeg, fromLogits: bool, labelSmoothing: unit },
      { yTrue: 'prob', yPred: 'prob' });
    const build = s.build;
    s.build = (shape, data) => ({ ...build(shape, data), samples: null });  // depends on axis: sampleWeight sized by the loss
    return s;
  })(),
  'torch.tripletMarginWithDistanceLoss': {
    shapes: 'any',
    reductions: TORCH_RED,
    options: { distanceFunction: [...num('pairwise', 'cosine', 'cosine'), () => 'euclidean'], margin: finite, swap: bool },
    build(shape, data) {
      const n = prod(shape);
      return { arrays: [f32(data, n, 'x'), f32(data, n, 'y'), f32(data, n, 'x')], n, C: last(shape), rows: rowsOf(shape) };
    },
  },
  'keras.categoricalGeneralizedCrossEntropy': {
    shapes: 'classLast',
    reductions: KERAS_RED,
    options: {
      sampleWeight: [...num(0.5), () => ({ arr: 'samples' }), () => ({ arr: 'samples', wrong: true })],
      q: [...num(0.5, 0.1, 0.9, 0, 1, 1.5)],
    },
    build(shape, data) {
      const n = prod(shape);
      const C = last(shape);
      const positions = C > 0 ? n / C : 0;
      return { arrays: [data.idx(positions, C), f32(data, n, 'prob')], n, C, rows: positions, samples: positions };
    },
  },
  'keras.circle': {
    shapes: 'embeddings',
    reductions: KERAS_RED,
    options: {
      sampleWeight: [...num(0.5), () => ({ arr: 'samples' }), () => ({ arr: 'samples', wrong: true })],
      gamma: [...num(80, 1, 0, -3)], margin: finite, removeDiagonal: bool,
    },
    build(shape, data) {
      const n = prod(shape);
      const rows = shape.length === 2 ? shape[0] : 1;
      return { arrays: [data.idx(rows, 3), f32(data, n, 'x')], n, C: last(shape), rows, samples: rows };
    },
  },
  'keras.dice': overlapSpec(),
  'keras.tversky': overlapSpec({ alpha: finite, beta: finite }),
};

module.exports = { specs, INVALID, prod, last, rowsOf, TORCH_RED, KERAS_RED };
