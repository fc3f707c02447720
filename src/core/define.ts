// The one mechanism behind every loss: argument checks, options, output buffers, and the
// sync / async / backward / withGrad calls into the native kernel table.
import { accumulateMethod, ChunkParts, FLAG_REPORT_PARTS } from './accumulate';
import * as check from './check';
import * as tensor from './tensor';
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
const RESULT = SLOT.result;

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
  /** The argument position of each gradient. */
  gradArgIndex: number[];
  reductionCodes: Map<string, number>;
  reductionList: string;
  paramSlots: ReadonlyMap<string, number>;
  /** Per option (optionNames order): the kernel parameter slot its value goes to, or -1. */
  optionSlots: number[];
  /** The snapshot of a call without options (shared: nothing to read). */
  noOptions: Snapshot;
  /** The argument whose shape is the kernel's (the first differentiable one): a tensor-like's shape goes there. */
  shapeArg: number;
  /** By Mode: the last no-options call's record, reused while lengths and element types repeat. */
  fast: (FastPlan | null)[];
  /** By Mode: the last record of a call with options of plain values only (optionKey), reused while they repeat too. */
  fastOptions: (FastPlan | null)[];
  /** This loss's native plan slots: planBase + mode (no options), planBase + 4 + mode (options). */
  planBase: number;
}

let nextPlanBase = 0;

/**
 * A call without options, prepared once: what prepare() computed depends only on the arguments'
 * lengths and element types (no options, no counts), so a call whose arguments match reuses it.
 */
interface FastPlan {
  /** The native plan slot holding this record (native.setPlan). */
  slot: number;
  /** The options it was made with (optionKey), null for none. */
  key: unknown[] | null;
  tags: string[];
  /** Per argument: its true length, or -1 for a kernel input (runPlan checks its length: setPlan's inputLengths). */
  lengths: number[];
  /** Per kernel input: its element count in every call (setPlan's lengths), -1 when absent. */
  inputLengths: number[];
  /** params as prepare() wrote them. */
  image: Float64Array;
  /** Per kernel input: the argument it is, OPTION_INPUT + k for option value k, or -1 for none. */
  inputArg: number[];
  /** setPlan's masks: kernel inputs that are Int32Arrays, optional ones absent. */
  intMask: number;
  absentMask: number;
  /** Length of 'out', or -1 for none. */
  outLength: number;
  gradLengths: number[];
  /** runPlan's arguments by pick() code: the present kernel inputs (argument i: i, option value k: OPTION_INPUT + k), then out (5) and the gradients (6 + k). */
  layout: number[];
}

interface Prepared {
  /** The loss's array arguments, checked, in call order. */
  args: AnyTypedArray[];
  /** The tensor-like arguments by position (null: none was given). */
  tensors: (tensor.TensorArg | undefined)[] | null;
  /** The logical shape the tensor-like results take (opts.shape, a tensor's, or the plan's). */
  logicalShape: readonly number[];
  plan: Plan;
  opts: Record<string, unknown>;
  /** A record for later calls with the same arguments, when this call may give one. */
  fastPlan: FastPlan | null;
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
    gradArgIndex: def.args.flatMap((a, i) => (a.grad ? [i] : [])),
    reductionCodes: new Map(Object.entries(def.reductions)),
    reductionList: Object.keys(def.reductions).map((r) => `'${r}'`).join(', '),
    paramSlots,
    optionSlots,
    noOptions: Object.freeze({
      values: Object.freeze(new Array<unknown>(optionNames.length).fill(undefined)) as unknown[],
      reduction: undefined, shape: undefined, shapeCopied: false, out: undefined, threads: undefined, lossOut: undefined, gradOut: undefined,
      gradOutByName: null, gradOutput: undefined,
    }),
    shapeArg: Math.max(0, def.args.findIndex((a) => a.grad)),
    fast: [null, null, null, null],
    fastOptions: [null, null, null, null],
    planBase: (nextPlanBase += 8) - 8,
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

// Not an array: `out: { grad: [g0, g1] }` (or `out: [...]`) was read as an object without the named keys and
// ignored, the gradients going to new arrays.
const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v);

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
  /** opts.shape was an array of at most 64 entries, copied here (`shape` is the copy): it may key a record. */
  shapeCopied: boolean;
  out: unknown;
  threads: unknown;
  lossOut: unknown;
  gradOut: unknown;
  /** withGrad/backward gradient buffers by argument name (several differentiable inputs). */
  gradOutByName: unknown[] | null;
  gradOutput: unknown;
}

function snapshot(c: Compiled, mode: Mode, argv: unknown[]): Snapshot {
  return snapshotOf(c, mode, argv.length, argv[c.def.args.length]);
}

/** snapshot() of a call with argc arguments, rawOpts the one after the arrays. */
function snapshotOf(c: Compiled, mode: Mode, argc: number, rawOpts: unknown): Snapshot {
  const def = c.def;
  const fn = def.name;
  const nArgs = def.args.length;
  if (argc < nArgs) throw check.typeError(fn, def.args[argc].name, 'is required');
  if (argc > nArgs + 1) throw check.typeError(fn, 'arguments', `takes ${nArgs} arrays and an options object`);
  if (rawOpts === undefined) return c.noOptions;
  if (!isPlainObject(rawOpts)) throw check.typeError(fn, 'opts', 'must be an options object');
  const opts = rawOpts as Record<string, unknown>;
  checkOptionNames(c, mode, opts);
  const names = c.optionNames;
  const values = new Array<unknown>(names.length);
  for (let k = 0; k < names.length; k++) values[k] = opts[names[k]];
  const rawShape = opts.shape;
  const shape = check.snapshotShape(rawShape);
  const reduction = opts.reduction;
  const out = opts.out;
  const threads = opts.threads;
  const gradOutput = mode === Mode.Forward ? undefined : opts.gradOutput;
  const outs: unknown[] = [];
  readOutputs(c, mode, out, outs);
  return snapshotRest(c, mode, values, shape, shape !== rawShape, reduction, out, threads, gradOutput, outs);
}

/** Refuses an option name this loss and mode do not take (the keys only: no getter runs). */
function checkOptionNames(c: Compiled, mode: Mode, opts: Record<string, unknown>): void {
  const allowed = mode === Mode.Forward ? c.allowedForward : c.allowedGrad;
  for (const key in opts) {
    if (!allowed.has(key)) {
      const fn = c.def.name;
      const hint = GRAD_OPTIONS.includes(key) ? ' (it applies to backward and withGrad)' : tensor.optionHint(key, allowed);
      throw check.typeError(fn, `opts.${key}`, `is not an option of ${fn}${hint}`);
    }
  }
}

/**
 * Reads the caller's outputs from opts.out, in the snapshot's order, into outs (outputGiven's
 * order: the 'none' loss, then each gradient; undefined where not given).
 */
function readOutputs(c: Compiled, mode: Mode, out: unknown, outs: unknown[]): void {
  const fn = c.def.name;
  const m = c.gradArgs.length;
  outs[0] = mode === Mode.Forward ? out : undefined;
  for (let j = 1; j <= m; j++) outs[j] = undefined;
  if (mode === Mode.Forward) return;
  let gradOut = out;
  if (mode === Mode.WithGrad) {
    if (out !== undefined && !isPlainObject(out)) throw check.typeError(fn, 'opts.out', 'must be { loss?, grad? } for withGrad');
    const o = out as { loss?: unknown; grad?: unknown } | undefined;
    outs[0] = o?.loss;
    gradOut = o?.grad;
  }
  if (m === 1) outs[1] = gradOut;
  else if (gradOut !== undefined) {
    if (!isPlainObject(gradOut))
      throw check.typeError(fn, mode === Mode.WithGrad ? 'opts.out.grad' : 'opts.out', `must be an object keyed by ${c.gradArgs.join(', ')}`);
    for (let k = 0; k < m; k++) outs[1 + k] = (gradOut as Record<string, unknown>)[c.gradArgs[k]];
  }
}

/** The snapshot of options read in snapshotOf's order; outs: opts.out's fields as readOutputs gave them. */
function snapshotRest(c: Compiled, mode: Mode, values: unknown[], shape: unknown, shapeCopied: boolean, reduction: unknown,
  out: unknown, threads: unknown, gradOutput: unknown, outs: unknown[]): Snapshot {
  const m = c.gradArgs.length;
  return {
    values,
    reduction,
    shape,
    shapeCopied,
    out,
    threads,
    lossOut: mode === Mode.WithGrad ? outs[0] : undefined,
    gradOut: mode === Mode.Forward ? undefined : outs[1],
    gradOutByName: mode !== Mode.Forward && m > 1 ? outs.slice(1, 1 + m) : null,
    gradOutput,
  };
}

function prepare(c: Compiled, mode: Mode, argv: unknown[], snap?: Snapshot): Prepared {
  const level = depth++;
  try {
    return prepareAt(c, mode, argv, level, snap);
  } finally {
    depth--;
  }
}

function prepareAt(c: Compiled, mode: Mode, argv: unknown[], level: number, given?: Snapshot): Prepared {
  const snap = given ?? snapshot(c, mode, argv);
  const def = c.def;
  const fn = def.name;
  const nArgs = def.args.length;
  const args: AnyTypedArray[] = new Array(nArgs);
  const counts: (number | undefined)[] = new Array(nArgs).fill(undefined);
  let tensors: (tensor.TensorArg | undefined)[] | null = null;
  for (let i = 0; i < nArgs; i++) {
    const spec = def.args[i];
    const t = tensor.readTensorLike(fn, spec.name, argv[i]);
    if (t === undefined) {
      args[i] = checkArg(fn, spec, argv[i], counts, i);
    } else {
      (tensors ??= new Array(nArgs))[i] = t;
      args[i] = checkArg(fn, { ...spec, name: `${spec.name}.data` }, t.data, counts, i);
    }
  }
  // A tensor-like's shape is the kernel shape (the first differentiable argument's, else one that
  // must have it); opts.shape, when also given, must agree.
  let shapeGiven = snap.shape;
  if (tensors !== null) {
    const from = tensor.shapeSource(def.name, def.args, tensors, c.shapeArg, args);
    if (from >= 0) {
      const ts = tensors[from]!.shape;
      if (shapeGiven !== undefined && !tensor.sameShape(shapeGiven, ts))
        throw check.rangeError(fn, 'opts.shape', `${tensor.shapeText(shapeGiven)} disagrees with the shape ${tensor.shapeText(ts)} of ${def.args[from].name}`);
      shapeGiven = ts;
    }
  }

  const reductionName = snap.reduction === undefined ? def.defaultReduction : snap.reduction;
  const reduction = typeof reductionName === 'string' ? c.reductionCodes.get(reductionName) : undefined;
  if (reduction === undefined)
    throw check.rangeError(fn, 'opts.reduction', `must be one of ${c.reductionList}, got ${check.show(reductionName)}${tensor.reductionHint(def.name, reductionName, c.reductionCodes)}`);

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

  const plan = def.plan({ fn, args, counts, opts: values, shape: shapeGiven, reduction: reductionName as string, scalars,
    paramSlots: c.paramSlots });
  const shape = plan.shape;
  const logicalShape = (shapeGiven as readonly number[] | undefined) ?? shape;
  if (tensors !== null) tensor.checkConsistent(fn, def.name, def.args, tensors, args, logicalShape);
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
  const key = snap === c.noOptions ? null : optionKey(c, mode, snap);
  const fastPlan = tensors === null && (snap === c.noOptions || key !== null) ? fastPlanOf(c, mode, argv, args, plan, out, grads, snap) : null;
  if (fastPlan !== null) fastPlan.key = key;
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
  if (fastPlan !== null) {
    fastPlan.image = scratch.slice();
    fastPlan.outLength = hasOut ? plan.outLength : -1;
    fastPlan.layout = fastPlan.inputArg.filter((i) => i >= 0);  // absent inputs: setPlan's absentMask, no argument
    if (hasOut) fastPlan.layout.push(5);
    for (let k = 0; k < grads.length; k++) fastPlan.layout.push(6 + k);
  }
  return { args, tensors, logicalShape, plan, opts: values, fastPlan, out, grads, arrays, scratch };
}

/**
 * The record later calls with these argument lengths and types may reuse, or null when this call
 * cannot give one: every argument a real non-empty typed array used as given, every kernel input
 * one of them, an array option as given or none (a plan that derives an array is not reused), and
 * every caller output used as given. The plan may read arrays' lengths, never their elements.
 */
function fastPlanOf(c: Compiled, mode: Mode, argv: unknown[], args: AnyTypedArray[], plan: Plan, out: Float32Array | null,
  grads: Float32Array[], snap: Snapshot): FastPlan | null {
  const tags: string[] = [];
  const lengths: number[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a !== argv[i] || a.length === 0) return null;
    tags.push(check.isInt32Array(a) ? 'Int32Array' : 'Float32Array');
    lengths.push(a.length);
  }
  const values = snap.values;
  const inputArg: number[] = [];
  const inputLengths: number[] = [];
  let intMask = 0;
  let absentMask = 0;
  for (let s = 0; s < plan.inputs.length; s++) {
    const input = plan.inputs[s];
    const i = input ? sourceOf(input, args, values) : -1;
    if (i === -2) return null;
    inputArg.push(i);
    inputLengths.push(input ? input.length : -1);
    if (i < 0) absentMask |= 1 << s;
    else if (check.isInt32Array(input)) intMask |= 1 << s;
    if (i >= 0 && i < OPTION_INPUT) lengths[i] = -1;  // runPlan checks it
  }
  // an array option reaches the kernel as given (its elements are the kernel's to read)
  for (let k = 0; k < values.length; k++) if (ArrayBuffer.isView(values[k]) && !inputArg.includes(OPTION_INPUT + k)) return null;
  for (let j = 0; j <= grads.length; j++) {
    const given = outputGiven(c, mode, snap, j);
    if (given !== undefined && given !== (j === 0 ? out : grads[j - 1])) return null;
  }
  return { slot: -1, key: null, tags, lengths, inputLengths, image: params, inputArg, intMask, absentMask, outLength: -1,
    gradLengths: grads.map((g) => g.length), layout: [] };
}

/**
 * The one argument (i) or option value (OPTION_INPUT + k) a kernel input is, else -2: none, or
 * several (loss(x, x): a later loss(x, y) would pass x twice).
 */
function sourceOf(input: AnyTypedArray, args: AnyTypedArray[], values: unknown[]): number {
  const i = args.indexOf(input);
  const k = values.indexOf(input);
  if (i >= 0) return args.lastIndexOf(input) === i && k < 0 ? i : -2;
  return k >= 0 && values.lastIndexOf(input) === k ? OPTION_INPUT + k : -2;
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
    if (code === 'ERR_FASTLOSS_READONLY') {
      return check.typeError(c.def.name, outputLabel(c, mode, k, first),
        'is a view of a mapped file (read-only); pass a writable array');
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

function gradResult(c: Compiled, p: Prepared, grads: Float32Array[]): unknown {
  const wrap = (k: number) => (p.tensors === null ? grads[k] : tensor.gradientResult(p.tensors, c.gradArgIndex[k], grads[k], p.logicalShape));
  if (grads.length === 1) return wrap(0);
  const byName: Record<string, unknown> = {};
  c.gradArgs.forEach((name, k) => { byName[name] = wrap(k); });
  return byName;
}

function result(c: Compiled, mode: Mode, p: Prepared, value: number): unknown {
  const out = p.out;
  const loss = out === null ? value
    : p.tensors === null ? out
      : tensor.noneResult(c.def.name, p.tensors, c.shapeArg, out, p.logicalShape, p.opts, p.plan.outLength);
  if (mode === Mode.Forward) return loss;
  const grad = gradResult(c, p, p.grads);
  return mode === Mode.Backward ? grad : { loss, grad };
}

/**
 * A typed array in a record's key: a call matches it with any real typed array of that type. Its
 * length is runPlan's to check: an array option is a kernel input (setPlan's lengths), an output
 * has the length the record's shape gives (another one: runPlan's error, the full path's message).
 */
class ArrayKey {
  constructor(readonly tag: string) {}
}

/** Whether a call's value v matches a record's key entry k. */
function matches(k: unknown, v: unknown): boolean {
  return k instanceof ArrayKey ? check.typedArrayTag(v) === k.tag : Object.is(k, v);
}

/** The caller's output j of this call: 0 the 'none' loss (out / out.loss), 1 + k gradient k; undefined when not given. */
function outputGiven(c: Compiled, mode: Mode, snap: Snapshot, j: number): unknown {
  if (j === 0) return mode === Mode.Forward ? snap.out : snap.lossOut;
  if (mode === Mode.Forward) return undefined;
  return c.gradArgs.length === 1 ? snap.gradOut : snap.gradOutByName?.[j - 1];
}

/**
 * The options of a call that may be recorded, in a fixed order; null when one is an object other
 * than a typed array (or gradOutput an array, whose elements a reduced call reads). The key:
 * [reduction, threads, shape length (undefined: no shape), gradOutput, ...values, ...shape, ...outputs
 * (outputGiven)], typed arrays as their ArrayKey: the record takes any arrays of their types and lengths.
 */
function optionKey(c: Compiled, mode: Mode, snap: Snapshot): unknown[] | null {
  if (snap.gradOutput !== undefined && typeof snap.gradOutput !== 'number') return null;
  if (snap.shape !== undefined && !snap.shapeCopied) return null;
  const shape = snap.shape as unknown[] | undefined;
  const key = [snap.reduction, snap.threads, shape?.length, snap.gradOutput, ...snap.values];
  if (shape !== undefined) for (const d of shape) if (typeof d === 'number') key.push(d); else return null;
  for (let j = 0; j <= c.gradArgs.length; j++) key.push(outputGiven(c, mode, snap, j));
  for (let k = 0; k < key.length; k++) {
    const v = key[k];
    if (typeof v === 'function') return null;
    if (typeof v !== 'object' || v === null) continue;
    const tag = check.typedArrayTag(v);
    if (tag !== 'Float32Array' && tag !== 'Int32Array') return null;
    key[k] = new ArrayKey(tag);
  }
  return key;
}

function sameOptions(c: Compiled, mode: Mode, key: unknown[], snap: Snapshot): boolean {
  if (snap.shape !== undefined && !snap.shapeCopied) return false;
  const shape = snap.shape as unknown[] | undefined;
  if (!Object.is(key[0], snap.reduction) || !Object.is(key[1], snap.threads) || key[2] !== shape?.length ||
    !Object.is(key[3], snap.gradOutput)) return false;
  const values = snap.values;
  for (let k = 0; k < values.length; k++) if (!matches(key[k + 4], values[k])) return false;
  let at = 4 + values.length;
  if (shape !== undefined) for (let d = 0; d < shape.length; d++, at++) if (!Object.is(key[at], shape[d])) return false;
  for (let j = 0; j <= c.gradArgs.length; j++, at++) if (!matches(key[at], outputGiven(c, mode, snap, j))) return false;
  return true;
}

// readOptions' scratch for the option values and the caller's outputs (not re-entrant: a getter that
// calls fastloss again while it reads takes snapshotOf's path, `reading`). Emptied after each use:
// they keep no caller array alive.
const readValues: unknown[] = [];
const readOuts: unknown[] = [];
let reading = false;

function clearScratch(): void {
  for (let k = 0; k < readValues.length; k++) readValues[k] = undefined;
  for (let j = 0; j < readOuts.length; j++) readOuts[j] = undefined;
}

/**
 * snapshotOf's reads for a plain options object, in its order, each once, without allocating the
 * snapshot: null when they match the record's key (the fast path may run with readValues and
 * readOuts), else their snapshot.
 */
function readOptions(c: Compiled, mode: Mode, key: unknown[], opts: Record<string, unknown>): Snapshot | null {
  checkOptionNames(c, mode, opts);
  const names = c.optionNames;
  const n = names.length;
  const values = readValues;
  let rawShape, shape, reduction, out, threads, gradOutput;
  reading = true;
  try {
    for (let k = 0; k < n; k++) values[k] = opts[names[k]];
    rawShape = opts.shape;
    shape = check.snapshotShape(rawShape);
    reduction = opts.reduction;
    out = opts.out;
    threads = opts.threads;
    gradOutput = mode === Mode.Forward ? undefined : opts.gradOutput;
    if (out !== undefined) readOutputs(c, mode, out, readOuts);  // else readOuts holds undefined (clearScratch)
  } catch (e) {
    clearScratch();
    throw e;
  } finally {
    reading = false;
  }
  const shapeCopied = shape !== rawShape;
  if ((shape === undefined || shapeCopied) && Object.is(key[0], reduction) && Object.is(key[1], threads) &&
    key[2] === (shape as unknown[] | undefined)?.length && Object.is(key[3], gradOutput)) {
    let same = true;
    for (let k = 0; k < n && same; k++) same = matches(key[k + 4], values[k]);
    let at = 4 + n;
    if (shape !== undefined) {
      const dims = shape as unknown[];
      for (let d = 0; d < dims.length && same; d++, at++) same = Object.is(key[at], dims[d]);
    }
    for (let j = 0; j <= c.gradArgs.length && same; j++) same = out === undefined ? key[at + j] === undefined : matches(key[at + j], readOuts[j]);
    if (same) return null;
  }
  const snap = snapshotRest(c, mode, values.slice(0, n), shape, shapeCopied, reduction, out, threads, gradOutput, readOuts.slice());
  clearScratch();
  return snap;
}

/** The snapshot of the options readOptions matched with a record's key (nothing left to read); empties the scratch. */
function snapshotOfKey(c: Compiled, mode: Mode, key: unknown[]): Snapshot {
  const n = c.optionNames.length;
  const shape = key[2] === undefined ? undefined : key.slice(4 + n, 4 + n + (key[2] as number));
  // opts.out itself matters to a forward call only (backward and withGrad read its fields, in readOuts)
  const out = mode === Mode.Forward ? readOuts[0] : undefined;
  const snap = snapshotRest(c, mode, readValues.slice(0, n), shape, shape !== undefined, key[0], out, key[1], key[3], readOuts.slice());
  clearScratch();
  return snap;
}

/** A snapshot's caller outputs in outputGiven's order (the fast path's outs). */
function outputsOf(c: Compiled, mode: Mode, snap: Snapshot): unknown[] {
  const outs: unknown[] = [];
  for (let j = 0; j <= c.gradArgs.length; j++) outs.push(outputGiven(c, mode, snap, j));
  return outs;
}

/**
 * A call of nArgs <= 4 arrays and an options object (a4 unused below 4 arrays): with options of the
 * recorded set, the fast path, and no argument array, snapshot or values array; else the full path.
 */
function runWithOptions(c: Compiled, mode: Mode, a0: unknown, a1: unknown, a2: unknown, a3: unknown, a4: unknown): unknown {
  const nArgs = c.def.args.length;
  const rawOpts = nArgs === 1 ? a1 : nArgs === 2 ? a2 : nArgs === 3 ? a3 : a4;
  const f = c.fastOptions[mode];
  let snap: Snapshot | null;
  if (f !== null && f.key !== null && fastPathOn && !reading && isPlainObject(rawOpts)) {
    snap = readOptions(c, mode, f.key, rawOpts);
    if (snap === null) {
      // a getter's own call may have replaced the record (and its native slot) meanwhile
      const r = c.fastOptions[mode] === f ? fastCall(c, mode, f, a0, a1, a2, a3, readValues, readOuts) : MISS;
      if (r !== MISS) {
        clearScratch();
        return r;
      }
      snap = snapshotOfKey(c, mode, f.key);
    }
  } else {
    snap = snapshotOf(c, mode, nArgs + 1, rawOpts);
    if (f !== null && f.key !== null && sameOptions(c, mode, f.key, snap)) {
      const r = fastCall(c, mode, f, a0, a1, a2, a3, snap.values, outputsOf(c, mode, snap));
      if (r !== MISS) return r;
    }
  }
  const argv = [a0, a1, a2, a3, a4];
  argv.length = nArgs + 1;
  return run(c, mode, argv, snap);
}

/** A call not taken by the fast path without options: with options of a recorded set, the fast path; else the full one. */
function runGeneral(c: Compiled, mode: Mode, argv: unknown[]): unknown {
  if (argv.length !== c.def.args.length + 1) return run(c, mode, argv);
  const snap = snapshot(c, mode, argv);  // every option read here, once
  const f = c.fastOptions[mode];
  if (f !== null && f.key !== null && sameOptions(c, mode, f.key, snap)) {
    const r = fastCall(c, mode, f, argv[0], argv[1], argv[2], argv[3], snap.values, outputsOf(c, mode, snap));
    if (r !== MISS) return r;
  }
  return run(c, mode, argv, snap);
}

function run(c: Compiled, mode: Mode, argv: unknown[], snap?: Snapshot): unknown {
  const p = prepare(c, mode, argv, snap);
  const a = p.arrays;
  params.set(p.scratch);
  let value: number;
  try {
    value = native.run(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
  } catch (e) {
    throw nativeError(c, mode, p, e);
  }
  const f = p.fastPlan;
  if (f !== null) {
    f.slot = c.planBase + (f.key === null ? 0 : 4) + mode;
    native.setPlan(f.slot, f.image, f.intMask, f.absentMask, f.inputLengths);
    (f.key === null ? c.fast : c.fastOptions)[mode] = f;
  }
  return result(c, mode, p, value);
}

const MISS = Symbol('fastloss: not a fast call');
const NO_VALUES: unknown[] = [];
/** FastPlan.inputArg / layout code of option value k: OPTION_INPUT + k. */
const OPTION_INPUT = 16;
let fastPathOn = true;

/** Testing hook (test/small-calls.test.ts): false sends every call through the full path. */
export function setFastPath(enabled: boolean): void {
  fastPathOn = enabled;
}
/** The value of runPlan's argument of layout code k (FastPlan.layout): argument k, out (5), gradient k - 6 or option value k - OPTION_INPUT. */
function pick(k: number, x0: unknown, x1: unknown, x2: unknown, x3: unknown, out: unknown, g0: unknown, g1: unknown, g2: unknown,
  vals: unknown[]): AnyTypedArray | null | undefined {
  switch (k) {
    case 0: return x0 as AnyTypedArray;
    case 1: return x1 as AnyTypedArray;
    case 2: return x2 as AnyTypedArray;
    case 3: return x3 as AnyTypedArray;
    case 5: return out as Float32Array;
    case 6: return g0 as Float32Array;
    case 7: return g1 as Float32Array;
    case 8: return g2 as Float32Array;
    default: return k >= OPTION_INPUT ? vals[k - OPTION_INPUT] as AnyTypedArray : undefined;
  }
}

/**
 * a when it is the same kind of real typed array as the cached call's, of the same true length
 * (length -1: a kernel input, whose length runPlan checks; its own `length` is never read).
 */
function fastArg(tag: string, length: number, a: unknown): AnyTypedArray | undefined {
  if (check.typedArrayTag(a) !== tag) return undefined;
  return length < 0 || check.lengthOf(a as AnyTypedArray) === length ? a as AnyTypedArray : undefined;
}

/**
 * A call without options whose arguments have the lengths and types of the last such call: its
 * checks, plan and params are reused, nothing is allocated but the results. MISS otherwise (and
 * for any error, which the full path then reports with its names).
 */
function fastCall(c: Compiled, mode: Mode, f: FastPlan | null, a0: unknown, a1: unknown, a2: unknown, a3: unknown,
  vals: unknown[] = NO_VALUES, outs: unknown[] = NO_VALUES): unknown {
  if (f === null || !fastPathOn) return MISS;
  const n = f.tags.length;
  const x0 = fastArg(f.tags[0], f.lengths[0], a0);
  if (x0 === undefined) return MISS;
  let x1, x2, x3;
  if (n > 1 && (x1 = fastArg(f.tags[1], f.lengths[1], a1)) === undefined) return MISS;
  if (n > 2 && (x2 = fastArg(f.tags[2], f.lengths[2], a2)) === undefined) return MISS;
  if (n > 3 && (x3 = fastArg(f.tags[3], f.lengths[3], a3)) === undefined) return MISS;
  // the caller's outputs (outs, outputGiven's order: the record's key matched their types and lengths), else new ones
  const out = f.outLength < 0 ? null : (outs[0] as Float32Array | undefined) ?? new Float32Array(f.outLength);
  const gl = f.gradLengths;
  const g0 = gl.length > 0 ? (outs[1] as Float32Array | undefined) ?? new Float32Array(gl[0]) : null;
  const g1 = gl.length > 1 ? (outs[2] as Float32Array | undefined) ?? new Float32Array(gl[1]) : null;
  const g2 = gl.length > 2 ? (outs[3] as Float32Array | undefined) ?? new Float32Array(gl[2]) : null;
  // run()'s arguments, passed as exactly f.layout.length values (no argument array, no stores into
  // one: napi copies every argument passed, and each store of a fresh array paid a write barrier).
  const lay = f.layout;
  const m = lay.length;
  const v0 = pick(lay[0], x0, x1, x2, x3, out, g0, g1, g2, vals);
  const v1 = m > 1 ? pick(lay[1], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v2 = m > 2 ? pick(lay[2], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v3 = m > 3 ? pick(lay[3], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v4 = m > 4 ? pick(lay[4], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v5 = m > 5 ? pick(lay[5], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v6 = m > 6 ? pick(lay[6], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v7 = m > 7 ? pick(lay[7], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v8 = m > 8 ? pick(lay[8], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v9 = m > 9 ? pick(lay[9], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  const v10 = m > 10 ? pick(lay[10], x0, x1, x2, x3, out, g0, g1, g2, vals) : undefined;
  let missed;  // false: an input of another length than the record's (runPlan ran nothing)
  try {
    switch (m) {
      case 1: missed = native.runPlan(f.slot, v0); break;
      case 2: missed = native.runPlan(f.slot, v0, v1); break;
      case 3: missed = native.runPlan(f.slot, v0, v1, v2); break;
      case 4: missed = native.runPlan(f.slot, v0, v1, v2, v3); break;
      case 5: missed = native.runPlan(f.slot, v0, v1, v2, v3, v4); break;
      case 6: missed = native.runPlan(f.slot, v0, v1, v2, v3, v4, v5); break;
      default: missed = native.runPlan(f.slot, v0, v1, v2, v3, v4, v5, v6, v7, v8, v9, v10);
    }
  } catch {
    return MISS;
  }
  if (missed === false) return MISS;
  const value = params[RESULT];  // runPlan's reduced loss (read at once: no JS ran since)
  const loss = out ?? value;
  if (mode === Mode.Forward) return loss;
  let grad: unknown = g0;
  if (g1 !== null) {
    const byName: Record<string, Float32Array | null> = {};
    const names = c.gradArgs;
    byName[names[0]] = g0;
    byName[names[1]] = g1;
    if (g2 !== null) byName[names[2]] = g2;
    grad = byName;
  }
  return mode === Mode.Backward ? grad : { loss, grad };
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
  return pending.then((value) => result(c, mode, p, value), (e) => { throw nativeError(c, mode, p, e); });
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
  const nArgs = def.args.length;
  // Named parameters and `arguments.length`, not a rest parameter: the common calls (the loss's
  // arrays, with or without an options object) allocate no argument array on their way to fastCall.
  /* eslint-disable prefer-rest-params */
  const loss = function (a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown) {
    if (arguments.length === nArgs) {
      const r = fastCall(c, Mode.Forward, c.fast[Mode.Forward], a0, a1, a2, a3);
      if (r !== MISS) return r;
    }
    if (arguments.length === nArgs + 1 && nArgs <= 4) return runWithOptions(c, Mode.Forward, a0, a1, a2, a3, a4);
    return runGeneral(c, Mode.Forward, Array.prototype.slice.call(arguments));
  };
  const shortName = def.name.slice(def.name.indexOf('.') + 1);
  Object.defineProperty(loss, 'name', { value: shortName });
  Object.defineProperty(loss, 'lossName', { value: def.name, enumerable: true });
  Object.defineProperty(loss, 'defaultReduction', { value: def.defaultReduction, enumerable: true });
  Object.assign(loss, {
    backward: function (a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown) {
      if (arguments.length === nArgs) {
        const r = fastCall(c, Mode.Backward, c.fast[Mode.Backward], a0, a1, a2, a3);
        if (r !== MISS) return r;
      }
      if (arguments.length === nArgs + 1 && nArgs <= 4) return runWithOptions(c, Mode.Backward, a0, a1, a2, a3, a4);
      return runGeneral(c, Mode.Backward, Array.prototype.slice.call(arguments));
    },
    withGrad: function (a0?: unknown, a1?: unknown, a2?: unknown, a3?: unknown, a4?: unknown) {
      if (arguments.length === nArgs) {
        const r = fastCall(c, Mode.WithGrad, c.fast[Mode.WithGrad], a0, a1, a2, a3);
        if (r !== MISS) return r;
      }
      if (arguments.length === nArgs + 1 && nArgs <= 4) return runWithOptions(c, Mode.WithGrad, a0, a1, a2, a3, a4);
      return runGeneral(c, Mode.WithGrad, Array.prototype.slice.call(arguments));
    },
    async: (...argv: unknown[]) => runAsync(c, Mode.Forward, argv),
    withGradAsync: (...argv: unknown[]) => runAsync(c, Mode.WithGrad, argv),
    accumulate: accumulateMethod(def, { run: (argv) => runParts(c, argv), runAsync: (argv) => runPartsAsync(c, argv) }),
  });
  /* eslint-enable prefer-rest-params */
  return loss as unknown as L;
}
