// Probe: the ring scenario's `4k-latency` variant alone, SharedRing hop
// against the plain SharedArrayBuffer ring hop, alternated many times
// (the two workers of bench/workers/ring-worker.mjs, ping-pong of one
// 4 KiB message). For each repetition, both sides' wall time per hop and
// the process's CPU time per hop (both workers; the idle main thread adds
// next to nothing), which a loaded machine disturbs much less than wall
// time. Ratios are SAB / SharedRing (> 1: SharedRing faster), as the bench
// reports them: median (min-max) of the per-pair ratios.
//   node bench/probes/ring-hop.mjs [reps=15] [rounds=4000] [only=pp-shared|pp-sab]
// With `only`, runs that side alone (for strace -f / perf on one kind).
import { Worker } from 'node:worker_threads';
import { SharedRing } from 'ranged-mmap';
import { reportsOf } from '../scenarios/ring.mjs';

const MESSAGE_RING = 1 << 20;
const [reps = 15, rounds = 4000] = process.argv.slice(2, 4).map(Number);
const only = process.argv[4];
const workerUrl = new URL('../workers/ring-worker.mjs', import.meta.url);

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

async function hop(kind) {
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  const rings = [];
  let extra;
  if (kind === 'pp-shared') {
    rings.push(new SharedRing(MESSAGE_RING), new SharedRing(MESSAGE_RING));
    extra = { a: rings[0].share(), b: rings[1].share() };
  } else {
    extra = { a: new SharedArrayBuffer(64 + MESSAGE_RING), b: new SharedArrayBuffer(64 + MESSAGE_RING), capacity: MESSAGE_RING };
  }
  const workers = ['pinger', 'ponger'].map((role) => new Worker(workerUrl, { workerData: { kind, messages: rounds, control, role, ...extra } }));
  const reports = reportsOf(workers);
  while (Atomics.load(ctl, 1) < 2) await new Promise((r) => setTimeout(r, 1));
  const cpu0 = cpuMs();
  const start = performance.timeOrigin + performance.now();
  Atomics.store(ctl, 0, 1);
  Atomics.notify(ctl, 0);
  const [pinger] = await Promise.all(reports);
  const cpu = cpuMs() - cpu0;
  for (const r of rings) r.close();
  if (pinger.bad !== 0) throw new Error(`${pinger.bad} echoes wrong`);
  const hops = 2 * rounds;
  return { wall: ((pinger.end - start) * 1000) / hops, cpu: (cpu * 1000) / hops };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (xs) => `${median(xs).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;

const kinds = only ? [only] : ['pp-shared', 'pp-sab'];
for (const k of kinds) await hop(k); // warm-up
const got = { 'pp-shared': [], 'pp-sab': [] };
for (let i = 0; i < reps; i++) {
  const order = i % 2 === 0 ? kinds : [...kinds].reverse();
  for (const k of order) got[k].push(await hop(k));
}
for (const k of kinds) {
  console.log(`${k.padEnd(10)} wall us/hop ${fmt(got[k].map((r) => r.wall))}   cpu us/hop ${fmt(got[k].map((r) => r.cpu))}`);
}
if (!only) {
  const ratio = (f) => got['pp-sab'].map((s, i) => f(s) / f(got['pp-shared'][i]));
  console.log(`ratio SAB/SharedRing  wall ${fmt(ratio((r) => r.wall))}   cpu ${fmt(ratio((r) => r.cpu))}`);
}
