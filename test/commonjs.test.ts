// The package is compiled once, as CommonJS (dist/cjs/), and every ES module
// in dist/ only re-exports its CommonJS twin (scripts/build-ts.mjs). These
// checks hold for the repository's own build; test/package-install.test.ts
// checks the packed package from require, import, TypeScript and workers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as viaImport from '../dist/index.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const require = createRequire(import.meta.url);

test('every ES module in dist/ exports exactly the names of its CommonJS twin, as the same objects', async () => {
  const cjsDir = join(root, 'dist', 'cjs');
  const files = readdirSync(cjsDir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.js'));
  assert.ok(files.length > 20, `only ${files.length} compiled modules`);
  for (const rel of files) {
    const cjs = require(join(cjsDir, rel)) as Record<string, unknown>;
    const esm = (await import(pathToFileURL(join(root, 'dist', rel)).href)) as Record<string, unknown>;
    const cjsNames = Object.keys(cjs)
      .filter((k) => k !== '__esModule')
      .sort();
    assert.deepEqual(Object.keys(esm).sort(), cjsNames, `dist/${rel}`);
    for (const name of cjsNames) assert.equal(esm[name], cjs[name], `dist/${rel}: ${name}`);
  }
  const main = require(join(cjsDir, 'index.js')) as Record<string, unknown>;
  assert.equal(viaImport.MmapError, main.MmapError);
  assert.equal(viaImport.MmapFile, main.MmapFile);
});

test('an import() that fails while the CommonJS build loads rejects, and a catch keeps the process alive', { timeout: 30_000 }, () => {
  // With `export * from` a throwing CommonJS module crashes Node 20 even
  // when the import() is caught; the wrappers require() it instead.
  const entry = pathToFileURL(join(root, 'dist', 'index.js')).href;
  const source = `try { await import(${JSON.stringify(entry)}); console.log('loaded'); } catch (e) { console.log(e.code); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', source], {
    encoding: 'utf8',
    env: { ...process.env, RANGED_MMAP_NATIVE_BINDING: join(root, 'no-such-binary.node') },
  });
  assert.equal(r.stdout.trim(), 'ERR_MMAP_NATIVE_LOAD_FAILED', r.stderr);
  assert.equal(r.status, 0, `the process died after the caught rejection:\n${r.stderr}`);
});
