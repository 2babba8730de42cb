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
import type { NativeBinding } from './binding-types.js';

export { Access, SyncMode, type NativeAttachment, type NativeBinding, type NativeOpenRequest, type NativeStatusLayout } from './binding-types.js';

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
