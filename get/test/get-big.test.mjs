// A 5 GiB file (past 4 GiB: every 32-bit boundary), served from a sparse
// file so it costs the server no memory and little disk. The download
// itself is real: 5 GiB written into a preallocated mapped file. Compared
// byte for byte with the source, block by block.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { closeSync, ftruncateSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { download } from '../src/index.js';
import { spawn } from 'node:child_process';
import { MiB, listing, tempDir } from './helpers.mjs';

const GiB = 1024 * MiB;
const SIZE = 5 * GiB + 12345;
const t = tempDir('rmget-big-');
const srcPath = join(t.dir, 'sparse.bin');
/** @type {import('node:child_process').ChildProcess} */
let server;
let base = '';

before(async () => {
  const fd = openSync(srcPath, 'w');
  ftruncateSync(fd, SIZE);
  // Random bytes where a 32-bit offset would wrap or a sign bit flip, and at both ends.
  for (const at of [0, 2 ** 31 - 40_000, 2 ** 32 - 40_000, 2 ** 32 + 4095, 4 * GiB + 512 * MiB, SIZE - 70_000])
    writeSync(fd, randomBytes(70_000), 0, 70_000, at);
  closeSync(fd);
  // The server runs in its own process: on two cores, the downloader and
  // the server's reads should not share one thread.
  server = spawn(process.execPath, [new URL('./serve-child.mjs', import.meta.url).pathname, `/sparse.bin=${srcPath}`], { stdio: ['pipe', 'pipe', 'inherit'] });
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout?.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    server.on('exit', (code) => reject(new Error(`test server exited with ${code}`)));
  });
});

after(async () => {
  server.stdin?.end();
  await new Promise((r) => {
    const kill = setTimeout(() => server.kill('SIGKILL'), 5000);
    server.on('exit', () => {
      clearTimeout(kill);
      r(undefined);
    });
  });
  t.cleanup();
});

/**
 * Compares two files block by block; returns the first differing offset or -1.
 * @param {string} a
 * @param {string} b
 */
function firstDifference(a, b) {
  const fa = openSync(a, 'r');
  const fb = openSync(b, 'r');
  const ba = Buffer.allocUnsafe(16 * MiB);
  const bb = Buffer.allocUnsafe(16 * MiB);
  try {
    for (let pos = 0; ; ) {
      const na = readSync(fa, ba, 0, ba.length, pos);
      const nb = readSync(fb, bb, 0, bb.length, pos);
      if (na !== nb) return pos + Math.min(na, nb);
      if (na === 0) return -1;
      if (!ba.subarray(0, na).equals(bb.subarray(0, nb))) {
        for (let i = 0; i < na; i++) if (ba[i] !== bb[i]) return pos + i;
      }
      pos += na;
    }
  } finally {
    closeSync(fa);
    closeSync(fb);
  }
}

test('a sparse 5 GiB file (+12345 bytes) arrives byte for byte', { timeout: 600_000 }, async () => {
  const output = join(t.dir, 'out.bin');
  const t0 = performance.now();
  let peakAnon = 0;
  const r = await download(`${base}/sparse.bin`, {
    output,
    connections: 4,
    chunkSize: 16 * MiB,
    sync: false,
    // Anonymous memory of this whole process (test runner included) while 5 GiB go through.
    onProgress: () => {
      const kb = Number(/RssAnon:\s+(\d+)/.exec(readFileSync('/proc/self/status', 'latin1'))?.[1]);
      if (kb > peakAnon) peakAnon = kb;
    },
  });
  const seconds = (performance.now() - t0) / 1000;
  assert.equal(r.bytes, SIZE);
  assert.ok(peakAnon > 0 && peakAnon < 100 * 1024, `peak RssAnon ${peakAnon} kB`);
  assert.equal(firstDifference(srcPath, output), -1);
  assert.deepEqual(listing(t.dir), ['out.bin', 'sparse.bin']);
  process.stdout.write(`# 5 GiB: download ${seconds.toFixed(1)} s, ${(SIZE / seconds / 1e6).toFixed(0)} MB/s\n`);
});
