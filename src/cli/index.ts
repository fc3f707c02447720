// The `fastloss` command (bin/fastloss): score, list, info, demo, merge. Results on stdout; errors as one
// line on stderr with exit status 1 (a file or data error) or 2 (a usage error); nothing else on stderr
// except the progress bar on a terminal.
import * as fs from 'fs';
import * as path from 'path';
import { ReadError } from '../io/types';
import { removeTemporaries } from '../io/write';
import { parseArgs, UsageError } from './args';
import { demo } from './demo';
import { merge } from './merge';
import { score } from './score';

 
const version: string = require('../../package.json').version;

const HELP = `usage: fastloss <command> [options]     (fastloss <command> --help for each)

  score <loss> --pred FILE --target FILE ...   score prediction files against targets (streamed)
  list [--json] [filter]                       every loss with its arguments, options and defaults
  info [--json]                                version, SIMD level, threads, thread-pool runtime, readers
  demo [--dir DIR]                             write a sample dataset and score it
  merge PART.json... [--json]                  combine the partial states of sharded runs

Files: NumPy .npy / .npz, Arrow IPC / Feather, Parquet, CSV. fastloss ${version}`;

const LIST_HELP = `usage: fastloss list [--json] [filter]

Every loss with its arguments (* = differentiated: --pred), options with defaults, and reductions.
A filter keeps the losses whose name contains it (case-insensitive).`;

const INFO_HELP = `usage: fastloss info [--json]

The version, the SIMD level in use and the best this CPU supports, threads, the thread-pool / OpenMP
runtime, and which file readers are installed.`;

async function list(argv: string[], print: (s: string) => void): Promise<number> {
  const p = parseArgs('list', argv, { values: [], flags: ['json', 'help'], aliases: { h: 'help' } });
  if (p.flags.has('help')) {
    print(LIST_HELP);
    return 0;
  }
  const { allLosses, describe, describeText } = await import('./losses');
  const filter = p.positional[0]?.toLowerCase();
  const losses = allLosses().filter((l) => !filter || l.def.name.toLowerCase().includes(filter));
  if (p.flags.has('json')) print(JSON.stringify(losses.map(describe), null, 1));
  else print(losses.map(describeText).join('\n'));
  return 0;
}

/** An installed package's version, found from its entry (some packages do not export package.json). */
function readerVersion(pkg: string): string | null {
  try {
    let dir = path.dirname(require.resolve(pkg));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (fs.existsSync(file)) {
        const meta = JSON.parse(fs.readFileSync(file, 'utf8'));
        if (meta.name === pkg) return meta.version;
      }
      const up = path.dirname(dir);
      if (up === dir) return null;
      dir = up;
    }
  } catch {
    return null;
  }
}

async function info(argv: string[], print: (s: string) => void): Promise<number> {
  const p = parseArgs('info', argv, { values: [], flags: ['json', 'help'], aliases: { h: 'help' } });
  if (p.flags.has('help')) {
    print(INFO_HELP);
    return 0;
  }
  const fastloss = await import('../index');
  const i = fastloss.info();
  const readers = {
    npy: 'built in', npz: 'built in',
    arrow: readerVersion('apache-arrow') ? `apache-arrow ${readerVersion('apache-arrow')}` : null,
    parquet: readerVersion('@duckdb/node-api') ? `@duckdb/node-api ${readerVersion('@duckdb/node-api')}` : null,
    csv: readerVersion('@duckdb/node-api') ? `@duckdb/node-api ${readerVersion('@duckdb/node-api')}` : null,
  };
  const doc = { version, node: process.versions.node, platform: `${process.platform}-${process.arch}`, ...i, readers };
  if (p.flags.has('json')) {
    print(JSON.stringify(doc, null, 1));
    return 0;
  }
  print([
    `fastloss ${version} (node ${process.versions.node}, ${process.platform}-${process.arch})`,
    `  SIMD level     ${i.isa} (CPU supports ${i.cpuIsa}; built: ${i.builtIsa.join(', ')})`,
    `  threads        ${i.threads} (max ${i.maxThreads})${i.threadsWarning ? `; ${i.threadsWarning}` : ''}`,
    `  thread pool    fastloss helper pool (${i.poolThreads} helpers started); OpenMP runtime ${i.openmp}`,
    `  readers        ${Object.entries(readers).map(([k, v]) => `${k}: ${v ?? 'not installed'}`).join(', ')}`,
  ].join('\n'));
  return 0;
}

/** Runs one command; returns the exit status. `print` writes a line to stdout. */
export async function main(argv: string[], print: (s: string) => void = (s) => process.stdout.write(`${s}\n`)): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case undefined: case 'help': case '--help': case '-h':
      print(HELP);
      return command === undefined ? 2 : 0;
    case '--version': case '-v': case 'version':
      print(version);
      return 0;
    case 'score': return score(rest, print);
    case 'list': return list(rest, print);
    case 'info': return info(rest, print);
    case 'demo': return demo(rest, print);
    case 'merge': return merge(rest, print);
    default:
      throw new UsageError(`unknown command '${command}' (score, list, info, demo, merge; fastloss --help)`);
  }
}

/** One line for an error: the file and row for data errors, the argument for usage errors. */
export function errorLine(e: unknown): { line: string; status: number } {
  if (e instanceof UsageError) return { line: `fastloss ${e.message}`, status: 2 };
  if (e instanceof ReadError) return { line: `fastloss: ${e.message}`, status: 1 };
  const message = e instanceof Error ? e.message : String(e);
  return { line: `fastloss: ${message.split('\n')[0]}`, status: 1 };
}

/** The process entry (bin/fastloss): exit status, signals, temporary files. */
export function run(argv: string[]): void {
  const onSignal = (signal: NodeJS.Signals): void => {
    removeTemporaries();
    process.stderr.write(`fastloss: interrupted (${signal}); no output written\n`);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('exit', removeTemporaries);
  // `fastloss ... | head` closes stdout early: not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  main(argv).then((status) => {
    process.exitCode = status;
  }, (e) => {
    removeTemporaries();
    const { line, status } = errorLine(e);
    process.stderr.write(`${line}\n`);
    process.exitCode = status;
  });
}
