// Read-only and copy-on-write mappings never write the file: a second
// process stores through every route its mode allows (views included),
// and this process (another process) still sees the original bytes, both
// with node:fs and through its own read-write mapping, while the child is
// alive and after it exits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { MemoryMappedFile } from 'ranged-mmap';
import { fixture, only, runChild } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { seedFile } from './mmapio-helpers.js';

const SIZE = 1 << 20;
const sha = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

for (const mode of ['ro', 'cow'] as const) {
  test(`${mode}: stores in a second process neither crash it nor reach the file`, async () => {
    const t = tempDir();
    try {
      const p = t.path('shared.bin');
      const original = seedFile(p, SIZE, 3);
      const mine = MemoryMappedFile.openRw(p);
      const checks: { fs: string; mapping: string }[] = [];
      const result = await runChild(process.execPath, [fixture('mmapio-store-child.js'), p, mode], (event, child) => {
        if (event.event === 'stored') {
          // The child holds its stores in its mapping right now.
          checks.push({ fs: sha(readFileSync(p)), mapping: sha(mine.asSlice(0, SIZE)) });
          child.stdin.write('checked\n');
        }
      });
      assert.equal(result.code, 0, `child failed: ${result.stderr}`);
      assert.equal(result.signal, null);
      const stored = only(result, 'stored');
      only(result, 'closed');
      const want = sha(original);
      assert.deepEqual(checks, [{ fs: want, mapping: want }], 'another process sees the original bytes while the child runs');
      assert.equal(sha(readFileSync(p)), want, 'and after it exits');
      assert.notEqual(stored.own, want, 'the child did see its own stores');
      if (mode === 'ro') {
        assert.deepEqual(stored.refused, [
          'updateRegion:ERR_MMAP_INVALID_MODE',
          'asSliceMut:ERR_MMAP_INVALID_MODE',
          'atomicU64.add:ERR_MMAP_INVALID_MODE',
          'atomicU32.store:ERR_MMAP_INVALID_MODE',
          'chunksMut:ERR_MMAP_INVALID_MODE',
          'updateRegion-large:ERR_MMAP_INVALID_MODE',
        ]);
      } else {
        assert.deepEqual(stored.refused, [], 'cow allows every write');
      }
      mine.close();
    } finally {
      t.cleanup();
    }
  });
}
