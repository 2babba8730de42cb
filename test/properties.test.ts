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

/**
 * Numbers in [min, max]: page-aligned ones, aligned ± 1, and arbitrary ones,
 * equally often (uniform integers almost never land on a page boundary,
 * where off-by-one-page bugs live).
 */
function nearAligned(min: number, max: number): fc.Arbitrary<number> {
  const pages = fc.integer({ min: Math.ceil(min / ALIGNMENT), max: Math.floor(max / ALIGNMENT) });
  const clamp = (v: number) => Math.min(max, Math.max(min, v));
  return fc.oneof(
    pages.map((p) => p * ALIGNMENT),
    pages.map((p) => clamp(p * ALIGNMENT - 1)),
    pages.map((p) => clamp(p * ALIGNMENT + 1)),
    fc.integer({ min, max }),
  );
}

/** A split position: one of the range's own edges (± 1), or any near-aligned or arbitrary number. */
type PosChoice = 'start' | 'start-1' | 'start+1' | 'end' | 'end-1' | 'end+1' | number;
const posChoice: fc.Arbitrary<PosChoice> = fc.oneof(
  fc.constantFrom<PosChoice>('start', 'start-1', 'start+1', 'end', 'end-1', 'end+1'),
  nearAligned(0, 24 * ALIGNMENT),
);
function resolvePos(choice: PosChoice, start: number, end: number): number {
  if (typeof choice === 'number') return choice;
  const base = choice.startsWith('start') ? start : end;
  const delta = choice.endsWith('-1') ? -1 : choice.endsWith('+1') ? 1 : 0;
  return Math.max(0, base + delta);
}

const fileSize = nearAligned(1, 64 * ALIGNMENT + 4095);
const requests = fc.array(nearAligned(1, 9 * ALIGNMENT), { maxLength: 40 });

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
    fc.property(fc.integer({ min: 0, max: 8 }), nearAligned(1, 12 * ALIGNMENT), posChoice, fc.boolean(), (prefixPages, length, choice, up) => {
      const size = prefixPages * ALIGNMENT + length;
      const { file, allocator } = open(size, 'sequential');
      try {
        if (prefixPages > 0) allocator.allocate(prefixPages * ALIGNMENT);
        const r = allocator.allocate(length)!;
        const [start, end] = [r.start, r.end];
        const pos = resolvePos(choice, start, end);
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
    }),
    { numRuns: 300 },
  );
});

test('any sequence of splits keeps the live ranges disjoint and covering the original', () => {
  fc.assert(
    fc.property(
      nearAligned(1, 32 * ALIGNMENT),
      fc.array(fc.tuple(fc.nat(), nearAligned(0, 32 * ALIGNMENT), fc.boolean()), { maxLength: 30 }),
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

// Fixed cases at the edges, with the expected bounds written out (not
// computed by the same formula as the library): a range at 0 and one that
// starts at page 2 and ends off a page boundary; positions at the start,
// the end, one either side of each, and exactly on and next to every page.
type Expected = 'outOfBounds' | 'lowOnly' | 'highOnly' | [number, number, number, number];
const EDGE_CASES: { range: [number, number]; up: [number, Expected][]; down: [number, Expected][] }[] = [
  {
    range: [0, 16384],
    up: [
      [0, [0, 0, 0, 16384]],
      [1, [0, 4096, 4096, 16384]],
      [4095, [0, 4096, 4096, 16384]],
      [4096, [0, 4096, 4096, 16384]],
      [4097, [0, 8192, 8192, 16384]],
      [8192, [0, 8192, 8192, 16384]],
      [12287, [0, 12288, 12288, 16384]],
      [12288, [0, 12288, 12288, 16384]],
      [12289, 'lowOnly'],
      [16383, 'lowOnly'],
      [16384, 'lowOnly'],
      [16385, 'outOfBounds'],
    ],
    down: [
      [0, 'highOnly'],
      [1, 'highOnly'],
      [4095, 'highOnly'],
      [4096, [0, 4096, 4096, 16384]],
      [4097, [0, 4096, 4096, 16384]],
      [8191, [0, 4096, 4096, 16384]],
      [8192, [0, 8192, 8192, 16384]],
      [12288, [0, 12288, 12288, 16384]],
      [16383, [0, 12288, 12288, 16384]],
      [16384, [0, 16384, 16384, 16384]],
      [16385, 'outOfBounds'],
    ],
  },
  {
    range: [8192, 18192],
    up: [
      [0, 'outOfBounds'],
      [8191, 'outOfBounds'],
      [8192, [8192, 8192, 8192, 18192]],
      [8193, [8192, 12288, 12288, 18192]],
      [12287, [8192, 12288, 12288, 18192]],
      [12288, [8192, 12288, 12288, 18192]],
      [12289, [8192, 16384, 16384, 18192]],
      [16384, [8192, 16384, 16384, 18192]],
      [16385, 'lowOnly'],
      [18191, 'lowOnly'],
      [18192, 'lowOnly'],
      [18193, 'outOfBounds'],
    ],
    down: [
      [0, 'outOfBounds'],
      [8191, 'outOfBounds'],
      [8192, 'highOnly'],
      [8193, 'highOnly'],
      [12287, 'highOnly'],
      [12288, [8192, 12288, 12288, 18192]],
      [12289, [8192, 12288, 12288, 18192]],
      [16383, [8192, 12288, 12288, 18192]],
      [16384, [8192, 16384, 16384, 18192]],
      [18191, [8192, 16384, 16384, 18192]],
      [18192, [8192, 16384, 16384, 18192]],
      [18193, 'outOfBounds'],
    ],
  },
];

test('splitAtAlignUp and splitAtAlignDown at the edges: start, end, ± 1, and on every page boundary', () => {
  for (const {
    range: [start, end],
    up,
    down,
  } of EDGE_CASES) {
    for (const [direction, cases] of [
      ['up', up],
      ['down', down],
    ] as const) {
      for (const [pos, expected] of cases) {
        for (const asBigint of [false, true]) {
          const { file, allocator } = open(end, 'sequential');
          try {
            if (start > 0) allocator.allocate(start);
            const r = allocator.allocate(end - start)!;
            assert.deepEqual([r.start, r.end], [start, end]);
            const p = asBigint ? BigInt(pos) : pos;
            const s = direction === 'up' ? r.splitAtAlignUp(p) : r.splitAtAlignDown(p);
            const what = `[${start}, ${end}).splitAtAlign${direction === 'up' ? 'Up' : 'Down'}(${String(p)})`;
            if (typeof expected === 'string') {
              assert.equal(s.kind, expected, what);
              const same = s.kind === 'outOfBounds' ? s.range : s.kind === 'lowOnly' ? s.low : s.kind === 'highOnly' ? s.high : undefined;
              assert.equal(same, r, `${what}: gives back the range itself`);
              assert.equal(r.isLive, true, `${what}: the range stays live`);
            } else {
              assert.equal(s.kind, 'split', what);
              if (s.kind !== 'split') continue;
              assert.deepEqual([s.low.start, s.low.end, s.high.start, s.high.end], expected, what);
              assert.equal(r.isLive, false, `${what}: the split range is consumed`);
              assert.ok(s.low.isLive && s.high.isLive, `${what}: both pieces are live`);
            }
          } finally {
            file.close();
          }
        }
      }
    }
  }
});
