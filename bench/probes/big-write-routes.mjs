// Probe for issue 11 goal 5 (evidence for choosing the big-write route):
// a 512 MiB file written in 12 MiB chunks by W = 2 and W = 12 workers
// (chunk i to worker i % W), by five routes forced from the outside:
//   pwrite    fs.writeSync on an fd of the same path (node:fs)
//   copy      Uint8Array.set into the mapping (readSlice(0, size)): a fault per page
//   populate  RawMmapFile.fill(chunk, 0) (MADV_POPULATE_WRITE + memset), then set:
//             populate + copy plus one extra memset (no bare populate is public)
//   auto      MmapFile.writeRange: the library's own choice (today: residentPages,
//             then pwrite when mostly cold, populate + copy when mostly warm)
//   mix       pwrite while no other worker is inside one, else copy into the
//             mapping (faults take no inode lock): the best split of the two
//             that a per-call choice can make
// in two file states:
//   cold      a new file each repetition, blocks reserved (RawMmapFile.create /
//             MmapFile.create, fallocate), create timed
//   warm      the same file, every page already in the page cache and clean
//             (written and synced before), only the writes timed
// The clock runs from create (cold) or from the first write (warm) until
// every worker is done and the file is closed; an fsync afterwards is
// timed separately ("then fsync"). Hygiene as in the suite: workers
// started and buffers filled before timing (refilled with a new value
// before every repetition, so a write that did nothing fails the check),
// a 512 MiB memory warm step before every timed run, a seeded shuffle of
// the route order in each round, one untimed warm-up round, and every
// byte checked after every repetition.
//   npm run build:ts && node bench/probes/big-write-routes.mjs [--reps=5] [--seed=N] [--dir=DIR] [--size-mib=512]
//   (ROUTES=pwrite,mix WORKERS=2 in the environment: only those routes and worker counts)
import { closeSync, fsyncSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MmapFile, RawMmapFile } from 'ranged-mmap';
import { benchDir, removeAndSync, syncDisk } from '../lib/files.mjs';
import { withPool } from '../lib/pool.mjs';
import { prng } from '../lib/random.mjs';
import { median } from '../lib/stats.mjs';
import { warmMemory, warmStats } from '../lib/warm.mjs';
import { pageReporting, counterDelta, reportedKiB } from '../lib/page-reporting.mjs';
import { rmSync } from 'node:fs';
import os from 'node:os';

const MiB = 1024 * 1024;
const { values } = parseArgs({
  options: { reps: { type: 'string', default: '5' }, seed: { type: 'string' }, dir: { type: 'string' }, 'size-mib': { type: 'string', default: '512' } },
});
const reps = Number(values.reps);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const size = Number(values['size-mib']) * MiB;
const chunkSize = 12 * MiB;
const chunks = Math.ceil(size / chunkSize);
const dir = benchDir(values.dir);
const path = join(dir, 'big-write.bin');
const workerScript = new URL('./big-write-worker.mjs', import.meta.url);
const routes = (process.env.ROUTES ?? 'pwrite,copy,populate,auto,mix').split(',');
const WORKER_SET = (process.env.WORKERS ?? '2,12').split(',').map(Number);

/** Every chunk holds (index + value) & 0xff in every byte. */
function verify(value) {
  if (statSync(path).size !== size) throw new Error(`size ${statSync(path).size}, expected ${size}`);
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(chunkSize);
    const expected = Buffer.allocUnsafe(chunkSize);
    for (let index = 0; index < chunks; index++) {
      const n = readSync(fd, buf, 0, Math.min(chunkSize, size - index * chunkSize), index * chunkSize);
      expected.fill((index + value) & 0xff);
      if (buf.compare(expected, 0, n, 0, n) !== 0) throw new Error(`chunk ${index} has wrong bytes (${buf[0]} ... ${buf[n - 1]}, expected ${expected[0]})`);
    }
  } finally {
    closeSync(fd);
  }
}

/** One timed write of the whole file by `route`; returns { ms, fsyncMs }. */
async function once(pool, workers, route, state) {
  const t0 = performance.now();
  let jobs;
  let close;
  if (route === 'auto') {
    const { file, allocator } = state === 'cold' ? MmapFile.create(path, size) : MmapFile.open(path);
    const transfers = Array.from({ length: workers }, () => []);
    for (let i = 0; i < chunks; i++) transfers[i % workers].push(allocator.allocate(Math.min(chunkSize, size - i * chunkSize)).transfer());
    const shared = file.share();
    jobs = transfers.map((t) => ({ kind: 'auto', shared, transfers: t }));
    close = () => file.close();
  } else if (route === 'pwrite') {
    if (state === 'cold') RawMmapFile.create(path, size).close();
    jobs = Array.from({ length: workers }, () => ({ kind: 'pwrite', path }));
    close = () => {};
  } else if (route === 'pwrite-mapped') {
    // pwrite while this process keeps the file mapped (as the library does).
    const file = state === 'cold' ? RawMmapFile.create(path, size) : RawMmapFile.open(path);
    jobs = Array.from({ length: workers }, () => ({ kind: 'pwrite', path }));
    close = () => file.close();
  } else if (route === 'mix') {
    const file = state === 'cold' ? RawMmapFile.create(path, size) : RawMmapFile.open(path);
    const shared = file.share();
    const busy = new SharedArrayBuffer(4);
    jobs = Array.from({ length: workers }, () => ({ kind: 'mix', shared, path, busy }));
    close = () => file.close();
  } else {
    const file = state === 'cold' ? RawMmapFile.create(path, size) : RawMmapFile.open(path);
    const shared = file.share();
    jobs = Array.from({ length: workers }, () => ({ kind: route, shared }));
    close = () => file.close();
  }
  const t1 = performance.now();
  await pool.run(jobs);
  close();
  const ms = performance.now() - (state === 'cold' ? t0 : t1);
  const t2 = performance.now();
  const fd = openSync(path, 'r+');
  fsyncSync(fd);
  closeSync(fd);
  return { ms, fsyncMs: performance.now() - t2 };
}

const started = performance.now();
const before = pageReporting();
const rows = [];
console.error(`big-write-routes: ${size / MiB} MiB in ${chunkSize / MiB} MiB chunks, reps ${reps}, order seed ${seed}, dir ${dir}`);
try {
  for (const workers of WORKER_SET) {
    await withPool(workerScript, workers, async (pool) => {
      const mine = (w) => Array.from({ length: chunks }, (_, i) => i).filter((i) => i % workers === w);
      let value = 0;
      const prepare = () => {
        value++;
        return pool.run(Array.from({ length: workers }, (_, w) => ({ kind: 'prepare', chunks: mine(w), chunkSize, size, value })));
      };
      for (const state of ['cold', 'warm']) {
        const next = prng(seed ^ (workers * 7919) ^ (state === 'warm' ? 0x5bd1e995 : 0));
        const ms = Object.fromEntries(routes.map((r) => [r, []]));
        const fsyncMs = Object.fromEntries(routes.map((r) => [r, []]));
        const reported = Object.fromEntries(routes.map((r) => [r, 0]));
        if (state === 'warm') {
          // One file for the whole state, every page written once and synced: cached and clean.
          await prepare();
          RawMmapFile.create(path, size).close();
          await pool.run(Array.from({ length: workers }, () => ({ kind: 'pwrite', path })));
          syncDisk();
        }
        for (let rep = -1; rep < reps; rep++) {
          const order = [...routes];
          for (let i = order.length - 1; i > 0; i--) {
            const j = Math.floor(next() * (i + 1));
            [order[i], order[j]] = [order[j], order[i]];
          }
          for (const route of order) {
            await prepare();
            if (rep >= 0) warmMemory(size);
            const kib = reportedKiB();
            const r = await once(pool, workers, route, state);
            const during = reportedKiB() - kib;
            try {
              verify(value);
            } catch (e) {
              throw new Error(`${route} W=${workers} ${state}: ${e.message}`);
            }
            if (state === 'cold') removeAndSync(path);
            else syncDisk();
            if (rep < 0) continue;
            ms[route].push(r.ms);
            fsyncMs[route].push(r.fsyncMs);
            reported[route] += during;
          }
          if (rep >= 0) console.error(`  W=${workers} ${state} rep ${rep + 1}: ` + order.map((r) => `${r} ${ms[r].at(-1).toFixed(0)}`).join(', '));
        }
        if (state === 'warm') removeAndSync(path);
        for (const route of routes) rows.push({ workers, state, route, ms: ms[route], fsyncMs: fsyncMs[route], reportedKiB: reported[route] });
      }
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const f = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const table = [['W', 'state', 'route', 'write ms median (min-max)', 'MiB/s', 'vs pwrite', 'slow>1.5x', 'then fsync ms', 'reported KiB']];
for (const r of rows) {
  const p = rows.find((x) => x.workers === r.workers && x.state === r.state && x.route === 'pwrite');
  const m = median(r.ms);
  const best = Math.min(...r.ms);
  table.push([
    String(r.workers),
    r.state,
    r.route,
    `${f(m)} (${f(best)}-${f(Math.max(...r.ms))})`,
    f(size / MiB / (m / 1000)),
    (median(p.ms) / m).toFixed(2),
    String(r.ms.filter((v) => v > 1.5 * best).length),
    f(median(r.fsyncMs)),
    String(r.reportedKiB),
  ]);
}
const widths = table[0].map((_, i) => Math.max(...table.map((row) => row[i].length)));
for (const [n, row] of table.entries()) {
  console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
  if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
console.log(
  `\n${os.cpus().length} CPUs, Linux ${os.release()}, Node ${process.version}; ${reps} reps, order seed ${seed}, ` +
    `${Math.round((performance.now() - started) / 1000)} s; load average at the end ${os
      .loadavg()
      .map((x) => x.toFixed(1))
      .join(' ')}; ` +
    `warm steps ${warmStats.steps} (short touch ${warmStats.shortTouch}, short release ${warmStats.shortRelease}); ` +
    `page reporting during the probe: ${JSON.stringify(counterDelta(before, pageReporting()))}`,
);
