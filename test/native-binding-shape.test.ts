// The seam between TypeScript and C is written once on each side (the flat
// table in native/addon.c; NativeBinding + BINDING_EXPORTS in src/native) and
// checked at load: a binary that exports other names fails with those names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { MmapError } from 'ranged-mmap';
import { native } from '../dist/native/binding.js';
import { BINDING_EXPORTS, checkBinding } from '../dist/native/shape.js';
import { tempDir } from './helpers.js';

/** A plain copy of the loaded binding (its own properties), to break in one place. */
function copyOfReal(): Record<string, unknown> {
  return { ...(native as unknown as Record<string, unknown>) };
}

/** The binary the library loads here: RANGED_MMAP_NATIVE_BINDING (scripts/check-native.sh), else the source build, else the prebuild. */
function realBinary(): string {
  const override = process.env.RANGED_MMAP_NATIVE_BINDING;
  if (override) return override;
  const root = dirname(createRequire(import.meta.url).resolve('ranged-mmap/package.json'));
  const built = join(root, 'native', 'build', 'Release', 'ranged_mmap.node');
  if (existsSync(built)) return built;
  const dir = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  return join(dir, readdirSync(dir).find((name) => name.endsWith('.node'))!);
}

function refusal(loaded: unknown, file = '/x/fake.node'): MmapError {
  try {
    checkBinding(loaded, file);
  } catch (error) {
    assert.ok(error instanceof MmapError, `not an MmapError: ${String(error)}`);
    assert.equal(error.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
    assert.ok(error.message.includes(file), `the file is named: ${error.message}`);
    return error;
  }
  assert.fail('checkBinding accepted a binding that does not match');
}

test('the loaded native core exports exactly the names and kinds of BINDING_EXPORTS', { timeout: 30_000 }, () => {
  const real = native as unknown as Record<string, unknown>;
  assert.deepEqual(Object.keys(real).sort(), Object.keys(BINDING_EXPORTS).sort());
  for (const [name, kind] of Object.entries(BINDING_EXPORTS)) {
    const actual = real[name] === null ? 'null' : typeof real[name];
    assert.equal(actual, kind, name);
  }
  assert.equal(checkBinding(native, 'real'), native);
  const copy = copyOfReal();
  assert.equal(checkBinding(copy, 'copy'), copy);
});

test('a binding with a function missing is refused, naming the function', { timeout: 30_000 }, () => {
  const fake = copyOfReal();
  delete fake.srClose;
  delete fake.futexWaitCancel;
  const e = refusal(fake);
  assert.match(e.message, /missing .*srClose \(function\)/);
  assert.match(e.message, /futexWaitCancel \(function\)/);
  assert.doesNotMatch(e.message, /unexpected/);
});

test('a binding with an extra export is refused, naming it', { timeout: 30_000 }, () => {
  const fake = copyOfReal();
  fake.fooAsync = () => undefined;
  const e = refusal(fake);
  assert.match(e.message, /unexpected fooAsync/);
  assert.doesNotMatch(e.message, /missing/);
});

test('an export of the wrong kind, or a module that is not an object, is refused', { timeout: 30_000 }, () => {
  const fake = copyOfReal();
  fake.viewBytes = () => 1;
  fake.open = 3;
  const e = refusal(fake);
  assert.match(e.message, /viewBytes is a function, expected a number/);
  assert.match(e.message, /open is a number, expected a function/);
  assert.match(refusal(null).message, /exports null/);
  assert.match(refusal(() => undefined).message, /exports function/);
});

test('importing the library with a binary that lacks a function fails at load with its name', { timeout: 60_000 }, () => {
  const t = tempDir('ranged-mmap-shape-');
  try {
    // A CommonJS module the loader requires like a .node file: the real
    // binding minus one function.
    const fake = join(t.dir, 'fake-binding.cjs');
    writeFileSync(fake, `const real = require(${JSON.stringify(realBinary())});\n` + 'module.exports = { ...real };\ndelete module.exports.touchAsync;\n');
    const script = 'import("ranged-mmap").then(() => console.log("loaded"), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));';
    const r = spawnSync(process.execPath, ['-e', script], {
      env: { ...process.env, RANGED_MMAP_NATIVE_BINDING: fake },
      encoding: 'utf8',
      timeout: 50_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { code: string; message: string };
    assert.equal(out.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
    assert.ok(out.message.includes(fake), out.message);
    assert.match(out.message, /missing touchAsync \(function\)/);
  } finally {
    t.cleanup();
  }
});
