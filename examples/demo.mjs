// npm run demo: the seeds' concurrent example at real size.
// Four worker threads fill a 1 GiB file through one wait-free concurrent
// allocator, each writing the ranges it wins; the file is then synced,
// read back with node:fs and every byte checked.
//
//   node examples/demo.mjs [--size-mib 1024] [--workers 4] [--chunk-kib 4096] [--dir DIR]
import { isMainThread, parentPort, workerData, Worker } from 'node:worker_threads';
import { mkdtempSync, openSync, readSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MmapFile } from 'ranged-mmap';

/** The byte every position of chunk `index` holds: never 0, so an unwritten chunk shows. */
const chunkValue = (index) => (index % 251) + 1;

if (isMainThread) {
  const { values } = parseArgs({
    options: {
      'size-mib': { type: 'string', default: '1024' },
      workers: { type: 'string', default: '4' },
      'chunk-kib': { type: 'string', default: '4096' },
      dir: { type: 'string' },
    },
  });
  const size = Number(values['size-mib']) * 1024 * 1024;
  const workers = Number(values.workers);
  const chunk = Number(values['chunk-kib']) * 1024;
  const dir = values.dir ?? mkdtempSync(join(tmpdir(), 'ranged-mmap-demo-'));
  const path = join(dir, 'demo.bin');

  const started = performance.now();
  const { file } = MmapFile.create(path, size, { allocator: 'concurrent' });
  const shared = file.share();
  const counts = await Promise.all(
    Array.from(
      { length: workers },
      () =>
        new Promise((resolve, reject) => {
          const worker = new Worker(new URL(import.meta.url), { workerData: { shared, chunk } });
          worker.once('message', resolve);
          worker.once('error', reject);
        }),
    ),
  );
  const written = performance.now();
  file.syncAll();
  file.close();
  const synced = performance.now();

  // Verify every byte through node:fs, independent of the mapping.
  const fd = openSync(path, 'r');
  const buf = Buffer.allocUnsafe(chunk);
  let bad = 0;
  for (let offset = 0, index = 0; offset < size; offset += chunk, index++) {
    const n = readSync(fd, buf, 0, Math.min(chunk, size - offset), offset);
    const expected = chunkValue(index);
    for (let i = 0; i < n; i++) if (buf[i] !== expected) bad++;
  }
  closeSync(fd);
  if (values.dir === undefined) rmSync(dir, { recursive: true, force: true });
  else rmSync(path, { force: true });

  const mib = size / (1024 * 1024);
  const seconds = (synced - started) / 1000;
  console.log(`file        ${mib} MiB, ${workers} workers, ${chunk / 1024} KiB ranges`);
  console.log(`ranges      ${counts.join(' + ')} = ${counts.reduce((a, b) => a + b, 0)}`);
  console.log(`write       ${(written - started).toFixed(0)} ms (create + allocate + write)`);
  console.log(`syncAll     ${(synced - written).toFixed(0)} ms`);
  console.log(`total       ${(seconds * 1000).toFixed(0)} ms, ${(mib / seconds).toFixed(0)} MiB/s to disk`);
  console.log(`verified    ${bad === 0 ? 'every byte correct' : `${bad} wrong bytes`}`);
  process.exitCode = bad === 0 ? 0 : 1;
} else {
  const { shared, chunk } = workerData;
  const { file, allocator } = MmapFile.fromShared(shared);
  const data = Buffer.allocUnsafe(chunk);
  let count = 0;
  for (let range = allocator.allocate(chunk); range !== null; range = allocator.allocate(chunk)) {
    // The last range may be clamped at the end of the file.
    const bytes = data.subarray(0, range.length).fill(chunkValue(range.start / chunk));
    file.flushRange(file.writeRange(range, bytes));
    count++;
  }
  file.close();
  parentPort.postMessage(count);
}
