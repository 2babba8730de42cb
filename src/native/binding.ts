/**
 * Loads the native core and describes its surface. Nothing else in the
 * library talks to the addon directly.
 *
 * The package ships prebuilt binaries under `prebuilds/linux-x64/` and
 * `prebuilds/linux-arm64/` (glibc 2.28 or later), loaded directly (no install
 * script, no compiler); a source build in `native/build/Release/`
 * (contributors, `npm run build:native`, or `npx node-gyp rebuild -C native`
 * in the installed package) is preferred when present. `RANGED_MMAP_NATIVE_BINDING=/abs/path.node` replaces both, for
 * users who bundle or move the binary.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MmapError } from '../errors.js';
import { checkBinding } from './shape.js';
import type { SharedRingBinding, VmapMapBinding, VmapNativeBinding } from './vmap-binding.js';

/**
 * [key, size, token, statusPage, path, nonce, access, reserved]; views over
 * the file come from `view()`. `path` (null for mappings not opened by path)
 * and `nonce` bind share() handles to their mapping. `reserved` is 1 when
 * every block of the file is known to be allocated (no write through the
 * mapping can meet a full disk), else 0.
 */
export type NativeAttachment = [number, number, number, ArrayBuffer, string | null, number, Access, number];

/** Values of the native `rm_access` (native/file_ops.h): how a file is mapped. */
export const enum Access {
  /** MAP_SHARED over an O_RDWR descriptor: stores reach the file. */
  ReadWrite = 0,
  /** MAP_PRIVATE over an O_RDONLY descriptor; the API refuses writes. */
  ReadOnly = 1,
  /** MAP_PRIVATE over an O_RDONLY descriptor; writes stay in this process. */
  CopyOnWrite = 2,
}

/** Values of the native `rm_sync_mode`. */
export const enum SyncMode {
  Schedule = 0,
  Range = 1,
  All = 2,
}

/** The options object `open`/`openAsync` take (native/file_ops.h, rm_open_request). */
export interface NativeOpenRequest {
  path: string;
  create: boolean;
  exclusive: boolean;
  sparse: boolean;
  mode: number;
  size: number;
  /** How the file is mapped; a create is always ReadWrite. Absent means ReadWrite. */
  access?: Access;
}

/** Where the status page keeps what (native/mapping_table.h), exported so a test can compare. */
export interface NativeStatusLayout {
  faultsI32: number;
  allocatorKindI32: number;
  faultOffsetF64: number;
  allocNextI64: number;
  allocNextPagesI32: number;
  bytes: number;
}

/**
 * Every export of the native module (native/addon.c lists them in one table);
 * the vmap family's calls are described in vmap-binding.ts. shape.ts checks a
 * loaded module against it, name by name.
 */
export interface NativeBinding extends VmapNativeBinding, VmapMapBinding, SharedRingBinding {
  /** Opens (or creates) and maps a file; null when the file is empty. */
  open(req: NativeOpenRequest): NativeAttachment | null;
  /** Same as open, on the libuv thread pool. */
  openAsync(req: NativeOpenRequest): Promise<NativeAttachment | null>;
  /** Gives this thread its own buffers over a live mapping. */
  attach(key: number): NativeAttachment;
  /** As attach, for the newest mapping of the resized file whose mapping `key` (gone now) carried `nonce`. */
  attachNewest(nonce: number, key: number): NativeAttachment;
  /** This thread's ArrayBuffer over view `index` (VIEW_BYTES each) of an attachment, made on first use. */
  view(token: number, index: number): ArrayBuffer;
  /** Detaches this thread's buffers of one attachment and drops its reference. */
  detach(token: number): void;
  /** Drops the reference of an attachment whose file object was collected (or that a resize retired); buffers still held stay mapped until collected. */
  release(token: number): void;
  /** Detaches one view buffer of a released attachment (zero-length from then on) and drops its pin on the mapping. */
  detachView(buffer: ArrayBuffer): void;
  /** [memory-map areas this library holds (every kind), the cap past which it refuses new mappings]. */
  areaCount(): [number, number];
  /** Sets that cap (at load, from vm.max_map_count; tests lower it). */
  setAreaCap(cap: number): void;
  sync(key: number, offset: number, length: number, mode: SyncMode): void;
  syncAsync(key: number, offset: number, length: number, mode: SyncMode): Promise<void>;
  advise(key: number, offset: number, length: number, advice: number): void;
  /** MADV_POPULATE_WRITE; returns 0 or a positive errno. */
  populate(key: number, offset: number, length: number): number;
  pwrite(key: number, offset: number, data: Uint8Array): void;
  /** Pages of the span that are in the page cache (mincore). */
  residentPages(key: number, offset: number, length: number): number;
  /**
   * Copies between the mapping at `offset` and `bytes`; the mapping side runs
   * on the libuv pool through a bounce buffer, so `bytes` is only touched on
   * this thread (at the call for writes, at completion for reads).
   */
  copyAsync(key: number, offset: number, bytes: Uint8Array, intoMapping: boolean): Promise<void>;
  /**
   * Copies `count` items of `length` bytes between the window
   * [base, base + limit) of the mapping (item i at `offsets[i]` in it) and
   * `bytes` (item i at `i * length`), checking each item. Returns `count`
   * when all were copied, `i` when item i lies outside the file, `-(i + 1)`
   * when a page fault was caught while item i was copied; nothing is copied
   * after a failed item (native/batch_ops.c).
   */
  copyMany(key: number, base: number, limit: number, offsets: Float64Array, count: number, length: number, bytes: Uint8Array, intoMapping: boolean): number;
  /** Sets `length` bytes at `offset` to `value` on the libuv pool. */
  fillAsync(key: number, offset: number, length: number, value: number): Promise<void>;
  /** The ERR_MMAP_FAULT error for a mapping (count, first offset, file size now), or null. */
  faultInfo(key: number): object | null;
  /** Puts the SIGBUS guard back in front if something replaced it; 1 if it had been replaced. */
  guardEnsure(): number;
  readonly statusLayout: NativeStatusLayout;
  /** mlock (lock = true) or munlock the pages of a span (native/mmapio_ops.c). */
  memLock(key: number, offset: number, length: number, lock: boolean): void;
  /** MADV_HUGEPAGE (or NOHUGEPAGE) on the whole mapping: [madvise errno or 0, THPeligible 1/0/-1]. */
  hugePages(key: number, enable: boolean): [number, number];
  /** A new mapping of `size` bytes replaces this one: [0, newKey]; or [1, successorKey] when another thread resized it first. */
  resize(key: number, size: number): [number, number];
  /** {@link resize} on the libuv pool (ftruncate and fallocate can wait on the disk). */
  resizeAsync(key: number, size: number): Promise<[number, number]>;
  /** Faults in the pages of [offset, offset + length) on the libuv pool (MADV_POPULATE_READ, or a read of every page). */
  touchAsync(key: number, offset: number, length: number): Promise<void>;
  /** mlock of the pages of [offset, offset + length) on the libuv pool (errors as memLock's). */
  memLockAsync(key: number, offset: number, length: number): Promise<void>;
  /** futex wait on the aligned u32 at offset: 0 ok, 1 not-equal, 2 timed-out. Blocks the thread. */
  futexWait(key: number, offset: number, expected: number, timeoutMs: number): number;
  /** futex wake: the number of waiters woken (in every process). */
  futexNotify(key: number, offset: number, count: number): number;
  /** futexWait on a thread of its own: [id, promise of 0 ok, 1 not-equal, 2 timed-out, 3 cancelled]. */
  futexWaitAsync(key: number, offset: number, expected: number, timeoutMs: number): [number, Promise<number>];
  /** Cancels a futexWaitAsync of this thread (its promise settles with 3). */
  futexWaitCancel(id: number): void;
  /** Byte offset in a status page of the successor's key (float64; 0 = none). */
  readonly statusSuccessorByte: number;
  ticketIssue(key: number, start: number, end: number): number;
  ticketClaim(key: number, ticket: number, start: number, end: number): boolean;
  liveMappings(): number;
  threadAttachments(): number;
  /** Bytes covered by one ArrayBuffer view; files are cut into views this big. */
  readonly viewBytes: number;
}

/** Environment variable that points the loader at a binary of your own (bundled or moved). */
const BINDING_ENV = 'RANGED_MMAP_NATIVE_BINDING';

/** The architectures with a prebuilt binary in the package (scripts/prebuild.mjs). */
const ARCHES: readonly string[] = ['x64', 'arm64'];

/** The `.node` files to try, in order, with where each comes from. */
function candidates(root: string): string[] {
  // A source build in the package directory (`npm run build:native` in a
  // clone, or node-gyp run by hand in native/) wins over the prebuild, so a
  // contributor never tests a stale prebuild left over from `npm pack`.
  const found = [join(root, 'native', 'build', 'Release', 'ranged_mmap.node')];
  // scripts/prebuild.mjs's output, shipped in the package: one Node-API
  // binary for every Node version (its name carries tags such as `napi` and
  // `glibc`, as node-gyp-build names them).
  const dir = prebuildDir(root);
  let names: string[] = [];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.node') && !name.includes('musl'));
  } catch {
    // no prebuilds directory: a clone before its first build
  }
  for (const name of names.sort()) found.push(join(dir, name));
  return found;
}

function prebuildDir(root: string): string {
  return join(root, 'prebuilds', `${process.platform}-${process.arch}`);
}

/**
 * What is wrong with this system's C library for the prebuilds, or null:
 * they need glibc 2.28 or later. Asked only after a load failed (the report
 * is not free), to say why.
 */
function libcMismatch(): string | null {
  const header = (process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined)?.header;
  const glibc = header?.glibcVersionRuntime;
  if (glibc === undefined) return 'this system has no glibc (musl, as on Alpine?), and the prebuilt binaries are linked against glibc';
  const [major = 0, minor = 0] = glibc.split('.').map(Number);
  if (major < 2 || (major === 2 && minor < 28)) return `this system has glibc ${glibc}, and the prebuilt binaries need glibc 2.28 or later`;
  return null;
}

function loadBinding(): NativeBinding {
  if (process.platform !== 'linux' || !ARCHES.includes(process.arch)) {
    throw new MmapError(
      'ERR_MMAP_UNSUPPORTED_PLATFORM',
      `ranged-mmap supports Linux on x64 and arm64 only; this is ${process.platform} on ${process.arch}, ` +
        'for which it has no native core. Use node:fs file handles on this platform.',
    );
  }
  const override = process.env[BINDING_ENV];
  if (override !== undefined && override !== '') {
    const file = resolve(override);
    let loaded: unknown;
    try {
      if (!existsSync(file)) throw new Error('no such file');
      loaded = require(file);
    } catch (error) {
      throw new MmapError(
        'ERR_MMAP_NATIVE_LOAD_FAILED',
        `ranged-mmap could not load its native core from ${file}, named by ${BINDING_ENV} (${reason(error)}). ` +
          `Set ${BINDING_ENV} to the absolute path of the ranged_mmap .node file you ship (it is in ` +
          `prebuilds/${process.platform}-${process.arch}/ of the installed package), or unset it to use the one in the package.`,
      );
    }
    return checkBinding(loaded, file);
  }
  // This file is dist/cjs/native/binding.js: the package root is three up.
  const root = join(__dirname, '..', '..', '..');
  const tried: string[] = [];
  for (const file of candidates(root)) {
    if (!existsSync(file)) continue;
    let loaded: unknown;
    try {
      loaded = require(file);
    } catch (error) {
      const why = reason(error);
      tried.push(why.startsWith(file) ? why : `${file}: ${why}`);
      continue;
    }
    // A binary that loads but exports other names is not skipped for the
    // next candidate: a stale source build must be seen, not hidden.
    return checkBinding(loaded, file);
  }
  const what = tried.length === 0 ? `no binary in ${prebuildDir(root)} or ${join(root, 'native', 'build', 'Release')}` : tried.join('; ');
  const libc = tried.length === 0 ? null : libcMismatch();
  throw new MmapError(
    'ERR_MMAP_NATIVE_LOAD_FAILED',
    `ranged-mmap could not load its native core (${what}). ` +
      (libc === null ? '' : `The likely cause: ${libc}. `) +
      'Reinstall ranged-mmap so that its prebuilt binary is in place; if you bundle or move the binary, ' +
      `set ${BINDING_ENV} to its absolute path; to build it from source, run \`npx node-gyp rebuild -C native\` in ${root} ` +
      '(needs a C compiler, make and Python).',
  );
}

/** The first line of whatever a failed load threw (require adds its stack of callers below). */
function reason(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]!;
}

/** The loaded native core (one per thread; the mapping table behind it is per process). */
export const native: NativeBinding = loadBinding();

/** The kernel's default vm.max_map_count, used when /proc cannot be read. */
const DEFAULT_MAX_MAP_COUNT = 65530;

/**
 * How many memory-map areas the library may hold: vm.max_map_count less a
 * quarter of it (at least 4096) for the rest of the process. Past the
 * kernel's limit every mmap fails, V8's too, and V8 aborts the process on
 * its next heap growth; refusing our own mappings first keeps that room.
 */
export function mapAreaCap(maxMapCount: number): number {
  return Math.max(0, maxMapCount - Math.max(4096, Math.floor(maxMapCount / 4)));
}

function readMaxMapCount(): number {
  try {
    const n = Number.parseInt(readFileSync('/proc/sys/vm/max_map_count', 'utf8'), 10);
    return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_MAP_COUNT;
  } catch {
    return DEFAULT_MAX_MAP_COUNT;
  }
}

/** vm.max_map_count as read when the library loaded. */
export const MAX_MAP_COUNT = readMaxMapCount();
native.setAreaCap(mapAreaCap(MAX_MAP_COUNT));

// A SIGBUS listener in JavaScript makes libuv install its own handler, and
// removing the last one makes libuv restore the default: either way the
// native fault guard is gone. Node's own listeners for these events were
// registered at start-up, before this one, so when this runs libuv has
// already changed the handler, and the guard goes back in front of it.
const onSignalListenerChange = (event: string | symbol): void => {
  if (event === 'SIGBUS') native.guardEnsure();
};
process.on('newListener', onSignalListenerChange);
process.on('removeListener', onSignalListenerChange);
