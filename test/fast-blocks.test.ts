// Ops with a fast() variant (binding/kernels/engine.h: blocks of |x| <= 86 summed with
// vmath::expInRange) against the op itself: the reduced sum has the bits of the engine's double
// sum, in its lane order, of the 'none' losses (computed with vmath::exp everywhere), on every
// ISA level, with blocks in range, blocks that fall back (86 < |x| < 103) and a short tail.
import * as fastloss from '../src';
import { native } from '../src/core/native';
import { isaLevels } from './helpers/parity';
import { uniformF32 } from './helpers/random';

const kChunk = 8192;
const lanesOf: Record<string, number> = { avx512: 16, avx2: 8, baseline: 4 };

/** sum of l in reduceChunks' chunks, each summed as blockSum does (lane k: elements b + k + j lanes). */
function engineSum(l: Float32Array, lanes: number): number {
  let total = 0;
  for (let b = 0; b < l.length; b += kChunk) {
    const e = Math.min(l.length, b + kChunk);
    const S = new Float64Array(lanes);
    const body = b + Math.floor((e - b) / lanes) * lanes;
    for (let j = b; j < body; j += lanes) for (let k = 0; k < lanes; k++) S[k] += l[j + k];
    for (let i = body; i < e; i++) S[0] += l[i];
    let acc = 0;
    for (let k = 0; k < lanes; k++) acc += S[k];
    total += acc;
  }
  return total;
}

const n = 3 * kChunk + 1001;
const x = uniformF32(n, 21, -6, 6);
const t = uniformF32(n, 22, 0, 8).map(Math.round);
for (const [i, v] of [[100, 87.5], [5000, -95], [9000, 86.25], [20000, -86.5], [n - 3, 88]] as const) x[i] = v;

for (const level of isaLevels()) {
  describe(`fast() blocks [${level}]`, () => {
    const initial = native.info().isa;
    beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
    afterAll(() => { native.setIsa(initial); });

    test.each([false, true])('torch.poissonNllLoss full=%s: sum == the engine sum of the none losses', (full) => {
      const none = fastloss.torch.poissonNllLoss(x, t, { full, reduction: 'none' });
      const ref = engineSum(none, lanesOf[level]);
      expect(Number.isFinite(ref)).toBe(true);
      expect(Object.is(fastloss.torch.poissonNllLoss(x, t, { full, reduction: 'sum' }), ref)).toBe(true);
      expect(Object.is(fastloss.torch.poissonNllLoss.withGrad(x, t, { full, reduction: 'sum' }).loss, ref)).toBe(true);
    });
  });
}
