// atomic (BENCH.md): a 64-bit add of 1 on one mapped counter from 2
// workers at once, against Atomics.add on a BigUint64Array over a
// SharedArrayBuffer (what a Node program uses for a shared counter today).
// Two variants:
//   add-u64        MemoryMappedFile.atomicU64(0).add(1n): every check
//                  (mode, closed, operand, fault state) on every call;
//   add-u64-slice  Atomics.add on atomicU64Slice(0, 1): the mapping itself,
//                  the floor the checked view can reach.
// Time = span from the first worker's start to the last one's end (both
// start together at a barrier). speedup = SAB time / mapped time.
// Verified after every repetition: the counter holds exactly 2 x count
// (read back from the file for the mapped sides).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryMappedFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const workerScript = new URL('../workers/atomic-worker.mjs', import.meta.url);
const WORKERS = 2;

export async function atomic({ dir, quick, reps, log }) {
  const count = quick ? 1_000_000 : 5_000_000;
  const path = join(dir, 'atomic.bin');
  return withPool(workerScript, WORKERS, async (pool) => {
    const results = [];
    for (const kind of ['atomicU64', 'slice']) {
      let file = null;
      let sab = null;
      const span = (replies) => Math.max(...replies.map((r) => r.end)) - Math.min(...replies.map((r) => r.start));
      const contenders = [
        {
          name: kind,
          async run() {
            file = MemoryMappedFile.createRw(path, 4096);
            const gate = new SharedArrayBuffer(4);
            const replies = await pool.run(Array.from({ length: WORKERS }, () => ({ kind, shared: file.share(), count, gate, workers: WORKERS })));
            return span(replies);
          },
          verify() {
            const got = file.atomicU64(0).load();
            file.syncAll();
            const onDisk = readFileSync(path).readBigUInt64LE(0);
            if (got !== BigInt(WORKERS * count) || onDisk !== got) throw new Error(`counter ${got} (file ${onDisk}), expected ${WORKERS * count}`);
          },
          cleanup() {
            file.close();
            removeAndSync(path);
          },
        },
        {
          name: 'Atomics.add SAB',
          async run() {
            sab = new SharedArrayBuffer(8);
            const gate = new SharedArrayBuffer(4);
            const replies = await pool.run(Array.from({ length: WORKERS }, () => ({ kind: 'sab', sab, count, gate, workers: WORKERS })));
            return span(replies);
          },
          verify() {
            const got = new BigUint64Array(sab)[0];
            if (got !== BigInt(WORKERS * count)) throw new Error(`counter ${got}, expected ${WORKERS * count}`);
          },
        },
      ];
      log(`atomic ${kind}`);
      const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(4096), label: `atomic ${kind}` });
      results.push(
        comparison({
          scenario: 'atomic',
          variant: kind === 'slice' ? 'add-u64-slice' : 'add-u64',
          workers: WORKERS,
          subject: kind,
          peer: 'Atomics.add SAB',
          times,
          verified,
          order,
          reported,
          unit: 'ms',
        }),
      );
    }
    return results;
  });
}
