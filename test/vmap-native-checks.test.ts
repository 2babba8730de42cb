// The vmap family's native functions do not trust their TypeScript caller
// (docs/DESIGN.md, safety rule 3): a child process calls them directly with
// bad buffers, numbers, descriptors, paths, keys and header words; each call
// must be refused, genuine calls must still work, the child must exit
// normally and the file must be unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';
import type { VmapNativeReport } from './fixtures/vmap-native-direct-child.js';

/** The addon the library loads (RANGED_MMAP_NATIVE_BINDING, else the source build, else the prebuild). */
function addonPath(): string {
  const env = process.env.RANGED_MMAP_NATIVE_BINDING ?? process.env.RANGED_MMAP_ADDON;
  if (env) return env;
  const root = dirname(createRequire(import.meta.url).resolve('ranged-mmap/package.json'));
  const built = join(root, 'native', 'build', 'Release', 'ranged_mmap.node');
  if (existsSync(built)) return built;
  const prebuilds = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return join(prebuilds, readdirSync(prebuilds).find((f) => f.endsWith('.node'))!);
}

test('rings, maps and shared rings: the native side refuses every bad direct call', () => {
  const t = tempDir('ranged-mmap-vmap-native-');
  try {
    const child = fileURLToPath(new URL('./fixtures/vmap-native-direct-child.js', import.meta.url));
    const out = execFileSync(process.execPath, [child, addonPath(), t.dir], { encoding: 'utf8', timeout: 120_000 });
    const report = JSON.parse(out.trim().split('\n').at(-1)!) as VmapNativeReport;
    assert.deepEqual(report.uncovered, [], 'vmap native functions with no row in vmap-native-direct-child.ts');
    const broken = Object.entries(report.controls).filter(([, o]) => !o.startsWith('accepted'));
    assert.deepEqual(broken, [], 'genuine calls that failed');
    const accepted = Object.entries(report.bad).filter(([, o]) => !o.startsWith('refused'));
    assert.ok(Object.keys(report.bad).length > 250, `only ${Object.keys(report.bad).length} bad calls were made`);
    if (accepted.length > 0) assert.fail(`${accepted.length} bad native calls were accepted:\n${accepted.map(([c, o]) => `${c} -> ${o}`).join('\n')}`);
    assert.equal(report.staleCloseKeptCurrent, true, 'closing a buffer replaced by a conversion unmapped the current one');
    assert.equal(report.fileUnchanged, true, 'a refused call changed the file');
  } finally {
    t.cleanup();
  }
});
