// ranged-mmap-get --demo: the main job on a fresh clone, with no network.
// Generates a 1 GiB file in a new directory under the system's temporary
// directory, serves it from a local server (its own process), downloads it
// with the progress display, checks its sha256, downloads it again with a
// plain single-stream Node client (http.get piped into a file), prints both
// speeds, and removes the directory.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, openSync, closeSync, rmSync, writeSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { progressLine } from './cli.js';
import { download } from './download.js';
import { hashFile } from './finish.js';
import { EXIT } from './errors.js';

const MiB = 1024 * 1024;
const SIZE = 1024 * MiB;

/**
 * Writes SIZE bytes (a random MiB, stamped with its index so no two MiB are
 * alike) and returns their sha256.
 * @param {string} path
 */
function generate(path) {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let i = 0; i < SIZE / MiB; i++) {
      block.writeUInt32LE(i, 0);
      writeSync(fd, block, 0, MiB, i * MiB);
      hash.update(block);
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Starts demo-server.js over `file`; resolves with its URL and a stop().
 * @param {string} file
 */
async function serve(file) {
  const child = spawn(process.execPath, [new URL('./demo-server.js', import.meta.url).pathname, file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', (code) => reject(new Error(`the demo server exited with ${code}`)));
  });
  return {
    url: /** @type {string} */ (url),
    stop: () =>
      new Promise((resolve) => {
        child.on('exit', resolve);
        child.stdin.end();
        setTimeout(() => child.kill('SIGKILL'), 3000).unref();
      }),
  };
}

/**
 * One stream, no ranges: what a plain Node download does.
 * @param {string} url
 * @param {string} path
 * @returns {Promise<number>} seconds
 */
function plainDownload(url, path) {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const out = createWriteStream(path);
        res.pipe(out);
        out.on('finish', () => resolve((performance.now() - t0) / 1000));
        out.on('error', reject);
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

/**
 * @param {{ quiet: boolean }} o
 * @returns {Promise<number>} exit code
 */
export async function runDemo(o) {
  const say = (/** @type {string} */ s) => {
    if (!o.quiet) process.stdout.write(`${s}\n`);
  };
  const dir = mkdtempSync(join(tmpdir(), 'ranged-mmap-get-demo-'));
  /** @type {Awaited<ReturnType<typeof serve>> | null} */
  let server = null;
  try {
    say(`ranged-mmap-get demo: generating a 1 GiB file in ${dir} (removed at the end)`);
    const source = join(dir, 'demo-1GiB.bin');
    const sha = generate(source);
    server = await serve(source);
    say(`serving it at ${server.url} (a local Node server in its own process)`);
    say('downloading it with ranged-mmap-get, 8 connections:');
    const bar = process.stdout.isTTY && !o.quiet ? progressLine() : null;
    const r = await download(server.url, {
      output: join(dir, 'downloaded.bin'),
      connections: 8,
      sync: false,
      onProgress: bar === null ? undefined : bar.draw,
    });
    bar?.clear();
    const ours = r.bytes / r.seconds / 1e6;
    say(`  ${r.path}: ${r.bytes} bytes in ${r.seconds.toFixed(2)} s`);
    const got = await hashFile(r.path, 'sha256');
    if (got !== sha) {
      process.stderr.write(`ranged-mmap-get --demo: the downloaded file's sha256 is ${got}, the served file's is ${sha}\n`);
      return EXIT.checksum;
    }
    say(`  sha256 ${got}: the same as the served file's`);
    rmSync(r.path);
    say('downloading it again with a plain single-stream Node client (http.get piped to a file):');
    const plainSeconds = await plainDownload(server.url, join(dir, 'plain.bin'));
    const plain = SIZE / plainSeconds / 1e6;
    say(`  ${SIZE} bytes in ${plainSeconds.toFixed(2)} s`);
    say('');
    say(`ranged-mmap-get, 8 connections : ${ours.toFixed(0).padStart(6)} MB/s`);
    say(`plain Node, one stream        : ${plain.toFixed(0).padStart(6)} MB/s`);
    say(`ratio                         : ${(ours / plain).toFixed(2)}x`);
    say('Loopback on this machine, one run each: `npm run bench:get` measures properly.');
    return EXIT.ok;
  } catch (e) {
    process.stderr.write(`ranged-mmap-get --demo: ${/** @type {Error} */ (e).message}\n`);
    return /** @type {{ exitCode?: number }} */ (e).exitCode ?? 70;
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
