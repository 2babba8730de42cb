// Runs the compiled test suite with node's test runner.
// Usage: node scripts/run-tests.mjs [name-filter ...] [!excluded-filter ...]
// A file runs when its name contains one of the filters (all files when
// there is none) and none of the '!' filters.
// Test files run one at a time (--test-concurrency=1): several of them start
// worker threads or child processes and map large files, and the machine
// has two cores.
// No file can hang the run: --test-timeout bounds each test file's run as a
// whole (the runner kills a file's process at the deadline and reports it
// failed) and every test in it. On the two-core machine the slowest file
// takes about 26 s (vmap-shared-ring; the slowest test, 16 s, is the
// docs:api rebuild); with a load average of 35 the slowest test took 91 s
// and allocation-batches about 150 s, so 300 s is reached only by a hang.
// Tests that should be short set a shorter { timeout } of their own.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const dir = join(root, '.test-dist');
// The ranged-mmap-get workspace's tests are plain ESM (get/test/*.test.mjs), run as they are.
const getDir = join(root, 'get', 'test');
const args = process.argv.slice(2);
const filters = args.filter((x) => !x.startsWith('!'));
const excluded = args.filter((x) => x.startsWith('!')).map((x) => x.slice(1));
const pick = (/** @type {string} */ d, /** @type {string} */ ext) =>
  (existsSync(d) ? readdirSync(d) : [])
    .filter((f) => f.endsWith(ext))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
    .filter((f) => !excluded.some((x) => f.includes(x)))
    .sort()
    .map((f) => join(d, f));
const files = [...pick(dir, '.test.js'), ...pick(getDir, '.test.mjs')];
if (files.length === 0) {
  console.error('no test files found in .test-dist; run `npm run build:test` first');
  process.exit(1);
}
const FILE_TIMEOUT_MS = 300_000;
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=1', `--test-timeout=${FILE_TIMEOUT_MS}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
