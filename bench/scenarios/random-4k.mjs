// random-4k (BENCH.md): 1,000,000 writes of 4 KiB at random 4K-aligned
// offsets (fixed seed) in a 1 GiB file, from 1 thread and from 2 workers
// (each worker in its own half of the file, so the final contents are
// known). Subject: RawMmapFile.writeAt. Peer: fs.writeSync (pwrite), and in
// "warm" also the bare mapping: a plain Uint8Array over the same kind of
// mapping (RawMmapFile.readSlice(0, size), view 0 of the mapping) written
// with view.set(page, offset), no checks.
// Variants (both sides' files always prepared the same way):
//  - "first-touch-prealloc": a fresh file, timed from create; both files
//    reserve their blocks (fallocate: the subject's RawMmapFile.create, the
//    peer's file made by the same call and closed, then opened with fs);
//  - "first-touch-sparse": the same with sparse files (the subject's
//    create with { sparse: true }, the peer's open + ftruncate);
//  - "warm" / "warm-clean": preallocated files whose pages were all written
//    before (kept from the warm-up repetition on); only the writes are
//    timed; "warm" with those pages dirty again, "warm-clean" with them
//    written back.
// Every contender writes the same page sequence (fixed-seed PRNG), and
// verification replays it, so every page of every file is checked after
// every repetition.
import { openSync, closeSync, ftruncateSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync, syncDisk } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { PAGE, FILL, expectedPages, redirtyFd, redirtyMapped, runJob } from '../lib/random-writes.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MiB = 1024 * 1024;
const workerScript = new URL('../workers/random-worker.mjs', import.meta.url);

export async function random4k({ dir, quick, reps, log }) {
  // Quick mode is the full scenario scaled by 1/32 in both file size and
  // write count, so each page still takes ~4 writes and the share of
  // first-touch faults stays what the full run sees.
  const size = (quick ? 32 : 1024) * MiB;
  const count = quick ? 31_250 : 1_000_000;
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
  for (const variant of ['first-touch-prealloc', 'first-touch-sparse', 'warm', 'warm-clean']) {
    const fresh = variant.startsWith('first-touch');
    const sparse = variant === 'first-touch-sparse';
    log(`random-4k W=${workers} ${variant}`);
    // The warm variants keep the files from the warm-up repetition on and
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
    /** A contender whose file is a RawMmapFile (the subject, and the bare mapping peer). */
    const mapped = (name, kind, path) => {
      let file = null;
      return {
        name,
        path,
        async run() {
          const t0 = performance.now();
          if (file === null) file = RawMmapFile.create(path, size, { sparse });
          else if (variant === 'warm') redirtyMapped(file);
          const t1 = performance.now();
          await run({ kind, shared: file.share() });
          return performance.now() - (fresh ? t0 : t1);
        },
        verify: () => verify(path, size, expected),
        cleanup() {
          if (!fresh) return syncDisk();
          file.close();
          file = null;
          removeAndSync(path);
        },
        close() {
          if (file) file.close();
          file = null;
        },
      };
    };
    const pwrite = (name, path) => {
      let fd = -1;
      return {
        name,
        path,
        async run() {
          const t0 = performance.now();
          if (fd < 0) {
            if (sparse) {
              fd = openSync(path, 'w+');
              ftruncateSync(fd, size);
            } else {
              RawMmapFile.create(path, size).close(); // reserved blocks, as the subject's file
              fd = openSync(path, 'r+');
            }
          } else if (variant === 'warm') redirtyFd(fd, size);
          const t1 = performance.now();
          await run({ kind: 'pwrite', path });
          return performance.now() - (fresh ? t0 : t1);
        },
        verify: () => verify(path, size, expected),
        cleanup() {
          if (!fresh) return syncDisk();
          closeSync(fd);
          fd = -1;
          removeAndSync(path);
        },
        close() {
          if (fd >= 0) closeSync(fd);
          fd = -1;
        },
      };
    };
    const contenders = [mapped('ranged-mmap', 'mmap', join(dir, 'random-ours.bin')), pwrite('fs.writeSync', join(dir, 'random-peer.bin'))];
    if (variant === 'warm') contenders.push(mapped('bare mapping', 'bare', join(dir, 'random-bare.bin')));
    const { times, verified, order, reported } = await alternate(contenders, reps, log, {
      warmBytes: warmSize(size),
      label: `random-4k W=${workers} ${variant}`,
    });
    for (const c of contenders) c.close();
    removeAndSync(...contenders.map((c) => c.path));
    for (const c of contenders.slice(1)) {
      results.push(comparison({ scenario: 'random-4k', variant, workers, subject: 'ranged-mmap', peer: c.name, times, verified, order, reported, unit: 'ms' }));
    }
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
