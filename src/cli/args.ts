// Command-line parsing for `fastloss`: --name value, --name=value, repeatable options, flags.

/** A mistake in the command line: exit code 2, one line naming the argument. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface ArgSpec {
  /** Options that take a value; repeatable ones collect every value. */
  values: string[];
  repeatable?: string[];
  flags: string[];
  /** Short aliases: { h: 'help' }. */
  aliases?: Record<string, string>;
}

export interface Parsed {
  positional: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(command: string, argv: string[], spec: ArgSpec): Parsed {
  const out: Parsed = { positional: [], values: new Map(), flags: new Set() };
  const repeatable = new Set(spec.repeatable ?? []);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.positional.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      out.positional.push(a);
      continue;
    }
    let name = a.replace(/^--?/, '');
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    name = spec.aliases?.[name] ?? name;
    if (spec.flags.includes(name)) {
      if (value !== undefined) throw new UsageError(`${command}: --${name} takes no value`);
      out.flags.add(name);
    } else if (spec.values.includes(name) || repeatable.has(name)) {
      if (value === undefined) {
        if (i + 1 >= argv.length) throw new UsageError(`${command}: --${name} needs a value`);
        value = argv[++i];
      }
      const list = out.values.get(name) ?? [];
      if (list.length && !repeatable.has(name)) throw new UsageError(`${command}: --${name} is given twice`);
      list.push(value);
      out.values.set(name, list);
    } else {
      const known = [...spec.values, ...(spec.repeatable ?? []), ...spec.flags].map((n) => `--${n}`).join(', ');
      throw new UsageError(`${command}: unknown option ${a.split('=')[0]} (known: ${known})`);
    }
  }
  return out;
}

export const one = (p: Parsed, name: string): string | undefined => p.values.get(name)?.[0];
