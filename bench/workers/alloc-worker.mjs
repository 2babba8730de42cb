// Allocator of the alloc scenario: `count` allocations of 4 KiB, either
// from the shared concurrent allocator ('allocate') or from the bare
// counter peer ('bare': Atomics.add of one page on an Int32 in a
// SharedArrayBuffer, an end-of-file test, a plain { start, end } object).
// Both loops keep the last range and report its length, so neither
// side's objects can be optimized away. The workers of a repetition meet
// at a gate first (Atomics.wait, so a worker that arrives early does not
// take the CPU from one still on its way), then start together. Start and
// end are reported on the common clock (timeOrigin + now) so the main
// thread can take the span over all workers.
import { parentPort } from 'node:worker_threads';
import { MmapFile } from 'ranged-mmap';

/** Waits until all `workers` workers of the repetition arrived. */
function meet(gateBuffer, workers) {
  const gate = new Int32Array(gateBuffer);
  if (Atomics.add(gate, 0, 1) + 1 === workers) Atomics.notify(gate, 0);
  for (let seen = Atomics.load(gate, 0); seen < workers; seen = Atomics.load(gate, 0)) Atomics.wait(gate, 0, seen);
}

function bare(sab, count, totalPages, gate, workers) {
  const counter = new Int32Array(sab);
  meet(gate, workers);
  let got = 0;
  let last = null;
  const start = performance.timeOrigin + performance.now();
  for (let i = 0; i < count; i++) {
    const page = Atomics.add(counter, 0, 1);
    const r = page < totalPages ? { start: page * 4096, end: page * 4096 + 4096 } : null;
    if (r !== null) {
      got++;
      last = r;
    }
  }
  const end = performance.timeOrigin + performance.now();
  return { start, end, got, lastLength: last === null ? 0 : last.end - last.start };
}

function allocate(shared, count, gate, workers) {
  const { file, allocator } = MmapFile.fromShared(shared);
  meet(gate, workers);
  let got = 0;
  let last = null;
  const start = performance.timeOrigin + performance.now();
  for (let i = 0; i < count; i++) {
    const r = allocator.allocate(4096);
    if (r !== null) {
      got++;
      last = r;
    }
  }
  const end = performance.timeOrigin + performance.now();
  file.close();
  return { start, end, got, lastLength: last === null ? 0 : last.end - last.start };
}

parentPort.on('message', (job) => {
  if (job.kind === 'ping') return parentPort.postMessage('ready');
  try {
    parentPort.postMessage(
      job.kind === 'bare' ? bare(job.sab, job.count, job.totalPages, job.gate, job.workers) : allocate(job.shared, job.count, job.gate, job.workers),
    );
  } catch (error) {
    parentPort.postMessage({ error: `${error.code ?? ''} ${error.stack}` });
  }
});
