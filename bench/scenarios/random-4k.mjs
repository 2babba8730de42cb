// random-4k (BENCH.md): 1,000,000 writes of 4 KiB at random 4K-aligned
// offsets (fixed seed) in a 1 GiB file, from 1 thread and from 2 workers
// (each worker in its own half of the file, so the final contents are
// known), into a fresh file ("first-touch", timed from create) and into a
// file whose pages were all written before ("warm", writes only).
// Subject: RawMmapFile.writeAt. Peer: fs.writeSync (pwrite).
import { openSync, closeSync, ftruncateSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { WorkerPool } from '../lib/pool.mjs';
import { PAGE, FILL, expectedPages, runJob } from '../lib/random-writes.mjs';
import { speedups, summary } from '../lib/stats.mjs';

const MiB = 1024 * 1024;
const workerScript = new URL('../workers/random-worker.mjs', import.meta.url);

export async function random4k({ dir, quick, log }) {
  const size = (quick ? 256 : 1024) * MiB;
  const count = quick ? 200_000 : 1_000_000;
  const totalPages = size / PAGE;
  const reps = 5;
  const results = [];

  for (const workers of [1, 2]) {
    const pool = workers > 1 ? new WorkerPool(workerScript, workers) : null;
    if (pool) await pool.ready();
    const share = Math.floor(totalPages / workers);
    const jobs = Array.from({ length: workers }, (_, w) => ({
      seed: 1234 + w,
      count: Math.floor(count / workers),
      firstPage: w * share,
      pages: share,
      base: w * count,
    }));
    const expected = expectedPages(totalPages, jobs);
    const run = async (extra) => {
      if (!pool) return runJob({ ...jobs[0], ...extra });
      await pool.run(jobs.map((j) => ({ ...j, ...extra })));
    };

    for (const variant of ['first-touch', 'warm']) {
      const warm = variant === 'warm';
      log(`random-4k W=${workers} ${variant}`);
      const oursPath = join(dir, 'random-ours.bin');
      const peerPath = join(dir, 'random-peer.bin');
      let ours = null; // kept open across repetitions in the warm variant
      let peerFd = -1;
      const contenders = [
        {
          name: 'ranged-mmap',
          async run() {
            const t0 = performance.now();
            if (ours === null) ours = RawMmapFile.create(oursPath, size);
            const t1 = performance.now();
            await run({ kind: 'mmap', shared: ours.share() });
            return performance.now() - (warm ? t1 : t0);
          },
          verify: () => verify(ours ? oursPath : oursPath, size, expected),
          cleanup() {
            if (warm) return;
            ours.close();
            ours = null;
            removeAndSync(oursPath);
          },
        },
        {
          name: 'fs.writeSync',
          async run() {
            const t0 = performance.now();
            if (peerFd < 0) {
              peerFd = openSync(peerPath, 'w+');
              ftruncateSync(peerFd, size);
            }
            const t1 = performance.now();
            await run({ kind: 'pwrite', path: peerPath });
            return performance.now() - (warm ? t1 : t0);
          },
          verify: () => verify(peerPath, size, expected),
          cleanup() {
            if (warm) return;
            closeSync(peerFd);
            peerFd = -1;
            removeAndSync(peerPath);
          },
        },
      ];
      const { times, verified } = await alternate(contenders, reps, log);
      if (ours) ours.close();
      if (peerFd >= 0) closeSync(peerFd);
      removeAndSync(oursPath, peerPath);
      results.push({
        scenario: 'random-4k',
        variant,
        workers,
        peer: 'fs.writeSync',
        speedup: speedups(times['ranged-mmap'], times['fs.writeSync']),
        subject: { ...summary(times['ranged-mmap']), unit: 'ms' },
        peerValue: { ...summary(times['fs.writeSync']), unit: 'ms' },
        verified,
      });
    }
    if (pool) await pool.close();
  }
  return results;
}

/** Every page holds the last write that hit it (its index in the first word, FILL after), or zeros. */
function verify(path, size, expected) {
  if (statSync(path).size !== size) throw new Error(`size ${statSync(path).size}, expected ${size}`);
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(16 * MiB);
    const fill = Buffer.alloc(PAGE, FILL);
    const zero = Buffer.alloc(PAGE);
    for (let offset = 0; offset < size; offset += chunk.length) {
      readSync(fd, chunk, 0, chunk.length, offset);
      for (let p = 0; p < chunk.length; p += PAGE) {
        const want = expected[(offset + p) / PAGE];
        if (want < 0) {
          if (chunk.compare(zero, 0, PAGE, p, p + PAGE) !== 0) throw new Error(`page ${(offset + p) / PAGE} should be zero`);
        } else if (chunk.readUInt32LE(p) !== want || chunk.compare(fill, 4, PAGE, p + 4, p + PAGE) !== 0) {
          throw new Error(`page ${(offset + p) / PAGE} should hold write ${want}`);
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
