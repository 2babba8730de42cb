// Allocator of the alloc scenario: `count` allocations of 4 KiB from the
// shared concurrent allocator, timed inside the worker.
import { parentPort } from 'node:worker_threads';
import { MmapFile } from 'ranged-mmap';

parentPort.on('message', (job) => {
  if (job.kind === 'ping') return parentPort.postMessage('ready');
  const { file, allocator } = MmapFile.fromShared(job.shared);
  let got = 0;
  const t0 = performance.now();
  for (let i = 0; i < job.count; i++) if (allocator.allocate(4096) !== null) got++;
  const ms = performance.now() - t0;
  file.close();
  parentPort.postMessage({ ms, got });
});
