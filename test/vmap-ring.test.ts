// Ring and InfiniteRing (vmap's io::Ring / io::InfiniteRing): the seed's
// example, capacity rounding, all-or-nothing writes, lines, zero-copy
// slices, wrap-around at every offset and random operation sequences
// against a model, overwrite semantics, close and garbage collection, and
// leak checks over 10,000 create/close cycles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { InfiniteRing, MmapError, Ring, pageSize, allocationSize } from 'ranged-mmap';

const PAGE = pageSize();

function code(e: unknown): unknown {
  return (e as { code?: unknown }).code;
}

function throwsCode(fn: () => unknown, expected: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal(code(e), expected, `expected ${expected}, got ${String(code(e))}: ${(e as Error).message}`);
    return true;
  });
}

/** Descriptors open in this process. */
function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Lines of /proc/self/maps that belong to rings (their memfd's name). */
function ringMappings(): number {
  return readFileSync('/proc/self/maps', 'utf8')
    .split('\n')
    .filter((l) => l.includes('ranged-mmap-ring')).length;
}

test('pageSize() and allocationSize() are the system page size', () => {
  assert.equal(PAGE, 4096);
  assert.equal(allocationSize(), PAGE);
});

test('seed example: fill with lines while writeLen > 20, the next write fails, read lines 1 and 2, then a write succeeds', () => {
  const buf = new Ring(4000);
  try {
    let i = 1;
    while (buf.writeLen > 20) {
      buf.write(`this is test line ${i}\n`);
      i += 1;
    }
    assert.throws(
      () => buf.write(`this is test line ${i}\n`),
      (e: unknown) => e instanceof MmapError && e.code === 'ERR_MMAP_RING_FULL',
    );
    assert.equal(buf.readLine(), 'this is test line 1\n');
    assert.equal(buf.readLine(), 'this is test line 2\n');
    buf.write(`this is test line ${i}\n`);
    // Everything written comes back, in order.
    const rest: string[] = [];
    for (let line = buf.readLine(); line !== null; line = buf.readLine()) rest.push(line);
    assert.equal(rest.length, i - 2);
    assert.equal(rest[0], 'this is test line 3\n');
    assert.equal(rest.at(-1), `this is test line ${i}\n`);
    assert.equal(buf.readLen, 0);
  } finally {
    buf.close();
  }
});

test('capacity is the hint rounded up to whole pages', () => {
  for (const [hint, cap] of [
    [1, PAGE],
    [PAGE - 1, PAGE],
    [PAGE, PAGE],
    [PAGE + 1, 2 * PAGE],
    [4000, PAGE],
    [10 * PAGE, 10 * PAGE],
  ]) {
    const r = new Ring(hint);
    assert.equal(r.capacity, cap, `hint ${hint}`);
    assert.equal(r.writeLen, cap);
    assert.equal(r.readLen, 0);
    r.close();
    const ir = new InfiniteRing(hint);
    assert.equal(ir.capacity, cap);
    assert.equal(ir.writeLen, cap);
    ir.close();
  }
});

test('capacity hints that are not whole numbers in [1, 1 GiB] are refused with Node-shaped errors', () => {
  for (const bad of [0, -1, 1.5, NaN, Infinity, -Infinity, 2 ** 30 + 1, 2 ** 53, -1n]) {
    assert.throws(
      () => new Ring(bad as number),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE' && e instanceof RangeError,
    );
    assert.throws(
      () => new InfiniteRing(bad as number),
      (e: unknown) => code(e) === 'ERR_OUT_OF_RANGE',
    );
  }
  const withValueOf = { valueOf: () => 4096 };
  for (const bad of ['4096', null, undefined, Symbol('x'), withValueOf, [4096]]) {
    assert.throws(
      () => new Ring(bad as number),
      (e: unknown) => code(e) === 'ERR_INVALID_ARG_TYPE' && e instanceof TypeError,
    );
  }
  const r = new Ring(4096n as unknown as number);
  assert.equal(r.capacity, 4096);
  r.close();
});

test('write is all-or-nothing: a write that does not fit throws ERR_MMAP_RING_FULL and changes nothing', () => {
  const r = new Ring(PAGE);
  try {
    const first = new Uint8Array(PAGE - 10).fill(7);
    assert.equal(r.write(first), PAGE - 10);
    assert.equal(r.writeLen, 10);
    const before = Uint8Array.from(r.readSlice());
    throwsCode(() => r.write(new Uint8Array(11).fill(9)), 'ERR_MMAP_RING_FULL');
    throwsCode(() => r.write('x'.repeat(11)), 'ERR_MMAP_RING_FULL');
    // A multi-byte string is measured in UTF-8 bytes: 4 x 3 bytes > 10.
    throwsCode(() => r.write('€€€€'), 'ERR_MMAP_RING_FULL');
    assert.equal(r.readLen, PAGE - 10);
    assert.deepEqual(Uint8Array.from(r.readSlice()), before);
    assert.equal(r.write('€€€'), 9);
    assert.equal(r.write(new Uint8Array(1).fill(1)), 1);
    assert.equal(r.writeLen, 0);
    throwsCode(() => r.write(new Uint8Array(1)), 'ERR_MMAP_RING_FULL');
    assert.equal(r.write(new Uint8Array(0)), 0); // an empty write always fits
  } finally {
    r.close();
  }
});

test('write accepts any typed array or DataView by its internal length; refuses other types', () => {
  const r = new Ring(PAGE);
  try {
    assert.equal(r.write(new Uint16Array([0x0201, 0x0403]) as unknown as Uint8Array), 4);
    assert.equal(r.write(new DataView(new Uint8Array([5, 6]).buffer) as unknown as Uint8Array), 2);
    // A subclass whose length getter lies: the internal length (3) is used.
    class Liar extends Uint8Array {
      override get length(): number {
        return 1000;
      }
      override get byteLength(): number {
        return 1000;
      }
    }
    assert.equal(r.write(new Liar([7, 8, 9])), 3);
    // An odd byteOffset.
    assert.equal(r.write(new Uint8Array([0, 10, 11]).subarray(1)), 2);
    const sab = new Uint8Array(new SharedArrayBuffer(2));
    sab.set([12, 13]);
    assert.equal(r.write(sab), 2);
    const out = new Uint8Array(16);
    assert.equal(r.read(out), 13);
    assert.deepEqual([...out.subarray(0, 13)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    for (const bad of [null, undefined, 42, {}, [1, 2], new Proxy(new Uint8Array(4), {}), new ArrayBuffer(4)]) {
      throwsCode(() => r.write(bad as unknown as Uint8Array), 'ERR_INVALID_ARG_TYPE');
    }
    const detached = new Uint8Array(8);
    structuredClone(detached.buffer, { transfer: [detached.buffer] });
    throwsCode(() => r.write(detached), 'ERR_MMAP_BUFFER_DETACHED');
    assert.equal(r.readLen, 0);
  } finally {
    r.close();
  }
});

test('read returns the bytes read, up to the target length; readLine returns null without a complete line', () => {
  const r = new Ring(PAGE);
  try {
    const out = new Uint8Array(4);
    assert.equal(r.read(out), 0);
    assert.equal(r.readLine(), null);
    r.write('abcdef');
    assert.equal(r.read(out), 4);
    assert.equal(Buffer.from(out).toString(), 'abcd');
    assert.equal(r.readLine(), null); // 'ef' has no newline
    assert.equal(r.readLen, 2);
    r.write('\n\nh€llo\n');
    assert.equal(r.readLine(), 'ef\n');
    assert.equal(r.readLine(), '\n');
    assert.equal(r.readLine(), 'h€llo\n');
    assert.equal(r.readLine(), null);
    assert.equal(r.read(new Uint8Array(0)), 0);
    throwsCode(() => r.read(null as unknown as Uint8Array), 'ERR_INVALID_ARG_TYPE');
  } finally {
    r.close();
  }
});

test('writeSlice covers all free space and readSlice all unread bytes, each contiguous across the wrap', () => {
  const r = new Ring(PAGE);
  try {
    // Put the cursors 100 bytes before the end of the first half.
    r.write(new Uint8Array(PAGE - 100));
    r.consume(PAGE - 100);
    assert.equal(r.readLen, 0);
    const w = r.writeSlice();
    assert.equal(w.length, PAGE);
    for (let i = 0; i < 300; i++) w[i] = i & 0xff; // crosses the wrap at 100
    r.commit(300);
    assert.equal(r.readLen, 300);
    assert.equal(r.writeLen, PAGE - 300);
    assert.equal(r.writeSlice().length, PAGE - 300);
    const s = r.readSlice();
    assert.equal(s.length, 300);
    for (let i = 0; i < 300; i++) assert.equal(s[i], i & 0xff);
    r.consume(150);
    assert.equal(r.readSlice()[0], 150);
    r.consume(150);
    assert.equal(r.readSlice().length, 0);
    // commit/consume past the limit are refused and change nothing.
    r.write('ab');
    throwsCode(() => r.consume(3), 'ERR_OUT_OF_RANGE');
    throwsCode(() => r.commit(PAGE - 1), 'ERR_OUT_OF_RANGE');
    for (const bad of [-1, 0.5, NaN, Infinity, 2 ** 53]) {
      throwsCode(() => r.consume(bad), 'ERR_OUT_OF_RANGE');
      throwsCode(() => r.commit(bad), 'ERR_OUT_OF_RANGE');
    }
    for (const bad of ['1', null, undefined, { valueOf: () => 1 }]) {
      throwsCode(() => r.consume(bad as unknown as number), 'ERR_INVALID_ARG_TYPE');
      throwsCode(() => r.commit(bad as unknown as number), 'ERR_INVALID_ARG_TYPE');
    }
    assert.equal(r.readLen, 2);
    assert.equal(r.readLine(), null);
    r.clear();
    assert.equal(r.readLen, 0);
    assert.equal(r.writeLen, PAGE);
  } finally {
    r.close();
  }
});

test('wrap-around at every offset of the ring: a write and a read that cross the end come back exact', () => {
  const cap = PAGE;
  const r = new Ring(cap);
  const ir = new InfiniteRing(cap);
  try {
    const chunk = new Uint8Array(1000);
    const out = new Uint8Array(1000);
    for (let offset = 0; offset < cap; offset++) {
      for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 7 + offset) & 0xff;
      for (const ring of [r, ir]) {
        ring.clear();
        // Move both cursors to `offset`.
        if (offset > 0) {
          ring.commit(offset);
          ring.consume(offset);
        }
        ring.write(chunk);
        const slice = ring.readSlice();
        assert.equal(slice.length, chunk.length);
        if (offset % 97 === 0) assert.deepEqual(Uint8Array.from(slice), chunk);
        assert.equal(ring.read(out), chunk.length);
        if (Buffer.compare(out, chunk) !== 0) assert.fail(`mismatch at offset ${offset}`);
      }
    }
  } finally {
    r.close();
    ir.close();
  }
});

const ops = fc.array(
  fc.oneof(
    fc.record({ kind: fc.constant('write' as const), n: fc.integer({ min: 0, max: 3 * PAGE }), seed: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('read' as const), n: fc.integer({ min: 0, max: 3 * PAGE }) }),
    fc.record({ kind: fc.constant('slice-write' as const), n: fc.integer({ min: 0, max: 2 * PAGE }), seed: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ kind: fc.constant('slice-read' as const), n: fc.integer({ min: 0, max: 2 * PAGE }) }),
    fc.constant({ kind: 'line' as const }),
  ),
  { maxLength: 60 },
);

function bytesOf(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed + i * 13 + (i >> 5)) % 11 === 0 ? 10 : (seed + i) & 0xff;
  return b;
}

for (const infinite of [false, true]) {
  const name = infinite ? 'InfiniteRing' : 'Ring';
  test(`${name}: random operation sequences match a plain array model`, () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 * PAGE }), ops, (hint, seq) => {
        const ring = infinite ? new InfiniteRing(hint) : new Ring(hint);
        const cap = ring.capacity;
        let model: number[] = [];
        try {
          for (const op of seq) {
            switch (op.kind) {
              case 'write': {
                const data = bytesOf(op.n, op.seed);
                if (!infinite && op.n > cap - model.length) {
                  throwsCode(() => ring.write(data), 'ERR_MMAP_RING_FULL');
                } else {
                  assert.equal(ring.write(data), op.n);
                  model.push(...data);
                  if (model.length > cap) model = model.slice(model.length - cap);
                }
                break;
              }
              case 'read': {
                const out = new Uint8Array(op.n);
                const n = ring.read(out);
                assert.equal(n, Math.min(op.n, model.length));
                assert.deepEqual([...out.subarray(0, n)], model.slice(0, n));
                model = model.slice(n);
                break;
              }
              case 'slice-write': {
                const w = ring.writeSlice();
                assert.equal(w.length, infinite ? cap : cap - model.length);
                const n = Math.min(op.n, w.length);
                const data = bytesOf(n, op.seed);
                w.set(data);
                ring.commit(n);
                model.push(...data);
                if (model.length > cap) model = model.slice(model.length - cap);
                break;
              }
              case 'slice-read': {
                const s = ring.readSlice();
                assert.deepEqual([...s], model);
                const n = Math.min(op.n, s.length);
                ring.consume(n);
                model = model.slice(n);
                break;
              }
              case 'line': {
                const at = model.indexOf(10);
                const line = ring.readLine();
                if (at < 0) {
                  assert.equal(line, null);
                } else {
                  assert.equal(line, Buffer.from(model.slice(0, at + 1)).toString('utf8'));
                  model = model.slice(at + 1);
                }
                break;
              }
            }
            assert.equal(ring.readLen, model.length);
            assert.equal(ring.writeLen, infinite ? cap : cap - model.length);
          }
          assert.deepEqual([...ring.readSlice()], model);
        } finally {
          ring.close();
        }
      }),
      { numRuns: 150 },
    );
  });
}

test('InfiniteRing: writes overwrite the oldest unread bytes; the reader sees the newest capacity bytes', () => {
  const r = new InfiniteRing(PAGE);
  try {
    for (let i = 0; i < 1000; i++) r.write(`event ${i}\n`);
    assert.equal(r.readLen, PAGE);
    const text = Buffer.from(r.readSlice()).toString();
    assert.ok(text.endsWith('event 999\n'));
    // The first line may be cut; every later one is whole and in order.
    const lines = text.split('\n').slice(1, -1);
    const numbers = lines.map((l) => Number(l.slice('event '.length)));
    for (let k = 1; k < numbers.length; k++) assert.equal(numbers[k], numbers[k - 1] + 1);
    // A write longer than the capacity keeps only its last capacity bytes.
    const big = bytesOf(3 * PAGE + 17, 5);
    assert.equal(r.write(big), big.length);
    assert.equal(r.readLen, PAGE);
    assert.deepEqual(Uint8Array.from(r.readSlice()), big.subarray(big.length - PAGE));
    const s = 'ab€'.repeat(PAGE); // 5 bytes each
    r.write(s);
    assert.deepEqual(Uint8Array.from(r.readSlice()), Uint8Array.from(Buffer.from(s).subarray(Buffer.byteLength(s) - PAGE)));
    // After a partial read, a write drops only what it overwrites.
    r.clear();
    r.write(new Uint8Array(PAGE - 10).fill(1));
    r.consume(5);
    r.write(new Uint8Array(20).fill(2));
    assert.equal(r.readLen, PAGE);
    const all = r.readSlice();
    assert.equal(all[0], 1);
    assert.equal(all[PAGE - 21], 1);
    assert.equal(all[PAGE - 20], 2);
    assert.equal(all[PAGE - 1], 2);
  } finally {
    r.close();
  }
});

test('close: kept views become zero-length (no crash), every call throws ERR_MMAP_CLOSED, closing twice is harmless', () => {
  for (const ring of [new Ring(PAGE), new InfiniteRing(PAGE)]) {
    ring.write('hello\n');
    const r = ring.readSlice();
    const w = ring.writeSlice();
    assert.equal(r.length, 6);
    ring.close();
    assert.equal(ring.closed, true);
    assert.equal(r.length, 0);
    assert.equal(w.length, 0);
    assert.equal(r[0], undefined);
    w[0] = 1; // a store into a detached view is dropped, never reaches freed memory
    assert.equal(w[0], undefined);
    for (const call of [
      () => ring.write('x'),
      () => ring.read(new Uint8Array(1)),
      () => ring.readLine(),
      () => ring.readSlice(),
      () => ring.writeSlice(),
      () => ring.consume(0),
      () => ring.commit(0),
      () => ring.clear(),
    ]) {
      throwsCode(call, 'ERR_MMAP_CLOSED');
    }
    ring.close();
  }
});

test('10,000 create/close cycles leak no mapping and no descriptor', () => {
  const fds = openFds();
  const maps = ringMappings();
  for (let i = 0; i < 10_000; i++) {
    const r = i % 2 === 0 ? new Ring(1 + (i % 5) * PAGE) : new InfiniteRing(PAGE);
    r.write('x');
    if (i % 1000 === 0) {
      // While open, the ring is visible: two mappings (its two halves), no descriptor.
      assert.equal(ringMappings(), maps + 2);
      assert.equal(openFds(), fds);
    }
    r.close();
  }
  assert.equal(openFds(), fds);
  assert.equal(ringMappings(), maps);
});

test('rings dropped without close() are unmapped when garbage-collected (child process with --expose-gc)', () => {
  const child = fileURLToPath(new URL('./fixtures/vmap-ring-gc-child.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', child], { encoding: 'utf8', timeout: 120_000 });
  const report = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
  assert.equal(report.liveWhileHeld, 200);
  assert.equal(report.mapsWhileHeld, report.mapsBefore + 400);
  assert.equal(report.mapsKept, report.mapsBefore + 2); // only the ring whose view is kept is still mapped
  assert.equal(report.keptViewByte, 42); // and that view still reads its memory
  assert.equal(report.liveAfter, 0);
  assert.equal(report.mapsAfter, report.mapsBefore);
  assert.equal(report.fdsAfter, report.fdsBefore);
  // 50 shared rings dropped without close() (each at least two lines of maps: header and first half merge, the second half is its own).
  assert.ok(report.sharedWhileHeld >= report.sharedBefore + 100, `shared ring mappings while held: ${report.sharedWhileHeld}`);
  assert.equal(report.sharedAfter, report.sharedBefore);
});

test('length-tracking views on resizable buffers are read by their length at the call', () => {
  const Resizable = ArrayBuffer as unknown as new (length: number, options: { maxByteLength: number }) => ArrayBuffer & { resize(length: number): void };
  const r = new Ring(PAGE);
  try {
    const ab = new Resizable(8, { maxByteLength: 64 });
    const tracking = new Uint8Array(ab);
    tracking.set([1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(r.write(tracking), 8);
    ab.resize(4);
    assert.equal(r.write(tracking), 4); // the length now
    const out = new Resizable(2, { maxByteLength: 64 });
    const into = new Uint8Array(out);
    assert.equal(r.read(into), 2);
    out.resize(20);
    assert.equal(r.read(into), 10); // grew with its buffer
    assert.deepEqual([...into.subarray(0, 10)], [3, 4, 5, 6, 7, 8, 1, 2, 3, 4]);
    ab.resize(0);
    assert.equal(r.write(tracking), 0);
  } finally {
    r.close();
  }
});

test('Ring: readable({ signal }) and writable({ signal }) are destroyed with an AbortError on abort; no bytes are lost or written after it; the ring stays usable', async () => {
  const ring = new Ring(4096);
  // A reader waiting on the empty ring.
  const rc = new AbortController();
  const reader = ring.readable({ signal: rc.signal });
  const readerError = new Promise<unknown>((resolve) => reader.on('error', resolve));
  reader.resume();
  await new Promise((r) => setImmediate(r));
  const reason = new Error('stop reading');
  rc.abort(reason);
  const re = (await readerError) as { name?: unknown; code?: unknown; cause?: unknown };
  assert.equal(re.name, 'AbortError');
  assert.equal(re.code, 'ABORT_ERR');
  assert.equal(re.cause, reason);
  // Bytes written after the abort stay in the ring: the destroyed reader takes none.
  ring.write('kept');
  await new Promise((r) => setImmediate(r));
  assert.equal(ring.readLen, 4);
  // A writer waiting for room on the full ring.
  ring.write(new Uint8Array(4092));
  const wc = new AbortController();
  const writer = ring.writable({ signal: wc.signal });
  const writerError = new Promise<unknown>((resolve) => writer.on('error', resolve));
  writer.write(new Uint8Array(100).fill(9));
  await new Promise((r) => setImmediate(r));
  wc.abort();
  assert.equal(((await writerError) as { name?: unknown }).name, 'AbortError');
  // Room made after the abort: the aborted writer writes nothing more.
  const out = new Uint8Array(4096);
  assert.equal(ring.read(out), 4096);
  await new Promise((r) => setImmediate(r));
  assert.equal(ring.readLen, 0, 'no byte of the aborted chunk landed after the abort');
  // Usable after: a fresh pair of streams moves bytes.
  const done = new AbortController();
  const w2 = ring.writable({ signal: done.signal });
  const r2 = ring.readable({ signal: done.signal });
  const chunks: Buffer[] = [];
  r2.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise((resolve) => r2.on('end', resolve));
  w2.end('after');
  await ended;
  assert.equal(Buffer.concat(chunks).toString(), 'after');
  assert.throws(
    () => ring.readable({ signal: 1 as never }),
    (e) => (e as { code?: unknown }).code === 'ERR_INVALID_ARG_TYPE',
  );
  ring.close();
});
