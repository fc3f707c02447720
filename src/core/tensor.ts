// Tensor-like array arguments ({ data, shape }, onnxruntime-node's Tensor, scijs ndarray): their
// data used in place, their shape taken as the kernel shape and checked against the other
// arguments; 'none' results and gradients given back shaped. Also the porting hints of option errors.
import * as check from './check';
import type { ArgSpec } from './define';

/** `{ data, shape }`: any object with a typed array and its row-major shape (scijs ndarray too). */
export interface ShapedTensor<T extends Float32Array | Int32Array = Float32Array> {
  readonly data: T;
  readonly shape: readonly number[];
  /** scijs ndarray: must be the contiguous row-major strides. */
  readonly stride?: readonly number[];
  /** scijs ndarray: elements skipped at the start of data (used as a subarray view). */
  readonly offset?: number;
}

/** onnxruntime-node's Tensor: `data`, `dims` and `type` ('float32', or 'int32' for index arguments). */
export interface OrtTensorLike<T extends Float32Array | Int32Array = Float32Array> {
  readonly data: T;
  readonly dims: readonly number[];
  readonly type: string;
}

/** An array argument that carries its shape. */
export type TensorLike<T extends Float32Array | Int32Array = Float32Array> = ShapedTensor<T> | OrtTensorLike<T>;

/** A 'none' result or gradient for tensor-like arguments (onnxruntime Tensors give back a Tensor). */
export interface TensorResult {
  data: Float32Array;
  shape: number[];
}

/** A tensor-like argument as read (each property once). */
export interface TensorArg {
  /** The typed array the kernel reads (a subarray view for an ndarray offset). */
  data: unknown;
  shape: number[];
  kind: 'shaped' | 'ort' | 'ndarray';
  source: object;
}

export function shapeText(shape: unknown): string {
  return Array.isArray(shape) ? `[${shape.map(check.show).join(', ')}]` : check.show(shape);
}

export function sameShape(a: unknown, b: readonly number[]): boolean {
  if (!Array.isArray(a) || a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function readShape(fn: string, arg: string, v: unknown): number[] {
  if (!Array.isArray(v)) throw check.typeError(fn, arg, `must be an array of integers, got ${check.describeValue(v)}`);
  const n = v.length;
  if (n > 64) throw check.rangeError(fn, arg, `has ${n} dimensions; at most 64 are supported`);
  const shape: number[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const d: unknown = v[i];
    if (typeof d !== 'number' || !Number.isInteger(d) || d < 0)
      throw check.typeError(fn, arg, `must hold non-negative integers, got ${check.describeValue(d)} at ${i}`);
    shape[i] = d;
  }
  return shape;
}

const product = (shape: readonly number[]) => shape.reduce((p, d) => p * d, 1);

/**
 * v read as a tensor-like, or undefined when it is not an object with a `data` property (typed
 * arrays, numbers and everything else go to the ordinary argument checks).
 */
export function readTensorLike(fn: string, arg: string, v: unknown): TensorArg | undefined {
  if (typeof v !== 'object' || v === null || ArrayBuffer.isView(v) || Array.isArray(v) || !('data' in v)) return undefined;
  const o = v as Record<string, unknown>;
  const data = o.data;
  const shapeValue = o.shape;
  const dims = o.dims;
  const stride = o.stride;
  const offset = o.offset;
  const type = o.type;
  const elements = check.typedArrayTag(data) !== undefined ? check.lengthOf(data as ArrayBufferView) : -1;
  if (shapeValue === undefined && Array.isArray(dims) && typeof type === 'string') {
    if (type !== 'float32' && type !== 'int32')
      throw check.typeError(fn, arg, `is an onnxruntime Tensor of type '${type}'; fastloss reads 'float32' (and 'int32' class indices)`);
    const shape = readShape(fn, `${arg}.dims`, dims);
    if (elements >= 0 && product(shape) !== elements)
      throw check.rangeError(fn, `${arg}.dims`, `${shapeText(shape)} holds ${product(shape)} elements, but ${arg}.data has length ${elements}`);
    return { data, shape, kind: 'ort', source: o };
  }
  if (shapeValue === undefined)
    throw check.typeError(fn, arg, 'is an object with data but no shape; a tensor-like is { data, shape }, an onnxruntime Tensor or an ndarray');
  const shape = readShape(fn, `${arg}.shape`, shapeValue);
  const size = product(shape);
  if (stride === undefined && offset === undefined) {
    if (elements >= 0 && size !== elements)
      throw check.rangeError(fn, `${arg}.shape`, `${shapeText(shape)} holds ${size} elements, but ${arg}.data has length ${elements}`);
    return { data, shape, kind: 'shaped', source: o };
  }
  // scijs ndarray: contiguous row-major only (strides of size-1 axes do not matter).
  const strides = Array.isArray(stride) ? stride : [];
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] > 1 && strides[d] !== expected)
      throw check.typeError(fn, arg, `is an ndarray with shape ${shapeText(shape)} and stride ${shapeText(stride)}, not contiguous row-major (C order); pass a contiguous copy`);
    expected *= shape[d];
  }
  const start = offset === undefined ? 0 : offset;
  if (typeof start !== 'number' || !Number.isInteger(start) || start < 0)
    throw check.typeError(fn, `${arg}.offset`, `must be a non-negative integer, got ${check.describeValue(start)}`);
  if (elements >= 0 && start + size > elements)
    throw check.rangeError(fn, arg, `is an ndarray of ${size} elements at offset ${start}, past the end of its data (length ${elements})`);
  const view = elements < 0 || (start === 0 && size === elements) ? data
    : Float32Array.prototype.subarray.call(data as Float32Array, start, start + size);
  return { data: view, shape, kind: 'ndarray', source: o };
}

// How each argument's shape relates to the kernel shape L, by loss (default: the same as L).
type Rule = 'same' | 'rows' | 'classIndex' | 'sameOrRows' | 'ctcTargets' | 'ctcBatch' | 'batchRows';
const RULES: Record<string, Record<string, Rule>> = {
  'torch.crossEntropy': { target: 'classIndex' },  // probabilities (Float32Array): 'same'
  'torch.nllLoss': { target: 'classIndex' },
  'torch.gaussianNllLoss': { var: 'sameOrRows' },
  'torch.multiMarginLoss': { target: 'rows' },
  'torch.cosineEmbeddingLoss': { target: 'rows' },
  'torch.ctcLoss': { targets: 'ctcTargets', inputLengths: 'ctcBatch', targetLengths: 'ctcBatch' },
  'keras.sparseCategoricalCrossentropy': { yTrue: 'rows' },
  'keras.categoricalGeneralizedCrossEntropy': { yTrue: 'rows' },
  'keras.circle': { yTrue: 'rows' },
  'keras.ctc': { yTrue: 'batchRows' },
};

function ruleOf(loss: string, arg: string, data: unknown): Rule {
  const rule = RULES[loss]?.[arg] ?? 'same';
  return rule === 'classIndex' && !check.isInt32Array(data) ? 'same' : rule;
}

/** The shapes an argument of this rule may have for kernel shape L, and how to say so. */
function allowed(rule: Rule, L: readonly number[]): { ok(s: readonly number[]): boolean; what: string } {
  const eq = (want: readonly number[]) => (s: readonly number[]) => sameShape(s, want);
  const rows = L.slice(0, -1);
  const text = shapeText;
  switch (rule) {
    case 'rows': return { ok: (s) => eq(rows)(s) || eq([...rows, 1])(s), what: `${text(rows)} (or ${text([...rows, 1])})` };
    case 'sameOrRows':
      return { ok: (s) => eq(L)(s) || eq(rows)(s) || eq([...rows, 1])(s), what: `${text(L)}, ${text(rows)} or ${text([...rows, 1])}` };
    case 'classIndex': {
      const want = L.length <= 1 ? [] : [L[0], ...L.slice(2)];
      return { ok: (s) => eq(want)(s) || (L.length <= 1 && eq([1])(s)), what: text(want) };
    }
    case 'ctcTargets':
      return L.length === 3
        ? { ok: (s) => s.length === 1 || (s.length === 2 && s[0] === L[1]), what: `[${L[1]}, S] or [sum of targetLengths]` }
        : { ok: (s) => s.length === 1, what: '[S]' };
    case 'ctcBatch':
      return L.length === 3 ? { ok: eq([L[1]]), what: text([L[1]]) } : { ok: (s) => eq([])(s) || eq([1])(s), what: '[] (one sequence)' };
    case 'batchRows': return { ok: (s) => s.length === 2 && s[0] === L[0], what: `[${L[0]}, S]` };
    default: return { ok: eq(L), what: text(L) };
  }
}

/** Which tensor-like gives the kernel shape: the first differentiable argument, else one of that shape; -1 for none. */
export function shapeSource(loss: string, specs: ArgSpec[], tensors: (TensorArg | undefined)[], shapeArg: number,
                            args: unknown[]): number {
  if (tensors[shapeArg] !== undefined) return shapeArg;
  for (let i = 0; i < specs.length; i++)
    if (tensors[i] !== undefined && ruleOf(loss, specs[i].name, args[i]) === 'same') return i;
  return -1;
}

/** Every tensor-like's shape fits kernel shape L; RangeError naming the argument otherwise. */
export function checkConsistent(fn: string, loss: string, specs: ArgSpec[], tensors: (TensorArg | undefined)[],
                                args: unknown[], L: readonly number[]): void {
  for (let i = 0; i < specs.length; i++) {
    const t = tensors[i];
    if (t === undefined) continue;
    const rule = allowed(ruleOf(loss, specs[i].name, args[i]), L);
    if (!rule.ok(t.shape))
      throw check.rangeError(fn, specs[i].name, `has shape ${shapeText(t.shape)}; expected ${rule.what} for the shape ${shapeText(L)}`);
  }
}

/** A result of the same kind as t: an onnxruntime Tensor of its class, else { data, shape }. */
function like(t: TensorArg, data: Float32Array, shape: number[]): unknown {
  if (t.kind === 'ort') {
    try {
      const Ctor = (t.source as { constructor: new (type: string, data: Float32Array, dims: number[]) => unknown }).constructor;
      const made = new Ctor('float32', data, shape) as { data?: unknown; dims?: unknown };
      if (made.data === data && sameShape(made.dims, shape)) return made;
    } catch {
      // not constructible as onnxruntime's Tensor(type, data, dims): a plain result
    }
  }
  return { data, shape };
}

const TORCH_ROW_LOSSES = new Set(['torch.multilabelSoftMarginLoss', 'torch.multiMarginLoss', 'torch.multilabelMarginLoss',
  'torch.cosineEmbeddingLoss', 'torch.tripletMarginLoss', 'torch.tripletMarginWithDistanceLoss']);

/** The shape of a 'none' result for kernel shape L, as the framework gives it. */
function noneShape(loss: string, L: readonly number[], opts: Record<string, unknown>): number[] {
  const drop = (axes: number[]) => L.filter((_, d) => !axes.includes(d));
  if (loss === 'torch.crossEntropy' || loss === 'torch.nllLoss') return L.length <= 1 ? [] : drop([1]);
  if (loss === 'torch.ctcLoss') return L.length === 3 ? [L[1]] : [];
  if (loss === 'keras.ctc') return [L[0]];
  if (loss.startsWith('torch.')) return TORCH_ROW_LOSSES.has(loss) ? L.slice(0, -1) : [...L];
  if ('axis' in opts) {
    const axis = opts.axis;
    if (axis === null) return [];
    const axes = (Array.isArray(axis) ? axis as number[] : [axis as number]).map((a) => (a < 0 ? a + L.length : a));
    return drop(axes);
  }
  return L.slice(0, -1);
}

export function noneResult(loss: string, tensors: (TensorArg | undefined)[], shapeArg: number, out: Float32Array,
                           L: readonly number[], opts: Record<string, unknown>, outLength: number): unknown {
  const t = tensors[shapeArg] ?? tensors.find((x) => x !== undefined)!;
  let shape = noneShape(loss, L, opts);
  if (product(shape) !== outLength) shape = [outLength];
  return like(t, out, shape);
}

/** The gradient of argument i: shaped as that argument when it was a tensor-like, else the Float32Array. */
export function gradientResult(tensors: (TensorArg | undefined)[], i: number, grad: Float32Array, L: readonly number[]): unknown {
  const t = tensors[i];
  if (t === undefined) return grad;
  return like(t, grad, product(t.shape) === grad.length ? t.shape : product(L) === grad.length ? [...L] : [grad.length]);
}

// ---------------------------------------------------------------- porting hints

// The other framework's name of an option, where the two differ.
const ALIASES: Record<string, string> = {
  ignoreIndex: 'ignoreClass',
  ignoreClass: 'ignoreIndex',
  dim: 'axis',
  beta: 'delta',
  delta: 'beta',
};

const squash = (s: string) => s.replace(/_/g, '').toLowerCase();

/** For an unknown option: the known one it spells differently (snake_case, PyTorch or Keras name), or ''. */
export function optionHint(key: string, allowed: ReadonlySet<string>): string {
  if (key === 'size_average' || key === 'sizeAverage' || key === 'reduce')
    return "; size_average and reduce are deprecated in PyTorch: use `reduction` ('mean', 'sum' or 'none')";
  const camel = key.replace(/_+([a-zA-Z0-9])/g, (_, ch: string) => ch.toUpperCase());
  for (const name of allowed) if (name === camel || squash(name) === squash(key)) return `; did you mean \`${name}\`?`;
  const alias = ALIASES[camel];
  if (alias !== undefined && allowed.has(alias)) return `; did you mean \`${alias}\`? (this framework's name for ${camel})`;
  if (camel === 'fromLogits' && !allowed.has('fromLogits'))
    return '; PyTorch losses name their logits form: binaryCrossEntropyWithLogits, and crossEntropy takes logits';
  return '';
}

/** For an unknown reduction: the framework's own name for it, or ''. */
export function reductionHint(loss: string, given: unknown, codes: ReadonlyMap<string, number>): string {
  const keras = loss.startsWith('keras.');
  if (given === null && codes.has('none')) return " (Keras' reduction=None is 'none' here)";
  if (typeof given !== 'string') return '';
  const lower = given.toLowerCase();
  if (lower !== given && codes.has(lower)) return `; did you mean '${lower}'?`;
  if (keras && (lower === 'mean' || lower === 'auto' || lower === 'sum_over_batch'))
    return "; did you mean 'sum_over_batch_size'? (Keras' name for the mean over samples)";
  if (!keras && (lower === 'sum_over_batch_size' || lower === 'elementwise_mean' || lower === 'auto'))
    return "; did you mean 'mean'? (PyTorch's name for the mean over elements)";
  if (lower === 'batchmean' && !codes.has('batchmean')) return " ('batchmean' is only for torch.klDiv)";
  return '';
}
