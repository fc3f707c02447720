// fastloss demo: writes a small classification dataset (.npy) and scores it the way a user would, printing
// each command it runs, so a newcomer sees real scoring (and the worst examples) in one command.
import * as fs from 'fs';
import * as path from 'path';
import * as fastloss from '../index';
import { writeNpy } from '../io/write';
import { parseArgs, UsageError } from './args';
import { score } from './score';

export const DEMO_HELP = `usage: fastloss demo [--dir DIR] [--rows N]

Writes a sample dataset to DIR (default ./fastloss-demo): logits.npy (N x 10 float32 model outputs),
labels.npy (N int64 classes), and scores it with torch.crossEntropy from the files, printing each step.`;

/** A deterministic generator (mulberry32) so the demo prints the same numbers everywhere. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export async function demo(argv: string[], print: (s: string) => void): Promise<number> {
  const p = parseArgs('demo', argv, { values: ['dir', 'rows'], flags: ['help'], aliases: { h: 'help' } });
  if (p.flags.has('help')) {
    print(DEMO_HELP);
    return 0;
  }
  const dir = path.resolve(p.values.get('dir')?.[0] ?? 'fastloss-demo');
  const rowsRaw = p.values.get('rows')?.[0] ?? '10000';
  if (!/^\d+$/.test(rowsRaw) || Number(rowsRaw) < 1) throw new UsageError(`demo: --rows must be an integer >= 1, got '${rowsRaw}'`);
  const N = Number(rowsRaw);
  const C = 10;
  fs.mkdirSync(dir, { recursive: true });

  // A model that is right most of the time: the true class's logit is raised, plus noise; 3 % mislabeled.
  const rand = rng(14);
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const logits = new Float32Array(N * C);
  const labels = new BigInt64Array(N);
  for (let i = 0; i < N; i++) {
    const y = Math.floor(rand() * C);
    for (let c = 0; c < C; c++) logits[i * C + c] = gauss() + (c === y ? 3 : 0);
    labels[i] = BigInt(rand() < 0.03 ? (y + 1 + Math.floor(rand() * (C - 1))) % C : y);
  }
  const logitsFile = path.join(dir, 'logits.npy');
  const labelsFile = path.join(dir, 'labels.npy');
  const lossesFile = path.join(dir, 'losses.npy');
  writeNpy(logitsFile, logits, [N, C]);
  writeNpy(labelsFile, labels, [N]);
  const rel = (f: string): string => path.relative(process.cwd(), f) || f;
  print(`fastloss demo: wrote ${rel(logitsFile)} (${N} x ${C} float32 logits) and ${rel(labelsFile)} (${N} int64 labels)\n`);

  const cmd = ['torch.crossEntropy', '--pred', rel(logitsFile), '--target', rel(labelsFile), '--out', rel(lossesFile)];
  print(`$ fastloss score ${cmd.join(' ')}`);
  await score([...cmd, '--no-progress'], print);

  // The worst examples, from the per-sample losses just written.
  const { readAll } = await import('../io');
  const { data } = await readAll(lossesFile, 'float32');
  const worst = Array.from(data.keys()).sort((a, b) => data[b] - data[a]).slice(0, 5);
  print(`\nthe 5 worst examples (row: loss, label -> predicted class), from ${rel(lossesFile)}:`);
  for (const r of worst) {
    let best = 0;
    for (let c = 1; c < C; c++) if (logits[r * C + c] > logits[r * C + best]) best = c;
    print(`  ${r}: ${data[r].toFixed(3)}, ${labels[r]} -> ${best}`);
  }

  // The same number from memory, as a check.
  const inMemory = fastloss.torch.crossEntropy(logits, Int32Array.from(labels, Number), { shape: [N, C] });
  print(`\nin memory, torch.crossEntropy(logits, labels, { shape: [${N}, ${C}] }) = ${inMemory}`);
  print(`\nsharded over 2 processes (any job runner), then merged:\n` +
    `$ fastloss score torch.crossEntropy --pred ${rel(logitsFile)} --target ${rel(labelsFile)} --shard 0/2 --json > part-0.json\n` +
    `$ fastloss score torch.crossEntropy --pred ${rel(logitsFile)} --target ${rel(labelsFile)} --shard 1/2 --json > part-1.json\n` +
    '$ fastloss merge part-0.json part-1.json');
  return 0;
}
