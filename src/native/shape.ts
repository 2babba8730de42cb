/**
 * What the native module exports, name by name, and the check that the
 * loaded module has exactly that: the TypeScript side of the seam is the
 * {@link NativeBinding} type plus this table, and the compiler keeps the two
 * in step (a name in one and not the other does not compile). The C side is
 * the one flat table in native/addon.c. A binary built from other sources
 * (stale build, a prebuild of another version) then fails at load with the
 * names that differ, instead of at the first call that reaches a missing
 * function.
 *
 * Not exported from the package.
 */
import { MmapError } from '../errors.js';
import type { NativeBinding } from './binding-types.js';

/** The kind of value an export holds. */
export type ExportKind = 'function' | 'number' | 'object';

type KindOf<T> = T extends (...args: never[]) => unknown ? 'function' : T extends number ? 'number' : 'object';

/**
 * Every export of the native module and its kind. Typed against
 * {@link NativeBinding}: the compiler refuses a missing or an extra name.
 *
 * @example
 * ```ts
 * BINDING_EXPORTS.open; // 'function'
 * ```
 */
export const BINDING_EXPORTS = {
  // mapping lifetime and per-thread attachments (native/addon.c, native/attachments.c)
  open: 'function',
  openAsync: 'function',
  attach: 'function',
  attachNewest: 'function',
  view: 'function',
  detach: 'function',
  release: 'function',
  detachView: 'function',
  liveMappings: 'function',
  threadAttachments: 'function',
  viewBytes: 'number',
  statusLayout: 'object',
  statusSuccessorByte: 'number',
  // sync, advice and copies
  sync: 'function',
  syncAsync: 'function',
  advise: 'function',
  populate: 'function',
  pwrite: 'function',
  residentPages: 'function',
  copyAsync: 'function',
  fillAsync: 'function',
  copyMany: 'function',
  // map-area count (native/map_areas.c)
  areaCount: 'function',
  setAreaCap: 'function',
  // faults
  faultInfo: 'function',
  guardEnsure: 'function',
  // allocator tickets
  ticketIssue: 'function',
  ticketClaim: 'function',
  // MemoryMappedFile extras (native/mmapio_ops.c)
  memLock: 'function',
  memLockAsync: 'function',
  hugePages: 'function',
  resize: 'function',
  resizeAsync: 'function',
  touchAsync: 'function',
  // wait/notify (native/wait_ops.c)
  futexWait: 'function',
  futexNotify: 'function',
  futexWaitAsync: 'function',
  futexWaitCancel: 'function',
  // rings (native/bind_ring.c)
  ringCreate: 'function',
  ringClose: 'function',
  liveRings: 'function',
  pageSize: 'number',
  ringMaxCapacity: 'number',
  // maps (native/bind_vmap.c)
  mapCreate: 'function',
  mapExpose: 'function',
  mapClose: 'function',
  mapFlush: 'function',
  mapFaults: 'function',
  liveMaps: 'function',
  mapMaxLength: 'number',
  // shared rings (native/bind_shared_ring.c)
  srCreate: 'function',
  srOpen: 'function',
  srAttach: 'function',
  srClaim: 'function',
  srPeer: 'function',
  srWait: 'function',
  srWake: 'function',
  srWaitAsync: 'function',
  srClose: 'function',
} as const satisfies { readonly [K in keyof NativeBinding]-?: KindOf<NativeBinding[K]> };

/** The kind of a loaded export, in the terms of {@link ExportKind} ('other' for anything else). */
function kindOf(value: unknown): ExportKind | 'other' {
  if (typeof value === 'function') return 'function';
  if (typeof value === 'number') return 'number';
  if (typeof value === 'object' && value !== null) return 'object';
  return 'other';
}

/**
 * Checks that `loaded` (what `require` returned for `file`) exports exactly
 * {@link BINDING_EXPORTS}, each of its kind, and returns it typed; throws
 * `ERR_MMAP_NATIVE_LOAD_FAILED` naming every missing, extra or mistyped export.
 *
 * @example
 * ```ts
 * const native = checkBinding(require(file), file);
 * ```
 */
export function checkBinding(loaded: unknown, file: string): NativeBinding {
  if (typeof loaded !== 'object' || loaded === null) {
    throw mismatch(file, [`the module exports ${loaded === null ? 'null' : typeof loaded}, not an object`]);
  }
  const got = loaded as Record<string, unknown>;
  const expected: Readonly<Record<string, ExportKind>> = BINDING_EXPORTS;
  const problems: string[] = [];
  const missing = Object.keys(expected).filter((name) => !(name in got));
  if (missing.length > 0) problems.push(`missing ${missing.map((n) => `${n} (${expected[n]})`).join(', ')}`);
  const extra = Object.keys(got).filter((name) => !Object.hasOwn(expected, name));
  if (extra.length > 0) problems.push(`unexpected ${extra.join(', ')}`);
  for (const [name, kind] of Object.entries(expected)) {
    if (!(name in got)) continue;
    const actual = kindOf(got[name]);
    if (actual !== kind) problems.push(`${name} is a ${actual}, expected a ${kind}`);
  }
  if (problems.length > 0) throw mismatch(file, problems);
  return loaded as NativeBinding;
}

function mismatch(file: string, problems: string[]): MmapError {
  return new MmapError(
    'ERR_MMAP_NATIVE_LOAD_FAILED',
    `the native core ${file} does not match this version of ranged-mmap: ${problems.join('; ')}. ` +
      'It was built from other sources: reinstall ranged-mmap, or point RANGED_MMAP_NATIVE_BINDING at the binary ' +
      'shipped with this version (prebuilds/ of the package), or rebuild it from these sources.',
  );
}
