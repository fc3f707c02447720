// fastloss.losses(): every loss with its arguments, options and reductions, read from the LossDefs
// the losses were defined from (the same table the types and the class forms follow).
import { classNameOf } from './classform';
import { ArgKind, definitionOf } from './define';

/** Losses without a class form, and why. */
export const CLASSLESS: Readonly<Record<string, string>> = Object.freeze({
  'torch.sigmoidFocalLoss': 'torchvision.ops.sigmoid_focal_loss is a function only: neither torch.nn nor torchvision has a class for it',
});

export interface LossArgumentInfo {
  name: string;
  /** 'Float32Array', 'Int32Array', 'Float32Array | Int32Array' or 'Int32Array | number'. */
  type: string;
  /** backward / withGrad return a gradient for it. */
  grad: boolean;
}

export interface LossOptionInfo {
  name: string;
  /** The default; absent when the option has none (not set: not used). */
  default?: unknown;
}

export interface LossInfo {
  /** 'torch.crossEntropy' */
  name: string;
  framework: 'torch' | 'keras';
  /** The function's name in its namespace: 'crossEntropy' (torch.crossEntropy). */
  function: string;
  /** The class form: 'CrossEntropyLoss' (torch.nn.CrossEntropyLoss, keras.losses.*), or null. */
  className: string | null;
  /** Why there is no class form (className null). */
  classNote?: string;
  arguments: LossArgumentInfo[];
  /** The loss's own options (besides reduction, shape, out, threads, gradOutput), with defaults. */
  options: LossOptionInfo[];
  reductions: string[];
  defaultReduction: string;
}

const TYPE_OF_KIND: Record<ArgKind, string> = {
  f32: 'Float32Array',
  i32: 'Int32Array',
  'f32|i32': 'Float32Array | Int32Array',
  'i32|count': 'Int32Array | number',
};

/** Every loss of the torch and keras namespaces, in their export order. */
export function describeLosses(names: readonly string[]): LossInfo[] {
  return names.map((name) => {
    const def = definitionOf(name);
    if (!def) throw new Error(`fastloss: internal: no definition for ${name}`);
    const [framework, fn] = name.split('.') as ['torch' | 'keras', string];
    const className = classNameOf(name) ?? null;
    const info: LossInfo = {
      name,
      framework,
      function: fn,
      className,
      arguments: def.args.map((a) => ({ name: a.name, type: TYPE_OF_KIND[a.kind], grad: a.grad === true })),
      options: Object.entries(def.options).map(([option, spec]) =>
        ('default' in spec && spec.default !== undefined ? { name: option, default: spec.default } : { name: option })),
      reductions: Object.keys(def.reductions),
      defaultReduction: def.defaultReduction,
    };
    if (className === null) info.classNote = CLASSLESS[name] ?? 'no class form';
    return info;
  });
}
