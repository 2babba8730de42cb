// Files for the benchmarks: one directory per run, every contender writes
// the same kind of file there, and files are removed and the disk synced
// between repetitions so one run's write-back does not land in the next.
import { mkdtempSync, rmSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export function benchDir(parent = tmpdir()) {
  return mkdtempSync(join(parent, 'ranged-mmap-bench-'));
}

export function removeAndSync(...paths) {
  for (const p of paths) rmSync(p, { force: true });
  syncDisk();
}

/** Writes back every dirty page of the system, so none is left to land in the next repetition. */
export function syncDisk() {
  execFileSync('sync');
}
