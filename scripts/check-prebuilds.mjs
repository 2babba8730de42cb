// node scripts/check-prebuilds.mjs [DIR]
// Checks every shipped binary (DIR/linux-<arch>/*.node, DIR defaults to
// prebuilds/) with readelf (binutils): it must be an ELF shared object for its
// directory's architecture, need no symbol version newer than GLIBC_2.28, need
// no symbol version of another library (GLIBCXX_, ...), leave undefined only
// glibc and Node-API symbols, and need no shared library but glibc's own.
// Prints one line per binary and exits 1 on any problem. `npm run
// prebuild:all` runs the same check on what it built, and
// test/prebuilds.test.ts runs it on the binaries of a fresh build and of the
// packed tarball.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The oldest glibc the prebuilds support: Node 20+ needs no newer. */
export const GLIBC_FLOOR = [2, 28];

/** Each shipped architecture: its Zig target and what readelf -h calls its machine. */
export const TARGETS = {
  x64: { zigTarget: 'x86_64-linux-gnu.2.28', machine: 'Advanced Micro Devices X86-64' },
  arm64: { zigTarget: 'aarch64-linux-gnu.2.28', machine: 'AArch64' },
};

/**
 * The shared libraries a binary may need: glibc's libc and the libraries that
 * glibc 2.28 still kept apart from it (merged into libc.so.6 in 2.34).
 */
export const ALLOWED_LIBRARIES = new Set(['libc.so.6', 'libpthread.so.0', 'libm.so.6', 'libdl.so.2', 'librt.so.1']);

function readelf(args, file) {
  return execFileSync('readelf', [...args, file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** -1, 0 or 1 as version a is older than, equal to or newer than b. */
function compareVersions(a, b) {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** What the binary needs: its machine, its NEEDED libraries and its undefined dynamic symbols with their versions. */
export function inspect(file) {
  const header = readelf(['-h', '-W'], file);
  const machine = /^\s*Machine:\s*(.+)$/m.exec(header)?.[1]?.trim() ?? '?';
  const type = /^\s*Type:\s*(\S+)/m.exec(header)?.[1] ?? '?';
  const needed = [...readelf(['-d', '-W'], file).matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
  const undefinedSymbols = [];
  for (const line of readelf(['--dyn-syms', '-W'], file).split('\n')) {
    // Num: Value Size Type Bind Vis Ndx Name
    const cols = line.trim().split(/\s+/);
    if (cols.length < 8 || cols[6] !== 'UND' || cols[7] === '') continue;
    const at = cols[7].indexOf('@');
    const name = at < 0 ? cols[7] : cols[7].slice(0, at);
    const version =
      at < 0
        ? null
        : cols[7]
            .slice(at)
            .replace(/^@+/, '')
            .replace(/\s*\(\d+\)$/, '');
    undefinedSymbols.push({ name, version, weak: cols[4] === 'WEAK' });
  }
  return { machine, type, needed, undefinedSymbols };
}

/** The newest GLIBC_ version the binary needs, as text ('2.28'), or null. */
export function newestGlibc(info) {
  let newest = null;
  for (const { version } of info.undefinedSymbols) {
    const m = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(version ?? '');
    if (m === null) continue;
    const v = m[1].split('.').map(Number);
    if (newest === null || compareVersions(v, newest) > 0) newest = v;
  }
  return newest === null ? null : newest.join('.');
}

/** Everything wrong with `file` as the shipped binary for `arch` (x64 or arm64); empty when it is fine. */
export function checkBinary(file, arch) {
  const target = TARGETS[arch];
  if (target === undefined) return [`${file}: no architecture ${arch} is shipped (expected one of ${Object.keys(TARGETS).join(', ')})`];
  let info;
  try {
    info = inspect(file);
  } catch (error) {
    return [`${file}: readelf could not read it (${String(error.stderr ?? error.message).trim()})`];
  }
  const problems = [];
  if (info.machine !== target.machine) problems.push(`${file}: built for ${info.machine}, expected ${target.machine}`);
  if (info.type !== 'DYN') problems.push(`${file}: ELF type ${info.type}, expected DYN (a shared object)`);
  for (const lib of info.needed) {
    if (!ALLOWED_LIBRARIES.has(lib)) problems.push(`${file}: needs ${lib}, which is not part of glibc (allowed: ${[...ALLOWED_LIBRARIES].join(', ')})`);
  }
  for (const { name, version, weak } of info.undefinedSymbols) {
    if (version === null) {
      // Node-API comes from the node executable; weak references may stay unresolved.
      if (!weak && !name.startsWith('napi_') && !name.startsWith('node_api_'))
        problems.push(`${file}: ${name} is undefined and belongs to no library version (neither glibc nor Node-API)`);
      continue;
    }
    const m = /^GLIBC_(\d+(?:\.\d+)*)$/.exec(version);
    if (m === null) {
      problems.push(`${file}: ${name}@${version} is not a glibc symbol version`);
    } else if (compareVersions(m[1].split('.').map(Number), GLIBC_FLOOR) > 0) {
      problems.push(`${file}: ${name} needs GLIBC_${m[1]}, newer than GLIBC_${GLIBC_FLOOR.join('.')}`);
    }
  }
  return problems;
}

/** One line on a binary: machine, newest glibc version and libraries. */
export function describe(file) {
  const info = inspect(file);
  return `${info.machine}, newest GLIBC_${newestGlibc(info) ?? 'none'}, needs ${info.needed.join(' ')}, ${info.undefinedSymbols.length} undefined symbols`;
}

/** Every linux-<arch>/*.node under `dir`, with its arch. */
export function shippedBinaries(dir) {
  const found = [];
  for (const sub of readdirSync(dir).sort()) {
    const m = /^linux-(.+)$/.exec(sub);
    if (m === null) continue;
    for (const name of readdirSync(join(dir, sub)).sort()) if (name.endsWith('.node')) found.push({ file: join(dir, sub, name), arch: m[1] });
  }
  return found;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2] ?? join(fileURLToPath(new URL('..', import.meta.url)), 'prebuilds');
  const binaries = shippedBinaries(dir);
  let problems = binaries.length === 0 ? [`no linux-<arch>/*.node under ${dir}`] : [];
  for (const { file, arch } of binaries) {
    const found = checkBinary(file, arch);
    if (found.length === 0) console.log(`ok ${file}: ${describe(file)}`);
    problems = problems.concat(found);
  }
  for (const p of problems) console.error(`FAIL ${p}`);
  process.exit(problems.length === 0 ? 0 : 1);
}
