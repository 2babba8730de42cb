// Files of any size: a 64 GiB sparse file, written and read at the last
// byte and across every 4 GiB boundary (where a Node 20 typed array stops)
// and every internal 1 GiB view boundary, through both APIs, with number
// and bigint offsets; checked through node:fs as well.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { MmapFile, RawMmapFile, ALIGNMENT } from 'ranged-mmap';
import { pattern, tempDir } from './helpers.js';

const GiB = 2 ** 30;
const SIZE = 64 * GiB;

function readDisk(path: string, offset: number, length: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const buf = new Uint8Array(length);
    assert.equal(readSync(fd, buf, 0, length, offset), length);
    return buf;
  } finally {
    closeSync(fd);
  }
}

test('RawMmapFile: 64 GiB sparse, writes straddling every 1 GiB boundary and the last byte', () => {
  const t = tempDir();
  try {
    const path = t.path('huge.bin');
    const raw = RawMmapFile.create(path, BigInt(SIZE), { sparse: true });
    assert.equal(raw.size, SIZE);
    const written: [number, Uint8Array][] = [];
    for (let g = 1; g < 64; g++) {
      const at = g * GiB - 100; // 100 bytes before the boundary, 200 after
      const data = pattern(300, g);
      raw.writeAt(g % 2 === 0 ? BigInt(at) : at, data);
      written.push([at, data]);
    }
    raw.writeAt(SIZE - 1, new Uint8Array([0x5a]));
    for (const [at, data] of written) {
      const back = new Uint8Array(300);
      raw.readAt(BigInt(at), back);
      assert.deepEqual(back, data, `read back at ${at}`);
      assert.deepEqual(raw.readSlice(at, 300), data, `readSlice (a copy across views) at ${at}`);
    }
    assert.deepEqual([...raw.readSlice(BigInt(SIZE - 1), 1n)], [0x5a]);
    raw.syncAll();
    raw.close();
    assert.equal(statSync(path).size, SIZE);
    for (const [at, data] of written) assert.deepEqual(readDisk(path, at, 300), data, `on disk at ${at}`);
    assert.deepEqual([...readDisk(path, SIZE - 1, 1)], [0x5a]);
  } finally {
    t.cleanup();
  }
});

test('MmapFile: ranges past 4 GiB, a range across every 4 GiB boundary, and the last range', async () => {
  const t = tempDir();
  try {
    const path = t.path('huge-ranges.bin');
    const { file } = MmapFile.create(path, SIZE, { sparse: true });
    file.close();
    const written: [number, Uint8Array][] = [];
    for (let g = 4; g < 64; g += 4) {
      // Resume a sequential allocator just below the boundary: the next 8 KiB range straddles it.
      const { file: f, allocator } = MmapFile.open(path, { allocatorState: { kind: 'sequential', nextPos: g * GiB - ALIGNMENT, totalSize: SIZE } });
      const r = allocator.allocate(2 * ALIGNMENT)!;
      assert.deepEqual([r.start, r.end], [g * GiB - ALIGNMENT, g * GiB + ALIGNMENT]);
      const data = pattern(r.length, g);
      if (g % 8 === 0) await f.writeRangeAsync(r, data);
      else f.writeRange(r, data);
      const back = new Uint8Array(r.length);
      if (g % 8 === 0) await f.readRangeAsync(r, back);
      else f.readRange(r, back);
      assert.deepEqual(back, data);
      f.syncRange(f.writeRange(r, data));
      f.close();
      written.push([r.start, data]);
    }
    const { file: last, allocator } = MmapFile.open(path, { allocator: 'concurrent', allocatorState: { kind: 'concurrent', nextPos: SIZE - ALIGNMENT, totalSize: SIZE } });
    const r = allocator.allocate(ALIGNMENT)!;
    assert.equal(r.end, SIZE);
    assert.equal(allocator.allocate(1), null);
    last.writeRange(r, pattern(ALIGNMENT, 99));
    last.syncAll();
    last.close();
    for (const [at, data] of written) assert.deepEqual(readDisk(path, at, data.length), data, `on disk at ${at}`);
    assert.deepEqual(readDisk(path, SIZE - ALIGNMENT, ALIGNMENT), pattern(ALIGNMENT, 99));
  } finally {
    t.cleanup();
  }
});
