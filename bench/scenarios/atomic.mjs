// atomic (BENCH.md): operations on one mapped word against the same
// operations with Atomics on a SharedArrayBuffer (what a Node program uses
// for a shared counter today), uncontended (W = 1) and contended (W = 2,
// both workers on the one word). Variants `<op>-u64` and `<op>-u32` for
// op in add, load, store, cas:
//   ours  MemoryMappedFile.atomicU64(0) / atomicU32(0): add(1), load()
//         (compared with the value set before), store() (two values in
//         turn), compareExchange(v, v + 1) from the value last seen (an
//         increment that can fail under contention); every check (mode,
//         closed or moved, operand, fault state) on every call;
//   peer  the same loop with Atomics on a BigUint64Array / Uint32Array
//         over a SharedArrayBuffer.
// And `add-u64-slice` (W = 2): Atomics.add on atomicU64Slice(0, 1), the
// mapping itself, the floor the checked view can reach.
// Time = span from the first worker's start to the last one's end (the
// workers start together at a barrier). speedup = SAB time / mapped time.
// Verified after every repetition: the word holds exactly what the
// operations leave (add: W x count; load: unchanged, and every load saw
// the value set; store: one of the two values; cas: the successes the
// workers counted, and with W = 1 every attempt succeeded), read back from
// the file too for the mapped sides.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryMappedFile } from 'ranged-mmap';
import { alternate } from '../lib/alternate.mjs';
import { removeAndSync } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { comparison } from '../lib/stats.mjs';
import { warmSize } from '../lib/warm.mjs';
import { LOAD_VALUE, STORE_VALUES } from '../workers/atomic-worker.mjs';

const workerScript = new URL('../workers/atomic-worker.mjs', import.meta.url);
const OPS = ['add', 'load', 'store', 'cas'];
const PEER_OP = { add: 'add', load: 'load', store: 'store', cas: 'compareExchange' };

export async function atomic({ dir, quick, reps, log }) {
  const count = quick ? 1_000_000 : 5_000_000;
  const path = join(dir, 'atomic.bin');
  const results = [];
  for (const workers of [1, 2]) {
    await withPool(workerScript, workers, async (pool) => {
      const routes = [];
      for (const width of [64, 32]) for (const op of OPS) routes.push({ op, width, route: 'mapped' });
      if (workers === 2) routes.push({ op: 'add', width: 64, route: 'slice' });
      for (const { op, width, route } of routes) {
        results.push(await compare({ pool, workers, count, path, op, width, route, reps, log }));
      }
    });
  }
  return results;
}

/** The value the word starts with, and whether `got` is a right end value for these replies. */
function expectation(op, workers, count, replies) {
  const initial = op === 'load' ? LOAD_VALUE : 0;
  const check = (got) => {
    const n = Number(got);
    if (op === 'add') return n === workers * count;
    if (op === 'load') return n === LOAD_VALUE && replies.every((r) => r.bad === 0);
    if (op === 'store') return STORE_VALUES.includes(n);
    const ok = replies.reduce((a, r) => a + r.ok, 0);
    return n === ok && (workers > 1 || ok === count);
  };
  return { initial, check };
}

async function compare({ pool, workers, count, path, op, width, route, reps, log }) {
  const subject = route === 'slice' ? 'slice' : width === 64 ? 'atomicU64' : 'atomicU32';
  const peer = `Atomics.${PEER_OP[op]} SAB`;
  const span = (replies) => Math.max(...replies.map((r) => r.end)) - Math.min(...replies.map((r) => r.start));
  const job = (extra) => Array.from({ length: workers }, () => ({ op, width, count, workers, ...extra }));
  let file = null;
  let sab = null;
  let replies = [];
  const contenders = [
    {
      name: subject,
      async run() {
        file = MemoryMappedFile.createRw(path, 4096);
        const { initial } = expectation(op, workers, count, []);
        if (width === 64) file.atomicU64(0).store(BigInt(initial));
        else file.atomicU32(0).store(initial);
        replies = await pool.run(job({ route, shared: file.share(), gate: new SharedArrayBuffer(4) }));
        return span(replies);
      },
      verify() {
        const got = width === 64 ? file.atomicU64(0).load() : file.atomicU32(0).load();
        file.syncAll();
        const disk = readFileSync(path);
        const onDisk = width === 64 ? disk.readBigUInt64LE(0) : disk.readUInt32LE(0);
        if (!expectation(op, workers, count, replies).check(got) || BigInt(onDisk) !== BigInt(got)) {
          throw new Error(
            `word ${got} (file ${onDisk}) after ${op} x ${count} from ${workers} worker(s): wrong (replies ${JSON.stringify(replies.map(({ bad, ok }) => ({ bad, ok })))})`,
          );
        }
      },
      cleanup() {
        file.close();
        removeAndSync(path);
      },
    },
    {
      name: peer,
      async run() {
        sab = new SharedArrayBuffer(8);
        const { initial } = expectation(op, workers, count, []);
        if (width === 64) new BigUint64Array(sab)[0] = BigInt(initial);
        else new Uint32Array(sab)[0] = initial;
        replies = await pool.run(job({ route: 'sab', sab, gate: new SharedArrayBuffer(4) }));
        return span(replies);
      },
      verify() {
        const got = width === 64 ? new BigUint64Array(sab)[0] : new Uint32Array(sab)[0];
        if (!expectation(op, workers, count, replies).check(got)) {
          throw new Error(
            `word ${got} after ${op} x ${count} from ${workers} worker(s): wrong (replies ${JSON.stringify(replies.map(({ bad, ok }) => ({ bad, ok })))})`,
          );
        }
      },
    },
  ];
  const variant = route === 'slice' ? 'add-u64-slice' : `${op}-u${width}`;
  const label = `atomic ${variant} W=${workers}`;
  log(label);
  const { times, verified, order, reported } = await alternate(contenders, reps, log, { warmBytes: warmSize(4096), label });
  return comparison({ scenario: 'atomic', variant, workers, subject, peer, times, verified, order, reported, unit: 'ms' });
}
