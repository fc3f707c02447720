// Class forms: torch.nn.*Loss and keras.losses.* as thin objects that bind options to the
// functional losses (no second implementation). The options are checked once, in the constructor,
// by the loss's own OptionSpecs; every call merges the bound options under the per-call ones.
import * as check from './check';
import { definitionOf, LossDef } from './define';
import type {
  BackwardOptions, CallOptions, ForwardOptions, Loss, LossWithGrad, Reduced, ReductionOf, Upstream,
  WithGradOptions,
} from './types';

type AnyFn = ((...argv: unknown[]) => unknown) & {
  lossName: string;
  backward(...argv: unknown[]): unknown;
  withGrad(...argv: unknown[]): unknown;
  async(...argv: unknown[]): Promise<unknown>;
  withGradAsync(...argv: unknown[]): Promise<unknown>;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !ArrayBuffer.isView(v) && !Array.isArray(v);

// Options a constructor binds besides the loss's own: the reduction and the logical shape.
const BINDABLE = ['reduction', 'shape'];
// The bound options of an instance that binds none: its calls pass no options object (the loss's fast path).
const EMPTY: Readonly<Record<string, unknown>> = Object.freeze({});

/** The checked, frozen options of a constructor call (`kerasName`: Keras' `name` is kept, not bound). */
function bindOptions(className: string, def: LossDef, given: unknown, excluded: string[], kerasName: boolean): {
  bound: Readonly<Record<string, unknown>>; name?: string;
} {
  const fn = className;
  if (given === undefined) return { bound: EMPTY };
  if (!isPlainObject(given)) throw check.typeError(fn, 'options', `must be an options object, got ${check.show(given)}`);
  const bound: Record<string, unknown> = {};
  let name: string | undefined;
  for (const key of Object.keys(given)) {
    const value: unknown = given[key];
    if (kerasName && key === 'name') {
      if (typeof value !== 'string') throw check.typeError(fn, 'options.name', `must be a string, got ${check.show(value)}`);
      name = value;
      continue;
    }
    const spec = def.options[key];
    if (excluded.includes(key) || (!spec && !BINDABLE.includes(key))) {
      const where = key === 'sampleWeight' ? ' (pass it to call(yTrue, yPred, sampleWeight))' : '';
      throw check.typeError(fn, `options.${key}`, `is not an option of ${className}${where}`);
    }
    if (value === undefined) continue;
    if (key === 'reduction') {
      if (typeof value !== 'string' || !(value in def.reductions))
        throw check.rangeError(fn, 'options.reduction', `must be one of ${Object.keys(def.reductions).map((r) => `'${r}'`).join(', ')}, got ${check.show(value)}`);
    } else if (spec) {
      spec.check(fn, `options.${key}`, value);  // a bad value fails here, not at the first call
    }
    bound[key] = key === 'shape' && Array.isArray(value) ? Object.freeze([...value]) : value;
  }
  return { bound: Object.keys(bound).length === 0 ? EMPTY : Object.freeze(bound), name };
}

/** The per-call options merged over the bound ones; a per-call reduction is refused (it fixes the result type). */
function merged(className: string, bound: Readonly<Record<string, unknown>>, opts: unknown): Record<string, unknown> {
  if (opts === undefined) return bound;
  if (!isPlainObject(opts)) throw check.typeError(className, 'opts', `must be an options object, got ${check.show(opts)}`);
  if ('reduction' in opts) throw check.typeError(className, 'opts.reduction', 'is bound by the constructor; make another instance for another reduction');
  return { ...bound, ...opts };
}

// The class form of each loss, by loss name ('torch.crossEntropy' -> 'CrossEntropyLoss'), for fastloss.losses().
const classNames = new Map<string, string>();

/** The class form's name ('CrossEntropyLoss') of a loss, or undefined when it has none. */
export function classNameOf(lossName: string): string | undefined {
  return classNames.get(lossName);
}

function lossDef(loss: AnyFn): LossDef {
  const def = definitionOf(loss.lossName);
  if (!def) throw new Error(`fastloss: internal: no definition for ${loss.lossName}`);
  return def;
}

/** Per-call options of a class form: everything but the (bound) reduction. */
export type ModuleForwardOptions<O> = Omit<ForwardOptions<O>, 'reduction'>;
export type ModuleBackwardOptions<O, G> = Omit<BackwardOptions<O, G>, 'reduction'>;
export type ModuleWithGradOptions<O, G> = Omit<WithGradOptions<O, G>, 'reduction'>;

/** A torch.nn loss object: forward(...args) is the functional loss with the bound options. */
export interface TorchCriterion<A extends unknown[], O, G, R> {
  /** The options bound by the constructor (checked, frozen). */
  readonly options: Readonly<Omit<O, 'reduction'> & { reduction?: R }>;
  /** The functional loss this object calls ('torch.crossEntropy'). */
  readonly lossName: string;
  forward(...args: [...A] | [...A, ModuleForwardOptions<O>]): Reduced<R>;
  backward(...args: [...A] | [...A, ModuleBackwardOptions<O, G>]): G;
  withGrad(...args: [...A] | [...A, ModuleWithGradOptions<O, G>]): LossWithGrad<Reduced<R>, G>;
  async(...args: [...A] | [...A, ModuleForwardOptions<O>]): Promise<Reduced<R>>;
  withGradAsync(...args: [...A] | [...A, ModuleWithGradOptions<O, G>]): Promise<LossWithGrad<Reduced<R>, G>>;
}

/** The options a torch.nn constructor takes: the loss's options (reduction R) and shape. */
export type TorchConstructorOptions<O, R> = Omit<O, 'reduction'> & { reduction?: R };

/** The class of a torch.nn loss; the reduction type follows `options.reduction` (default D). */
export interface TorchCriterionClass<A extends unknown[], O, G, D extends ReductionOf<O>> {
  new <R extends ReductionOf<O>>(options: TorchConstructorOptions<O, R> & { reduction: R }): TorchCriterion<A, O, G, R>;
  new (options?: TorchConstructorOptions<O, D>): TorchCriterion<A, O, G, D>;
  readonly prototype: TorchCriterion<A, O, G, ReductionOf<O>>;
}

/** The class type of the torch.nn loss over functional loss L. */
export type TorchClassOf<L> = L extends Loss<infer A, infer O, infer G, infer D> ? TorchCriterionClass<A, O, G, D> : never;
/** The instance type of the torch.nn loss over L with reduction R (default: the loss's). */
export type TorchInstanceOf<L, R = never> = L extends Loss<infer A, infer O, infer G, infer D>
  ? TorchCriterion<A, O, G, [R] extends [never] ? D : R> : never;

type Bound = { options: Readonly<Record<string, unknown>> };

/** backward / withGrad / async / withGradAsync of a class form: the loss's, on split(this, argv). */
function boundMethods(fn: AnyFn, split: (self: Bound, argv: unknown[]) => unknown[]) {
  // An argument error of an async method is a rejected promise, as the functional loss gives.
  const settle = (run: () => Promise<unknown>): Promise<unknown> => {
    try {
      return run();
    } catch (e) {
      return Promise.reject(e);
    }
  };
  return class {
    declare readonly options: Readonly<Record<string, unknown>>;
    backward(...argv: unknown[]): unknown { return fn.backward(...split(this, argv)); }
    withGrad(...argv: unknown[]): unknown { return fn.withGrad(...split(this, argv)); }
    async(...argv: unknown[]): Promise<unknown> { return settle(() => fn.async(...split(this, argv))); }
    withGradAsync(...argv: unknown[]): Promise<unknown> { return settle(() => fn.withGradAsync(...split(this, argv))); }
  };
}

/** A torch.nn class over `loss`, called `className`. */
export function torchClass<L>(loss: L, className: string): TorchClassOf<L> {
  const fn = loss as unknown as AnyFn;
  const def = lossDef(fn);
  classNames.set(fn.lossName, className);
  const n = def.args.length;
  // argv is the method's own rest array: reused as the loss's arguments (no copy per call).
  const split = (self: { options: Readonly<Record<string, unknown>> }, argv: unknown[]): unknown[] => {
    if (argv.length < n) return argv;  // the loss names the missing argument
    if (argv.length > n + 1) throw check.typeError(className, 'arguments', `takes ${n} arrays and an options object`);
    const opts = argv.length > n && argv[n] !== undefined ? merged(className, self.options, argv[n]) : self.options;
    if (argv.length !== n) argv.length = n;
    if (opts !== EMPTY) argv.push(opts);
    return argv;
  };
  const C = class extends boundMethods(fn, split) {
    readonly options: Readonly<Record<string, unknown>>;
    readonly lossName = fn.lossName;
    constructor(options?: unknown) {
      super();
      this.options = bindOptions(className, def, options, [], false).bound;
    }
    forward(...argv: unknown[]): unknown { return fn(...split(this, argv)); }
  };
  Object.defineProperty(C, 'name', { value: className });
  return C as unknown as TorchClassOf<L>;
}

/** Per-call options of a Keras loss object: everything but the bound reduction and the positional sampleWeight. */
export type KerasCallOptions<O> = Omit<ForwardOptions<O>, 'reduction' | 'sampleWeight'>;
export type KerasBackwardOptions<O, G> = Omit<O, 'reduction' | 'sampleWeight'> & CallOptions & Upstream & { out?: G };
export type KerasWithGradOptions<O, G> = Omit<WithGradOptions<O, G>, 'reduction' | 'sampleWeight'>;
type SampleWeightOf<O> = O extends { sampleWeight?: infer W } ? W | undefined : undefined;

/**
 * A keras.losses loss object: call(yTrue, yPred, sampleWeight?) as Keras'
 * `loss_fn(y_true, y_pred, sample_weight)`, with the bound options.
 */
export interface KerasLossObject<A extends unknown[], O, G, R> {
  /** The options bound by the constructor (checked, frozen). */
  readonly options: Readonly<Omit<O, 'reduction' | 'sampleWeight'> & { reduction?: R }>;
  /** Keras' `name`: options.name, else the snake_case function name ('categorical_crossentropy'). */
  readonly name: string;
  readonly lossName: string;
  call(...args: [...A, SampleWeightOf<O>?, KerasCallOptions<O>?]): Reduced<R>;
  backward(...args: [...A, SampleWeightOf<O>?, KerasBackwardOptions<O, G>?]): G;
  withGrad(...args: [...A, SampleWeightOf<O>?, KerasWithGradOptions<O, G>?]): LossWithGrad<Reduced<R>, G>;
  async(...args: [...A, SampleWeightOf<O>?, KerasCallOptions<O>?]): Promise<Reduced<R>>;
  withGradAsync(...args: [...A, SampleWeightOf<O>?, KerasWithGradOptions<O, G>?]):
    Promise<LossWithGrad<Reduced<R>, G>>;
}

/** The options a keras.losses constructor takes: the loss's options (reduction R), shape and Keras' name. */
export type KerasConstructorOptions<O, R> = Omit<O, 'reduction' | 'sampleWeight'> & { reduction?: R; name?: string };

export interface KerasLossClass<A extends unknown[], O, G, D extends ReductionOf<O>> {
  new <R extends ReductionOf<O> = D>(options?: KerasConstructorOptions<O, R>): KerasLossObject<A, O, G, R>;
  readonly prototype: KerasLossObject<A, O, G, ReductionOf<O>>;
}

export type KerasClassOf<L> = L extends Loss<infer A, infer O, infer G, infer D> ? KerasLossClass<A, O, G, D> : never;
export type KerasInstanceOf<L, R = never> = L extends Loss<infer A, infer O, infer G, infer D>
  ? KerasLossObject<A, O, G, [R] extends [never] ? D : R> : never;

const snakeCase = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** A keras.losses class over `loss`, called `className`. */
export function kerasClass<L>(loss: L, className: string): KerasClassOf<L> {
  const fn = loss as unknown as AnyFn;
  const def = lossDef(fn);
  classNames.set(fn.lossName, className);
  const n = def.args.length;
  const defaultName = snakeCase(fn.lossName.slice(fn.lossName.indexOf('.') + 1));
  const split = (self: { options: Readonly<Record<string, unknown>> }, argv: unknown[]): unknown[] => {
    if (argv.length < n) return argv;
    if (argv.length > n + 2) throw check.typeError(className, 'arguments', `takes ${n} arrays, sampleWeight and an options object`);
    const sampleWeight = argv.length > n ? argv[n] : undefined;
    let opts = argv.length > n + 1 && argv[n + 1] !== undefined ? merged(className, self.options, argv[n + 1]) : self.options;
    if (opts !== self.options && 'sampleWeight' in opts)
      throw check.typeError(className, 'opts.sampleWeight', 'is the third argument: call(yTrue, yPred, sampleWeight)');
    if (sampleWeight !== undefined) opts = opts === self.options ? { ...opts, sampleWeight } : Object.assign(opts, { sampleWeight });
    if (argv.length !== n) argv.length = n;
    if (opts !== EMPTY) argv.push(opts);
    return argv;
  };
  const C = class extends boundMethods(fn, split) {
    readonly options: Readonly<Record<string, unknown>>;
    readonly name: string;
    readonly lossName = fn.lossName;
    constructor(options?: unknown) {
      super();
      const { bound, name } = bindOptions(className, def, options, ['sampleWeight'], true);
      this.options = bound;
      this.name = name ?? defaultName;
    }
    call(...argv: unknown[]): unknown { return fn(...split(this, argv)); }
  };
  Object.defineProperty(C, 'name', { value: className });
  return C as unknown as KerasClassOf<L>;
}
