// The download engine.
//
// One file of known length: `<output>.part` is created at full length with
// MmapFile (blocks reserved, so a full disk fails at the start), its
// concurrent allocator hands out the work as AllocatedRanges, and each
// connection copies what its socket delivers into its own 256 KiB staging
// buffer, written into its range with one writeRange when full (a write per
// socket read was much slower: a page fault per page). A finished chunk's
// pieces are handed to write-back (flushRange) before its bit is set in the
// mapped resume state (state.js). When the allocator has nothing left, an
// idle connection splits the largest remainder another connection still has
// (splitAtAlignUp at a chunk boundary): the slow one stops at the split, the
// idle one takes the upper part. Everything runs on the main thread (worker
// threads were not tried; README.md has the figures).
import { createReadStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { MmapFile } from 'ranged-mmap';
import { AbortError, Fault, GetError, fileError } from './errors.js';
import { USER_AGENT, asFault, get, makeAgents, parseContentRange, probe, statusError } from './http.js';
import { RawConnection } from './raw.js';
import { parseChecksum, safeName, urlName } from './parse.js';
import { ResumeState } from './state.js';

const MiB = 1024 * 1024;
/**
 * Bytes a connection collects before one writeRange: the library's
 * large-write threshold (256 KiB; below it a write goes through the mapping,
 * a page fault per page). Not more: 8 connections' staging must stay in the
 * 4 MiB L2 cache, else the copy from staging into the page cache reads
 * memory, not cache. With 1 MiB per connection the same download cost 0.86
 * to 1.4 CPU s per GiB from run to run (perf: the time in
 * copy_folio_from_iter_atomic, pwrite's copy, tripled in the slow runs);
 * with 256 KiB it held at 0.91-1.09 (README.md, Figures).
 */
const STAGING = 256 * 1024;
const DEFAULTS = Object.freeze({ connections: 8, chunkSize: 4 * MiB, retries: 8, timeout: 30_000 });
/** Longest wait between retries, and the cap on a server's Retry-After. */
const RETRY_CAP_MS = 60_000;
/** Longest span of one range request: a split within it cuts a response. */
const REQUEST_SPAN = 16 * MiB;
/** A connection whose request needs longer than this (at its speed) is split by an idle one. */
const CUT_AFTER_S = 1;
/** A straggler is this many times slower than the fastest request so far. */
const SLOW_FACTOR = 4;
/** How long an idle connection waits before it looks for a straggler again. */
const IDLE_POLL_MS = 200;
/** How often the durable bitmap catches up with the data on disk. */
const SAVE_EVERY_MS = 2000;

/**
 * @typedef {import('./index.js').DownloadOptions} DownloadOptions
 * @typedef {import('./index.js').DownloadResult} DownloadResult
 * @typedef {import('./index.js').DownloadEvent} DownloadEvent
 */

/**
 * Downloads `url` to a file and resolves when it is complete (and verified,
 * when a checksum was given).
 *
 * @param {string} url
 * @param {DownloadOptions} [options]
 * @returns {Promise<DownloadResult>}
 */
export async function download(url, options = {}) {
  const o = normalize(url, options);
  const started = performance.now();
  if (o.signal?.aborted) throw new AbortError(o.signal.reason);
  const halt = new AbortController();
  const onAbort = () => halt.abort(new AbortError(o.signal?.reason));
  o.signal?.addEventListener('abort', onAbort, { once: true });
  const agents = makeAgents({ connections: o.connections, ca: o.ca, insecure: o.insecure });
  /** @type {Set<import('node:http').ClientRequest>} */
  const requests = new Set();
  halt.signal.addEventListener('abort', () => {
    for (const req of requests) req.destroy(halt.signal.reason);
  });
  const ro = {
    agents,
    headers: o.headers,
    timeout: o.timeout,
    allowDowngrade: o.allowDowngrade,
    retryCap: RETRY_CAP_MS,
    onRequest: (/** @type {import('node:http').ClientRequest} */ req) => {
      if (halt.signal.aborted) req.destroy(halt.signal.reason);
      requests.add(req);
      req.on('close', () => requests.delete(req));
    },
  };
  const ctx = { o, ro, halt, started, retries: 0 };
  try {
    const probes = [];
    for (const u of [url, ...o.mirrors]) probes.push(await withRetries(ctx, `probe ${u}`, () => probe(u, ro)));
    const main = probes[0];
    checkMirrors(probes);
    const output = o.output ?? defaultName(main);
    if (existsSync(output) && !o.force) {
      for (const p of probes) p.body?.destroy();
      throw new GetError('ERR_GET_EXISTS', `${output} exists already; pass --force (force: true) to replace it, or choose another name with -o`, {
        path: output,
      });
    }
    if (main.length === null) return await streamUnknown(ctx, main, output);
    return await ranged(ctx, probes, output);
  } catch (e) {
    if (halt.signal.aborted) throw halt.signal.reason;
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    agents.destroy();
  }
}

/**
 * @param {string} url
 * @param {DownloadOptions} options
 */
function normalize(url, options) {
  if (typeof url !== 'string' && !(url instanceof URL)) throw new GetError('ERR_GET_USAGE', 'download(url): url must be a string or a URL');
  const href = String(url);
  for (const u of [href, ...(options.mirrors ?? []).map(String)]) {
    let p;
    try {
      p = new URL(u).protocol;
    } catch {
      throw new GetError('ERR_GET_USAGE', `${JSON.stringify(u)} is not a URL; give a full http:// or https:// URL`);
    }
    if (p !== 'http:' && p !== 'https:') throw new GetError('ERR_GET_USAGE', `${u} is not an http or https URL`);
  }
  const int = (/** @type {unknown} */ v, /** @type {number} */ d, /** @type {string} */ name, /** @type {number} */ min, /** @type {number} */ max) => {
    if (v === undefined) return d;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)
      throw new GetError('ERR_GET_USAGE', `${name} must be an integer from ${min} to ${max}`);
    return v;
  };
  const chunkSize = int(options.chunkSize, DEFAULTS.chunkSize, 'chunkSize', 4096, 2 ** 40);
  if (chunkSize % 4096 !== 0) throw new GetError('ERR_GET_USAGE', `chunkSize must be a multiple of 4 KiB (4096), got ${chunkSize}`);
  const checksum = options.checksum === undefined ? undefined : typeof options.checksum === 'string' ? parseChecksum(options.checksum) : options.checksum;
  return {
    url: href,
    output: options.output === undefined ? undefined : String(options.output),
    connections: int(options.connections, DEFAULTS.connections, 'connections', 1, 64),
    chunkSize,
    chunkSizeGiven: options.chunkSize !== undefined,
    retries: int(options.retries, DEFAULTS.retries, 'retries', 0, 1000),
    timeout: int(options.timeout, DEFAULTS.timeout, 'timeout', 1, 2 ** 31 - 1),
    headers: { ...(options.headers ?? {}) },
    mirrors: (options.mirrors ?? []).map(String),
    checksum,
    resume: options.resume !== false,
    force: options.force === true,
    signal: options.signal,
    onProgress: options.onProgress,
    onEvent: options.onEvent,
    ca: options.ca,
    insecure: options.insecure === true,
    allowDowngrade: options.allowDowngrade === true,
    sync: options.sync !== false,
    raw: process.env.RANGED_MMAP_GET_HTTP !== 'node',
  };
}

/** @typedef {ReturnType<typeof normalize>} Options */
/** @typedef {{ o: Options, ro: Parameters<typeof probe>[1], halt: AbortController, started: number, retries: number }} Ctx */

/** @param {import('./http.js').Probe[]} probes */
function checkMirrors(probes) {
  const [main, ...rest] = probes;
  for (const p of rest) {
    const why =
      p.length !== main.length
        ? `its length is ${p.length}, ${main.url} has ${main.length}`
        : !p.ranges || !main.ranges
          ? 'mirrors need servers that answer range requests'
          : p.etag !== null && main.etag !== null && p.etag !== main.etag
            ? `its ETag ${p.etag} differs from ${main.etag}`
            : p.lastModified !== null && main.lastModified !== null && p.lastModified !== main.lastModified
              ? `its Last-Modified ${p.lastModified} differs from ${main.lastModified}`
              : null;
    if (why !== null) {
      for (const q of probes) q.body?.destroy();
      throw new GetError('ERR_GET_MIRROR', `the mirror ${p.url} does not serve the same file: ${why}; drop it`, { url: p.url });
    }
  }
}

/** @param {import('./http.js').Probe} p */
function defaultName(p) {
  if (p.name !== undefined && p.name !== '') return safeName(p.name, 'server (Content-Disposition)');
  const fromUrl = urlName(p.finalUrl) || urlName(p.url);
  return fromUrl === '' ? 'index.html' : safeName(fromUrl, 'URL');
}

/**
 * Runs `fn` until it succeeds, retrying Faults with backoff.
 * @template T
 * @param {Ctx} ctx
 * @param {string} what
 * @param {() => Promise<T>} fn
 * @returns {Promise<T>}
 */
async function withRetries(ctx, what, fn) {
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
 * @param {Ctx} ctx
 * @param {unknown} e
 * @param {number} attempt  failures in a row, 1 for the first
 * @param {string} what
 */
async function afterFailure(ctx, e, attempt, what) {
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

/**
 * Progress reports at most 10 times a second while `fn` runs.
 * @param {Ctx} ctx
 * @param {() => { bytes: number, total: number | null, connections: number }} read
 */
function progressTicker(ctx, read) {
  const { onProgress } = ctx.o;
  if (onProgress === undefined) return () => {};
  /** @type {{ t: number, bytes: number }[]} */
  const samples = [];
  let last = Number.NEGATIVE_INFINITY;
  const tick = () => {
    const now = performance.now();
    // At most 10 a second, also counting the last report when it stops.
    if (now - last < 100) return;
    last = now;
    const r = read();
    samples.push({ t: now, bytes: r.bytes });
    while (samples.length > 2 && now - samples[0].t > 2000) samples.shift();
    const first = samples[0];
    const dt = (now - first.t) / 1000;
    const bytesPerSecond = dt > 0 ? (r.bytes - first.bytes) / dt : 0;
    onProgress({ ...r, bytesPerSecond, seconds: (now - ctx.started) / 1000 });
  };
  const timer = setInterval(tick, 100);
  timer.unref();
  tick();
  return () => {
    clearInterval(timer);
    tick();
  };
}

/**
 * A file of known length: the mapped, ranged engine (one stream when the
 * server has no ranges).
 * @param {Ctx} ctx
 * @param {import('./http.js').Probe[]} probes
 * @param {string} output
 * @returns {Promise<DownloadResult>}
 */
async function ranged(ctx, probes, output) {
  const { o } = ctx;
  const main = probes[0];
  const total = /** @type {number} */ (main.length);
  const partPath = `${output}.part`;
  const statePath = `${partPath}.state`;
  if (total === 0) {
    main.body?.resume();
    return finishEmpty(ctx, output, partPath, statePath);
  }
  /** @type {ResumeState | null} */
  let state = null;
  /** @type {import('ranged-mmap').OpenedFile<import('ranged-mmap').ConcurrentAllocator>} */
  let opened;
  const resuming = main.ranges && o.resume && existsSync(statePath) && existsSync(partPath);
  if (resuming) {
    state = ResumeState.open(statePath, { url: main.url, length: total, etag: main.etag, lastModified: main.lastModified });
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
    rmSync(statePath, { force: true });
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
  const { file, allocator } = opened;
  const C = state !== null ? state.info.chunkSize : total;
  const chunks = Math.ceil(total / C);
  const doneAtStart = state === null ? 0 : state.doneCount();
  const resumedBytes = state === null ? 0 : doneBytes(state, C, total);
  const conns = main.ranges ? Math.max(1, Math.min(o.connections, chunks - doneAtStart)) : 1;
  const jobSize = Math.ceil(Math.ceil(chunks / conns) / 1) * C;
  let received = 0;
  /** @type {Set<Job>} */
  const active = new Set();
  /** @type {import('ranged-mmap').AllocatedRange[]} */
  const pending = [];
  const urls = probes.map((p) => p.finalUrl);
  const validator = main.etag !== null && !main.etag.startsWith('W/') ? main.etag : main.lastModified;

  o.onEvent?.({ type: 'start', url: main.url, output, length: total, ranges: main.ranges, connections: conns, chunkSize: C, resumedBytes });

  /** Cuts the chunks already done off a range: returns the first run still to do, queues the rest. */
  const trimDone = (/** @type {import('ranged-mmap').AllocatedRange} */ r) => {
    if (state === null) return r;
    let range = r;
    let first = Math.floor(range.start / C);
    while (first * C < range.end && state.isDone(first)) first++;
    if (first * C >= range.end) return null;
    if (first * C > range.start) {
      const s = range.splitAtAlignDown(first * C);
      if (s.kind !== 'split') throw new Error('internal: resume split');
      range = s.high;
    }
    let stop = first;
    while (stop * C < range.end && !state.isDone(stop)) stop++;
    if (stop * C < range.end) {
      const s = range.splitAtAlignDown(stop * C);
      if (s.kind !== 'split') throw new Error('internal: resume split');
      pending.push(s.high);
      range = s.low;
    }
    return range;
  };

  /** The next work: queued, newly allocated, or split off the largest remainder. */
  const takeWork = () => {
    for (;;) {
      const q = pending.pop();
      if (q === undefined) break;
      const t = trimDone(q);
      if (t !== null) return t;
    }
    for (let r = allocator.allocate(jobSize); r !== null; r = allocator.allocate(jobSize)) {
      const t = trimDone(r);
      if (t !== null) return t;
      const q = pending.pop();
      if (q !== undefined) return q;
    }
    if (!main.ranges) return null;
    return splitWork();
  };

  /**
   * Work for an idle connection once the allocator has none: first the half
   * (or all, when small) of the largest remainder no request has asked for
   * yet, which costs nothing; else, from a connection that would need more
   * than CUT_AFTER_S for the rest of its request at its own speed, the upper
   * half of that rest (its response is then cut at the split, and what was
   * in flight beyond it is lost).
   */
  const splitWork = () => {
    /** @type {Job | null} */
    let best = null;
    let bestTail = 0;
    for (const job of active) {
      if (job.range === null) continue;
      const tail = job.end - Math.max(job.askedEnd, job.recvPos);
      if (tail > bestTail) {
        best = job;
        bestTail = tail;
      }
    }
    if (best !== null && bestTail >= C) {
      const from = Math.max(best.askedEnd, best.recvPos);
      const pos = bestTail < 2 * C ? Math.ceil(from / C) * C : Math.ceil((from + bestTail / 2) / C) * C;
      const high = splitJob(best, pos);
      if (high !== null) return high;
    }
    const now = performance.now();
    /** @type {Job | null} */
    let slow = null;
    let slowEta = CUT_AFTER_S;
    for (const job of active) {
      const left = Math.min(job.askedEnd, job.end) - job.recvPos;
      const dt = (now - job.requestTime) / 1000;
      if (job.range === null || left < 2 * C || dt < 0.5) continue;
      const rate = (job.recvPos - job.requestPos) / dt;
      // Slow for this download, not just slow: a machine that is busy
      // slows every connection, and cutting one then only loses what it
      // had in flight.
      if (rate * SLOW_FACTOR > bestRate) continue;
      const eta = rate > 0 ? left / rate : Number.POSITIVE_INFINITY;
      if (eta > slowEta) {
        slow = job;
        slowEta = eta;
      }
    }
    if (slow === null) return null;
    return splitJob(slow, Math.ceil((slow.recvPos + (Math.min(slow.askedEnd, slow.end) - slow.recvPos) / 2) / C) * C);
  };

  /**
   * Splits a job's range at `pos` (a chunk boundary past everything it has
   * received): it keeps the low part, the high part is returned.
   * @param {Job} job
   * @param {number} pos
   */
  const splitJob = (job, pos) => {
    if (job.range === null || pos <= job.range.start + job.staged || pos >= job.end) return null;
    const s = job.range.splitAtAlignUp(pos);
    if (s.kind !== 'split') return null;
    job.range = s.low;
    job.end = pos;
    return s.high;
  };

  /**
   * Writes the staged bytes of a job into its range and marks the chunk
   * finished when this piece completes it.
   * @param {Job} job
   */
  const writePiece = (job) => {
    const range = /** @type {import('ranged-mmap').AllocatedRange} */ (job.range);
    const pieceEnd = range.start + job.staged;
    let piece = range;
    if (pieceEnd === range.end) job.range = null;
    else {
      const s = range.splitAtAlignDown(pieceEnd);
      if (s.kind !== 'split') throw new Error(`internal: piece split at ${pieceEnd} of ${range}`);
      piece = s.low;
      job.range = s.high;
    }
    const data = job.staged === job.staging.length ? job.staging : job.staging.subarray(0, job.staged);
    const receipt = file.writeRange(piece, data);
    job.staged = 0;
    if (state !== null && !o.sync) {
      // --no-sync: no write-back from here; the page cache keeps the bit
      // and the data for a kill, and a power cut starts over (the durable
      // bitmap never advances).
      if (pieceEnd % C === 0 || pieceEnd === total) state.markDone(Math.floor(range.start / C));
    } else if (state !== null) {
      // Write-back is started on the thread pool (flushRangeAsync): when
      // the disk is slower than the network, sync_file_range blocks, and
      // it must not block the sockets. The chunk's bit is set once every
      // piece of it is written and every flush of it has returned.
      const chunk = Math.floor(range.start / C);
      let f = flushing.get(chunk);
      if (f === undefined) {
        f = { pending: 0, written: false };
        flushing.set(chunk, f);
      }
      const entry = f;
      entry.pending++;
      if (pieceEnd % C === 0 || pieceEnd === total) entry.written = true;
      const flushed = () => {
        entry.pending--;
        if (entry.pending === 0 && entry.written) {
          flushing.delete(chunk);
          state.markDone(chunk);
        }
      };
      const p = file.flushRangeAsync(receipt).then(flushed, (e) => {
        entry.pending--;
        flushFailure ??= e;
      });
      flushes.add(p);
      p.finally(() => flushes.delete(p));
    }
  };

  /**
   * Takes bytes from a socket; true once the job has all its bytes.
   * @param {Job} job
   * @param {Buffer} chunk
   */
  const feed = (job, chunk) => {
    let off = 0;
    while (off < chunk.length && job.range !== null) {
      const at = job.range.start;
      const pieceEnd = Math.min(at + job.staging.length, (Math.floor(at / C) + 1) * C, job.end);
      const n = Math.min(pieceEnd - (at + job.staged), chunk.length - off);
      chunk.copy(job.staging, job.staged, off, off + n);
      job.staged += n;
      job.recvPos += n;
      received += n;
      off += n;
      if (at + job.staged === pieceEnd) writePiece(job);
    }
    return job.range === null;
  };

  const span = Math.max(1, Math.ceil(REQUEST_SPAN / C)) * C;
  /** Chunks with flushes under way: how many, and whether the chunk's last piece is written. */
  /** @type {Map<number, { pending: number, written: boolean }>} */
  const flushing = new Map();
  /** @type {Set<Promise<void>>} */
  const flushes = new Set();
  /** @type {unknown} */
  let flushFailure;
  /** @type {(() => void)[]} */
  let wakeIdle = [];
  /** Bytes per second of the fastest request so far (a job's previous request, or a finished job). */
  let bestRate = 0;
  /** Waits until a job ends, the download halts, or IDLE_POLL_MS passed. */
  const idle = () =>
    new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        ctx.halt.signal.removeEventListener('abort', done);
        resolve(undefined);
      };
      const timer = setTimeout(done, IDLE_POLL_MS);
      ctx.halt.signal.addEventListener('abort', done, { once: true });
      wakeIdle.push(done);
    });
  /**
   * Notes the request a job is about to make (for the straggler check).
   * @param {Job} job
   * @param {number} askedEnd
   */
  const startRequest = (job, askedEnd) => {
    // The request before this one on the job: how fast a whole request went.
    const dt = (performance.now() - job.requestTime) / 1000;
    if (job.requestTime > 0 && dt > 0.05) bestRate = Math.max(bestRate, (job.recvPos - job.requestPos) / dt);
    job.askedEnd = askedEnd;
    job.requestTime = performance.now();
    job.requestPos = job.recvPos;
  };

  /**
   * Checks a range answer; throws (after `drop()`) what must not be written.
   * @param {number} status
   * @param {string} statusMessage
   * @param {Record<string, string | string[] | undefined>} headers
   * @param {string} url
   * @param {number} askedStart
   * @param {number} askedEnd
   * @param {() => void} drop
   */
  const checkRanged = (status, statusMessage, headers, url, askedStart, askedEnd, drop) => {
    if (status === 200) {
      drop();
      throw new GetError(
        'ERR_GET_CHANGED',
        `${url} answered a range request with the whole file: the file changed on the server, or it stopped honouring ranges; run again with --no-resume`,
        { url, status },
      );
    }
    if (status !== 206) {
      drop();
      throw statusError(/** @type {import('node:http').IncomingMessage} */ ({ statusCode: status, statusMessage, headers, resume() {} }), url, RETRY_CAP_MS);
    }
    const cr = parseContentRange(/** @type {string | undefined} */ (headers['content-range']));
    if (cr === null || cr.start !== askedStart || cr.end !== askedEnd - 1 || cr.total !== total) {
      drop();
      throw new GetError(
        'ERR_GET_PROTOCOL',
        `${url} answered the range bytes=${askedStart}-${askedEnd - 1} of ${total} with Content-Range ${JSON.stringify(headers['content-range'] ?? null)}; ` +
          (cr !== null && cr.total !== total
            ? 'the file changed length on the server; run again with --no-resume'
            : 'the server is wrong; nothing of it was written'),
        { url, status },
      );
    }
    const etag = headers.etag;
    if (main.etag !== null && typeof etag === 'string' && etag !== main.etag) {
      drop();
      throw new GetError('ERR_GET_CHANGED', `${url} changed during the download (ETag ${main.etag} -> ${etag}); run again with --no-resume`, { url });
    }
  };

  /** The request headers of a range request. @param {number} a @param {number} b */
  const rangeHeaders = (a, b) => {
    /** @type {Record<string, string>} */
    const h = { range: `bytes=${a}-${b - 1}` };
    if (validator !== null) h['if-range'] = validator;
    return h;
  };

  /**
   * One range request over a raw connection, the body read straight into
   * the job's staging buffer.
   * @param {Job} job
   * @param {RawConnection} raw
   * @param {string} url
   * @param {{ progressed: boolean }} attempt
   */
  const fetchRaw = async (job, raw, url, attempt) => {
    const askedStart = job.recvPos;
    const askedEnd = Math.min(job.end, askedStart + span);
    startRequest(job, askedEnd);
    const u = new URL(url);
    const headers = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...o.headers, ...rangeHeaders(askedStart, askedEnd) };
    /** @type {import('./raw.js').Sink} */
    const sink = {
      room: () => {
        const r = /** @type {import('ranged-mmap').AllocatedRange} */ (job.range);
        const pieceEnd = Math.min(r.start + job.staging.length, (Math.floor(r.start / C) + 1) * C, job.end);
        return job.staging.subarray(job.staged, pieceEnd - r.start);
      },
      took: (n) => {
        const r = /** @type {import('ranged-mmap').AllocatedRange} */ (job.range);
        const pieceEnd = Math.min(r.start + job.staging.length, (Math.floor(r.start / C) + 1) * C, job.end);
        job.staged += n;
        job.recvPos += n;
        received += n;
        attempt.progressed = true;
        if (r.start + job.staged === pieceEnd) writePiece(job);
        return job.range === null;
      },
      feed: (bytes) => {
        attempt.progressed = true;
        return feed(job, bytes);
      },
    };
    await raw.request(u.pathname + u.search, headers, sink, (res) =>
      checkRanged(res.status, res.statusMessage, res.headers, url, askedStart, askedEnd, () => {}),
    );
    if (job.range !== null && job.end <= job.recvPos) throw new Error('internal: raw body overran its job');
  };

  /**
   * One request for what a job still lacks, streamed into it.
   * @param {Job} job
   * @param {string} url
   * @param {{ progressed: boolean }} attempt
   */
  const fetchOnce = async (job, url, attempt) => {
    /** @type {import('node:http').IncomingMessage} */
    let res;
    let skip = 0;
    // The request's span: a split may shorten the job while it is under way.
    const askedStart = job.recvPos;
    const askedEnd = main.ranges && job.firstBody === null ? Math.min(job.end, askedStart + span) : job.end;
    startRequest(job, askedEnd);
    if (job.firstBody !== null) {
      res = job.firstBody;
      job.firstBody = null;
    } else if (main.ranges) {
      res = (await get(url, rangeHeaders(askedStart, askedEnd), ctx.ro)).res;
      checkRanged(res.statusCode ?? 0, res.statusMessage ?? '', /** @type {Record<string, string>} */ (res.headers), url, askedStart, askedEnd, () =>
        res.destroy(),
      );
    } else {
      res = (await get(url, {}, ctx.ro)).res;
      const status = res.statusCode ?? 0;
      if (status !== 200 && status !== 206) throw statusError(res, url, RETRY_CAP_MS);
      if (status === 206 || Number(res.headers['content-length']) !== total) {
        res.destroy();
        throw new GetError('ERR_GET_CHANGED', `${url} changed during the download (its length is no longer ${total}); run again`, { url });
      }
      skip = job.recvPos;
    }
    await new Promise((resolve, reject) => {
      let settled = false;
      const done = (/** @type {unknown} */ e) => {
        if (settled) return;
        settled = true;
        if (e === undefined) resolve(undefined);
        else reject(e);
      };
      res.on('data', (/** @type {Buffer} */ chunk) => {
        if (settled) return;
        let c = chunk;
        if (skip > 0) {
          const n = Math.min(skip, c.length);
          skip -= n;
          c = c.subarray(n);
          if (c.length === 0) return;
        }
        try {
          attempt.progressed = true;
          if (feed(job, c)) {
            // A split may have moved this job's end before the response's:
            // the rest of this response belongs to another connection.
            if (job.end < askedEnd) res.destroy();
            done(undefined);
          }
        } catch (e) {
          res.destroy();
          done(e);
        }
      });
      const complete = () => job.range === null || job.recvPos >= Math.min(askedEnd, job.end);
      res.on('end', () => {
        if (complete()) done(undefined);
        else done(new Fault('short-body', `${url} ended the body ${Math.min(askedEnd, job.end) - job.recvPos} bytes short of the range`));
      });
      res.on('error', (e) => done(asFault(e, url)));
      res.on('close', () => done(complete() ? undefined : new Fault('reset', `${url}: the connection closed mid-body`)));
    });
  };

  /**
   * A connection: takes work until none is left.
   * @param {number} index
   * @param {import('node:http').IncomingMessage | null} firstBody
   */
  const connection = async (index, firstBody) => {
    const staging = Buffer.allocUnsafeSlow(Math.min(STAGING, C));
    const url = urls[index % urls.length];
    const raw = main.ranges && o.raw && url.startsWith('http:') ? new RawConnection(new URL(url), o.timeout) : null;
    if (raw !== null) raws.add(raw);
    for (;;) {
      const range = takeWork();
      if (range === null) {
        // Nothing to take now; a connection still at work may turn out slow.
        if (active.size === 0 || !main.ranges) break;
        await idle();
        if (ctx.halt.signal.aborted) throw ctx.halt.signal.reason;
        continue;
      }
      /** @type {Job} */
      const job = {
        range,
        end: range.end,
        recvPos: range.start,
        staged: 0,
        staging,
        firstBody,
        askedEnd: range.start,
        requestTime: 0,
        requestPos: range.start,
      };
      firstBody = null;
      active.add(job);
      try {
        let failures = 0;
        while (job.range !== null) {
          if (ctx.halt.signal.aborted) throw ctx.halt.signal.reason;
          const attempt = { progressed: false };
          try {
            if (raw !== null && job.firstBody === null) await fetchRaw(job, raw, url, attempt);
            else await fetchOnce(job, url, attempt);
          } catch (e) {
            failures = attempt.progressed ? 1 : failures + 1;
            await afterFailure(ctx, e, failures, `bytes ${job.recvPos}-${job.end - 1} of ${url}`);
          }
        }
      } finally {
        const dt = (performance.now() - job.requestTime) / 1000;
        if (job.requestTime > 0 && dt > 0.05) bestRate = Math.max(bestRate, (job.recvPos - job.requestPos) / dt);
        active.delete(job);
        const w = wakeIdle;
        wakeIdle = [];
        for (const f of w) f();
      }
    }
  };

  const stopProgress = progressTicker(ctx, () => ({ bytes: resumedBytes + received, total, connections: active.size }));
  const saver =
    state === null || !o.sync
      ? null
      : setInterval(() => {
          state.save(() => file.syncAllAsync()).catch(() => {});
        }, SAVE_EVERY_MS);
  saver?.unref();
  /** @type {Set<RawConnection>} */
  const raws = new Set();
  const closeRaws = () => {
    for (const r of raws) r.close(ctx.halt.signal.reason);
  };
  ctx.halt.signal.addEventListener('abort', closeRaws);
  /** @type {unknown} */
  let failure;
  const workers = [];
  for (let i = 0; i < conns; i++) {
    workers.push(
      connection(i, i === 0 ? main.body : null).catch((e) => {
        if (failure === undefined) {
          failure = e;
          if (!ctx.halt.signal.aborted) ctx.halt.abort(e);
        }
      }),
    );
  }
  for (const p of probes.slice(1)) p.body?.destroy();
  await Promise.all(workers);
  await Promise.all([...flushes]);
  if (failure === undefined && flushFailure !== undefined) failure = fileError(flushFailure, 'write back', partPath);
  ctx.halt.signal.removeEventListener('abort', closeRaws);
  for (const r of raws) r.close();
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
 * The work one connection holds: `range` is what it has not written yet
 * (null when done), `end` its end (moved down by a split), `recvPos` the
 * next byte to receive, `staged` the bytes in `staging` not yet written,
 * `askedEnd` the end of the request under way.
 * @typedef {{ range: import('ranged-mmap').AllocatedRange | null, end: number, recvPos: number, staged: number, staging: Buffer,
 *   firstBody: import('node:http').IncomingMessage | null, askedEnd: number, requestTime: number, requestPos: number }} Job
 */

/**
 * @param {ResumeState} state
 * @param {number} C
 * @param {number} total
 */
function doneBytes(state, C, total) {
  let n = 0;
  for (let c = 0; c < state.chunks; c++) if (state.isDone(c)) n += Math.min(C, total - c * C);
  return n;
}

/**
 * Verifies, renames the part into place and removes the state.
 * @param {Ctx} ctx
 * @param {string} output
 * @param {string} partPath
 * @param {string} statePath
 * @param {number} bytes
 * @param {number} resumedBytes
 * @returns {Promise<DownloadResult>}
 */
async function finish(ctx, output, partPath, statePath, bytes, resumedBytes) {
  const { o } = ctx;
  /** @type {string | undefined} */
  let sha256;
  if (o.checksum !== undefined) {
    const digest = await hashFile(partPath, o.checksum.algorithm);
    if (o.checksum.algorithm === 'sha256') sha256 = digest;
    if (digest !== o.checksum.hex) {
      rmSync(statePath, { force: true });
      throw new GetError(
        'ERR_GET_CHECKSUM',
        `${partPath}: ${o.checksum.algorithm} is ${digest}, expected ${o.checksum.hex}; the file was kept as ${partPath}, run again with --no-resume to fetch it anew`,
        { path: partPath },
      );
    }
  }
  try {
    renameSync(partPath, output);
  } catch (e) {
    throw fileError(e, 'rename the finished file to', output);
  }
  rmSync(statePath, { force: true });
  const seconds = (performance.now() - ctx.started) / 1000;
  const result = { path: output, bytes, ...(sha256 === undefined ? {} : { sha256 }), seconds, resumedBytes, retries: ctx.retries };
  o.onEvent?.({ type: 'done', ...result });
  return result;
}

/**
 * An empty file: nothing to fetch.
 * @param {Ctx} ctx
 * @param {string} output
 * @param {string} partPath
 * @param {string} statePath
 */
async function finishEmpty(ctx, output, partPath, statePath) {
  ctx.o.onEvent?.({ type: 'start', url: ctx.o.url, output, length: 0, ranges: false, connections: 0, chunkSize: 0, resumedBytes: 0 });
  try {
    const fh = await openFile(partPath, 'w');
    await fh.close();
  } catch (e) {
    throw fileError(e, 'create', partPath);
  }
  return finish(ctx, output, partPath, statePath, 0, 0);
}

/**
 * The hex digest of a file.
 * @param {string} path
 * @param {string} algorithm  a node:crypto hash name
 * @returns {Promise<string>}
 */
export function hashFile(path, algorithm) {
  return new Promise((resolve, reject) => {
    const hash = createHash(algorithm);
    const s = createReadStream(path, { highWaterMark: 4 * MiB });
    s.on('data', (d) => hash.update(d));
    s.on('end', () => resolve(hash.digest('hex')));
    s.on('error', (e) => reject(fileError(e, 'read back', path)));
  });
}

/**
 * A file of unknown length (chunked, no ranges): one stream written
 * sequentially, its length whatever arrived. A dropped connection starts
 * the stream again and skips what was written.
 * @param {Ctx} ctx
 * @param {import('./http.js').Probe} main
 * @param {string} output
 * @returns {Promise<DownloadResult>}
 */
async function streamUnknown(ctx, main, output) {
  const partPath = `${output}.part`;
  const statePath = `${partPath}.state`;
  rmSync(statePath, { force: true });
  /** @type {import('node:fs/promises').FileHandle} */
  let fh;
  try {
    fh = await openFile(partPath, 'w');
  } catch (e) {
    main.body?.destroy();
    throw fileError(e, 'create', partPath);
  }
  ctx.o.onEvent?.({ type: 'start', url: main.url, output, length: null, ranges: false, connections: 1, chunkSize: 0, resumedBytes: 0 });
  let written = 0;
  let live = 0;
  const stopProgress = progressTicker(ctx, () => ({ bytes: written, total: null, connections: live }));
  const staging = Buffer.allocUnsafeSlow(STAGING);
  try {
    let body = main.body;
    for (let attempt = 1; ; ) {
      try {
        if (body === null) {
          const r = (await get(main.finalUrl, {}, ctx.ro)).res;
          if (r.statusCode !== 200) throw statusError(r, main.finalUrl, RETRY_CAP_MS);
          body = r;
        }
        live = 1;
        let skip = written;
        let staged = 0;
        const res = body;
        body = null;
        let progressed = false;
        try {
          for await (const chunk of res) {
            let c = /** @type {Buffer} */ (chunk);
            if (skip > 0) {
              const n = Math.min(skip, c.length);
              skip -= n;
              c = c.subarray(n);
            }
            while (c.length > 0) {
              const n = Math.min(staging.length - staged, c.length);
              c.copy(staging, staged, 0, n);
              staged += n;
              c = c.subarray(n);
              if (staged === staging.length) {
                await writeAll(fh, staging, staged, written, partPath);
                written += staged;
                staged = 0;
                progressed = true;
              }
            }
          }
          if (!res.complete) throw new Fault('reset', `${main.finalUrl}: the connection closed mid-body`);
        } catch (e) {
          if (staged > 0) {
            await writeAll(fh, staging, staged, written, partPath);
            written += staged;
          }
          if (progressed) attempt = 1;
          throw asFault(e, main.finalUrl);
        }
        if (staged > 0) {
          await writeAll(fh, staging, staged, written, partPath);
          written += staged;
        }
        break;
      } catch (e) {
        live = 0;
        await afterFailure(ctx, e, attempt++, main.finalUrl);
      }
    }
    await fh.truncate(written);
    if (ctx.o.sync) await fh.datasync();
  } catch (e) {
    await fh.close().catch(() => {});
    stopProgress();
    throw e;
  }
  await fh.close();
  stopProgress();
  return finish(ctx, output, partPath, statePath, written, 0);
}

/**
 * @param {import('node:fs/promises').FileHandle} fh
 * @param {Buffer} buf
 * @param {number} length
 * @param {number} position
 * @param {string} path
 */
async function writeAll(fh, buf, length, position, path) {
  let off = 0;
  try {
    while (off < length) off += (await fh.write(buf, off, length - off, position + off)).bytesWritten;
  } catch (e) {
    throw fileError(e, 'write', path);
  }
}
