// Flush and sync failures reported as system errors. A seccomp filter in a
// child process (test/syscall-errno.ts) makes the kernel fail msync, fsync
// and sync_file_range with EIO or ENOSPC, as a failing disk or a full thin
// volume would; every flush and sync form of MemoryMappedFile, RawMmapFile,
// MmapFile and vmap's MemoryMapMut must then throw (or reject with) an
// MmapError carrying code, errno, syscall and path, never report success,
// and never crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fixture } from './fault-helpers.js';
import { tempDir } from './helpers.js';
import { failingSyscalls, syscallErrnoLauncher } from './syscall-errno.js';

const PAGE = 4096;
const FILES = ['mmf.bin', 'always.bin', 'millis.bin', 'raw.bin', 'ranged.bin', 'vmap.bin'] as const;

interface Outcome {
  call: string;
  ok?: boolean;
  name?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
  message?: string;
}

function runUnder(errnoName: 'EIO' | 'ENOSPC', syscalls: readonly string[]): { outcomes: Map<string, Outcome>; dir: string; cleanup: () => void } {
  const t = tempDir('ranged-mmap-sync-errors-');
  for (const name of FILES) writeFileSync(t.path(name), new Uint8Array(2 * PAGE));
  const errno = constants.errno[errnoName];
  const r = spawnSync(syscallErrnoLauncher(), failingSyscalls(errno, syscalls, process.execPath, [fixture('sync-errors-child.js'), t.dir]), {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.signal, null, `the child was killed by ${r.signal}: ${r.stderr}`);
  assert.equal(r.status, 0, r.stderr);
  const outcomes = new Map<string, Outcome>();
  for (const line of r.stdout.trim().split('\n')) {
    const o = JSON.parse(line) as Outcome;
    outcomes.set(o.call, o);
  }
  return { outcomes, dir: t.dir, cleanup: t.cleanup };
}

function expectSystemError(outcomes: Map<string, Outcome>, call: string, code: string, syscall: string, path: string): void {
  const o = outcomes.get(call);
  assert.ok(o !== undefined, `${call} did not run`);
  assert.deepEqual(
    { call: o.call, name: o.name, code: o.code, errno: o.errno, syscall: o.syscall, path: o.path },
    { call, name: 'MmapError', code, errno: -constants.errno[code as 'EIO'], syscall, path },
    `${call}: ${o.message ?? 'reported success'}`,
  );
  assert.match(o.message ?? '', new RegExp(`^${code}: .*${syscall}`), `${call}: the message names the error and the call`);
}

test('flush and sync failures (EIO from msync, fsync and sync_file_range) are MmapErrors with code, errno, syscall and path, from every file type and every form', () => {
  const { outcomes, dir, cleanup } = runUnder('EIO', ['msync', 'fsync', 'sync_file_range']);
  try {
    const at = (name: string) => `${dir}/${name}`;
    for (const call of ['mmf.flush', 'mmf.flushAsync', 'mmf.flushRange', 'mmf.flushRangeAsync', 'mmf.segment.flush'])
      expectSystemError(outcomes, call, 'EIO', 'sync_file_range', at('mmf.bin'));
    expectSystemError(outcomes, 'mmf.syncAll', 'EIO', 'msync', at('mmf.bin'));
    expectSystemError(outcomes, 'mmf.syncAllAsync', 'EIO', 'msync', at('mmf.bin'));
    expectSystemError(outcomes, 'always.updateRegion', 'EIO', 'sync_file_range', at('always.bin'));
    expectSystemError(outcomes, 'millis.flush(kept)', 'EIO', 'sync_file_range', at('millis.bin'));
    assert.equal(outcomes.get('millis.flush(after)')?.ok, true, 'the kept failure is thrown once');
    for (const call of ['raw.flush', 'raw.flushRange', 'raw.flushRangeAsync']) expectSystemError(outcomes, call, 'EIO', 'sync_file_range', at('raw.bin'));
    for (const call of ['raw.syncRange', 'raw.syncRangeAsync', 'raw.syncAll']) expectSystemError(outcomes, call, 'EIO', 'msync', at('raw.bin'));
    for (const call of ['ranged.flushRange', 'ranged.flushRangeAsync']) expectSystemError(outcomes, call, 'EIO', 'sync_file_range', at('ranged.bin'));
    for (const call of ['ranged.syncRange', 'ranged.syncRangeAsync', 'ranged.syncAllAsync'])
      expectSystemError(outcomes, call, 'EIO', 'msync', at('ranged.bin'));
    for (const call of ['vmap.flush(Sync)', 'vmap.flushRange(Sync)']) {
      const o = outcomes.get(call);
      assert.deepEqual([o?.name, o?.code, o?.errno, o?.syscall], ['MmapError', 'EIO', -constants.errno.EIO, 'msync'], `${call}: ${o?.message}`);
    }
    // The failure is the kernel's word on write-back, not a lost write: the
    // bytes the calls wrote are in the file (page cache) for every reader.
    const expect: Record<string, number> = { 'mmf.bin': 0x11, 'always.bin': 0x22, 'millis.bin': 0x33, 'raw.bin': 0x44, 'ranged.bin': 0x55, 'vmap.bin': 0x66 };
    for (const [name, value] of Object.entries(expect)) {
      const data = readFileSync(at(name));
      assert.equal(data.length, 2 * PAGE, `${name} kept its size`);
      assert.ok(data.subarray(0, PAGE).every((b) => b === value) && data.subarray(PAGE).every((b) => b === 0), `${name} holds exactly what was written`);
    }
  } finally {
    cleanup();
  }
});

test('syncAll reports fsync when the data reached the disk but fsync failed (ENOSPC), on both the sync and async forms', () => {
  const { outcomes, dir, cleanup } = runUnder('ENOSPC', ['fsync']);
  try {
    expectSystemError(outcomes, 'mmf.syncAll', 'ENOSPC', 'fsync', `${dir}/mmf.bin`);
    expectSystemError(outcomes, 'mmf.syncAllAsync', 'ENOSPC', 'fsync', `${dir}/mmf.bin`);
    expectSystemError(outcomes, 'raw.syncAll', 'ENOSPC', 'fsync', `${dir}/raw.bin`);
    expectSystemError(outcomes, 'ranged.syncAllAsync', 'ENOSPC', 'fsync', `${dir}/ranged.bin`);
    // Only fsync fails here: the flushes and range syncs succeed.
    for (const call of ['mmf.flush', 'mmf.flushRangeAsync', 'raw.syncRange', 'ranged.flushRange', 'vmap.flush(Sync)'])
      assert.equal(outcomes.get(call)?.ok, true, `${call}: ${outcomes.get(call)?.message}`);
  } finally {
    cleanup();
  }
});

test('under a filter that fails a call the library never makes, every flush and sync in the same child succeeds (the errors above come from the filter)', () => {
  const { outcomes, cleanup } = runUnder('EIO', ['inotify_add_watch']);
  try {
    const failed = [...outcomes.values()].filter((o) => o.ok !== true);
    assert.deepEqual(failed, [], 'no call failed');
    assert.equal(outcomes.size, 23, 'every call ran');
  } finally {
    cleanup();
  }
});
