// SPEC 5, "no crash, ever, from a fault", and "space is reserved at create".
// Every scenario runs in a child process (a SIGBUS that escaped would kill
// the test runner otherwise); the parent plays the other process, checks how
// the child ended, reads its JSON report, and checks the file on disk.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { tempDir } from './helpers.js';
import { expectedContent, firstDifference, fixture, killChildren, only, runChild, type ChildResult } from './fault-helpers.js';
import { TMPFS_BYTES, TRUNCATED_SIZE, type AckedWrite, type CallOutcome, type ErrorInfo } from './fixtures/fault-layout.js';
import type { TruncateMode, TruncateReport } from './fixtures/fault-truncate-child.js';
import type { WorkerReport } from './fixtures/fault-worker-child.js';
import type { DiskFullMode, PreallocReport, SparseReport } from './fixtures/fault-diskfull-child.js';

const TIMEOUT = { timeout: 120_000 };
// A test that times out must not leave its child (and the child's workers) running.
afterEach(killChildren);

function story(result: ChildResult): string {
  return `exit code ${result.code}, signal ${result.signal}\nevents: ${JSON.stringify(result.events)}\nstderr: ${result.stderr}`;
}

/** The child lived through it: a normal exit with code 0. */
function assertSurvived(result: ChildResult): void {
  assert.equal(result.signal, null, `the child was killed by a signal\n${story(result)}`);
  assert.equal(result.code, 0, `the child failed\n${story(result)}`);
}

/** An MmapError ERR_MMAP_FAULT that names the file and says what happened. */
function assertFault(outcome: CallOutcome, path: string, what: string, cause: RegExp = /truncated to \d+ bytes/): asserts outcome is ErrorInfo {
  assert.ok(outcome !== null, `${what}: returned success; expected ERR_MMAP_FAULT`);
  assert.equal(outcome.isMmapError, true, `${what}: ${JSON.stringify(outcome)}`);
  assert.equal(outcome.code, 'ERR_MMAP_FAULT', `${what}: ${JSON.stringify(outcome)}`);
  assert.match(outcome.message, /fault/i, what);
  assert.match(outcome.message, cause, what);
  assert.ok(outcome.message.includes(path), `${what}: the message should name ${path}: ${outcome.message}`);
}

/** The file on disk is exactly `size` bytes of zeros overlaid with `writes`. */
function assertDisk(path: string, size: number, writes: AckedWrite[]): Uint8Array {
  assert.equal(statSync(path).size, size, 'file size on disk');
  const expected = expectedContent(size, writes);
  const disk = new Uint8Array(readFileSync(path));
  const at = firstDifference(disk, expected);
  assert.equal(at, -1, `the file differs from the acknowledged writes at byte ${at} (disk ${disk[at]}, expected ${expected[at]})`);
  return expected;
}

// --- a. another process truncates the file under a writer --------------------

/**
 * The child writes and acknowledges ranges, a separate `truncate` process
 * shrinks the file, and the child goes on with `mode`.
 */
async function truncatedUnderChild(mode: TruncateMode): Promise<void> {
  const t = tempDir('ranged-mmap-fault-');
  try {
    const path = t.path('shrinks.bin');
    let acked: AckedWrite[] | undefined;
    const result = await runChild(process.execPath, [fixture('fault-truncate-child.js'), path, mode], (event, child) => {
      if (event.event !== 'ready') return;
      acked = event.acked as AckedWrite[];
      // Another process, not the child: coreutils truncate.
      execFileSync('truncate', ['-s', String(TRUNCATED_SIZE), path]);
      child.stdin.write('truncated\n');
    });
    assertSurvived(result);
    assert.ok(acked !== undefined, 'the child never got ready');
    const report = only(result, 'report') as unknown as TruncateReport;

    // The call into the lost region, or at the latest the next one, says so.
    assertFault(report.first ?? report.next, path, `${mode}: first call after the truncation, or the syncAll after it`);
    // Every mode but one makes a call that cannot race the truncation (a
    // copy into or out of the mapping, an fstat before a sync): that very
    // call must fail, not a later one. Only the large write may take pwrite,
    // which the kernel can refuse in more than one way.
    if (mode !== 'range-large') assertFault(report.first, path, `${mode}: the first call after the truncation`);
    assertFault(report.next, path, `${mode}: syncAll after the fault`);
    // The handle stays spoiled: no later call pretends all is well.
    assertFault(report.later.syncAll, path, 'a later syncAll');
    assertFault(report.later.flush, path, 'a later flush');
    assertFault(report.later.readInside, path, 'a later readAt inside the file');
    assertFault(report.later.writeInside, path, 'a later writeAt inside the file');
    assert.equal(report.close, null, 'close after a fault');
    assert.equal(report.liveMappingsAfterClose, 0, 'no mapping left behind');

    // A fresh mapping reaches the file again.
    assert.equal(report.reopen.size, TRUNCATED_SIZE, 'size seen by the reopened file');
    assert.equal(report.reopen.sync, null, 'syncAll through the fresh mapping');

    // What was acknowledged and is still inside the file is there; nothing else changed.
    const expected = assertDisk(path, TRUNCATED_SIZE, [...acked, report.reopen.write]);
    assert.equal(report.reopen.sha256, createHash('sha256').update(expected).digest('hex'), 'bytes read back through a fresh mapping');
  } finally {
    t.cleanup();
  }
}

test('truncated by another process: a small writeRange into the lost part fails with ERR_MMAP_FAULT, the child lives', TIMEOUT, () =>
  truncatedUnderChild('range-small'),
);

test('truncated by another process: writeAt into the lost part fails with ERR_MMAP_FAULT', TIMEOUT, () => truncatedUnderChild('raw-small'));

test('truncated by another process: writeAtAsync (copy on the libuv pool) rejects with ERR_MMAP_FAULT', TIMEOUT, () => truncatedUnderChild('raw-async'));

test('truncated by another process: fill over the lost part fails with ERR_MMAP_FAULT', TIMEOUT, () => truncatedUnderChild('raw-fill'));

test('truncated by another process: readRange of a lost page fails with ERR_MMAP_FAULT', TIMEOUT, () => truncatedUnderChild('read'));

test('truncated by another process: a 1 MiB writeRange into the lost part is not a silent success', TIMEOUT, () => truncatedUnderChild('range-large'));

test('truncated by another process: the next syncAll reports ERR_MMAP_FAULT even with no access to the lost part', TIMEOUT, () => truncatedUnderChild('sync'));

// --- d. the same, while a worker thread writes --------------------------------

test('truncated while a worker thread writes: the worker gets ERR_MMAP_FAULT, the process lives', TIMEOUT, async () => {
  const t = tempDir('ranged-mmap-fault-');
  try {
    const path = t.path('shrinks.bin');
    let acked: AckedWrite[] | undefined;
    const result = await runChild(process.execPath, [fixture('fault-worker-child.js'), path], (event, child) => {
      if (event.event !== 'ready') return;
      acked = event.acked as AckedWrite[];
      // This time the other process is the test runner itself.
      truncateSync(path, TRUNCATED_SIZE);
      child.stdin.write('truncated\n');
    });
    assertSurvived(result);
    assert.ok(acked !== undefined, 'the child never got ready');
    const report = only(result, 'report') as unknown as WorkerReport;
    assertFault(report.worker.write ?? report.worker.syncAll, path, 'the worker: a write past the end, or the syncAll after it');
    // Each write is one page copied into the mapping, after the truncation: the first one must fail.
    assertFault(report.worker.write, path, 'the worker: its first write past the new end');
    assert.equal(report.worker.writesDone, 0, 'writes past the new end that returned success');
    assertFault(report.worker.syncAll, path, 'the worker: syncAll after the fault');
    // The fault is recorded for the mapping, not for one thread.
    assertFault(report.mainSyncAll, path, 'the main thread: syncAll on its own handle');
    assert.equal(report.workerExitCode, 0, 'the worker ended normally');
    assert.equal(report.worker.threadAttachmentsAfterClose, 0, 'the worker closed its attachment');
    assert.equal(report.liveMappingsAfterClose, 0, 'no mapping left behind');
    assertDisk(path, TRUNCATED_SIZE, acked);
  } finally {
    t.cleanup();
  }
});

// --- b. a full disk -------------------------------------------------------------

/** Runs the disk-full child on a private TMPFS_BYTES tmpfs mounted over a fresh directory. */
async function onSmallTmpfs(mode: DiskFullMode): Promise<{ result: ChildResult; dir: string }> {
  const t = tempDir('ranged-mmap-tmpfs-');
  try {
    // The mount lives in the child's own mount namespace: nothing to unmount here.
    const script = `mount -t tmpfs -o size=${TMPFS_BYTES} tmpfs "$0" && exec "$1" "$2" "$0" "$3"`;
    const result = await runChild('unshare', ['-rm', 'sh', '-c', script, t.dir, process.execPath, fixture('fault-diskfull-child.js'), mode], () => {});
    return { result, dir: t.dir };
  } finally {
    t.cleanup();
  }
}

test('full disk, default create: ENOSPC from fallocate, and no file is left behind', TIMEOUT, async () => {
  const { result, dir } = await onSmallTmpfs('prealloc');
  assertSurvived(result);
  const report = only(result, 'report') as unknown as PreallocReport;
  const names: Record<string, string> = { 'MmapFile.create': 'a.bin', 'MmapFile.createAsync': 'b.bin', 'RawMmapFile.create': 'c.bin' };
  assert.deepEqual(
    report.attempts.map((a) => a.form),
    Object.keys(names),
  );
  for (const attempt of report.attempts) {
    const e = attempt.error;
    assert.ok(e !== null, `${attempt.form} of a file larger than the disk returned a file`);
    assert.equal(e.isMmapError, true, `${attempt.form}: ${JSON.stringify(e)}`);
    assert.equal(e.code, 'ENOSPC', `${attempt.form}: ${JSON.stringify(e)}`);
    assert.equal(e.errno, -constants.errno.ENOSPC, attempt.form);
    assert.equal(e.syscall, 'fallocate', attempt.form);
    assert.equal(e.path, join(dir, names[attempt.form]!), attempt.form);
    assert.equal(attempt.existsAfter, false, `${attempt.form} left its file behind`);
  }
  assert.deepEqual(report.dirEntriesAfter, [], 'the directory is as it was');
  assert.equal(report.freeBlocksAfter, report.freeBlocksBefore, 'every reserved block was given back');
});

/** A sparse file on a full disk: the child lives, and no write past what the disk holds looks successful. */
async function sparseOnFullDisk(mode: Exclude<DiskFullMode, 'prealloc'>): Promise<SparseReport> {
  const { result, dir } = await onSmallTmpfs(mode);
  assertSurvived(result);
  const report = only(result, 'report') as unknown as SparseReport;
  const path = join(dir, 'sparse.bin');
  const failure = report.failure;
  assert.ok(failure !== null, `every ${report.chunk}-byte write of a file 8 times the disk returned success`);
  assert.equal(failure.isMmapError, true, JSON.stringify(failure));
  assert.ok(failure.code === 'ERR_MMAP_FAULT' || failure.code === 'ENOSPC', `expected ERR_MMAP_FAULT or ENOSPC: ${JSON.stringify(failure)}`);
  if (failure.code === 'ERR_MMAP_FAULT') {
    assert.match(failure.message, /disk is full/);
    assert.ok(failure.message.includes(path), failure.message);
    if (/Nothing was written/.test(failure.message)) {
      // Refused before the copy (its pages could not be reserved): nothing
      // was lost, so the mapping stays usable and syncAll succeeds.
      assert.equal(report.next, null, `syncAll after a write refused whole: ${JSON.stringify(report.next)}`);
    } else {
      // A fault during the copy is recorded: syncAll cannot report success either.
      assertFault(report.next, path, 'syncAll after the fault', /disk is full/);
    }
  } else {
    assert.equal(failure.errno, -constants.errno.ENOSPC);
    assert.equal(failure.path, path);
  }
  // No write was acknowledged that the disk could not hold...
  assert.ok(report.okBytes <= TMPFS_BYTES, `writes up to byte ${report.okBytes} returned success on a ${TMPFS_BYTES}-byte disk`);
  assert.ok(report.okBytes > 0, 'the first write fits on the disk and must succeed');
  // ...and what was acknowledged is in the file.
  assert.equal(report.okIntact, true, 'bytes of the successful writes read back through node:fs');
  assert.equal(report.liveMappingsAfterClose, 0);
  return report;
}

test('full disk under a sparse file: 4 KiB writeRange calls end in ERR_MMAP_FAULT, the child lives', TIMEOUT, async () => {
  const report = await sparseOnFullDisk('sparse-small');
  // Small writes are copies into the mapping: their pages are reserved first
  // (the file has holes), so the write is refused whole.
  assert.equal(report.failure!.code, 'ERR_MMAP_FAULT');
  assert.match(report.failure!.message, /Nothing was written/);
});

test('full disk under a sparse file: 1 MiB writeRange calls end in an error, the child lives', TIMEOUT, async () => {
  await sparseOnFullDisk('sparse-large');
});

test('full disk under a sparse file: writeAtAsync (copy on the libuv pool) ends in an error, the child lives', TIMEOUT, async () => {
  await sparseOnFullDisk('sparse-raw-async');
});

// --- c. a SIGBUS that is not the library's -------------------------------------

async function sigbusChild(mode: string, onArmed: (kill: () => void) => void = () => {}, extra: string[] = []): Promise<ChildResult> {
  const t = tempDir('ranged-mmap-sigbus-');
  try {
    return await runChild(process.execPath, [fixture('fault-sigbus-child.js'), t.dir, mode, ...extra], (event, child) => {
      if (event.event === 'armed')
        onArmed(() => {
          child.kill('SIGBUS');
          // If the signal were swallowed, end of input lets the child report it and exit.
          child.stdin.end();
        });
    });
  } finally {
    t.cleanup();
  }
}

test('a SIGBUS the process sends itself still kills it with the library loaded', TIMEOUT, async () => {
  const result = await sigbusChild('self');
  assert.equal(result.signal, 'SIGBUS', story(result));
  only(result, 'armed');
  assert.equal(result.events.filter((e) => e.event === 'survived').length, 0, story(result));
});

test('a SIGBUS from another process kills the child, even after the guard caught a fault of its own', TIMEOUT, async () => {
  const result = await sigbusChild('external', (kill) => kill());
  assert.equal(result.signal, 'SIGBUS', story(result));
  const armed = only(result, 'armed');
  assert.equal((armed.fault as ErrorInfo | null)?.code, 'ERR_MMAP_FAULT', 'the guard caught the fault in the mapping');
  assert.equal(result.events.filter((e) => e.event === 'survived').length, 0, story(result));
});

test('a SIGBUS listener installed before the library still gets sent signals, and not the library faults', TIMEOUT, async () => {
  const result = await sigbusChild('chained');
  assertSurvived(result);
  const armed = only(result, 'armed');
  assert.equal((armed.fault as ErrorInfo | null)?.code, 'ERR_MMAP_FAULT', 'the fault in the mapping is an error');
  assert.equal(armed.listenerCallsAfterFault, 0, 'the fault in the mapping did not reach the listener');
  assert.equal(only(result, 'survived').listenerCalls, 1, 'the sent SIGBUS reached the listener once');
});

/**
 * A shared object whose constructor makes a real SIGBUS with no help from
 * the library: it maps a file of its own, shrinks the file, and reads the
 * page the file no longer backs. Node cannot map a file by itself, so this
 * is the smallest honest way to fault outside the library's mappings.
 */
const FOREIGN_FAULT_C = `
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

__attribute__((constructor)) static void fault_outside_ranged_mmap(void) {
  const char *path = getenv("FOREIGN_FAULT_FILE");
  if (path == NULL) return;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0 || ftruncate(fd, 2 * 4096) != 0) _exit(90);
  volatile unsigned char *p = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) _exit(91);
  p[0] = 1;
  if (ftruncate(fd, 0) != 0) _exit(92);
  volatile unsigned char lost = p[4096]; /* no file page behind it: SIGBUS */
  (void)lost;
}
`;

test("a real SIGBUS outside the library's mappings (another mapping of the process loses its file) still kills the process", TIMEOUT, async () => {
  const build = tempDir('ranged-mmap-foreign-');
  try {
    writeFileSync(build.path('foreign-fault.c'), FOREIGN_FAULT_C);
    // The C compiler node-gyp needs to build the addon from source. A
    // missing compiler fails this test: it is never skipped.
    try {
      execFileSync('cc', ['-shared', '-fPIC', '-O1', '-o', build.path('foreign-fault.so'), build.path('foreign-fault.c')], { stdio: 'pipe' });
    } catch (error) {
      assert.fail(`this test compiles a 20-line C helper with \`cc\` (the compiler node-gyp uses for the addon); it could not: ${String(error)}`);
    }
    const result = await sigbusChild('foreign', () => {}, [build.path('foreign-fault.so')]);
    assert.equal(result.signal, 'SIGBUS', story(result));
    const armed = only(result, 'armed');
    assert.equal((armed.fault as ErrorInfo | null)?.code, 'ERR_MMAP_FAULT', 'the guard caught the fault in its own mapping first');
    assert.equal(result.events.filter((e) => e.event === 'survived').length, 0, story(result));
  } finally {
    build.cleanup();
  }
});
