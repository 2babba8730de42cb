/**
 * What SharedRing.create does with its options and with a ring file
 * already at its path (`{ replace: true }`).
 *
 * Not exported from the package.
 */
import { argTypeError, fromNative, misuse, outOfRange } from '../errors.js';
import { type SharedRingFound, type SharedRingMemory, snative } from './native.js';
import { CONSUMER, CONSUMER_STATE, HEADER_BYTES, LIVE, MAGIC, notARing, PEER_CLAIMING, PRODUCER, PRODUCER_STATE } from './shared-ring-format.js';

/** SharedRing.create's options, checked. */
export function toCreateOptions(options: unknown): { mode: number; replace: boolean } {
  let mode = 0o600;
  let replace = false;
  if (options === undefined) return { mode, replace };
  if (typeof options !== 'object' || options === null) throw argTypeError('options', 'of type object', options);
  const { mode: m, replace: r } = options as { mode?: unknown; replace?: unknown };
  if (m !== undefined) {
    if (typeof m !== 'number') throw argTypeError('options.mode', 'of type number', m);
    if (!Number.isInteger(m) || m < 0 || m > 0o7777) throw outOfRange('options.mode', 'an integer from 0 to 0o7777', m);
    mode = m;
  }
  if (r !== undefined) {
    if (typeof r !== 'boolean') throw argTypeError('options.replace', 'of type boolean', r);
    replace = r;
  }
  return { mode, replace };
}

/** Throws unless the file at `p` is a ring no live process holds an end of, or an empty or broken ring file. */
export function checkReplaceable(p: string): void {
  let got: SharedRingMemory;
  try {
    got = snative.srOpen(p);
  } catch (error) {
    const found = typeof error === 'object' && error !== null ? (error as { found?: SharedRingFound }).found : undefined;
    if (found === undefined) throw fromNative(error, p);
    // A ring file that is broken (truncated, another version, a create
    // killed half way leaves it empty) is replaced; another file is not.
    if (found.size === 0 || found.magic === MAGIC) return;
    throw misuse('ERR_MMAP_INVALID_STATE', `${notARing(p, found).message}; { replace: true } replaces ring files only, so it was left as it was`, p);
  }
  const words = new Int32Array(got[1], 0, HEADER_BYTES / 4);
  try {
    for (const role of [PRODUCER, CONSUMER] as const) {
      // Checks the holder's process: a dead one is marked GONE here.
      const state = snative.srPeer(got[1], role);
      if (state === LIVE || state === PEER_CLAIMING) {
        const at = role === PRODUCER ? PRODUCER_STATE : CONSUMER_STATE;
        const word = Atomics.load(words, at);
        const pid = word < 0 ? -word : Atomics.load(words, at + 1);
        throw misuse(
          'ERR_MMAP_INVALID_STATE',
          `'${p}' is in use: its ${role === PRODUCER ? 'producer' : 'consumer'} is process ${pid}, which is alive; { replace: true } replaces a ring only once every process that held an end of it has closed it or died`,
          p,
        );
      }
    }
  } finally {
    snative.srClose(got[1]);
  }
}
