/**
 * The access-pattern advice `MemoryMappedFile.advise` takes, and the
 * `madvise(2)` value each one becomes. Only advice that cannot lose data
 * written to the file is offered.
 */
import { argTypeError, argValueError } from '../errors.js';

/**
 * How the program will use a span of the mapping (mmap-io's `MmapAdvice`):
 * - `'normal'`: no special treatment (the default).
 * - `'sequential'`: read ahead aggressively; pages behind may be dropped soon.
 * - `'random'`: read ahead little or nothing.
 * - `'willNeed'`: start reading the pages in now.
 * - `'dontNeed'`: the pages are not needed soon; the kernel may drop them
 *   from this process. On a read-write mapping nothing is lost (the next
 *   access reads the file again); on a read-only or copy-on-write mapping
 *   the span's private changes are discarded and it shows the file again.
 */
export type Advice = 'normal' | 'sequential' | 'random' | 'willNeed' | 'dontNeed';

/** Linux `MADV_*` values (asm-generic/mman-common.h). */
const MADVISE: Readonly<Record<Advice, number>> = Object.freeze({
  normal: 0,
  random: 1,
  sequential: 2,
  willNeed: 3,
  dontNeed: 4,
});

/** The advice names, in a fixed order (for messages and tests). */
export const ADVICE_NAMES: readonly Advice[] = Object.freeze(['normal', 'sequential', 'random', 'willNeed', 'dontNeed']);

/** @internal Reads an advice name and returns its `madvise` value. */
export function toAdvice(value: unknown): number {
  if (typeof value !== 'string') throw argTypeError('advice', 'of type string', value);
  if (!Object.hasOwn(MADVISE, value)) {
    throw argValueError('advice', `must be one of ${ADVICE_NAMES.map((n) => `'${n}'`).join(', ')}`, value);
  }
  return MADVISE[value as Advice];
}
