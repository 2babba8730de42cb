// SharedRing batch message calls under attack: entries whose getters run
// user code (closing the ring, opening a writeMessageSlice view, shrinking
// or detaching an earlier entry's buffer, changing the array), lying typed
// arrays and odd values as entries, `start` of every wrong kind, read
// targets and lengths that are detached, proxies or views of the ring
// itself, async batches closed in the same turn or with their buffers
// transferred away, and a peer closing from another thread mid-batch.
// Every refused call must leave the ring file's data and cursors as they
// were, with a typed error naming the entry.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SharedRing, type SharedRingConsumer, type SharedRingProducer } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const t = tempDir('ranged-mmap-sring-batch-adv-');
after(() => t.cleanup());
const workers = new Set<Worker>();
afterEach(async () => {
  await Promise.all([...workers].map((w) => w.terminate()));
  workers.clear();
});

const HEADER = 4096;
const W_TAIL = 16;
const W_HEAD = 32;
let serial = 0;

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

/** assert.throws predicate: this code and this itemIndex (undefined: none). */
function fails(c: string, itemIndex: number | undefined, pattern?: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.equal(code(e), c, String(e));
    assert.equal((e as { itemIndex?: unknown }).itemIndex, itemIndex, `itemIndex of ${String(e)}`);
    if (pattern !== undefined) assert.match((e as Error).message, pattern);
    return true;
  };
}

/** A file-backed ring with a producer and a consumer (both in this thread), and a snapshot of its data and cursors. */
function fileRing(capacity = 4096): { path: string; out: SharedRingProducer; input: SharedRingConsumer; state: () => string } {
  const path = t.path(`ring-${serial++}`);
  SharedRing.create(path, capacity).close();
  const out = SharedRing.producer(path);
  const input = SharedRing.consumer(path);
  const state = (): string => {
    const f = readFileSync(path);
    const words = new Uint32Array(f.buffer, f.byteOffset, HEADER / 4);
    return `tail ${words[W_TAIL]} head ${words[W_HEAD]} data ${f.subarray(HEADER, HEADER + capacity).toString('hex')}`;
  };
  return { path, out, input, state };
}

/** Every message the consumer can read now, as arrays of bytes. */
function drain(input: SharedRingConsumer): number[][] {
  const got: number[][] = [];
  const buf = new Uint8Array(8192);
  const lengths = new Uint32Array(64);
  for (let count = input.tryReadMessages(buf, lengths); count > 0; count = input.tryReadMessages(buf, lengths)) {
    for (let k = 0, at = 0; k < count; at += lengths[k++]!) got.push([...buf.subarray(at, at + lengths[k]!)]);
  }
  return got;
}

/** An array whose entry `at` is a getter running `effect` and returning `value`. */
function withGetter(entries: unknown[], at: number, value: unknown, effect: () => void): unknown[] {
  const arr = [...entries];
  Object.defineProperty(arr, at, {
    enumerable: true,
    get() {
      effect();
      return value;
    },
  });
  return arr;
}

const asBatch = (a: unknown): Uint8Array[] => a as Uint8Array[];

/** A resizable ArrayBuffer (ES2024; the test's lib predates it). */
type Resizable = ArrayBuffer & { resize(length: number): void };
function resizable(length: number, maxByteLength: number): Resizable {
  return new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(length, { maxByteLength });
}

test('an entry getter shrinks or detaches an earlier entry after it was checked: ERR_MMAP_BUFFER_DETACHED at that entry, the file as it was', async () => {
  const { out, input, state } = fileRing();
  out.writeMessages([new Uint8Array([1, 2, 3])]);
  const kinds: [string, () => { entry: Uint8Array | Float64Array; change: () => void }][] = [
    [
      'a length-tracking view whose resizable buffer shrinks',
      () => {
        const ab = resizable(100, 200);
        return { entry: new Uint8Array(ab).fill(7), change: () => ab.resize(10) };
      },
    ],
    [
      'a fixed view whose resizable buffer shrinks under it',
      () => {
        const ab = resizable(100, 200);
        return { entry: new Uint8Array(ab, 0, 100).fill(7), change: () => ab.resize(50) };
      },
    ],
    [
      'a Uint8Array whose buffer is transferred',
      () => {
        const entry = new Uint8Array(100).fill(7);
        return { entry, change: () => structuredClone(entry.buffer, { transfer: [entry.buffer] }) };
      },
    ],
    [
      'a Float64Array whose buffer is transferred',
      () => {
        const entry = new Float64Array(10).fill(1);
        return { entry, change: () => structuredClone(entry.buffer, { transfer: [entry.buffer] }) };
      },
    ],
  ];
  for (const [what, make] of kinds) {
    const before = state();
    const { entry, change } = make();
    const batch = withGetter([new Uint8Array([9]), entry], 2, new Uint8Array([4, 4]), change);
    assert.throws(
      () => out.writeMessages(asBatch(batch)),
      fails('ERR_MMAP_BUFFER_DETACHED', 1, /messages\[1\] was \d+ bytes when it was checked and is \d+ now/),
      what,
    );
    assert.equal(state(), before, `${what}: the file's data and cursors`);
    const again = make();
    assert.throws(() => out.tryWriteMessages(asBatch(withGetter([again.entry], 1, 'x', again.change))), fails('ERR_MMAP_BUFFER_DETACHED', 0), what);
    assert.equal(state(), before, `${what}: the file's data and cursors (try form)`);
    // The async form copies each entry as it reads it: the copy goes whole.
    const third = make();
    const size = third.entry.byteLength;
    assert.equal(await out.writeMessagesAsync(asBatch(withGetter([third.entry], 1, 'x', third.change))), 2, what);
    const got = drain(input);
    assert.equal(got.length, 3, what);
    assert.deepEqual(got[0], [1, 2, 3]);
    assert.equal(got[1]!.length, size, `${what}: the async copy`);
    assert.deepEqual(got[2], [120]);
    out.writeMessages([new Uint8Array([1, 2, 3])]);
  }
  out.close();
  input.close();
});

test('an entry getter closes the producer: ERR_MMAP_CLOSED, nothing written (sync, try and async forms, and through the typed end)', async () => {
  for (const form of ['writeMessages', 'tryWriteMessages', 'writeMessagesAsync'] as const) {
    const { out, input, state } = fileRing();
    const before = state();
    const batch = asBatch(withGetter([new Uint8Array(40).fill(1)], 1, new Uint8Array(40).fill(2), () => out.close()));
    if (form === 'writeMessagesAsync') await assert.rejects(out.writeMessagesAsync(batch), fails('ERR_MMAP_CLOSED', undefined), form);
    else assert.throws(() => out[form](batch), fails('ERR_MMAP_CLOSED', undefined), form);
    assert.equal(state(), before, `${form}: the file's data and cursors`);
    assert.equal(input.readLen, 0, form);
    assert.equal(input.ended, true, `${form}: the producer's close is the end of the stream`);
    input.close();
  }
});

test('an entry getter opens a writeMessageSlice view: the batch ends it (commitMessage then fails) and the consumer reads the batch intact', () => {
  const { out, input, state } = fileRing();
  let view: Uint8Array | undefined;
  const batch = asBatch(
    withGetter([new Uint8Array([1, 1, 1, 1])], 1, new Uint8Array([2, 2, 2]), () => {
      view = out.writeMessageSlice(8);
    }),
  );
  assert.equal(out.writeMessages(batch), 2);
  // (Writing into `view` now would write over the batch's bytes, as after any whole write: the view is ended, not detached.)
  assert.equal(view?.length, 8);
  const afterBatch = state();
  assert.throws(() => out.commitMessage(), fails('ERR_MMAP_INVALID_STATE', undefined, /none is open/));
  // The view pointed at the free space the batch wrote; the batch's bytes are the ones in the ring.
  assert.equal(state().split(' data ')[0], afterBatch.split(' data ')[0], 'no publish by commitMessage');
  assert.deepEqual(drain(input), [
    [1, 1, 1, 1],
    [2, 2, 2],
  ]);
  out.close();
  input.close();
});

test('the array changes under the batch: an entry appended by a getter is not written, an entry replaced after it was read is written as read, each entry read once', () => {
  const { out, input } = fileRing();
  const first = new Uint8Array([1]);
  const arr: unknown[] = [first, 'b'];
  Object.defineProperty(arr, 1, {
    enumerable: true,
    get() {
      arr.push(new Uint8Array([3]));
      arr[0] = new Uint8Array([0xee]);
      return 'b';
    },
  });
  assert.equal(out.writeMessages(asBatch(arr)), 2, 'the length is read once, first');
  assert.deepEqual(drain(input), [[1], [98]]);
  // A Proxy over an array: each entry is read exactly once, length once.
  const reads = new Map<PropertyKey, number>();
  const proxy = new Proxy([new Uint8Array([5]), 'xy', new Uint8Array([6])], {
    get(target, key, receiver) {
      reads.set(key, (reads.get(key) ?? 0) + 1);
      return Reflect.get(target, key, receiver);
    },
  });
  assert.equal(out.writeMessages(asBatch(proxy), 1), 2);
  assert.deepEqual(
    [...reads].filter(([k]) => k === 'length' || k === '0' || k === '1' || k === '2'),
    [
      ['length', 1],
      ['1', 1],
      ['2', 1],
    ],
  );
  assert.deepEqual(drain(input), [[120, 121], [6]]);
  out.close();
  input.close();
});

test('an entry getter writes to the same ring (a nested batch and a single message): those go first, then the batch, every frame whole', () => {
  const { out, input } = fileRing();
  const batch = asBatch(
    withGetter([new Uint8Array([1])], 1, new Uint8Array([2]), () => {
      assert.equal(out.writeMessages([new Uint8Array([7, 7])]), 1);
      out.writeMessage('z');
    }),
  );
  assert.equal(out.writeMessages(batch), 2);
  assert.deepEqual(drain(input), [[7, 7], [122], [1], [2]]);
  assert.equal(input.readLen, 0);
  out.close();
  input.close();
});

test('entries of every odd kind: lying typed arrays go by their real bytes, the rest are refused at their index with the ring unchanged', () => {
  const { out, input, state } = fileRing();
  const lying = new Uint8Array([1, 2, 3]);
  Object.defineProperty(lying, 'byteLength', { get: () => 1000 });
  Object.defineProperty(lying, 'length', { get: () => 1000 });
  class Liar extends Uint8Array {
    override get length(): number {
      return 0;
    }
    override get byteLength(): number {
      return 0;
    }
  }
  const odd = new Uint8Array(16).map((_, i) => i);
  const sab = new Uint8Array(new SharedArrayBuffer(4)).fill(0x5a);
  const growing = new (SharedArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => SharedArrayBuffer)(2, { maxByteLength: 64 });
  new Uint8Array(growing).fill(0x11);
  const entries: unknown[] = [
    lying,
    Liar.from([4, 5]),
    new DataView(odd.buffer, 3, 5),
    new Uint16Array(odd.buffer, 2, 1),
    new Uint8Array(0),
    sab,
    new Uint8Array(growing),
    '',
    '\ud800x\udfff',
  ];
  assert.equal(out.writeMessages(asBatch(entries)), entries.length);
  assert.deepEqual(drain(input), [
    [1, 2, 3],
    [4, 5],
    [3, 4, 5, 6, 7],
    [2, 3],
    [],
    [0x5a, 0x5a, 0x5a, 0x5a],
    [0x11, 0x11],
    [],
    [0xef, 0xbf, 0xbd, 0x78, 0xef, 0xbf, 0xbd],
  ]);
  const before = state();
  const a = new Uint8Array([1]);
  const refused: [unknown[], number, string][] = [
    [[a, new Proxy(new Uint8Array(4), {})], 1, 'ERR_INVALID_ARG_TYPE'],
    // biome-ignore lint/suspicious/noSparseArray: a hole is the probe
    [[a, , a], 1, 'ERR_INVALID_ARG_TYPE'],
    [[a, a, 1n], 2, 'ERR_INVALID_ARG_TYPE'],
    [[a, Symbol('s')], 1, 'ERR_INVALID_ARG_TYPE'],
    [[a, { byteLength: 1, 0: 1 }], 1, 'ERR_INVALID_ARG_TYPE'],
    [[a, new ArrayBuffer(4)], 1, 'ERR_INVALID_ARG_TYPE'],
    [[a, 'x'.repeat(5000)], 1, 'ERR_MMAP_RING_FULL'],
    [[a, new Uint8Array(5000), a], 1, 'ERR_MMAP_RING_FULL'],
  ];
  for (const [batch, index, c] of refused) {
    assert.throws(() => out.writeMessages(asBatch(batch)), fails(c, index), `${c} at ${index}`);
    assert.throws(() => out.tryWriteMessages(asBatch(batch)), fails(c, index), `${c} at ${index} (try)`);
    assert.equal(state(), before, `${c} at ${index}: the file's data and cursors`);
  }
  for (const notArray of [
    new Set([a]),
    { length: 1, 0: a },
    'ab',
    null,
    undefined,
    (function* () {
      yield a;
    })(),
  ]) {
    assert.throws(() => out.writeMessages(asBatch(notArray)), fails('ERR_INVALID_ARG_TYPE', undefined, /"messages" argument/));
  }
  for (const start of [-1, 2, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 1n, '1', null, {}, 2 ** 53]) {
    assert.throws(() => out.writeMessages([a], start as number), fails('ERR_OUT_OF_RANGE', undefined, /"start"/), String(start));
  }
  assert.equal(state(), before);
  assert.equal(out.writeMessages([a, a], 2), 0, 'start at the length: nothing to write');
  out.close();
  input.close();
});

test('batch reads with odd targets and lengths: typed errors naming the argument, nothing read; views of the ring itself or of each other do not corrupt it', async () => {
  const { out, input, state } = fileRing();
  out.writeMessages([new Uint8Array(10).fill(1), new Uint8Array(10).fill(2), new Uint8Array(10).fill(3)]);
  const before = state();
  const detachedTarget = new Uint8Array(16);
  structuredClone(detachedTarget.buffer, { transfer: [detachedTarget.buffer] });
  const detachedLengths = new Uint32Array(4);
  structuredClone(detachedLengths.buffer, { transfer: [detachedLengths.buffer] });
  const cases: [unknown, unknown, string, RegExp][] = [
    [detachedTarget, new Uint32Array(4), 'ERR_MMAP_BUFFER_DETACHED', /^target is a view of a detached/],
    [new Uint8Array(64), detachedLengths, 'ERR_MMAP_BUFFER_DETACHED', /^lengths is a view of a detached/],
    [new Proxy(new Uint8Array(64), {}), new Uint32Array(4), 'ERR_INVALID_ARG_TYPE', /"target"/],
    ['abc', new Uint32Array(4), 'ERR_INVALID_ARG_TYPE', /"target"/],
    [undefined, new Uint32Array(4), 'ERR_INVALID_ARG_TYPE', /"target"/],
    [new Uint8Array(64), new Proxy(new Uint32Array(4), {}), 'ERR_INVALID_ARG_TYPE', /"lengths"/],
    [new Uint8Array(64), new BigUint64Array(2), 'ERR_INVALID_ARG_TYPE', /"lengths"/],
    [new Uint8Array(64), new DataView(new ArrayBuffer(16)), 'ERR_INVALID_ARG_TYPE', /"lengths"/],
  ];
  for (const [target, lengths, c, pattern] of cases) {
    assert.throws(() => input.readMessages(target as Uint8Array, lengths as Uint32Array), fails(c, undefined, pattern));
    assert.throws(() => input.tryReadMessages(target as Uint8Array, lengths as Uint32Array), fails(c, undefined, pattern));
    await assert.rejects(input.readMessagesAsync(target as Uint8Array, lengths as Uint32Array), fails(c, undefined, pattern));
    assert.equal(state(), before, `${c} ${pattern}: nothing read`);
  }
  assert.equal(input.readMessages(new Uint8Array(64), new Uint32Array(0)), 0, 'an empty lengths array reads nothing');
  // Lengths and target over the same memory: the caller's bytes are mixed, the ring is not.
  const shared = new Uint32Array(16);
  assert.equal(input.readMessages(new Uint8Array(shared.buffer), shared.subarray(0, 1)), 1);
  assert.equal(shared[0], 10);
  // A target that is readMessageSlice's view of the next message in the ring.
  const view = input.readMessageSlice()!;
  assert.deepEqual([...view], new Array(10).fill(2));
  const lengths = new Uint32Array(4);
  assert.equal(input.readMessages(view, lengths), 1);
  assert.equal(lengths[0], 10);
  assert.deepEqual(drain(input), [new Array(10).fill(3)]);
  // The ring goes on: a batch written from a writeMessageSlice view of its own free space.
  // The entries overlap where their frames go (each lands 4 bytes on): every byte must still arrive in order.
  const free = out.writeMessageSlice(20);
  for (let i = 0; i < 20; i++) free[i] = i;
  assert.equal(out.writeMessages([free.subarray(0, 7), free.subarray(7, 20)]), 2);
  assert.throws(() => out.commitMessage(), fails('ERR_MMAP_INVALID_STATE', undefined));
  assert.deepEqual(drain(input), [
    [0, 1, 2, 3, 4, 5, 6],
    [7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
  ]);
  out.close();
  input.close();
});

test('async batches closed in the same turn as the call (room or messages already there): ERR_MMAP_CLOSED, nothing written or read; single and stream async forms too', async () => {
  {
    const { out, input, state } = fileRing();
    const before = state();
    const p = out.writeMessagesAsync([new Uint8Array(5).fill(1)]);
    out.close();
    await assert.rejects(p, fails('ERR_MMAP_CLOSED', undefined));
    assert.equal(state(), before);
    input.close();
  }
  {
    const { out, input, state } = fileRing();
    const before = state();
    const p = out.writeMessageAsync(new Uint8Array(5).fill(1));
    out.close();
    await assert.rejects(p, fails('ERR_MMAP_CLOSED', undefined));
    assert.equal(state(), before);
    input.close();
  }
  {
    const { out, input, state } = fileRing();
    out.writeMessages(['abc']);
    const before = state();
    const batch = input.readMessagesAsync(new Uint8Array(10), new Uint32Array(2));
    input.close();
    await assert.rejects(batch, fails('ERR_MMAP_CLOSED', undefined));
    assert.equal(state(), before, 'the head did not move');
    out.close();
  }
  {
    const { out, input, state } = fileRing();
    out.writeMessages(['abc']);
    const before = state();
    const single = input.readMessageAsync(new Uint8Array(10));
    input.close();
    await assert.rejects(single, fails('ERR_MMAP_CLOSED', undefined));
    assert.equal(state(), before, 'the head did not move');
    out.close();
  }
  {
    const ring = new SharedRing(4096);
    const reader = SharedRing.fromShared(ring.share());
    const w = ring.writeAsync(new Uint8Array(10).fill(3));
    ring.close();
    await assert.rejects(w, fails('ERR_MMAP_CLOSED', undefined));
    assert.equal(reader.readLen, 0);
    reader.close();
    const ring2 = new SharedRing(4096);
    const reader2 = SharedRing.fromShared(ring2.share());
    ring2.write(new Uint8Array(10));
    const r = reader2.readAsync(new Uint8Array(10));
    reader2.close();
    await assert.rejects(r, fails('ERR_MMAP_CLOSED', undefined));
    ring2.close();
  }
});

test('async batches whose buffers are transferred away after the call: a write sends the bytes taken at the call, a read fails ERR_MMAP_BUFFER_DETACHED and reads nothing', async () => {
  const { out, input, state } = fileRing();
  out.writeMessages([new Uint8Array(4000)]);
  const m = new Uint8Array(500).fill(4);
  const pending = out.writeMessagesAsync([m, 'x']);
  structuredClone(m.buffer, { transfer: [m.buffer] });
  assert.equal(input.readMessages(new Uint8Array(4096), new Uint32Array(1)), 1);
  assert.equal(await pending, 2);
  const got = drain(input);
  assert.deepEqual(
    got.map((g) => g.length),
    [500, 1],
  );
  assert.ok(got[0]!.every((b) => b === 4));
  for (const which of ['target', 'lengths', 'shrunk target'] as const) {
    const ab = resizable(64, 64);
    const target = which === 'shrunk target' ? new Uint8Array(ab) : new Uint8Array(64);
    const lengths = new Uint32Array(4);
    const read = input.readMessagesAsync(target, lengths);
    if (which === 'target') structuredClone(target.buffer, { transfer: [target.buffer] });
    else if (which === 'lengths') structuredClone(lengths.buffer, { transfer: [lengths.buffer] });
    else ab.resize(8);
    out.writeMessages([new Uint8Array(20).fill(8)]);
    const before = state();
    await assert.rejects(read, fails('ERR_MMAP_BUFFER_DETACHED', undefined), which);
    assert.equal(state(), before, `${which}: nothing read`);
    assert.deepEqual(drain(input), [new Array(20).fill(8)], which);
  }
  out.close();
  input.close();
});

/** Runs `body` (CommonJS, with `SharedRing`, `workerData` and `parentPort` in scope) in a worker. */
function worker(body: string, workerData: unknown): Worker {
  const w = new Worker(`const { SharedRing } = require('ranged-mmap'); const { workerData, parentPort } = require('node:worker_threads');\n${body}`, {
    eval: true,
    workerData,
  });
  workers.add(w);
  return w;
}

function message<T>(w: Worker): Promise<T> {
  return new Promise((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (c) => reject(new Error(`worker exited with ${c} before answering`)));
  });
}

test('the consumer closes in another thread while a batch write sleeps on the full ring (and a batch read sleeps on the empty one): ERR_MMAP_PEER_GONE within seconds', {
  timeout: 60_000,
}, async () => {
  const ring = new SharedRing(4096);
  // The sleeping batch runs in a worker: a missing wake-up fails this test by its deadline, it cannot hang the file.
  const writer = worker(
    `const out = SharedRing.fromShared(workerData).producer();
     out.writeMessages([new Uint8Array(4000)]);
     parentPort.postMessage('full');
     const t0 = Date.now();
     try { out.writeMessages([new Uint8Array(500), new Uint8Array(500)]); parentPort.postMessage({ code: 'none' }); }
     catch (e) { parentPort.postMessage({ code: e.code, itemIndex: e.itemIndex, ms: Date.now() - t0 }); }`,
    ring.share(),
  );
  const input = SharedRing.fromShared(ring.share()).consumer();
  assert.equal(await message(writer), 'full');
  const result = message<{ code: string; itemIndex?: number; ms: number }>(writer);
  // Give the writer time to fall asleep (not needed for correctness: a close before it sleeps is seen the same way).
  await new Promise((r) => setTimeout(r, 100));
  input.close();
  const got = await result;
  assert.equal(got.code, 'ERR_MMAP_PEER_GONE');
  assert.ok(got.ms < 30_000, `woken after ${got.ms} ms`);
  ring.close();

  const ring2 = new SharedRing(4096);
  const reader = worker(
    `const input = SharedRing.fromShared(workerData).consumer();
     parentPort.postMessage('ready');
     const got = [];
     const buf = new Uint8Array(8192); const lengths = new Uint32Array(8);
     for (let c; (c = input.readMessages(buf, lengths)) !== null; ) for (let k = 0; k < c; k++) got.push(lengths[k]);
     parentPort.postMessage(got);`,
    ring2.share(),
  );
  const out = SharedRing.fromShared(ring2.share()).producer();
  assert.equal(await message(reader), 'ready');
  const lens = message<number[]>(reader);
  await new Promise((r) => setTimeout(r, 100));
  out.writeMessages([new Uint8Array(3), new Uint8Array(0), new Uint8Array(7)]);
  out.close();
  assert.deepEqual(await lens, [3, 0, 7], 'every message, then the end of the stream');
  ring2.close();
});
