// A file of known length: the mapped, ranged engine. `<output>.part` is
// created at full length with MmapFile (blocks reserved, so a full disk fails
// at the start) or reopened with its resume state; the connections
// (job.js) share the work plan (work-plan.js) and write into their own
// ranges; at the end the data is synced and the part renamed (finish.js).
import { existsSync, rmSync, statSync } from 'node:fs';
import { MmapFile } from 'ranged-mmap';
import { GetError, fileError } from './errors.js';
import { finish, finishEmpty } from './finish.js';
import { connection } from './job.js';
import { progressTicker } from './progress.js';
import { doneBytes } from './resume-trim.js';
import { ResumeState } from './state.js';
import { WorkPlan } from './work-plan.js';
import { runWorkers } from './workers.js';
import { WriteBack } from './writeback.js';

const MiB = 1024 * 1024;
/**
 * Shortest span of one range request. A request asks for one chunk (or as
 * many chunks as make this much): a kill then loses at most the request
 * under way on each connection, since the bytes the kernel already took
 * into a socket's buffer belong to that request alone. Requests of 16 MiB
 * (four default chunks) lost 10 to 13 chunks' worth per kill at 4 GiB with
 * 8 connections; each request costs one round trip more.
 */
const MIN_REQUEST = MiB;
/** How often the durable bitmap catches up with the data on disk. */
const SAVE_EVERY_MS = 2000;

/**
 * Downloads a file of known length (one stream when the server has no ranges).
 * @param {import('./download.js').Ctx} ctx
 * @param {import('./http.js').Probe[]} probes
 * @param {string} output
 * @returns {Promise<import('./index.js').DownloadResult>}
 */
export async function ranged(ctx, probes, output) {
  const { o } = ctx;
  const main = probes[0];
  const total = /** @type {number} */ (main.length);
  const partPath = `${output}.part`;
  const statePath = `${partPath}.state`;
  if (total === 0) {
    main.body?.resume();
    return finishEmpty(ctx, output, partPath, statePath);
  }
  const { file, allocator, state } = openPart(ctx, main, partPath, statePath);
  const C = state !== null ? state.info.chunkSize : total;
  const chunks = Math.ceil(total / C);
  const doneAtStart = state === null ? 0 : state.doneCount();
  const resumedBytes = state === null ? 0 : doneBytes(state, C, total);
  const conns = main.ranges ? Math.max(1, Math.min(o.connections, chunks - doneAtStart)) : 1;
  const span = Math.max(1, Math.ceil(MIN_REQUEST / C)) * C;
  // A job is one request's span (with ranges): every connection of every
  // thread takes its next chunk from the shared allocator when it finished
  // the last, so a slow connection ends up holding one chunk at most and
  // the threads stay balanced with no messages between them.
  const plan = new WorkPlan({ allocator, state, chunkSize: C, jobSize: main.ranges ? span : total, ranges: main.ranges, signal: ctx.halt.signal });
  /** @type {import('./job.js').Run} */
  const run = {
    ctx,
    main,
    total,
    C,
    span,
    file,
    plan,
    writeBack: new WriteBack(file, state, C, total, o.sync),
    validator: main.etag !== null && !main.etag.startsWith('W/') ? main.etag : main.lastModified,
    urls: probes.map((p) => p.finalUrl),
    raws: new Set(),
    received: 0,
  };

  const threads = o.workers > 0 && state !== null ? Math.min(o.workers, conns) : 0;
  o.onEvent?.({ type: 'start', url: main.url, output, length: total, ranges: main.ranges, connections: conns, workers: threads, chunkSize: C, resumedBytes });

  const stopProgress = progressTicker(ctx, () => {
    const c = run.readCounters?.() ?? { received: 0, active: 0 };
    return { bytes: resumedBytes + run.received + c.received, total, connections: plan.active.size + c.active };
  });
  const saver =
    state === null || !o.sync
      ? null
      : setInterval(() => {
          state.save(() => file.syncAllAsync()).catch(() => {});
        }, SAVE_EVERY_MS);
  saver?.unref();
  const closeRaws = () => {
    for (const r of run.raws) r.close(ctx.halt.signal.reason);
  };
  ctx.halt.signal.addEventListener('abort', closeRaws);
  for (const p of probes.slice(1)) p.body?.destroy();
  /** @type {unknown} */
  let failure;
  if (threads > 0) {
    main.body?.destroy();
    failure = await runWorkers(run, { conns, workers: threads, jobSize: plan.jobSize, partPath, statePath });
    // What no worker took (a batch a worker left in the allocator as it
    // stopped; none in the tests so far) is fetched here.
    if (failure === undefined && state.doneCount() !== chunks) failure = await runConnections(run, conns, null);
  } else failure = await runConnections(run, conns, main.body);
  await run.writeBack.settled();
  if (failure === undefined && run.writeBack.failure !== undefined) failure = fileError(run.writeBack.failure, 'write back', partPath);
  ctx.halt.signal.removeEventListener('abort', closeRaws);
  for (const r of run.raws) r.close();
  if (saver !== null) clearInterval(saver);
  stopProgress();
  if (failure !== undefined) {
    // Keep what is done: the next run resumes from the durable state.
    try {
      if (state !== null && o.sync) await state.save(() => file.syncAllAsync());
    } catch {
      // the failure that stopped the download is the one to report
    }
    state?.close();
    file.close();
    throw failure;
  }
  if (state !== null && state.doneCount() !== chunks) {
    state.close();
    file.close();
    throw new Error(`internal: ${chunks - state.doneCount()} chunks were never fetched`);
  }
  try {
    if (o.sync) await file.syncAllAsync();
  } catch (e) {
    state?.close();
    file.close();
    throw fileError(e, 'write', partPath);
  }
  file.close();
  state?.close();
  return finish(ctx, output, partPath, statePath, total, resumedBytes);
}

/**
 * Runs `conns` connections on this thread until the work plan is empty;
 * resolves with the first failure (which halts the others).
 * @param {import('./job.js').Run} run
 * @param {number} conns
 * @param {import('node:http').IncomingMessage | null} firstBody
 * @returns {Promise<unknown>}
 */
async function runConnections(run, conns, firstBody) {
  const { halt } = run.ctx;
  /** @type {unknown} */
  let failure;
  const connections = [];
  for (let i = 0; i < conns; i++) {
    connections.push(
      connection(run, i, i === 0 ? firstBody : null).catch((e) => {
        if (failure === undefined) {
          failure = e;
          if (!halt.signal.aborted) halt.abort(e);
        }
      }),
    );
  }
  await Promise.all(connections);
  return failure;
}

/**
 * Opens the partial file and its resume state when they match the server's
 * answer (resume), else creates both anew.
 * @param {import('./download.js').Ctx} ctx
 * @param {import('./http.js').Probe} main
 * @param {string} partPath
 * @param {string} statePath
 */
function openPart(ctx, main, partPath, statePath) {
  const { o } = ctx;
  const total = /** @type {number} */ (main.length);
  /** @type {ResumeState | null} */
  let state = null;
  /** @type {import('ranged-mmap').OpenedFile<import('ranged-mmap').ConcurrentAllocator>} */
  let opened;
  const resuming = main.ranges && o.resume && existsSync(statePath) && existsSync(partPath);
  if (resuming) {
    // A resume with nothing to tell the server's file changed is only safe
    // when the checksum verifies the whole file at the end.
    state = ResumeState.open(
      statePath,
      { url: main.url, length: total, etag: main.etag, lastModified: main.lastModified },
      { requireValidator: o.checksum === undefined },
    );
    try {
      if (statSync(partPath).size !== total) {
        throw new GetError('ERR_GET_STATE', `${partPath} is not ${total} bytes long as its resume state says; run again with --no-resume to start over`, {
          path: partPath,
        });
      }
      opened = MmapFile.open(partPath, { allocator: 'concurrent' });
    } catch (e) {
      state.close();
      throw e instanceof GetError ? e : fileError(e, 'open the partial file', partPath);
    }
  } else {
    try {
      rmSync(statePath, { force: true });
    } catch (e) {
      throw fileError(e, 'remove the old resume state', statePath);
    }
    try {
      opened = MmapFile.create(partPath, total, { allocator: 'concurrent' });
    } catch (e) {
      throw fileError(e, `create the ${total}-byte file`, partPath);
    }
    if (main.ranges) {
      try {
        state = ResumeState.create(statePath, { url: main.url, length: total, chunkSize: o.chunkSize, etag: main.etag, lastModified: main.lastModified });
      } catch (e) {
        opened.file.close();
        throw fileError(e, 'create the resume state', statePath);
      }
    }
  }
  return { file: opened.file, allocator: opened.allocator, state };
}
