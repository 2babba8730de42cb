// alloc (BENCH.md): ConcurrentAllocator.allocate(4096) from 1 and 2
// workers at once on one file (a sparse 64 GiB file, so it never runs
// dry), against the "bare counter": the least any allocator of ranges
// shared by threads does, `Atomics.add` of one page on an Int32 counter in
// a SharedArrayBuffer, an end-of-file test and a plain `{ start, end }`
// object per call. The four contenders (allocate and bare counter, W = 1
// and 2) alternate in one loop (lib/alternate.mjs: seeded order, memory
// warm step, untimed warm-up round) on one pool of 2 workers (W = 1 uses
// the first). The workers of a repetition meet at a gate and start
// together; each contender reports allocations per second over the span
// from the first worker's start to the last one's end (dividing by one
// worker's own time would overstate the rate). Three entries: allocate vs bare counter at W = 1 and at W = 2
// (speedup = our rate / the counter's), and allocate W = 2 against
// allocate W = 1 (`allocate-4k-scaling`: > 1 when two threads allocate
// more in total than one). Verified after every repetition: every
// allocation succeeded, the last range of each worker was a 4 KiB range,
// and exactly that many pages are handed out (for the library, the file
// less `remaining`, which counts what per-thread batches still hold; for
// the bare counter, the counter itself), so none was lost or handed out
// twice.
import { join } from 'node:path';
import { MmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const workerScript = new URL('../workers/alloc-worker.mjs', import.meta.url);
const FILE_SIZE = 64 * 2 ** 30;
const POOL = 2;

export async function alloc({ dir, quick, reps, log }) {
  const count = quick ? 1_000_000 : 4_000_000;
  const path = join(dir, 'alloc.bin');
  return withPool(workerScript, POOL, async (pool) => {
    // Jobs for `workers` workers, which meet at a gate before they start; the rest of the pool answers a ping.
    const jobs = (workers, job) => {
      const gate = new SharedArrayBuffer(4);
      return Array.from({ length: POOL }, (_, i) => (i < workers ? { ...job(), gate, workers } : { kind: 'ping' }));
    };
    const rateOf = (replies) => {
      const ran = replies.filter((r) => r !== 'ready');
      const span = Math.max(...ran.map((r) => r.end)) - Math.min(...ran.map((r) => r.start));
      return { ran, rate: ran.reduce((a, r) => a + r.got, 0) / (span / 1000) };
    };
    const checkWorkers = (ran) => {
      for (const r of ran) {
        if (r.got !== count || r.lastLength !== 4096) throw new Error(`a worker got ${r.got} of ${count} ranges, the last of ${r.lastLength} bytes`);
      }
    };
    const contenders = [];
    for (const workers of [1, 2]) {
      let file = null;
      let allocator = null;
      let ran = [];
      contenders.push({
        name: `allocate W=${workers}`,
        async run() {
          ({ file, allocator } = MmapFile.create(path, FILE_SIZE, { allocator: 'concurrent', sparse: true }));
          const shared = file.share();
          const r = rateOf(await pool.run(jobs(workers, () => ({ kind: 'allocate', shared, count }))));
          ran = r.ran;
          return r.rate;
        },
        verify() {
          checkWorkers(ran);
          // Handed out = the file less what remains (remaining counts the
          // pages still held in per-thread batches, which the counter has passed).
          const handed = allocator.totalSize - allocator.remaining;
          if (handed !== count * workers * 4096 || allocator.nextPos < handed) {
            throw new Error(`${handed} bytes handed out, counter at ${allocator.nextPos}; expected ${count * workers * 4096}`);
          }
        },
        cleanup() {
          file.close();
          removeAndSync(path);
        },
      });
      let sab = null;
      let bareRan = [];
      contenders.push({
        name: `bare counter W=${workers}`,
        async run() {
          sab = new SharedArrayBuffer(64);
          const r = rateOf(await pool.run(jobs(workers, () => ({ kind: 'bare', sab, count, totalPages: FILE_SIZE / 4096 }))));
          bareRan = r.ran;
          return r.rate;
        },
        verify() {
          checkWorkers(bareRan);
          const counter = new Int32Array(sab)[0];
          if (counter !== count * workers) throw new Error(`counter at ${counter} pages; expected ${count * workers}`);
        },
      });
    }
    log('alloc');
    const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(0), label: 'alloc' });
    const entry = (variant, workers, subject, peer) =>
      comparison({ scenario: 'alloc', variant, workers, subject, peer, times, verified, order, reported, unit: 'allocs/s', higherIsBetter: true });
    return [
      entry('allocate-4k', 1, 'allocate W=1', 'bare counter W=1'),
      entry('allocate-4k', 2, 'allocate W=2', 'bare counter W=2'),
      entry('allocate-4k-scaling', 2, 'allocate W=2', 'allocate W=1'),
    ];
  });
}
