// The runnable examples in examples/ (the ones README shows) run and check
// their own results; here each runs in a child process and must succeed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));

function run(script: string, ...args: string[]): string {
  return execFileSync(process.execPath, [examples + script, ...args], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
}

test('examples/quick-start.mjs writes, reads back and finds the bytes on disk', () => {
  const out = run('quick-start.mjs');
  assert.match(out, /read back 0xcd/);
  assert.match(out, /on disk: 1048576 bytes, first 0xab, at 512 KiB 0xcd/);
});

test('examples/workers.mjs: moved range and two allocating workers, every byte owned', () => {
  const out = run('workers.mjs');
  assert.match(out, /still usable here\? false/);
  assert.match(out, /every byte written by exactly the thread that owned it/);
  // Each worker reports what it really wrote; together, every 4 KiB range after the moved 64 KiB.
  const counts = [...out.matchAll(/worker (\d) allocated and wrote (\d+) ranges of 4 KiB/g)].map((m) => Number(m[2]));
  assert.equal(counts.length, 2, out);
  assert.equal(counts[0]! + counts[1]!, 4096 - 16, out);
});

test('examples/demo.mjs (64 MiB, 4 workers) verifies every byte', () => {
  const out = run('demo.mjs', '--size-mib', '64', '--workers', '4', '--chunk-kib', '1024');
  assert.match(out, /ranges +(\d+ \+ ){3}\d+ = 64\n/);
  assert.match(out, /verified +every byte correct/);
});

test('examples/counter.mjs: processes share a counter and an allocator and meet through wait/notify', () => {
  const out = run('counter.mjs');
  assert.match(out, /woken by wait\/notify: 3 processes done/);
  assert.match(out, /counter = 30000 \(3 processes x 10000\)/);
  assert.match(out, /no byte left unwritten: true/);
  // The output is in order: wake-up, one report per process (1, 2, 3), then the summary lines.
  const lines = out.trim().split('\n');
  assert.match(lines[0]!, /^woken by wait\/notify/);
  for (let p = 1; p <= 3; p++) assert.match(lines[p]!, new RegExp(`^process ${p} allocated and wrote \\d+ ranges$`));
  assert.match(lines[4]!, /^counter = /);
  assert.match(lines[5]!, /^data file: /);
  assert.equal(lines.length, 6, out);
  const total = [...out.matchAll(/wrote (\d+) ranges/g)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(total > 0, out);
});
