// fastloss/tfjs: the adapter's losses train a tfjs-layers model to the same weights as tfjs' own
// losses (SGD and Adam, CPU and wasm backends), their gradients equal tfjs' own (tf.grad), every
// loss of the facade goes through it (fixture references), and require('fastloss') never loads tfjs.
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import * as wasm from '@tensorflow/tfjs-backend-wasm';
import * as fl from '../src/tfjs';
import { TENSOR_ARGS, tensorArgs } from '../src/tfjs/args';
import { loadCases, Case, decode, expectClose, num } from './helpers/parity';
import { fixtureFamilies } from './helpers/fixtures';
import { lossByName, lossNames } from './helpers/losses';
import { seededRandom } from './helpers/random';

tf.env().set('PROD', true);  // no "install the node backend" notice from tfjs-backend-cpu

const root = path.join(__dirname, '..');

// The wasm binaries ship in @tensorflow/tfjs-backend-wasm; absolute paths work from any cwd.
const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
wasm.setWasmPaths(Object.fromEntries(['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']
  .map((f) => [f, path.join(wasmDir, f)])));

const N = 16;
const IN = 8;
const HIDDEN = 16;
const STEPS = 4;

function data(rows: number, cols: number, seed: number, lo = -1, hi = 1): tf.Tensor2D {
  const next = seededRandom(seed);
  return tf.tensor2d(Array.from({ length: rows * cols }, () => lo + next() * (hi - lo)), [rows, cols]);
}

type Target = 'real' | 'binary' | 'onehot' | 'index';

function targets(kind: Target, C: number, seed: number): tf.Tensor {
  return tf.tidy(() => targetsOf(kind, C, seed));
}

function targetsOf(kind: Target, C: number, seed: number): tf.Tensor {
  const next = seededRandom(seed);
  const labels = Array.from({ length: N }, () => Math.floor(next() * C));
  switch (kind) {
    case 'real': return data(N, C, seed);
    case 'binary': return tf.tensor2d(Array.from({ length: N * C }, () => (next() < 0.5 ? 0 : 1)), [N, C]);
    case 'onehot': return tf.oneHot(tf.tensor1d(labels, 'int32'), C).toFloat();
    default: return tf.tensor2d(labels, [N, 1]);  // float class indices, as tfjs datasets give them
  }
}

/** Dense 8 -> 16 (tanh) -> C with fixed initial weights. */
function model(C: number, activation: 'linear' | 'sigmoid' | 'softmax'): tf.Sequential {
  const m = tf.sequential();
  m.add(tf.layers.dense({ units: HIDDEN, inputShape: [IN], activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }),
    biasInitializer: tf.initializers.constant({ value: 0.1 }) }));
  m.add(tf.layers.dense({ units: C, activation, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }),
    biasInitializer: tf.initializers.constant({ value: -0.05 }) }));
  return m;
}

const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));

type TfLossFn = (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor;

interface TrainCase {
  name: string;
  C: number;
  activation: 'linear' | 'sigmoid' | 'softmax';
  target: Target;
  /** tfjs' own loss: a tfjs-layers loss name, or a function of tfjs ops. */
  reference: string | TfLossFn;
  fastloss: () => TfLossFn;
  /** 'compile': model.compile + trainOnBatch; 'minimize': optimizer.minimize over model.apply (index targets:
   * tfjs-layers checks a function loss's targets against the output shape [N, C]). */
  loop: 'compile' | 'minimize';
}

const softmaxXent: TfLossFn = (yTrue, yPred) => tf.losses.softmaxCrossEntropy(yTrue, yPred);
const oneHotOf = (labels: tf.Tensor, C: number) => tf.oneHot(tf.cast(tf.reshape(labels, [-1]), 'int32'), C);
// tfjs-layers' sparseCategoricalCrossentropy: its categoricalCrossentropy on one-hot labels.
const sparseXent = (C: number): TfLossFn => (yTrue, yPred) => tf.metrics.categoricalCrossentropy(oneHotOf(yTrue, C), yPred).mean();
const indexXent = (C: number): TfLossFn => (yTrue, yPred) =>
  tf.losses.softmaxCrossEntropy(oneHotOf(yTrue, C), yPred);

const TRAIN_CASES: TrainCase[] = [
  { name: 'keras.meanSquaredError', C: 4, activation: 'linear', target: 'real', reference: 'meanSquaredError',
    fastloss: () => fl.keras.meanSquaredError(), loop: 'compile' },
  { name: 'keras.binaryCrossentropy', C: 4, activation: 'sigmoid', target: 'binary', reference: 'binaryCrossentropy',
    fastloss: () => fl.keras.binaryCrossentropy(), loop: 'compile' },
  { name: 'keras.categoricalCrossentropy (probabilities)', C: 5, activation: 'softmax', target: 'onehot',
    reference: 'categoricalCrossentropy', fastloss: () => fl.keras.categoricalCrossentropy(), loop: 'compile' },
  { name: 'keras.categoricalCrossentropy (fromLogits)', C: 5, activation: 'linear', target: 'onehot', reference: softmaxXent,
    fastloss: () => fl.keras.categoricalCrossentropy({ fromLogits: true }), loop: 'compile' },
  { name: 'keras.sparseCategoricalCrossentropy', C: 5, activation: 'softmax', target: 'index',
    reference: sparseXent(5),
    fastloss: () => fl.keras.sparseCategoricalCrossentropy(), loop: 'minimize' },
  { name: "fromTorch('crossEntropy') (index targets)", C: 5, activation: 'linear', target: 'index', reference: indexXent(5),
    fastloss: () => fl.fromTorch('crossEntropy'), loop: 'minimize' },
  { name: "fromTorch('mseLoss')", C: 3, activation: 'linear', target: 'real', reference: 'meanSquaredError',
    fastloss: () => fl.fromTorch('mseLoss'), loop: 'compile' },
];

const OPTIMIZERS: Record<string, () => tf.Optimizer> = {
  sgd: () => tf.train.sgd(0.5),
  adam: () => tf.train.adam(0.01),
};

async function train(c: TrainCase, loss: string | TfLossFn, optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor): Promise<number[][]> {
  const m = model(c.C, c.activation);
  if (c.loop === 'compile') {
    m.compile({ optimizer, loss });
    for (let s = 0; s < STEPS; s++) await m.trainOnBatch(x, y);
  } else {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const fn = loss as TfLossFn;
    for (let s = 0; s < STEPS; s++) tf.tidy(() => { optimizer.minimize(() => fn(y, m.apply(x) as tf.Tensor) as tf.Scalar, false, vars); });
  }
  const w = weightsOf(m);
  m.dispose();
  optimizer.dispose();
  return w;
}

/** |a - b| <= 1e-5 + 1e-4 |b| over every weight; returns the largest difference. */
function expectSameWeights(a: number[][], b: number[][], what: string): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  a.forEach((w, k) => {
    expect(w.length).toBe(b[k].length);
    w.forEach((v, i) => {
      const d = Math.abs(v - b[k][i]);
      worst = Math.max(worst, d);
      if (!(d <= 1e-5 + 1e-4 * Math.abs(b[k][i]))) throw new Error(`${what}: weight ${k}[${i}] is ${v}, tfjs' own loss gives ${b[k][i]}`);
    });
  });
  return worst;
}

async function useBackend(name: string): Promise<void> {
  if (!(await tf.setBackend(name))) throw new Error(`tfjs backend ${name} failed to initialize`);
  await tf.ready();
  expect(tf.getBackend()).toBe(name);
}

// The wasm backend runs wherever this suite runs (.ci/run: npm test and the sanitizer job;
// scripts/test-arm64.sh runs only the parity suites under qemu, not this file).
for (const backend of ['cpu', 'wasm']) {
  describe(`training on the tfjs ${backend} backend`, () => {
    beforeAll(() => useBackend(backend));
    afterAll(() => useBackend('cpu'));

    for (const c of TRAIN_CASES) {
      for (const opt of Object.keys(OPTIMIZERS)) {
        test(`${c.name}, ${opt}: same weights as tfjs' own loss after ${STEPS} steps`, async () => {
          const before = tf.memory().numTensors;
          const x = data(N, IN, 11);
          const y = targets(c.target, c.C, 12);
          const theirs = await train(c, c.reference, OPTIMIZERS[opt](), x, y);
          const ours = await train(c, c.fastloss(), OPTIMIZERS[opt](), x, y);
          const fresh = model(c.C, c.activation);
          const untrained = weightsOf(fresh);
          fresh.dispose();
          expect(ours.some((w, k) => w.some((v, i) => Math.abs(v - untrained[k][i]) > 1e-3))).toBe(true);  // it trained
          expectSameWeights(ours, theirs, `${backend} ${c.name} ${opt}`);
          tf.dispose([x, y]);
          expect(tf.memory().numTensors).toBe(before);  // nothing leaked
        });
      }
    }

    test('classWeight in model.fit: reduction none gives per-sample losses that fit weighs as its own', async () => {
      const C = 5;
      const x = data(N, IN, 21);
      const y = targets('onehot', C, 22);
      const classWeight = { 0: 1, 1: 2, 2: 0.5, 3: 1, 4: 3 };
      const fit = async (loss: string | TfLossFn) => {
        const m = model(C, 'softmax');
        m.compile({ optimizer: tf.train.sgd(0.5), loss });
        await m.fit(x, y, { epochs: 3, batchSize: N, shuffle: false, classWeight, verbose: 0 });
        return weightsOf(m);
      };
      expectSameWeights(await fit(fl.keras.categoricalCrossentropy({ reduction: 'none' })), await fit('categoricalCrossentropy'), 'classWeight');
      tf.dispose([x, y]);
    });
  });
}

describe('tf.grad of the adapter equals tfjs\' own gradient', () => {
  beforeAll(() => useBackend('cpu'));
  const C = 6;
  const rows = 5;
  const logits = () => data(rows, C, 31, -3, 3);
  const probs = () => tf.softmax(logits());
  const onehot = () => targets('onehot', C, 32).slice([0, 0], [rows, C]);
  const cases: [string, TfLossFn, TfLossFn, () => tf.Tensor, () => tf.Tensor][] = [
    ['keras.meanSquaredError', fl.keras.meanSquaredError(), (t, p) => tf.metrics.meanSquaredError(t, p).mean(), () => data(rows, C, 33), logits],
    ['keras.binaryCrossentropy', fl.keras.binaryCrossentropy(), (t, p) => tf.metrics.binaryCrossentropy(t, p).mean(),
      () => data(rows, C, 34, 0, 1).round(), () => tf.sigmoid(logits())],
    ['keras.categoricalCrossentropy', fl.keras.categoricalCrossentropy(), (t, p) => tf.metrics.categoricalCrossentropy(t, p).mean(), onehot, probs],
    ['keras.categoricalCrossentropy fromLogits', fl.keras.categoricalCrossentropy({ fromLogits: true }), softmaxXent, onehot, logits],
    ['keras.sparseCategoricalCrossentropy', fl.keras.sparseCategoricalCrossentropy(),
      sparseXent(C), () => tf.tensor1d([0, 3, 5, 1, 2]), probs],
    ["fromTorch('crossEntropy')", fl.fromTorch('crossEntropy'), indexXent(C), () => tf.tensor1d([0, 3, 5, 1, 2], 'int32'), logits],
    ["fromTorch('crossEntropy') probabilities", fl.fromTorch('crossEntropy'), softmaxXent, () => tf.softmax(data(rows, C, 35)), logits],
    ["fromTorch('binaryCrossEntropyWithLogits')", fl.fromTorch('binaryCrossEntropyWithLogits'),
      (t, p) => tf.losses.sigmoidCrossEntropy(t, p), () => data(rows, C, 36, 0, 1), logits],
  ];
  for (const [name, ours, theirs, yTrue, yPred] of cases) {
    test(name, () => {
      tf.tidy(() => {
        const t = yTrue();
        const p = yPred();
        for (const dy of [undefined, tf.scalar(2.5)]) {
          const [vOurs, gOurs] = [ours(t, p), tf.grad((q: tf.Tensor) => ours(t, q))(p, dy)];
          const [vTheirs, gTheirs] = [theirs(t, p), tf.grad((q: tf.Tensor) => theirs(t, q))(p, dy)];
          expect(vOurs.shape).toEqual([]);
          expectClose(vOurs.dataSync(), Array.from(vTheirs.dataSync()), `${name} value`, 1e-5, 1e-6);
          expect(gOurs.shape).toEqual(p.shape);
          expectClose(gOurs.dataSync(), Array.from(gTheirs.dataSync()), `${name} gradient`, 1e-4, 1e-6);
        }
      });
    });
  }

  test("reduction 'none': per-sample losses, and the gradient of a weighted sum of them", () => {
    tf.tidy(() => {
      const t = onehot();
      const p = logits();
      const none = fl.keras.categoricalCrossentropy({ fromLogits: true, reduction: 'none' });
      const per = (q: tf.Tensor) => tf.losses.softmaxCrossEntropy(t, q, undefined, undefined, tf.Reduction.NONE);
      expect(none(t, p).shape).toEqual([rows]);
      expectClose(none(t, p).dataSync(), Array.from(per(p).dataSync()), 'none value', 1e-5, 1e-6);
      const w = tf.tensor1d([1, 0.5, 2, 0, 3]);
      const gOurs = tf.grad((q: tf.Tensor) => tf.sum(tf.mul(none(t, q), w)))(p);
      const gTheirs = tf.grad((q: tf.Tensor) => tf.sum(tf.mul(per(q), w)))(p);
      expectClose(gOurs.dataSync(), Array.from(gTheirs.dataSync()), 'none gradient', 1e-4, 1e-6);
    });
  });

  test('option arrays may be tensors (torch.crossEntropy weight, keras sampleWeight)', () => {
    tf.tidy(() => {
      const p = logits();
      const t = tf.tensor1d([0, 3, 5, 1, 2], 'int32');
      const w = [0.5, 1, 2, 1, 0.25, 3];
      const withTensor = fl.torch.crossEntropy({ weight: tf.tensor1d(w) })(p, t).dataSync()[0];
      expect(withTensor).toBe(fl.torch.crossEntropy({ weight: Float32Array.from(w) })(p, t).dataSync()[0]);
      expect(withTensor).not.toBe(fl.torch.crossEntropy()(p, t).dataSync()[0]);
      const sw = [1, 0, 2, 1, 0.5];
      expect(fl.keras.categoricalCrossentropy({ fromLogits: true, sampleWeight: tf.tensor1d(sw) })(onehot(), p).dataSync()[0])
        .toBe(fl.keras.categoricalCrossentropy({ fromLogits: true, sampleWeight: Float32Array.from(sw) })(onehot(), p).dataSync()[0]);
    });
  });

  test('several differentiable inputs: torch.tripletMarginLoss gives a gradient for each (tf.grads)', () => {
    tf.tidy(() => {
      const [a, p, n] = [data(4, 3, 41), data(4, 3, 42), data(4, 3, 43)];
      const ours = fl.torch.tripletMarginLoss({ margin: 0.5 });
      // PyTorch's formula: max(0, margin + |a - p + eps|_2 - |a - n + eps|_2), mean over rows.
      const dist = (x: tf.Tensor, y: tf.Tensor) => tf.sqrt(tf.sum(tf.square(tf.add(tf.sub(x, y), 1e-6)), -1));
      const theirs = (x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => tf.mean(tf.relu(tf.add(tf.sub(dist(x, y), dist(x, z)), 0.5)));
      const gOurs = tf.grads((x: tf.Tensor, y: tf.Tensor, z: tf.Tensor) => ours(x, y, z))([a, p, n]);
      const gTheirs = tf.grads(theirs)([a, p, n]);
      expectClose(ours(a, p, n).dataSync(), Array.from(theirs(a, p, n).dataSync()), 'triplet value', 1e-5, 1e-6);
      gOurs.forEach((g, k) => expectClose(g.dataSync(), Array.from(gTheirs[k].dataSync()), `triplet gradient ${k}`, 1e-4, 1e-6));
    });
  });
});

describe('every loss of the facade through the adapter (fixture references)', () => {
  beforeAll(() => useBackend('cpu'));

  test('the adapter knows every loss, with the facade\'s argument names and count', () => {
    for (const name of lossNames()) {
      const loss = lossByName(name);
      const names = tensorArgs(name).map((a) => a.name);
      // The facade names the first missing argument ('... positive is required'), and refuses one too many.
      names.forEach((argName, k) => expect(() => loss(...names.slice(0, k).map(() => new Float32Array(1))))
        .toThrow(new RegExp(`^${name.replace('.', '\\.')}: ${argName} is required`)));
      expect(() => loss(...names.map(() => new Float32Array(1)), {}, {})).toThrow(/takes \d+ arrays and an options object/);
      const [ns, short] = name.split('.');
      expect(typeof (fl as unknown as Record<string, Record<string, unknown>>)[ns][short]).toBe('function');
    }
    for (const name of Object.keys(TENSOR_ARGS)) expect(lossNames()).toContain(name);
  });

  const cases = fixtureFamilies().flatMap((family) => loadCases(family));
  const byLoss = new Map<string, Case[]>();
  for (const c of cases) byLoss.set(c.loss, [...(byLoss.get(c.loss) ?? []), c]);

  /** A reduced case and a 'none' one whose prediction has the case's shape (the adapter reads it from the tensor). */
  function usable(list: Case[]): Case[] {
    const ok = list.filter((c) => {
      const args = tensorArgs(c.loss);
      const ref = args.findIndex((a) => a.grad);
      const length = decode(Object.values(c.args)[ref]).length;
      const shape = c.shape ?? [length];
      const finite = (v: unknown): boolean => (Array.isArray(v) ? v.every(finite) : typeof v === 'number');
      return shape.reduce((p, d) => p * d, 1) === length && length > 0 && finite(c.expected.loss) && c.expected.grad !== undefined &&
        (c.shape !== undefined || args.every((a) => a.kind === 'f32'));
    });
    const none = ok.find((c) => c.opts?.reduction === 'none');
    const reduced = ok.find((c) => c.opts?.reduction !== 'none' && typeof c.gradOutput !== 'object');
    return [reduced, none].filter((c): c is Case => c !== undefined);
  }

  for (const name of lossNames()) {
    test(name, () => {
      const picked = usable(byLoss.get(name) ?? []);
      expect(picked.length).toBeGreaterThan(0);
      for (const c of picked) {
        tf.tidy(() => {
          const args = tensorArgs(name);
          const arrays = Object.values(c.args).map(decode);
          const ref = args.findIndex((a) => a.grad);
          const shape = c.shape ?? [arrays[ref].length];
          const size = shape.reduce((p, d) => p * d, 1);
          const tensors = arrays.map((a) => tf.tensor(a, a.length === size ? shape : [a.length], a instanceof Int32Array ? 'int32' : 'float32'));
          const opts: Record<string, unknown> = {};
          for (const [k, v] of Object.entries(c.opts ?? {}))
            opts[k] = typeof v === 'object' && v !== null && ('f32' in v || 'i32' in v) ? decode(v as never) : v;
          const [ns, short] = name.split('.');
          const lossFn = (fl as unknown as Record<string, Record<string, (o: unknown) => (...t: tf.Tensor[]) => tf.Tensor>>)[ns][short](opts);
          const gradPositions = args.flatMap((a, i) => (a.grad ? [i] : []));
          const f = (...xs: tf.Tensor[]) => {
            const all = [...tensors];
            gradPositions.forEach((pos, k) => { all[pos] = xs[k]; });
            return lossFn(...all);
          };
          const value = f(...gradPositions.map((i) => tensors[i]));
          expectClose(value.dataSync(), c.expected.loss, `${c.id} value`, c.tolerance?.rtol ?? 2e-5, c.tolerance?.atol ?? 1e-6);
          const up = c.gradOutput === undefined ? undefined
            : typeof c.gradOutput === 'object' ? tf.tensor(decode(c.gradOutput), value.shape) : tf.scalar(num(c.gradOutput)).reshape(value.shape);
          const grads = tf.grads(f)(gradPositions.map((i) => tensors[i]), up);
          const want = c.expected.grad!;
          grads.forEach((g, k) => {
            const expected = Array.isArray(want) ? want : want[args[gradPositions[k]].name];
            expect(g.shape).toEqual(tensors[gradPositions[k]].shape);
            expectClose(g.dataSync(), expected, `${c.id} gradient ${args[gradPositions[k]].name}`, c.tolerance?.rtol ?? 2e-5, c.tolerance?.atol ?? 1e-6);
          });
        });
      }
    });
  }
});

describe('argument and option errors', () => {
  beforeAll(() => useBackend('cpu'));

  test('options the tensors or tfjs provide are refused when the loss is made', () => {
    expect(() => fl.keras.meanSquaredError({ shape: [2, 3] } as never)).toThrow(/opts\.shape is not an option here \(the shape comes from the tensors\)/);
    expect(() => fl.torch.mseLoss({ gradOutput: 2 } as never)).toThrow(/opts\.gradOutput is not an option here/);
    expect(() => fl.keras.huber(5 as never)).toThrow(TypeError);
    expect(() => fl.fromTorch('tripletMarginLoss' as never)).toThrow(/takes 3 tensors \(anchor, positive, negative\); use torch\.tripletMarginLoss/);
    expect(() => fl.fromTorch('nope' as never)).toThrow(/nope is not a torch loss/);
    expect(() => fl.setTf({} as never)).toThrow(TypeError);
  });

  test('calls name the loss and the argument', () => {
    tf.tidy(() => {
      const p = data(2, 3, 51);
      expect(() => (fl.keras.meanSquaredError() as (...a: unknown[]) => unknown)(p)).toThrow(/takes 2 tensors \(yTrue, yPred\), got 1/);
      expect(() => fl.keras.meanSquaredError()(new Float32Array(6) as never, p)).toThrow(/yTrue must be a tf\.Tensor/);
      expect(() => fl.fromTorch('crossEntropy')(tf.tensor1d([0, 1.5]), p)).toThrow(/torch\.crossEntropy: target\[1\] is 1\.5; expected an integer/);
      expect(() => fl.fromTorch('crossEntropy')(tf.tensor1d([0, 7]), p)).toThrow(RangeError);  // fastloss' own index check
      expect(() => fl.keras.categoricalCrossentropy({ fromLogits: 'yes' } as never)(p, p)).toThrow(/keras\.categoricalCrossentropy: opts\.fromLogits/);
    });
  });
});

test('require(\'fastloss\') never loads tfjs; require(\'fastloss/tfjs\') loads it on first use', () => {
  const code = `
    const loaded = () => Object.keys(require.cache).some((k) => k.includes('@tensorflow'));
    require('fastloss');
    const core = loaded();
    const adapter = require('fastloss/tfjs');
    const onRequire = loaded();
    const tf = require('@tensorflow/tfjs');
    tf.env().set('PROD', true);
    const v = adapter.keras.meanSquaredError()(tf.tensor([[1, 2]]), tf.tensor([[2, 4]])).dataSync()[0];
    console.log(JSON.stringify({ core, onRequire, used: loaded(), v }));
  `;
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual({ core: false, onRequire: false, used: true, v: 2.5 });
});

test('fastloss/tfjs from an ES module: named exports', () => {
  const r = spawnSync(process.execPath, ['--input-type=module', '-e',
    "import { keras, torch, fromTorch, setTf } from 'fastloss/tfjs'; console.log([keras.huber, torch.mseLoss, fromTorch, setTf].map((f) => typeof f).join())"],
  { cwd: root, encoding: 'utf8' });
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('function,function,function,function');
});

test('the README\'s tfjs example runs as written', () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## TensorFlow.js (`fastloss/tfjs`)'));
  const code = /```js\n([\s\S]*?)```/.exec(section)![1];
  expect(code).toContain("require('fastloss/tfjs')");
  const r = spawnSync(process.execPath, ['-e', code], { cwd: root, encoding: 'utf8' });
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^crossEntropy after 5 steps: \d+\.\d+$/);
  expect(lines[1]).toBe('triplet gradients: [ [ 4, 16 ], [ 4, 16 ], [ 4, 16 ] ]');
  expect(lines[2]).toMatch(/^fit, last epoch: \d+\.\d+$/);
});

// Types: the factories follow the loss's reduction and its options (checked by tsc in npm run lint and ts-jest).
export function typeChecks(t: tf.Tensor): void {
  const scalar: tf.Scalar = fl.keras.categoricalCrossentropy({ fromLogits: true })(t, t);
  const perSample: tf.Tensor = fl.keras.categoricalCrossentropy({ reduction: 'none' })(t, t);
  // @ts-expect-error reduction 'none' is not a Scalar
  const notScalar: tf.Scalar = fl.keras.categoricalCrossentropy({ reduction: 'none' })(t, t);
  // @ts-expect-error unknown option
  fl.keras.categoricalCrossentropy({ fromLogit: true });
  // @ts-expect-error the shape comes from the tensors
  fl.keras.meanSquaredError({ shape: [2] });
  fl.torch.tripletMarginLoss({ margin: 0.5, swap: true })(t, t, t);
  // @ts-expect-error three tensors
  fl.torch.tripletMarginLoss()(t, t);
  fl.torch.ctcLoss({ blank: 0 })(t, t, 3, t);
  // @ts-expect-error fromTorch takes (input, target) losses only
  fl.fromTorch('tripletMarginLoss');
  // @ts-expect-error sigmoidFocalLoss is 'none' by default
  const focal: tf.Scalar = fl.torch.sigmoidFocalLoss()(t, t);
  const focalMean: tf.Scalar = fl.torch.sigmoidFocalLoss({ reduction: 'mean' })(t, t);
  const m = tf.sequential();
  m.compile({ optimizer: 'sgd', loss: fl.fromTorch('crossEntropy', { labelSmoothing: 0.1 }) });
  m.compile({ optimizer: 'sgd', loss: fl.keras.huber({ delta: 2, reduction: 'none' }) });
  tf.train.sgd(0.1).minimize(() => fl.keras.meanSquaredError()(t, t));
  void [scalar, perSample, notScalar, focal, focalMean];
}
