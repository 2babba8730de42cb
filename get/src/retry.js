// Retries: which failures are retried, and how long to wait before the next
// attempt (exponential backoff with full jitter, at least what Retry-After
// asked).
import { Fault, GetError } from './errors.js';

/** Longest wait between retries, and the cap on a server's Retry-After. */
export const RETRY_CAP_MS = 60_000;

/**
 * Runs `fn` until it succeeds, retrying Faults with backoff.
 * @template T
 * @param {import('./download.js').Ctx} ctx
 * @param {string} what
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
export async function withRetries(ctx, what, fn) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      await afterFailure(ctx, e, attempt, what);
    }
  }
}

/**
 * After a failed attempt: rethrows what must not be retried, else waits
 * (exponential backoff with full jitter, at least what Retry-After asked).
 * @param {import('./download.js').Ctx} ctx
 * @param {unknown} e
 * @param {number} attempt  failures in a row, 1 for the first
 * @param {string} what
 */
export async function afterFailure(ctx, e, attempt, what) {
  if (ctx.halt.signal.aborted) throw ctx.halt.signal.reason;
  if (!(e instanceof Fault)) throw e;
  if (attempt > ctx.o.retries) {
    throw new GetError(
      'ERR_GET_NETWORK',
      `${what} failed ${attempt} times in a row, last: ${e.message}; check the network or the server, then run the same command again to resume`,
      { status: e.status, cause: e },
    );
  }
  const base = Math.min(RETRY_CAP_MS, 250 * 2 ** (attempt - 1));
  const jitter = Math.random() * base;
  const delay = Math.max(e.retryAfterMs ?? 0, Math.round(jitter));
  ctx.retries++;
  ctx.o.onEvent?.({ type: 'retry', what, attempt, reason: e.message, status: e.status ?? null, delayMs: delay });
  await sleep(delay, ctx.halt.signal);
}

/**
 * @param {number} ms
 * @param {AbortSignal} signal
 */
function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const t = setTimeout(() => {
      signal.removeEventListener('abort', stop);
      resolve(undefined);
    }, ms);
    const stop = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', stop, { once: true });
  });
}
