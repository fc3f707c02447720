/** Uniform numbers in [0, 1), seeded. */
export function seededRandom(seed: number): () => number;
/** n float32 values, uniform in [lo, hi) (default [-2, 2)). */
export function uniformF32(n: number, seed: number, lo?: number, hi?: number): Float32Array;
