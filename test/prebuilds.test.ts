// `npm run prebuild:all` (scripts/prebuild.mjs) cross-compiles the shipped
// binaries against glibc 2.28, and scripts/check-prebuilds.mjs reads their
// dynamic symbol tables. Here: a fresh build passes the check, and the check
// fails on each thing it exists to catch (a newer glibc symbol, a library that
// is not glibc, the wrong architecture).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
/** scripts/zig.mjs's compiler (installed into its cache on first use). */
const zig = spawnSync(process.execPath, [join(root, 'scripts', 'zig.mjs')], { encoding: 'utf8' }).stdout.trim();
const t = tempDir('ranged-mmap-prebuilds-');
after(() => t.cleanup());

function check(dir: string): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'check-prebuilds.mjs'), dir], { encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

/** Compiles `source` into DIR/linux-<arch>/<name>.node with zig for `target`. */
function compile(dir: string, arch: string, name: string, target: string, source: string, extra: string[] = []): string {
  const out = join(dir, `linux-${arch}`);
  mkdirSync(out, { recursive: true });
  const c = join(t.dir, `${name}.c`);
  writeFileSync(c, source);
  const file = join(out, `${name}.node`);
  const r = spawnSync(zig, ['cc', '-target', target, '-shared', '-fPIC', '-O2', c, ...extra, '-o', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, `zig cc ${target}:\n${r.stderr}`);
  return file;
}

const THREAD_USER = `#include <pthread.h>
static void *run(void *arg) { return arg; }
int start(void) { pthread_t t; return pthread_create(&t, 0, run, 0); }
`;

test('npm run prebuild:all builds one x64 and one arm64 binary that pass the symbol check', { timeout: 180_000 }, () => {
  const out = join(t.dir, 'fresh');
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'prebuild.mjs'), '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/prebuild.mjs:\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(readdirSync(out).sort(), ['linux-arm64', 'linux-x64']);
  for (const arch of ['arm64', 'x64']) assert.deepEqual(readdirSync(join(out, `linux-${arch}`)), ['ranged-mmap.napi.glibc.node']);
  const c = check(out);
  assert.equal(c.status, 0, c.output);
  assert.match(c.output, /ok .*linux-arm64\/ranged-mmap\.napi\.glibc\.node: AArch64, newest GLIBC_2\.28/);
  assert.match(c.output, /ok .*linux-x64\/ranged-mmap\.napi\.glibc\.node: Advanced Micro Devices X86-64, newest GLIBC_2\.28/);
});

test('the check fails on a symbol newer than GLIBC_2.28 and passes the same code built for 2.28', { timeout: 120_000 }, () => {
  const newer = join(t.dir, 'newer');
  compile(newer, 'x64', 'threads', 'x86_64-linux-gnu.2.34', THREAD_USER);
  const bad = check(newer);
  assert.equal(bad.status, 1, bad.output);
  assert.match(bad.output, /pthread_create needs GLIBC_2\.34, newer than GLIBC_2\.28/);

  const floor = join(t.dir, 'floor');
  compile(floor, 'x64', 'threads', 'x86_64-linux-gnu.2.28', THREAD_USER);
  const good = check(floor);
  assert.equal(good.status, 0, good.output);
});

test('the check fails on a shared library that is not glibc and on a binary in the wrong architecture’s directory', { timeout: 120_000 }, () => {
  const libs = join(t.dir, 'libs');
  mkdirSync(libs);
  const dep = join(libs, 'libextra.so');
  writeFileSync(join(t.dir, 'extra.c'), 'int extra(void) { return 1; }\n');
  const r = spawnSync(zig, ['cc', '-target', 'x86_64-linux-gnu.2.28', '-shared', '-fPIC', join(t.dir, 'extra.c'), '-o', dep], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const needy = join(t.dir, 'needy');
  compile(needy, 'x64', 'needy', 'x86_64-linux-gnu.2.28', 'int extra(void);\nint call(void) { return extra(); }\n', ['-L', libs, '-lextra']);
  const lib = check(needy);
  assert.equal(lib.status, 1, lib.output);
  assert.match(lib.output, /needs \S*libextra\.so, which is not part of glibc/);

  const swapped = join(t.dir, 'swapped');
  const x64 = compile(join(t.dir, 'tmp'), 'x64', 'plain', 'x86_64-linux-gnu.2.28', 'int plain(void) { return 2; }\n');
  mkdirSync(join(swapped, 'linux-arm64'), { recursive: true });
  copyFileSync(x64, join(swapped, 'linux-arm64', 'plain.node'));
  const arch = check(swapped);
  assert.equal(arch.status, 1, arch.output);
  assert.match(arch.output, /built for Advanced Micro Devices X86-64, expected AArch64/);
});
