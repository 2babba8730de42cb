// SharedRing: single producer, single consumer, across two worker threads
// and across two processes, 1 GiB of 4 KiB messages with every byte
// checked; end of stream; a producer that dies (worker exit, uncaught
// throw, terminate(), SIGKILL) is reported, never a hang; a consumer that
// closes fails the producer; roles, arguments, wrap-around against a model,
// and leak checks.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, writeFileSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { SharedRing, inspectNative, pageSize } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { MESSAGE, checkMessage, fillMessage, until, type SringJob, type SringReport } from './fixtures/vmap-sring-peer.js';

const t = tempDir('ranged-mmap-sring-');
after(() => t.cleanup());
const peerUrl = new URL('./fixtures/vmap-sring-peer.js', import.meta.url);
const GIB_MESSAGES = (1 << 30) / MESSAGE;

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

function runWorker(job: SringJob): { worker: Worker; report: Promise<SringReport | null>; exit: Promise<number> } {
  const worker = new Worker(peerUrl, { workerData: { sringJob: job } });
  let report: SringReport | null = null;
  worker.on('message', (m: SringReport) => (report = m));
  const exit = new Promise<number>((resolve) => worker.on('exit', resolve));
  worker.on('error', () => {});
  return { worker, report: exit.then(() => report), exit };
}

function runProcess(job: SringJob): Promise<{ code: number | null; signal: string | null; report: SringReport | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(peerUrl), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (c, signal) => resolve({ code: c, signal, report: out.trim() ? (JSON.parse(out.trim()) as SringReport) : null }));
  });
}

test('two worker threads: 1 GiB of 4 KiB messages, every byte checked, then end of stream', async () => {
  const ring = new SharedRing(1 << 20);
  const handle = ring.share();
  const consumer = runWorker({ role: 'consume', handle, messages: 0 });
  const producer = runWorker({ role: 'produce', handle, messages: GIB_MESSAGES, end: 'close' });
  const [c, p] = await Promise.all([consumer.report, producer.report]);
  ring.close();
  assert.deepEqual(p, { messages: GIB_MESSAGES, bad: 0, bytes: 1 << 30 });
  assert.deepEqual(c, { messages: GIB_MESSAGES, bad: 0, bytes: 1 << 30 });
});

test('two processes through a ring file: 1 GiB of 4 KiB messages, every byte checked', async () => {
  const path = t.path('feed.ring');
  const ring = SharedRing.create(path, 1 << 20);
  ring.close(); // the file stays; the children open it
  const [c, p] = await Promise.all([
    runProcess({ role: 'consume', path, messages: 0 }),
    runProcess({ role: 'produce', path, messages: GIB_MESSAGES, end: 'close' }),
  ]);
  assert.equal(p.code, 0);
  assert.equal(c.code, 0);
  assert.deepEqual(c.report, { messages: GIB_MESSAGES, bad: 0, bytes: 1 << 30 });
});

for (const end of ['exit', 'throw'] as const) {
  test(`a producer worker that ends by ${end === 'exit' ? 'process.exit()' : 'an uncaught throw'} without close(): the consumer reads everything, then ERR_MMAP_PEER_GONE`, async () => {
    const ring = new SharedRing(1 << 16);
    const handle = ring.share();
    const consumer = runWorker({ role: 'consume', handle, messages: 0 });
    const producer = runWorker({ role: 'produce', handle, messages: 100, end });
    const c = await consumer.report;
    await producer.exit;
    ring.close();
    assert.deepEqual(c, { messages: 100, bad: 0, bytes: 100 * MESSAGE, error: 'ERR_MMAP_PEER_GONE' });
  });
}

test('a producer worker terminated while it sleeps on a full ring: the consumer gets ERR_MMAP_PEER_GONE', async () => {
  const ring = new SharedRing(pageSize()); // one page: the producer fills it at once and sleeps
  const reader = SharedRing.fromShared(ring.share());
  assert.equal(reader.tryRead(new Uint8Array(0)), 0); // takes the consumer role
  const producer = runWorker({ role: 'produce', handle: ring.share(), messages: 10, end: 'close' });
  // Wait (without blocking this thread) until the ring is full.
  await until(() => reader.readLen >= pageSize(), 'the producer worker to fill the ring');
  await producer.worker.terminate();
  const buf = new Uint8Array(MESSAGE);
  assert.equal(reader.read(buf), MESSAGE);
  assert.ok(checkMessage(buf, 0, 0));
  assert.throws(
    () => reader.read(buf),
    (e: unknown) => code(e) === 'ERR_MMAP_PEER_GONE',
  );
  reader.close();
  ring.close();
});

test('a producer process killed with SIGKILL: the consumer (blocked in this thread) gets ERR_MMAP_PEER_GONE, no hang', async () => {
  const path = t.path('killed.ring');
  const ring = SharedRing.create(path, 1 << 16);
  const consumer = SharedRing.open(path);
  assert.equal(consumer.tryRead(new Uint8Array(0)), 0);
  const child = await runProcess({ role: 'produce', path, messages: 5, end: 'kill' });
  assert.equal(child.signal, 'SIGKILL');
  const buf = new Uint8Array(MESSAGE);
  for (let i = 0; i < 5; i++) {
    assert.equal(consumer.read(buf), MESSAGE);
    assert.ok(checkMessage(buf, 0, i));
  }
  assert.throws(
    () => consumer.read(buf),
    (e: unknown) => code(e) === 'ERR_MMAP_PEER_GONE',
  );
  consumer.close();
  ring.close();
});

// A producer process killed while a thread sleeps on the ring (a zombie): see vmap-shared-ring-faults.test.ts.

test('end of stream: read returns 0 and ended is true once the producer closed and everything was read', () => {
  const ring = new SharedRing(1);
  assert.equal(ring.capacity, pageSize());
  const reader = SharedRing.fromShared(ring.share());
  ring.write('hello');
  ring.close();
  const buf = new Uint8Array(16);
  assert.equal(reader.ended, false);
  assert.equal(reader.read(buf), 5);
  assert.equal(Buffer.from(buf.subarray(0, 5)).toString(), 'hello');
  assert.equal(reader.read(buf), 0);
  assert.equal(reader.ended, true);
  assert.equal(reader.readSlice().length, 0);
  reader.close();
});

test('a consumer that closes makes the producer fail with ERR_MMAP_PEER_GONE instead of sleeping forever', () => {
  const ring = new SharedRing(pageSize());
  const reader = SharedRing.fromShared(ring.share());
  reader.tryRead(new Uint8Array(0));
  ring.write(new Uint8Array(100));
  reader.close();
  assert.throws(
    () => ring.write(new Uint8Array(10)),
    (e: unknown) => code(e) === 'ERR_MMAP_PEER_GONE',
  );
  ring.close();
});

test('roles: one producer and one consumer per ring; one role per object', () => {
  const a = new SharedRing(pageSize());
  const b = SharedRing.fromShared(a.share());
  const c = SharedRing.fromShared(a.share());
  a.write('x');
  assert.throws(
    () => b.write('y'),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.throws(
    () => a.read(new Uint8Array(1)),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.equal(b.read(new Uint8Array(1)), 1);
  assert.throws(
    () => c.tryRead(new Uint8Array(1)),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  for (const r of [a, b, c]) r.close();
  assert.throws(
    () => a.write('x'),
    (e: unknown) => code(e) === 'ERR_MMAP_CLOSED',
  );
  assert.throws(
    () => a.share(),
    (e: unknown) => code(e) === 'ERR_MMAP_CLOSED',
  );
});

test('capacity, arguments, files that are not rings, and existing paths', () => {
  for (const [hint, cap] of [
    [1, pageSize()],
    [pageSize() + 1, 2 * pageSize()],
    [3 * pageSize(), 4 * pageSize()],
    [1 << 20, 1 << 20],
  ]) {
    const r = new SharedRing(hint);
    assert.equal(r.capacity, cap);
    r.close();
  }
  for (const bad of [0, -1, 1.5, NaN, 2 ** 30 + 1])
    assert.throws(
      () => new SharedRing(bad),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
  for (const bad of ['1', null, {}])
    assert.throws(
      () => new SharedRing(bad as never),
      (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
    );
  for (const bad of [null, 3, {}, { kind: 'ranged-mmap:file', key: 1 }]) {
    assert.throws(
      () => SharedRing.fromShared(bad as never),
      (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
    );
  }
  assert.throws(
    () => SharedRing.fromShared({ kind: 'ranged-mmap:shared-ring', key: 123456789 }),
    (e: unknown) => code(e) === 'ERR_MMAP_CLOSED',
  );
  const path = t.path('exists.ring');
  SharedRing.create(path, pageSize()).close();
  assert.throws(
    () => SharedRing.create(path, pageSize()),
    (e: unknown) => code(e) === 'EEXIST',
  );
  const plain = t.path('plain.bin');
  writeFileSync(plain, new Uint8Array(pageSize() * 2));
  assert.throws(
    () => SharedRing.open(plain),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /is not a ring file/.test((e as Error).message) && (e as { path?: string }).path === plain,
  );
  assert.throws(
    () => SharedRing.open(t.path('missing.ring')),
    (e: unknown) => code(e) === 'ENOENT',
  );
  assert.throws(
    () => SharedRing.create('a\0b', 10),
    (e: unknown) => code(e) === 'ERR_INVALID_ARG_VALUE',
  );
  assert.equal(existsSync(t.path('a')), false);
  const r = new SharedRing(pageSize());
  assert.throws(
    () => r.commit(pageSize() + 1),
    (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
  );
  assert.throws(
    () => r.writeSlice(pageSize() + 1),
    (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
  );
  assert.throws(
    () => r.write(42 as never),
    (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE',
  );
  r.close();
});

test('wrap-around against a model: random writes, reads and slices through a producer and a consumer in one thread', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.record({ w: fc.integer({ min: 0, max: 3 * pageSize() }) }),
          fc.record({ r: fc.integer({ min: 0, max: 3 * pageSize() }) }),
          fc.record({ ws: fc.integer({ min: 0, max: pageSize() }) }),
          fc.record({ rs: fc.integer({ min: 0, max: pageSize() }) }),
        ),
        { maxLength: 60 },
      ),
      (ops) => {
        const prod = new SharedRing(pageSize());
        const cons = SharedRing.fromShared(prod.share());
        const cap = prod.capacity;
        let model: number[] = [];
        let seq = 0;
        try {
          for (const op of ops) {
            if ('w' in op) {
              const data = Uint8Array.from({ length: op.w }, () => seq++ & 0xff);
              const n = prod.tryWrite(data);
              assert.equal(n, Math.min(op.w, cap - model.length));
              model.push(...data.subarray(0, n));
              seq -= op.w - n;
            } else if ('r' in op) {
              const out = new Uint8Array(op.r);
              const n = cons.tryRead(out);
              assert.equal(n, Math.min(op.r, model.length));
              assert.deepEqual([...out.subarray(0, n)], model.slice(0, n));
              model = model.slice(n);
            } else if ('ws' in op) {
              const free = prod.writeSlice(0);
              assert.equal(free.length, cap - model.length);
              const n = Math.min(op.ws, free.length);
              for (let i = 0; i < n; i++) free[i] = seq++ & 0xff;
              prod.commit(n);
              model.push(...free.subarray(0, n));
            } else {
              if (model.length === 0) continue; // readSlice would sleep
              const s = cons.readSlice(1);
              assert.deepEqual([...s], model);
              const n = Math.min(op.rs, s.length);
              cons.consume(n);
              model = model.slice(n);
            }
            assert.equal(cons.readLen, model.length);
            assert.equal(prod.writeLen, cap - model.length);
          }
        } finally {
          prod.close();
          cons.close();
        }
      },
    ),
    { numRuns: 100 },
  );
});

test('10,000 create/close cycles (and share/fromShared) leak no mapping and no descriptor', () => {
  const fds = readdirSync('/proc/self/fd').length;
  const live = inspectNative().liveMappings;
  const maps = () =>
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((l) => l.includes('ranged-mmap-shared-ring')).length;
  const m0 = maps();
  for (let i = 0; i < 10_000; i++) {
    const r = new SharedRing(pageSize() * (1 + (i % 3)));
    if (i % 10 === 0) {
      const other = SharedRing.fromShared(r.share());
      r.write('x');
      assert.equal(other.read(new Uint8Array(1)), 1);
      other.close();
    }
    r.close();
  }
  assert.equal(inspectNative().liveMappings, live);
  assert.equal(readdirSync('/proc/self/fd').length, fds);
  assert.equal(maps(), m0);
});

test('the message helpers agree (guards the fixture itself)', () => {
  const b = new Uint8Array(MESSAGE);
  fillMessage(b, 3);
  assert.ok(checkMessage(b, 0, 3));
  assert.ok(!checkMessage(b, 0, 4));
});

test('60 workers attach and exit without close(): every reference is released with its thread', async () => {
  const live = inspectNative().liveMappings;
  const ring = new SharedRing(pageSize());
  const handle = ring.share();
  for (let batch = 0; batch < 6; batch++) {
    await Promise.all(
      Array.from({ length: 10 }, () => {
        const w = new Worker(peerUrl, { workerData: { sringAttachOnly: handle } });
        const got = new Promise<unknown>((resolve) => w.on('message', resolve));
        return new Promise<void>((resolve, reject) => {
          w.on('error', reject);
          w.on('exit', (c) => (c === 0 ? got.then(() => resolve()) : reject(new Error(`exit ${c}`))));
        });
      }),
    );
  }
  assert.equal(inspectNative().liveMappings, live + 1);
  ring.close();
  assert.equal(inspectNative().liveMappings, live);
});

test('a ring file whose cursors were scribbled over by another process: ERR_MMAP_INVALID_STATE, no out-of-range access', () => {
  const path = t.path('corrupt.ring');
  const producer = SharedRing.create(path, pageSize());
  const consumer = SharedRing.open(path);
  producer.write('abc');
  // Another process writes garbage into the producer's cursor (header word 16).
  const fd = openSync(path, 'r+');
  const garbage = Buffer.alloc(4);
  garbage.writeInt32LE(0x7fff0000);
  writeSync(fd, garbage, 0, 4, 16 * 4);
  closeSync(fd);
  assert.throws(
    () => consumer.read(new Uint8Array(16)),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.throws(
    () => consumer.tryRead(new Uint8Array(16)),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  // The garbage tail is now this consumer's cached copy: the fast paths of
  // read and consume must not trust it either.
  assert.throws(
    () => consumer.read(new Uint8Array(16)),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.throws(
    () => consumer.consume(8),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  // The header is still garbage: readLen refuses it rather than report a number above the capacity.
  assert.throws(
    () => consumer.readLen,
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE' && /cursors/.test((e as Error).message),
  );
  consumer.close();
  producer.close();
});

test('a consumer that has read, then sees a scribbled tail: the fast path re-reads and refuses it', () => {
  const path = t.path('corrupt2.ring');
  const producer = SharedRing.create(path, pageSize());
  const consumer = SharedRing.open(path);
  producer.write('abc');
  const buf = new Uint8Array(16);
  assert.equal(consumer.read(buf), 3);
  assert.equal(consumer.read(buf.subarray(0, 0)), 0);
  const fd = openSync(path, 'r+');
  const garbage = Buffer.alloc(4);
  garbage.writeInt32LE(0x7fff0000);
  writeSync(fd, garbage, 0, 4, 16 * 4);
  closeSync(fd);
  assert.throws(
    () => consumer.read(buf),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  assert.throws(
    () => consumer.readSlice(),
    (e: unknown) => code(e) === 'ERR_MMAP_INVALID_STATE',
  );
  consumer.close();
  producer.close();
});

test('async consumer on the main thread: readAsync waits without blocking the event loop; 16 MiB from a producer worker, every byte checked', async () => {
  const ring = new SharedRing(1 << 16);
  const buf = new Uint8Array(MESSAGE);
  let settled = false;
  const first = ring.readAsync(buf).then((n) => {
    settled = true;
    return n;
  });
  // The event loop runs while the read waits on an empty ring.
  let turns = 0;
  while (turns < 5) {
    await new Promise((r) => setImmediate(r));
    turns++;
  }
  assert.equal(settled, false);
  const messages = (16 << 20) / MESSAGE;
  const producer = runWorker({ role: 'produce', handle: ring.share(), messages, end: 'close' });
  let got = await first;
  let i = 0;
  let bad = 0;
  const msg = new Uint8Array(MESSAGE);
  let fill = 0;
  // Reassemble messages from whatever sizes the reads return.
  for (;;) {
    for (let k = 0; k < got; k++) {
      msg[fill++] = buf[k];
      if (fill === MESSAGE) {
        if (!checkMessage(msg, 0, i)) bad++;
        i++;
        fill = 0;
      }
    }
    got = await ring.readAsync(buf);
    if (got === 0) break;
  }
  await producer.exit;
  ring.close();
  assert.equal(i, messages);
  assert.equal(bad, 0);
});

test('async producer on the main thread: writeAsync waits for space without blocking; a consumer worker checks every byte', async () => {
  const ring = new SharedRing(pageSize());
  const consumer = runWorker({ role: 'consume', handle: ring.share(), messages: 0 });
  const msg = new Uint8Array(MESSAGE);
  const messages = 2048;
  for (let i = 0; i < messages; i++) {
    fillMessage(msg, i);
    assert.equal(await ring.writeAsync(msg), MESSAGE);
  }
  ring.close();
  assert.deepEqual(await consumer.report, { messages, bad: 0, bytes: messages * MESSAGE });
});

test('readAsync: a producer that exits without close() is reported; a close() in this thread ends a pending read', async () => {
  const ring = new SharedRing(1 << 16);
  const producer = runWorker({ role: 'produce', handle: ring.share(), messages: 3, end: 'exit' });
  await producer.exit;
  const buf = new Uint8Array(3 * MESSAGE);
  let total = 0;
  for (;;) {
    try {
      const n = await ring.readAsync(buf);
      total += n;
    } catch (error) {
      assert.equal(code(error), 'ERR_MMAP_PEER_GONE');
      break;
    }
  }
  assert.equal(total, 3 * MESSAGE);
  ring.close();
  // close() while a read waits: the read rejects with ERR_MMAP_CLOSED.
  const r2 = new SharedRing(pageSize());
  const w2 = SharedRing.fromShared(r2.share());
  w2.tryWrite(new Uint8Array(0)); // a live producer that never writes
  const pending = r2.readAsync(new Uint8Array(8));
  await new Promise((r) => setImmediate(r));
  r2.close();
  await assert.rejects(pending, (e: unknown) => code(e) === 'ERR_MMAP_CLOSED');
  w2.close();
});

test('a worker terminated while it awaits readAsync: no crash, and its wait releases the ring', async () => {
  const live = inspectNative().liveMappings;
  const ring = new SharedRing(pageSize());
  ring.tryWrite(new Uint8Array(0)); // the producer, alive, never writing
  const w = new Worker(peerUrl, { workerData: { sringAwait: ring.share() } });
  await new Promise((resolve) => w.once('message', resolve));
  await w.terminate();
  ring.close();
  // The waiting thread wakes within its 100 ms liveness period and drops its reference
  // (polled for up to 30 s: a loaded CI machine can be slow to schedule it).
  await until(() => inspectNative().liveMappings === live, "the terminated worker's wait to release the ring");
});

/** Rss (kB) of this process's mappings of shared-ring memfds, from /proc/self/smaps. */
function ringRssKb(): number {
  let kb = 0;
  for (const block of readFileSync('/proc/self/smaps', 'utf8').split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    if (!block.split('\n')[0]!.includes('ranged-mmap-shared-ring')) continue;
    const m = /^Rss:\s+(\d+) kB$/m.exec(block);
    if (m) kb += Number(m[1]);
  }
  return kb;
}

test('a ring of up to 64 MiB is prefaulted at creation (header and data resident); a bigger one is not', () => {
  const before = ringRssKb();
  const small = new SharedRing(1 << 20);
  try {
    // The header page and one copy of the data (the second copy maps the same pages).
    assert.ok(ringRssKb() - before >= 1024 + 4, `resident: ${ringRssKb() - before} kB`);
    const big = new SharedRing(128 << 20);
    try {
      assert.ok(ringRssKb() - before < 1024 + 4 + 1024, `a 128 MiB ring was prefaulted: ${ringRssKb() - before} kB`);
    } finally {
      big.close();
    }
  } finally {
    small.close();
  }
});

test('a consumer worker terminated while it sleeps on the empty ring: the producer here gets ERR_MMAP_PEER_GONE, never hangs', async () => {
  const ring = new SharedRing(pageSize());
  const consumer = runWorker({ role: 'consume', handle: ring.share(), messages: 0 });
  // One message, read by the consumer (so it has taken its role), which then sleeps on the empty ring.
  const msg = new Uint8Array(MESSAGE);
  fillMessage(msg, 0);
  ring.write(msg);
  await until(() => ring.writeLen >= pageSize(), 'the consumer worker to read the message');
  await consumer.worker.terminate();
  // The ring is empty: one more page fits, the next write would sleep, and must fail instead.
  assert.throws(
    () => {
      for (let i = 1; i < 4; i++) {
        fillMessage(msg, i);
        ring.write(msg);
      }
    },
    (e: unknown) => code(e) === 'ERR_MMAP_PEER_GONE',
  );
  ring.close();
});

test('a consumer process killed with SIGKILL: the producer (blocked on the full ring in this thread) gets ERR_MMAP_PEER_GONE', async () => {
  const path = t.path('consumer-dies.ring');
  const ring = SharedRing.create(path, pageSize());
  const child = spawn(process.execPath, [fileURLToPath(peerUrl), JSON.stringify({ role: 'consume', path, messages: 0 } satisfies SringJob)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const closed = new Promise((resolve) => child.on('close', resolve));
  const msg = new Uint8Array(MESSAGE);
  fillMessage(msg, 0);
  ring.write(msg);
  await until(() => ring.writeLen >= pageSize(), 'the consumer process to read the message');
  child.kill('SIGKILL');
  await closed;
  assert.throws(
    () => {
      for (let i = 1; i < 4; i++) {
        fillMessage(msg, i);
        ring.write(msg);
      }
    },
    (e: unknown) => code(e) === 'ERR_MMAP_PEER_GONE',
  );
  ring.close();
});

/** User + system CPU time of a process so far, in milliseconds (/proc/<pid>/stat, fields 14 and 15). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

test('a consumer blocked on an empty ring sleeps, never spins: about no CPU over two seconds of waiting (another process)', async () => {
  const path = t.path('sleeper.ring');
  const producer = SharedRing.create(path, 1 << 16);
  const child = spawn(process.execPath, [fileURLToPath(new URL('./fixtures/vmap-sring-sleeper.js', import.meta.url)), path], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const waiting = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('waiting\n')) resolve();
    }),
  );
  const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
  await waiting;
  const before = cpuMs(child.pid!);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const used = cpuMs(child.pid!) - before;
  producer.write('wake up');
  producer.close();
  assert.equal(await closed, 0);
  assert.deepEqual(JSON.parse(out.split('\n')[1]!), { read: 'wake up' });
  // A spinning waiter burns a core (2,000 ms here, or several hundred on a
  // loaded machine); a sleeping one wakes ten times a second to check its
  // peer and uses a few milliseconds.
  assert.ok(used < 150, `the blocked consumer used ${used} ms of CPU in 2 s of waiting`);
});
