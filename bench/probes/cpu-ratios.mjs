// Probe: the uncontended per-call cost of the library against its bare
// peer, by this process's CPU time (not wall time), so that a machine
// busy with other work changes the figures much less than it changes the
// bench's wall-clock spans. One thread, no workers: the two sides of each
// pair run in turn, in chunks, many times; the ratio is the median over
// the chunks of peer CPU time / ours (> 1: ours was faster), with its
// min-max.
//   allocate   ConcurrentAllocator.allocate(4096) vs the bench's bare
//              counter (Atomics.add on a SharedArrayBuffer Int32 + a plain
//              { start, end } object)
//   u64/u32 add, load, store, cas
//              MemoryMappedFile.atomicU64(0) / atomicU32(8) vs the same
//              Atomics call on a SharedArrayBuffer
//   node bench/probes/cpu-ratios.mjs [filter]      (~1 minute)
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryMappedFile, MmapFile } from 'ranged-mmap';

const CHUNK = 300_000;
const ROUNDS = 41;
const WARM_ROUNDS = 4;
const cpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

const dir = tmpdir();
const allocPath = join(dir, `ranged-mmap-cpu-alloc-${process.pid}.bin`);
const atomicPath = join(dir, `ranged-mmap-cpu-atomic-${process.pid}.bin`);
const { file: allocFile, allocator } = MmapFile.create(allocPath, 2 ** 40, { allocator: 'concurrent', sparse: true });
const counter = new Int32Array(new SharedArrayBuffer(64));
const m = MemoryMappedFile.createRw(atomicPath, 4096);
const c64 = m.atomicU64(0);
const c32 = m.atomicU32(8);
const s64 = new BigUint64Array(new SharedArrayBuffer(16));
const s32 = new Uint32Array(new SharedArrayBuffer(16));

// Each side returns something derived from every call, so no call can be dropped.
const pairs = {
  allocate: [
    () => {
      let last = null;
      for (let i = 0; i < CHUNK; i++) last = allocator.allocate(4096) ?? last;
      return last.end;
    },
    () => {
      let last = null;
      for (let i = 0; i < CHUNK; i++) {
        const page = Atomics.add(counter, 0, 1);
        last = page < 2 ** 28 ? { start: page * 4096, end: page * 4096 + 4096 } : last;
      }
      return last.end;
    },
  ],
};
// Loops written out per side: one call site per kind of object.
pairs['u64 add'] = [
  () => {
    for (let i = 0; i < CHUNK; i++) c64.add(1n);
    return c64.load();
  },
  () => {
    for (let i = 0; i < CHUNK; i++) Atomics.add(s64, 0, 1n);
    return s64[0];
  },
];
pairs['u64 load'] = [
  () => {
    let n = 0;
    for (let i = 0; i < CHUNK; i++) if (c64.load() === 7n) n++;
    return n;
  },
  () => {
    let n = 0;
    for (let i = 0; i < CHUNK; i++) if (Atomics.load(s64, 0) === 7n) n++;
    return n;
  },
];
pairs['u64 store'] = [
  () => {
    for (let i = 0; i < CHUNK; i++) c64.store((i & 1) === 0 ? 1n : 2n);
    return c64.load();
  },
  () => {
    for (let i = 0; i < CHUNK; i++) Atomics.store(s64, 0, (i & 1) === 0 ? 1n : 2n);
    return s64[0];
  },
];
pairs['u64 cas'] = [
  () => {
    for (let i = 0; i < CHUNK; i++) c64.compareExchange(1n, 2n);
    return c64.load();
  },
  () => {
    for (let i = 0; i < CHUNK; i++) Atomics.compareExchange(s64, 0, 1n, 2n);
    return s64[0];
  },
];
pairs['u32 add'] = [
  () => {
    for (let i = 0; i < CHUNK; i++) c32.add(1);
    return c32.load();
  },
  () => {
    for (let i = 0; i < CHUNK; i++) Atomics.add(s32, 0, 1);
    return s32[0];
  },
];
pairs['u32 load'] = [
  () => {
    let n = 0;
    for (let i = 0; i < CHUNK; i++) if (c32.load() === 7) n++;
    return n;
  },
  () => {
    let n = 0;
    for (let i = 0; i < CHUNK; i++) if (Atomics.load(s32, 0) === 7) n++;
    return n;
  },
];
pairs['u32 store'] = [
  () => {
    for (let i = 0; i < CHUNK; i++) c32.store(i & 1);
    return c32.load();
  },
  () => {
    for (let i = 0; i < CHUNK; i++) Atomics.store(s32, 0, i & 1);
    return s32[0];
  },
];
pairs['u32 cas'] = [
  () => {
    for (let i = 0; i < CHUNK; i++) c32.compareExchange(1, 2);
    return c32.load();
  },
  () => {
    for (let i = 0; i < CHUNK; i++) Atomics.compareExchange(s32, 0, 1, 2);
    return s32[0];
  },
];

const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const filter = process.argv[2];
try {
  for (const [name, [ours, peer]] of Object.entries(pairs)) {
    if (filter && !name.includes(filter)) continue;
    const ratios = [];
    const times = [[], []];
    for (let round = 0; round < ROUNDS; round++) {
      let t = cpu();
      ours();
      const a = cpu() - t;
      t = cpu();
      peer();
      const b = cpu() - t;
      if (round < WARM_ROUNDS || a <= 0 || b <= 0) continue;
      ratios.push(b / a);
      times[0].push(a);
      times[1].push(b);
    }
    const ns = (ms) => ((ms * 1e6) / CHUNK).toFixed(1);
    console.log(
      `${name.padEnd(9)} ours ${ns(median(times[0]))} ns, peer ${ns(median(times[1]))} ns per call (CPU); peer/ours ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`,
    );
  }
} finally {
  allocFile.close();
  m.close();
  rmSync(allocPath, { force: true });
  rmSync(atomicPath, { force: true });
}
