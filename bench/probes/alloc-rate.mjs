// Probe: ConcurrentAllocator.allocate(4096) rate in one thread, for a file up
// to 4 TiB (Int32 page counter) and one past 4 TiB (BigInt byte counter);
// then the ceiling of any allocator built on one shared counter: a bare
// Atomics.add loop from 1 and from 2 threads at once.
//   node bench/probes/alloc-rate.mjs
import { rmSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { MmapFile } from 'ranged-mmap';

const path = '/tmp/ranged-mmap-alloc-probe.bin';
for (const [label, size] of [
  ['64 GiB file (page counter)', 64 * 2 ** 30],
  ['8 TiB file (BigInt counter)', 8 * 2 ** 40],
]) {
  const rates = [];
  for (let rep = 0; rep < 7; rep++) {
    const { file, allocator } = MmapFile.create(path, size, { allocator: 'concurrent', sparse: true });
    const n = 1 << 20;
    let last = null;
    const t = performance.now();
    for (let i = 0; i < n; i++) last = allocator.allocate(4096);
    const ms = performance.now() - t;
    if (last === null || last.end !== n * 4096) throw new Error('wrong ranges');
    rates.push(n / ms / 1000);
    file.close();
  }
  rates.sort((a, b) => a - b);
  console.log(`${label}: median ${rates[3].toFixed(1)} M allocs/s (min ${rates[0].toFixed(1)}, max ${rates[6].toFixed(1)})`);
}
rmSync(path, { force: true });

// The ceiling of one shared counter: a bare Atomics.add loop on one word of
// a SharedArrayBuffer, from 1 and from 2 worker threads at once (the reason
// ConcurrentAllocator batches when threads allocate together).
const ADDS = 4_000_000;
const adder = `
  const { parentPort, workerData } = require('node:worker_threads');
  const word = new Int32Array(workerData.counter);
  const start = new Int32Array(workerData.start);
  Atomics.add(start, 0, 1);
  while (Atomics.load(start, 0) < workerData.n) {}
  const t = performance.now();
  for (let i = 0; i < ${ADDS}; i++) Atomics.add(word, 0, 1);
  parentPort.postMessage(performance.now() - t);`;
for (const n of [1, 2]) {
  const rates = [];
  for (let rep = 0; rep < 5; rep++) {
    const workerData = { counter: new SharedArrayBuffer(64), start: new SharedArrayBuffer(4), n };
    const times = await Promise.all(
      Array.from({ length: n }, () => {
        const w = new Worker(adder, { eval: true, workerData });
        return new Promise((resolve) => w.once('message', (ms) => w.terminate().then(() => resolve(ms))));
      }),
    );
    rates.push((ADDS * n) / Math.max(...times) / 1000);
  }
  rates.sort((a, b) => a - b);
  console.log(
    `bare Atomics.add on one shared word, ${n} thread(s) at once: median ${rates[2].toFixed(1)} M adds/s in total (min ${rates[0].toFixed(1)}, max ${rates[4].toFixed(1)})`,
  );
}
