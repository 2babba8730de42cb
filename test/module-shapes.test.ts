// The CommonJS exports object of every internal module keeps V8's fast
// (non-dictionary) shape. A re-export (`export { X } from` or
// `export { imported }`) compiles to an accessor defined over an existing
// data property, which turns the whole exports object into a dictionary;
// every later read of a constant from that module (ALIGNMENT on the
// allocate path, a status-page index on a checked copy) is then a generic
// property lookup call instead of a field load. Only the modules listed in
// REEXPORTERS (the index and two that re-export public classes, none of
// them read on a hot path) may be dictionaries. Run in a child process with
// --allow-natives-syntax (%HasFastProperties).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

const REEXPORTERS = ['index.js', 'mmapio/window.js', 'vmap/map.js'];

const child = `
const { readdirSync } = require('node:fs');
const { join } = require('node:path');
const [dir] = process.argv.slice(1);
const out = {};
for (const f of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
  if (!f.endsWith('.js')) continue;
  out[f] = %HasFastProperties(require(join(dir, f)));
}
console.log(JSON.stringify(out));
`;

test('every internal module keeps fast exports (no re-export accessors outside the index and two class re-exporters)', { timeout: 60_000 }, () => {
  const dir = dirname(createRequire(import.meta.url).resolve('ranged-mmap'));
  const out = execFileSync(process.execPath, ['--allow-natives-syntax', '-e', child, dir], { timeout: 50_000, encoding: 'utf8' });
  const fast = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, boolean>;
  assert.ok(Object.keys(fast).length > 20, `only ${Object.keys(fast).length} modules found under ${dir}`);
  assert.equal(fast['ranges/alignment.js'], true, 'ranges/alignment.js (ALIGNMENT, read by allocate and by every range)');
  const slow = Object.keys(fast)
    .filter((f) => !fast[f])
    .sort();
  assert.deepEqual(
    slow.filter((f) => !REEXPORTERS.includes(f)),
    [],
    'modules whose exports became a dictionary (a re-export in them?)',
  );
});
