// The worker-thread story: one file, shared with workers by postMessage;
// ranges allocated here and moved to a worker; a concurrent allocator the
// workers draw from themselves. Every thread writes straight into the same
// mapping: no copy of the data between threads, no lock.
//   node examples/workers.mjs
import { isMainThread, parentPort, workerData, Worker } from 'node:worker_threads';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALIGNMENT, MmapFile } from 'ranged-mmap';

if (isMainThread) {
  const dir = mkdtempSync(join(tmpdir(), 'ranged-mmap-example-'));
  const path = join(dir, 'shared.bin');
  const { file, allocator } = MmapFile.create(path, 4096 * ALIGNMENT, { allocator: 'concurrent' });

  // 1. A range allocated here, moved to a worker. After transfer() the
  //    range is dead in this thread: writing it here would throw
  //    ERR_MMAP_RANGE_CONSUMED, and only one thread can claim the transfer.
  const first = allocator.allocate(16 * ALIGNMENT);
  const mover = new Worker(new URL(import.meta.url), { workerData: { shared: file.share(), job: 'moved' } });
  mover.postMessage(first.transfer());
  console.log(`moved ${first}: still usable here? ${first.isLive}`);

  // 2. Two workers allocate the rest themselves from the shared counter.
  //    They wait for each other at a start line (a SharedArrayBuffer
  //    counter), so both are drawing ranges at the same time.
  const startLine = new Int32Array(new SharedArrayBuffer(4));
  const pool = [1, 2].map((id) => new Worker(new URL(import.meta.url), { workerData: { shared: file.share(), job: 'allocate', id, startLine } }));

  const reports = await Promise.all([mover, ...pool].map(async (w) => (await once(w, 'message'))[0]));
  for (const r of reports) console.log(r);
  file.syncAll();
  file.close(); // the mapping goes away only when every thread has closed it or exited

  const disk = readFileSync(path);
  const ok = disk.subarray(0, 16 * ALIGNMENT).every((b) => b === 0xff) && disk.every((b) => b !== 0);
  console.log(ok ? 'every byte written by exactly the thread that owned it' : 'MISMATCH');
  rmSync(dir, { recursive: true });
  process.exitCode = ok ? 0 : 1;
} else {
  const { file, allocator } = MmapFile.fromShared(workerData.shared);
  if (workerData.job === 'moved') {
    const [message] = await once(parentPort, 'message');
    const range = file.receiveRange(message); // claims the range; a second claim would throw ERR_MMAP_RANGE_CLAIMED
    file.flushRange(file.writeRange(range, Buffer.alloc(range.length, 0xff)));
    parentPort.postMessage(`worker (moved range) wrote ${range}`);
  } else {
    const { startLine, id } = workerData;
    Atomics.add(startLine, 0, 1);
    Atomics.notify(startLine, 0);
    while (Atomics.load(startLine, 0) < 2) Atomics.wait(startLine, 0, 1);
    const data = Buffer.alloc(ALIGNMENT, id);
    let n = 0;
    for (const range of allocator.ranges(ALIGNMENT)) {
      file.writeRange(range, data);
      n++;
    }
    parentPort.postMessage(`worker ${id} allocated and wrote ${n} ranges of 4 KiB`);
  }
  file.close();
}
