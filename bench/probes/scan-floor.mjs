// Probe (evidence for the `scan` target of issue 9): how fast can a scan
// through the mapping be, against fs.readSync, on this machine?
//
// Both sides run the same consumer (one 32-bit word XORed per 64-byte
// line, as in bench/scenarios/scan.mjs), over a warm 1 GiB file:
//   stream   the consumer straight over the mapping, through chunks(1 MiB):
//            every line comes from memory once (the zero-copy scan);
//   copy     fs.readSync of every MiB into one 1 MiB buffer, no consumer:
//            the kernel's copy out of the page cache alone;
//   consume  the consumer over a 1 MiB buffer that stays in cache, 1024
//            times: what the readSync side pays on top of its copy;
//   readSync copy + consume, as the scan scenario's peer does it.
// The readSync side cannot take less than copy + consume, and the stream
// side no less than one pass over memory, so the best ratio this machine
// allows is (copy + consume) / stream: printed as "bound". Medians of 9,
// alternating, after one untimed round.
//   node bench/probes/scan-floor.mjs [--mib=1024]
import { closeSync, openSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMappedFile } from 'ranged-mmap';

const MiB = 1024 * 1024;
const mib = Number(process.argv.find((a) => a.startsWith('--mib='))?.slice(6) ?? 1024);
const size = mib * MiB;
const path = join(tmpdir(), 'ranged-mmap-scan-floor.bin');
{
  const fd = openSync(path, 'w');
  const chunk = Buffer.alloc(16 * MiB, 0x5a);
  for (let o = 0; o < size; o += chunk.length) writeSync(fd, chunk, 0, chunk.length, o);
  closeSync(fd);
}
const xorLines = (words) => {
  let x = 0;
  for (let i = 0; i < words.length; i += 16) x ^= words[i];
  return x;
};
const file = MemoryMappedFile.openRo(path);
const fd = openSync(path, 'r');
const buf = Buffer.alloc(MiB);
const bufWords = new Int32Array(buf.buffer, buf.byteOffset, MiB / 4);
let sink = 0;
const runs = {
  stream() {
    let x = 0;
    for (const c of file.chunks(MiB)) x ^= xorLines(new Int32Array(c.buffer, c.byteOffset, c.length >> 2));
    sink ^= x;
  },
  copy() {
    for (let o = 0; o < size; o += MiB) readSync(fd, buf, 0, MiB, o);
  },
  consume() {
    let x = 0;
    for (let o = 0; o < size; o += MiB) x ^= xorLines(bufWords);
    sink ^= x;
  },
  readSync() {
    let x = 0;
    for (let o = 0; o < size; o += MiB) {
      readSync(fd, buf, 0, MiB, o);
      x ^= xorLines(bufWords);
    }
    sink ^= x;
  },
};
const times = Object.fromEntries(Object.keys(runs).map((k) => [k, []]));
for (let round = -1; round < 9; round++) {
  for (const [name, run] of Object.entries(runs)) {
    const t = performance.now();
    run();
    if (round >= 0) times[name].push(performance.now() - t);
  }
}
const median = (a) => a.sort((x, y) => x - y)[a.length >> 1];
const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
for (const [k, v] of Object.entries(m)) console.log(`${k.padEnd(9)} ${v.toFixed(1)} ms  (${(((size / v) * 1e3) / 2 ** 30).toFixed(1)} GiB/s)`);
console.log(`measured readSync / stream: ${(m.readSync / m.stream).toFixed(2)}`);
console.log(`bound (copy + consume) / stream: ${((m.copy + m.consume) / m.stream).toFixed(2)}`);
// Whether the mapping is mapped with 2 MiB entries (fewer TLB misses).
const smaps = readFileSync('/proc/self/smaps', 'utf8')
  .split(/\n(?=[0-9a-f]+-)/)
  .find((b) => b.includes('ranged-mmap-scan-floor'));
console.log(`mapped with 2 MiB entries: ${/FilePmdMapped:\s+(\d+)/.exec(smaps ?? '')?.[1] ?? '?'} KiB of ${size / 1024}`);
file.close();
closeSync(fd);
rmSync(path, { force: true });
if (sink === 0.5) console.log(sink);
