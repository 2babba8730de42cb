// A worker thread of a download with `workers` > 0: it attaches to the
// shared MmapFile (fromShared) and its concurrent allocator, maps the resume
// state itself (the bitmap is updated with Atomics, so every thread's bits
// land in the same pages) and runs its share of the connections with the
// same engine as the main thread (job.js, work-plan.js, writeback.js). Its
// connections take work from the allocator shared by every thread; a
// straggler is split by an idle connection of the same worker.
//
// Messages to the main thread: { type: 'event', event } (retries),
// { type: 'end', error? } once; from it: { type: 'abort' }.
import { parentPort, workerData } from 'node:worker_threads';
import { MmapFile } from 'ranged-mmap';
import { AbortError, GetError, fileError } from './errors.js';
import { makeAgents } from './http.js';
import { connection } from './job.js';
import { ResumeState } from './state.js';
import { WorkPlan } from './work-plan.js';
import { WriteBack } from './writeback.js';

/**
 * What the main thread hands a worker (workers.js).
 * @typedef {object} WorkerJob
 * @property {import('ranged-mmap').SharedMappedFile} shared  file.share()
 * @property {string} partPath
 * @property {string} statePath
 * @property {{ url: string, finalUrl: string, length: number, ranges: boolean, etag: string | null, lastModified: string | null }} main
 * @property {string[]} urls
 * @property {number[]} indexes  the connection numbers this worker runs (for the URL each uses)
 * @property {number} chunkSize
 * @property {number} jobSize
 * @property {number} span
 * @property {string | null} validator
 * @property {{ retries: number, timeout: number, headers: Record<string, string>, sync: boolean, raw: boolean, ca?: string | Buffer,
 *   insecure: boolean, allowDowngrade: boolean, retryCap: number }} o
 * @property {Float64Array} counters  shared: [received, active connections] per worker
 * @property {number} slot  this worker's place in `counters`
 */

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const w = /** @type {WorkerJob} */ (workerData);

/** Turns any failure into what the main thread rebuilds (workers.js). @param {unknown} e */
function serialize(e) {
  if (e instanceof GetError) return { kind: 'GetError', code: e.code, message: e.message, url: e.url, path: e.path, status: e.status };
  if (e instanceof AbortError) return { kind: 'AbortError' };
  const err = /** @type {Error} */ (e);
  return { kind: 'Error', message: String(err?.message ?? e), stack: err?.stack };
}

async function main() {
  const halt = new AbortController();
  port.on('message', (m) => {
    if (m?.type === 'abort' && !halt.signal.aborted) halt.abort(new AbortError());
  });
  /** @type {ReturnType<typeof MmapFile.fromShared>} */
  let attached;
  try {
    attached = MmapFile.fromShared(w.shared);
  } catch (e) {
    throw fileError(e, 'map', w.partPath);
  }
  const { file, allocator } = attached;
  /** @type {ResumeState | null} */
  let state = null;
  try {
    state = ResumeState.open(w.statePath, { url: w.main.url, length: w.main.length, etag: w.main.etag, lastModified: w.main.lastModified });
  } catch (e) {
    file.close();
    throw e;
  }
  const agents = makeAgents({ connections: w.indexes.length, ca: w.o.ca, insecure: w.o.insecure });
  /** @type {Set<import('node:http').ClientRequest>} */
  const requests = new Set();
  const ctx = {
    o: { ...w.o, onEvent: (/** @type {unknown} */ event) => port.postMessage({ type: 'event', event }) },
    ro: {
      agents,
      headers: w.o.headers,
      timeout: w.o.timeout,
      allowDowngrade: w.o.allowDowngrade,
      retryCap: w.o.retryCap,
      onRequest: (/** @type {import('node:http').ClientRequest} */ req) => {
        if (halt.signal.aborted) req.destroy(halt.signal.reason);
        requests.add(req);
        req.on('close', () => requests.delete(req));
      },
    },
    halt,
    started: performance.now(),
    retries: 0,
  };
  const total = w.main.length;
  const plan = new WorkPlan({
    allocator: /** @type {import('ranged-mmap').ConcurrentAllocator} */ (allocator),
    state,
    chunkSize: w.chunkSize,
    jobSize: w.jobSize,
    ranges: true,
    signal: halt.signal,
  });
  /** @type {import('./job.js').Run} */
  const run = {
    ctx: /** @type {import('./download.js').Ctx} */ (/** @type {unknown} */ (ctx)),
    main: /** @type {import('./http.js').Probe} */ (/** @type {unknown} */ ({ ...w.main, body: null })),
    total,
    C: w.chunkSize,
    span: w.span,
    file,
    plan,
    writeBack: new WriteBack(file, state, w.chunkSize, total, w.o.sync),
    validator: w.validator,
    urls: w.urls,
    raws: new Set(),
    received: 0,
  };
  const publish = () => {
    w.counters[2 * w.slot] = run.received;
    w.counters[2 * w.slot + 1] = plan.active.size;
  };
  const ticker = setInterval(publish, 50);
  halt.signal.addEventListener('abort', () => {
    for (const req of requests) req.destroy(halt.signal.reason);
    for (const r of run.raws) r.close(halt.signal.reason);
  });
  /** @type {unknown} */
  let failure;
  await Promise.all(
    w.indexes.map((i) =>
      connection(run, i, null).catch((e) => {
        if (failure === undefined) {
          failure = e;
          if (!halt.signal.aborted) halt.abort(e);
        }
      }),
    ),
  );
  await run.writeBack.settled();
  if (failure === undefined && run.writeBack.failure !== undefined) failure = fileError(run.writeBack.failure, 'write back', w.partPath);
  for (const r of run.raws) r.close();
  clearInterval(ticker);
  publish();
  agents.destroy();
  state.close();
  file.close();
  if (failure !== undefined) throw failure;
}

main().then(
  () => {
    port.postMessage({ type: 'end' });
    port.unref();
  },
  (e) => {
    port.postMessage({ type: 'end', error: serialize(e) });
    port.unref();
  },
);
