// Probe (evidence for the random-4k-batch figures): the copies alone, no
// consumer pass: readAtMany in batches of 256, 64 and 16 against the readAt
// loop over the same random 4 KiB records of a warm 512 MiB file. When the
// batch is no faster here, the per-call work it saves is small next to the
// copy of a random 4 KiB record (a TLB walk and cache misses per record).
//   node bench/probes/read-batch-floor.mjs
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { RawMmapFile } from 'ranged-mmap';

const PAGE = 4096;
const size = 512 << 20;
const path = '/tmp/ranged-mmap-probe-read-batch.bin';
const fd = openSync(path, 'w');
const chunk = Buffer.alloc(16 << 20, 5);
for (let o = 0; o < size; o += chunk.length) writeSync(fd, chunk, 0, chunk.length, o);
closeSync(fd);
const file = RawMmapFile.open(path);
const count = 100_000;
const offsets = new Float64Array(count);
for (let i = 0; i < count; i++) offsets[i] = Math.floor(Math.random() * (size / PAGE)) * PAGE;
const buf = Buffer.alloc(PAGE);
const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const loop = () => {
  const t = performance.now();
  for (let i = 0; i < count; i++) file.readAt(offsets[i], buf);
  return performance.now() - t;
};
for (const batch of [256, 64, 16]) {
  const target = Buffer.alloc(batch * PAGE);
  const batches = [];
  for (let i = 0; i < count; i += batch) batches.push(offsets.subarray(i, i + batch));
  const many = () => {
    const t = performance.now();
    for (const b of batches) file.readAtMany(b, PAGE, target);
    return performance.now() - t;
  };
  loop();
  many();
  const ratios = [];
  const ns = { loop: [], many: [] };
  for (let i = 0; i < 11; i++) {
    const l = loop();
    const m = many();
    ratios.push(l / m);
    ns.loop.push((l * 1e6) / count);
    ns.many.push((m * 1e6) / count);
  }
  console.log(
    `batches of ${String(batch).padStart(3)}: readAt loop ${median(ns.loop).toFixed(0)} ns/record, readAtMany ${median(ns.many).toFixed(0)} ns/record; loop/batch ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
  );
}
file.close();
rmSync(path, { force: true });
