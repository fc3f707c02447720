// fastloss merge part-*.json: combines the partial states of `fastloss score --shard I/N --json` exactly.
import * as fs from 'fs';
import * as fastloss from '../index';
import { parseArgs, UsageError } from './args';
import { summaryText } from './score';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Any = any;

export const MERGE_HELP = `usage: fastloss merge PART.json... [--json] [--partial]

Combines the states printed by 'fastloss score ... --shard I/N --json' (one file per shard) into the
result of one run over all rows: the sums are exact, so the order of the parts does not matter.

  --json      print the merged result and state as JSON (a state that can be merged again)
  --partial   accept a set of shards that does not cover every row (the result is then of those rows)`;

export async function merge(argv: string[], print: (s: string) => void): Promise<number> {
  const p = parseArgs('merge', argv, { values: [], flags: ['json', 'help', 'partial'], aliases: { h: 'help' } });
  if (p.flags.has('help')) {
    print(MERGE_HELP);
    return 0;
  }
  if (p.positional.length === 0) throw new UsageError('merge: name the part files (fastloss merge part-*.json)');
  const fromState = (fastloss as Any).accumulatorFromState as (s: unknown) => Any;
  let acc: Any = null;
  const shards: { file: string; index: number; count: number; totalRows: number }[] = [];
  for (const file of p.positional) {
    let doc: Any;
    try {
      doc = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`merge: ${file}: ${code === 'ENOENT' ? 'no such file' : `is not JSON (${(e as Error).message})`}`);
    }
    const state = doc && typeof doc === 'object' && doc.state && typeof doc.state === 'object' ? doc.state : doc;
    let part: Any;
    try {
      part = fromState(state);
    } catch (e) {
      throw new UsageError(`merge: ${file}: not a fastloss partial state (${(e as Error).message})`);
    }
    if (doc.shard) shards.push({ file, ...doc.shard });
    if (acc === null) acc = part;
    else {
      try {
        acc.merge(part);
      } catch (e) {
        throw new UsageError(`merge: ${file}: ${(e as Error).message}`);
      }
    }
  }
  // The shards must be of one split and each present once, unless --partial.
  if (shards.length && !p.flags.has('partial')) {
    const count = shards[0].count;
    const seen = new Map<number, string>();
    for (const s of shards) {
      if (s.count !== count || s.totalRows !== shards[0].totalRows)
        throw new UsageError(`merge: ${s.file} is shard ${s.index}/${s.count} of ${s.totalRows} rows; ${shards[0].file} is of a ${count}-way split of ${shards[0].totalRows} rows`);
      if (seen.has(s.index)) throw new UsageError(`merge: ${s.file} and ${seen.get(s.index)} are both shard ${s.index}/${count}`);
      seen.set(s.index, s.file);
    }
    const missing = Array.from({ length: count }, (_, i) => i).filter((i) => !seen.has(i));
    if (missing.length || shards.length !== p.positional.length)
      throw new UsageError(`merge: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ') || '(some parts have no shard)'} missing; pass --partial to merge what is there`);
  }
  const result = { loss: acc.loss, reduction: acc.reduction, result: acc.result(), rows: acc.rows, elements: acc.elements, parts: p.positional.length };
  if (p.flags.has('json')) print(JSON.stringify({ ...result, state: acc.toJSON() }, null, 1));
  else print(summaryText({ ...result, seconds: NaN }).split('\n')[0] + `\n  ${result.rows} rows, ${result.elements} elements from ${result.parts} parts`);
  return 0;
}
