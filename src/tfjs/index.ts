// fastloss/tfjs: every fastloss loss as a TensorFlow.js loss function. One native withGrad call per
// step gives the value and the gradient; tf.customGrad attaches the gradient, so the functions go
// into model.compile({ loss }), tf.grad / tf.valueAndGrads and optimizer.minimize. tfjs is an
// optional peer dependency, loaded on first use (or given with setTf); require('fastloss') never
// loads this module.
import type { Scalar, Tensor } from '@tensorflow/tfjs-core';
import type { BackwardOptions, Loss } from '../core/types';
import * as fastloss from '../index';
import { NONE_BY_DEFAULT, TensorArg, tensorArgs } from './args';

/** The part of the tfjs namespace the adapter uses (@tensorflow/tfjs, tfjs-core or tfjs-node). */
export interface TfNamespace {
  customGrad: typeof import('@tensorflow/tfjs-core').customGrad;
  tensor: typeof import('@tensorflow/tfjs-core').tensor;
  scalar: typeof import('@tensorflow/tfjs-core').scalar;
  mul: typeof import('@tensorflow/tfjs-core').mul;
}

let tfBound: TfNamespace | null = null;

/**
 * The tfjs namespace to build tensors with. Default: `@tensorflow/tfjs-core` (or
 * `@tensorflow/tfjs`) as resolved from fastloss, on first use; give yours when it is another copy
 * or a bundle.
 */
export function setTf(tf: TfNamespace): void {
  if (tf === null || typeof tf !== 'object' || typeof tf.customGrad !== 'function' || typeof tf.tensor !== 'function')
    throw new TypeError('fastloss/tfjs: setTf: tf must be the TensorFlow.js namespace (require(\'@tensorflow/tfjs\'))');
  tfBound = tf;
}

function tfjs(): TfNamespace {
  if (tfBound) return tfBound;
  for (const name of ['@tensorflow/tfjs-core', '@tensorflow/tfjs']) {
    try {
      tfBound = require(name) as TfNamespace;
      return tfBound;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw e;
    }
  }
  throw new Error('fastloss/tfjs needs TensorFlow.js: npm install @tensorflow/tfjs (or pass your tf to setTf(tf))');
}

// ------------------------------------------------------------------------------------------ types

// backward's parameters are `[...A] | [...A, Options]`: A ends in an array (or a count), or is empty.
type EndsInArray<T> = T extends [] ? true : T extends [...unknown[], infer L] ? (L extends ArrayBufferView | number ? true : false) : false;
type ArgsMember<P> = P extends unknown ? (EndsInArray<P> extends true ? P : never) : never;
type OptionsMember<P> = P extends [...unknown[], infer L] ? (EndsInArray<P> extends true ? never : L) : never;
// backward's plain-array parameters (its other overload takes tensor-likes), from the Loss type itself.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
type BackwardParams<F> = F extends Loss<infer A, infer O, infer G, infer _D> ? [...A] | [...A, BackwardOptions<O, G>] : never;
type LossArgsOf<F> = ArgsMember<BackwardParams<F>>;
type OptionsOf<F> = OptionsMember<BackwardParams<F>>;

/**
 * A fastloss option object as the adapter takes it: `shape` comes from the tensors, `gradOutput`
 * from tfjs (dy), `out` is not used; option arrays may be tensors.
 */
export type TfOptions<F> = WithTensors<Omit<OptionsOf<F>, 'shape' | 'out' | 'gradOutput'>>;
/** Option arrays (weight, posWeight, sampleWeight) may be tensors too. */
type WithTensors<O> = { [K in keyof O]: O[K] | (Float32Array extends O[K] ? Tensor : never) };

/** The tensors of a loss in its call order: a tensor for every array (a number for a count). */
export type TensorArgs<A> = { [K in keyof A]: number extends A[K] ? Tensor | number : Tensor };

/** A loss function for tfjs: a Scalar for a reduced loss, the per-sample / per-element losses for 'none'. */
export type TfLoss<T extends unknown[], R extends Tensor = Scalar> = (...tensors: T) => R;

/** Factory of a loss whose default reduction is 'mean' / 'sum_over_batch_size'. */
export interface TfLossFactory<F, T extends unknown[]> {
  (opts: TfOptions<F> & { reduction: 'none' }): TfLoss<T, Tensor>;
  (opts?: TfOptions<F>): TfLoss<T, Scalar>;
}
/** Factory of a loss whose default reduction is 'none' (torch.sigmoidFocalLoss). */
export interface TfNoneByDefaultFactory<F, T extends unknown[]> {
  (opts: TfOptions<F> & { reduction: 'mean' | 'sum' }): TfLoss<T, Scalar>;
  (opts?: TfOptions<F>): TfLoss<T, Tensor>;
}

// The factory follows the loss's default reduction.
type Factory<F, T extends unknown[]> = F extends { readonly defaultReduction: infer D }
  ? ([D] extends ['none'] ? TfNoneByDefaultFactory<F, T> : TfLossFactory<F, T>) : never;

type LossesOf<NS> = { [K in keyof NS as NS[K] extends { lossName: string } ? K : never]: NS[K] };

/** `fastlossTfjs.torch.crossEntropy(opts)`: (input, target, ...) => tf.Scalar, PyTorch's argument order. */
export type TorchTf = { [K in keyof LossesOf<typeof fastloss.torch>]: Factory<LossesOf<typeof fastloss.torch>[K],
  TensorArgs<LossArgsOf<LossesOf<typeof fastloss.torch>[K]>> & unknown[]> };
/** `fastlossTfjs.keras.categoricalCrossentropy(opts)`: (yTrue, yPred) => tf.Scalar. */
export type KerasTf = { [K in keyof LossesOf<typeof fastloss.keras>]: Factory<LossesOf<typeof fastloss.keras>[K],
  [yTrue: Tensor, yPred: Tensor]> };

/** torch losses of (input, target): the ones fromTorch takes. */
export type TorchPairName = {
  [K in keyof TorchTf]: LossArgsOf<LossesOf<typeof fastloss.torch>[K]> extends [unknown, unknown] ? K : never
}[keyof TorchTf];

// --------------------------------------------------------------------------------------- adapter

interface FastlossFn {
  (...argv: unknown[]): unknown;
  backward(...argv: unknown[]): unknown;
  withGrad(...argv: unknown[]): { loss: unknown; grad: unknown };
  readonly lossName: string;
}

type TypedArray = Float32Array | Int32Array | Uint8Array;

const isTensor = (t: unknown): t is Tensor =>
  typeof t === 'object' && t !== null && typeof (t as Tensor).dataSync === 'function' && Array.isArray((t as Tensor).shape);

const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

const product = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

function asFloat32(data: TypedArray): Float32Array {
  return data instanceof Float32Array ? data : Float32Array.from(data);
}

/** Class indices from an int32 tensor, or from a float / bool one holding integers. */
function asInt32(fn: string, name: string, data: TypedArray): Int32Array {
  if (data instanceof Int32Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)
      throw new RangeError(`${fn}: ${name}[${i}] is ${v}; expected an integer (a class index or length)`);
    out[i] = v;
  }
  return out;
}

/** The tensor shape of a 'none' result of `length` values, from the prediction's shape. */
function noneShape(shape: readonly number[], length: number): number[] {
  if (product(shape) === length) return [...shape];
  if (shape.length > 0 && product(shape.slice(0, -1)) === length) return shape.slice(0, -1);  // per sample
  if (shape.length > 1 && product([shape[0], ...shape.slice(2)]) === length) return [shape[0], ...shape.slice(2)];  // class axis 1
  return [length];
}

const RESERVED = ['shape', 'out', 'gradOutput'];

/**
 * The tfjs loss of one fastloss loss: its tensors in `order` (positions in the loss's own call
 * order) become typed arrays, `opts.shape` the prediction's shape.
 */
function adapt(loss: FastlossFn, args: readonly TensorArg[], given: unknown, label: string, order?: number[]): TfLoss<unknown[], Tensor> {
  const fn = loss.lossName;
  if (given !== undefined && (given === null || typeof given !== 'object' || Array.isArray(given)))
    throw new TypeError(`${label}: opts must be an options object`);
  const opts = { ...(given as Record<string, unknown> | undefined) };
  for (const key of RESERVED) {
    if (key in opts)
      throw new TypeError(`${label}: opts.${key} is not an option here (${key === 'shape' ? 'the shape comes from the tensors' : 'tfjs passes the upstream gradient'})`);
  }
  // Option arrays (weight, posWeight, sampleWeight) may be tensors: read once, here.
  for (const [key, value] of Object.entries(opts))
    if (isTensor(value)) opts[key] = asFloat32(value.dataSync() as TypedArray);
  const none = (opts.reduction ?? (NONE_BY_DEFAULT.has(fn) ? 'none' : undefined)) === 'none';
  const gradPositions = args.flatMap((a, i) => (a.grad ? [i] : []));
  const reference = gradPositions[0];
  const argNames = args.map((a) => a.name).join(', ');

  const tfLoss = (...tensors: unknown[]): Tensor => {
    const called = order ? order.map((k) => tensors[k]) : tensors;
    if (tensors.length !== args.length)
      throw new TypeError(`${label}: takes ${args.length} tensors (${order ? order.map((k) => args[k].name).join(', ') : argNames}), got ${tensors.length}`);
    for (let i = 0; i < args.length; i++) {
      const t = called[i];
      if (!isTensor(t) && !(args[i].kind === 'i32|count' && typeof t === 'number'))
        throw new TypeError(`${label}: ${args[i].name} must be a tf.Tensor${args[i].kind === 'i32|count' ? ' or a number' : ''}`);
    }
    const ref = called[reference] as Tensor;
    const shape = ref.shape;
    const arrays = called.map((t, i) => {
      if (typeof t === 'number') return t;
      const tensor = t as Tensor;
      const data = tensor.dataSync() as TypedArray;
      switch (args[i].kind) {
        case 'f32': return asFloat32(data);
        case 'f32|i32':  // PyTorch: a target of the input's shape holds probabilities, else class indices
          return tensor.dtype !== 'int32' && sameShape(tensor.shape, shape) ? asFloat32(data) : asInt32(fn, args[i].name, data);
        default: return asInt32(fn, args[i].name, data);
      }
    });
    const callOpts = { ...opts, shape };
    const inputs = gradPositions.map((i) => called[i] as Tensor);
    const tf = tfjs();
    const gradList = (grad: unknown): Float32Array[] =>
      ArrayBuffer.isView(grad) ? [grad as Float32Array] : gradPositions.map((i) => (grad as Record<string, Float32Array>)[args[i].name]);

    const op = tf.customGrad<Tensor>(() => {
      if (none) {
        const out = loss(...arrays, callOpts) as Float32Array;
        return {
          value: tf.tensor(out, noneShape(shape, out.length), 'float32'),
          gradFunc: (dy: Tensor) => {
            const up = asFloat32(dy.dataSync() as TypedArray);
            const grads = gradList(loss.backward(...arrays, { ...callOpts, gradOutput: up }));
            return grads.map((g, k) => tf.tensor(g, inputs[k].shape, 'float32'));
          },
        };
      }
      const { loss: value, grad } = loss.withGrad(...arrays, callOpts);
      const grads = gradList(grad);
      return {
        value: tf.scalar(value as number, 'float32'),
        gradFunc: (dy: Tensor) => {
          const scale = (dy.dataSync() as TypedArray)[0];
          return grads.map((g, k) => {
            const t = tf.tensor(g, inputs[k].shape, 'float32');
            return scale === 1 ? t : tf.mul(t, dy);
          });
        },
      };
    });
    return op(...inputs);
  };
  Object.defineProperty(tfLoss, 'name', { value: loss.name });
  return tfLoss;
}

function factories(ns: Record<string, unknown>, prefix: string): Record<string, (opts?: unknown) => TfLoss<unknown[], Tensor>> {
  const out: Record<string, (opts?: unknown) => TfLoss<unknown[], Tensor>> = {};
  for (const [name, value] of Object.entries(ns)) {
    const loss = value as FastlossFn;
    if (typeof loss !== 'function' || typeof loss.lossName !== 'string') continue;
    const args = tensorArgs(loss.lossName);
    out[name] = (opts?: unknown) => adapt(loss, args, opts, `${prefix}.${name}`);
  }
  return Object.freeze(out);
}

/**
 * PyTorch losses in PyTorch's order: `torch.crossEntropy(opts)` is `(input, target) => tf.Scalar`;
 * losses of several inputs (tripletMarginLoss, ...) take them all and give each its gradient.
 */
export const torch = factories(fastloss.torch as unknown as Record<string, unknown>, 'fastloss/tfjs torch') as unknown as TorchTf;

/** Keras losses as tfjs wants them: `keras.categoricalCrossentropy(opts)` is `(yTrue, yPred) => tf.Scalar`. */
export const keras = factories(fastloss.keras as unknown as Record<string, unknown>, 'fastloss/tfjs keras') as unknown as KerasTf;

/**
 * A PyTorch loss of (input, target) in Keras' order, for model.compile: `fromTorch('crossEntropy',
 * opts)` is `(yTrue, yPred) => torch.crossEntropy(yPred, yTrue)`. A target tensor of the prediction's
 * shape holds probabilities (float); any other shape class indices (int32, or floats holding integers).
 */
export function fromTorch<K extends TorchPairName>(name: K, opts?: TfOptions<LossesOf<typeof fastloss.torch>[K]>): TfLoss<[yTrue: Tensor, yPred: Tensor]> {
  const loss = (fastloss.torch as unknown as Record<string, unknown>)[name as string] as FastlossFn | undefined;
  if (typeof name !== 'string' || typeof loss !== 'function' || typeof loss.lossName !== 'string')
    throw new TypeError(`fastloss/tfjs fromTorch: ${String(name)} is not a torch loss`);
  const args = tensorArgs(loss.lossName);
  if (args.length !== 2)
    throw new TypeError(`fastloss/tfjs fromTorch: torch.${name} takes ${args.length} tensors (${args.map((a) => a.name).join(', ')}); use torch.${name}(opts) with them in PyTorch's order`);
  return adapt(loss, args, opts, `fastloss/tfjs fromTorch('${name}')`, [1, 0]) as TfLoss<[Tensor, Tensor]>;
}
