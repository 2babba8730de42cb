// Adder of the atomic scenario: `count` 64-bit adds of 1 on one shared
// word, through the route the job names:
//   'atomicU64'   MemoryMappedFile.atomicU64(0).add(1n) on a mapped file
//   'slice'       Atomics.add on the mapped BigUint64Array (atomicU64Slice)
//   'sab'         Atomics.add on a BigUint64Array over a SharedArrayBuffer
// Both workers of a repetition meet at a spin barrier first, so they add
// at the same time (the contention is the point). Start and end are on
// the common clock so the main thread can take the span over both.
import { parentPort } from 'node:worker_threads';
import { MemoryMappedFile } from 'ranged-mmap';

parentPort.on('message', (job) => {
  if (job.kind === 'ping') return parentPort.postMessage('ready');
  try {
    const gate = new Int32Array(job.gate);
    let file = null;
    let add;
    if (job.kind === 'sab') {
      const words = new BigUint64Array(job.sab);
      add = () => {
        for (let i = 0; i < job.count; i++) Atomics.add(words, 0, 1n);
      };
    } else {
      file = MemoryMappedFile.fromShared(job.shared);
      if (job.kind === 'slice') {
        const words = file.atomicU64Slice(0, 1);
        add = () => {
          for (let i = 0; i < job.count; i++) Atomics.add(words, 0, 1n);
        };
      } else {
        const counter = file.atomicU64(0);
        add = () => {
          for (let i = 0; i < job.count; i++) counter.add(1n);
        };
      }
    }
    Atomics.add(gate, 0, 1);
    while (Atomics.load(gate, 0) < job.workers) {
      // spin: the other worker is about to arrive
    }
    const start = performance.timeOrigin + performance.now();
    add();
    const end = performance.timeOrigin + performance.now();
    if (file !== null) file.close();
    parentPort.postMessage({ start, end });
  } catch (error) {
    parentPort.postMessage({ error: `${error.code ?? ''} ${error.stack}` });
  }
});
