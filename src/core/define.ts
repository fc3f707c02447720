// The one mechanism behind every loss: argument checks, options, output buffers, and the
// sync / async / backward / withGrad calls into the native kernel table.
import * as check from './check';
import { AnyTypedArray, FLAG_HAS_GRAD_OUT, FLAG_HAS_OUT, native, params, SLOT } from './native';

export type ArgKind = 'f32' | 'i32' | 'f32|i32';

export interface ArgSpec {
  name: string;
  kind: ArgKind;
  /** Differentiable: backward returns a gradient for it. */
  grad?: boolean;
}

export interface OptionSpec {
  default?: unknown;
  /** Validates and converts the value (never called with undefined unless default is undefined). */
  check(fn: string, arg: string, value: unknown): unknown;
  /** Scalar slot in params (after the shape) the kernel reads this option from. */
  param?: number;
}

export interface PlanContext {
  fn: string;
  /** Array arguments, type-checked, in call order. */
  args: AnyTypedArray[];
  /** Option values with defaults applied. */
  opts: Record<string, unknown>;
  /** opts.shape as given (undefined when absent). */
  shape: unknown;
  reduction: string;
  /** Scalars region of params, for losses whose kernel needs derived numbers. */
  scalars: Float64Array;
}

export interface Plan {
  /** Kernel inputs in slot order. */
  inputs: (AnyTypedArray | null)[];
  /** The logical shape the kernel reads. */
  shape: readonly number[];
  /** Length of the unreduced ('none') result. */
  outLength: number;
  /** Length of each gradient, in the order of the differentiable arguments. */
  gradLengths: number[];
}

export interface LossDef {
  /** Kernel name: 'torch.mseLoss'. */
  name: string;
  args: ArgSpec[];
  options: Record<string, OptionSpec>;
  /** Reduction names to kernel codes (binding/kernels/loss_args.h). */
  reductions: Record<string, number>;
  defaultReduction: string;
  plan(ctx: PlanContext): Plan;
}

export const REDUCTION_NONE = 0;
export const REDUCTION_MEAN = 1;
export const REDUCTION_SUM = 2;
export const REDUCTION_BATCHMEAN = 3;

const enum Mode {
  Forward = 1,
  Backward = 2,
  WithGrad = 3,
}

const COMMON_OPTIONS = ['reduction', 'shape', 'out'];
const GRAD_OPTIONS = ['gradOutput'];
const EMPTY: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;
const scalars = params.subarray(SLOT.scalars);
const MAX_ARGS = 11;  // kernel inputs (6), out, gradients (3), gradOutput
const callArgs: (AnyTypedArray | null | undefined)[] = new Array(MAX_ARGS).fill(undefined);

interface Compiled {
  def: LossDef;
  id: number;
  inputCount: number;
  optionNames: string[];
  allowedForward: Set<string>;
  allowedGrad: Set<string>;
  gradArgs: string[];
  reductionCodes: Map<string, number>;
  reductionList: string;
}

interface Prepared {
  out: Float32Array | null;
  grads: Float32Array[];
}

function compile(def: LossDef): Compiled {
  const id = native.kernels[def.name];
  if (id === undefined) throw new Error(`fastloss: the native addon has no kernel ${def.name}; rebuild it (npm run build)`);
  const optionNames = Object.keys(def.options);
  const allowedForward = new Set([...COMMON_OPTIONS, ...optionNames]);
  return {
    def,
    id,
    inputCount: native.signatures[def.name].length,
    optionNames,
    allowedForward,
    allowedGrad: new Set([...allowedForward, ...GRAD_OPTIONS]),
    gradArgs: def.args.filter((a) => a.grad).map((a) => a.name),
    reductionCodes: new Map(Object.entries(def.reductions)),
    reductionList: Object.keys(def.reductions).map((r) => `'${r}'`).join(', '),
  };
}

function checkArg(fn: string, spec: ArgSpec, v: unknown): AnyTypedArray {
  switch (spec.kind) {
    case 'f32': return check.float32(fn, spec.name, v);
    case 'i32': return check.int32(fn, spec.name, v);
    default: return check.float32OrInt32(fn, spec.name, v);
  }
}

function outputBuffer(fn: string, arg: string, given: unknown, length: number): Float32Array {
  if (given === undefined) return new Float32Array(length);
  const out = check.float32(fn, arg, given);
  if (out.length !== length) throw check.rangeError(fn, arg, `has length ${out.length}; expected ${length}`);
  return out;
}

function gradBuffers(c: Compiled, given: unknown, lengths: number[], arg: string): Float32Array[] {
  const fn = c.def.name;
  if (c.gradArgs.length === 1) return [outputBuffer(fn, arg, given, lengths[0])];
  if (given !== undefined && (typeof given !== 'object' || given === null || ArrayBuffer.isView(given)))
    throw check.typeError(fn, arg, `must be an object keyed by ${c.gradArgs.join(', ')}`);
  const byName = (given ?? EMPTY) as Record<string, unknown>;
  return c.gradArgs.map((name, k) => outputBuffer(fn, `${arg}.${name}`, byName[name], lengths[k]));
}

function prepare(c: Compiled, mode: Mode, argv: unknown[]): Prepared {
  const def = c.def;
  const fn = def.name;
  const nArgs = def.args.length;
  if (argv.length < nArgs)
    throw check.typeError(fn, def.args[argv.length].name, 'is required');
  const rawOpts = argv[nArgs];
  if (argv.length > nArgs + 1) throw check.typeError(fn, 'arguments', `takes ${nArgs} arrays and an options object`);
  if (rawOpts !== undefined && (typeof rawOpts !== 'object' || rawOpts === null || ArrayBuffer.isView(rawOpts) || Array.isArray(rawOpts)))
    throw check.typeError(fn, 'opts', 'must be an options object');
  const opts = (rawOpts ?? EMPTY) as Record<string, unknown>;
  const allowed = mode === Mode.Forward ? c.allowedForward : c.allowedGrad;
  for (const key in opts) {
    if (!allowed.has(key)) {
      const hint = GRAD_OPTIONS.includes(key) ? ' (it applies to backward and withGrad)' : '';
      throw check.typeError(fn, `opts.${key}`, `is not an option of ${fn}${hint}`);
    }
  }

  const args: AnyTypedArray[] = new Array(nArgs);
  for (let i = 0; i < nArgs; i++) args[i] = checkArg(fn, def.args[i], argv[i]);

  const reductionName = opts.reduction === undefined ? def.defaultReduction : opts.reduction;
  const reduction = c.reductionCodes.get(reductionName as string);
  if (reduction === undefined)
    throw check.rangeError(fn, 'opts.reduction', `must be one of ${c.reductionList}, got ${JSON.stringify(reductionName)}`);

  scalars.fill(0);
  const values: Record<string, unknown> = {};
  for (const name of c.optionNames) {
    const spec = def.options[name];
    const given = opts[name];
    const value = given === undefined && spec.default === undefined ? undefined
      : spec.check(fn, `opts.${name}`, given === undefined ? spec.default : given);
    values[name] = value;
    if (spec.param !== undefined) scalars[spec.param] = Number(value);
  }

  const plan = def.plan({ fn, args, opts: values, shape: opts.shape, reduction: reductionName as string, scalars });
  const shape = plan.shape;
  params[SLOT.ndim] = shape.length;
  for (let d = 0; d < shape.length; d++) params[SLOT.dims + d] = shape[d];
  params[SLOT.gradScale] = 1;

  const none = reduction === REDUCTION_NONE;
  const givenOut = opts.out as { loss?: unknown; grad?: unknown } | undefined;
  let out: Float32Array | null = null;
  let grads: Float32Array[] = [];
  let gradOut: Float32Array | null = null;

  if (mode === Mode.Forward) {
    if (none) out = outputBuffer(fn, 'opts.out', givenOut, plan.outLength);
    else if (givenOut !== undefined) throw check.typeError(fn, 'opts.out', "is only used with reduction 'none'");
  } else {
    let lossOut: unknown;
    let gradOutBuf: unknown = givenOut;
    if (mode === Mode.WithGrad) {
      if (givenOut !== undefined && (typeof givenOut !== 'object' || givenOut === null || ArrayBuffer.isView(givenOut)))
        throw check.typeError(fn, 'opts.out', 'must be { loss?, grad? } for withGrad');
      lossOut = givenOut?.loss;
      gradOutBuf = givenOut?.grad;
      if (none) out = outputBuffer(fn, 'opts.out.loss', lossOut, plan.outLength);
      else if (lossOut !== undefined) throw check.typeError(fn, 'opts.out.loss', "is only used with reduction 'none'");
    }
    grads = gradBuffers(c, gradOutBuf, plan.gradLengths, mode === Mode.WithGrad ? 'opts.out.grad' : 'opts.out');
    const up = opts.gradOutput;
    if (typeof up === 'number') params[SLOT.gradScale] = up;
    else if (up !== undefined) {
      const arr = check.float32(fn, 'opts.gradOutput', up);
      if (none) {
        if (arr.length !== plan.outLength)
          throw check.rangeError(fn, 'opts.gradOutput', `has length ${arr.length}; the loss has ${plan.outLength} elements`);
        gradOut = arr;
      } else {
        if (arr.length !== 1) throw check.rangeError(fn, 'opts.gradOutput', 'must be a number (or one element) for a reduced loss');
        params[SLOT.gradScale] = arr[0];
      }
    }
  }

  if (givenOut !== undefined) checkOutputsApart(c, args, out, grads);
  // The call record the kernel reads (binding/kernels/loss_args.h), and its arrays in order.
  params[SLOT.kernel] = c.id;
  params[SLOT.flags] = mode | (out ? FLAG_HAS_OUT : 0) | (gradOut ? FLAG_HAS_GRAD_OUT : 0);
  params[SLOT.reduction] = reduction;
  params[SLOT.gradCount] = grads.length;
  if (plan.inputs.length !== c.inputCount)
    throw new Error(`fastloss: internal: ${fn} planned ${plan.inputs.length} kernel inputs, the kernel takes ${c.inputCount}`);
  let n = 0;
  for (const a of plan.inputs) callArgs[n++] = a;
  if (out) callArgs[n++] = out;
  for (const g of grads) callArgs[n++] = g;
  if (gradOut) callArgs[n++] = gradOut;
  while (n < MAX_ARGS) callArgs[n++] = undefined;
  return { out, grads };
}

// Caller-given outputs may overlap neither an input (kernels read inputs while they write)
// nor each other.
function checkOutputsApart(c: Compiled, args: AnyTypedArray[], out: Float32Array | null, grads: Float32Array[]): void {
  const first = out ? 1 : 0;
  const count = first + grads.length;
  for (let k = 0; k < count; k++) {
    const o = k < first ? out! : grads[k - first];
    for (let i = 0; i < args.length; i++)
      if (check.overlaps(o, args[i])) throw outputOverlap(c, k, first, `overlaps ${c.def.args[i].name}`);
    for (let j = 0; j < k; j++)
      if (check.overlaps(o, j < first ? out! : grads[j - first])) throw outputOverlap(c, k, first, 'overlaps another output');
  }
}

function outputOverlap(c: Compiled, k: number, first: number, what: string): RangeError {
  const label = k < first ? 'opts.out' : `opts.out (${c.gradArgs[k - first]} gradient)`;
  return check.rangeError(c.def.name, label, `${what}; pass a separate buffer`);
}

function gradResult(c: Compiled, grads: Float32Array[]): unknown {
  if (grads.length === 1) return grads[0];
  const byName: Record<string, Float32Array> = {};
  c.gradArgs.forEach((name, k) => { byName[name] = grads[k]; });
  return byName;
}

function result(c: Compiled, mode: Mode, p: Prepared, value: number): unknown {
  const loss = p.out ?? value;
  if (mode === Mode.Forward) return loss;
  const grad = gradResult(c, p.grads);
  return mode === Mode.Backward ? grad : { loss, grad };
}

function run(c: Compiled, mode: Mode, argv: unknown[]): unknown {
  const p = prepare(c, mode, argv);
  const a = callArgs;
  const value = native.run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  return result(c, mode, p, value);
}

function runAsync(c: Compiled, mode: Mode, argv: unknown[]): Promise<unknown> {
  let p: Prepared;
  try {
    p = prepare(c, mode, argv);
  } catch (e) {
    return Promise.reject(e);
  }
  const a = callArgs;
  const pending = native.runAsync(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  callArgs.fill(undefined);  // the worker holds its own references until it settles
  return pending.then((value) => result(c, mode, p, value));
}

/** Builds the function object of one loss from its table entry. */
export function defineLoss<L>(def: LossDef): L {
  const c = compile(def);
  const loss = function (...argv: unknown[]) { return run(c, Mode.Forward, argv); };
  const shortName = def.name.slice(def.name.indexOf('.') + 1);
  Object.defineProperty(loss, 'name', { value: shortName });
  Object.defineProperty(loss, 'lossName', { value: def.name, enumerable: true });
  Object.assign(loss, {
    backward: (...argv: unknown[]) => run(c, Mode.Backward, argv),
    withGrad: (...argv: unknown[]) => run(c, Mode.WithGrad, argv),
    async: (...argv: unknown[]) => runAsync(c, Mode.Forward, argv),
    withGradAsync: (...argv: unknown[]) => runAsync(c, Mode.WithGrad, argv),
  });
  return loss as unknown as L;
}
