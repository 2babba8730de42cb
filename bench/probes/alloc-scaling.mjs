// Probe: does a second thread add allocations per second, and what limits
// it? Four loops, each from 1 and from 2 workers at once (one pool of 2
// workers; the 8 cases run in a rotating order, repeated), reported as
// total operations per second over the span from the first worker's start
// to the last one's end, and as W=2 total / W=1 total (median over the
// repetitions, each ratio from one repetition: the two runs a few hundred
// milliseconds apart):
//   allocate  ConcurrentAllocator.allocate(4096) on one shared file
//   bare      the bench's bare counter: Atomics.add on ONE Int32 counter in
//             a SharedArrayBuffer shared by the workers + a { start, end }
//   private   the same loop, each worker on a counter of its own (its own
//             SharedArrayBuffer): nothing shared, so W=2/W=1 is what the
//             machine gives a second thread running this kind of loop
//             (allocation and young-generation GC included)
//   spin      integer arithmetic only: no memory traffic, no allocation
//             (what the machine gives a second thread at all)
// With 2 cores free, `private` and `spin` are near 2.0; a busy machine
// (other processes on the cores) shows up as both well below 2.0. If
// `allocate` scales like `private`, the allocator itself adds no
// contention; if it stays near `bare`, it does.
// Also per case: the workers' own CPU time per operation (Linux
// /proc/thread-self/schedstat, ns on a CPU), W=2 against W=1. That one is
// nearly blind to other load: 1.0 means a second thread costs nothing per
// operation (no contention), so with a second core free the total rate
// would double; > 1.0 is the cost of sharing (cache lines moving, GC).
//   node bench/probes/alloc-scaling.mjs [reps=7] [count=2000000]
import { rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { MmapFile } from 'ranged-mmap';

const REPS = Number(process.argv[2] ?? 7);
const COUNT = Number(process.argv[3] ?? 2_000_000);
const path = join(tmpdir(), `ranged-mmap-alloc-scaling-${process.pid}.bin`);
const FILE_SIZE = 64 * 2 ** 30;

const workerSource = `
const { parentPort } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
// This thread's time on a CPU so far, in ns (Linux: the first field of schedstat).
const cpuNs = () => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);
const { MmapFile } = require(${JSON.stringify(new URL('../../dist/cjs/index.js', import.meta.url).pathname)});
const now = () => performance.timeOrigin + performance.now();
function meet(gate, workers) {
  if (Atomics.add(gate, 0, 1) + 1 === workers) Atomics.notify(gate, 0);
  for (let seen = Atomics.load(gate, 0); seen < workers; seen = Atomics.load(gate, 0)) Atomics.wait(gate, 0, seen);
}
function counterLoop(counter, n) {
  let last = null;
  for (let i = 0; i < n; i++) {
    const page = Atomics.add(counter, 0, 1);
    last = page < 2 ** 28 ? { start: page * 4096, end: page * 4096 + 4096 } : last;
  }
  return last.end - last.start;
}
function allocateLoop(allocator, n) {
  let last = null;
  for (let i = 0; i < n; i++) last = allocator.allocate(4096) ?? last;
  return last.end - last.start;
}
function spinLoop(n) {
  let x = 1;
  for (let i = 0; i < n * 8; i++) x = (x * 1103515245 + 12345) | 0;
  return x === 0.5 ? -1 : 4096;
}
parentPort.on('message', (job) => {
  const gate = new Int32Array(job.gate);
  let run;
  let file = null;
  if (job.kind === 'allocate') {
    const opened = MmapFile.fromShared(job.shared);
    file = opened.file;
    run = () => allocateLoop(opened.allocator, job.count);
  } else if (job.kind === 'spin') run = () => spinLoop(job.count);
  else {
    const counter = new Int32Array(job.sab);
    run = () => counterLoop(counter, job.count);
  }
  meet(gate, job.workers);
  const start = now();
  const cpu0 = cpuNs();
  const length = run();
  const cpu = cpuNs() - cpu0;
  const end = now();
  if (file !== null) file.close();
  parentPort.postMessage({ start, end, length, cpu });
});
`;

const pool = Array.from({ length: 2 }, () => new Worker(workerSource, { eval: true }));
const ask = (w, job) => new Promise((resolve) => w.once('message', resolve).postMessage(job));

async function once(kind, workers) {
  const gate = new SharedArrayBuffer(4);
  const shared = new SharedArrayBuffer(64);
  let file = null;
  let handle = null;
  if (kind === 'allocate') {
    ({ file } = MmapFile.create(path, FILE_SIZE, { allocator: 'concurrent', sparse: true }));
    handle = file.share();
  }
  const jobs = pool
    .slice(0, workers)
    .map((w) => ask(w, { kind, workers, gate, count: COUNT, shared: handle, sab: kind === 'private' ? new SharedArrayBuffer(64) : shared }));
  const replies = await Promise.all(jobs);
  if (file !== null) {
    file.close();
    rmSync(path, { force: true });
  }
  if (replies.some((r) => r.length !== 4096)) throw new Error(`${kind}: a worker's last range was not 4096 bytes`);
  const span = Math.max(...replies.map((r) => r.end)) - Math.min(...replies.map((r) => r.start));
  const cpu = replies.reduce((a, r) => a + r.cpu, 0);
  return { rate: (COUNT * workers) / (span / 1000), cpuPerOp: cpu / (COUNT * workers) };
}

const kinds = ['allocate', 'bare', 'private', 'spin'];
const cases = kinds.flatMap((k) => [
  [k, 1],
  [k, 2],
]);
const rates = Object.fromEntries(cases.map(([k, w]) => [`${k} W=${w}`, []]));
const cpus = Object.fromEntries(cases.map(([k, w]) => [`${k} W=${w}`, []]));
const load0 = loadavg()[0];
try {
  for (const [k, w] of cases) await once(k, w); // warm-up, not counted
  for (let rep = 0; rep < REPS; rep++) {
    const order = cases.map((_, i) => cases[(i + rep) % cases.length]);
    for (const [k, w] of order) {
      const { rate, cpuPerOp } = await once(k, w);
      rates[`${k} W=${w}`].push(rate);
      cpus[`${k} W=${w}`].push(cpuPerOp);
    }
  }
} finally {
  await Promise.all(pool.map((w) => w.terminate()));
  rmSync(path, { force: true });
}
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
console.log(`load average ${load0.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end; ${REPS} repetitions of ${COUNT} per worker`);
for (const k of kinds) {
  const one = rates[`${k} W=1`];
  const two = rates[`${k} W=2`];
  const ratios = one.map((r, i) => two[i] / r);
  const c1 = cpus[`${k} W=1`];
  const c2 = cpus[`${k} W=2`];
  const cpuRatios = c1.map((c, i) => c2[i] / c);
  console.log(
    `${k.padEnd(8)} W=1 ${(median(one) / 1e6).toFixed(1)} M/s, W=2 ${(median(two) / 1e6).toFixed(1)} M/s in total; W=2/W=1 ${median(ratios).toFixed(2)} (${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}); ` +
      `CPU per op ${median(c1).toFixed(1)} / ${median(c2).toFixed(1)} ns, W=2/W=1 ${median(cpuRatios).toFixed(2)} (${Math.min(...cpuRatios).toFixed(2)}-${Math.max(...cpuRatios).toFixed(2)})`,
  );
}
