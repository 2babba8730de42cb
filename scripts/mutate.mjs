// Hand-planted mutants over the ranges, the allocators and the fault paths:
// each is a small textual change to the compiled library (dist/cjs/*.js: the
// CommonJS build that dist/*.js only re-export) that a
// real bug could make. For each one, the relevant test files run against the
// mutated copy; a mutant is killed when a test that passes on the unmutated
// code fails (or the run crashes or times out), and survives otherwise.
//
// Usage: npm run mutate            (builds dist/ and .test-dist/ first)
//        node scripts/mutate.mjs [--only id,id] [--keep] [--check]
// --check only applies each mutant (no tests) to show which ones are stale.
//
// The working tree is never modified: everything runs in a temporary copy
// (package.json, dist/, .test-dist/, native/build/, prebuilds/, examples/, and a
// link to node_modules), which is removed at the end, on error and on
// Ctrl-C (--keep leaves it for inspection).
//
// A mutant is an exact string `find` in `file`, replaced by `replace`. With
// an `anchor` (an exact string that must occur once), the nearest `find`
// before (or, with where: 'after', after) the anchor is replaced, so short
// patterns can still pick one of several identical checks. A mutant whose
// strings are no longer found exactly as written is reported as 'stale':
// when the library changes, the list shows what to update instead of
// silently testing nothing. The script exits 0: it is a report.
//
// A mutant whose `file` is a C source under native/ (native/*.c or *.h; a
// dist/native/*.js file is compiled TypeScript like any other) changes the
// C source in the copy instead; the copy's native core is then compiled
// with gcc (as scripts/check-native.sh does, without the sanitizers) and the
// tests load it through RANGED_MMAP_NATIVE_BINDING.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const RUN_TIMEOUT_MS = 120_000;
/** How far (in characters) from its anchor a pattern may be. */
const ANCHOR_WINDOW = 600;

// Test files (substrings of names in .test-dist/, as for scripts/run-tests.mjs).
const RANGES = ['ownership', 'api', 'errors', 'properties', 'forgery', 'concurrency', 'smoke', 'big-file', 'seed-examples'];
const ALLOCATORS = ['api', 'properties', 'concurrency', 'big-file', 'seed-examples', 'errors', 'allocation-batches'];
const FAULTS = ['faults'];
const SRING_FAULTS = ['vmap-shared-ring-faults'];

/** @type {{ id: string, what: string, file: string, find: string, replace: string, anchor?: string, where?: 'before' | 'after', native?: boolean, tests: string[] }[]} */
const MUTANTS = [
  // --- liveness: a consumed (split or transferred) range must be refused by every entry point
  ...['writeRange', 'writeRangeAsync', 'readRange', 'readRangeAsync'].map((name) => ({
    id: `live-${name}`,
    what: `${name} skips the liveness check`,
    file: 'ranges/mmap-file.js',
    anchor: `this.#refusal(range, '${name}')`,
    find: '(0, allocated_range_js_1.rangeKey)(range) !== v.key',
    replace: '(0, allocated_range_js_1.keyOfConsumed)((0, allocated_range_js_1.rangeKey)(range)) !== v.key',
    tests: RANGES,
  })),
  {
    id: 'live-transfer',
    what: 'transfer() skips the liveness check',
    file: 'ranges/allocated-range.js',
    find: "this.#liveState('transfer')",
    replace: 'this.#bounds()',
    tests: RANGES,
  },
  {
    id: 'live-splitAtAlignUp',
    what: 'splitAtAlignUp skips the liveness check',
    file: 'ranges/allocated-range.js',
    anchor: 'splitAtAlignUp(pos) {',
    where: 'after',
    find: "this.#liveState('split')",
    replace: 'this.#bounds()',
    tests: RANGES,
  },
  {
    id: 'live-splitAtAlignDown',
    what: 'splitAtAlignDown skips the liveness check',
    file: 'ranges/allocated-range.js',
    anchor: 'splitAtAlignDown(pos) {',
    where: 'after',
    find: "this.#liveState('split')",
    replace: 'this.#bounds()',
    tests: RANGES,
  },
  {
    id: 'foreign-writeRange',
    what: "writeRange skips the range's file check",
    file: 'ranges/mmap-file.js',
    anchor: "this.#refusal(range, 'writeRange')",
    find: '(0, allocated_range_js_1.rangeKey)(range) !== v.key',
    replace: '(0, allocated_range_js_1.rangeKey)(range) < 0',
    tests: RANGES,
  },
  // --- splits
  {
    id: 'split-up-aligned',
    what: 'splitAtAlignUp is one page off at aligned positions',
    file: 'ranges/allocated-range.js',
    find: 'Math.ceil(p / alignment_js_1.ALIGNMENT) * alignment_js_1.ALIGNMENT',
    replace: '(Math.floor(p / alignment_js_1.ALIGNMENT) + 1) * alignment_js_1.ALIGNMENT',
    tests: RANGES,
  },
  {
    id: 'split-down-aligned',
    what: 'splitAtAlignDown is one page off at aligned positions',
    file: 'ranges/allocated-range.js',
    find: 'p - (p % alignment_js_1.ALIGNMENT)',
    replace: '(Math.ceil(p / alignment_js_1.ALIGNMENT) - 1) * alignment_js_1.ALIGNMENT',
    tests: RANGES,
  },
  {
    id: 'split-up-lowOnly',
    what: "splitAtAlignUp splits into an empty high piece instead of 'lowOnly' at the end",
    file: 'ranges/allocated-range.js',
    find: 'at >= s.end',
    replace: 'at > s.end',
    tests: RANGES,
  },
  {
    id: 'split-down-highOnly',
    what: "splitAtAlignDown splits into an empty low piece instead of 'highOnly' at the start",
    file: 'ranges/allocated-range.js',
    find: 'at <= s.start',
    replace: 'at < s.start',
    tests: RANGES,
  },
  {
    id: 'split-bounds',
    what: 'splitAtAlignUp accepts a position one past the end',
    file: 'ranges/allocated-range.js',
    anchor: 'splitAtAlignUp(pos) {',
    where: 'after',
    find: 'p > s.end',
    replace: 'p > s.end + 1',
    tests: RANGES,
  },
  // --- allocators
  {
    id: 'seq-rounding',
    what: 'the sequential allocator rounds requests down, not up',
    file: 'ranges/sequential-allocator.js',
    find: 'Math.ceil(n / alignment_js_1.ALIGNMENT) * alignment_js_1.ALIGNMENT',
    replace: 'Math.max(alignment_js_1.ALIGNMENT, Math.floor(n / alignment_js_1.ALIGNMENT) * alignment_js_1.ALIGNMENT)',
    tests: ALLOCATORS,
  },
  {
    id: 'seq-clamp',
    what: 'the sequential allocator clamps the last range one byte short',
    file: 'ranges/sequential-allocator.js',
    find: 'want >= total - start ? total : start + want',
    replace: 'want >= total - start ? total - 1 : start + want',
    tests: ALLOCATORS,
  },
  {
    id: 'seq-exhausted',
    what: 'the sequential allocator hands out an empty range at the end instead of null',
    file: 'ranges/sequential-allocator.js',
    find: 'if (start >= total)',
    replace: 'if (start > total)',
    tests: ALLOCATORS,
  },
  {
    id: 'conc-rounding',
    what: 'the concurrent allocator rounds requests down, not up',
    file: 'ranges/concurrent-allocator.js',
    find: '(size + alignment_js_1.ALIGNMENT - 1) >>> PAGE_SHIFT',
    replace: 'Math.max(1, size >>> PAGE_SHIFT)',
    tests: ALLOCATORS,
  },
  {
    id: 'conc-clamp',
    what: 'the concurrent allocator (counter, batches and leftovers alike) does not clamp the last range at the end of the file',
    file: 'ranges/concurrent-allocator.js',
    find: 'page + pages <= this.#wholePages ? pages * alignment_js_1.ALIGNMENT : v.size - page * alignment_js_1.ALIGNMENT',
    replace: 'pages * ALIGNMENT',
    tests: ['allocation-batches', ...ALLOCATORS],
  },
  {
    id: 'conc-clamp-big',
    what: 'the byte counter of a file over 4 TiB does not clamp the last range at the end of the file',
    file: 'ranges/concurrent-allocator.js',
    find: 'Math.min(bytes, v.size - start)',
    replace: 'bytes',
    tests: ['adversarial', ...ALLOCATORS],
  },
  {
    id: 'conc-exhausted',
    // The add is not preceded by a look at the counter: this check alone
    // stops an allocation at the end of the file.
    what: 'the concurrent allocator misses exhaustion by one page',
    file: 'ranges/concurrent-allocator.js',
    find: 'if (page >= totalPages || page < 0)\n                return this.#pastEnd(want);',
    replace: 'if (page > totalPages || page < 0)\n                return this.#pastEnd(want);',
    tests: ALLOCATORS,
  },
  {
    id: 'conc-adds-after-end',
    what: 'the concurrent allocator does not take back an add past the end (after exhaustion the counter keeps growing and wraps)',
    file: 'ranges/concurrent-allocator.js',
    find: 'Atomics.sub(this.#views.status, status_page_js_1.STATUS_ALLOC_NEXT_PAGES_I32, want);',
    replace: '',
    tests: ['adversarial', ...ALLOCATORS],
  },
  {
    id: 'batch-leftover-lost',
    what: 'what other threads left in their batches is never handed out once the counter is at the end',
    file: 'ranges/allocation-batch.js',
    find: 'static takeLeftover(status, want) {',
    replace: 'static takeLeftover(status, want) { return -1;',
    tests: ['allocation-batches', ...ALLOCATORS],
  },
  {
    id: 'batch-remaining',
    what: 'remaining does not count the pages that batches hold',
    file: 'ranges/allocation-batch.js',
    find: 'if (taken >= limit)\n                continue;',
    replace: 'if (true)\n                continue;',
    tests: ['allocation-batches'],
  },
  {
    id: 'batch-adopt',
    what: 'a thread that claims a freed slot ignores the pages left in it',
    file: 'ranges/allocation-batch.js',
    find: 'this.#base = Atomics.load(status, slot + BASE);',
    replace: 'this.#base = Atomics.load(status, slot + BASE); this.#limit = 0;',
    tests: ['allocation-batches'],
  },
  {
    id: 'batch-double',
    what: 'a leftover taken from a batch is not marked taken (handed out twice)',
    file: 'ranges/allocation-batch.js',
    find: 'if (Atomics.compareExchange(status, at, state, state + n) === state) {',
    replace: 'if (Atomics.load(status, at) === state) {',
    tests: ['allocation-batches'],
  },
  // Races only real threads can show (the stress and owner-against-taker tests in allocation-batches).
  {
    id: 'batch-owner-store',
    what: "a batch's owner takes its pages with a plain store, not a compare-and-swap (a taker's pages handed out again)",
    file: 'ranges/allocation-batch.js',
    find: 'const found = Atomics.compareExchange(status, at, state, state + want);',
    replace: 'const found = (Atomics.store(status, at, state + want), state);',
    tests: ['allocation-batches'],
  },
  {
    id: 'batch-leftover-store',
    what: 'a taker of leftovers takes them with a plain store after its check (two takers get the same pages)',
    file: 'ranges/allocation-batch.js',
    find: 'if (Atomics.compareExchange(status, at, state, state + n) === state) {',
    replace: 'if ((Atomics.store(status, at, state + n), true)) {',
    tests: ['allocation-batches'],
  },
  {
    id: 'batch-claim-racy',
    what: 'a slot is claimed by a load and a store, not a compare-and-swap (two owners refill one slot)',
    file: 'ranges/allocation-batch.js',
    find: 'Atomics.compareExchange(status, slot + OWNER, 0, 1) === 0) {',
    replace: '(Atomics.store(status, slot + OWNER, 1), true)) {',
    tests: ['allocation-batches'],
  },
  // --- transfers, receipts, shared handles
  {
    id: 'claim-unchecked',
    what: 'receiveRange mints a range even when the ticket claim failed',
    file: 'ranges/mmap-file.js',
    find: 'if (!claimed) {',
    replace: 'if (false) {',
    tests: ['forgery', 'concurrency', 'errors'],
  },
  {
    id: 'receipt-key',
    what: "flushRange/syncRange skip the receipt's file check",
    file: 'ranges/mmap-file.js',
    find: 'if (r.key !== this.views.key) {',
    replace: 'if (false) {',
    tests: ['errors', 'api'],
  },
  {
    id: 'length-mismatch',
    what: 'writeRange accepts data shorter than the range',
    file: 'ranges/mmap-file.js',
    find: "dataLength !== length)\n            throw lengthMismatch('writeRange'",
    replace: "dataLength > length)\n            throw lengthMismatch('writeRange'",
    tests: ['errors', 'api', 'ownership'],
  },
  {
    id: 'share-size',
    what: "fromShared does not compare the handle's size with the mapping",
    file: 'core/mapped-file-base.js',
    find: '(!resized && mapping.size !== h.size) || ',
    replace: '',
    tests: ['forgery', 'lifecycle'],
  },
  // --- raw bounds
  {
    id: 'bounds-past-end',
    what: 'raw calls accept a span one byte past the end of the file',
    file: 'core/mapped-file-base.js',
    find: 'length > size - start',
    replace: 'length > size - start + 1',
    tests: ['errors', 'api', 'big-file'],
  },
  {
    id: 'bounds-at-end',
    what: 'raw calls refuse a span that ends exactly at the end of the file (> became >=)',
    file: 'core/mapped-file-base.js',
    find: 'length > size - start',
    replace: 'length >= size - start',
    tests: ['errors', 'api', 'big-file'],
  },
  // --- fault paths
  {
    id: 'sync-ignores-fault',
    what: 'syncAll ignores the fault its own fstat check recorded',
    file: 'core/thread-mapping.js',
    anchor: 'native.sync(this.key',
    where: 'after',
    find: 'throw (0, errors_js_1.fromNative)(error, this.path);',
    replace: "if (error.code !== 'ERR_MMAP_FAULT') throw (0, errors_js_1.fromNative)(error, this.path);",
    tests: FAULTS,
  },
  {
    id: 'write-ignores-fault',
    what: 'writeRange returns a receipt after its copy faulted',
    file: 'ranges/mmap-file.js',
    find: 'if (v.status[status_page_js_1.STATUS_FAULTS_I32] !== 0)\n            throw v.faultError();\n        const receipt = (0, allocated_range_js_1.rangeReceipt)(r);',
    replace: 'if (false)\n            throw v.faultError();\n        const receipt = (0, allocated_range_js_1.rangeReceipt)(r);',
    tests: FAULTS,
  },
  {
    id: 'check-ignores-fault',
    what: 'a spoiled handle is not refused on later calls',
    file: 'core/thread-mapping.js',
    anchor: 'check() {',
    where: 'after',
    find: 'if (this.status[status_page_js_1.STATUS_FAULTS_I32] !== 0)',
    replace: 'if (false)',
    tests: FAULTS,
  },
  {
    id: 'populate-efault',
    // Reachable only when pages are resident (so no pwrite) yet lose their
    // backing between mincore and madvise: a race no test can set up
    // deterministically. Expected to survive; kept so the count stays honest.
    what: 'a large write to lost pages ignores EFAULT from populate (race-only path)',
    file: 'core/thread-mapping.js',
    find: 'if (err === EFAULT) {',
    replace: 'if (false) {',
    tests: FAULTS,
  },
  // --- fix-ring: SharedRing as input, peers that die, wake-ups (test/vmap-shared-ring-faults.test.ts)
  {
    id: 'sring-open-no-size-check',
    what: 'SharedRing.open maps a ring file without checking its length (a file cut to half its data is mapped)',
    file: 'native/shared_ring.c',
    find: '        found->size != RM_SRING_HEADER + (uint64_t)cap + RM_SRING_TRAILER ||\n',
    replace: '',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-no-zombie',
    what: 'a zombie producer (dead, not yet reaped) counts as alive',
    file: 'native/platform/linux.c',
    find: "  if (p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X')) return UINT64_MAX;\n",
    replace: '',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-close-no-wake',
    what: 'close() bumps the sequence words but wakes nobody (the 100 ms liveness wake hides it)',
    file: 'native/shared_ring.c',
    anchor: "/* Bump both sequence words so a sleeper's futex sees a change. */",
    where: 'after',
    find: '  wake_both(r);\n',
    replace: '',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-create-fd-leak',
    what: 'a failed SharedRing.create leaks its descriptor',
    file: 'native/shared_ring.c',
    find: '  close(fd);\n  if (err != 0) {\n    if (path != NULL) unlink(path);',
    replace: '  if (err == 0) close(fd);\n  if (err != 0) {\n    if (path != NULL) unlink(path);',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-dead-claimer-alive',
    what: 'a process killed while claiming a role is never found dead (the role stays claimed)',
    file: 'native/shared_ring.c',
    find: '    gone = process_gone(pid, 0, 0);',
    replace: '    gone = 0;',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-live-pid-unchecked',
    what: 'a LIVE state with pid 0 or -1 is trusted (kill(0, 0) succeeds: alive forever)',
    file: 'native/shared_ring.c',
    find: '    if (pid <= 0 || pid > RM_SR_PID_MAX) return RM_SR_CORRUPT;\n',
    replace: '',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-publish-no-wake',
    what: 'a write does not wake a sleeping consumer (the 100 ms liveness wake hides it)',
    file: 'vmap/shared-ring-core.js',
    find: 'native_js_1.snative.srWake(this.buffer, shared_ring_format_js_1.DATA_SEQ);',
    replace: '',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-release-no-wake',
    what: 'a read does not wake a producer sleeping on the full ring',
    file: 'vmap/shared-ring-core.js',
    find: 'native_js_1.snative.srWake(this.buffer, shared_ring_format_js_1.SPACE_SEQ);',
    replace: '',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-read-no-loss-check',
    what: "read()'s fast path releases bytes copied from a truncated ring (zeros as data)",
    file: 'vmap/shared-ring-stream.js',
    anchor: 'Reflect.apply(shared_ring_format_js_1.typedSet, target',
    where: 'after',
    find: 'if (this.end[0] !== shared_ring_format_js_1.MAGIC || this.status[0] !== 0)',
    replace: 'if (false)',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-write-no-loss-check',
    what: "write()'s fast path publishes bytes written into a truncated ring",
    file: 'vmap/shared-ring-stream.js',
    anchor: '// After the copy, before publishing: a page lost to truncation took',
    where: 'after',
    find: 'if (this.end[0] !== shared_ring_format_js_1.MAGIC || this.status[0] !== 0)',
    replace: 'if (false)',
    tests: SRING_FAULTS,
  },
  {
    id: 'sring-no-trailer-check',
    what: 'the slow paths check only for faults, not the trailer word (a cut inside the last page zeroes without a fault)',
    file: 'vmap/shared-ring-core.js',
    find: 'return this.end[0] === shared_ring_format_js_1.MAGIC && this.status[0] === 0;',
    replace: 'return this.status[0] === 0;',
    tests: SRING_FAULTS,
  },
  // --- end fix-ring
  // --- the large-write route
  {
    id: 'route-always-copy',
    what: 'big writes to cold pages are copied through the mapping, not pwritten',
    file: 'core/thread-mapping.js',
    find: 'resident * 2 < pages',
    replace: 'false',
    tests: ['api'],
  },
  // ==== conv-a: BufReader follow, maps that own their descriptor, createReadStream ====
  {
    id: 'follow-never-waits',
    what: 'a followed BufReader reports the end of the file instead of waiting for more',
    file: 'vmap/buf.js',
    find: 'if (!this.#follow || !(await this.#waitForMore()))',
    replace: 'if (true)',
    tests: ['vmap-buf'],
  },
  {
    id: 'follow-close-no-wake',
    what: 'close() does not end a pending follow wait',
    file: 'vmap/buf.js',
    anchor: 'this.#wake = () => {',
    where: 'after',
    find: 'resolve(false);',
    replace: '',
    tests: ['vmap-buf'],
  },
  {
    id: 'map-keeps-owned-fd',
    what: 'close() of a map made by open(path) leaves its descriptor open',
    file: 'vmap/map.js',
    find: 'closeSync)(s.fd);',
    replace: 'Number)(s.fd);',
    tests: ['vmap-map'],
  },
  {
    id: 'map-owns-borrowed-fd',
    what: "a map made by map(fd) takes the caller's descriptor as its own (and closes it)",
    file: 'vmap/map-options.js',
    find: 'fd: owned ? fd : null',
    replace: 'fd: fd',
    tests: ['vmap-map'],
  },
  {
    id: 'closed-filehandle-accepted',
    what: 'a closed FileHandle (fd -1) is not refused as closed',
    file: 'core/descriptor.js',
    find: 'if (fd === -1) {',
    replace: 'if (false) {',
    tests: ['vmap-map'],
  },
  {
    id: 'stream-end-exclusive',
    what: 'createReadStream treats end as exclusive (drops the last byte)',
    file: 'core/mapped-read-stream.js',
    find: 'Math.min(length, last + 1)',
    replace: 'Math.min(length, last)',
    tests: ['mapped-read-stream.test'],
  },
  {
    id: 'stream-view-offset',
    what: "createReadStream's zero-copy chunk ignores the view's byteOffset",
    file: 'core/mapped-read-stream.js',
    find: 'view.byteOffset, view.byteLength',
    replace: '0, view.byteLength',
    tests: ['mapped-read-stream.test'],
  },
  {
    id: 'stream-no-state-check',
    what: "createReadStream's chunks skip the closed/fault check",
    file: 'core/mapped-file-base.js',
    anchor: "this.checkSpan(offset, length, 'createReadStream')",
    find: 'this.views.check();',
    replace: '',
    tests: ['mapped-read-stream.test'],
  },
  // ==== end conv-a ====
  // --- fix-resize: begin (resize, views across it, sparse files on a full disk)
  {
    id: 'resize-rebind-straddle',
    what: 'an atomic view moving to a shrunk mapping accepts a word that straddles the new end',
    file: 'mmapio/atomic-view.js',
    find: 'abs + width > v.size',
    replace: 'abs >= v.size',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'resize-grow-keeps-tail',
    what: 'a grow no longer zeroes what a stale store left past the old end in its last page',
    native: true,
    file: 'native/mmapio_ops.c',
    find: '  if (end <= m->size) return 0;\n  static const uint8_t zeros[4096];',
    replace: '  return 0;\n  static const uint8_t zeros[4096];',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'resize-grow-no-reserve',
    what: 'a grow does not reserve the new blocks (a full disk then grows the file sparse)',
    native: true,
    file: 'native/mmapio_ops.c',
    find: 'else if (size > m->size && !m->sparse) {',
    replace: 'else if (0) {',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'resize-no-successor',
    what: 'a resize records no successor key in the old status page (threads cannot follow; resize used to spin)',
    native: true,
    file: 'native/mmapio_ops.c',
    find: 'memcpy(m->status + RM_STATUS_SUCCESSOR_BYTE, &at, sizeof at);',
    replace: '(void)at;',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'resize-grow-detaches',
    what: 'a grow detaches the views taken before it (the old mapping is closed, not retired)',
    file: 'mmapio/window-core.js',
    find: 'this.retired.add(old.size, old.retire());',
    replace: 'old.close();',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'resize-shrink-keeps-views',
    what: 'a shrink below a mapping leaves its views attached in this thread',
    file: 'mmapio/window-core.js',
    find: 'if (old.size > shortest)',
    replace: 'if (false)',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'share-no-successor',
    what: 'fromShared of a handle whose mapping a resize replaced gives up (ERR_MMAP_CLOSED)',
    file: 'core/mapped-file-base.js',
    find: 'mapping = thread_mapping_js_1.ThreadMapping.attachNewest(h.path, h.key, h.nonce);',
    replace: 'throw error;',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'sparse-small-no-reserve',
    what: 'a small write into a file with holes copies without reserving its pages (a full disk lands part of it)',
    file: 'core/thread-mapping.js',
    anchor: 'reservePages(offset, length) {',
    where: 'after',
    find: 'this.populate(offset, length);',
    replace: '',
    tests: ['mmapio-resize-views'],
  },
  // --- fix-resize: end
  // --- fix-tests: watch, batch slots, wait/notify (begin)
  {
    id: 'watch-last-page-unclipped',
    what: "watch reports the last, partial page of the file as a whole page (its length not clipped to the file's end)",
    file: 'mmapio/watch.js',
    find: 'length: Math.min(q * PAGE, mappedEnd) - offset',
    replace: 'length: q * PAGE - offset',
    tests: ['mmapio-watch'],
  },
  {
    id: 'watch-without-size',
    what: "watch does not compare the file's size: a resize by another process is never reported (was a hang)",
    file: 'mmapio/watch.js',
    find: 'now.size !== first.size ||',
    replace: '',
    tests: ['mmapio-watch'],
  },
  {
    id: 'batch-slot-never-freed',
    what: 'a closed allocator never frees its batch slot (after twelve, no allocator gets one)',
    file: 'ranges/allocation-batch.js',
    find: 'views.onClose(() => Atomics.store(status, slot + OWNER, 0));',
    replace: 'views.onClose(() => {});',
    tests: ['allocation-batches'],
  },
  {
    id: 'notify-count-ignored',
    what: 'notify(offset, count) wakes every waiter, whatever the count',
    native: true,
    file: 'native/platform/linux.c',
    find: 'syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0)',
    replace: 'syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0)',
    tests: ['mmapio-wait'],
  },
  {
    id: 'notify-zero-wakes-one',
    what: 'notify(offset, 0) reaches FUTEX_WAKE, which wakes one waiter for a count of 0',
    native: true,
    file: 'native/platform/linux.c',
    find: 'n == 0 ? 0 : syscall(',
    replace: 'syscall(',
    tests: ['mmapio-wait'],
  },
  {
    id: 'wait-timeout-microseconds',
    what: 'the sub-second part of a wait timeout is taken in microseconds (wait(o, v, 50) returns after 50 µs)',
    native: true,
    file: 'native/platform/linux.c',
    find: 'at->tv_nsec += (long)((ms - whole * 1000.0) * 1e6);',
    replace: 'at->tv_nsec += (long)((ms - whole * 1000.0) * 1e3);',
    tests: ['mmapio-wait'],
  },
  // --- fix-tests (end)
  // ==== perf: one object per range, take-back past the end, atomic views' checks ====
  {
    id: 'perf-range-new',
    what: 'new AllocatedRange() accepts any token (ranges can be made by hand)',
    file: 'ranges/allocated-range.js',
    find: 'if (token !== MINT) {',
    replace: 'if (false) {',
    tests: ['range-state', 'forgery'],
  },
  {
    id: 'perf-receipt-new',
    what: 'new WriteReceipt() accepts any token (receipts can be made by hand)',
    file: 'ranges/write-receipt.js',
    find: 'if (token !== MINT) {',
    replace: 'if (false) {',
    tests: ['range-state'],
  },
  {
    id: 'receipt-join-gap',
    what: 'receipt.join joins receipts that do not touch (a joined receipt covers bytes never written)',
    file: 'ranges/write-receipt.js',
    find: 'if (n.start === this.#end)',
    replace: 'if (n.start >= this.#end)',
    tests: ['range-state'],
  },
  {
    id: 'receipt-join-foreign',
    what: 'receipt.join joins receipts of two files',
    file: 'ranges/write-receipt.js',
    find: 'if (n.key !== this.#key) {',
    replace: 'if (false) {',
    tests: ['range-state'],
  },
  {
    id: 'perf-split-keeps-live',
    what: 'a split does not consume the range it split (both it and its halves can be written)',
    file: 'ranges/allocated-range.js',
    anchor: '#splitAt(s, at) {',
    where: 'after',
    find: 'this.#key = -2 - s.key;',
    replace: '',
    tests: ['range-state', ...RANGES],
  },
  {
    id: 'perf-transfer-keeps-live',
    what: 'transfer() does not consume the range (it can still be written here after it was handed over)',
    file: 'ranges/allocated-range.js',
    anchor: "return { kind: 'ranged-mmap:range'",
    find: 'this.#key = -2 - s.key;',
    replace: '',
    tests: ['range-state', ...RANGES],
  },
  {
    id: 'perf-busy-ignored',
    what: 'a range with an async copy in flight can be split or handed over',
    file: 'ranges/allocated-range.js',
    find: 'if (busy !== undefined) {',
    replace: 'if (false) {',
    tests: ['range-state', 'adversarial'],
  },
  {
    id: 'perf-busy-not-counted',
    what: 'async copies are not counted per range (the second of two in flight does not keep it busy)',
    file: 'ranges/allocated-range.js',
    find: 'pending.set(range, (pending.get(range) ?? 0) + 1);',
    replace: 'pending.set(range, 1);',
    tests: ['range-state'],
  },
  {
    id: 'perf-atomic-no-move',
    what: 'an atomic view whose Atomics call threw on a detached array (this thread moved to a resized mapping) reports that error instead of moving',
    file: 'mmapio/atomic-view.js',
    find: 'if (this.#v === now)\n            throw error;',
    replace: 'throw error;',
    tests: ['atomic-follow', 'mmapio-atomics', 'mmapio-resize', 'mmapio-api', 'mmapio-errors', 'mmapio-adversarial'],
  },
  {
    id: 'perf-atomic-closed-typeerror',
    what: 'an atomic view closed in this thread reports the bare TypeError of the detached array, not ERR_MMAP_CLOSED',
    file: 'mmapio/atomic-view.js',
    find: 'if (now.closed)\n            throw now.closedError();',
    replace: 'if (now.closed)\n            throw error;',
    tests: ['mmapio-atomics', 'mmapio-resize', 'mmapio-api', 'mmapio-errors', 'mmapio-adversarial'],
  },
  {
    id: 'perf-atomic-no-fault-check-u32',
    what: 'atomicU32 compareExchange returns the result of an operation on a mapping that lost pages',
    file: 'mmapio/atomic-view.js',
    anchor: "u32(expected, 'expected')",
    where: 'after',
    find: 'if (faults[0] !== 0)',
    replace: 'if (false)',
    tests: ['atomic-lost-page', 'mmapio-atomics', 'mmapio-resize'],
  },
  {
    id: 'perf-atomic-no-fault-check-u64',
    what: 'atomicU64 compareExchange returns the result of an operation on a mapping that lost pages',
    file: 'mmapio/atomic-view.js',
    anchor: "u64(expected, 'expected')",
    where: 'after',
    find: 'if (faults[0] !== 0)',
    replace: 'if (false)',
    tests: ['atomic-lost-page', 'mmapio-atomics', 'mmapio-resize'],
  },
  {
    id: 'perf-atomic-ro-store',
    what: 'an atomic view of a read-only file takes stores (they go to the real word, not an empty array)',
    file: 'mmapio/atomic-view.js',
    find: "this.wa = core.mode === 'ro' ? empty : array;",
    replace: 'this.wa = array;',
    tests: ['mmapio-atomics', 'mmapio-api', 'mmapio-errors', 'mmapio-adversarial'],
  },
  {
    id: 'perf-batch-fast-store',
    what: "a batch's owner takes its pages on the fast path with a plain store, not a compare-and-swap (a taker's pages handed out again)",
    file: 'ranges/allocation-batch.js',
    find: 'Atomics.compareExchange(this.#status, this.#slot + STATE, state, state + want) === state',
    replace: '(Atomics.store(this.#status, this.#slot + STATE, state + want), true)',
    tests: ['allocation-batches'],
  },
  {
    id: 'perf-alignment-dictionary',
    what: 'ranges/alignment re-exports through an accessor again (its exports become a dictionary: ALIGNMENT a lookup call on every allocate)',
    file: 'ranges/alignment.js',
    find: 'exports.ALIGNMENT = 4096;',
    replace: "exports.ALIGNMENT = 4096; Object.defineProperty(exports, 'ALIGNMENT', { enumerable: true, get: () => 4096 });",
    tests: ['module-shapes'],
  },
  {
    id: 'perf-atomic-faulted-stays',
    what: 'an atomic view whose status page was detached by a follow (its mapping retired) keeps using the retired mapping instead of moving',
    file: 'mmapio/atomic-view.js',
    anchor: 'throw this.#v.faultError();',
    where: 'after',
    find: 'this.#rebind();',
    replace: '',
    tests: ['atomic-follow', 'mmapio-atomics', 'mmapio-resize'],
  },
  // ==== end perf ====
  // ==== conv-b: SharedRing messages, typed ends and replace; { signal } ====
  {
    id: 'msg-fast-no-length',
    what: "writeMessage's fast path publishes a message without its length word",
    file: 'vmap/shared-ring-messages.js',
    anchor: 'this.data.set(data, at + shared_ring_format_js_1.FRAME_HEADER);',
    where: 'after',
    find: '(0, shared_ring_format_js_1.putLength)(this.data, at, n);',
    replace: '',
    tests: ['vmap-shared-ring-messages'],
  },
  {
    id: 'msg-framing-unchecked',
    what: 'byte and message calls mix on one ring (the framing word is never compared)',
    file: 'vmap/shared-ring-core.js',
    find: 'if (found !== 0 && found !== framing) {',
    replace: 'if (false) {',
    tests: ['vmap-shared-ring-messages'],
  },
  {
    id: 'replace-ignores-live-peer',
    what: 'create({ replace: true }) replaces a ring a live process still holds an end of',
    file: 'vmap/shared-ring-file.js',
    find: 'if (state === shared_ring_format_js_1.LIVE || state === shared_ring_format_js_1.PEER_CLAIMING) {',
    replace: 'if (false) {',
    tests: ['vmap-shared-ring-messages'],
  },
  {
    id: 'abort-listener-kept',
    what: 'a call that completes leaves its abort listener on the signal',
    file: 'core/abort.js',
    anchor: 'resolve(value);',
    where: 'before',
    find: "signal.removeEventListener('abort', abort);",
    replace: '',
    tests: ['vmap-shared-ring-abort', 'abort-ranges'],
  },
  {
    id: 'abort-read-into-target',
    what: 'a read with a signal copies straight into the target (an aborted read writes it later)',
    file: 'core/mapped-file-base.js',
    find: 'const buffer = !intoMapping && signal !== undefined ? new Uint8Array(length) : bytes;',
    replace: 'const buffer = bytes;',
    tests: ['abort-ranges'],
  },
  {
    id: 'abort-write-not-busy',
    what: 'an aborted writeRangeAsync leaves its range free to split or transfer while the copy is queued',
    file: 'ranges/mmap-file.js',
    anchor: 'return this.copyAbortable((0, allocated_range_js_1.rangeStart)(r), bytes, true, signal',
    where: 'before',
    find: '(0, allocated_range_js_1.asyncStarted)(r);',
    replace: '',
    tests: ['abort-ranges'],
  },
  {
    id: 'ring-readable-aborted-reads',
    what: "an aborted Ring.readable() still takes the ring's bytes",
    file: 'vmap/ring.js',
    find: 'if (stream.destroyed)\n                return;\n            if (this.#closed) {\n                stream.destroy(',
    replace: 'if (this.#closed) {\n                stream.destroy(',
    tests: ['vmap-ring.test'],
  },
  // ==== end conv-b ====
  // === fix-lifetime: lifetimes, limits, and checks whose loss hung the suite
  {
    id: 'lifetime-updateRegion-no-fault-check',
    what: 'updateRegion returns normally after its copy faulted (the first call after a truncation)',
    file: 'mmapio/window-copies.js',
    anchor: "s.core.refuseWrite('updateRegion');",
    where: 'after',
    find: 's.faultCheck(abs, length);',
    replace: '',
    tests: ['lifetime'],
  },
  {
    id: 'lifetime-span-off-by-one',
    what: "a MemoryMappedFile window's bounds check lets a span one byte past the end through (it spun forever in ThreadMapping.read)",
    file: 'mmapio/window-base.js',
    find: 'if (offset > size || length > size - offset) {',
    replace: 'if (offset > size || length > size - offset + 1) {',
    tests: ['lifetime'],
  },
  {
    id: 'lifetime-close-no-cancel',
    what: "MemoryMappedFile.close() leaves this thread's pending waitAsync calls pending (it hung the suite)",
    file: 'mmapio/file-window.js',
    find: 'this.#core.cancelWaits();',
    replace: '',
    tests: ['lifetime'],
  },
  {
    id: 'lifetime-gc-no-release',
    what: 'a file collected without close() keeps its attachment (descriptor and mapping leak)',
    file: 'core/thread-mapping.js',
    find: 'native.release(token);',
    replace: '',
    tests: ['lifetime'],
  },
  {
    id: 'lifetime-share-not-kept',
    what: 'a shared file dropped without close() is released although its handle may still be attached',
    file: 'core/mapped-file-base.js',
    find: 'v.keepUntilClosed();',
    replace: '',
    tests: ['lifetime'],
  },
  {
    id: 'lifetime-timer-strong',
    what: 'the everyMillis flusher holds its file strongly, so a dropped file is never collected',
    file: 'mmapio/window-core.js',
    find: 'const self = new WeakRef(this);',
    replace: 'const self = { deref: () => this };',
    tests: ['lifetime'],
  },
  {
    id: 'lifetime-no-map-cap',
    what: 'no cap under vm.max_map_count: mappings are made until the kernel refuses, and V8 then aborts',
    file: 'native/binding.js',
    find: 'exports.native.setAreaCap(mapAreaCap(exports.MAX_MAP_COUNT));',
    replace: 'exports.native.setAreaCap(1e9);',
    tests: ['lifetime'],
  },
  // === end fix-lifetime
  // === merge-lifetime: begin (one mechanism for views that outlive their owner)
  {
    id: 'retired-shrink-keeps-views',
    what: 'a shrink below a retired mapping leaves the views user code holds of it attached',
    file: 'core/thread-mapping.js',
    find: 'native.detachView(buffer);',
    replace: '',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'retired-close-keeps-views',
    what: 'close() leaves the views of retired mappings attached (and their mappings alive)',
    file: 'mmapio/window-core.js',
    find: 'this.retired.detachAll();',
    replace: '',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'retire-keeps-attachment',
    what: 'a retired mapping keeps its attachment, so it lives (and counts its map areas) after its views are collected',
    file: 'core/thread-mapping.js',
    find: 'native.release(this.#token);',
    replace: '',
    tests: ['mmapio-resize-views'],
  },
  {
    id: 'detach-keeps-pin',
    what: 'detaching a buffer (close(), a shrink) leaves its pin, so the mapping lives until the detached buffer is collected',
    file: 'native/attachments.c',
    find: 'pin_finalize(env, pin, NULL);\n}',
    replace: '(void)0;\n}',
    tests: ['mmapio-resize-views'],
  },
  // === merge-lifetime: end
  // ==== mmap-signal: { signal } on MemoryMappedFile ====
  {
    id: 'mmapio-abort-wait-parked',
    what: 'an aborted waitAsync rejects but leaves its thread parked on the word',
    file: 'mmapio/window-atomics.js',
    find: 'return (0, abort_js_1.whenAborted)(job, signal, () => binding_js_1.native.futexWaitCancel(id));',
    replace: 'return (0, abort_js_1.whenAborted)(job, signal);',
    tests: ['mmapio-abort'],
  },
  {
    id: 'mmapio-abort-read-into-target',
    what: 'readIntoAsync with a signal copies straight into the target (an aborted read writes it later)',
    file: 'mmapio/window-copies.js',
    find: 'const own = new Uint8Array(length);',
    replace: 'const own = bytes;',
    tests: ['mmapio-abort'],
  },
  {
    id: 'mmapio-abort-open-leaks',
    what: 'a mapping that arrives after an aborted open is left open',
    file: 'core/abort.js',
    find: 'close(mapping);',
    replace: '',
    tests: ['mmapio-abort', 'abort-ranges'],
  },
  // ==== end mmap-signal ====
  // ==== perf-batch: readAtMany / writeAtMany, allocateMany ====
  {
    id: 'batch-native-item-bounds',
    what: 'copyMany copies an item without checking it lies inside the file (C trusts TypeScript)',
    native: true,
    file: 'native/batch_ops.c',
    find: 'if ((double)off != d || off > end || length > end - off) {',
    replace: 'if ((double)off != d) {',
    tests: ['native-checks'],
  },
  {
    id: 'batch-native-fault-goes-on',
    what: 'copyMany goes on copying after a page fault (items after it copied, no index reported)',
    native: true,
    file: 'native/batch_ops.c',
    find: 'if (atomic_load(faults) != before) {',
    replace: 'if (0 && atomic_load(faults) != before) {',
    tests: ['batch-copies'],
  },
  {
    id: 'batch-ts-window-check',
    what: "readAtMany/writeAtMany check a Float64Array's items against the file only in C (part of a refused batch lands)",
    file: 'core/batch-copy.js',
    anchor: 'out = offsets;',
    where: 'after',
    find: 'if (o > limit - length)',
    replace: 'if (false)',
    tests: ['batch-copies'],
  },
  {
    id: 'batch-ts-fault-index',
    what: 'a fault mid-batch is reported with the index of the item after the one that faulted',
    file: 'core/batch-copy.js',
    find: 'atItem(v.faultError(), -r - 1)',
    replace: 'atItem(v.faultError(), -r)',
    tests: ['batch-copies'],
  },
  {
    id: 'alloc-many-unclamped',
    what: 'allocateMany cuts ranges from all the pages it asked for, even past the end of the file',
    file: 'ranges/concurrent-allocator.js',
    find: 'const got = Math.min(asked, totalPages - page);',
    replace: 'const got = asked;',
    tests: ['allocate-many'],
  },
  {
    id: 'alloc-many-overlap',
    what: 'allocateMany steps one page short per range (neighbouring ranges overlap)',
    file: 'ranges/concurrent-allocator.js',
    find: 'for (let p = page, end = page + got; p < end; p += want)',
    replace: 'for (let p = page, end = page + got; p < end; p += Math.max(1, want - 1))',
    tests: ['allocate-many'],
  },
  // ==== end perf-batch ====
  // ==== perf-ring: SharedRing write() that waits on its fast path ====
  {
    id: 'perf-ring-grown-view',
    what: 'write() copies a view that grew while it slept on a full ring without re-checking its length',
    file: 'vmap/shared-ring-stream.js',
    find: '(0, arguments_js_1.byteLengthOf)(data) !== n',
    replace: 'false',
    tests: SRING_FAULTS,
  },
  // ==== end perf-ring ====
  // ==== ring-batch: SharedRing writeMessages / readMessages ====
  {
    id: 'ring-batch-no-room-check',
    what: 'writeMessages copies every message of the batch whether or not it fits (over unread messages)',
    file: 'vmap/shared-ring-batch.js',
    find: 'n + shared_ring_format_js_1.FRAME_HEADER > left',
    replace: 'false',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-too-large-unchecked',
    what: 'writeMessages takes a message larger than maxMessage',
    file: 'vmap/shared-ring-batch.js',
    find: 'if (n > max)',
    replace: 'if (false)',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-write-fault-unchecked',
    what: "writeMessages publishes messages copied into a truncated ring file (no check after each item's copy)",
    file: 'vmap/shared-ring-batch.js',
    anchor: '// The items before this one were checked whole after their copies.',
    find: 'if (this.end[0] !== shared_ring_format_js_1.MAGIC || this.status[0] !== 0) {',
    replace: 'if (false) {',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-write-fault-drops-prefix',
    what: 'writeMessages stopped by a fault publishes none of the messages before the failing one',
    file: 'vmap/shared-ring-batch.js',
    anchor: '// The items before this one were checked whole after their copies.',
    where: 'after',
    find: 'this.publish((cursor - this.cursor) >>> 0);',
    replace: '',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-write-fault-index',
    what: 'writeMessages stopped by a fault reports the first item of the batch, not the failing one',
    file: 'vmap/shared-ring-batch.js',
    find: 'this.lost(), batch.start + i)',
    replace: 'this.lost(), batch.start)',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-read-fault-unchecked',
    what: "readMessages hands out messages read from a truncated ring file (no check after each item's copy)",
    file: 'vmap/shared-ring-batch.js',
    anchor: '// The messages before this one were checked whole after their copies.',
    find: 'if (this.end[0] !== shared_ring_format_js_1.MAGIC || this.status[0] !== 0) {',
    replace: 'if (false) {',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-read-no-target-check',
    what: 'readMessages copies the next message whether or not it fits in what is left of the target',
    file: 'vmap/shared-ring-batch.js',
    find: 'n > room - filled',
    replace: 'false',
    tests: ['vmap-shared-ring-batch'],
  },
  {
    id: 'ring-batch-grown-view',
    what: 'writeMessages copies a view that grew while it slept on a full ring at its new length (past its frame)',
    file: 'vmap/shared-ring-batch.js',
    find: '(0, arguments_js_1.byteLengthOf)(bytes) !== n',
    replace: 'false',
    tests: ['vmap-shared-ring-batch'],
  },
  // ==== end ring-batch ====
  // ==== attack: ring batch and atomic view regressions ====
  {
    id: 'attack-batch-no-recheck-closed',
    what: 'writeMessages does not look again whether an entry getter closed the ring (it writes to the closed ring: a RangeError)',
    file: 'vmap/shared-ring-batch.js',
    find: 'this.live();\n        this.reserved = -1;',
    replace: 'this.reserved = -1;',
    tests: ['vmap-shared-ring-batch-adversarial'],
  },
  {
    id: 'attack-batch-slice-left-open',
    what: 'writeMessages leaves open a writeMessageSlice view an entry getter opened (commitMessage then publishes over the batch)',
    file: 'vmap/shared-ring-batch.js',
    find: 'this.live();\n        this.reserved = -1;',
    replace: 'this.live();',
    tests: ['vmap-shared-ring-batch-adversarial'],
  },
  {
    id: 'attack-batch-no-shrink-check',
    what: 'writeMessages copies an entry whose buffer a later getter shrank or detached (a raw RangeError/TypeError mid-batch)',
    file: 'vmap/shared-ring-batch.js',
    find: 'if (now < n) {',
    replace: 'if (false) {',
    tests: ['vmap-shared-ring-batch-adversarial'],
  },
  {
    id: 'attack-batch-async-read-no-live',
    what: 'readMessagesAsync reads from a ring closed in this thread in the turn its wait returned',
    file: 'vmap/shared-ring-batch.js',
    anchor: 'const got = await this.waitDataAsync(1, signal);',
    where: 'after',
    find: 'this.live();',
    replace: '',
    tests: ['vmap-shared-ring-batch-adversarial'],
  },
  {
    id: 'attack-atomic-cut-reports-success',
    what: 'an atomic operation that ran on a word a shrink elsewhere had cut reports success once the file grew back (the add is lost)',
    file: 'mmapio/atomic-view.js',
    find: 'core.generation !== generation && core.followShortest',
    replace: 'false && core.followShortest',
    tests: ['atomic-adversarial'],
  },
  {
    id: 'attack-atomic-ro-closed-mode-error',
    what: 'a store through an atomic view of a closed read-only file reports ERR_MMAP_INVALID_MODE instead of ERR_MMAP_CLOSED',
    file: 'mmapio/atomic-view.js',
    find: 'if (now.closed)\n            throw now.closedError();',
    replace: '',
    tests: ['atomic-adversarial'],
  },
  // ==== end attack ====
];

// --- the temporary copy -------------------------------------------------------

let workDir;
let running;
function cleanup() {
  if (running) {
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      running.kill('SIGKILL');
    }
  }
  if (workDir && !keep) rmSync(workDir, { recursive: true, force: true });
}
const args = process.argv.slice(2);
const keep = args.includes('--keep');
const checkOnly = args.includes('--check');
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1].split(',')) : null;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    cleanup();
    process.stderr.write(`\nmutate: interrupted; the working tree was never modified${keep && workDir ? `; copy kept at ${workDir}` : ''}\n`);
    process.exit(130);
  });
}

function makeCopy() {
  for (const needed of ['dist', '.test-dist', 'node_modules']) {
    if (!existsSync(join(root, needed))) throw new Error(`${needed}/ is missing: run npm run build:ts && npm run build:test (or npm run mutate)`);
  }
  workDir = mkdtempSync(join(tmpdir(), 'ranged-mmap-mutate-'));
  for (const entry of ['package.json', 'dist', '.test-dist', 'prebuilds', 'examples', 'native']) {
    if (existsSync(join(root, entry))) cpSync(join(root, entry), join(workDir, entry), { recursive: true });
  }
  symlinkSync(join(root, 'node_modules'), join(workDir, 'node_modules'), 'dir');
}

/** Applies a mutant to `text`; returns the new text, or why it is stale. */
function mutate(text, m) {
  const count = (s) => text.split(s).length - 1;
  let at;
  if (m.anchor !== undefined) {
    const n = count(m.anchor);
    if (n !== 1) return { stale: `anchor ${JSON.stringify(m.anchor)} found ${n} times` };
    const a = text.indexOf(m.anchor);
    at = m.where === 'after' ? text.indexOf(m.find, a) : text.lastIndexOf(m.find, a);
    if (at < 0 || Math.abs(at - a) > ANCHOR_WINDOW)
      return { stale: `${JSON.stringify(m.find)} not found within ${ANCHOR_WINDOW} characters ${m.where ?? 'before'} the anchor` };
  } else {
    const n = count(m.find);
    if (n !== 1) return { stale: `${JSON.stringify(m.find)} found ${n} times` };
    at = text.indexOf(m.find);
  }
  return { text: text.slice(0, at) + m.replace + text.slice(at + m.find.length) };
}

// --- running tests --------------------------------------------------------------

function testFiles(filter) {
  return readdirSync(join(workDir, '.test-dist'))
    .filter((f) => f.endsWith('.test.js') && f.includes(filter))
    .sort()
    .map((f) => join(workDir, '.test-dist', f));
}

/** The environment of test runs: names the mutated native core while a native mutant is applied. */
let testEnv = process.env;

/** Compiles the copy's native/ (and native/platform/linux.c) into build-mutant/ (gcc, as scripts/check-native.sh); returns the binary's path, or why not. */
function buildNative() {
  const out = join(workDir, 'build-mutant', 'ranged_mmap.node');
  const sources = readdirSync(join(workDir, 'native'))
    .filter((f) => f.endsWith('.c'))
    .map((f) => join(workDir, 'native', f))
    .concat(join(workDir, 'native', 'platform', 'linux.c'));
  let include = join(dirname(dirname(process.execPath)), 'include', 'node');
  if (!existsSync(join(include, 'node_api.h'))) include = '/usr/include/node';
  mkdirSync(dirname(out), { recursive: true });
  const flags = ['-std=gnu11', '-O2', '-shared', '-fPIC', '-DNAPI_VERSION=8', '-D_GNU_SOURCE', `-I${include}`];
  const r = spawnSync('gcc', [...flags, ...sources, '-o', out], { encoding: 'utf8' });
  return r.status === 0 ? { path: out } : { error: `gcc failed: ${(r.stderr || String(r.error)).split('\n')[0]}` };
}

/** Runs one test file; resolves with the names of its passing top-level tests, or null on timeout. */
function runFile(file) {
  return new Promise((resolve) => {
    // Its own process group: node --test runs the file in a child of its
    // own, and a timeout must end both, not orphan the one that hangs.
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', file], {
      cwd: workDir,
      env: testEnv,
      stdio: ['ignore', 'pipe', 'ignore'],
      detached: true,
    });
    running = child;
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => (out += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, RUN_TIMEOUT_MS);
    child.on('close', () => {
      clearTimeout(timer);
      running = undefined;
      if (timedOut) return resolve(null);
      const passed = new Set();
      for (const line of out.split('\n')) {
        const hit = /^ok \d+ - (.*?)(?: # .*)?$/.exec(line);
        if (hit) passed.add(hit[1]);
      }
      resolve(passed);
    });
  });
}

/** Passing tests of each file on the unmutated copy, measured before any mutant is applied. */
const baseline = new Map();
async function measureBaseline(mutants) {
  const files = [...new Set(mutants.flatMap((m) => m.tests.flatMap(testFiles)))];
  for (const file of files) {
    process.stderr.write(`mutate: baseline ${file.slice(file.lastIndexOf('/') + 1)} ... `);
    const passed = await runFile(file);
    baseline.set(file, passed ?? new Set());
    process.stderr.write(passed === null ? 'timed out\n' : `${passed.size} passing\n`);
  }
}

/** Runs the mutant's test files in turn; stops at the first test that passed before and fails now. */
async function judge(m) {
  const files = [...new Set(m.tests.flatMap(testFiles))];
  if (files.length === 0) return { result: 'stale', detail: `no test file matches ${m.tests.join(', ')}` };
  for (const file of files) {
    const before = baseline.get(file);
    const now = await runFile(file);
    const name = file.slice(file.lastIndexOf('/') + 1);
    if (now === null) return { result: 'killed', detail: `${name}: timed out` };
    const lost = [...(before ?? [])].filter((t) => !now.has(t));
    if (lost.length > 0) return { result: 'killed', detail: `${name}: ${lost[0]}${lost.length > 1 ? ` (+${lost.length - 1})` : ''}` };
  }
  return { result: 'survived', detail: `${files.length} files passed` };
}

// --- main -------------------------------------------------------------------------

try {
  makeCopy();
  if (!checkOnly) await measureBaseline(MUTANTS.filter((m) => !only || only.has(m.id)));
  const rows = [];
  for (const m of MUTANTS) {
    if (only && !only.has(m.id)) continue;
    const native = /^native\/.*\.[ch]$/.test(m.file);
    const path = native ? join(workDir, m.file) : join(workDir, 'dist', 'cjs', m.file);
    if (!existsSync(path)) {
      rows.push({ m, result: 'stale', detail: `${native ? '' : 'dist/cjs/'}${m.file} does not exist` });
      continue;
    }
    const original = readFileSync(path, 'utf8');
    const mutated = mutate(original, m);
    if (mutated.stale !== undefined) {
      rows.push({ m, result: 'stale', detail: mutated.stale });
      continue;
    }
    if (checkOnly) {
      rows.push({ m, result: 'applies', detail: 'not run (--check)' });
      continue;
    }
    writeFileSync(path, mutated.text);
    try {
      process.stderr.write(`mutate: ${m.id} ... `);
      if (native) {
        const built = buildNative();
        if (built.error !== undefined) {
          process.stderr.write('stale\n');
          rows.push({ m, result: 'stale', detail: built.error });
          continue;
        }
        testEnv = { ...process.env, RANGED_MMAP_NATIVE_BINDING: built.path };
      }
      const verdict = await judge(m);
      process.stderr.write(`${verdict.result}\n`);
      rows.push({ m, ...verdict });
    } finally {
      writeFileSync(path, original);
      testEnv = process.env;
    }
  }

  const width = Math.max(...rows.map((r) => r.m.id.length), 2);
  console.log(`\n${'id'.padEnd(width)}  ${'result'.padEnd(8)}  what / why`);
  for (const r of rows) {
    console.log(`${r.m.id.padEnd(width)}  ${r.result.padEnd(8)}  ${r.m.what}`);
    console.log(`${''.padEnd(width)}  ${''.padEnd(8)}    ${r.detail}`);
  }
  const tally = (kind) => rows.filter((r) => r.result === kind).length;
  console.log(`\n${rows.length} mutants: ${tally('killed')} killed, ${tally('survived')} survived, ${tally('stale')} stale`);
  const survivors = rows.filter((r) => r.result === 'survived').map((r) => r.m.id);
  if (survivors.length > 0) console.log(`surviving: ${survivors.join(', ')}`);
} finally {
  cleanup();
}
