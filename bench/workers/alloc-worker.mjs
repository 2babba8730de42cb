// Allocator of the alloc scenario: `count` allocations of 4 KiB from the
// shared concurrent allocator. Start and end are reported on the common
// clock (timeOrigin + now) so the main thread can take the span over all
// workers.
import { parentPort } from 'node:worker_threads';
import { MmapFile } from 'ranged-mmap';

parentPort.on('message', (job) => {
  if (job.kind === 'ping') return parentPort.postMessage('ready');
  try {
    const { file, allocator } = MmapFile.fromShared(job.shared);
    let got = 0;
    const start = performance.timeOrigin + performance.now();
    for (let i = 0; i < job.count; i++) if (allocator.allocate(4096) !== null) got++;
    const end = performance.timeOrigin + performance.now();
    file.close();
    parentPort.postMessage({ start, end, got });
  } catch (error) {
    parentPort.postMessage({ error: `${error.code ?? ''} ${error.stack}` });
  }
});
