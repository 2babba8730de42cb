// The vmap examples in examples/ run in a child process and check their own
// results.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

function run(script: string, ...args: string[]): string {
  return execFileSync(process.execPath, [examples + script, ...args], { encoding: 'utf8', timeout: 120_000 });
}

test('examples/ring-lines.mjs: the seed ring example (fill, refused, read two lines, write again)', () => {
  const out = run('ring-lines.mjs');
  assert.match(out, /capacity 4096, wrote \d+ lines, \d+ bytes free/);
  assert.match(out, /next line refused: ERR_MMAP_RING_FULL/);
  assert.match(out, /read back lines 1 and 2/);
  assert.match(out, /readSlice: \d+ bytes in one view, ending with "this is test line \d+"/);
});

test('examples/shared-ring.mjs: a producer worker feeds a consumer worker, every byte checked', () => {
  const out = run('shared-ring.mjs', '--mib', '32');
  assert.match(out, /8192 messages of 4096 bytes produced/);
  assert.match(out, /consumer: 8192 messages, 0 wrong, end of stream seen: true/);
  // The figure says what bounds it.
  assert.match(out, /[\d.]+ GiB\/s from the first message to the last, bound by the per-byte fill and check loops \(not the ring\)/);
});

test('examples/log-tailer.mjs: follows the lines another process appends, every one in order', () => {
  const out = run('log-tailer.mjs', '--lines', '50');
  assert.match(out, /tail: request 49 served/);
  assert.match(out, /followed 50 lines appended by another process, in order/);
});
