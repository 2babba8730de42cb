// SharedRing with a ring file as input and peers that die at any step:
// a claimer killed half way through its claim, header words no ring
// writes, a ring file truncated under both sides, files that are not rings
// (or of another version, or cut short), a producer left a zombie while the
// consumer's thread blocks, a failed create's descriptor, and how soon a
// sleeper is woken. Every wait that could hang runs in a child process or a
// worker with a deadline: a hang fails the test, it never stalls the run.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SharedRing, pageSize } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import type { FaultsJob, FaultsReport, WakeJob } from './fixtures/vmap-sring-faults-child.js';
import { until } from './fixtures/vmap-sring-peer.js';

const t = tempDir('ranged-mmap-sring-faults-');
after(() => t.cleanup());
const childUrl = new URL('./fixtures/vmap-sring-faults-child.js', import.meta.url);

// Header words (Int32 indexes; native/shared_ring.h).
const W_VERSION = 1;
const W_CAPACITY = 2;
const W_TAIL = 16;
const W_HEAD = 32;
const W_CONSUMER_WAITING = 49;
const W_PRODUCER_WAITING = 65;
const W_PRODUCER_STATE = 80;
const W_PRODUCER_PID = 81;
const HEADER = 4096;
const TRAILER = 4096;
const MAGIC = 0x474e5253;
const LIVE = 1;

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

/** Writes Int32 `value` at header word `index` of the file, as another process scribbling over it would. */
function pokeWord(path: string, index: number, value: number): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  writeSync(fd, b, 0, 4, index * 4);
  closeSync(fd);
}

function peekWord(fd: number, index: number): number {
  const b = Buffer.alloc(4);
  readSync(fd, b, 0, 4, index * 4);
  return b.readInt32LE();
}

/** A pid that no process has now: a child that has exited and been reaped. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

interface ChildRun {
  report: FaultsReport | null;
  /** True if the child had not finished by the deadline (it was killed). */
  hung: boolean;
  stderr: string;
}

/**
 * Runs the fixture child with `job`; `onReady` runs once it says it is set
 * up. The child is killed after `deadlineMs`: `hung` says so, and the test
 * asserts on it instead of waiting forever.
 */
function runChild(job: FaultsJob, deadlineMs: number, onReady?: () => void, wrap?: string[]): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const argv = [fileURLToPath(childUrl), JSON.stringify(job)];
    const [cmd, args] = wrap === undefined ? [process.execPath, argv] : [wrap[0]!, [...wrap.slice(1), process.execPath, ...argv]];
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    let report: FaultsReport | null = null;
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const msg = JSON.parse(line) as { event: string };
        if (msg.event === 'ready') onReady?.();
        else report = msg as FaultsReport;
      }
    });
    child.on('error', reject);
    child.on('close', () => {
      clearTimeout(timer);
      resolve({ report, hung, stderr });
    });
  });
}

/** A ring file with a producer here that wrote `bytes` (not yet read); the file's length and capacity. */
function ringWithData(name: string, bytes = 5000): { path: string; producer: SharedRing; size: number; capacity: number } {
  const path = t.path(name);
  const producer = SharedRing.create(path, 1 << 16);
  producer.write(new Uint8Array(bytes).fill(7));
  return { path, producer, size: statSync(path).size, capacity: producer.capacity };
}

// ---- 1. a claimer killed half way through its claim ---------------------------

test('a producer killed mid-claim (its pid in the state word, dead): a blocked consumer gets ERR_MMAP_PEER_GONE within a bounded time, never hangs', async () => {
  const { path, producer } = ringWithData('dead-claimer.ring', 0);
  producer.close();
  pokeWord(path, W_PRODUCER_STATE, 0); // no producer yet ...
  const run = runChild({ scenario: 'read', path }, 20_000, () => pokeWord(path, W_PRODUCER_STATE, -deadPid())); // ... then one dies claiming
  const { report, hung, stderr } = await run;
  assert.equal(hung, false, `the consumer hung on a dead claimer: ${stderr}`);
  assert.equal(report?.code, 'ERR_MMAP_PEER_GONE', JSON.stringify(report));
  assert.ok(report.ms < 5000, `found dead after ${report.ms} ms`);
});

test('a role whose claimer died mid-claim is taken over by a later producer, and the consumer reads what it writes', () => {
  const path = t.path('takeover.ring');
  SharedRing.create(path, pageSize()).close();
  pokeWord(path, W_PRODUCER_STATE, 0);
  const consumer = SharedRing.open(path);
  assert.equal(consumer.tryRead(new Uint8Array(0)), 0); // the consumer
  pokeWord(path, W_PRODUCER_STATE, -deadPid());
  const producer = SharedRing.open(path);
  assert.equal(producer.write('after the takeover'), 18);
  const buf = new Uint8Array(64);
  assert.equal(consumer.read(buf), 18);
  assert.equal(Buffer.from(buf.subarray(0, 18)).toString(), 'after the takeover');
  // A live producer still refuses a second one.
  const third = SharedRing.open(path);
  assert.throws(
    () => third.write('x'),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /already has a producer/.test((e as Error).message),
  );
  for (const r of [third, producer, consumer]) r.close();
});

test('a producer killed without closing (LIVE, dead pid) is taken over by a later producer', () => {
  const path = t.path('takeover-live.ring');
  SharedRing.create(path, pageSize()).close();
  pokeWord(path, W_PRODUCER_STATE, LIVE);
  pokeWord(path, W_PRODUCER_PID, deadPid());
  const producer = SharedRing.open(path);
  assert.equal(producer.write('x'), 1);
  const consumer = SharedRing.open(path);
  assert.equal(consumer.read(new Uint8Array(4)), 1);
  consumer.close();
  producer.close();
});

/** The start time (clock ticks since boot, field 22 of /proc/PID/stat) of a live process. */
function startTicks(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!);
}

/** Writes the 64-bit start time recorded with the producer's pid (words 82-83). */
function pokeStart(path: string, ticks: bigint): void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(ticks);
  writeSync(fd, b, 0, 8, (W_PRODUCER_PID + 1) * 4);
  closeSync(fd);
}

test('a LIVE producer is told from a reused pid by its start time, with one tick of slack (qemu reads its own one tick off)', async () => {
  const holder = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
  try {
    const pid = holder.pid!;
    const real = startTicks(pid);
    for (const [delta, heldBy] of [
      [0n, true],
      [1n, true],
      [-1n, true],
      [500n, false],
      [-500n, false],
    ] as const) {
      const path = t.path(`start-slack-${delta}.ring`);
      SharedRing.create(path, pageSize()).close();
      pokeWord(path, W_PRODUCER_STATE, LIVE);
      pokeWord(path, W_PRODUCER_PID, pid);
      pokeStart(path, real + delta);
      const before = readFileSync(path);
      const producer = SharedRing.open(path);
      try {
        if (heldBy) {
          assert.throws(
            () => producer.write('x'),
            (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
            `start ${delta} ticks off: the live holder keeps the role`,
          );
          assert.deepEqual(readFileSync(path), before, `start ${delta} ticks off: the refused write changed the file`);
        } else {
          assert.equal(producer.write('x'), 1, `start ${delta} ticks off: another process with that pid, so the role is taken over`);
        }
      } finally {
        producer.close();
      }
    }
  } finally {
    holder.kill('SIGKILL');
  }
});

test('a claim that never ends (the state word names a live process that is not claiming): the consumer gives up with ERR_MMAP_INVALID_STATE', async () => {
  const path = t.path('stuck-claim.ring');
  SharedRing.create(path, pageSize()).close();
  // This test's own process: alive, and never claiming that ring.
  const { report, hung, stderr } = await runChild({ scenario: 'read', path }, 30_000, () => pokeWord(path, W_PRODUCER_STATE, -process.pid));
  assert.equal(hung, false, `the consumer hung on a claim that never ends: ${stderr}`);
  assert.equal(report?.code, 'ERR_MMAP_INVALID_STATE', JSON.stringify(report));
  assert.match(report.message, /being claimed by process \d+/);
});

// ---- 2. header words no ring writes ---------------------------------------------

const CORRUPT_STATES: [string, number, number | undefined][] = [
  ['a state word of garbage (77)', 77, undefined],
  ['the old CLAIMING value with nobody claiming (4)', 4, undefined],
  ['LIVE with pid 0', LIVE, 0],
  ['LIVE with pid -1', LIVE, -1],
  ['a claimer pid beyond any pid', -(4194304 + 1), undefined],
];

for (const [what, state, pid] of CORRUPT_STATES) {
  test(`open() refuses a ring file whose producer has ${what}, saying what is wrong`, () => {
    const path = t.path(`corrupt-open-${state}-${pid}.ring`);
    SharedRing.create(path, pageSize()).close();
    pokeWord(path, W_PRODUCER_STATE, state);
    if (pid !== undefined) pokeWord(path, W_PRODUCER_PID, pid);
    assert.throws(
      () => SharedRing.open(path),
      (e: unknown) =>
        code(e) === 'ERR_MMAP_INVALID_STATE' &&
        (e as { path?: string }).path === path &&
        /corrupt header/.test((e as Error).message) &&
        /producer/.test((e as Error).message),
    );
  });

  test(`a consumer blocked in read() when the producer's words become ${what}: ERR_MMAP_INVALID_STATE, no hang`, async () => {
    const path = t.path(`corrupt-run-${state}-${pid}.ring`);
    SharedRing.create(path, pageSize()).close();
    const { report, hung, stderr } = await runChild({ scenario: 'read', path }, 20_000, () => {
      if (pid !== undefined) pokeWord(path, W_PRODUCER_PID, pid);
      pokeWord(path, W_PRODUCER_STATE, state);
    });
    assert.equal(hung, false, `the consumer hung: ${stderr}`);
    assert.equal(report?.code, 'ERR_MMAP_INVALID_STATE', JSON.stringify(report));
    assert.match(report.message, /corrupt header/);
  });
}

test('a producer that claims a role whose words turned to LIVE with pid 0 after open: ERR_MMAP_INVALID_STATE saying so', () => {
  const path = t.path('claim-corrupt.ring');
  SharedRing.create(path, pageSize()).close();
  const producer = SharedRing.open(path);
  pokeWord(path, W_PRODUCER_PID, 0);
  pokeWord(path, W_PRODUCER_STATE, LIVE);
  assert.throws(
    () => producer.write('x'),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /live with process id 0/.test((e as Error).message),
  );
  producer.close();
});

test('corrupt cursors: readLen and writeLen throw instead of reporting 99999 (above the capacity) or a negative count', () => {
  const { path, producer } = ringWithData('cursors.ring', 0);
  const consumer = SharedRing.open(path);
  consumer.tryRead(new Uint8Array(0));
  // Each side counts from its own cursor (both 0 here): 99999 bytes apart for both.
  pokeWord(path, W_TAIL, 99999);
  pokeWord(path, W_HEAD, -99999);
  for (const get of [() => consumer.readLen, () => producer.writeLen]) {
    assert.throws(get, (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /99999 bytes between the cursors/.test((e as Error).message));
  }
  for (const get of [() => consumer.writeLen, () => producer.readLen]) {
    assert.throws(get, (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /bytes between the cursors/.test((e as Error).message));
  }
  consumer.close();
  producer.close();
  assert.throws(
    () => SharedRing.open(path),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /cursors/.test((e as Error).message),
  );
});

// ---- 3. a ring file truncated under both sides -------------------------------------

/** Every call of each side, each of which must now fail with ERR_MMAP_FAULT. */
async function expectEveryCallLost(producer: SharedRing, consumer: SharedRing, label: string): Promise<void> {
  const buf = new Uint8Array(10000);
  const lost = (e: unknown) => code(e) === 'ERR_MMAP_FAULT' && /truncated/.test((e as Error).message);
  const sync: [string, () => unknown][] = [
    ['write', () => producer.write(new Uint8Array(5000).fill(9))],
    ['write (string)', () => producer.write('abc')],
    ['tryWrite', () => producer.tryWrite(new Uint8Array(10))],
    ['writeSlice', () => producer.writeSlice(1)],
    ['commit', () => producer.commit(0)],
    ['writeLen', () => producer.writeLen],
    ['read', () => consumer.read(buf)],
    ['tryRead', () => consumer.tryRead(buf)],
    ['readSlice', () => consumer.readSlice(1)],
    ['consume', () => consumer.consume(0)],
    ['readLen', () => consumer.readLen],
    ['waitReadable', () => consumer.waitReadable(1)],
    ['ended', () => consumer.ended],
  ];
  for (const [name, call] of sync) assert.throws(call, lost, `${label}: ${name}`);
  for (const [name, call] of [
    ['readAsync', () => consumer.readAsync(buf)],
    ['waitReadableAsync', () => consumer.waitReadableAsync(1)],
    ['writeAsync', () => producer.writeAsync(new Uint8Array(100))],
  ] as const) {
    await assert.rejects(call(), lost, `${label}: ${name}`);
  }
}

const CUTS: [string, (capacity: number) => number][] = [
  ['to 0 bytes', () => 0],
  ['to its header only', () => HEADER],
  ['to half its data', (cap: number) => HEADER + cap / 2],
  ['to the end of its data (the trailer gone)', (cap: number) => HEADER + cap],
  ['by one byte (the tail of the last page zeroed, no fault)', (cap: number) => HEADER + cap + TRAILER - 1],
  ['by 6000 bytes into the data, then extended back (a hole reads zeros)', (cap: number) => HEADER + cap - 6000],
];
for (const [what, cut] of CUTS) {
  test(`a ring file truncated ${what} with both sides mid-stream: every call fails with ERR_MMAP_FAULT, no zeros are read as data`, async () => {
    const { path, producer, size, capacity } = ringWithData(`trunc-${cut(1 << 16)}.ring`);
    const consumer = SharedRing.open(path);
    const first = new Uint8Array(100);
    assert.equal(consumer.read(first), 100);
    assert.ok(first.every((b) => b === 7));
    truncateSync(path, cut(capacity));
    if (what.includes('extended back')) truncateSync(path, size);
    await expectEveryCallLost(producer, consumer, what);
    // Still so on a second round (the state is not lost once reported).
    assert.throws(
      () => consumer.read(new Uint8Array(16)),
      (e: unknown) => code(e) === 'ERR_MMAP_FAULT',
    );
    consumer.close();
    producer.close();
  });
}

test('a consumer process asleep on the empty ring when the file is truncated by one byte: ERR_MMAP_FAULT, no hang', async () => {
  const { path, producer, size } = ringWithData('trunc-asleep.ring', 0);
  const { report, hung, stderr } = await runChild({ scenario: 'read', path }, 20_000, () => truncateSync(path, size - 1));
  assert.equal(hung, false, `the consumer hung: ${stderr}`);
  assert.equal(report?.code, 'ERR_MMAP_FAULT', JSON.stringify(report));
  assert.equal(report.bytes, 0);
  producer.close();
});

// ---- 4. files that are not rings ---------------------------------------------------

test('open() says what is wrong with a file that is not a whole ring of this version (and names it)', () => {
  const cases: [string, (path: string, cap: number) => void, RegExp][] = [
    ['another format version', (p) => pokeWord(p, W_VERSION, 1), /format version 1; this version of ranged-mmap reads version 2/],
    ['a capacity that is not a power of two', (p) => pokeWord(p, W_CAPACITY, 12345), /capacity 12345 is not a power of two/],
    ['truncated to half its data', (p, cap) => truncateSync(p, HEADER + cap / 2), /is \d+ bytes, but a ring of capacity \d+ is \d+ bytes: it was truncated/],
    [
      // The last word of the cut file made to read the magic: only the length check can tell.
      'truncated to half its data, its new last word forged to the signature',
      (p, cap) => {
        truncateSync(p, HEADER + cap / 2);
        pokeWord(p, (HEADER + cap / 2) / 4 - 1, MAGIC);
      },
      /it was truncated/,
    ],
    ['extended', (p, cap) => truncateSync(p, HEADER + cap + TRAILER + 4096), /it was extended/],
    [
      'truncated and extended back (its trailer lost)',
      (p, cap) => {
        truncateSync(p, HEADER);
        truncateSync(p, HEADER + cap + TRAILER);
      },
      /lost its end/,
    ],
    ['too short to hold a header', (p) => truncateSync(p, 6), /is 6 bytes, too short for a ring file/],
    ['empty', (p) => truncateSync(p, 0), /is empty, not a ring file/],
    ['not a ring at all', (p) => pokeWord(p, 0, 0x12345678), /is not a ring file: it does not start with the SharedRing signature/],
  ];
  for (const [what, damage, message] of cases) {
    const path = t.path(`not-a-ring-${cases.findIndex((c) => c[0] === what)}.ring`);
    const ring = SharedRing.create(path, pageSize() * 4); // half its data still exceeds the shortest ring file
    const cap = ring.capacity;
    ring.close();
    damage(path, cap);
    assert.throws(
      () => SharedRing.open(path),
      (e: unknown) => {
        assert.equal(code(e), 'ERR_MMAP_INVALID_STATE', what);
        assert.equal((e as { path?: string }).path, path, what);
        assert.ok((e as Error).message.includes(`'${path}'`), what);
        assert.match((e as Error).message, message, what);
        return true;
      },
      what,
    );
  }
});

// ---- 5. liveness: a zombie producer, wake-ups, a failed create ----------------------

test('a producer process killed while the main thread blocks in read() (a zombie nobody reaps): ERR_MMAP_PEER_GONE, no hang', async () => {
  const { report, hung, stderr } = await runChild({ scenario: 'zombie', path: t.path('zombie.ring') }, 30_000);
  assert.equal(hung, false, `the consumer hung on a zombie producer: ${stderr}`);
  assert.equal(report?.bytes, 4096, JSON.stringify(report));
  assert.equal(report.code, 'ERR_MMAP_PEER_GONE');
});

/**
 * How long a side blocked in a worker takes to return after this thread
 * acts, in ms, over `rounds` rounds. Each round waits (with a deadline)
 * until the worker has announced its sleep in the header (`waitingWord`),
 * lets it reach the futex, then runs `act` and times the worker's answer.
 */
async function wakeLatencies(role: WakeJob['role'], rounds: number, act: (ring: SharedRing) => void): Promise<number[]> {
  const path = t.path(`wake-${role}-${Math.random().toString(36).slice(2)}.ring`);
  const ring = SharedRing.create(path, pageSize());
  // This thread takes the other role first (a close() then ends the stream).
  if (role === 'consume') ring.tryWrite(new Uint8Array(0));
  else ring.tryRead(new Uint8Array(0));
  const fd = openSync(path, 'r');
  const waitingWord = role === 'consume' ? W_CONSUMER_WAITING : W_PRODUCER_WAITING;
  const worker = new Worker(childUrl, { workerData: { wakeJob: { path, role, rounds } satisfies WakeJob } });
  const messages: { at: number; n?: number }[] = [];
  let ready = false;
  worker.on('message', (m: 'ready' | { at: number }) => {
    if (m === 'ready') ready = true;
    else messages.push(m);
  });
  let failed: unknown;
  worker.on('error', (e) => (failed = e));
  const latencies: number[] = [];
  try {
    await until(() => ready || failed !== undefined, 'the worker to take its role', 20_000);
    for (let i = 0; i < rounds; i++) {
      await until(() => peekWord(fd, waitingWord) === 1 || failed !== undefined, 'the worker to sleep', 20_000);
      // From the flag to the futex call is a few instructions; 20 ms covers it.
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.timeOrigin + performance.now();
      act(ring);
      await until(() => messages.length > i || failed !== undefined, 'the worker to wake', 20_000);
      assert.equal(failed, undefined);
      latencies.push(messages[i]!.at - t0);
    }
  } finally {
    await worker.terminate();
    closeSync(fd);
    ring.close();
  }
  return latencies;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Sleepers also wake every 100 ms to check their peer, which hides a
// missing wake: these bound the wake-up well under that period.
test('a consumer blocked on the empty ring wakes at once when a byte is written (well under the 100 ms liveness period)', async () => {
  const lat = await wakeLatencies('consume', 5, (ring) => ring.write('x'));
  assert.ok(median(lat) < 50, `wake-ups after a write took ${lat.map((x) => x.toFixed(1)).join(', ')} ms`);
});

test('a producer blocked on the full ring wakes at once when a byte is read', async () => {
  const lat = await wakeLatencies('produce', 5, (ring) => assert.equal(ring.read(new Uint8Array(1)), 1));
  assert.ok(median(lat) < 50, `wake-ups after a read took ${lat.map((x) => x.toFixed(1)).join(', ')} ms`);
});

test('a consumer blocked on the empty ring returns 0 at once when the producer closes (well under 100 ms)', async () => {
  const lat: number[] = [];
  for (let i = 0; i < 5; i++) lat.push(...(await wakeLatencies('consume', 1, (ring) => ring.close())));
  assert.ok(median(lat) < 50, `wake-ups after close() took ${lat.map((x) => x.toFixed(1)).join(', ')} ms`);
});

test('a create that fails (RLIMIT_FSIZE below the ring) leaves no descriptor open and no file behind', async () => {
  const path = t.path('too-big.ring');
  // prlimit sets the child's file size limit to 64 KiB; the 1 MiB ring's ftruncate fails with EFBIG.
  const { report, hung, stderr } = await runChild({ scenario: 'fsize', path }, 20_000, undefined, ['prlimit', '--fsize=65536']);
  assert.equal(hung, false, stderr);
  assert.equal(report?.code, 'EFBIG', `${JSON.stringify(report)} ${stderr}`);
  assert.equal(report.fdsAfter, report.fdsBefore);
  assert.equal(existsSync(path), false);
});

test('write() that sleeps on a full ring with a view of a growable SharedArrayBuffer that grows meanwhile: every byte of the grown view goes in, none over unread bytes', async () => {
  const path = t.path(`grow-${Math.random().toString(36).slice(2)}.ring`);
  const ring = SharedRing.create(path, pageSize());
  const cap = ring.capacity;
  assert.equal(ring.tryRead(new Uint8Array(0)), 0); // this thread is the consumer
  // Growable SharedArrayBuffers are newer than this project's TypeScript lib.
  const Growable = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer & { grow(n: number): void };
  const sab = new Growable(100, { maxByteLength: 2000 });
  new Uint8Array(sab).fill(0xaa);
  const fd = openSync(path, 'r');
  // The producer fills the ring, then writes a 100-byte length-tracking view
  // of `sab`, which sleeps: the grow below happens during that sleep.
  const worker = new Worker(
    `const { workerData } = require('node:worker_threads');
    import(workerData.url).then(({ SharedRing }) => {
      const ring = SharedRing.open(workerData.path);
      ring.write(new Uint8Array(workerData.cap).fill(0xf1));
      ring.write(new Uint8Array(workerData.sab));
      ring.close();
    });`,
    { eval: true, workerData: { url: import.meta.resolve('ranged-mmap'), path, cap, sab } },
  );
  let failed: unknown;
  worker.on('error', (e) => (failed = e));
  const exited = new Promise((resolve) => worker.on('exit', resolve));
  try {
    await until(() => ring.readLen === cap || failed !== undefined, 'the producer to fill the ring', 20_000);
    await until(() => peekWord(fd, W_PRODUCER_WAITING) === 1 || failed !== undefined, 'the producer to sleep on the full ring', 20_000);
    assert.equal(failed, undefined);
    sab.grow(2000); // bytes 100.. of the view read as zeros
    const got: number[] = [];
    const buf = new Uint8Array(100); // frees exactly 100 bytes first
    for (;;) {
      const n = ring.read(buf);
      if (n === 0) break;
      got.push(...buf.subarray(0, n));
    }
    await exited;
    assert.equal(failed, undefined);
    const want = [...new Uint8Array(cap).fill(0xf1), ...new Uint8Array(100).fill(0xaa), ...new Uint8Array(1900)];
    assert.equal(got.length, want.length);
    assert.deepEqual(Buffer.from(got), Buffer.from(want));
  } finally {
    await worker.terminate();
    closeSync(fd);
    ring.close();
  }
});
