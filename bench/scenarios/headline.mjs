// headline (BENCH.md): the seeds' own benchmark. A 512 MiB file written in
// 12 MiB chunks by W workers taking chunks round-robin, each chunk filled
// with its index; timed from create to the end of syncAll, and again
// without any sync.
//
// Subject: MmapFile.create, the main thread allocates every chunk as a range
// and moves chunk i to worker i % W (transfer/receiveRange); workers
// writeRange. Peers: the same workers write the same buffers with
// fs.writeSync (pwrite) or a FileHandle (fs.promises). Variants:
//  - "sync": workers also flushRange each chunk (the seeds' idiom: early
//    write-back with sync_file_range, which only the subject has), then
//    syncAll; peers one fsync at the end;
//  - "sync-noflush": like for like, no per-chunk flushRange: writeRange
//    only, then syncAll; peers one fsync;
//  - "nosync": no flush and no sync on any side.
//
// Workers are started and their chunk buffers filled before any timing, the
// same pool serves all three contenders, and the clock covers create ->
// all workers done (-> sync) -> close. Both sides' files are prepared the
// same way, inside the timed part: a new file whose blocks are reserved
// (fallocate, the library's default). The subject's MmapFile.create does
// that itself; for the peers the same call is made through the library
// (RawMmapFile.create, then close: open + fallocate, mapping never touched)
// and the workers open the file with node:fs, since Node has no fallocate.
import { openSync, closeSync, fsyncSync, readSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { MmapFile, RawMmapFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';

const MiB = 1024 * 1024;
const workerScript = new URL('../workers/headline-worker.mjs', import.meta.url);

export async function headline({ dir, quick, reps, log }) {
  const size = (quick ? 96 : 512) * MiB; // quick: 8 chunks, so at W = 12 four workers have none
  const chunkSize = 12 * MiB;
  const path = join(dir, 'headline.bin');
  const results = [];

  for (const workers of [2, 12]) {
    results.push(...(await withPool(workerScript, workers, (pool) => measure({ pool, workers, path, size, chunkSize, reps, log }))));
  }
  return results;
}

/** Both variants for one W, on one pool of W workers shared by every contender. */
async function measure({ pool, workers, path, size, chunkSize, reps, log }) {
  const chunks = Math.ceil(size / chunkSize);
  const mine = (w) => Array.from({ length: chunks }, (_, i) => i).filter((i) => i % workers === w);
  await pool.run(Array.from({ length: workers }, (_, w) => ({ kind: 'prepare', chunks: mine(w), chunkSize, size })));
  const results = [];
  for (const variant of ['sync', 'sync-noflush', 'nosync']) {
    const sync = variant !== 'nosync';
    const flush = variant === 'sync';
    log(`headline W=${workers} ${variant}`);
    const contenders = [
      {
        name: 'ranged-mmap',
        async run() {
          const t0 = performance.now();
          const { file, allocator } = MmapFile.create(path, size);
          const transfers = Array.from({ length: workers }, () => []);
          for (let i = 0; i < chunks; i++) transfers[i % workers].push(allocator.allocate(chunkSize).transfer());
          const shared = file.share();
          await pool.run(transfers.map((t) => ({ kind: 'mmap', shared, transfers: t, flush })));
          if (sync) file.syncAll();
          file.close();
          return performance.now() - t0;
        },
      },
      {
        name: 'fs.writeSync',
        async run() {
          const t0 = performance.now();
          RawMmapFile.create(path, size).close(); // the same file as the subject's: reserved blocks
          const fd = openSync(path, 'r+');
          await pool.run(Array.from({ length: workers }, () => ({ kind: 'writeSync', path })));
          if (sync) fsyncSync(fd);
          closeSync(fd);
          return performance.now() - t0;
        },
      },
      {
        name: 'FileHandle.write',
        async run() {
          const t0 = performance.now();
          RawMmapFile.create(path, size).close();
          const fh = await open(path, 'r+');
          await pool.run(Array.from({ length: workers }, () => ({ kind: 'fileHandle', path })));
          if (sync) await fh.sync();
          await fh.close();
          return performance.now() - t0;
        },
      },
    ].map((c) => ({ ...c, verify: () => verify(path, size, chunkSize), cleanup: () => removeAndSync(path) }));

    const { times, verified, order, reported } = await alternate(contenders, reps, log, {
      warmBytes: warmSize(size),
      label: `headline W=${workers} ${variant}`,
    });
    for (const peer of ['FileHandle.write', 'fs.writeSync']) {
      results.push(comparison({ scenario: 'headline', variant, workers, subject: 'ranged-mmap', peer, times, verified, order, reported, unit: 'ms' }));
    }
  }
  return results;
}

/** Every chunk holds its index in every byte, and the file has the right size. */
function verify(path, size, chunkSize) {
  if (statSync(path).size !== size) throw new Error(`size ${statSync(path).size}, expected ${size}`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkSize);
    const expected = Buffer.allocUnsafe(chunkSize);
    for (let index = 0; index * chunkSize < size; index++) {
      const n = readSync(fd, buf, 0, Math.min(chunkSize, size - index * chunkSize), index * chunkSize);
      expected.fill(index & 0xff);
      if (buf.compare(expected, 0, n, 0, n) !== 0) throw new Error(`chunk ${index} has wrong bytes`);
    }
  } finally {
    closeSync(fd);
  }
}
