// Probe: ConcurrentAllocator.allocate(4096) rate in one thread, for a file up
// to 4 TiB (Int32 page counter) and one past 4 TiB (BigInt byte counter).
//   node bench/probes/alloc-rate.mjs
import { rmSync } from 'node:fs';
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
