'use strict';
// The PyTorch comparison of npm run bench (issue 12). One long-lived bench/torch_bench.py server, spoken to in
// JSON lines over its stdin/stdout, and interleaved rounds: per case and mode both sides are calibrated (batches
// of at least sampleMs: the warm-up), then each round takes one sample of each, fastloss first in even rounds and
// PyTorch first in odd ones, so both see the same machine. Only one side runs at a time (the other waits on a
// pipe). The ratio reported is the median of the per-round ratios, with the 90 % interval of that median over a
// moving-block bootstrap of the rounds (harness.ratioInterval): measuring PyTorch minutes after fastloss made
// the ratios at 1e5-1e6 swing 2-10x with whatever else the machine did.
const { spawn } = require('child_process');
const path = require('path');
const { calibrate, timeBatch, median, ratioInterval } = require('./harness');

/** A feed(chunk) that calls onLine(line) for every complete non-empty line of a text stream. */
function lineSplitter(onLine) {
  let buf = '';
  return (chunk) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) onLine(line);
    }
  };
}

/** One reply line -> its object. Throws unless it is a JSON object with ok: true (then with the server's error). */
function parseReply(line) {
  let r;
  try {
    r = JSON.parse(line);
  } catch {
    throw new Error(`torch peer: reply is not JSON: ${line.slice(0, 200)}`);
  }
  if (r === null || typeof r !== 'object' || Array.isArray(r) || typeof r.ok !== 'boolean')
    throw new Error(`torch peer: not a reply object: ${line.slice(0, 200)}`);
  if (!r.ok) throw new Error(`torch peer: ${typeof r.error === 'string' ? r.error : 'request failed'}`);
  return r;
}

/**
 * Requests to a JSON-lines server, answered in order. proc: a child process, or anything with stdin (writable),
 * stdout (readable) and 'exit' / 'error' events. peer.hello resolves with the server's first line.
 */
class Peer {
  constructor(proc) {
    this.proc = proc;
    this.pending = []; // { resolve, reject } in request order; the first one is the hello
    this.closed = null;
    this.hello = new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
    this.exited = new Promise((resolve) => proc.once('exit', resolve));
    const fail = (why) => {
      this.closed = this.closed ?? why;
      for (const p of this.pending.splice(0)) p.reject(new Error(`torch peer: ${this.closed}`));
    };
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', lineSplitter((line) => {
      const p = this.pending.shift();
      if (!p) return fail(`reply without a request: ${line.slice(0, 200)}`);
      try {
        p.resolve(parseReply(line));
      } catch (e) {
        p.reject(e);
      }
    }));
    proc.on('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`})`));
    proc.on('error', (e) => fail(e.message));
    proc.stdin.on('error', (e) => fail(e.message)); // EPIPE after the server died
  }

  request(obj) {
    if (this.closed) return Promise.reject(new Error(`torch peer: ${this.closed}`));
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.proc.stdin.write(`${JSON.stringify(obj)}\n`);
    });
  }

  /** Asks the server to quit and waits for it to exit. */
  async close() {
    if (!this.closed) {
      this.closed = 'closed';
      this.proc.stdin.end(`${JSON.stringify({ op: 'quit' })}\n`);
    }
    await this.exited;
  }
}

/** bench/torch_bench.py as a server on `threads` threads (torch.set_num_threads and OMP_NUM_THREADS). */
function startTorch(threads, python = '/usr/bin/python3') {
  const proc = spawn(python, [path.join(__dirname, '..', 'torch_bench.py'), '--threads', String(threads)], {
    stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: String(threads) },
  });
  return new Peer(proc);
}

/** A side of a comparison timed in this process: fn called in batches of at least sampleMs. */
function localSide(fn, sampleMs) {
  return { calibrate: () => calibrate(fn, sampleMs), sample: (inner) => timeBatch(fn, inner) / inner };
}

/** The peer's loaded case in `mode` ('forward' | 'withGrad'), timed by the server the same way. */
function peerSide(peer, mode, sampleMs) {
  return {
    calibrate: async () => (await peer.request({ op: 'calibrate', mode, sampleMs })).inner,
    sample: async (inner) => (await peer.request({ op: 'time', mode, inner })).ns,
  };
}

/**
 * Per-round ns per call of fastloss (fl) and of the other side (other): x = median over rounds of other / fl
 * (above 1: fastloss faster) and its 90 % interval; flNs / otherNs are each side's median.
 */
function compareRounds(fl, other) {
  const ratios = fl.map((t, i) => other[i] / t);
  return {
    rounds: ratios.length,
    flNs: median(fl),
    otherNs: median(other),
    ratio: median(ratios),
    interval: ratioInterval(ratios, ratios.map(() => 1), 0.5),
  };
}

// Before each sample: a pause, then untimed samples for warmMs. PyTorch's OpenMP threads spin for milliseconds
// after each op (libgomp's default wait policy; ~7 ms of CPU after a 10^5-element op on the 2-core AMD EPYC
// VM). A fastloss sample started in that time found one core taken, counted a stall and ran its calls on one
// thread (runtime.cpp: the contention backoff): at 10^5 elements whole samples ran at the 1-thread rate. And
// after the pause either side's first milliseconds of calls are slow (sleeping threads, an idle vCPU): without
// the untimed samples, PyTorch's 1 ms samples (--quick) of 10^3-element logCosh withGrad took 210 us a call
// instead of 45, and fastloss's 2 ms samples of 10^5-element BCE-with-logits withGrad 56-62 us instead of 41-45.
const SETTLE_MS = 20;
const WARM_MS = 10;
const settle = (ms) => (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());

/**
 * Calibrates both sides, then `rounds` rounds of one sample each, the first side alternating, each sample
 * after a pause of settleMs and untimed samples for warmMs (none when both are 0); compareRounds().
 */
async function interleave(fl, other, rounds, settleMs = SETTLE_MS, warmMs = WARM_MS) {
  const innerFl = await fl.calibrate();
  const innerOther = await other.calibrate();
  const tf = [];
  const to = [];
  const timed = async (side, inner) => {
    await settle(settleMs);
    if (warmMs > 0) for (const t0 = Date.now(); Date.now() - t0 < warmMs;) await side.sample(inner);
    return side.sample(inner);
  };
  const sampleFl = async () => { tf.push(await timed(fl, innerFl)); };
  const sampleOther = async () => { to.push(await timed(other, innerOther)); };
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) await sampleFl();
    await sampleOther();
    if (r % 2 === 1) await sampleFl();
  }
  return { ...compareRounds(tf, to), flTimes: tf, otherTimes: to };
}

module.exports = { lineSplitter, parseReply, Peer, startTorch, localSide, peerSide, compareRounds, interleave };
