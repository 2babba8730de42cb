/** What a MemoryMappedFile's huge-page request did, in words. */
import { readFileSync } from 'node:fs';

/** What became of a huge-page request (`file.hugePages`). */
export interface HugePageReport {
  /** True when huge pages were asked for (false after `requestHugePages(false)`). */
  readonly requested: boolean;
  /** The kernel accepted the `madvise` (`MADV_HUGEPAGE`/`MADV_NOHUGEPAGE`). */
  readonly applied: boolean;
  /**
   * The kernel's own verdict on the mapping afterwards (`THPeligible` in
   * /proc/self/smaps): true when huge pages can back it, null when it could
   * not be read.
   */
  readonly eligible: boolean | null;
  /** `requested && applied && eligible === true`: the hint took effect. */
  readonly effective: boolean;
  /** Why it did not take effect, or `'ok'`. */
  readonly reason: string;
}

function thpSetting(): string {
  try {
    const text = readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8');
    return /\[(\w+)\]/.exec(text)?.[1] ?? 'unknown';
  } catch {
    return 'unavailable';
  }
}

/**
 * @internal The report of a request (`on`) the native side answered with
 * `err` (0: the madvise was accepted, else its errno) and `eligible`
 * (THPeligible: 1, 0, or -1 when it could not be read).
 */
export function hugePageReport(on: boolean, err: number, eligible: number): HugePageReport {
  const applied = err === 0;
  const known = eligible === -1 ? null : eligible === 1;
  const setting = thpSetting();
  let reason = 'ok';
  if (!on) reason = 'huge pages were turned off for this mapping';
  else if (!applied) reason = `the kernel refused MADV_HUGEPAGE (errno ${err}); transparent huge pages are ${setting}`;
  else if (known === false)
    reason =
      setting === 'never'
        ? 'transparent huge pages are disabled on this system (never)'
        : 'the kernel does not offer huge pages for this mapping (its file system does not support them for file mappings)';
  else if (known === null) reason = 'the kernel accepted the hint, but /proc/self/smaps could not be read to confirm it';
  return Object.freeze({ requested: on, applied, eligible: known, effective: on && applied && known === true, reason });
}
