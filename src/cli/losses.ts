// The losses as the CLI sees them: names, arguments, options and defaults, all read from the LossDefs
// (src/core/define.ts), the same source the facade and its types come from.
import * as fastloss from '../index';
import { LossDef, lossDefs } from '../core/define';
import { UsageError } from './args';

export interface LossEntry {
  def: LossDef;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  fn: any;
}

export function allLosses(): LossEntry[] {
  const out: LossEntry[] = [];
  for (const [framework, ns] of [['torch', fastloss.torch], ['keras', fastloss.keras]] as const) {
    for (const [name, fn] of Object.entries(ns)) {
      const def = lossDefs.get(`${framework}.${name}`);
      if (def) out.push({ def, fn });
    }
  }
  return out;
}

/** snake_case and any case to the facade's camelCase: 'cross_entropy' -> 'crossentropy' for comparison. */
const squash = (s: string): string => s.replace(/[_-]/g, '').toLowerCase();

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

/** 'torch.crossEntropy', 'crossEntropy' (when one framework has it), 'cross_entropy', 'torch.cross_entropy'. */
export function resolveLoss(name: string): LossEntry {
  const all = allLosses();
  const exact = all.find((l) => l.def.name === name);
  if (exact) return exact;
  const dot = name.indexOf('.');
  const framework = dot >= 0 ? name.slice(0, dot) : undefined;
  const bare = squash(dot >= 0 ? name.slice(dot + 1) : name);
  const matches = all.filter((l) => {
    const [fw, short] = l.def.name.split('.');
    return (framework === undefined || fw === framework) && squash(short) === bare;
  });
  // 'mse' for torch.mseLoss: PyTorch's functional names drop the 'Loss'.
  if (matches.length === 0) {
    matches.push(...all.filter((l) => {
      const [fw, short] = l.def.name.split('.');
      return (framework === undefined || fw === framework) && squash(short) === `${bare}loss`;
    }));
  }
  if (matches.length === 1) return matches[0];
  if (matches.length > 1)
    throw new UsageError(`score: loss '${name}' is ambiguous: ${matches.map((m) => m.def.name).join(' or ')}`);
  const near = all.map((l) => ({ n: l.def.name, d: distance(squash(l.def.name.split('.')[1]), bare) }))
    .sort((a, b) => a.d - b.d).filter((x) => x.d <= 3).slice(0, 3).map((x) => x.n);
  throw new UsageError(`score: unknown loss '${name}'${near.length ? ` (did you mean ${near.join(', ')}?)` : ''}; fastloss list shows them all`);
}

const KIND: Record<string, string> = {
  f32: 'float32', i32: 'int32 class indices', 'f32|i32': 'float32, or int32 class indices', 'i32|count': 'int32, or one count',
};

/** How an option's default reads: 1, true, 'mean', none (an optional array). */
function shownDefault(v: unknown): string {
  if (v === undefined) return 'none';
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}

/** One loss as plain data (fastloss list --json). */
export function describe(l: LossEntry): Record<string, unknown> {
  const d = l.def;
  return {
    name: d.name,
    args: d.args.map((a) => ({ name: a.name, type: KIND[a.kind] ?? a.kind, differentiable: !!a.grad })),
    options: Object.entries(d.options).map(([name, o]) => ({ name, default: o.default ?? null })),
    reductions: Object.keys(d.reductions),
    defaultReduction: d.defaultReduction,
  };
}

export function describeText(l: LossEntry): string {
  const d = l.def;
  const args = d.args.map((a) => `${a.name}${a.grad ? '*' : ''}: ${KIND[a.kind] ?? a.kind}`).join(', ');
  const opts = Object.entries(d.options).map(([n, o]) => `${n} = ${shownDefault(o.default)}`);
  const reductions = Object.keys(d.reductions).map((r) => (r === d.defaultReduction ? `${r} (default)` : r)).join(', ');
  return `${d.name}(${args})\n    options: ${opts.length ? opts.join(', ') : '-'}\n    reduction: ${reductions}`;
}

/** --opt name=value: true/false, a number, a comma list of numbers (an array option), or a string. */
export function parseOptionValue(raw: string): unknown {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (raw !== '' && !Number.isNaN(Number(raw))) return Number(raw);
  if (/^-?[\d.eE+-]+(,-?[\d.eE+-]+)+$/.test(raw)) return new Float32Array(raw.split(',').map(Number));
  return raw;
}
