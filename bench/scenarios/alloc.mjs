// alloc (BENCH.md): ConcurrentAllocator.allocate(4096) from 1 and 2
// workers at once on one file (a sparse 64 GiB file, so it never runs
// dry). Reports allocations per second over the span from the first
// worker's start to the last one's end (workers do not start at the same
// instant, so dividing by one worker's own time would overstate the rate).
// No peer and no speedup. Verified: every allocation succeeded and exactly
// that many pages are handed out (the counter less what per-thread batches
// still hold), so none was lost or handed out twice. Before every repetition, the memory warm step of
// BENCH.md (64 MiB: the scenario itself touches almost no memory).
import { join } from 'node:path';
import { MmapFile } from 'ranged-mmap';
import { removeAndSync } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { measured } from '../lib/stats.mjs';
import { warmMemory, warmSize } from '../lib/warm.mjs';
import { reportedKiB } from '../lib/page-reporting.mjs';

const workerScript = new URL('../workers/alloc-worker.mjs', import.meta.url);

export async function alloc({ dir, quick, reps, log }) {
  const count = quick ? 1_000_000 : 4_000_000;
  const path = join(dir, 'alloc.bin');
  const results = [];
  for (const workers of [1, 2]) {
    results.push(await withPool(workerScript, workers, (pool) => measure({ pool, workers, count, path, reps, log })));
  }
  return results;
}

async function measure({ pool, workers, count, path, reps, log }) {
  const rates = [];
  const reported = [];
  let verified = true;
  // rep -1 is the untimed warm-up (it also lets the workers' JIT settle).
  for (let rep = -1; rep < reps; rep++) {
    if (rep >= 0) warmMemory(warmSize(0));
    const kib = reportedKiB();
    const { file, allocator } = MmapFile.create(path, 64 * 2 ** 30, { allocator: 'concurrent', sparse: true });
    try {
      const replies = await pool.run(Array.from({ length: workers }, () => ({ shared: file.share(), count })));
      const got = replies.reduce((a, r) => a + r.got, 0);
      // Handed out = the file less what remains (remaining counts the pages
      // still held in per-thread batches, which the counter has passed).
      const handed = allocator.totalSize - allocator.remaining;
      if (got !== count * workers || handed !== got * 4096 || allocator.nextPos < handed) {
        verified = false;
        console.error(
          `  alloc W=${workers}: ${got} allocations, ${handed} bytes handed out, counter at ${allocator.nextPos}; expected ${count * workers} and ${count * workers * 4096}`,
        );
      }
      const span = Math.max(...replies.map((r) => r.end)) - Math.min(...replies.map((r) => r.start));
      if (rep >= 0) {
        rates.push(got / (span / 1000));
        reported.push(reportedKiB() - kib);
        log(`  alloc W=${workers} rep ${rep + 1}/${reps}: ${rates.at(-1).toFixed(0)}/s`);
      }
    } finally {
      file.close();
      removeAndSync(path);
    }
  }
  return {
    scenario: 'alloc',
    variant: 'allocate-4k',
    workers,
    peer: null,
    speedup: null,
    subject: measured(rates, 'allocs/s', true, reported),
    peerValue: null,
    verified,
  };
}
