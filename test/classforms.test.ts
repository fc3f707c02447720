// Class forms (torch.nn.*, keras.losses.*): thin objects over the functional losses. For every loss
// with a class, on its fixture cases, the class with the case's options bound gives bitwise the
// functional result on every path (forward/call, backward, withGrad, async, withGradAsync).
import * as fastloss from '../src';
import { fixtureFiles, readCases } from './helpers/fixtures';
import { callArgs, Case } from './helpers/parity';

/** dir(torch.nn) entries containing 'Loss' in PyTorch 1.13. */
const TORCH_NN_LOSSES = ['AdaptiveLogSoftmaxWithLoss', 'BCELoss', 'BCEWithLogitsLoss', 'CTCLoss', 'CosineEmbeddingLoss',
  'CrossEntropyLoss', 'GaussianNLLLoss', 'HingeEmbeddingLoss', 'HuberLoss', 'KLDivLoss', 'L1Loss', 'MSELoss',
  'MarginRankingLoss', 'MultiLabelMarginLoss', 'MultiLabelSoftMarginLoss', 'MultiMarginLoss', 'NLLLoss', 'NLLLoss2d',
  'PoissonNLLLoss', 'SmoothL1Loss', 'SoftMarginLoss', 'TripletMarginLoss', 'TripletMarginWithDistanceLoss'];
/** keras.losses classes of Keras 3 (LossFunctionWrapper subclasses, `Loss` itself left out). */
const KERAS_LOSS_CLASSES = ['BinaryCrossentropy', 'BinaryFocalCrossentropy', 'CTC', 'CategoricalCrossentropy',
  'CategoricalFocalCrossentropy', 'CategoricalGeneralizedCrossEntropy', 'CategoricalHinge', 'Circle', 'CosineSimilarity',
  'Dice', 'Hinge', 'Huber', 'KLDivergence', 'LogCosh', 'MeanAbsoluteError', 'MeanAbsolutePercentageError',
  'MeanSquaredError', 'MeanSquaredLogarithmicError', 'Poisson', 'SparseCategoricalCrossentropy', 'SquaredHinge', 'Tversky'];

type Fn = (...a: unknown[]) => unknown;
type AnyLoss = Fn & { backward: Fn; withGrad: Fn; async: Fn; withGradAsync: Fn };
type AnyInstance = Record<string, Fn> & { options: Record<string, unknown>; name?: string };
type AnyClass = new (options?: unknown) => AnyInstance;

const nn = fastloss.torch.nn as unknown as Record<string, AnyClass>;
const kerasLosses = fastloss.keras.losses as unknown as Record<string, AnyClass>;
const infos = fastloss.losses();

/** Bitwise equality of results: numbers by Object.is, arrays by bytes, objects key by key. */
function sameBits(a: unknown, b: unknown, what: string): void {
  if (typeof a === 'number' || typeof b === 'number') {
    if (!Object.is(a, b)) throw new Error(`${what}: ${String(a)} !== ${String(b)}`);
  } else if (a instanceof Float32Array && b instanceof Float32Array) {
    expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))).toBe(true);
  } else {
    const ao = a as Record<string, unknown>;
    const bo = b as Record<string, unknown>;
    expect(Object.keys(ao).sort()).toEqual(Object.keys(bo).sort());
    for (const k of Object.keys(ao)) sameBits(ao[k], bo[k], `${what}.${k}`);
  }
}

/** A few cases per loss, every reduction among them. */
function casesOf(name: string): Case[] {
  const file = fixtureFiles().find((f) => f.loss === name);
  if (!file) throw new Error(`no fixture file for ${name}`);
  const all = readCases<Case>(file);
  const picked: Case[] = [];
  const seen = new Set<unknown>();
  for (const c of all) {
    const key = `${String(c.opts?.reduction)}|${JSON.stringify(Object.keys(c.opts ?? {}).sort())}`;
    if (!seen.has(key) && picked.length < 8) { seen.add(key); picked.push(c); }
  }
  return picked;
}

const withClass = infos.filter((i) => i.className !== null);

describe('class forms give bitwise the functional result', () => {
  test.each(withClass.map((i) => [i.name, i.className!] as const))('%s as %s', async (name, className) => {
    const [ns, short] = name.split('.');
    const fn = (fastloss as unknown as Record<string, Record<string, AnyLoss>>)[ns][short];
    const C = (ns === 'torch' ? nn : kerasLosses)[className];
    expect(typeof C).toBe('function');
    expect(C.name).toBe(className);
    for (const c of casesOf(name)) {
      const { arrays, opts } = callArgs(c);
      const { shape, sampleWeight, ...bound } = opts;
      const perCall = shape === undefined ? {} : { shape };
      const obj = new C(bound);
      expect(obj.options).toEqual(bound);
      expect(Object.isFrozen(obj.options)).toBe(true);
      // Keras: call(yTrue, yPred, sampleWeight, opts); torch: forward(...args, opts).
      const clsArgs = ns === 'keras' ? [...arrays, sampleWeight, perCall] : [...arrays, { ...perCall, ...(sampleWeight === undefined ? {} : { sampleWeight }) }];
      const forward = ns === 'keras' ? obj.call : obj.forward;
      const what = `${className} on ${c.id}`;
      sameBits(forward.apply(obj, clsArgs), fn(...arrays, opts), `${what} forward`);
      sameBits(obj.backward(...clsArgs), fn.backward(...arrays, opts), `${what} backward`);
      sameBits(obj.withGrad(...clsArgs), fn.withGrad(...arrays, opts), `${what} withGrad`);
      sameBits(await obj.async(...clsArgs), await fn.async(...arrays, opts), `${what} async`);
      sameBits(await obj.withGradAsync(...clsArgs), await fn.withGradAsync(...arrays, opts), `${what} withGradAsync`);
    }
  });
});

describe('class forms: names and bound options', () => {
  test('one class per loss, named as in torch.nn / keras.losses; the rest documented', () => {
    for (const info of infos) {
      if (info.className === null) {
        expect(info.classNote).toMatch(/\w{10}/);
        continue;
      }
      const list = info.framework === 'torch' ? TORCH_NN_LOSSES : KERAS_LOSS_CLASSES;
      if (!list.includes(info.className)) throw new Error(`${info.name}: class ${info.className} is not in ${info.framework}'s class list`);
    }
    expect(Object.keys(nn).sort()).toEqual(infos.filter((i) => i.framework === 'torch' && i.className).map((i) => i.className).sort());
    expect(Object.keys(kerasLosses).sort()).toEqual(KERAS_LOSS_CLASSES.slice().sort());
    expect(infos.filter((i) => i.className === null).map((i) => i.name)).toEqual(['torch.sigmoidFocalLoss']);
  });

  const x = new Float32Array([0.5, 2, -1, 3, 1, 2, 3, 4]);
  const t = new Int32Array([1, 3]);

  test('the constructor binds the options: CrossEntropyLoss({ ignoreIndex, labelSmoothing, reduction })', () => {
    const ce = new fastloss.torch.nn.CrossEntropyLoss({ ignoreIndex: 3, labelSmoothing: 0.2, reduction: 'sum' });
    const want = fastloss.torch.crossEntropy(x, t, { ignoreIndex: 3, labelSmoothing: 0.2, reduction: 'sum' });
    expect(Object.is(ce.forward(x, t), want)).toBe(true);
    expect(ce.forward(x, t)).not.toBe(fastloss.torch.crossEntropy(x, t));
    const none = new fastloss.torch.nn.CrossEntropyLoss({ reduction: 'none' }).forward(x, t);
    expect(Array.from(none)).toEqual(Array.from(fastloss.torch.crossEntropy(x, t, { reduction: 'none' })));
    // per-call options still apply (shape, threads, out)
    const out = new Float32Array(2);
    expect(new fastloss.torch.nn.CrossEntropyLoss({ reduction: 'none' }).forward(x, t, { out, threads: 1, shape: [2, 4] })).toBe(out);
  });

  test('keras: call(yTrue, yPred, sampleWeight) with the bound fromLogits / labelSmoothing; name as Keras', () => {
    const yTrue = new Float32Array([0, 1, 0, 0, 0, 0, 0, 1]);
    const w = new Float32Array([1, 0.5]);
    const cc = new fastloss.keras.losses.CategoricalCrossentropy({ fromLogits: true, labelSmoothing: 0.1 });
    const want = fastloss.keras.categoricalCrossentropy(yTrue, x, { fromLogits: true, labelSmoothing: 0.1, shape: [2, 4], sampleWeight: w });
    expect(Object.is(cc.call(yTrue, x, w, { shape: [2, 4] }), want)).toBe(true);
    expect(cc.name).toBe('categorical_crossentropy');
    expect(new fastloss.keras.losses.Huber({ name: 'h' }).name).toBe('h');
    expect(() => cc.call(yTrue, x, undefined, { sampleWeight: w } as never)).toThrow(/sampleWeight is the third argument/);
  });

  const cc = () => new fastloss.keras.losses.CategoricalCrossentropy();

  test('bad options fail in the constructor, naming the class and the option', () => {
    expect(() => new fastloss.torch.nn.CrossEntropyLoss({ ignore_index: 1 } as never)).toThrow(
      new TypeError('CrossEntropyLoss: options.ignore_index is not an option of CrossEntropyLoss'));
    expect(() => new fastloss.torch.nn.HuberLoss({ delta: -1 })).toThrow(RangeError);
    expect(() => new fastloss.torch.nn.HuberLoss({ delta: -1 })).toThrow(/^HuberLoss: options\.delta/);
    expect(() => new fastloss.torch.nn.MSELoss({ reduction: 'batchmean' } as never)).toThrow(/options\.reduction must be one of 'mean', 'sum', 'none'/);
    expect(() => new fastloss.torch.nn.MSELoss(3 as never)).toThrow(TypeError);
    expect(() => new fastloss.keras.losses.Huber({ sampleWeight: 1 } as never)).toThrow(/call\(yTrue, yPred, sampleWeight\)/);
    const mse = new fastloss.torch.nn.MSELoss();
    expect(() => (mse.forward as (...a: unknown[]) => unknown)(x)).toThrow(new TypeError('torch.mseLoss: target is required'));
    expect(() => (mse.forward as (...a: unknown[]) => unknown)(x, x, {}, {})).toThrow(/MSELoss: arguments/);
    expect(() => (cc().call as (...a: unknown[]) => unknown)(x)).toThrow(/keras\.categoricalCrossentropy: yPred is required/);
    expect(() => mse.forward(x, x, { reduction: 'sum' } as never)).toThrow(/opts\.reduction is bound by the constructor/);
    return expect(mse.async(x, x, { reduction: 'sum' } as never)).rejects.toThrow(TypeError);
  });
});
