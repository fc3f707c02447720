'use strict';
// Timing: calibrate a batch size so one sample lasts at least sampleMs (this is also the
// warm-up: the first calls run the JIT and touch the pages), then take samples until the
// budget is spent (at least minSamples) and report the median time per call.
const { rng } = require('./random');

function now() {
  return Number(process.hrtime.bigint());
}

function timeBatch(fn, inner) {
  const t0 = process.hrtime.bigint();
  for (let k = 0; k < inner; k++) fn();
  return Number(process.hrtime.bigint() - t0);
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** Calls per sample so that one sample of fn lasts at least sampleMs (bench/torch_bench.py's calibrate() too). */
function calibrate(fn, sampleMs) {
  const target = sampleMs * 1e6;
  let inner = 1;
  let t = timeBatch(fn, inner);
  while (t < target && inner < 1 << 24) {
    const grow = t > 0 ? Math.ceil((inner * target * 1.1) / t) : inner * 16;
    inner = Math.min(inner * 16, Math.max(inner * 2, grow));
    t = timeBatch(fn, inner);
  }
  return inner;
}

/**
 * ns per call of fn, median over samples.
 * cfg: { sampleMs, budgetMs, minSamples, maxSamples, warmups }
 */
function measure(fn, cfg) {
  const inner = calibrate(fn, cfg.sampleMs);
  for (let w = 1; w < (cfg.warmups ?? 1); w++) timeBatch(fn, inner);
  const samples = [];
  const start = now();
  const budget = cfg.budgetMs * 1e6;
  while (samples.length < cfg.minSamples || (samples.length < cfg.maxSamples && now() - start < budget))
    samples.push(timeBatch(fn, inner) / inner);
  return {
    ns: median(samples),
    min: Math.min(...samples),
    max: Math.max(...samples),
    samples: samples.length,
    inner,
  };
}

// measure() that re-measures when other processes took CPU time meanwhile (a shared machine):
// up to cfg.retries more attempts, each after waiting (at most cfg.quietWaitMs) for a quiet
// second. The result says how busy the machine was during the kept attempt.
const cpuLoad = require('./load');

function sleepMs(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitForQuiet(maxOther, maxMs) {
  const end = Date.now() + maxMs;
  while (Date.now() < end) {
    const stop = cpuLoad.start();
    sleepMs(500);
    const { otherCores } = stop();
    if (otherCores === null || otherCores <= maxOther) return;
  }
}

// cfg.waitBudget = { ms }: total waiting allowed over the whole run (shared, decremented), so a
// machine that stays busy costs minutes, not hours; once spent, figures are kept as measured.
function measureQuiet(fn, cfg) {
  const maxOther = cfg.maxOtherCores ?? 0.25;
  const budget = cfg.waitBudget ?? { ms: 0 };
  let best = null;
  for (let attempt = 0; attempt <= (cfg.retries ?? 0); attempt++) {
    if (attempt > 0) {
      if (budget.ms <= 0) break;
      const t = Date.now();
      waitForQuiet(maxOther, Math.min(cfg.quietWaitMs ?? 20000, budget.ms));
      budget.ms -= Date.now() - t;
    }
    const stop = cpuLoad.start();
    const m = measure(fn, cfg);
    const { otherCores } = stop();
    m.otherCores = otherCores;
    m.attempts = attempt + 1;
    if (!best || (otherCores ?? 0) < (best.otherCores ?? 0)) best = m;
    if (otherCores === null || otherCores <= maxOther) break;
  }
  return best;
}

/** The q-quantile (0..1) of xs, nearest rank. */
function quantile(xs, q) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

/**
 * Times single calls (no batching: a stall shows in the call it hits) of several variants,
 * interleaved in rounds of cfg.block calls each so that they see the same machine; at least
 * cfg.minCalls calls per variant, then more until cfg.budgetMs is spent (at most cfg.maxCalls).
 * variants: { name: { before?(), call() } }; returns { name: { median, p99, max, calls } } in ns.
 */
function callLatencies(variants, cfg) {
  const names = Object.keys(variants);
  const times = Object.fromEntries(names.map((k) => [k, []]));
  for (const k of names) {
    if (variants[k].before) variants[k].before();
    for (let w = 0; w < cfg.warmups; w++) variants[k].call();
  }
  // Each round runs the variants in a random order (seeded): with a fixed order, something periodic (a
  // scavenge every so many result allocations, a timer) can keep landing on the same variant's call.
  const coin = rng(0x9e3779b9);
  const start = now();
  while (times[names[0]].length < cfg.minCalls ||
    (times[names[0]].length < cfg.maxCalls && now() - start < cfg.budgetMs * 1e6)) {
    const order = [...names];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(coin() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (const k of order) {
      const v = variants[k];
      if (v.before) v.before();
      for (let i = 0; i < cfg.block; i++) {
        const t0 = process.hrtime.bigint();
        v.call();
        times[k].push(Number(process.hrtime.bigint() - t0));
      }
    }
  }
  const out = Object.fromEntries(names.map((k) => [k, {
    median: median(times[k]), p99: quantile(times[k], 0.99), max: Math.max(...times[k]), calls: times[k].length,
  }]));
  if (cfg.keepTimes) for (const k of names) out[k].times = times[k];
  return out;
}

/**
 * Interval of a / b for the q-quantiles of two variants timed by callLatencies (block 1: a[i] and b[i] come
 * from the same round): the 5th-95th percentile of the ratio over `reps` moving-block bootstrap resamples of
 * the rounds (blocks of about 1/20 of the run keep the machine's slow stretches together). A ratio whose
 * interval covers 1 is within this run's noise.
 */
function ratioInterval(a, b, q, reps = 200) {
  const n = Math.min(a.length, b.length);
  if (n < 20) return [NaN, NaN];
  const len = Math.max(1, Math.floor(n / 20));
  const blocks = Math.ceil(n / len);
  const rand = rng(0x2545f491);
  const ra = new Float64Array(blocks * len);
  const rb = new Float64Array(blocks * len);
  const ratios = [];
  for (let r = 0; r < reps; r++) {
    for (let k = 0; k < blocks; k++) {
      const s = Math.floor(rand() * (n - len + 1));
      ra.set(a.slice(s, s + len), k * len);
      rb.set(b.slice(s, s + len), k * len);
    }
    ratios.push(sortedQuantile(ra.sort(), q) / sortedQuantile(rb.sort(), q));
  }
  ratios.sort((x, y) => x - y);
  return [sortedQuantile(ratios, 0.05), sortedQuantile(ratios, 0.95)];
}

function sortedQuantile(s, q) {
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}

module.exports = { measure, calibrate, timeBatch, measureQuiet, median, quantile, callLatencies, ratioInterval, now };
