// The facade's losses by name ('torch.mseLoss'), for tests that read names from data or walk them all.
import * as fastloss from '../../src';

export type AnyLoss = ((...a: unknown[]) => unknown) & {
  lossName: string;
  backward(...a: unknown[]): unknown;
  withGrad(...a: unknown[]): { loss: unknown; grad: unknown };
  async(...a: unknown[]): Promise<unknown>;
  withGradAsync(...a: unknown[]): Promise<{ loss: unknown; grad: unknown }>;
};

const namespaces = { torch: fastloss.torch, keras: fastloss.keras } as unknown as Record<string, Record<string, unknown>>;

function isLoss(v: unknown): v is AnyLoss {
  return typeof v === 'function' && typeof (v as { lossName?: unknown }).lossName === 'string';
}

/** The function exported as `name` (a loss, unless its lossName says otherwise), or undefined. */
export function findLoss(name: string): AnyLoss | undefined {
  const [ns, fn] = name.split('.');
  const loss = namespaces[ns]?.[fn];
  return typeof loss === 'function' ? (loss as AnyLoss) : undefined;
}

/** The loss called `name`; throws when there is none. */
export function lossByName(name: string): AnyLoss {
  const loss = findLoss(name);
  if (!isLoss(loss)) throw new Error(`no loss ${name}`);
  return loss;
}

/** Every loss of the torch and keras namespaces, by name. */
export function lossNames(): string[] {
  return Object.values(namespaces).flatMap((ns) => Object.values(ns).filter(isLoss).map((loss) => loss.lossName));
}
