// One connection's work: it takes a job from the work plan, asks for it in
// range requests of one chunk each (ranged.js: MIN_REQUEST), copies what arrives into its
// staging buffer and writes the buffer into its range with one writeRange
// when full (or at a chunk's end), until the plan has nothing left.
import { Fault, GetError, fileError } from './errors.js';
import { USER_AGENT, asFault, get, parseContentRange, statusError } from './http.js';
import { RawConnection } from './raw.js';
import { RETRY_CAP_MS, afterFailure } from './retry.js';

/**
 * Bytes a connection collects before one writeRange: the library's
 * large-write threshold (256 KiB; below it a write goes through the mapping,
 * a page fault per page). Not more: 8 connections' staging must stay in the
 * 4 MiB L2 cache, else the copy from staging into the page cache reads
 * memory, not cache. With 1 MiB per connection the same download cost 0.86
 * to 1.4 CPU s per GiB from run to run (perf: the time in
 * copy_folio_from_iter_atomic, pwrite's copy, tripled in the slow runs);
 * with 256 KiB it held at 0.84-1.09 (README.md, Figures).
 */
const STAGING = 256 * 1024;

/**
 * What every connection of one download shares (ranged.js makes it).
 * @typedef {object} Run
 * @property {import('./download.js').Ctx} ctx
 * @property {import('./http.js').Probe} main
 * @property {number} total  file length
 * @property {number} C  chunk size
 * @property {number} span  span of one range request (whole chunks; requests end on its multiples)
 * @property {import('ranged-mmap').MmapFile} file
 * @property {import('./work-plan.js').WorkPlan} plan
 * @property {import('./writeback.js').WriteBack} writeBack
 * @property {string | null} validator  If-Range value
 * @property {string[]} urls  the final URL of the main URL and of each mirror
 * @property {Set<RawConnection>} raws
 * @property {number} received  bytes received in this run (by this thread's connections)
 * @property {() => { received: number, active: number }} [readCounters]  bytes and live connections of the worker threads
 */

/** @typedef {import('./work-plan.js').Job} Job */

/**
 * A connection: takes work until none is left.
 * @param {Run} run
 * @param {number} index
 * @param {import('node:http').IncomingMessage | null} firstBody  the probe's body, for the first connection
 */
export async function connection(run, index, firstBody) {
  const { ctx, plan } = run;
  const staging = Buffer.allocUnsafeSlow(Math.min(STAGING, run.C));
  const url = run.urls[index % run.urls.length];
  const raw = run.main.ranges && ctx.o.raw && url.startsWith('http:') ? new RawConnection(new URL(url), ctx.o.timeout) : null;
  if (raw !== null) run.raws.add(raw);
  let body = firstBody;
  for (;;) {
    const range = plan.take();
    if (range === null) {
      // Nothing to take now; a connection still at work may turn out slow.
      if (plan.active.size === 0 || !run.main.ranges) break;
      await plan.idle();
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
      firstBody: body,
      askedEnd: range.start,
      requestTime: 0,
      requestPos: range.start,
    };
    body = null;
    plan.begin(job);
    try {
      let failures = 0;
      while (job.range !== null) {
        if (ctx.halt.signal.aborted) throw ctx.halt.signal.reason;
        const attempt = { progressed: false };
        try {
          if (raw !== null && job.firstBody === null) await fetchRaw(run, job, raw, url, attempt);
          else await fetchOnce(run, job, url, attempt);
        } catch (e) {
          failures = attempt.progressed ? 1 : failures + 1;
          await afterFailure(ctx, e, failures, `bytes ${job.recvPos}-${job.end - 1} of ${url}`);
        }
      }
    } finally {
      plan.end(job);
    }
  }
}

/**
 * Writes the staged bytes of a job into its range and marks the chunk
 * finished when this piece completes it.
 * @param {Run} run
 * @param {Job} job
 */
function writePiece(run, job) {
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
  let receipt;
  try {
    receipt = run.file.writeRange(piece, data);
  } catch (e) {
    // A local file failure (the mapping lost pages: the file was truncated,
    // or the disk failed under it): exit 4, never retried.
    throw fileError(e, 'write', run.file.path);
  }
  job.staged = 0;
  run.writeBack.written(receipt, range.start, pieceEnd);
}

/**
 * Where the piece the job is filling ends: a full staging buffer, the end
 * of the chunk, or the end of the job.
 * @param {Run} run
 * @param {Job} job
 */
function pieceEndOf(run, job) {
  const at = /** @type {import('ranged-mmap').AllocatedRange} */ (job.range).start;
  return Math.min(at + job.staging.length, (Math.floor(at / run.C) + 1) * run.C, job.end);
}

/**
 * Takes bytes from a socket; true once the job has all its bytes.
 * @param {Run} run
 * @param {Job} job
 * @param {Buffer} chunk
 */
function feed(run, job, chunk) {
  let off = 0;
  while (off < chunk.length && job.range !== null) {
    const at = job.range.start;
    const pieceEnd = pieceEndOf(run, job);
    const n = Math.min(pieceEnd - (at + job.staged), chunk.length - off);
    chunk.copy(job.staging, job.staged, off, off + n);
    job.staged += n;
    job.recvPos += n;
    run.received += n;
    off += n;
    if (at + job.staged === pieceEnd) writePiece(run, job);
  }
  return job.range === null;
}

/**
 * Checks a range answer; throws (after `drop()`) what must not be written.
 * @param {Run} run
 * @param {number} status
 * @param {string} statusMessage
 * @param {Record<string, string | string[] | undefined>} headers
 * @param {string} url
 * @param {number} askedStart
 * @param {number} askedEnd
 * @param {() => void} drop
 */
function checkRanged(run, status, statusMessage, headers, url, askedStart, askedEnd, drop) {
  const { total, main } = run;
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
}

/**
 * Where a request from `at` ends: the end of the span (whole chunks) it
 * falls in, so a request after a retry mid-chunk still asks for no byte of
 * the next chunk; or the job's end.
 * @param {Run} run
 * @param {Job} job
 * @param {number} at
 */
function requestEnd(run, job, at) {
  return Math.min(job.end, (Math.floor(at / run.span) + 1) * run.span);
}

/**
 * The request headers of a range request.
 * @param {Run} run
 * @param {number} a
 * @param {number} b
 */
function rangeHeaders(run, a, b) {
  /** @type {Record<string, string>} */
  const h = { range: `bytes=${a}-${b - 1}` };
  if (run.validator !== null) h['if-range'] = run.validator;
  return h;
}

/**
 * One range request over a raw connection, the body read straight into
 * the job's staging buffer.
 * @param {Run} run
 * @param {Job} job
 * @param {RawConnection} raw
 * @param {string} url
 * @param {{ progressed: boolean }} attempt
 */
async function fetchRaw(run, job, raw, url, attempt) {
  const askedStart = job.recvPos;
  const askedEnd = requestEnd(run, job, askedStart);
  run.plan.startRequest(job, askedEnd);
  const u = new URL(url);
  const headers = { 'user-agent': USER_AGENT, 'accept-encoding': 'identity', ...run.ctx.o.headers, ...rangeHeaders(run, askedStart, askedEnd) };
  /** @type {import('./raw.js').Sink} */
  const sink = {
    room: () => {
      const r = /** @type {import('ranged-mmap').AllocatedRange} */ (job.range);
      return job.staging.subarray(job.staged, pieceEndOf(run, job) - r.start);
    },
    took: (n) => {
      const r = /** @type {import('ranged-mmap').AllocatedRange} */ (job.range);
      const pieceEnd = pieceEndOf(run, job);
      job.staged += n;
      job.recvPos += n;
      run.received += n;
      attempt.progressed = true;
      if (r.start + job.staged === pieceEnd) writePiece(run, job);
      return job.range === null;
    },
    feed: (bytes) => {
      attempt.progressed = true;
      return feed(run, job, bytes);
    },
  };
  await raw.request(u.pathname + u.search, headers, sink, (res) =>
    checkRanged(run, res.status, res.statusMessage, res.headers, url, askedStart, askedEnd, () => {}),
  );
  if (job.range !== null && job.end <= job.recvPos) throw new Error('internal: raw body overran its job');
}

/**
 * One request for what a job still lacks, streamed into it (node:http).
 * @param {Run} run
 * @param {Job} job
 * @param {string} url
 * @param {{ progressed: boolean }} attempt
 */
async function fetchOnce(run, job, url, attempt) {
  const { main, total, ctx } = run;
  /** @type {import('node:http').IncomingMessage} */
  let res;
  let skip = 0;
  // The request's span: a split may shorten the job while it is under way.
  const askedStart = job.recvPos;
  const askedEnd = main.ranges && job.firstBody === null ? requestEnd(run, job, askedStart) : job.end;
  run.plan.startRequest(job, askedEnd);
  if (job.firstBody !== null) {
    res = job.firstBody;
    job.firstBody = null;
  } else if (main.ranges) {
    res = (await get(url, rangeHeaders(run, askedStart, askedEnd), ctx.ro)).res;
    checkRanged(run, res.statusCode ?? 0, res.statusMessage ?? '', /** @type {Record<string, string>} */ (res.headers), url, askedStart, askedEnd, () =>
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
        if (feed(run, job, c)) {
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
}
