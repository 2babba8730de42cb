// SharedRing batch message calls (writeMessages / readMessages and their
// try and async forms): messages between two real worker threads with
// every byte checked (batch to batch, and batch to single and back, so the
// frames are those of writeMessage/readMessage); every alignment of the
// wrap point; partial batches on a full ring or a short target; argument
// errors word for word with the ring left as it was; a closed ring; and a
// ring file truncated before and during a batch (the failing item's index,
// the items before it published, none after).
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { SharedRing, type SharedRingConsumer, type SharedRingProducer } from 'ranged-mmap';
import { tempDir } from './helpers.js';
import { type BatchJob, type BatchMode, batchMessage, isMessage, sizeOf } from './fixtures/vmap-sring-batch-data.js';
import { TestWorker, terminateWorkers, WORKER_TEST } from './worker-helpers.js';
import { until } from './fixtures/vmap-sring-peer.js';
import { Worker } from 'node:worker_threads';

const t = tempDir('ranged-mmap-sring-batch-');
after(() => t.cleanup());
afterEach(terminateWorkers);
const workerUrl = new URL('./fixtures/vmap-sring-batch-worker.js', import.meta.url);

// Header words (Int32 indexes; native/shared_ring.h) and the file layout.
const W_TAIL = 16;
const W_HEAD = 32;
const W_PRODUCER_WAITING = 65;
const HEADER = 4096;

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

/** A predicate for assert.throws: this code, this itemIndex (or none), and this exact message when given. */
function fails(c: string, itemIndex: number | undefined, message?: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal(code(e), c, String(e));
    assert.equal((e as { itemIndex?: unknown }).itemIndex, itemIndex, `itemIndex of ${String(e)}`);
    if (message !== undefined) assert.equal((e as Error).message, message);
    return true;
  };
}

/** A producer and a consumer of one ring between the threads of this process (both in this thread). */
function pair(capacity = 4096): { out: SharedRingProducer; input: SharedRingConsumer; ring: SharedRing } {
  const ring = new SharedRing(capacity);
  const input = SharedRing.fromShared(ring.share()).consumer();
  return { out: ring.producer(), input, ring };
}

function fill(n: number, v: number): Uint8Array {
  return new Uint8Array(n).fill(v);
}

/** Header word `index` of the ring file, read from the file (not through the ring). */
function fileWord(path: string, index: number): number {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    readSync(fd, b, 0, 4, index * 4);
    return b.readInt32LE() >>> 0;
  } finally {
    closeSync(fd);
  }
}

/** `length` bytes of the ring file's data region from cursor `at` (wrapping at `capacity`). */
function fileData(path: string, capacity: number, at: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const out = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const pos = (at + done) % capacity;
      const n = Math.min(length - done, capacity - pos);
      readSync(fd, out, done, n, HEADER + pos);
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

// ---- two worker threads, every byte ---------------------------------------------------

const PAIRS: [BatchMode, BatchMode][] = [
  ['batch', 'batch'],
  ['batch', 'single'],
  ['single', 'batch'],
  ['batch-async', 'batch-async'],
];
for (const [producer, consumer] of PAIRS) {
  test(
    `two worker threads, ${producer} writes and ${consumer} reads: 20,000 messages of 0-700 bytes through a 4 KiB ring, every length and byte checked, then end of stream`,
    WORKER_TEST,
    async () => {
      const ring = new SharedRing(4096);
      const common = { count: 20_000, batch: 16, maxSize: 700 };
      const p = new TestWorker(workerUrl, { role: 'producer', handle: ring.share(), mode: producer, ...common } satisfies BatchJob);
      const c = new TestWorker(workerUrl, { role: 'consumer', handle: ring.share(), mode: consumer, ...common } satisfies BatchJob);
      const [, report] = await Promise.all([p.report<string>(), c.report<{ got: number; bad: number; firstBad: number }>()]);
      ring.close();
      assert.deepEqual(report, { got: 20_000, bad: 0, firstBad: -1 });
    },
  );
}

// ---- the wrap point -----------------------------------------------------------------

test('batches across the wrap point at every alignment: 600 rounds of random batches in and out of a 4 KiB ring, every byte equal', () => {
  const { out, input, ring } = pair(4096);
  const buf = new Uint8Array(8192);
  const lengths = new Uint32Array(32);
  const max = 300;
  let written = 0;
  let read = 0;
  for (let round = 0; round < 600; round++) {
    const count = 1 + (sizeOf(round, 11) % 12);
    const msgs: Uint8Array[] = [];
    for (let k = 0; k < count; k++) msgs.push(batchMessage(written + k, max));
    const frames = msgs.reduce((s, m) => s + m.length + 4, 0);
    // Everything fits after a full drain: the whole batch goes in one call.
    assert.equal(out.writeMessages(msgs), count, `round ${round}: written`);
    assert.equal(input.readLen, frames);
    written += count;
    const got = input.readMessages(buf, lengths);
    assert.equal(got, count, `round ${round}: read`);
    for (let k = 0, at = 0; k < count; at += lengths[k++]!) {
      assert.ok(isMessage(buf.subarray(at, at + lengths[k]!), read, max), `round ${round}: message ${read}`);
      read++;
    }
    assert.equal(input.readLen, 0);
  }
  input.close();
  out.close();
  ring.close();
});

// ---- partial batches ----------------------------------------------------------------

test('partial batches: a full ring takes the messages that fit (count returned), a short target or lengths array stops a read before the next message', () => {
  const { out, input } = pair(4096);
  const msgs = [0, 1, 2, 3, 4].map((v) => fill(1000, v));
  assert.equal(out.tryWriteMessages(msgs), 4); // 4 frames of 1004 bytes in 4096
  assert.equal(out.writeLen, 4096 - 4016);
  assert.equal(out.tryWriteMessages(msgs, 4), 0);
  assert.equal(input.readLen, 4016);
  const lengths = new Uint32Array(8);
  const small = new Uint8Array(1500);
  assert.equal(input.readMessages(small, lengths), 1); // the second would not fit in what is left
  assert.deepEqual([lengths[0], small[0], small[999]], [1000, 0, 0]);
  const two = new Uint32Array(2);
  const big = new Uint8Array(5000);
  assert.equal(input.readMessages(big, two), 2);
  assert.deepEqual([...two], [1000, 1000]);
  assert.ok(big.subarray(0, 1000).every((b) => b === 1) && big.subarray(1000, 2000).every((b) => b === 2));
  assert.equal(out.writeMessages(msgs, 4), 1);
  assert.equal(input.tryReadMessages(big, lengths), 2);
  assert.deepEqual([lengths[0], lengths[1], big[0], big[1000], big[1999]], [1000, 1000, 3, 4, 4]);
  assert.equal(input.tryReadMessages(big, lengths), 0);
  // Empty batches: nothing to do.
  assert.equal(out.writeMessages([]), 0);
  assert.equal(out.writeMessages(msgs, 5), 0);
  assert.equal(input.readMessages(big, new Uint32Array(0)), 0);
  // Strings, other typed arrays, DataViews and empty messages are messages too.
  assert.equal(out.writeMessages(['héllo', new Uint16Array([0x0201, 0x0403]), new DataView(new ArrayBuffer(3)), new Uint8Array(0)] as Uint8Array[]), 4);
  assert.equal(input.readMessages(big, lengths), 4);
  assert.deepEqual([...lengths.subarray(0, 4)], [6, 4, 3, 0]);
  assert.deepEqual([...big.subarray(0, 13)], [...Buffer.from('héllo'), 1, 2, 3, 4, 0, 0, 0]);
  // A batch and the single calls read each other's frames.
  assert.equal(out.writeMessage('one'), 3);
  assert.equal(out.writeMessages(['two', 'three']), 2);
  const single = new Uint8Array(10);
  assert.equal(input.readMessages(big, new Uint32Array(1)), 1);
  assert.equal(Buffer.from(big.subarray(0, 3)).toString(), 'one');
  assert.equal(input.readMessage(single), 3);
  assert.equal(Buffer.from(single.subarray(0, 3)).toString(), 'two');
  assert.equal(input.readMessages(big, lengths), 1);
  assert.equal(Buffer.from(big.subarray(0, lengths[0])).toString(), 'three');
  // The end of the stream: what is left, then null; the try form says 0.
  assert.equal(out.writeMessages(['a', 'b']), 2);
  out.close();
  assert.equal(input.readMessages(big, lengths), 2);
  assert.equal(input.readMessages(big, lengths), null);
  assert.equal(input.tryReadMessages(big, lengths), 0);
  input.close();
});

// ---- argument errors ----------------------------------------------------------------

test('argument errors, word for word, each leaving the ring as it was (nothing written, nothing read)', async () => {
  const { out, input } = pair(4096);
  const a = fill(10, 1);
  const unchanged = (what: string): void => {
    assert.equal(out.writeLen, 4096, `${what}: writeLen`);
    assert.equal(input.readLen, 0, `${what}: readLen`);
  };
  assert.throws(
    () => out.writeMessages('abc' as unknown as string[]),
    fails('ERR_INVALID_ARG_TYPE', undefined, 'The "messages" argument must be an array of Uint8Array or string. Received type string ("abc")'),
  );
  unchanged('not an array');
  assert.throws(
    () => out.writeMessages([a, a, 42 as unknown as Uint8Array, a]),
    fails('ERR_INVALID_ARG_TYPE', 2, 'The "messages[2]" argument must be of type string or an instance of Buffer, TypedArray or DataView. Received 42'),
  );
  unchanged('a number at 2');
  assert.throws(
    () => out.writeMessages([a, a, a, new Uint8Array(4093)]),
    fails(
      'ERR_MMAP_RING_FULL',
      3,
      'a message of 4093 bytes can never fit: the shared ring takes messages of at most 4092 bytes (its capacity 4096 less the 4-byte length of each message). Nothing was written',
    ),
  );
  unchanged('too large at 3');
  const gone = new ArrayBuffer(8);
  const detached = new Uint8Array(gone);
  structuredClone(gone, { transfer: [gone] });
  assert.throws(() => out.writeMessages([a, detached]), fails('ERR_MMAP_BUFFER_DETACHED', 1));
  unchanged('detached at 1');
  for (const start of [-1, 4, 1.5, '1', Number.NaN]) {
    assert.throws(() => out.writeMessages([a, a, a], start as number), fails('ERR_OUT_OF_RANGE', undefined));
    assert.throws(() => out.tryWriteMessages([a, a, a], start as number), fails('ERR_OUT_OF_RANGE', undefined));
  }
  assert.throws(
    () => out.writeMessages([a], 2),
    fails('ERR_OUT_OF_RANGE', undefined, 'The value of "start" is out of range. It must be an integer >= 0 and <= 1 (the number of messages). Received 2'),
  );
  await assert.rejects(out.writeMessagesAsync([a, 'x', null as unknown as string]), fails('ERR_INVALID_ARG_TYPE', 2));
  unchanged('every write refused');
  // Reads.
  assert.equal(out.writeMessages([fill(100, 5)]), 1);
  const before = input.readLen;
  assert.throws(
    () => input.readMessages(new Uint8Array(200), [0, 0] as unknown as Uint32Array),
    fails('ERR_INVALID_ARG_TYPE', undefined, 'The "lengths" argument must be an instance of Uint32Array. Received an array'),
  );
  assert.throws(() => input.readMessages(new Uint8Array(200), new Int32Array(2) as unknown as Uint32Array), fails('ERR_INVALID_ARG_TYPE', undefined));
  assert.throws(() => input.tryReadMessages('x' as unknown as Uint8Array, new Uint32Array(2)), fails('ERR_INVALID_ARG_TYPE', undefined));
  assert.throws(
    () => input.readMessages(new Uint8Array(99), new Uint32Array(2)),
    fails(
      'ERR_MMAP_BUFFER_TOO_SMALL',
      0,
      'the next message is 100 bytes and the target 99; nothing was read (the message stays in the ring): pass a target of at least 100 bytes (maxMessage, 4092, always fits)',
    ),
  );
  await assert.rejects(input.readMessagesAsync(new Uint8Array(99), new Uint32Array(2)), fails('ERR_MMAP_BUFFER_TOO_SMALL', 0));
  assert.equal(input.readLen, before, 'nothing read');
  const lengths = new Uint32Array(2);
  const buf = new Uint8Array(100);
  assert.equal(input.readMessages(buf, lengths), 1);
  assert.ok(lengths[0] === 100 && buf.every((b) => b === 5));
  // Each end's calls only: the consumer cannot write a batch, nor the producer read one.
  assert.throws(() => (input as unknown as SharedRing).writeMessages([a]), fails('ERR_MMAP_INVALID_STATE', undefined));
  assert.throws(() => (out as unknown as SharedRing).readMessages(buf, lengths), fails('ERR_MMAP_INVALID_STATE', undefined));
  // @ts-expect-error a consumer has no batch write
  assert.equal(typeof input.writeMessages, 'function');
  // @ts-expect-error a producer has no batch read
  assert.equal(typeof out.readMessages, 'function');
  out.close();
  input.close();
  // A ring that carries bytes refuses batches of messages.
  const bytes = new SharedRing(4096);
  bytes.write(a);
  assert.throws(() => bytes.writeMessages([a]), fails('ERR_MMAP_INVALID_STATE', undefined));
  bytes.close();
});

// ---- closed ring --------------------------------------------------------------------

test('a closed ring: every batch call of the closed end fails with ERR_MMAP_CLOSED; the other end learns of it', async () => {
  const { out, input } = pair(4096);
  const buf = new Uint8Array(100);
  const lengths = new Uint32Array(4);
  input.close();
  assert.throws(() => input.readMessages(buf, lengths), fails('ERR_MMAP_CLOSED', undefined));
  assert.throws(() => input.tryReadMessages(buf, lengths), fails('ERR_MMAP_CLOSED', undefined));
  await assert.rejects(input.readMessagesAsync(buf, lengths), fails('ERR_MMAP_CLOSED', undefined));
  // The consumer closed: the producer's batch is refused, nothing written.
  assert.throws(() => out.writeMessages(['x']), fails('ERR_MMAP_PEER_GONE', undefined));
  assert.throws(() => out.tryWriteMessages(['x']), fails('ERR_MMAP_PEER_GONE', undefined));
  await assert.rejects(out.writeMessagesAsync(['x']), fails('ERR_MMAP_PEER_GONE', undefined));
  out.close();
  assert.throws(() => out.writeMessages(['x']), fails('ERR_MMAP_CLOSED', undefined));
  assert.throws(() => out.tryWriteMessages(['x']), fails('ERR_MMAP_CLOSED', undefined));
  await assert.rejects(out.writeMessagesAsync(['x']), fails('ERR_MMAP_CLOSED', undefined));
});

test('async forms: a batch write waits for room and a batch read for messages without blocking the thread; an abort writes and reads nothing', async () => {
  const { out, input } = pair(4096);
  const big = fill(3000, 9);
  assert.equal(out.writeMessages([big]), 1);
  const pending = out.writeMessagesAsync([fill(2000, 1), fill(50, 2)]);
  const buf = new Uint8Array(8192);
  const lengths = new Uint32Array(8);
  assert.equal(input.readMessages(buf, lengths), 1);
  assert.equal(await pending, 2);
  assert.equal(await input.readMessagesAsync(buf, lengths), 2);
  assert.deepEqual([lengths[0], lengths[1], buf[1999], buf[2000], buf[2049]], [2000, 50, 1, 2, 2]);
  // Aborted while waiting: nothing read, nothing written, the ring still usable.
  const ac = new AbortController();
  const waiting = input.readMessagesAsync(buf, lengths, { signal: ac.signal });
  ac.abort();
  await assert.rejects(waiting, (e: unknown) => (e as Error).name === 'AbortError');
  assert.equal(out.writeMessages([big]), 1);
  const ac2 = new AbortController();
  const full = out.writeMessagesAsync([big], 0, { signal: ac2.signal });
  ac2.abort();
  await assert.rejects(full, (e: unknown) => (e as Error).name === 'AbortError');
  assert.equal(input.readLen, 3004);
  assert.equal(input.readMessages(buf, lengths), 1);
  assert.equal(lengths[0], 3000);
  out.close();
  assert.equal(await input.readMessagesAsync(buf, lengths), null);
  input.close();
});

// ---- a truncated ring file ------------------------------------------------------------

test('a ring file truncated before a batch: every batch call fails with ERR_MMAP_FAULT at item 0 (the first one); the cursors do not move', async () => {
  const path = t.path('trunc-before.ring');
  const out = SharedRing.create(path, 1 << 16).producer();
  const input = SharedRing.open(path).consumer();
  assert.equal(out.writeMessages([fill(100, 1), fill(100, 2)]), 2);
  const [tail, head] = [fileWord(path, W_TAIL), fileWord(path, W_HEAD)];
  const { truncateSync } = await import('node:fs');
  truncateSync(path, HEADER + (1 << 15));
  const buf = new Uint8Array(1000);
  const lengths = new Uint32Array(4);
  assert.throws(() => out.writeMessages([fill(10, 3), fill(10, 4)]), fails('ERR_MMAP_FAULT', 0));
  assert.throws(() => out.writeMessages([fill(10, 3), fill(10, 4)], 1), fails('ERR_MMAP_FAULT', 1));
  assert.throws(() => out.tryWriteMessages([fill(10, 3)]), fails('ERR_MMAP_FAULT', 0));
  await assert.rejects(out.writeMessagesAsync([fill(10, 3)]), fails('ERR_MMAP_FAULT', 0));
  assert.throws(() => input.readMessages(buf, lengths), fails('ERR_MMAP_FAULT', 0));
  assert.throws(() => input.tryReadMessages(buf, lengths), fails('ERR_MMAP_FAULT', 0));
  await assert.rejects(input.readMessagesAsync(buf, lengths), fails('ERR_MMAP_FAULT', 0));
  assert.deepEqual([fileWord(path, W_TAIL), fileWord(path, W_HEAD)], [tail, head]);
  assert.ok(
    buf.every((b) => b === 0),
    'no zeros handed out as data (nothing copied in)',
  );
  out.close();
  input.close();
});

/**
 * One batch (write or read) racing a worker that truncates the ring file
 * to its data (the trailer gone, every data page kept, so the file still
 * shows what was published): the batch's outcome and the cursor in the
 * file. Each run has a ring file of its own.
 */
async function raceTruncation(
  side: 'write' | 'read',
  run: number,
  count: number,
  size: number,
): Promise<{ index: number; cursorBefore: number; cursorAfter: number; path: string; capacity: number; ok: boolean }> {
  const capacity = 1 << 22;
  const path = t.path(`race-${side}-${run}.ring`);
  const out = SharedRing.create(path, capacity).producer();
  const input = SharedRing.open(path).consumer();
  const msgs: Uint8Array[] = [];
  for (let i = 0; i < count; i++) msgs.push(fill(size, (i * 13 + 1) & 0xff));
  // A start away from 0, so the batch crosses the wrap point.
  const lead = capacity - 20_000;
  assert.equal(out.writeMessage(new Uint8Array(lead - 4)), lead - 4);
  assert.equal(input.readMessage(new Uint8Array(lead)), lead - 4);
  if (side === 'read') assert.equal(out.writeMessages(msgs), count);
  const control = new SharedArrayBuffer(12);
  const ctl = new Int32Array(control);
  const w = new TestWorker(workerUrl, { role: 'truncator', path, cut: HEADER + capacity, control } satisfies BatchJob);
  while (Atomics.load(ctl, 1) === 0) await new Promise((r) => setTimeout(r, 1));
  const word = side === 'write' ? W_TAIL : W_HEAD;
  const cursorBefore = fileWord(path, word);
  const target = new Uint8Array(count * size);
  const lengths = new Uint32Array(count);
  let index = -1;
  let ok = true;
  // A write is cut once its copy reached the frame of item count/2 (the
  // worker watches that frame's length word in the file), so the cut lands
  // mid-batch unless the remaining half is copied before the truncation
  // ends; a read cannot be watched that way and races as it comes.
  if (side === 'write') Atomics.store(ctl, 2, HEADER + ((cursorBefore + (count >> 1) * (size + 4)) % capacity));
  Atomics.store(ctl, 0, 1);
  try {
    const n = side === 'write' ? out.writeMessages(msgs) : input.readMessages(target, lengths);
    assert.equal(n, count);
  } catch (e) {
    assert.equal(code(e), 'ERR_MMAP_FAULT', String(e));
    index = (e as { itemIndex: number }).itemIndex;
    assert.ok(Number.isInteger(index) && index >= 0 && index < count, `itemIndex ${index}`);
  }
  assert.equal(await w.report<string>(), 'cut');
  const cursorAfter = fileWord(path, word);
  const done = index < 0 ? count : index;
  // Published (or released): the items before the failing one, none after.
  assert.equal((cursorAfter - cursorBefore) >>> 0, done * (size + 4), `${side}: cursor moved by ${done} frames`);
  if (side === 'write') {
    // Every published frame is whole in the file: its length and bytes.
    const bytes = fileData(path, capacity, cursorBefore, done * (size + 4));
    for (let i = 0; i < done && ok; i++) {
      const at = i * (size + 4);
      const len = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
      ok = len === size && bytes.subarray(at + 4, at + 4 + size).every((b) => b === ((i * 13 + 1) & 0xff));
    }
  } else {
    // The released messages were handed out whole, in order; none after.
    for (let i = 0; i < done && ok; i++) ok = lengths[i] === size && target.subarray(i * size, (i + 1) * size).every((b) => b === ((i * 13 + 1) & 0xff));
    ok &&= lengths.subarray(done).every((n) => n === 0);
  }
  out.close();
  input.close();
  return { index, cursorBefore, cursorAfter, path, capacity, ok };
}

for (const side of ['write', 'read'] as const) {
  test(
    `a ring file truncated during a batch ${side}: ERR_MMAP_FAULT with the index of the item being copied, the items before it ${side === 'write' ? 'published' : 'released'} whole, none after`,
    WORKER_TEST,
    async () => {
      let midBatch = 0;
      const outcomes: number[] = [];
      const deadline = performance.now() + 60_000;
      for (let run = 0; midBatch < 3 && run < 60 && performance.now() < deadline; run++) {
        const r = await raceTruncation(side, run, 16_000, 200);
        assert.ok(r.ok, `run ${run}: the items before ${r.index} are whole`);
        outcomes.push(r.index);
        if (r.index > 0) midBatch++;
      }
      // The cut landed inside a batch in some runs (a batch of 16,000 copies takes milliseconds).
      assert.ok(midBatch >= 1, `no run was cut mid-batch: item indexes ${outcomes.join(', ')} (-1: the batch ended first)`);
    },
  );
}

test(
  'writeMessages that sleeps on a full ring with a view of a growable SharedArrayBuffer that grows meanwhile: the message keeps its checked length, the next one is intact',
  WORKER_TEST,
  async () => {
    const path = t.path('grow.ring');
    const ring = SharedRing.create(path, 4096).consumer();
    const cap = ring.capacity;
    // Growable SharedArrayBuffers are newer than this project's TypeScript lib.
    const Growable = SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer & { grow(n: number): void };
    const sab = new Growable(100, { maxByteLength: 2000 });
    new Uint8Array(sab).fill(0xaa);
    // The producer fills the ring with two messages, then writes a batch whose
    // first message is a 100-byte length-tracking view of `sab`: it sleeps,
    // and the grow below happens during that sleep.
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads');
    import(workerData.url).then(({ SharedRing }) => {
      const ring = SharedRing.open(workerData.path).producer();
      ring.writeMessage(new Uint8Array(100).fill(0xf2));
      ring.writeMessage(new Uint8Array(workerData.cap - 108).fill(0xf1));
      let i = 0;
      const batch = [new Uint8Array(workerData.sab), 'next'];
      while (i < batch.length) i += ring.writeMessages(batch, i);
      ring.close();
    });`,
      { eval: true, workerData: { url: import.meta.resolve('ranged-mmap'), path, cap, sab } },
    );
    let failed: unknown;
    worker.on('error', (e) => (failed = e));
    const exited = new Promise((resolve) => worker.on('exit', resolve));
    try {
      await until(() => ring.readLen === cap || failed !== undefined, 'the producer to fill the ring', 20_000);
      await until(() => fileWord(path, W_PRODUCER_WAITING) === 1 || failed !== undefined, 'the producer to sleep on the full ring', 20_000);
      assert.equal(failed, undefined);
      sab.grow(2000);
      const buf = new Uint8Array(cap);
      const lengths = new Uint32Array(4);
      const got: string[] = [];
      const record = (count: number): void => {
        for (let k = 0, at = 0; k < count; at += lengths[k++]!) {
          const m = buf.subarray(at, at + lengths[k]!);
          got.push(`${m.length}:${m.length > 0 && m.every((b) => b === m[0]) ? m[0] : Buffer.from(m).toString()}`);
        }
      };
      // The first message alone: it frees 104 bytes, room for the 100-byte
      // message, not for the 2000 bytes the view has now (those would land
      // on the unread message after it).
      record(ring.readMessages(buf, lengths.subarray(0, 1)) ?? 0);
      // Read on only once the woken producer has put its message in.
      await until(() => ring.readLen === cap || failed !== undefined, 'the producer to write into the freed room', 20_000);
      for (;;) {
        const count = ring.readMessages(buf, lengths);
        if (count === null) break;
        record(count);
      }
      await exited;
      assert.equal(failed, undefined);
      assert.deepEqual(got, [`100:${0xf2}`, `${cap - 108}:${0xf1}`, `100:${0xaa}`, '4:next']);
    } finally {
      await worker.terminate();
      ring.close();
    }
  },
);
