// Property tests (fast-check): both allocators and both splits against a
// plain model of their documented behaviour.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ALIGNMENT, MmapFile, type AllocatedRange } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const t = tempDir();
after(() => t.cleanup());
let counter = 0;
/** A fresh sparse file of `size` bytes with the chosen allocator. */
function open(size: number, allocator: 'sequential' | 'concurrent') {
  return MmapFile.create(t.path(`p${counter++}.bin`), size, { allocator, sparse: true });
}

/** The model: requests round up to 4096, the last range is clamped at the end, null once exhausted. */
function modelAllocate(state: { next: number }, size: number, total: number): [number, number] | null {
  if (state.next >= total) return null;
  const want = Math.ceil(size / ALIGNMENT) * ALIGNMENT;
  const start = state.next;
  const end = Math.min(total, start + want);
  state.next = end;
  return [start, end];
}

const fileSize = fc.integer({ min: 1, max: 64 * ALIGNMENT + 4095 });
const requests = fc.array(fc.integer({ min: 1, max: 9 * ALIGNMENT }), { maxLength: 40 });

for (const kind of ['sequential', 'concurrent'] as const) {
  test(`${kind} allocator matches the model and tiles the file exactly`, () => {
    fc.assert(
      fc.property(fileSize, requests, (size, sizes) => {
        const { file, allocator } = open(size, kind);
        try {
          const model = { next: 0 };
          const got: AllocatedRange[] = [];
          for (const n of sizes) {
            const expected = modelAllocate(model, n, size);
            const r = allocator.allocate(n);
            if (expected === null) {
              assert.equal(r, null);
            } else {
              assert.ok(r !== null);
              assert.deepEqual([r.start, r.end], expected);
              got.push(r);
            }
            assert.equal(allocator.nextPos, Math.min(model.next, size));
            assert.equal(allocator.remaining, size - Math.min(model.next, size));
            assert.equal(allocator.totalSize, size);
          }
          // Drain the rest: the ranges then cover [0, size) with no gap and no overlap.
          for (let r = allocator.allocate(1); r !== null; r = allocator.allocate(1)) got.push(r);
          let at = 0;
          for (const r of got) {
            assert.equal(r.start, at);
            assert.ok(r.end > r.start);
            assert.equal(r.start % ALIGNMENT, 0);
            at = r.end;
          }
          assert.equal(at, size);
          assert.equal(allocator.remaining, 0);
        } finally {
          file.close();
        }
      }),
      { numRuns: 150 },
    );
  });
}

test('splitAtAlignUp and splitAtAlignDown match the model', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 8 }),
      fc.integer({ min: 1, max: 12 * ALIGNMENT }),
      fc.integer({ min: 0, max: 24 * ALIGNMENT }),
      fc.boolean(),
      (prefixPages, length, pos, up) => {
        const size = prefixPages * ALIGNMENT + length;
        const { file, allocator } = open(size, 'sequential');
        try {
          if (prefixPages > 0) allocator.allocate(prefixPages * ALIGNMENT);
          const r = allocator.allocate(length)!;
          const [start, end] = [r.start, r.end];
          if (up) {
            const s = r.splitAtAlignUp(pos);
            const at = Math.ceil(pos / ALIGNMENT) * ALIGNMENT;
            if (pos < start || pos > end) {
              assert.equal(s.kind, 'outOfBounds');
              assert.equal(r.isLive, true);
            } else if (at >= end) {
              assert.equal(s.kind, 'lowOnly');
              assert.equal(s.kind === 'lowOnly' && s.low, r);
              assert.equal(r.isLive, true);
            } else {
              assert.equal(s.kind, 'split');
              if (s.kind !== 'split') return;
              assert.deepEqual([s.low.start, s.low.end, s.high.start, s.high.end], [start, at, at, end]);
              assert.equal(r.isLive, false);
              assert.equal(s.low.isEmpty, at === start);
            }
          } else {
            const s = r.splitAtAlignDown(pos);
            const at = pos - (pos % ALIGNMENT);
            if (pos < start || pos > end) {
              assert.equal(s.kind, 'outOfBounds');
              assert.equal(r.isLive, true);
            } else if (at <= start) {
              assert.equal(s.kind, 'highOnly');
              assert.equal(s.kind === 'highOnly' && s.high, r);
              assert.equal(r.isLive, true);
            } else {
              assert.equal(s.kind, 'split');
              if (s.kind !== 'split') return;
              assert.deepEqual([s.low.start, s.low.end, s.high.start, s.high.end], [start, at, at, end]);
              assert.equal(r.isLive, false);
              assert.equal(s.high.isEmpty, at === end);
            }
          }
        } finally {
          file.close();
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('any sequence of splits keeps the live ranges disjoint and covering the original', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 32 * ALIGNMENT }),
      fc.array(fc.tuple(fc.nat(), fc.nat({ max: 32 * ALIGNMENT }), fc.boolean()), { maxLength: 30 }),
      (length, steps) => {
        const { file, allocator } = open(length, 'sequential');
        try {
          const root = allocator.allocate(length)!;
          let live: AllocatedRange[] = [root];
          const dead: AllocatedRange[] = [];
          for (const [pick, pos, up] of steps) {
            const r = live[pick % live.length];
            const s = up ? r.splitAtAlignUp(r.start + (pos % (r.length + 1))) : r.splitAtAlignDown(r.start + (pos % (r.length + 1)));
            if (s.kind === 'split') {
              dead.push(r);
              live = live.filter((x) => x !== r).concat([s.low, s.high]);
            }
          }
          assert.ok(live.every((x) => x.isLive));
          assert.ok(dead.every((x) => !x.isLive));
          // Writing through a dead range is refused; through a live one it works.
          for (const d of dead) assert.throws(() => file.writeRange(d, new Uint8Array(d.length)), { code: 'ERR_MMAP_RANGE_CONSUMED' });
          const sorted = [...live].sort((a, b) => a.start - b.start || a.end - b.end);
          let at = 0;
          for (const x of sorted) {
            assert.equal(x.start, at, 'no gap and no overlap');
            at = x.end;
          }
          assert.equal(at, length);
        } finally {
          file.close();
        }
      },
    ),
    { numRuns: 200 },
  );
});
