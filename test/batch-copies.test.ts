// readAtMany / writeAtMany on RawMmapFile and MemoryMappedFile: byte-exact
// against an independent model and node:fs (random offsets, across the
// internal 1 GiB view boundaries of a sparse file), every kind of bad offset
// refused with its index and nothing copied, a truncation mid-batch (in a
// child process) reported with the index of the faulting item and nothing
// after it copied, closed files, read-only files and hostile arguments.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { MemoryMappedFile, RawMmapFile, type BatchItemError } from 'ranged-mmap';
import { pattern, tempDir } from './helpers.js';
import { firstDifference } from './fault-helpers.js';

const GiB = 2 ** 30;

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function itemIndexOf(error: unknown): number | undefined {
  return (error as BatchItemError).itemIndex;
}

describe('readAtMany / writeAtMany: bytes', () => {
  test('random items on RawMmapFile match a model and node:fs, in every offset form', () => {
    const t = tempDir('rm-batch-');
    try {
      const size = 1 << 20;
      const path = t.path('a.bin');
      const model = pattern(size, 3);
      writeFileSync(path, model);
      const raw = RawMmapFile.open(path);
      const next = rng(7);
      for (const length of [1, 7, 4096, 5000]) {
        const count = 64;
        const offsets = Array.from({ length: count }, () => Math.floor(next() * (size - length + 1)));
        offsets[0] = 0;
        offsets[count - 1] = size - length; // the last byte
        // Reads: each item equals the model's bytes, in all three forms.
        const forms = [offsets, Float64Array.from(offsets), BigUint64Array.from(offsets, BigInt)];
        for (const form of forms) {
          const target = new Uint8Array(count * length + 3).fill(0xee);
          assert.equal(raw.readAtMany(form, length, target), count);
          for (let i = 0; i < count; i++) {
            const at = firstDifference(target.subarray(i * length, (i + 1) * length), model.subarray(offsets[i], offsets[i] + length));
            assert.equal(at, -1, `length ${length} item ${i} (offset ${offsets[i]}) differs at ${at}`);
          }
          assert.deepEqual([...target.subarray(count * length)], [0xee, 0xee, 0xee], 'nothing past the last item');
        }
        // Writes: later items win where they overlap, as a loop of writeAt would.
        const source = pattern(count * length, length);
        assert.equal(raw.writeAtMany(Float64Array.from(offsets), source, length), count);
        for (let i = 0; i < count; i++) model.set(source.subarray(i * length, (i + 1) * length), offsets[i]);
      }
      raw.flush();
      raw.close();
      const disk = new Uint8Array(readFileSync(path));
      assert.equal(firstDifference(disk, model), -1, 'the file on disk equals the model');
    } finally {
      t.cleanup();
    }
  });

  test('items across every internal 1 GiB view boundary of a sparse 5 GiB file', () => {
    const t = tempDir('rm-batch-big-');
    try {
      const path = t.path('big.bin');
      const size = 5 * GiB;
      const raw = RawMmapFile.create(path, size, { sparse: true });
      const length = 8192;
      const offsets: number[] = [];
      for (let b = 1; b <= 4; b++) offsets.push(b * GiB - 4096, b * GiB - 1, b * GiB - length, b * GiB);
      offsets.push(size - length);
      const source = pattern(offsets.length * length, 11);
      // Items overlap near each boundary: write them one by one into the
      // model in order, then compare the file through node:fs.
      raw.writeAtMany(offsets, source, length);
      raw.flush();
      const fd = openSync(path, 'r');
      try {
        // Expected bytes of [o, o + length): the last item covering each byte.
        const expect = (o: number): Uint8Array => {
          const out = new Uint8Array(length);
          offsets.forEach((w, i) => {
            const from = Math.max(o, w);
            const to = Math.min(o + length, w + length);
            if (from < to) out.set(source.subarray(i * length + (from - w), i * length + (to - w)), from - o);
          });
          return out;
        };
        const target = new Uint8Array(offsets.length * length);
        raw.readAtMany(Float64Array.from(offsets), length, target);
        for (let i = 0; i < offsets.length; i++) {
          const want = expect(offsets[i]);
          const disk = new Uint8Array(length);
          readSync(fd, disk, 0, length, offsets[i]);
          assert.equal(firstDifference(disk, want), -1, `disk at ${offsets[i]}`);
          assert.equal(firstDifference(target.subarray(i * length, (i + 1) * length), want), -1, `readAtMany item ${i} at ${offsets[i]}`);
        }
      } finally {
        closeSync(fd);
      }
      raw.close();
    } finally {
      t.cleanup();
    }
  });

  test('MemoryMappedFile and a segment: offsets are window-relative, each item counts for the flush policy', () => {
    const t = tempDir('rm-batch-mm-');
    try {
      const path = t.path('m.bin');
      const model = pattern(65536, 5);
      writeFileSync(path, model);
      const file = MemoryMappedFile.openRw(path);
      const seg = file.segment(4096, 16384);
      const target = new Uint8Array(3 * 100);
      assert.equal(seg.readAtMany([0, 16284, 500], 100, target), 3);
      assert.equal(firstDifference(target.subarray(0, 100), model.subarray(4096, 4196)), -1);
      assert.equal(firstDifference(target.subarray(100, 200), model.subarray(4096 + 16284, 4096 + 16384)), -1);
      assert.equal(firstDifference(target.subarray(200), model.subarray(4596, 4696)), -1);
      // The segment's end, not the file's, bounds the items.
      assert.throws(
        () => seg.readAtMany([0, 16285], 100, target),
        (e: unknown) => (e as BatchItemError).code === 'ERR_MMAP_OUT_OF_BOUNDS' && itemIndexOf(e) === 1,
      );
      const source = pattern(200, 9);
      assert.equal(seg.writeAtMany(Float64Array.of(10, 20000 - 4096 - 100), source, 100), 2);
      model.set(source.subarray(0, 100), 4106);
      model.set(source.subarray(100), 20000 - 100);
      const all = new Uint8Array(65536);
      assert.equal(file.readAtMany([0], 65536, all), 1);
      assert.equal(firstDifference(all, model), -1);
      file.flush();
      file.close();
      assert.equal(firstDifference(new Uint8Array(readFileSync(path)), model), -1, 'disk');
    } finally {
      t.cleanup();
    }
  });
});

describe('readAtMany / writeAtMany: refusals', () => {
  const bad: [string, unknown][] = [
    ['NaN', Number.NaN],
    ['negative', -1],
    ['fraction', 1.5],
    ['2^53', 2 ** 53],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['string', '4'],
    ['bigint in a number array', 4n],
    ['undefined (a hole)', undefined],
  ];

  test('every kind of bad offset: ERR_OUT_OF_RANGE with the index, nothing copied or written', () => {
    const t = tempDir('rm-batch-bad-');
    try {
      const path = t.path('b.bin');
      writeFileSync(path, pattern(8192, 1));
      const raw = RawMmapFile.open(path);
      for (const [name, value] of bad) {
        for (const index of [0, 2]) {
          const offsets = [0, 100, 200];
          (offsets as unknown[])[index] = value;
          const target = new Uint8Array(3 * 10).fill(0xaa);
          assert.throws(
            () => raw.readAtMany(offsets, 10, target),
            (e: unknown) => (e as BatchItemError).code === 'ERR_OUT_OF_RANGE' && itemIndexOf(e) === index,
            `${name} at ${index}`,
          );
          assert.ok(
            target.every((b) => b === 0xaa),
            `${name}: nothing read`,
          );
          assert.throws(
            () => raw.writeAtMany(offsets, new Uint8Array(30).fill(9), 10),
            (e: unknown) => itemIndexOf(e) === index,
            name,
          );
        }
      }
      // Typed array forms: the same values inside a Float64Array, 2^64 - 1 in a BigUint64Array.
      for (const value of [Number.NaN, -1, 1.5, 2 ** 53, Number.NEGATIVE_INFINITY]) {
        assert.throws(
          () => raw.readAtMany(Float64Array.of(0, value), 10, new Uint8Array(20)),
          (e: unknown) => itemIndexOf(e) === 1,
          String(value),
        );
      }
      assert.throws(
        () => raw.readAtMany(BigUint64Array.of(0n, 2n ** 64n - 1n), 10, new Uint8Array(20)),
        (e: unknown) => itemIndexOf(e) === 1,
      );
      // Out of bounds: each one named by index, the file unchanged.
      for (const [offsets, index] of [
        [[0, 8183], 1],
        [[8192], 0],
        [[0, 0, 9000], 2],
        [[2 ** 53 - 1], 0],
      ] as [number[], number][]) {
        // In every form of offsets: the whole batch is refused before any item lands.
        for (const form of [offsets, Float64Array.from(offsets), BigUint64Array.from(offsets, BigInt)]) {
          assert.throws(
            () => raw.writeAtMany(form, new Uint8Array(offsets.length * 10).fill(9), 10),
            (e: unknown) =>
              (e as BatchItemError).code === 'ERR_MMAP_OUT_OF_BOUNDS' && itemIndexOf(e) === index && (e as Error).message.includes(`item ${index} `),
            `${form.constructor.name} ${JSON.stringify(offsets)}`,
          );
          const target = new Uint8Array(offsets.length * 10).fill(0xaa);
          assert.throws(
            () => raw.readAtMany(form, 10, target),
            (e: unknown) => itemIndexOf(e) === index,
          );
          assert.ok(
            target.every((b) => b === 0xaa),
            'nothing read',
          );
        }
      }
      raw.flush();
      assert.equal(firstDifference(new Uint8Array(readFileSync(path)), pattern(8192, 1)), -1, 'no refused call changed the file');
      // A buffer too small for count * length, a length that is not an integer, not an array.
      assert.throws(() => raw.readAtMany([0, 10], 10, new Uint8Array(19)), { code: 'ERR_MMAP_BUFFER_TOO_SMALL' });
      assert.throws(() => raw.readAtMany([0], -1, new Uint8Array(19)), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => raw.readAtMany([0], Number.NaN, new Uint8Array(19)), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => raw.readAtMany('0' as never, 1, new Uint8Array(19)), { code: 'ERR_OUT_OF_RANGE' });
      assert.throws(() => raw.readAtMany(new Uint32Array(2) as never, 1, new Uint8Array(19)), { code: 'ERR_OUT_OF_RANGE' });
      raw.close();
    } finally {
      t.cleanup();
    }
  });

  test('lying typed arrays, proxies and detached buffers', () => {
    const t = tempDir('rm-batch-lie-');
    try {
      const path = t.path('l.bin');
      writeFileSync(path, pattern(4096, 2));
      const raw = RawMmapFile.open(path);
      // A Float64Array whose length and byteLength claim more items than it holds.
      const liar = Float64Array.of(0, 8);
      Object.defineProperty(liar, 'length', { value: 1000 });
      Object.defineProperty(liar, 'byteLength', { value: 8000 });
      const target = new Uint8Array(16);
      assert.equal(raw.readAtMany(liar, 8, target), 2, 'the true length counts');
      // A target that claims to be bigger than it is.
      const small = new Uint8Array(8);
      Object.defineProperty(small, 'byteLength', { value: 1 << 20 });
      Object.defineProperty(small, 'length', { value: 1 << 20 });
      assert.throws(() => raw.readAtMany([0, 8], 8, small), { code: 'ERR_MMAP_BUFFER_TOO_SMALL' });
      // A Proxy array is read once per entry: it cannot pass one value to the check and another to the copy.
      let reads = 0;
      const proxy = new Proxy([0, 8], {
        get(target, key, receiver) {
          if (key === '1') return reads++ === 0 ? 8 : 1e12;
          return Reflect.get(target, key, receiver);
        },
      });
      assert.equal(raw.readAtMany(proxy, 8, target), 2);
      assert.equal(firstDifference(target.subarray(8), pattern(4096, 2).subarray(8, 16)), -1);
      // Detached buffers: offsets and target.
      const offsets = Float64Array.of(0);
      structuredClone(offsets.buffer, { transfer: [offsets.buffer] });
      assert.throws(() => raw.readAtMany(offsets, 8, new Uint8Array(8)), { code: 'ERR_MMAP_BUFFER_DETACHED' });
      const gone = new Uint8Array(8);
      structuredClone(gone.buffer, { transfer: [gone.buffer] });
      assert.throws(() => raw.readAtMany([0], 8, gone), { code: 'ERR_MMAP_BUFFER_DETACHED' });
      assert.throws(() => raw.writeAtMany([0], gone, 8), { code: 'ERR_MMAP_BUFFER_DETACHED' });
      // A source that is a view of the mapping itself (overlapping copy).
      const live = raw.readSlice(0, 64);
      raw.writeAtMany([8], live, 32);
      const want = pattern(4096, 2);
      want.copyWithin(8, 0, 32);
      const back = new Uint8Array(4096);
      raw.readAtMany([0], 4096, back);
      assert.equal(firstDifference(back, want), -1, 'overlapping copy moved like memmove');
      raw.close();
    } finally {
      t.cleanup();
    }
  });

  test('closed file, read-only file', () => {
    const t = tempDir('rm-batch-closed-');
    try {
      const path = t.path('c.bin');
      writeFileSync(path, pattern(4096, 4));
      const raw = RawMmapFile.open(path);
      raw.close();
      assert.throws(() => raw.readAtMany([0], 8, new Uint8Array(8)), { code: 'ERR_MMAP_CLOSED' });
      assert.throws(() => raw.writeAtMany([0], new Uint8Array(8), 8), { code: 'ERR_MMAP_CLOSED' });
      const ro = MemoryMappedFile.openRo(path);
      const target = new Uint8Array(8);
      assert.equal(ro.readAtMany([8], 8, target), 1);
      assert.equal(firstDifference(target, pattern(4096, 4).subarray(8, 16)), -1);
      assert.throws(() => ro.writeAtMany([0], new Uint8Array(8), 8), { code: 'ERR_MMAP_INVALID_MODE' });
      ro.close();
      assert.throws(() => ro.readAtMany([0], 8, target), { code: 'ERR_MMAP_CLOSED' });
      const rw = MemoryMappedFile.openRw(path);
      rw.close();
      assert.throws(() => rw.writeAtMany([0], new Uint8Array(8), 8), { code: 'ERR_MMAP_CLOSED' });
      assert.equal(firstDifference(new Uint8Array(readFileSync(path)), pattern(4096, 4)), -1);
    } finally {
      t.cleanup();
    }
  });
});

// The child maps a 64-page file, has another process (`truncate`) cut it to
// 16 pages, then runs one batch whose item 2 lies in the lost pages. It
// prints what it saw as JSON; the parent checks it. In a child so that a
// SIGBUS the guard failed to catch kills only the child.
const CHILD = `
const { RawMmapFile } = require('ranged-mmap');
const { execFileSync } = require('node:child_process');
const [path, write] = [process.argv[1], process.argv[2] === 'write'];
const raw = RawMmapFile.open(path);
execFileSync('truncate', ['-s', String(16 * 4096), path]);
const offsets = [0, 4096, 40 * 4096, 8192];
const buf = new Uint8Array(4 * 4096).fill(write ? 0x77 : 0xaa);
let error = null;
try { write ? raw.writeAtMany(offsets, buf, 4096) : raw.readAtMany(offsets, 4096, buf); }
catch (e) { error = { code: e.code, itemIndex: e.itemIndex, message: e.message }; }
process.stdout.write(JSON.stringify({ error, items: [0, 1, 2, 3].map((i) => Array.from(buf.subarray(i * 4096, i * 4096 + 4))) }));
`;

describe('readAtMany / writeAtMany: a truncation mid-batch', () => {
  for (const mode of ['read', 'write'] as const) {
    test(`${mode}: ERR_MMAP_FAULT with the index of the faulting item, nothing after it copied`, { timeout: 60_000 }, () => {
      const t = tempDir('rm-batch-fault-');
      try {
        const path = t.path('f.bin');
        const model = pattern(64 * 4096, 8);
        writeFileSync(path, model);
        const r = spawnSync(process.execPath, ['-e', CHILD, path, mode], { encoding: 'utf8', timeout: 50_000 });
        assert.equal(r.signal, null, `child killed: ${r.stderr}`);
        assert.equal(r.status, 0, r.stderr);
        const out = JSON.parse(r.stdout) as { error: { code: string; itemIndex: number; message: string } | null; items: number[][] };
        assert.ok(out.error !== null, 'the batch reported the fault');
        assert.equal(out.error.code, 'ERR_MMAP_FAULT', out.error.message);
        assert.equal(out.error.itemIndex, 2);
        const disk = new Uint8Array(readFileSync(path));
        assert.equal(disk.length, 16 * 4096);
        if (mode === 'read') {
          assert.deepEqual(out.items[0], [...model.subarray(0, 4)], 'item 0 read');
          assert.deepEqual(out.items[1], [...model.subarray(4096, 4100)], 'item 1 read');
          assert.deepEqual(out.items[2], [0, 0, 0, 0], 'item 2: zeros from the lost page');
          assert.deepEqual(out.items[3], [0xaa, 0xaa, 0xaa, 0xaa], 'item 3 not copied');
        } else {
          const want = model.subarray(0, 16 * 4096).slice();
          want.fill(0x77, 0, 8192); // items 0 and 1 landed
          // item 3 (at 8192) was not written: its bytes stay the model's.
          assert.equal(firstDifference(disk, want), -1, 'items before the fault landed, none after');
        }
      } finally {
        t.cleanup();
      }
    });
  }
});
