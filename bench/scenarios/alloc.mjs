// alloc (BENCH.md): ConcurrentAllocator.allocate(4096) from 1 and 2
// workers at once on one file (a sparse 64 GiB file, so it never runs
// dry). Reports allocations per second; no peer, no target yet. Verified:
// every allocation succeeded and the shared counter moved by exactly
// that many pages.
import { join } from 'node:path';
import { MmapFile } from 'ranged-mmap';
import { removeAndSync } from '../lib/files.mjs';
import { WorkerPool } from '../lib/pool.mjs';
import { summary } from '../lib/stats.mjs';

const workerScript = new URL('../workers/alloc-worker.mjs', import.meta.url);

export async function alloc({ dir, quick, log }) {
  const count = quick ? 300_000 : 2_000_000;
  const path = join(dir, 'alloc.bin');
  const results = [];
  for (const workers of [1, 2]) {
    const pool = new WorkerPool(workerScript, workers);
    await pool.ready();
    const rates = [];
    let verified = true;
    for (let rep = -1; rep < 5; rep++) {
      const { file, allocator } = MmapFile.create(path, 64 * 2 ** 30, { allocator: 'concurrent', sparse: true });
      const replies = await pool.run(Array.from({ length: workers }, () => ({ shared: file.share(), count })));
      const got = replies.reduce((a, r) => a + r.got, 0);
      if (got !== count * workers || allocator.nextPos !== got * 4096) verified = false;
      if (rep >= 0) rates.push(got / (Math.max(...replies.map((r) => r.ms)) / 1000));
      log(`  alloc W=${workers} rep ${rep}: ${(rates.at(-1) ?? 0).toFixed(0)}/s`);
      file.close();
      removeAndSync(path);
    }
    await pool.close();
    results.push({
      scenario: 'alloc',
      variant: 'allocate-4k',
      workers,
      peer: null,
      speedup: null,
      subject: { ...summary(rates), unit: 'allocs/s' },
      peerValue: null,
      verified,
    });
  }
  return results;
}
