// The tests' one seeded generator (plain CommonJS, so fuzz drivers and child scripts load it too):
// a 32-bit LCG (Numerical Recipes constants), the same numbers on every run and machine.
'use strict';

/** Uniform numbers in [0, 1), seeded. */
function seededRandom(seed) {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n float32 values, uniform in [lo, hi). */
function uniformF32(n, seed, lo = -2, hi = 2) {
  const next = seededRandom(seed);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + next() * (hi - lo);
  return a;
}

module.exports = { seededRandom, uniformF32 };
