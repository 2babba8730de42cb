// Test workers that are waited on through real events only: the worker's
// messages, its 'error' and its 'exit'. Every event is recorded from the
// moment the worker is made, so none is missed by a listener attached late,
// and a worker that dies before answering fails the test instead of
// leaving it waiting forever.
import { Worker, type TransferListItem } from 'node:worker_threads';

/** Compiled worker scripts, next to the compiled tests. */
export const concWorkerUrl = new URL('./fixtures/conc-worker.js', import.meta.url);
export const lifeWorkerUrl = new URL('./fixtures/life-worker.js', import.meta.url);
export const exampleWorkerUrl = new URL('./fixtures/example-worker.js', import.meta.url);
export const shareForgeWorkerUrl = new URL('./fixtures/share-forge-worker.js', import.meta.url);

/**
 * node:test options for every test that starts workers: a hung worker fails
 * the test after this long instead of hanging the run. Pair it with
 * `afterEach(terminateWorkers)` in the file, so the workers of a test that
 * timed out are ended and cannot keep the process alive.
 */
export const WORKER_TEST = { timeout: 120_000 };

/** Workers made by TestWorker that have not exited yet. */
const running = new Set<TestWorker>();

/** Terminates every test worker still running (after a timeout or a failed assertion); resolves once they are gone. */
export async function terminateWorkers(): Promise<void> {
  const left = [...running];
  await Promise.all(left.map((w) => w.worker.terminate()));
  await Promise.all(left.map((w) => w.exited));
}

/**
 * Resolves once every worker in `workers` has sent `signal` (it has opened its
 * file and waits at the start line), then posts 'go' to all of them at once:
 * they all start their work together, whatever the scheduler did before.
 */
export async function releaseTogether(workers: TestWorker[], signal = 'ready'): Promise<void> {
  const ready = await Promise.all(workers.map((w) => w.next<unknown>()));
  for (const [i, message] of ready.entries()) {
    if (message !== signal) throw new Error(`worker ${i} sent ${JSON.stringify(message)} instead of '${signal}'`);
  }
  for (const w of workers) w.post('go');
}

export class TestWorker {
  readonly worker: Worker;
  /** Resolves with the exit code (it never rejects). */
  readonly exited: Promise<number>;
  /** The uncaught error the worker died of, if any. */
  error: Error | undefined;
  readonly #inbox: unknown[] = [];
  readonly #waiting: { resolve: (m: unknown) => void; reject: (e: Error) => void }[] = [];
  #gone: Error | undefined;

  constructor(url: URL, workerData: unknown) {
    this.worker = new Worker(url, { workerData });
    running.add(this);
    this.worker.on('message', (m: unknown) => {
      const w = this.#waiting.shift();
      if (w !== undefined) w.resolve(m);
      else this.#inbox.push(m);
    });
    this.worker.on('error', (e: Error) => {
      this.error = e;
    });
    this.exited = new Promise((resolve) => {
      this.worker.once('exit', (code: number) => {
        running.delete(this);
        this.#gone = this.error ?? new Error(`worker exited with code ${code} before sending the awaited message`);
        for (const w of this.#waiting.splice(0)) w.reject(this.#gone);
        resolve(code);
      });
    });
  }

  /** The next message, in order; rejects if the worker exits first. */
  next<T>(): Promise<T> {
    if (this.#inbox.length > 0) return Promise.resolve(this.#inbox.shift() as T);
    if (this.#gone !== undefined) return Promise.reject(this.#gone);
    return new Promise<T>((resolve, reject) => this.#waiting.push({ resolve: resolve as (m: unknown) => void, reject }));
  }

  post(message: unknown, transfer?: readonly TransferListItem[]): void {
    this.worker.postMessage(message, transfer);
  }

  /** The worker's one report, after checking it also exited cleanly. */
  async report<T>(): Promise<T> {
    const report = await this.next<T>();
    const code = await this.exited;
    if (code !== 0) throw this.error ?? new Error(`worker exited with code ${code}`);
    return report;
  }
}

/** Runs a job to completion: its report, once the worker has exited with 0. */
export function runJob<T>(url: URL, job: unknown): Promise<T> {
  return new TestWorker(url, job).report<T>();
}

/** Calls `fn` and gives the error code it failed with, 'ok' if it did not (awaiting a promise it returns). */
export async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' ? code : `no code: ${String(error)}`;
  }
}
