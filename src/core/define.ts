// The one mechanism behind every loss: argument checks, options, output buffers, and the
// sync / async / backward / withGrad calls into the native kernel table.
import { accumulateMethod, ChunkParts, FLAG_REPORT_PARTS } from './accumulate';
import * as check from './check';
import { AnyTypedArray, FLAG_FRESH_OUT, FLAG_HAS_GRAD_OUT, FLAG_HAS_OUT, native, params, SLOT } from './native';

/** 'i32|count': an Int32Array, or one integer in [0, 2^31) for every element (ctx.counts). */
export type ArgKind = 'f32' | 'i32' | 'f32|i32' | 'i32|count';

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
  /** The kernel parameter (named in its .def entry) this option's value goes to. */
  param?: string;
  /** Per-row data (Keras sampleWeight): an accumulator takes it with each chunk, not once (accumulate.ts). */
  perChunk?: boolean;
}

export interface PlanContext {
  fn: string;
  /** Array arguments, type-checked, in call order (an empty Int32Array where a count was given). */
  args: AnyTypedArray[];
  /** The number given for an 'i32|count' argument, by position (undefined for an array). */
  counts: (number | undefined)[];
  /** Option values with defaults applied. */
  opts: Record<string, unknown>;
  /** opts.shape as given (undefined when absent). */
  shape: unknown;
  reduction: string;
  /** This call's kernel parameters (write them with setParam). */
  scalars: Float64Array;
  /** Parameter name to slot, for this loss's kernel. */
  paramSlots: ReadonlyMap<string, number>;
}

/** Sets a kernel parameter the plan derives (not an option's own value), by its .def name. */
export function setParam(ctx: PlanContext, name: string, value: number): void {
  const slot = ctx.paramSlots.get(name);
  if (slot === undefined) throw new Error(`fastloss: internal: ${ctx.fn} has no kernel parameter '${name}'`);
  ctx.scalars[slot] = value;
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
  /** Names of the kernel shape's dimensions ('T', 'N', 'C'), for kernel errors that name one. */
  dims?: string[];
  plan(ctx: PlanContext): Plan;
}

export const REDUCTION_NONE = native.reductions.none;
export const REDUCTION_MEAN = native.reductions.mean;
export const REDUCTION_SUM = native.reductions.sum;
export const REDUCTION_BATCHMEAN = native.reductions.batchmean;

const enum Mode {
  Forward = 1,
  Backward = 2,
  WithGrad = 3,
}

const COMMON_OPTIONS = ['reduction', 'shape', 'out', 'threads'];
const MAX_THREADS = native.info().maxThreads;
const GRAD_OPTIONS = ['gradOutput'];

// A call is prepared in a scratch copy of params, one per nesting level: a getter or `length`
// that calls fastloss again (re-entrancy) fills its own copy. params itself is written only
// just before native.run, when no user code can run any more.
const scratchByDepth: Float64Array[] = [];
const scalarsByDepth: Float64Array[] = [];
let depth = 0;

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
  paramSlots: ReadonlyMap<string, number>;
  /** Per option (optionNames order): the kernel parameter slot its value goes to, or -1. */
  optionSlots: number[];
  /** The snapshot of a call without options (shared: nothing to read). */
  noOptions: Snapshot;
}

interface Prepared {
  /** The loss's array arguments, checked, in call order. */
  args: AnyTypedArray[];
  out: Float32Array | null;
  grads: Float32Array[];
  /** run()'s arguments: kernel inputs, then out, gradients, gradOutput as flagged. */
  arrays: (AnyTypedArray | null | undefined)[];
  scratch: Float64Array;
}

function compile(def: LossDef): Compiled {
  const id = native.kernels[def.name];
  if (id === undefined) throw new Error(`fastloss: the native addon has no kernel ${def.name}; rebuild it (npm run build:all)`);
  const optionNames = Object.keys(def.options);
  // Parameter names resolved once, at load: a name the kernel does not declare fails here.
  const declared = native.params[def.name];
  const paramSlots = new Map(declared.map((name, slot) => [name, slot] as [string, number]));
  const optionSlots = optionNames.map((name) => {
    const param = def.options[name].param;
    if (param === undefined) return -1;
    const slot = paramSlots.get(param);
    if (slot === undefined)
      throw new Error(`fastloss: ${def.name}: option ${name} names kernel parameter '${param}', which the kernel does not declare (it has: ${declared.join(', ') || 'none'})`);
    return slot;
  });
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
    paramSlots,
    optionSlots,
    noOptions: Object.freeze({
      values: Object.freeze(new Array<unknown>(optionNames.length).fill(undefined)) as unknown[],
      reduction: undefined, shape: undefined, out: undefined, threads: undefined, lossOut: undefined, gradOut: undefined,
      gradOutByName: null, gradOutput: undefined,
    }),
  };
}

const NO_INT32 = new Int32Array(0);

function checkArg(fn: string, spec: ArgSpec, v: unknown, counts: (number | undefined)[], i: number): AnyTypedArray {
  switch (spec.kind) {
    case 'i32|count':
      if (typeof v !== 'number') return check.int32(fn, spec.name, v);
      if (!Number.isInteger(v) || v < 0 || v > 2147483647)
        throw check.rangeError(fn, spec.name, `must be an Int32Array or an integer from 0 to 2^31 - 1, got ${v}`);
      counts[i] = v;
      return NO_INT32;
    case 'f32': return check.float32(fn, spec.name, v);
    case 'i32': return check.int32(fn, spec.name, v);
    default: return check.float32OrInt32(fn, spec.name, v);
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !ArrayBuffer.isView(v);

/** The caller's output buffer of `length` elements, or a new one when none was given. */
function outputBuffer(fn: string, arg: string, given: unknown, length: number): Float32Array {
  if (given === undefined) {
    try {
      return new Float32Array(length);
    } catch {
      throw check.rangeError(fn, arg, `cannot be allocated: ${length} elements is more than this process can hold; pass opts.out`);
    }
  }
  const out = check.float32(fn, arg, given);
  if (out.length !== length) throw check.rangeError(fn, arg, `has length ${out.length}; expected ${length}`);
  return out;
}

// Every property of the caller's objects this call reads, each read exactly once, before anything
// is checked or written: getters run here and nowhere later.
interface Snapshot {
  /** Option values in optionNames order. */
  values: unknown[];
  reduction: unknown;
  shape: unknown;
  out: unknown;
  threads: unknown;
  lossOut: unknown;
  gradOut: unknown;
  /** withGrad/backward gradient buffers by argument name (several differentiable inputs). */
  gradOutByName: unknown[] | null;
  gradOutput: unknown;
}

function snapshot(c: Compiled, mode: Mode, argv: unknown[]): Snapshot {
  const def = c.def;
  const fn = def.name;
  const nArgs = def.args.length;
  if (argv.length < nArgs) throw check.typeError(fn, def.args[argv.length].name, 'is required');
  if (argv.length > nArgs + 1) throw check.typeError(fn, 'arguments', `takes ${nArgs} arrays and an options object`);
  const rawOpts = argv[nArgs];
  if (rawOpts === undefined) return c.noOptions;
  if (!isPlainObject(rawOpts) || Array.isArray(rawOpts))
    throw check.typeError(fn, 'opts', 'must be an options object');
  const opts = rawOpts as Record<string, unknown>;
  const allowed = mode === Mode.Forward ? c.allowedForward : c.allowedGrad;
  for (const key in opts) {
    if (!allowed.has(key)) {
      const hint = GRAD_OPTIONS.includes(key) ? ' (it applies to backward and withGrad)' : '';
      throw check.typeError(fn, `opts.${key}`, `is not an option of ${fn}${hint}`);
    }
  }
  const names = c.optionNames;
  const values = new Array<unknown>(names.length);
  for (let k = 0; k < names.length; k++) values[k] = opts[names[k]];
  const snap: Snapshot = {
    values,
    reduction: opts.reduction,
    shape: check.snapshotShape(opts.shape),
    out: opts.out,
    threads: opts.threads,
    lossOut: undefined,
    gradOut: undefined,
    gradOutByName: null,
    gradOutput: mode === Mode.Forward ? undefined : opts.gradOutput,
  };
  if (mode === Mode.Forward) return snap;
  let gradOut = snap.out;
  if (mode === Mode.WithGrad) {
    if (snap.out !== undefined && !isPlainObject(snap.out))
      throw check.typeError(fn, 'opts.out', 'must be { loss?, grad? } for withGrad');
    const o = snap.out as { loss?: unknown; grad?: unknown } | undefined;
    snap.lossOut = o?.loss;
    gradOut = o?.grad;
  }
  snap.gradOut = gradOut;
  if (c.gradArgs.length > 1 && gradOut !== undefined) {
    if (!isPlainObject(gradOut))
      throw check.typeError(fn, mode === Mode.WithGrad ? 'opts.out.grad' : 'opts.out', `must be an object keyed by ${c.gradArgs.join(', ')}`);
    const byName = gradOut as Record<string, unknown>;
    snap.gradOutByName = c.gradArgs.map((name) => byName[name]);
  }
  return snap;
}

function prepare(c: Compiled, mode: Mode, argv: unknown[]): Prepared {
  const level = depth++;
  try {
    return prepareAt(c, mode, argv, level);
  } finally {
    depth--;
  }
}

function prepareAt(c: Compiled, mode: Mode, argv: unknown[], level: number): Prepared {
  const snap = snapshot(c, mode, argv);
  const def = c.def;
  const fn = def.name;
  const nArgs = def.args.length;
  const args: AnyTypedArray[] = new Array(nArgs);
  const counts: (number | undefined)[] = new Array(nArgs).fill(undefined);
  for (let i = 0; i < nArgs; i++) args[i] = checkArg(fn, def.args[i], argv[i], counts, i);

  const reductionName = snap.reduction === undefined ? def.defaultReduction : snap.reduction;
  const reduction = typeof reductionName === 'string' ? c.reductionCodes.get(reductionName) : undefined;
  if (reduction === undefined)
    throw check.rangeError(fn, 'opts.reduction', `must be one of ${c.reductionList}, got ${check.show(reductionName)}`);

  while (scratchByDepth.length <= level) {  // a re-entrant call may be the first to reach its level
    const buffer = new Float64Array(params.length);
    scratchByDepth.push(buffer);
    scalarsByDepth.push(buffer.subarray(SLOT.scalars));
  }
  const scratch = scratchByDepth[level];
  const scalars = scalarsByDepth[level];
  scalars.fill(0);  // every other slot is written below
  const values: Record<string, unknown> = {};
  for (let k = 0; k < c.optionNames.length; k++) {
    const name = c.optionNames[k];
    const spec = def.options[name];
    const given = snap.values[k];
    const value = given === undefined && spec.default === undefined ? undefined
      : spec.check(fn, `opts.${name}`, given === undefined ? spec.default : given);
    values[name] = value;
    if (c.optionSlots[k] >= 0) scalars[c.optionSlots[k]] = Number(value);
  }

  const plan = def.plan({ fn, args, counts, opts: values, shape: snap.shape, reduction: reductionName as string, scalars,
    paramSlots: c.paramSlots });
  const shape = plan.shape;
  scratch[SLOT.ndim] = shape.length;
  for (let d = 0; d < shape.length; d++) scratch[SLOT.dims + d] = shape[d];
  scratch[SLOT.gradScale] = 1;
  scratch[SLOT.threads] = snap.threads === undefined ? 0 : check.threadCount(fn, 'opts.threads', snap.threads, MAX_THREADS);

  const none = reduction === REDUCTION_NONE;
  let out: Float32Array | null = null;
  let grads: Float32Array[] = [];
  let gradOut: Float32Array | null = null;

  if (mode === Mode.Forward) {
    if (none) out = outputBuffer(fn, 'opts.out', snap.out, plan.outLength);
    else if (snap.out !== undefined) throw check.typeError(fn, 'opts.out', "is only used with reduction 'none'");
  } else {
    if (mode === Mode.WithGrad) {
      if (none) out = outputBuffer(fn, 'opts.out.loss', snap.lossOut, plan.outLength);
      else if (snap.lossOut !== undefined) throw check.typeError(fn, 'opts.out.loss', "is only used with reduction 'none'");
    }
    const label = mode === Mode.WithGrad ? 'opts.out.grad' : 'opts.out';
    grads = c.gradArgs.length === 1
      ? [outputBuffer(fn, label, snap.gradOut, plan.gradLengths[0])]
      : c.gradArgs.map((name, k) => outputBuffer(fn, `${label}.${name}`, snap.gradOutByName?.[k], plan.gradLengths[k]));
    const up = snap.gradOutput;
    if (typeof up === 'number') scratch[SLOT.gradScale] = up;
    else if (up !== undefined) {
      const arr = check.float32(fn, 'opts.gradOutput', up);
      if (none) {
        if (arr.length !== plan.outLength)
          throw check.rangeError(fn, 'opts.gradOutput', `has length ${arr.length}; the loss has ${plan.outLength} elements`);
        gradOut = arr;
      } else {
        if (arr.length !== 1) throw check.rangeError(fn, 'opts.gradOutput', 'must be a number (or one element) for a reduced loss');
        scratch[SLOT.gradScale] = arr[0];
      }
    }
  }

  // Outputs allocated here (the caller gave none) are fresh: async calls may write them in place.
  // Caller outputs must not overlap an input or each other: the native layer checks that on the
  // real addresses, and nativeError names the arguments.
  let freshBits = 0;
  if (out && (mode === Mode.Forward ? snap.out : snap.lossOut) === undefined) freshBits |= FLAG_FRESH_OUT;
  for (let k = 0; k < grads.length; k++)
    if ((c.gradArgs.length === 1 ? snap.gradOut : snap.gradOutByName?.[k]) === undefined) freshBits |= FLAG_FRESH_OUT << (1 + k);
  if (plan.inputs.length !== c.inputCount)
    throw new Error(`fastloss: internal: ${fn} planned ${plan.inputs.length} kernel inputs, the kernel takes ${c.inputCount}`);
  // The call record the kernel reads (binding/kernels/loss_args.h), and its arrays in order.
  const hasOut = out !== null;
  scratch[SLOT.kernel] = c.id;
  scratch[SLOT.flags] = mode | (hasOut ? FLAG_HAS_OUT : 0) | (gradOut ? FLAG_HAS_GRAD_OUT : 0) | freshBits;
  scratch[SLOT.reduction] = reduction;
  scratch[SLOT.gradCount] = grads.length;
  const arrays: (AnyTypedArray | null | undefined)[] = plan.inputs;  // this call's own array: extended in place
  if (hasOut) arrays.push(out);
  for (const g of grads) arrays.push(g);
  if (gradOut) arrays.push(gradOut);
  return { args, out, grads, arrays, scratch };
}

function outputOverlap(c: Compiled, k: number, first: number, what: string): RangeError {
  const label = k < first ? 'opts.out' : `opts.out (${c.gradArgs[k - first]} gradient)`;
  return check.rangeError(c.def.name, label, `${what}; pass a separate buffer`);
}

/** What an output overlapped, from the native layer's overlapSlot (see checkOutputsApart in addon.cpp). */
function overlapTarget(c: Compiled, p: Prepared, args: AnyTypedArray[] | null, other: unknown): string {
  const maxInputs = native.maxInputs;
  if (typeof other !== 'number') return 'an input or another output';
  if (other === maxInputs) return 'opts.gradOutput';
  if (other > maxInputs) return 'another output';
  const input = p.arrays[other];
  const i = args ? args.indexOf(input as AnyTypedArray) : -1;
  return i >= 0 ? c.def.args[i].name : 'an option array';
}

/** A kernel's refusal as data (binding/kernels/loss_args.h KernelError, code ERR_FASTLOSS_KERNEL). */
interface KernelFault {
  reason: string;
  slot: number;
  param: number;
  index: number;
  value: number;
  bound: number[];
}

/**
 * The argument the caller passed as kernel input `slot`. (Kernels check arguments only; an option
 * array would read `input <slot>`: naming it would mean keeping every call's options alive, which
 * measurably grows RSS in test/leak.test.ts.)
 */
function inputName(c: Compiled, p: Prepared, slot: number): string {
  const input = p.arrays[slot];
  const i = input ? p.args.indexOf(input as AnyTypedArray) : -1;
  return i >= 0 ? c.def.args[i].name : `input ${slot}`;
}

/** How the caller set kernel parameter `param`: the option feeding it, else its .def name. */
function paramName(c: Compiled, param: number): string {
  const k = c.optionSlots.indexOf(param);
  if (k >= 0) return `opts.${c.optionNames[k]}`;
  return native.params[c.def.name]?.[param] ?? `parameter ${param}`;
}

/** Kernel shape dimension k as the loss documents it: 'T = 5'. */
function dimName(c: Compiled, k: number, size: number): string {
  return `${c.def.dims?.[k] ?? `dims[${k}]`} = ${size}`;
}

/** A number as C's %g shows it: 7 significant digits (a float32 element reads as typed). */
function shown(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(7))) : String(v);
}

/** The message of a kernel error, worded here where the argument and option names are known. */
function kernelErrorMessage(c: Compiled, p: Prepared, f: KernelFault): string {
  const input = f.slot >= 0 ? inputName(c, p, f.slot) : '';
  const at = `${input}[${f.index}]`;
  const v = shown(f.value);
  const [b0, b1, b2] = f.bound;
  let what: string;
  switch (f.reason) {
    case 'OutsideUnitInterval': what = `${at} = ${v}; all elements of ${input} should be between 0 and 1`; break;
    case 'Negative': what = `${at} = ${v} is negative; ${input} must be >= 0`; break;
    case 'LengthMismatch': what = `${input} has length ${v}; expected ${b0} (one per element) or ${b1} (one per row)`; break;
    case 'ClassOutOfRange':
      what = `${at} is ${v}; expected a class index in [0, ${b0})${f.param >= 0 ? ` or ${paramName(c, f.param)} (${b1})` : ''}`;
      break;
    case 'ClassOrPadOutOfRange': what = `${at} is ${v}; expected a class index in [0, ${b0}) or -1`; break;
    case 'ClassIsBlankOrOutOfRange': what = `${at} is ${v}; expected a class in [0, ${b0}) other than the blank (${b1})`; break;
    case 'LabelOrBlankOutOfRange': what = `${at} is ${v}; expected a label in [1, ${b0}) or 0 (the blank, padding the end)`; break;
    case 'LabelAfterBlank': what = `${at} is ${v} after a 0 in its row; 0 (the blank) may only pad the end of a row`; break;
    case 'NotPlusMinusOne': what = `${at} is ${v}; expected 1 or -1`; break;
    case 'ChangedDuringCall': what = `${at} changed during the call to a value outside [0, ${b0})`; break;
    case 'UnsupportedValue': what = `${paramName(c, f.param)} is ${v}; expected ${b0} or ${b1}`; break;
    case 'IndexParamOutOfRange': what = `${paramName(c, f.param)} is ${v}; expected an integer in [0, ${dimName(c, b1, b0)})`; break;
    case 'AxisOutOfRange': what = `${paramName(c, f.param)} is ${v}, out of range for ${b0} dimensions`; break;
    case 'WrongRank': what = `opts.shape has ${v} dimensions; expected ${b0}${c.def.dims ? ` ([${c.def.dims.join(', ')}])` : ''}`; break;
    case 'EmptyBlankDim': what = `${input} has no classes (${dimName(c, b1, 0)}); class 0 is the blank`; break;
    case 'LengthOutsideDim': what = `${at} is ${v}; expected 0 to ${dimName(c, b1, b0)}`; break;
    case 'LengthAboveWidth':
      what = `${at} is ${v}, more than the padded target width S = ${b0} (targets [N, S] of length ${b1}; ` +
        `concatenated targets would have length ${b2})`;
      break;
    case 'LengthNotSumNorMultiple':
      what = `${input} has length ${v}: neither the sum of ${inputName(c, p, b2)} (${b0}, concatenated) nor a multiple ` +
        `of N = ${b1} (padded [N, S])`;
      break;
    case 'LengthNotMultiple': what = `${input} has length ${v}; expected [N, S] labels with N = ${b0}`; break;
    case 'OutOfMemory': what = `out of memory (no scratch for ${b0} rows of ${b1} values)`; break;
    default: what = `kernel error ${f.reason}`; break;
  }
  return `${c.def.name}: ${what}`;
}

// Errors from the native layer, as errors of this realm (the addon creates its errors in the realm
// that first loaded it: under jest or vm, `instanceof RangeError` would fail). Errors about one
// output carry its slot (0 'out', 1 + k gradient k) and a code, and are named here as the facade
// names arguments; a kernel's error carries its data (KernelFault) and is worded here.
function nativeError(c: Compiled, mode: Mode, p: Prepared, e: unknown): unknown {
  if (typeof e !== 'object' || e === null) return e;
  const { name, message, outputSlot, overlapSlot, code } =
    e as { name?: unknown; message?: unknown; outputSlot?: unknown; overlapSlot?: unknown; code?: unknown };
  if (typeof message !== 'string' || (name !== 'RangeError' && name !== 'TypeError')) return e;
  if (code === 'ERR_FASTLOSS_KERNEL') {
    const text = kernelErrorMessage(c, p, e as KernelFault);
    return name === 'RangeError' ? new RangeError(text) : new TypeError(text);
  }
  if (typeof outputSlot === 'number') {
    const first = p.out ? 1 : 0;
    const k = outputSlot === 0 ? 0 : outputSlot - 1 + first;
    if (code === 'ERR_FASTLOSS_DETACHED') {
      return check.typeError(c.def.name, outputLabel(c, mode, k, first),
        'was detached, transferred or resized during the async call; nothing was written');
    }
    return outputOverlap(c, k, first, `overlaps ${overlapTarget(c, p, p.args, overlapSlot)}`);
  }
  return name === 'RangeError' ? new RangeError(message) : new TypeError(message);
}

/** How the caller named output k (out first when there is one, then the gradients). */
function outputLabel(c: Compiled, mode: Mode, k: number, first: number): string {
  if (k < first) return mode === Mode.WithGrad ? 'opts.out.loss' : 'opts.out';
  const base = mode === Mode.WithGrad ? 'opts.out.grad' : 'opts.out';
  return c.gradArgs.length === 1 ? base : `${base}.${c.gradArgs[k - first]}`;
}

function gradResult(c: Compiled, grads: Float32Array[]): unknown {
  if (grads.length === 1) return grads[0];
  const byName: Record<string, Float32Array> = {};
  c.gradArgs.forEach((name, k) => { byName[name] = grads[k]; });
  return byName;
}

function result(c: Compiled, mode: Mode, out: Float32Array | null, grads: Float32Array[], value: number): unknown {
  const loss = out ?? value;
  if (mode === Mode.Forward) return loss;
  const grad = gradResult(c, grads);
  return mode === Mode.Backward ? grad : { loss, grad };
}

function run(c: Compiled, mode: Mode, argv: unknown[]): unknown {
  const p = prepare(c, mode, argv);
  const a = p.arrays;
  params.set(p.scratch);
  let value: number;
  try {
    value = native.run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  } catch (e) {
    throw nativeError(c, mode, p, e);
  }
  return result(c, mode, p.out, p.grads, value);
}

function runAsync(c: Compiled, mode: Mode, argv: unknown[]): Promise<unknown> {
  let pending: Promise<number>;
  let p: Prepared;
  try {
    p = prepare(c, mode, argv);
    const a = p.arrays;
    params.set(p.scratch);
    try {
      pending = native.runAsync(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
    } catch (e) {
      throw nativeError(c, mode, p, e);
    }
  } catch (e) {
    return Promise.reject(e);
  }
  return pending.then((value) => result(c, mode, p.out, p.grads, value), (e) => { throw nativeError(c, mode, p, e); });
}

// Streaming accumulators (accumulate.ts): a reduced forward call whose kernel reports its parts
// (total, divisor, items) instead of their quotient, and the chunk's logical shape.
function prepareParts(c: Compiled, argv: unknown[]): { p: Prepared; shape: number[] } {
  const p = prepare(c, Mode.Forward, argv);
  p.scratch[SLOT.flags] += FLAG_REPORT_PARTS;
  const shape: number[] = [];
  for (let d = 0; d < p.scratch[SLOT.ndim]; d++) shape.push(p.scratch[SLOT.dims + d]);
  return { p, shape };
}
const partsOf = (r: unknown, shape: number[]): ChunkParts => {
  const [total, divisor, items] = r as number[];
  return { total, divisor, items, shape };
};
function runParts(c: Compiled, argv: unknown[]): ChunkParts {
  const { p, shape } = prepareParts(c, argv);
  return partsOf(run1(c, p, false), shape);
}
function runPartsAsync(c: Compiled, argv: unknown[]): Promise<ChunkParts> {
  try {
    const { p, shape } = prepareParts(c, argv);
    return (run1(c, p, true) as Promise<unknown>).then((r) => partsOf(r, shape), (e) => { throw nativeError(c, Mode.Forward, p, e); });
  } catch (e) {
    return Promise.reject(e);
  }
}
function run1(c: Compiled, p: Prepared, async: boolean): unknown {
  const a = p.arrays;
  params.set(p.scratch);
  try {
    return async ? native.runAsync(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10])
      : native.run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  } catch (e) {
    throw nativeError(c, Mode.Forward, p, e);
  }
}

// Every defined loss's table entry, by name: the source of fastloss.losses() and the class forms.
const definitions = new Map<string, LossDef>();

/** The LossDef a loss was defined from ('torch.mseLoss'), or undefined. */
export function definitionOf(name: string): LossDef | undefined {
  return definitions.get(name);
}
/** The same map for the CLI (`fastloss list`). */
export const lossDefs: ReadonlyMap<string, LossDef> = definitions;

/** Builds the function object of one loss from its table entry. */
export function defineLoss<L>(def: LossDef): L {
  const c = compile(def);
  definitions.set(def.name, def);
  const loss = function (...argv: unknown[]) { return run(c, Mode.Forward, argv); };
  const shortName = def.name.slice(def.name.indexOf('.') + 1);
  Object.defineProperty(loss, 'name', { value: shortName });
  Object.defineProperty(loss, 'lossName', { value: def.name, enumerable: true });
  Object.defineProperty(loss, 'defaultReduction', { value: def.defaultReduction, enumerable: true });
  Object.assign(loss, {
    backward: (...argv: unknown[]) => run(c, Mode.Backward, argv),
    withGrad: (...argv: unknown[]) => run(c, Mode.WithGrad, argv),
    async: (...argv: unknown[]) => runAsync(c, Mode.Forward, argv),
    withGradAsync: (...argv: unknown[]) => runAsync(c, Mode.WithGrad, argv),
    accumulate: accumulateMethod(def, { run: (argv) => runParts(c, argv), runAsync: (argv) => runPartsAsync(c, argv) }),
  });
  return loss as unknown as L;
}
