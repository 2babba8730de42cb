// Helpers of the { signal } tests: Node's AbortError shape, and a deadline
// on a promise (a missing wake-up fails the test, never hangs it).

/** A predicate for assert.rejects: Node's AbortError with `reason` as its cause. */
export function isAbort(reason: unknown): (e: unknown) => boolean {
  return (e) => {
    const err = e as { name?: unknown; code?: unknown; cause?: unknown };
    return err.name === 'AbortError' && err.code === 'ABORT_ERR' && err.cause === reason;
  };
}

/** `p`, or a rejection naming `what` if it has not settled within `ms`. */
export async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not settled within ${ms} ms`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
