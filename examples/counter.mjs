// Several processes share one mapped counter and one allocator, and the
// first process sleeps until the others are done with wait/notify (no
// polling, no pipes: the processes meet in the mapped file).
//   node examples/counter.mjs
import { fork } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryMappedFile, SharedAllocator } from 'ranged-mmap';

const PROCESSES = 3;
const ADDS = 10_000;
// Layout of the small control file every process maps read-write:
const COUNTER = 0; // u64: the shared counter
const DONE = 8; // u32: how many processes have finished (waited on by the first one)

if (process.argv[2] === 'child') {
  const [, , , controlPath, dataPath, id] = process.argv;
  const control = MemoryMappedFile.openRw(controlPath);
  const data = MemoryMappedFile.openRw(dataPath);
  const counter = control.atomicU64(COUNTER);
  for (let i = 0; i < ADDS; i++) counter.add(1n); // one atomic instruction each, exact across processes
  const allocator = SharedAllocator.open(data); // its counter lives in `${dataPath}.alloc`
  let ranges = 0;
  for (let r = allocator.allocate(4096 * (1 + Number(id))); r !== null; r = allocator.allocate(4096 * (1 + Number(id)))) {
    data.updateRegion(r.start, new Uint8Array(r.length).fill(Number(id) + 1)); // disjoint: no one else writes it
    ranges++;
  }
  allocator.close();
  data.close();
  control.atomicU32(DONE).add(1);
  control.notify(DONE); // wakes the first process, whichever process it is in
  control.close();
  process.send?.({ id: Number(id), ranges });
  process.exit(0);
}

const dir = mkdtempSync(join(tmpdir(), 'ranged-mmap-example-'));
try {
  const controlPath = join(dir, 'control.bin');
  const dataPath = join(dir, 'data.bin');
  const control = MemoryMappedFile.createRw(controlPath, 4096);
  const data = MemoryMappedFile.createRw(dataPath, 4 << 20);
  data.close();
  const reports = [];
  for (let id = 0; id < PROCESSES; id++) {
    const child = fork(fileURLToPath(import.meta.url), ['child', controlPath, dataPath, String(id)]);
    let report;
    child.on('message', (m) => (report = m));
    reports.push(
      new Promise((resolve, reject) =>
        child.on('exit', (code) => (code === 0 && report ? resolve(report) : reject(new Error(`process ${id + 1} exited with ${code}`)))),
      ),
    );
  }
  // Sleep until every child has counted itself in.
  const done = control.atomicU32(DONE);
  for (let seen = done.load(); seen < PROCESSES; seen = done.load()) await control.waitAsync(DONE, seen);
  console.log(`woken by wait/notify: ${done.load()} processes done`);
  // Each process's own report, in process order. The allocator serves
  // whoever asks first: a process that starts late may find every range
  // taken and write none.
  for (const r of await Promise.all(reports)) console.log(`process ${r.id + 1} allocated and wrote ${r.ranges} ranges`);
  console.log(`counter = ${control.atomicU64(COUNTER).load()} (${PROCESSES} processes x ${ADDS})`);
  control.close();
  // Every byte of the data file belongs to exactly one process's ranges.
  const bytes = readFileSync(dataPath);
  const owners = new Set(bytes);
  console.log(`data file: ${bytes.length} bytes, written by processes ${[...owners].sort().join(', ')}, no byte left unwritten: ${!owners.has(0)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
