// An atomic view whose page another process cut (the file truncated
// behind the library's back: no resize, so nothing marks the mapping
// beforehand) must report ERR_MMAP_FAULT after the operation, never
// return what the patched page holds. Only the check after the operation
// can see this, so this is the test that holds it. Run in a child process
// (a deadline for the fault path, and the spoiled mapping dies with it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ALIGNMENT } from 'ranged-mmap';
import { tempDir } from './helpers.js';

const child = `
import { truncateSync } from 'node:fs';
import { MemoryMappedFile } from 'ranged-mmap';
const [path] = process.argv.slice(1);
const code = (fn) => { try { return 'ok ' + String(fn()); } catch (e) { return String(e.code); } };
const m = MemoryMappedFile.createRw(path, 3 * ${ALIGNMENT});
const u32 = m.atomicU32(2 * ${ALIGNMENT} + 8);
const u64 = m.atomicU64(2 * ${ALIGNMENT} + 16);
u32.store(7);
u64.store(7n);
const before = [u32.load(), String(u64.load())];
truncateSync(path, ${ALIGNMENT}); // as another process would: the mapping is not told
const after = {
  u32load: code(() => u32.load()),
  u32add: code(() => u32.add(1)),
  u32cas: code(() => u32.compareExchange(7, 8)),
  u64load: code(() => u64.load()),
  u64store: code(() => u64.store(1n)),
  u64add: code(() => u64.add(1n)),
  u64cas: code(() => u64.compareExchange(7n, 8n)),
};
console.log(JSON.stringify({ before, after }));
`;

test('an atomic view on a page another process truncated away reports ERR_MMAP_FAULT for every operation, never a value', { timeout: 60_000 }, () => {
  const t = tempDir();
  try {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', child, t.path('cut.bin')], {
      cwd: new URL('.', import.meta.url),
      timeout: 50_000,
      encoding: 'utf8',
    });
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as { before: [number, string]; after: Record<string, string> };
    assert.deepEqual(report.before, [7, '7']);
    assert.deepEqual(report.after, {
      u32load: 'ERR_MMAP_FAULT',
      u32add: 'ERR_MMAP_FAULT',
      u32cas: 'ERR_MMAP_FAULT',
      u64load: 'ERR_MMAP_FAULT',
      u64store: 'ERR_MMAP_FAULT',
      u64add: 'ERR_MMAP_FAULT',
      u64cas: 'ERR_MMAP_FAULT',
    });
  } finally {
    t.cleanup();
  }
});
