// A file of unknown length (chunked, no ranges): one stream written
// sequentially with FileHandle.write, truncated to what arrived.
import { rmSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Fault, fileError } from './errors.js';
import { asFault, get, statusError } from './http.js';
import { finish } from './finish.js';
import { progressTicker } from './progress.js';
import { RETRY_CAP_MS, afterFailure } from './retry.js';

/** Bytes collected before one FileHandle.write. */
const STAGING = 1024 * 1024;

/**
 * @typedef {import('./index.js').DownloadResult} DownloadResult
 */

/**
 * A file of unknown length (chunked, no ranges): one stream written
 * sequentially, its length whatever arrived. A dropped connection starts
 * the stream again and skips what was written.
 * @param {import('./download.js').Ctx} ctx
 * @param {import('./http.js').Probe} main
 * @param {string} output
 * @returns {Promise<DownloadResult>}
 */
export async function streamUnknown(ctx, main, output) {
  const partPath = `${output}.part`;
  const statePath = `${partPath}.state`;
  try {
    rmSync(statePath, { force: true });
  } catch (e) {
    main.body?.destroy();
    throw fileError(e, 'remove the old resume state', statePath);
  }
  /** @type {import('node:fs/promises').FileHandle} */
  let fh;
  try {
    fh = await openFile(partPath, 'w');
  } catch (e) {
    main.body?.destroy();
    throw fileError(e, 'create', partPath);
  }
  ctx.o.onEvent?.({ type: 'start', url: main.url, output, length: null, ranges: false, connections: 1, workers: 0, chunkSize: 0, resumedBytes: 0 });
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
    try {
      await fh.truncate(written);
    } catch (e) {
      throw fileError(e, `cut to its ${written} bytes`, partPath);
    }
    try {
      if (ctx.o.sync) await fh.datasync();
    } catch (e) {
      throw fileError(e, 'sync', partPath);
    }
  } catch (e) {
    await fh.close().catch(() => {});
    stopProgress();
    throw e;
  }
  stopProgress();
  try {
    await fh.close();
  } catch (e) {
    throw fileError(e, 'close', partPath);
  }
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
