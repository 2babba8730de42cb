// Shared test helpers: temporary directories and file snapshots.
import { mkdtempSync, readFileSync, realpathSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';

/** A fresh temporary directory, removed by the returned cleanup function. */
export function tempDir(prefix = 'ranged-mmap-test-'): { dir: string; path: (name: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, path: (name) => join(dir, name), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Hash of a file's bytes (or 'absent'), to assert a rejected call changed nothing. */
export function snapshot(path: string): string {
  if (!existsSync(path)) return 'absent';
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Bytes filled with a pattern that differs per position and seed. */
export function pattern(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed * 17 + (i >>> 8)) & 0xff;
  return out;
}

/**
 * The sum of `fields` (kB lines such as 'Rss', 'Shared_Dirty') over this
 * process's mappings of `path`, from /proc/self/smaps: what of the file is
 * in this process's page tables, whatever else the page cache holds.
 * Throws when the process has no mapping of `path`.
 */
export function smapsKb(path: string, ...fields: string[]): number {
  const real = realpathSync(path);
  let inside = false;
  let found = 0;
  let kb = 0;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      inside = line.endsWith(` ${real}`);
      if (inside) found++;
    } else if (inside && fields.some((f) => line.startsWith(`${f}:`))) {
      kb += Number(line.split(/\s+/)[1]);
    }
  }
  if (found === 0) throw new Error(`no mapping of ${real} in /proc/self/smaps`);
  return kb;
}
