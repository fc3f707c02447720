// Central finite differences of a loss's reduced value, against its analytic gradient.
import type { AnyLoss } from './losses';

/** What a finite-difference check calls: the loss and its backward (a loss, or a wrapper around one). */
export type Differentiable = ((...a: unknown[]) => unknown) & Pick<AnyLoss, 'backward'> & Partial<Pick<AnyLoss, 'lossName'>>;

/**
 * Perturbs each element of the differentiable argument `argIndex` by ±h (in float64, then
 * rounded to float32, using the rounded step) and compares (f(x+h) - f(x-h)) / 2h with backward.
 */
export function expectFiniteDifferences(loss: Differentiable, arrays: Float32Array[], opts: Record<string, unknown>,
                                        argIndex: number, gradKey?: string, h = 1e-2, rtol = 2e-2, atol = 2e-3): void {
  const analyticAll = loss.backward(...arrays, opts) as Float32Array | Record<string, Float32Array>;
  const analytic = gradKey ? (analyticAll as Record<string, Float32Array>)[gradKey] : (analyticAll as Float32Array);
  const x = arrays[argIndex];
  expect(analytic).toHaveLength(x.length);
  const fwdOpts = { ...opts };
  delete fwdOpts.gradOutput;
  for (let i = 0; i < x.length; i++) {
    const x0 = x[i];
    x[i] = Math.fround(x0 + h);
    const up = x[i] - x0;
    const fPlus = loss(...arrays, fwdOpts) as number;
    x[i] = Math.fround(x0 - h);
    const down = x0 - x[i];
    const fMinus = loss(...arrays, fwdOpts) as number;
    x[i] = x0;
    const numeric = (fPlus - fMinus) / (up + down);
    const diff = Math.abs(numeric - analytic[i]);
    if (!(diff <= atol + rtol * Math.abs(numeric)))
      throw new Error(`${loss.lossName ?? 'loss'} grad[${i}]: analytic ${analytic[i]}, finite difference ${numeric}`);
  }
}
