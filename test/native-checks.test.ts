// The native core does not trust its TypeScript caller: every key, token,
// offset, length and buffer is checked again on the C side. A child process
// calls the addon directly with bad values; each call must be refused, the
// child must exit normally, and the file must be unchanged.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fixture, killChildren, only, runChild } from './fault-helpers.js';
import { pattern, tempDir } from './helpers.js';
import { FILE_SIZE } from './fixtures/native-layout.js';
import type { NativeReport } from './fixtures/native-direct-child.js';

afterEach(killChildren);

/** The addon the library loads, by the loader's rule: RANGED_MMAP_NATIVE_BINDING if set (scripts/check-native.sh), else a source build, else the prebuild. */
function addonPath(): string {
  const override = process.env.RANGED_MMAP_NATIVE_BINDING;
  if (override) return override;
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('ranged-mmap/package.json'));
  const built = join(root, 'native', 'build', 'Release', 'ranged_mmap.node');
  if (existsSync(built)) return built;
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return join(dir, readdirSync(dir).find((name) => name.endsWith('.node'))!);
}

test('the native core refuses bad keys, tokens, offsets, lengths, buffers and spans past the end when called directly', { timeout: 120_000 }, async () => {
  const t = tempDir('ranged-mmap-native-');
  try {
    const result = await runChild(process.execPath, [fixture('native-direct-child.js'), addonPath(), t.dir]);
    const story = `exit code ${result.code}, signal ${result.signal}\nstderr: ${result.stderr}`;
    assert.equal(result.signal, null, `the child was killed: ${story}`);
    assert.equal(result.code, 0, `the child failed: ${story}`);
    const report = only(result, 'report') as unknown as NativeReport;

    assert.deepEqual(report.uncovered, [], 'native functions with no row in the table of native-direct-child.ts');
    // The genuine calls work, so every refusal below is about the bad value.
    const brokenControls = Object.entries(report.controls).filter(([, outcome]) => !outcome.startsWith('accepted'));
    assert.deepEqual(brokenControls, [], 'genuine calls that failed: the table no longer matches the native signatures');
    const accepted = Object.entries(report.bad).filter(([, outcome]) => !outcome.startsWith('refused'));
    assert.ok(Object.keys(report.bad).length > 300, `only ${Object.keys(report.bad).length} bad calls were made`);
    if (accepted.length > 0) {
      assert.fail(`${accepted.length} bad native calls were accepted:\n${accepted.map(([call, outcome]) => `${call} -> ${outcome}`).join('\n')}`);
    }

    assert.equal(report.sizeAfter, FILE_SIZE);
    assert.equal(report.detachedViewLength, 0, "detachView's genuine call left the view attached");
    assert.equal(report.liveMappingsAfter, report.liveMappingsBefore - 1, 'mappings left behind (only the file itself was closed)');
    assert.equal(report.threadAttachmentsAfter, report.threadAttachmentsBefore - 1, 'attachments left behind');
    const disk = new Uint8Array(readFileSync(t.path('direct.bin')));
    assert.equal(disk.length, FILE_SIZE);
    assert.ok(Buffer.from(disk).equals(Buffer.from(pattern(FILE_SIZE, 11))), 'a refused native call changed the file');
  } finally {
    t.cleanup();
  }
});
