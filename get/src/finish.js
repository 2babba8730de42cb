// The end of a download: the checksum check, the rename into place, the
// removal of the resume state and the result.
import { createReadStream, renameSync, rmSync } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { GetError, fileError } from './errors.js';

const MiB = 1024 * 1024;

/**
 * @typedef {import('./index.js').DownloadResult} DownloadResult
 */

/**
 * Verifies, renames the part into place and removes the state.
 * @param {import('./download.js').Ctx} ctx
 * @param {string} output
 * @param {string} partPath
 * @param {string} statePath
 * @param {number} bytes
 * @param {number} resumedBytes
 * @returns {Promise<DownloadResult>}
 */
export async function finish(ctx, output, partPath, statePath, bytes, resumedBytes) {
  const { o } = ctx;
  /** @type {string | undefined} */
  let sha256;
  if (o.checksum !== undefined) {
    const digest = await hashFile(partPath, o.checksum.algorithm);
    if (o.checksum.algorithm === 'sha256') sha256 = digest;
    if (digest !== o.checksum.hex) {
      // Nothing to resume (the message says --no-resume, which ignores a
      // state left behind).
      try {
        rmSync(statePath, { force: true });
      } catch {
        // the mismatch is the failure to report
      }
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
  removeState(statePath);
  const seconds = (performance.now() - ctx.started) / 1000;
  const result = { path: output, bytes, ...(sha256 === undefined ? {} : { sha256 }), seconds, resumedBytes, retries: ctx.retries };
  o.onEvent?.({ type: 'done', ...result });
  return result;
}

/**
 * Removes the resume state of a part that is finished (or failed its
 * checksum: there is nothing to resume).
 * @param {string} statePath
 */
function removeState(statePath) {
  try {
    rmSync(statePath, { force: true });
  } catch (e) {
    throw fileError(e, 'remove the resume state', statePath);
  }
}

/**
 * An empty file: nothing to fetch.
 * @param {import('./download.js').Ctx} ctx
 * @param {string} output
 * @param {string} partPath
 * @param {string} statePath
 */
export async function finishEmpty(ctx, output, partPath, statePath) {
  ctx.o.onEvent?.({ type: 'start', url: ctx.o.url, output, length: 0, ranges: false, connections: 0, workers: 0, chunkSize: 0, resumedBytes: 0 });
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
