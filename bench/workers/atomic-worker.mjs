// Worker of the atomic scenario: `count` operations on one shared word,
// through the route the job names:
//   'mapped'  MemoryMappedFile.atomicU64(0) / atomicU32(0) on a mapped file
//   'slice'   Atomics on the mapped BigUint64Array (atomicU64Slice)
//   'sab'     Atomics on a BigUint64Array / Uint32Array over a SharedArrayBuffer
// and the operation the job names:
//   add    add(1), count times;
//   load   load(), count times, each compared with the value the main
//          thread set (LOAD_VALUE), so the result is used; mismatches are
//          reported;
//   store  store(), count times, alternating the two STORE_VALUES;
//   cas    compareExchange(v, v + 1) from the value last seen, count times
//          (an increment that can fail under contention); the successes
//          are reported, so the main thread can check the word.
// The workers of a repetition meet at a spin barrier first, so they work
// at the same time (the contention is the point at W = 2). Start and end
// are on the common clock so the main thread can take the span over all.
// Every loop is its own function, so each call site sees one kind of
// object (what a program with one counter would have).
import { parentPort } from 'node:worker_threads';
import { MemoryMappedFile } from 'ranged-mmap';

export const LOAD_VALUE = 0x5a5a_5a5a;
export const STORE_VALUES = [0x1234_5678, 0x0abc_def0];

const L64 = BigInt(LOAD_VALUE);
const [S0, S1] = STORE_VALUES;
const [B0, B1] = STORE_VALUES.map(BigInt);

// [op][route + width] -> (word, count) -> { bad?, ok? }
const loops = {
  add: {
    mapped64: (x, n) => {
      for (let i = 0; i < n; i++) x.add(1n);
      return {};
    },
    raw64: (a, n) => {
      for (let i = 0; i < n; i++) Atomics.add(a, 0, 1n);
      return {};
    },
    mapped32: (x, n) => {
      for (let i = 0; i < n; i++) x.add(1);
      return {};
    },
    raw32: (a, n) => {
      for (let i = 0; i < n; i++) Atomics.add(a, 0, 1);
      return {};
    },
  },
  load: {
    mapped64: (x, n) => {
      let bad = 0;
      for (let i = 0; i < n; i++) if (x.load() !== L64) bad++;
      return { bad };
    },
    raw64: (a, n) => {
      let bad = 0;
      for (let i = 0; i < n; i++) if (Atomics.load(a, 0) !== L64) bad++;
      return { bad };
    },
    mapped32: (x, n) => {
      let bad = 0;
      for (let i = 0; i < n; i++) if (x.load() !== LOAD_VALUE) bad++;
      return { bad };
    },
    raw32: (a, n) => {
      let bad = 0;
      for (let i = 0; i < n; i++) if (Atomics.load(a, 0) !== LOAD_VALUE) bad++;
      return { bad };
    },
  },
  store: {
    mapped64: (x, n) => {
      for (let i = 0; i < n; i++) x.store((i & 1) === 0 ? B0 : B1);
      return {};
    },
    raw64: (a, n) => {
      for (let i = 0; i < n; i++) Atomics.store(a, 0, (i & 1) === 0 ? B0 : B1);
      return {};
    },
    mapped32: (x, n) => {
      for (let i = 0; i < n; i++) x.store((i & 1) === 0 ? S0 : S1);
      return {};
    },
    raw32: (a, n) => {
      for (let i = 0; i < n; i++) Atomics.store(a, 0, (i & 1) === 0 ? S0 : S1);
      return {};
    },
  },
  cas: {
    mapped64: (x, n) => {
      let ok = 0;
      let v = x.load();
      for (let i = 0; i < n; i++) {
        const found = x.compareExchange(v, v + 1n);
        if (found === v) {
          ok++;
          v++;
        } else v = found;
      }
      return { ok };
    },
    raw64: (a, n) => {
      let ok = 0;
      let v = Atomics.load(a, 0);
      for (let i = 0; i < n; i++) {
        const found = Atomics.compareExchange(a, 0, v, v + 1n);
        if (found === v) {
          ok++;
          v++;
        } else v = found;
      }
      return { ok };
    },
    mapped32: (x, n) => {
      let ok = 0;
      let v = x.load();
      for (let i = 0; i < n; i++) {
        const found = x.compareExchange(v, v + 1);
        if (found === v) {
          ok++;
          v++;
        } else v = found;
      }
      return { ok };
    },
    raw32: (a, n) => {
      let ok = 0;
      let v = Atomics.load(a, 0);
      for (let i = 0; i < n; i++) {
        const found = Atomics.compareExchange(a, 0, v, v + 1);
        if (found === v) {
          ok++;
          v++;
        } else v = found;
      }
      return { ok };
    },
  },
};

parentPort?.on('message', (job) => {
  if (job.kind === 'ping') return parentPort.postMessage('ready');
  try {
    const gate = new Int32Array(job.gate);
    let file = null;
    let word;
    if (job.route === 'sab') {
      word = job.width === 64 ? new BigUint64Array(job.sab) : new Uint32Array(job.sab);
    } else {
      file = MemoryMappedFile.fromShared(job.shared);
      if (job.route === 'slice') word = file.atomicU64Slice(0, 1);
      else word = job.width === 64 ? file.atomicU64(0) : file.atomicU32(0);
    }
    const loop = loops[job.op][`${job.route === 'mapped' ? 'mapped' : 'raw'}${job.width}`];
    Atomics.add(gate, 0, 1);
    while (Atomics.load(gate, 0) < job.workers) {
      // spin: the other worker is about to arrive
    }
    const start = performance.timeOrigin + performance.now();
    const result = loop(word, job.count);
    const end = performance.timeOrigin + performance.now();
    if (file !== null) file.close();
    parentPort.postMessage({ start, end, ...result });
  } catch (error) {
    parentPort.postMessage({ error: `${error.code ?? ''} ${error.stack}` });
  }
});
