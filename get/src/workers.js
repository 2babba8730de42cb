// The main thread's side of `workers` > 0: the connections are spread over
// N worker threads (worker.js), each attached to the shared MmapFile and its
// concurrent allocator. The main thread keeps the probes, the progress
// reports, the durable saves of the resume state and the end; it relays
// retries, passes an abort on, and rebuilds a worker's failure.
import { Worker } from 'node:worker_threads';
import { AbortError, GetError } from './errors.js';
import { RETRY_CAP_MS } from './retry.js';

/**
 * Runs the connections of a ranged download in worker threads; resolves
 * with the first failure (undefined when every worker finished its work).
 * @param {import('./job.js').Run} run
 * @param {{ conns: number, workers: number, jobSize: number, partPath: string, statePath: string }} p  workers: 1 to conns
 * @returns {Promise<unknown>}
 */
export async function runWorkers(run, p) {
  const { ctx, main } = run;
  const { o } = ctx;
  const n = p.workers;
  const counters = new Float64Array(new SharedArrayBuffer(16 * n));
  run.readCounters = () => {
    let received = 0;
    let active = 0;
    for (let i = 0; i < n; i++) {
      received += counters[2 * i];
      active += counters[2 * i + 1];
    }
    return { received, active };
  };
  const shared = run.file.share();
  /** @type {unknown} */
  let failure;
  const fail = (/** @type {unknown} */ e) => {
    if (failure !== undefined) return;
    failure = e;
    if (!ctx.halt.signal.aborted) ctx.halt.abort(e);
  };
  /** @type {Worker[]} */
  const threads = [];
  const ended = [];
  for (let i = 0; i < n; i++) {
    const indexes = [];
    for (let c = i; c < p.conns; c += n) indexes.push(c);
    /** @type {import('./worker.js').WorkerJob} */
    const job = {
      shared,
      partPath: p.partPath,
      statePath: p.statePath,
      main: { url: main.url, finalUrl: main.finalUrl, length: run.total, ranges: true, etag: main.etag, lastModified: main.lastModified },
      urls: run.urls,
      indexes,
      chunkSize: run.C,
      jobSize: p.jobSize,
      span: run.span,
      validator: run.validator,
      o: {
        retries: o.retries,
        timeout: o.timeout,
        headers: o.headers,
        sync: o.sync,
        raw: o.raw,
        ca: o.ca,
        insecure: o.insecure,
        allowDowngrade: o.allowDowngrade,
        retryCap: RETRY_CAP_MS,
      },
      counters,
      slot: i,
    };
    const t = new Worker(new URL('./worker.js', import.meta.url), { workerData: job });
    threads.push(t);
    ended.push(
      new Promise((resolve) => {
        let reported = false;
        t.on('message', (m) => {
          if (m.type === 'event') {
            if (m.event.type === 'retry') ctx.retries++;
            o.onEvent?.(m.event);
          } else if (m.type === 'end') {
            reported = true;
            if (m.error !== undefined) fail(rebuild(m.error, ctx.halt.signal));
            // Everything of the worker is closed before it reports; should a
            // handle still keep it alive, it is not waited for.
            setTimeout(() => t.terminate(), 2000).unref();
          }
        });
        t.on('error', (e) => fail(e));
        t.on('exit', (code) => {
          if (!reported) fail(new Error(`internal: download worker ${i} exited with ${code} before it reported`));
          resolve(undefined);
        });
      }),
    );
  }
  const onAbort = () => {
    for (const t of threads) t.postMessage({ type: 'abort' });
  };
  ctx.halt.signal.addEventListener('abort', onAbort);
  await Promise.all(ended);
  ctx.halt.signal.removeEventListener('abort', onAbort);
  return failure;
}

/**
 * A worker's failure as the error the caller would have had from the main thread.
 * @param {{ kind: string, code?: string, message?: string, url?: string, path?: string, status?: number, stack?: string }} e
 * @param {AbortSignal} signal
 */
function rebuild(e, signal) {
  if (e.kind === 'GetError')
    return new GetError(/** @type {string} */ (e.code), /** @type {string} */ (e.message), { url: e.url, path: e.path, status: e.status });
  if (e.kind === 'AbortError') return signal.aborted ? signal.reason : new AbortError();
  const err = new Error(e.message);
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}
