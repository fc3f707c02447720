// The engine's element-wise reductions (binding/kernels/engine.h, sumLoop / sumGradLoop) against
// a float64 sum of the float64 per-element losses of the same float32 inputs: a 10^6-element
// reduction stays within 1e-6 relative on every ISA level, withGrad.loss has the bits of forward,
// and 1 and 2 threads give the same bits. (Float-lane block sums, as Xent::expSum, were tried for
// these loops: within 1e-6 here, but streaming accumulators then differ from one call by ~1e-7,
// against their documented 1e-12; docs/ARCHITECTURE.md, Vector math.)
import * as fastloss from '../src';
import { native } from '../src/core/native';
import { isaLevels } from './helpers/parity';
import { uniformF32 } from './helpers/random';

const n = 1_000_000;
const x = uniformF32(n, 12, -4, 4);
const y = uniformF32(n, 13, -4, 4);
const t = uniformF32(n, 14, 0, 1);

function sum64(f: (i: number) => number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += f(i);
  return s;
}

type Case = [string, () => number, () => number, number];
const cases: Case[] = [
  ['torch.mseLoss sum', () => fastloss.torch.mseLoss(x, y, { reduction: 'sum' }),
    () => fastloss.torch.mseLoss.withGrad(x, y, { reduction: 'sum' }).loss, sum64((i) => (x[i] - y[i]) ** 2)],
  ['torch.l1Loss mean', () => fastloss.torch.l1Loss(x, y),
    () => fastloss.torch.l1Loss.withGrad(x, y).loss, sum64((i) => Math.abs(x[i] - y[i])) / n],
  // max(x, 0) - x t + log(1 + exp(-|x|))
  ['torch.binaryCrossEntropyWithLogits mean', () => fastloss.torch.binaryCrossEntropyWithLogits(x, t),
    () => fastloss.torch.binaryCrossEntropyWithLogits.withGrad(x, t).loss,
    sum64((i) => Math.max(x[i], 0) - x[i] * t[i] + Math.log1p(Math.exp(-Math.abs(x[i])))) / n],
];

for (const level of isaLevels()) {
  describe(`10^6-element sums [${level}]`, () => {
    const initial = native.info().isa;
    const threads = fastloss.getNumThreads();
    beforeAll(() => { expect(native.setIsa(level)).toBe(level); });
    afterAll(() => {
      native.setIsa(initial);
      fastloss.setNumThreads(threads);
    });

    test.each(cases)('%s within 1e-6 of the float64 sum, same bits on 1 and 2 threads', (_name, forward, withGrad, ref) => {
      fastloss.setNumThreads(1);
      const one = forward();
      fastloss.setNumThreads(2);
      const two = forward();
      expect(Math.abs(one - ref) / Math.abs(ref)).toBeLessThanOrEqual(1e-6);
      expect(Object.is(one, two)).toBe(true);
      expect(Object.is(withGrad(), one)).toBe(true);
    });
  });
}
