// Property tests (fast-check) for MemoryMappedFile's segments and chunk
// iteration against a plain byte model: any sequence of writes, reads,
// atomic adds and chunk walks through nested segments at random offsets
// does to the file exactly what it does to the model, and every call that
// reaches past a segment's end is refused with ERR_MMAP_OUT_OF_BOUNDS and
// changes nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { MemoryMappedFile, type MappedSegment } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const t = tempDir();
after(() => t.cleanup());
let counter = 0;

type Op =
  | { kind: 'write'; at: number; data: Uint8Array }
  | { kind: 'read'; at: number; length: number }
  | { kind: 'add32'; word: number; value: number }
  | { kind: 'chunks'; size: number }
  | { kind: 'fillChunks'; size: number; value: number };

/** A window on the model: [base, base + length). */
interface Win {
  base: number;
  length: number;
}

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('write' as const), at: fc.nat({ max: 9000 }), data: fc.uint8Array({ maxLength: 700 }) }),
  fc.record({ kind: fc.constant('read' as const), at: fc.nat({ max: 9000 }), length: fc.nat({ max: 700 }) }),
  fc.record({ kind: fc.constant('add32' as const), word: fc.nat({ max: 2300 }), value: fc.nat({ max: 0xffffffff }) }),
  fc.record({ kind: fc.constant('chunks' as const), size: fc.integer({ min: 1, max: 5000 }) }),
  fc.record({ kind: fc.constant('fillChunks' as const), size: fc.integer({ min: 1, max: 5000 }), value: fc.nat({ max: 255 }) }),
);

/** Applies one op to the segment and to the model, or checks that the segment refuses it. */
function apply(seg: MappedSegment, win: Win, model: Uint8Array, o: Op): void {
  const fits = (at: number, n: number) => at <= win.length && n <= win.length - at;
  switch (o.kind) {
    case 'write': {
      if (!fits(o.at, o.data.length)) {
        assert.throws(() => seg.updateRegion(o.at, o.data), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
        return;
      }
      seg.updateRegion(o.at, o.data);
      model.set(o.data, win.base + o.at);
      return;
    }
    case 'read': {
      const target = new Uint8Array(o.length);
      if (!fits(o.at, o.length)) {
        assert.throws(() => seg.readInto(o.at, target), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
        assert.throws(() => seg.asSlice(o.at, o.length), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
        return;
      }
      assert.equal(seg.readInto(o.at, target), o.length);
      const want = model.subarray(win.base + o.at, win.base + o.at + o.length);
      assert.deepEqual(target, want);
      assert.deepEqual(seg.asSlice(o.at, o.length), want);
      return;
    }
    case 'add32': {
      const at = o.word * 4;
      const abs = win.base + at;
      if (abs % 4 !== 0) {
        assert.throws(() => seg.atomicU32(at), { code: 'ERR_MMAP_MISALIGNED' });
        return;
      }
      if (!fits(at, 4)) {
        assert.throws(() => seg.atomicU32(at), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
        return;
      }
      const view = new DataView(model.buffer, model.byteOffset);
      const old = view.getUint32(abs, true);
      assert.equal(seg.atomicU32(at).add(o.value), old);
      view.setUint32(abs, (old + o.value) >>> 0, true);
      return;
    }
    case 'chunks': {
      const pieces = [...seg.chunks(o.size)];
      const n = Math.ceil(win.length / o.size);
      assert.equal(pieces.length, n);
      for (const [i, p] of pieces.entries()) assert.equal(p.length, i < n - 1 ? o.size : win.length - o.size * (n - 1));
      assert.deepEqual(new Uint8Array(Buffer.concat(pieces)), model.subarray(win.base, win.base + win.length));
      return;
    }
    case 'fillChunks': {
      let i = 0;
      for (const p of seg.chunksMut(o.size)) {
        if (i++ % 2 === 0) p.fill(o.value);
      }
      for (let at = 0, k = 0; at < win.length; at += o.size, k++) {
        if (k % 2 === 0) model.fill(o.value, win.base + at, win.base + Math.min(win.length, at + o.size));
      }
      return;
    }
  }
}

test('segments (nested, at any offset) behave like windows on a byte model; refused calls change nothing', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12_000 }),
      fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 1, maxLength: 3 }),
      fc.array(op, { maxLength: 25 }),
      (size, cuts, ops) => {
        const p = t.path(`s${counter++}.bin`);
        const model = new Uint8Array(size);
        for (let i = 0; i < size; i++) model[i] = (i * 7) & 0xff;
        writeFileSync(p, model);
        const m = MemoryMappedFile.openRw(p);
        try {
          // Nest segments: each cut is (offset, length) inside the previous window.
          let seg = m.segment(0, size);
          let win: Win = { base: 0, length: size };
          for (const [a, b] of cuts) {
            const offset = a % (win.length + 1);
            const length = b % (win.length - offset + 1);
            seg = seg.segment(offset, length);
            win = { base: win.base + offset, length };
            assert.equal(seg.start, win.base);
            assert.equal(seg.length, win.length);
          }
          assert.throws(() => seg.segment(0, win.length + 1), { code: 'ERR_MMAP_OUT_OF_BOUNDS' });
          for (const o of ops) apply(seg, win, model, o);
          // The whole file equals the model: nothing outside the window moved.
          assert.deepEqual(new Uint8Array(readFileSync(p)), model);
          assert.deepEqual(m.asSlice(0, size), model);
        } finally {
          m.close();
        }
      },
    ),
    { numRuns: 150 },
  );
});

test('chunks(size) and pages() tile any file exactly: in order, all full but the last, zero-copy views', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40_000 }), fc.integer({ min: 1, max: 20_000 }), (size, chunk) => {
      const p = t.path(`c${counter++}.bin`);
      const model = new Uint8Array(size);
      for (let i = 0; i < size; i++) model[i] = (i * 13 + 5) & 0xff;
      writeFileSync(p, model);
      for (const mode of ['ro', 'cow'] as const) {
        const m = mode === 'ro' ? MemoryMappedFile.openRo(p) : MemoryMappedFile.openCow(p);
        try {
          let at = 0;
          for (const c of m.chunks(chunk)) {
            const want = Math.min(chunk, size - at);
            assert.equal(c.length, want);
            assert.deepEqual(c, model.subarray(at, at + want));
            at += want;
          }
          assert.equal(at, size);
          at = 0;
          for (const pg of m.pages()) {
            assert.equal(pg.length, Math.min(4096, size - at));
            at += pg.length;
          }
          assert.equal(at, size);
          // Zero-copy: a store through the mapping shows in a chunk made before it (cow: private).
          if (mode === 'cow') {
            const first = m.chunks(chunk)[Symbol.iterator]().next().value as Uint8Array;
            m.updateRegion(0, new Uint8Array([model[0]! ^ 0xff]));
            assert.equal(first[0], model[0]! ^ 0xff);
          }
        } finally {
          m.close();
        }
      }
      assert.deepEqual(new Uint8Array(readFileSync(p)), model, 'ro and cow left the file alone');
    }),
    { numRuns: 100 },
  );
});
