// Probe (evidence for README "Performance"): 4 KiB writeRange with all its
// checks vs a bare Uint8Array.set into the same mapping, and writeAt.
//   node bench/probes/check-cost.mjs
import { MmapFile, RawMmapFile } from 'ranged-mmap';
import { rmSync } from 'node:fs';
const size = 64 << 20,
  PAGE = 4096;
const { file, allocator } = MmapFile.create('/tmp/ranged-mmap-probe-safe.bin', size);
const raw = RawMmapFile.fromShared(file.share());
const view = raw.readSlice(0, size);
const ranges = [];
for (let r = allocator.allocate(PAGE); r !== null; r = allocator.allocate(PAGE)) ranges.push(r);
const data = Buffer.alloc(PAGE, 1);
const T = { wr: [], set: [], writeAt: [] };
for (let rep = 0; rep < 20; rep++) {
  let t = performance.now();
  for (let k = 0; k < 16; k++) for (let i = 0; i < ranges.length; i++) file.writeRange(ranges[i], data);
  T.wr.push(performance.now() - t);
  t = performance.now();
  for (let k = 0; k < 16; k++) for (let i = 0; i < ranges.length; i++) view.set(data, i * PAGE);
  T.set.push(performance.now() - t);
  t = performance.now();
  for (let k = 0; k < 16; k++) for (let i = 0; i < ranges.length; i++) raw.writeAt(i * PAGE, data);
  T.writeAt.push(performance.now() - t);
}
const med = (a) => a.slice(2).sort((x, y) => x - y)[9];
console.log(
  `writeRange ${med(T.wr).toFixed(1)}  set ${med(T.set).toFixed(1)}  writeAt ${med(T.writeAt).toFixed(1)}  ratio ${(med(T.set) / med(T.wr)).toFixed(3)}`,
);
raw.close();
file.close();
rmSync('/tmp/ranged-mmap-probe-safe.bin');
