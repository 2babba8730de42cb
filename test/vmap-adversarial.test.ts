// Adversarial probes (ATTACKS.md) over every public vmap call: wrong types
// (Symbols, bigints, strings, objects), NaN, 2**53, negative and fractional
// numbers, objects with valueOf or getters, lying typed arrays (an own
// byteLength getter, a subclass overriding length/subarray/set, a Proxy, a
// DataView, a detached buffer, a shrunk resizable buffer), and close()
// while async calls are in flight. Every bad input must be a typed error
// (an MmapError code or Node's ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE /
// ERR_INVALID_ARG_VALUE shape), no user code may run, and nothing may
// change: ring cursors, ring contents and file bytes are compared after
// every refused call.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { BufReader, BufWriter, Flush, InfiniteRing, MemoryMap, MemoryMapMut, MmapError, Ring, SharedRing } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const t = tempDir('ranged-mmap-vmap-adv-');
after(() => t.cleanup());

/** How many times user code (valueOf, toString, getters, traps) ran. */
let userCode = 0;
const sneaky = () => ({
  valueOf() {
    userCode++;
    return 8;
  },
  toString() {
    userCode++;
    return '8';
  },
  [Symbol.toPrimitive]() {
    userCode++;
    return 8;
  },
});

/** Values that are never a valid count, offset, length, capacity or descriptor. */
function badNumbers(): unknown[] {
  return [
    Symbol('n'),
    Number.NaN,
    2 ** 53,
    -1,
    1.5,
    Number.POSITIVE_INFINITY,
    -1n,
    2n ** 64n,
    '8',
    null,
    true,
    [8],
    {},
    sneaky(),
    Object.defineProperty({}, 'value', {
      get() {
        userCode++;
        return 8;
      },
    }),
    () => 8,
  ];
}

/** Values that are never bytes. */
function badBytes(): unknown[] {
  const proxy = new Proxy(new Uint8Array(8), {
    get(target, key) {
      userCode++;
      return Reflect.get(target, key);
    },
  });
  const fake = {
    get byteLength() {
      userCode++;
      return 8;
    },
    get length() {
      userCode++;
      return 8;
    },
    buffer: new ArrayBuffer(8),
    byteOffset: 0,
  };
  return [Symbol('b'), 8, 8n, null, {}, [1, 2, 3], proxy, fake, new ArrayBuffer(8), sneaky()];
}

// ERR_INVALID_URL_SCHEME: what fs itself throws for a URL that is not file:.
const NODE_CODES = new Set(['ERR_INVALID_ARG_TYPE', 'ERR_OUT_OF_RANGE', 'ERR_INVALID_ARG_VALUE', 'ERR_INVALID_URL_SCHEME']);

function assertTyped(e: unknown, what: string): void {
  assert.ok(e instanceof Error, `${what}: threw a non-Error ${String(e)}`);
  const code = (e as { code?: unknown }).code;
  assert.ok(
    // An MmapError: an ERR_MMAP_* code, or a system one (EBADF, EINVAL, ...) with errno and syscall.
    (e instanceof MmapError && typeof code === 'string' && (code.startsWith('ERR_MMAP_') || /^E[A-Z]+$/.test(code))) ||
      (typeof code === 'string' && NODE_CODES.has(code)),
    `${what}: untyped error ${String(code)}: ${(e as Error).message}`,
  );
  if (NODE_CODES.has(code as string)) assert.ok(e instanceof TypeError || e instanceof RangeError, `${what}: ${String(code)} is not a TypeError/RangeError`);
}

/** The call must be refused with a typed error, synchronously or as a rejection. */
async function refused(what: string, fn: () => unknown): Promise<void> {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    assertTyped(e, what);
    return;
  }
  if (result instanceof Promise) {
    await assert.rejects(result, (e: unknown) => {
      assertTyped(e, what);
      return true;
    });
    return;
  }
  assert.fail(`${what}: accepted, returned ${String(result)}`);
}

function describe(v: unknown): string {
  if (typeof v === 'symbol') return 'Symbol';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return 'function';
  // No toString or toStringTag lookup: that would run a Proxy's trap here.
  return typeof v === 'object' && v !== null ? (Array.isArray(v) ? 'array' : 'object') : String(v);
}

function ringState(r: Ring | InfiniteRing): string {
  const view = r.readSlice();
  return `${r.readLen}/${r.writeLen}/${Buffer.from(view).toString('hex')}`;
}

test('Ring and InfiniteRing: every call refuses bad values with typed errors, runs no user code, changes nothing', async () => {
  userCode = 0;
  for (const Kind of [Ring, InfiniteRing]) {
    for (const v of badNumbers()) await refused(`new ${Kind.name}(${describe(v)})`, () => new Kind(v as number));
    const r = new Kind(4096);
    try {
      r.write('abc\ndef');
      const before = ringState(r);
      for (const v of badNumbers()) {
        await refused(`${Kind.name}.commit(${describe(v)})`, () => r.commit(v as number));
        await refused(`${Kind.name}.consume(${describe(v)})`, () => r.consume(v as number));
        assert.equal(ringState(r), before);
      }
      for (const v of badBytes()) {
        await refused(`${Kind.name}.write(${describe(v)})`, () => r.write(v as Uint8Array));
        await refused(`${Kind.name}.read(${describe(v)})`, () => r.read(v as Uint8Array));
        assert.equal(ringState(r), before);
      }
      // Past the ends: more than readable, more than free.
      await refused(`${Kind.name}.consume(too many)`, () => r.consume(r.readLen + 1));
      await refused(`${Kind.name}.commit(too many)`, () => r.commit(r.capacity + 1));
      assert.equal(ringState(r), before);
    } finally {
      r.close();
    }
    // Closed: every call is ERR_MMAP_CLOSED, closing again is harmless.
    for (const call of [
      () => r.write('x'),
      () => r.read(new Uint8Array(1)),
      () => r.readLine(),
      () => r.readSlice(),
      () => r.writeSlice(),
      () => r.consume(0),
      () => r.commit(0),
    ]) {
      assert.throws(call, (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_CLOSED');
    }
    r.close();
  }
  assert.equal(userCode, 0, 'user code ran');
});

test('lying typed arrays are read by their internal slots: own byteLength, subclass overrides, DataView, resizable', () => {
  userCode = 0;
  const r = new Ring(4096);
  try {
    // An own byteLength/length getter that lies: the real 4 bytes are written.
    const liar = new Uint8Array([1, 2, 3, 4]);
    Object.defineProperty(liar, 'byteLength', {
      get() {
        userCode++;
        return 4096;
      },
    });
    Object.defineProperty(liar, 'length', {
      get() {
        userCode++;
        return 4096;
      },
    });
    assert.equal(r.write(liar), 4);
    // A subclass whose length/subarray/set lie or throw.
    class Evil extends Uint8Array {
      override get length(): number {
        userCode++;
        return 1 << 20;
      }
      override subarray(): Uint8Array<ArrayBuffer> {
        userCode++;
        throw new Error('subarray ran');
      }
      override set(): void {
        userCode++;
        throw new Error('set ran');
      }
    }
    const evil = new Evil(3);
    evil.fill(9);
    assert.equal(r.write(evil), 3);
    // A DataView and a Float64Array: their bytes.
    assert.equal(r.write(new DataView(new ArrayBuffer(2)) as unknown as Uint8Array), 2);
    assert.equal(r.write(new Float64Array(1) as unknown as Uint8Array), 8);
    const out = new Uint8Array(17);
    assert.equal(r.read(out), 17);
    assert.deepEqual([...out.subarray(0, 7)], [1, 2, 3, 4, 9, 9, 9]);
    // Reading into a lying subclass: by its real length, no override runs.
    r.write(new Uint8Array([7, 7, 7, 7, 7]));
    const target = new Evil(2);
    assert.equal(r.read(target), 2);
    assert.equal(r.readLen, 3);
    // A detached view is refused and changes nothing.
    const ab = new ArrayBuffer(4);
    const view = new Uint8Array(ab);
    structuredClone(ab, { transfer: [ab] });
    assert.throws(
      () => r.write(view),
      (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_BUFFER_DETACHED',
    );
    assert.throws(
      () => r.read(view),
      (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_BUFFER_DETACHED',
    );
    assert.equal(r.readLen, 3);
    // A view at an odd byteOffset, a view on a SharedArrayBuffer, zero length.
    const sab = new Uint8Array(new SharedArrayBuffer(8)).fill(6);
    assert.equal(r.write(new Uint8Array(sab.buffer, 3, 2)), 2);
    assert.equal(r.write(new Uint8Array(0)), 0);
    assert.equal(r.read(new Uint8Array(0)), 0);
    assert.equal(r.readLen, 5);
    const two = new Uint8Array(new ArrayBuffer(9), 7, 2);
    assert.equal(r.read(two), 2);
    assert.deepEqual([...two], [7, 7]);
    assert.equal(r.read(new Uint8Array(new SharedArrayBuffer(8), 1, 3)), 3);
    r.write(new Uint8Array([7, 7, 7]));
    // A view of a MemoryMap closed before the call: detached, refused, nothing changed.
    const gone = MemoryMap.withOptions().alloc();
    const goneView = gone.bytes.subarray(0, 4);
    gone.close();
    assert.throws(
      () => r.write(goneView),
      (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_BUFFER_DETACHED',
    );
    assert.equal(r.readLen, 3);
    // A length-tracking view of a resizable buffer shrunk to 1 byte: 1 byte.
    const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(8, {
      maxByteLength: 16,
    });
    const tracking = new Uint8Array(rab);
    rab.resize(1);
    assert.equal(r.read(tracking), 1);
    assert.equal(r.readLen, 2);
  } finally {
    r.close();
  }
  assert.equal(userCode, 0, 'user code ran');
});

test('MemoryMap / MemoryMapMut: builder, open, map, flush and flushRange refuse bad values, run no user code, change no file', async () => {
  userCode = 0;
  const path = t.path('adv.bin');
  const content = Buffer.from('0123456789abcdef'.repeat(512));
  writeFileSync(path, content);
  for (const v of badNumbers()) {
    await refused(`offset(${describe(v)})`, () => MemoryMap.withOptions().offset(v as number));
    if (v !== 'end') await refused(`len(${describe(v)})`, () => MemoryMap.withOptions().len(v as number));
    await refused(`map(fd ${describe(v)})`, () => MemoryMap.withOptions().map(v as number));
  }
  await refused('len(0)', () => MemoryMap.withOptions().len(0));
  await refused("len('END')", () => MemoryMap.withOptions().len('END' as 'end'));
  for (const p of [Symbol('p'), 8, null, {}, '', 'a\0b', new URL('http://x/y'), sneaky()]) {
    await refused(`open(${describe(p)})`, () => MemoryMap.withOptions().open(p as string));
  }
  // Paths: a Buffer, a file: URL with %00, a directory, a relative path that does not exist.
  await refused('open(Buffer path)', () => MemoryMap.withOptions().open(Buffer.from(path) as never));
  await refused('open(file URL with %00)', () => MemoryMap.withOptions().open(new URL('file:///tmp/a%00b')));
  await refused('open(directory)', () => MemoryMap.withOptions().open(t.dir));
  await refused('open(relative, missing)', () => MemoryMap.withOptions().open('no-such-file-here.bin'));
  await refused('create+write(directory)', () => MemoryMapMut.withOptions().create().len(10).open(t.dir));
  // Descriptors that are numbers but not open, or not mappable.
  await refused('map(fd 2**31)', () => MemoryMap.withOptions().map(2 ** 31));
  await refused('map(closed fd)', () => {
    const fd = openSync(path, 'r');
    closeSync(fd);
    return MemoryMap.withOptions().map(fd);
  });
  const fd = openSync(path, 'r+');
  try {
    const m = MemoryMapMut.withOptions().offset(3).len(100).map(fd);
    try {
      m.bytes[0] = 0x41;
      for (const v of badNumbers()) {
        await refused(`flush(fd ${describe(v)})`, () => m.flush(v as number, Flush.Sync));
        await refused(`flushRange(offset ${describe(v)})`, () => m.flushRange(fd, v as number, 1, Flush.Sync));
        await refused(`flushRange(len ${describe(v)})`, () => m.flushRange(fd, 0, v as number, Flush.Sync));
        await refused(`flush(mode ${describe(v)})`, () => m.flush(fd, v as never));
      }
      await refused('flushRange past the end', () => m.flushRange(fd, 50, 51, Flush.Async));
      await refused('flush(mode "SYNC")', () => m.flush(fd, 'SYNC' as never));
      assert.equal(m.length, 100);
      m.close();
      // Closed: typed errors, closing twice is harmless.
      await refused('flush after close', () => m.flush(fd, Flush.Sync));
      await refused('intoMap after close', () => m.intoMap());
      m.close();
      await refused('bytes after close', () => m.bytes);
    } finally {
      m.close();
    }
  } finally {
    closeSync(fd);
  }
  // A read-only map of the same file: intoMapMut refused, the map stays usable.
  const map = MemoryMap.withOptions().open(path);
  try {
    await refused('intoMapMut without write()', () => map.intoMapMut());
    assert.equal(map.bytes[0], content[0]);
  } finally {
    map.close();
  }
  // The only store (through the MemoryMapMut, before the refused calls) reached the file; nothing else changed.
  const expected = Buffer.from(content);
  expected[3] = 0x41;
  assert.deepEqual(readFileSync(path), expected);
  assert.equal(userCode, 0, 'user code ran');
});

test('BufReader / BufWriter: constructors and calls refuse bad values with typed errors; close while calls are in flight rejects them', async () => {
  userCode = 0;
  for (const v of [Symbol('s'), -1, 1.5, Number.NaN, 2 ** 53, 2 ** 31, null, 8n, {}, 'fd', sneaky()]) {
    await refused(`new BufReader(${describe(v)})`, () => new BufReader(v as number));
    await refused(`new BufWriter(${describe(v)})`, () => new BufWriter(v as number));
  }
  const path = t.path('buf.bin');
  writeFileSync(path, 'line 1\nline 2\n');
  const fd = openSync(path, 'r');
  try {
    for (const v of badNumbers()) {
      if (v === null) continue; // capacity is optional
      await refused(`new BufWriter(fd, ${describe(v)})`, () => new BufWriter(fd, v as number));
      await refused(`new BufReader(fd, { capacity: ${describe(v)} })`, () => new BufReader(fd, { capacity: v as number }));
      // A plain object in the capacity's place is BufReader's options object.
      if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) continue;
      await refused(`new BufReader(fd, ${describe(v)})`, () => new BufReader(fd, v as number));
    }
    const reader = new BufReader(fd, 4096);
    try {
      assert.equal(await reader.readLine(), 'line 1\n');
      for (const v of badNumbers()) await refused(`BufReader.consume(${describe(v)})`, () => reader.consume(v as number));
      for (const v of badBytes()) await refused(`BufReader.read(${describe(v)})`, () => reader.read(v as Uint8Array));
      await refused('BufReader.consume(too many)', () => reader.consume(reader.buffered + 1));
      assert.equal(await reader.readLine(), 'line 2\n');
    } finally {
      reader.close();
    }
    await refused('BufReader.readLine after close', () => reader.readLine());
    await refused('BufReader.fillBuf after close', () => reader.fillBuf());
  } finally {
    closeSync(fd);
  }
  // A writer whose sink never drains: a pending write is rejected by close
  // only after the ring could not be flushed; the process stays alive.
  const chunks: Buffer[] = [];
  const { Writable } = await import('node:stream');
  const sink = new Writable({
    highWaterMark: 1,
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      setImmediate(cb);
    },
  });
  const writer = new BufWriter(sink, 4096);
  for (const v of badBytes()) await refused(`BufWriter.write(${describe(v)})`, () => writer.write(v as Uint8Array));
  assert.equal(writer.buffered, 0);
  const big = new Uint8Array(3 * 4096).fill(5);
  const pending = writer.write(big);
  await writer.close();
  await pending.then(
    (n) => assert.equal(n, big.length),
    (e: unknown) => assertTyped(e, 'write pending at close'),
  );
  await refused('BufWriter.write after close', () => writer.write('x'));
  await refused('BufWriter.flush after close', () => writer.flush());
  assert.equal(userCode, 0, 'user code ran');
});

test('SharedRing: every call refuses bad values with typed errors, runs no user code, and moves no cursor', async () => {
  userCode = 0;
  for (const v of badNumbers()) {
    await refused(`new SharedRing(${describe(v)})`, () => new SharedRing(v as number));
    await refused(`SharedRing.create(path, ${describe(v)})`, () => SharedRing.create(t.path(`sr-${Math.random()}.ring`), v as number));
  }
  await refused('new SharedRing(0)', () => new SharedRing(0));
  await refused('new SharedRing(2**30 + 1)', () => new SharedRing(2 ** 30 + 1));
  for (const h of [
    Symbol('h'),
    null,
    8,
    {},
    { kind: 'ranged-mmap:shared-ring', key: -1 },
    { kind: 'ranged-mmap:shared-ring', key: 2 ** 53 },
    { kind: 'ranged-mmap:shared-ring', key: Number.NaN },
    { kind: 'ranged-mmap:shared-ring', key: 123456789 },
    { kind: 'ranged-mmap:shared-ring', key: 1.5 },
    {
      kind: 'ranged-mmap:shared-ring',
      get key() {
        throw new Error('getter');
      },
    },
    new Proxy(
      {},
      {
        get() {
          throw new Error('trap');
        },
      },
    ),
  ]) {
    await refused(`SharedRing.fromShared(${describe(h)})`, () => SharedRing.fromShared(h as never));
  }
  for (const p of [Symbol('p'), 8, null, '', 'a\0b']) {
    await refused(`SharedRing.open(${describe(p)})`, () => SharedRing.open(p as string));
    await refused(`SharedRing.create(${describe(p)})`, () => SharedRing.create(p as string, 4096));
  }
  await refused('SharedRing.create(mode bad)', () => SharedRing.create(t.path('m.ring'), 4096, { mode: -1 }));
  await refused('SharedRing.create(mode symbol)', () => SharedRing.create(t.path('m.ring'), 4096, { mode: Symbol('m') as never }));
  await refused('SharedRing.open(not a ring)', () => {
    const p = t.path('not-a-ring.bin');
    writeFileSync(p, Buffer.alloc(3 * 4096));
    return SharedRing.open(p);
  });

  const producer = new SharedRing(4096);
  const consumer = SharedRing.fromShared(producer.share());
  try {
    producer.write('hello');
    const state = () => `${consumer.readLen}/${producer.writeLen}`;
    const before = state();
    for (const v of badNumbers()) {
      await refused(`commit(${describe(v)})`, () => producer.commit(v as number));
      await refused(`consume(${describe(v)})`, () => consumer.consume(v as number));
      await refused(`writeSlice(${describe(v)})`, () => producer.writeSlice(v as number));
      if (v !== null) await refused(`readSlice(${describe(v)})`, () => consumer.readSlice(v as number));
      await refused(`waitReadable(${describe(v)})`, () => consumer.waitReadable(v as number));
      await refused(`waitReadableAsync(${describe(v)})`, () => consumer.waitReadableAsync(v as number));
    }
    for (const v of badBytes()) {
      await refused(`write(${describe(v)})`, () => producer.write(v as Uint8Array));
      await refused(`tryWrite(${describe(v)})`, () => producer.tryWrite(v as Uint8Array));
      await refused(`writeAsync(${describe(v)})`, () => producer.writeAsync(v as Uint8Array));
      await refused(`read(${describe(v)})`, () => consumer.read(v as Uint8Array));
      await refused(`tryRead(${describe(v)})`, () => consumer.tryRead(v as Uint8Array));
      await refused(`readAsync(${describe(v)})`, () => consumer.readAsync(v as Uint8Array));
    }
    await refused('writeSlice(capacity + 1)', () => producer.writeSlice(producer.capacity + 1));
    await refused('commit(more than free)', () => producer.commit(producer.capacity));
    await refused('consume(more than readable)', () => consumer.consume(6));
    // Role misuse: typed, and the roles stay as they were.
    await refused('producer reads', () => producer.read(new Uint8Array(1)));
    await refused('consumer writes', () => consumer.write('x'));
    await refused('a second consumer', () => SharedRing.fromShared(producer.share()).tryRead(new Uint8Array(1)));
    assert.equal(state(), before);
    const out = new Uint8Array(5);
    assert.equal(consumer.read(out), 5);
    assert.equal(Buffer.from(out).toString(), 'hello');
  } finally {
    producer.close();
    consumer.close();
  }
  await refused('share() after close', () => producer.share());
  await refused('write after close', () => producer.write('x'));
  assert.equal(userCode, 0, 'user code ran');
});

test('SharedRing: close() while writeAsync and readAsync wait rejects them with ERR_MMAP_CLOSED; the other side sees the close', async () => {
  // A full ring: writeAsync waits for space.
  const producer = new SharedRing(4096);
  const consumer = SharedRing.fromShared(producer.share());
  producer.write(new Uint8Array(producer.capacity));
  const pendingWrite = producer.writeAsync(new Uint8Array(10));
  producer.close();
  await assert.rejects(pendingWrite, (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_CLOSED');
  // The consumer reads what was published and then the end of the stream.
  const buf = new Uint8Array(producer.capacity);
  assert.equal(consumer.read(buf), producer.capacity);
  assert.equal(consumer.read(buf), 0);
  consumer.close();

  // An empty ring: readAsync waits for data.
  const p2 = new SharedRing(4096);
  const c2 = SharedRing.fromShared(p2.share());
  p2.write('');
  const pendingRead = c2.readAsync(new Uint8Array(4));
  c2.close();
  await assert.rejects(pendingRead, (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_CLOSED');
  // The producer now fails instead of waiting forever.
  assert.throws(
    () => p2.write('x'),
    (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_PEER_GONE',
  );
  p2.close();
});

test('SharedRing write/read (fast and slow paths): lying typed arrays are read by internal slots, no override runs', () => {
  userCode = 0;
  class Evil extends Uint8Array {
    override get length(): number {
      userCode++;
      return 1 << 20;
    }
    override subarray(): Uint8Array<ArrayBuffer> {
      userCode++;
      throw new Error('subarray ran');
    }
    override set(): void {
      userCode++;
      throw new Error('set ran');
    }
  }
  const producer = new SharedRing(4096);
  const consumer = SharedRing.fromShared(producer.share());
  try {
    // First calls take the roles (slow path); later ones take the fast path.
    for (let round = 0; round < 3; round++) {
      const liar = new Uint8Array([1, 2, 3, 4]);
      Object.defineProperty(liar, 'byteLength', {
        get() {
          userCode++;
          return 4096;
        },
      });
      assert.equal(producer.write(liar), 4);
      const evil = new Evil(3);
      evil.fill(9);
      assert.equal(producer.write(evil), 3);
      assert.equal(producer.write(new Uint8Array(new SharedArrayBuffer(16), 5, 2)), 2);
      const target = new Evil(5);
      assert.equal(consumer.read(target), 5);
      assert.deepEqual([...Uint8Array.from(new Uint8Array(target.buffer))], [1, 2, 3, 4, 9]);
      const rest = new Uint8Array(new ArrayBuffer(16), 3, 8);
      assert.equal(consumer.read(rest), 4);
      assert.deepEqual([...new Uint8Array(rest.buffer, 3, 4)], [9, 9, 0, 0]);
      // Detached views: refused on both sides, no cursor moves.
      const ab = new ArrayBuffer(4);
      const view = new Uint8Array(ab);
      structuredClone(ab, { transfer: [ab] });
      producer.write('z');
      assert.throws(
        () => producer.write(view),
        (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_BUFFER_DETACHED',
      );
      assert.throws(
        () => consumer.read(view),
        (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_BUFFER_DETACHED',
      );
      assert.equal(consumer.readLen, 1);
      // A length-tracking view shrunk to 1 byte reads 1 byte.
      const rab = new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => ArrayBuffer & { resize(n: number): void })(8, {
        maxByteLength: 16,
      });
      const tracking = new Uint8Array(rab);
      rab.resize(1);
      assert.equal(consumer.read(tracking), 1);
      assert.equal(tracking[0], 'z'.charCodeAt(0));
      assert.equal(consumer.readLen, 0);
    }
    // A write larger than the free space waits in the slow path; here the
    // consumer closed, so it fails at once and nothing is published.
    producer.write(new Uint8Array(4000));
    consumer.close();
    assert.throws(
      () => producer.write(new Uint8Array(8)),
      (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_PEER_GONE',
    );
  } finally {
    producer.close();
    consumer.close();
  }
  // Closed objects: the fast path is not taken.
  assert.throws(
    () => producer.write(new Uint8Array(1)),
    (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_CLOSED',
  );
  assert.throws(
    () => consumer.read(new Uint8Array(1)),
    (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_CLOSED',
  );
  assert.equal(userCode, 0, 'user code ran');
});
