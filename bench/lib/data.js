'use strict';
// Deterministic benchmark inputs. A workload describes each input as { gen, length }; equal
// descriptions share one array (and one file for the PyTorch side), so the loop, fastloss,
// tfjs and torch all read exactly the same numbers.
const fs = require('fs');
const path = require('path');

const { rng } = require('./random');

// Generators by kind. Each gets (length, spec) and returns a typed array.
const GENERATORS = {
  // standard normal (Box-Muller), optional { mean, std }
  normal(n, g) {
    const r = rng(g.seed ?? 1);
    const out = new Float32Array(n);
    const mean = g.mean ?? 0;
    const std = g.std ?? 1;
    for (let i = 0; i < n; i += 2) {
      const u = 1 - r();
      const v = r();
      const m = Math.sqrt(-2 * Math.log(u));
      out[i] = mean + std * m * Math.cos(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = mean + std * m * Math.sin(2 * Math.PI * v);
    }
    return out;
  },
  // uniform in [lo, hi)
  uniform(n, g) {
    const r = rng(g.seed ?? 1);
    const out = new Float32Array(n);
    const lo = g.lo ?? 0;
    const span = (g.hi ?? 1) - lo;
    for (let i = 0; i < n; i++) out[i] = lo + span * r();
    return out;
  },
  // class indices in [offset, offset + classes), offset 0 by default
  classes(n, g) {
    const r = rng(g.seed ?? 1);
    const out = new Int32Array(n);
    const offset = g.offset ?? 0;
    for (let i = 0; i < n; i++) out[i] = offset + Math.floor(r() * g.classes);
    return out;
  },
  // +1 or -1 (cosine embedding targets)
  sign(n, g) {
    const r = rng(g.seed ?? 1);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = r() < 0.5 ? -1 : 1;
    return out;
  },
  // 1 with probability p (default 0.5), else 0 (binary labels)
  bernoulli(n, g) {
    const r = rng(g.seed ?? 1);
    const p = g.p ?? 0.5;
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = r() < p ? 1 : 0;
    return out;
  },
  // Poisson counts of the given rate (Knuth's method; small rates)
  poisson(n, g) {
    const r = rng(g.seed ?? 1);
    const limit = Math.exp(-(g.rate ?? 1));
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let k = 0;
      let prod = r();
      while (prod > limit) {
        k++;
        prod *= r();
      }
      out[i] = k;
    }
    return out;
  },
  // rows of `cols`: softmax of standard normal logits (times `scale`, default 1), or its log
  // (log: true, log-probabilities as log_softmax gives them)
  softmax(n, g) {
    const cols = g.cols;
    if (!(cols > 0) || n % cols !== 0) throw new Error(`bench: softmax rows of ${cols} do not divide ${n}`);
    const z = GENERATORS.normal(n, { seed: g.seed, std: g.scale ?? 1 });
    const out = new Float32Array(n);
    for (let o = 0; o < n; o += cols) {
      let m = -Infinity;
      for (let j = o; j < o + cols; j++) if (z[j] > m) m = z[j];
      let s = 0;
      for (let j = o; j < o + cols; j++) s += Math.exp(z[j] - m);
      const lse = m + Math.log(s);
      for (let j = o; j < o + cols; j++) out[j] = g.log ? z[j] - lse : Math.exp(z[j] - lse);
    }
    return out;
  },
  // rows of `cols` with a single 1 at a random class (one-hot labels)
  onehot(n, g) {
    const cols = g.cols;
    if (!(cols > 0) || n % cols !== 0) throw new Error(`bench: one-hot rows of ${cols} do not divide ${n}`);
    const r = rng(g.seed ?? 1);
    const out = new Float32Array(n);
    for (let o = 0; o < n; o += cols) out[o + Math.floor(r() * cols)] = 1;
    return out;
  },
};

function keyOf(gen, length) {
  const parts = Object.keys(gen).sort().map((k) => `${k}=${gen[k]}`);
  return `${parts.join(',')};n=${length}`;
}

class DataCache {
  constructor() {
    this.arrays = new Map();
    this.files = new Map();
    this.dir = null;
  }

  get(gen, length) {
    const key = keyOf(gen, length);
    let a = this.arrays.get(key);
    if (!a) {
      const make = GENERATORS[gen.kind];
      if (!make) throw new Error(`bench: unknown input generator '${gen.kind}'`);
      a = make(length, gen);
      this.arrays.set(key, a);
    }
    return a;
  }

  /** Raw little-endian file of the array (for bench/torch_bench.py), written once. */
  file(gen, length) {
    const key = keyOf(gen, length);
    let f = this.files.get(key);
    if (f) return f;
    if (!this.dir) this.dir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'fastloss-bench-'));
    const a = this.get(gen, length);
    f = path.join(this.dir, `in${this.files.size}.${a instanceof Int32Array ? 'i32' : 'f32'}`);
    fs.writeFileSync(f, Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    this.files.set(key, f);
    return f;
  }

  cleanup() {
    if (this.dir) fs.rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
    this.files.clear();
  }
}

module.exports = { DataCache, GENERATORS, rng };
