// The error contract: bad input throws a TypeError/RangeError whose message names the function and
// the argument, and writes nothing into the caller's buffers.

/** Errors thrown by the addon come from Node's own realm, not jest's sandbox: compare types by name. */
export function expectErrorOf(err: unknown, type: ErrorConstructor, message: RegExp): void {
  expect(err).toBeDefined();
  expect((err as Error)?.constructor?.name).toBe(type.name);
  expect((err as Error).name).toBe(type.name);
  expect((err as Error).message).toMatch(message);
}

/** What `call` throws, or undefined. */
export function thrownBy(call: () => unknown): unknown {
  try {
    call();
  } catch (e) {
    return e;
  }
  return undefined;
}

/** What `promise` rejects with, or undefined. */
export function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(() => undefined, (e: unknown) => e);
}

const SENTINEL = 7;

/** Fills `buffers` with a sentinel; `call` must then throw `type` matching `message` and leave them as they were. */
export function expectThrowsWritingNothing(call: () => unknown, type: ErrorConstructor, message: RegExp,
                                           ...buffers: Float32Array[]): void {
  for (const b of buffers) b.fill(SENTINEL);
  expectErrorOf(thrownBy(call), type, message);
  for (const b of buffers) expect(b.every((v) => v === SENTINEL)).toBe(true);
}
