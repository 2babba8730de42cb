// The 5 GiB sparse file the createReadStream tests read.
import { closeSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { pattern } from './helpers.js';

const GiB = 2 ** 30;

/** Size of {@link fiveGiBFile}: 5 GiB and a bit, so the last view is partial. */
export const FIVE_GIB_FILE_SIZE = 5 * GiB + 300_007;

/**
 * A sparse file of {@link FIVE_GIB_FILE_SIZE} bytes in `dir`, with patterned
 * data around each 1 GiB boundary and at both ends (zeros elsewhere).
 */
export function fiveGiBFile(dir: { path: (name: string) => string }): string {
  const path = dir.path('5GiB.bin');
  const fd = openSync(path, 'w');
  try {
    ftruncateSync(fd, FIVE_GIB_FILE_SIZE);
    writeSync(fd, pattern(70_000, 1), 0, 70_000, 0);
    for (let b = 1; b <= 5; b++) writeSync(fd, pattern(200_003, b + 1), 0, 200_003, b * GiB - 100_001);
    writeSync(fd, pattern(9_999, 9), 0, 9_999, FIVE_GIB_FILE_SIZE - 9_999);
  } finally {
    closeSync(fd);
  }
  return path;
}
