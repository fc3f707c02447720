// Runs a scenario in a fresh Node process, so a crash (signal, abort, sanitizer report) fails the
// test instead of killing jest. Children load the built package (dist/, built by `npm test`'s
// pretest) and inherit the environment, so under scripts/sanitize.sh they load the ASan+UBSan
// addon (FASTLOSS_ADDON) with the sanitizer runtime preloaded.
import { spawn, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const root = path.join(__dirname, '..', '..');
export const dist = path.join(root, 'dist', 'index.js');

/** Scale for time limits: sanitizer builds run several times slower. */
export const slow = process.env.FASTLOSS_ADDON ? 4 : 1;

/** Child-script source giving it rnd(n, seed, lo = -2, hi = 2): helpers/random.js's uniformF32. */
export const CHILD_RNG = `
const { uniformF32: rnd } = require(${JSON.stringify(path.join(__dirname, 'random.js'))});
`;

/**
 * Helpers every child gets: fl / torch / keras (unless noLoad), outcome(f) / outcomeAsync(f)
 * giving { ok, value } or { ok: false, type, message }, report(x) writing the result line.
 */
export function prelude(load = true): string {
  return `
'use strict';
const __dist = ${JSON.stringify(dist)};
${load ? 'const fl = require(__dist); const { torch, keras } = fl;' : ''}
function __enc(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? (Object.is(v, -0) ? { num: '-0' } : v) : { num: String(v) };
  if (typeof v === 'bigint') return { bigint: String(v) };
  if (v instanceof Float32Array || v instanceof Int32Array) return { arr: Array.from(v, __enc), len: v.length };
  if (v && typeof v === 'object') { const o = {}; for (const k of Object.keys(v)) o[k] = __enc(v[k]); return { obj: o }; }
  return v === undefined ? { undef: true } : v;
}
function __err(e) {
  return { ok: false, type: e && e.constructor ? e.constructor.name : typeof e, message: String(e && e.message !== undefined ? e.message : e) };
}
function outcome(f) { try { return { ok: true, value: __enc(f()) }; } catch (e) { return __err(e); } }
async function outcomeAsync(f) { try { return { ok: true, value: __enc(await f()) }; } catch (e) { return __err(e); } }
function report(x) { process.stdout.write('\\n@@RESULT ' + JSON.stringify(x) + '\\n'); }
`;
}

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  ms: number;
  pid?: number;
  /** The value passed to report() in the child (the last one), or undefined. */
  result: unknown;
}

export interface ChildOptions {
  env?: Record<string, string | undefined>;
  /** Extra node flags, e.g. ['--expose-gc']. */
  flags?: string[];
  /** Milliseconds before the child is killed (scaled by `slow`). */
  timeout?: number;
  /** Skip the prelude's require of fastloss (worker teardown: the main thread never loads it). */
  noLoad?: boolean;
}

function parse(r: Pick<SpawnSyncReturns<string>, 'stdout'>): unknown {
  const lines = (r.stdout ?? '').split('\n').filter((l) => l.startsWith('@@RESULT '));
  if (lines.length === 0) return undefined;
  return JSON.parse(lines[lines.length - 1].slice('@@RESULT '.length));
}

function envFor(opts: ChildOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/**
 * Under scripts/sanitize.sh reports go to files named <log dir>/asan.<pid> and ubsan.<pid>
 * (FASTLOSS_SANITIZE_LOGS): the child's report, appended to its stderr.
 */
export function sanitizerLog(pid: number | undefined): string {
  const dir = process.env.FASTLOSS_SANITIZE_LOGS;
  if (!dir || pid === undefined) return '';
  let text = '';
  for (const kind of ['asan', 'ubsan']) {
    try {
      text += `\n[${kind}.${pid}]\n` + fs.readFileSync(path.join(dir, `${kind}.${pid}`), 'utf8');
    } catch {
      // no report from this process
    }
  }
  return text;
}

/** Runs `code` (after the prelude) with `node -e`, synchronously. */
export function runChild(code: string, opts: ChildOptions = {}): ChildResult {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [...(opts.flags ?? []), '-e', prelude(!opts.noLoad) + code], {
    cwd: root, env: envFor(opts), encoding: 'utf8', timeout: (opts.timeout ?? 60000) * slow, killSignal: 'SIGKILL',
    maxBuffer: 64 << 20,
  });
  const timedOut = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  return { status: r.status, signal: r.signal, stdout: r.stdout ?? '', stderr: (r.stderr ?? '') + sanitizerLog(r.pid), timedOut, ms: Date.now() - t0, pid: r.pid, result: parse(r) };
}

/** Same as runChild, without blocking the event loop (to run several children at once). */
export function runChildAsync(code: string, opts: ChildOptions = {}): Promise<ChildResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [...(opts.flags ?? []), '-e', prelude(!opts.noLoad) + code], { cwd: root, env: envFor(opts) });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    p.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    p.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; p.kill('SIGKILL'); }, (opts.timeout ?? 60000) * slow);
    p.on('close', (status, signal) => {
      clearTimeout(timer);
      resolve({ status, signal, stdout, stderr: stderr + sanitizerLog(p.pid), timedOut, ms: Date.now() - t0, pid: p.pid, result: parse({ stdout }) });
    });
  });
}

/** Runs `count` children, `parallel` at a time. */
export async function runMany<R = ChildResult>(count: number, parallel: number, make: (i: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(count);
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await make(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, lane));
  return results;
}

const CRASH_MARKERS = [/AddressSanitizer/, /LeakSanitizer/, /runtime error:/, /terminate called/, /Segmentation fault/,
  /double free|corrupted|malloc\(\)|free\(\): invalid/, /libgomp: /, /FATAL ERROR/];

/** Why the child counts as crashed (signal, abort, sanitizer report, timeout), or null when it ran cleanly. */
export function crashOf(r: ChildResult): string | null {
  if (r.timedOut) return `timed out after ${r.ms} ms (killed)`;
  if (r.signal) return `killed by ${r.signal}`;
  for (const m of CRASH_MARKERS) if (m.test(r.stderr)) return `stderr matches ${m}`;
  if (r.status !== 0) return `exit status ${r.status}`;
  return null;
}

/** Fails (with the child's output) unless the child exited 0 with no signal and no crash report. */
export function expectClean(r: ChildResult): void {
  const why = crashOf(r);
  if (why !== null) {
    const tail = (s: string) => s.split('\n').slice(-40).join('\n');
    throw new Error(`child crashed: ${why}\n--- stderr (tail) ---\n${tail(r.stderr)}\n--- stdout (tail) ---\n${tail(r.stdout)}`);
  }
}

export type Outcome = { ok: true; value: unknown } | { ok: false; type: string; message: string };

/** Decodes a value encoded by the child's __enc. */
export function dec(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if ('num' in o) return o.num === '-0' ? -0 : Number(o.num);
  if ('bigint' in o) return BigInt(o.bigint as string);
  if ('arr' in o) return (o.arr as unknown[]).map(dec);
  if ('obj' in o) {
    const r: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o.obj as Record<string, unknown>)) r[k] = dec(x);
    return r;
  }
  if ('undef' in o) return undefined;
  return v;
}

/** The outcome is a TypeError or RangeError whose message starts with `fn: ` and names `arg`. */
export function expectNamedError(o: Outcome, fn: string, arg: string | RegExp, types: string[] = ['TypeError', 'RangeError']): void {
  if (o.ok) throw new Error(`expected a ${types.join('/')} from ${fn} naming ${arg}, got a result: ${JSON.stringify(o.value).slice(0, 300)}`);
  expect(types).toContain(o.type);
  expect(o.message.startsWith(`${fn}: `)).toBe(true);
  if (typeof arg === 'string') expect(o.message).toContain(arg);
  else expect(o.message).toMatch(arg);
}
