// Helpers of the { signal } tests: Node's AbortError shape, and a deadline
// on a promise (a missing wake-up fails the test, never hangs it), and a
// busy libuv pool to abort a pooled call while its job is still queued.
import assert from 'node:assert/strict';
import { pbkdf2 } from 'node:crypto';
import { getEventListeners } from 'node:events';

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

const POOL = Number(process.env.UV_THREADPOOL_SIZE ?? 4);

/** Occupies every pool thread for a while; resolves when they are free again. */
export function busyPool(): { done: Promise<void>; finished: () => boolean } {
  let left = POOL;
  const done = new Promise<void>((resolve, reject) => {
    for (let i = 0; i < POOL; i++) {
      pbkdf2('password', `salt${i}`, 400_000, 64, 'sha512', (error) => {
        if (error) reject(error);
        else if (--left === 0) resolve();
      });
    }
  });
  return { done, finished: () => left === 0 };
}

/** Aborts `call`'s signal while its job waits behind a busy pool; checks the rejection came first. */
export async function abortWhileQueued(call: (signal: AbortSignal) => Promise<unknown>, what: string): Promise<{ drained: Promise<void> }> {
  const pool = busyPool();
  const controller = new AbortController();
  const reason = new Error(`stop ${what}`);
  const p = call(controller.signal);
  setTimeout(() => controller.abort(reason), 30);
  await within(assert.rejects(p, isAbort(reason)), 20_000, what);
  assert.equal(pool.finished(), false, `${what}: the abort rejected while the pool was still busy (it did not wait for the job)`);
  assert.equal(getEventListeners(controller.signal, 'abort').length, 0, `${what}: no listener left`);
  return { drained: pool.done };
}

/** Resolves once `done()` holds; fails naming `what` if it does not within `ms`. */
export async function eventually(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    assert.ok(Date.now() < deadline, `${what} within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
