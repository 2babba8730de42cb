// random-4k (BENCH.md): 1,000,000 writes of 4 KiB at random 4K-aligned
// offsets (fixed seed) in a 1 GiB file, from 1 thread and from 2 workers
// (each worker in its own half of the file, so the final contents are
// known), into a fresh file ("first-touch", timed from create) and into a
// file whose pages were all written before ("warm" with those pages still
// dirty, "warm-clean" with them written back; only the writes are timed).
// Subject: RawMmapFile.writeAt. Peer: fs.writeSync (pwrite).
// Both write the same page sequence (fixed-seed PRNG), and verification
// replays it, so every page of both files is checked after every repetition.
// File kinds: the subject's create reserves the blocks (fallocate, the
// library default, timed in first-touch); the peer's file is sparse
// (ftruncate), the usual way to pre-size a file from Node.
import { openSync, closeSync, ftruncateSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync, syncDisk } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { PAGE, FILL, expectedPages, redirtyFd, redirtyMapped, runJob } from '../lib/random-writes.mjs';
import { comparison } from '../lib/stats.mjs';

const MiB = 1024 * 1024;
const workerScript = new URL('../workers/random-worker.mjs', import.meta.url);

export async function random4k({ dir, quick, reps, log }) {
  // Quick mode is the full scenario scaled by 1/16 in both file size and
  // write count, so each page still takes ~4 writes and the share of
  // first-touch faults stays what the full run sees.
  const size = (quick ? 64 : 1024) * MiB;
  const count = quick ? 62_500 : 1_000_000;
  const results = [];
  for (const workers of [1, 2]) {
    if (workers === 1) results.push(...(await measure({ pool: null, workers, dir, size, count, reps, log })));
    else results.push(...(await withPool(workerScript, workers, (pool) => measure({ pool, workers, dir, size, count, reps, log }))));
  }
  return results;
}

/** The three variants for one thread count (pool null: the main thread writes). */
async function measure({ pool, workers, dir, size, count, reps, log }) {
  const totalPages = size / PAGE;
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
  const results = [];
  for (const variant of ['first-touch', 'warm', 'warm-clean']) {
    const fresh = variant === 'first-touch';
    log(`random-4k W=${workers} ${variant}`);
    const oursPath = join(dir, 'random-ours.bin');
    const peerPath = join(dir, 'random-peer.bin');
    // The warm variants keep both files from the warm-up repetition on and
    // time only the writes. Between repetitions the files are synced, not
    // removed, so no repetition starts with the kernel's background
    // write-back half done (two dirty 1 GiB files sit right at its
    // threshold, and the 30 s expiry falls inside a run):
    //  - warm: every page is made dirty again before the clock starts
    //    (an untimed rewrite of the file's own bytes): the state of a file
    //    that is rewritten faster than write-back cleans it;
    //  - warm-clean: pages cached but written back: the state of a
    //    long-running writer between write-back passes, where a write
    //    through the mapping first takes a write fault per page.
    let ours = null;
    let peerFd = -1;
    const contenders = [
      {
        name: 'ranged-mmap',
        async run() {
          const t0 = performance.now();
          if (ours === null) ours = RawMmapFile.create(oursPath, size);
          else if (variant === 'warm') redirtyMapped(ours);
          const t1 = performance.now();
          await run({ kind: 'mmap', shared: ours.share() });
          return performance.now() - (fresh ? t0 : t1);
        },
        verify: () => verify(oursPath, size, expected),
        cleanup() {
          if (!fresh) return syncDisk();
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
          } else if (variant === 'warm') redirtyFd(peerFd, size);
          const t1 = performance.now();
          await run({ kind: 'pwrite', path: peerPath });
          return performance.now() - (fresh ? t0 : t1);
        },
        verify: () => verify(peerPath, size, expected),
        cleanup() {
          if (!fresh) return syncDisk();
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
    results.push(comparison({ scenario: 'random-4k', variant, workers, subject: 'ranged-mmap', peer: 'fs.writeSync', times, verified, unit: 'ms' }));
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
