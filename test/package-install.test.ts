// SPEC 5, "installs everywhere": the packed tarball carries a prebuilt
// Node-API binary and has no dependency, no install script and no
// `gypfile`, so installing it needs nothing from the npm cache, no compiler
// and no shell, and npm prints no install-scripts warning.
//
// `npm pack` runs in a staged copy of the sources (its prepack script builds
// dist/ and the prebuild there), so the repository's own dist/ and build/
// are left alone while other tests may be using them. The tarball is then
// installed, offline and with an empty npm cache, into fresh projects with a
// PATH that holds node and npm only, and used from ESM, from CommonJS and
// from a worker thread (the ways the README documents).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const t = tempDir('ranged-mmap-pkg-');
let tarball = '';
let packed: string[] = [];

/** The real file behind the first executable `name` on this process's PATH. */
function onPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return realpathSync(candidate);
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not on PATH`);
}

/** A bin directory holding only links to `tools` (name -> real path), and an environment whose PATH is just that. */
function restrictedEnv(name: string, tools: Record<string, string>): NodeJS.ProcessEnv {
  const bin = join(t.dir, name);
  mkdirSync(bin);
  for (const [tool, target] of Object.entries(tools)) symlinkSync(target, join(bin, tool));
  return { ...process.env, PATH: bin };
}

/** What `command -v tool` finds under `env`, or null. */
function lookup(env: NodeJS.ProcessEnv, tool: string): string | null {
  // An absolute shell: the restricted PATH may hold none.
  const r = spawnSync('/bin/sh', ['-c', `command -v ${tool}`], { env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** `npm install` of the tarball into `app` with an empty cache of its own, offline; returns npm's output. */
function npmInstall(app: string, env: NodeJS.ProcessEnv, flags: string[]): { status: number | null; output: string } {
  // A cache directory nobody has used: anything npm would need from the
  // registry is ENOTCACHED, so the install proves the tarball is self-contained.
  const cache = mkdtempSync(join(t.dir, 'empty-cache-'));
  const r = spawnSync('npm', ['install', '--offline', '--cache', cache, '--no-audit', '--no-fund', ...flags, tarball], { cwd: app, env, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout}\n${r.stderr}` };
}

/** A fresh project made by `npm init -y`, with the tarball installed by `npm install ...flags`. */
function freshProject(name: string, env: NodeJS.ProcessEnv, flags: string[] = []): { app: string; output: string } {
  const app = join(t.dir, name);
  mkdirSync(app);
  execFileSync('npm', ['init', '-y'], { cwd: app, env, stdio: 'pipe' });
  const r = npmInstall(app, env, flags);
  assert.equal(r.status, 0, `npm install ${flags.join(' ')} failed:\n${r.output}`);
  return { app, output: r.output };
}

/** Runs a script in `app` with node from the restricted PATH; returns its exit status and output. */
function runRaw(app: string, env: NodeJS.ProcessEnv, file: string, source: string): { status: number | null; stdout: string; stderr: string } {
  writeFileSync(join(app, file), source);
  return spawnSync('node', [file], { cwd: app, env, encoding: 'utf8' });
}

/** Runs a script in `app` with node from the restricted PATH and returns its stdout as JSON. */
function runScript(app: string, env: NodeJS.ProcessEnv, file: string, source: string): Record<string, unknown> {
  writeFileSync(join(app, file), source);
  const r = spawnSync('node', [file], { cwd: app, env, encoding: 'utf8' });
  assert.equal(r.status, 0, `${file} failed:\n${r.stdout}\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
}

/** Script lines (ESM and CJS alike) that report which native binaries the process has loaded. */
const LOADED_BINARIES = `
const natives = require('node:fs').readFileSync('/proc/self/maps', 'utf8').split('\\n')
  .map((line) => line.slice(line.indexOf('/'))).filter((p) => p.endsWith('.node'));
`;

/** Writes 2 pages through the API and reads the file back with node:fs: the same in every script. */
const USE_IT = `
const { file, allocator } = MmapFile.create('out.bin', 3 * ALIGNMENT);
const a = allocator.allocate(ALIGNMENT);
const b = allocator.allocate(ALIGNMENT);
file.writeRange(b, Buffer.alloc(ALIGNMENT, 0xbb));
file.writeRange(a, Buffer.alloc(ALIGNMENT, 0xaa));
file.syncAll();
file.close();
const raw = RawMmapFile.open('out.bin');
raw.writeAt(2 * ALIGNMENT + 10, Buffer.from('tail'));
const back = Buffer.from(raw.readSlice(0, raw.size));
raw.close();
const disk = require('node:fs').readFileSync('out.bin');
console.log(JSON.stringify({ size: disk.length, same: disk.equals(back), sha: require('node:crypto').createHash('sha256').update(disk).digest('hex'), natives: [...new Set(natives)] }));
`;

/** The file USE_IT leaves behind, built here without the library. */
function expectedSha(): string {
  const out = new Uint8Array(3 * 4096);
  out.fill(0xaa, 0, 4096);
  out.fill(0xbb, 4096, 8192);
  out.set(Buffer.from('tail'), 2 * 4096 + 10);
  return createHash('sha256').update(out).digest('hex');
}

function assertUsed(report: Record<string, unknown>, installed: string, what: string): void {
  assert.equal(report.size, 3 * 4096, what);
  assert.equal(report.same, true, `${what}: the mapping and node:fs disagree`);
  assert.equal(report.sha, expectedSha(), `${what}: file contents`);
  // The one native binary loaded is the prebuild shipped in the package.
  const natives = report.natives as string[];
  const prebuilds = realpathSync(join(installed, 'prebuilds', `linux-${process.arch}`));
  assert.equal(natives.length, 1, `${what}: loaded ${natives.join(', ')}`);
  assert.ok(natives[0]!.startsWith(prebuilds + '/'), `${what}: loaded ${natives[0]}, not the prebuild in ${prebuilds}`);
}

/** The project's TypeScript compiler run in `cwd`: strict, ES2022, Node's types, plus `args`. */
function tsc(cwd: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const bin = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--strict', '--target', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types')];
  return spawnSync(process.execPath, [bin, ...common, ...args], { cwd, encoding: 'utf8' });
}

/** The .d.ts files a user's compiler reads: dist/index.d.ts and every file it imports, transitively. */
function publicDeclarations(pkg: string): Map<string, string> {
  const seen = new Map<string, string>();
  const pending = [join(pkg, 'dist', 'index.d.ts')];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    const text = readFileSync(file, 'utf8');
    seen.set(file, text);
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)\.js'/g)) pending.push(join(dirname(file), `${m[1]}.d.ts`));
  }
  return seen;
}

/** The installed package of one app, shared by the tests below. */
let shared: { app: string; installed: string; env: NodeJS.ProcessEnv; output: string } | null = null;

before(() => {
  const stage = join(t.dir, 'stage');
  mkdirSync(stage);
  // The sources prepack builds from, and what `files` ships as is.
  const files = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[] }).files;
  // Top-level entries: `native/**/*.c` is copied as native/.
  const shipped = files.map((f) => f.split('/')[0]!).filter((f) => f !== 'dist' && f !== 'prebuilds');
  for (const entry of new Set(['package.json', 'tsconfig.json', 'src', 'scripts', ...shipped])) {
    // Not native/build/ (a contributor's node-gyp output): what `files` ships is checked below.
    cpSync(join(root, entry), join(stage, entry), { recursive: true, filter: (from) => !from.startsWith(join(root, 'native', 'build')) });
  }
  // The dev dependencies prepack needs (typescript, node-api-headers; zig comes from scripts/zig.mjs's cache).
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
  // Not --json: prepack's compiler output goes to the same stdout.
  execFileSync('npm', ['pack', '--pack-destination', t.dir], { cwd: stage, stdio: 'pipe' });
  const tgz = readdirSync(t.dir).filter((f) => f.endsWith('.tgz'));
  assert.equal(tgz.length, 1, `npm pack made ${tgz.join(', ')}`);
  tarball = join(t.dir, tgz[0]!);
  packed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');

  // One install that most tests use: no compiler, no shell, no cache, no
  // network, install scripts allowed (there must be none to run).
  const env = restrictedEnv('bin-plain', { node: process.execPath, npm: onPath('npm') });
  const { app, output } = freshProject('app-plain', env);
  shared = { app, installed: join(app, 'node_modules', 'ranged-mmap'), env, output };
});

after(() => t.cleanup());

function installedApp(): NonNullable<typeof shared> {
  assert.ok(shared !== null, 'the shared install did not happen');
  return shared;
}

test('the tarball holds dist/ (ESM wrappers and the CommonJS build), one linux-x64 and one linux-arm64 prebuild, native/binding.gyp and both licence texts; no root binding.gyp, build output, tests or source maps', () => {
  const prebuilds = packed.filter((f) => /^package\/prebuilds\/[^/]+\/[^/]+\.node$/.test(f));
  assert.deepEqual(
    prebuilds.map((f) => f.split('/')[2]),
    ['linux-arm64', 'linux-x64'],
    `prebuilds in the tarball: ${prebuilds.join(', ')}`,
  );
  // npm infers `node-gyp rebuild` as an install script from a root binding.gyp.
  assert.ok(!packed.includes('package/binding.gyp'), 'binding.gyp at the package root');
  for (const f of [
    'package/package.json',
    'package/native/binding.gyp',
    'package/dist/index.js',
    'package/dist/index.d.ts',
    'package/dist/cjs/index.js',
    'package/dist/cjs/index.d.ts',
    'package/dist/cjs/package.json',
    'package/LICENSE-MIT',
    'package/LICENSE-APACHE',
    'package/README.md',
  ]) {
    assert.ok(packed.includes(f), `${f} missing`);
  }
  assert.deepEqual(
    packed.filter((f) => /^package\/(build|native\/build|test|src|scripts|\.test-dist|node_modules)\//.test(f)),
    [],
  );
  // Maps would point at ../src/*.ts, which is not shipped.
  assert.deepEqual(
    packed.filter((f) => f.endsWith('.map')),
    [],
  );
});

test('every file a shipped Markdown page links to is in the tarball (README on the registry and in node_modules has no dead links)', () => {
  const dead: string[] = [];
  for (const page of packed.filter((f) => f.endsWith('.md'))) {
    const text = readFileSync(join(root, page.slice('package/'.length)), 'utf8')
      .replace(/```[\s\S]*?```/g, '')
      .replace(/`[^`\n]*`/g, '');
    for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>#]*)[^)]*\)/g)) {
      const link = decodeURIComponent(m[1]!);
      if (link === '' || /^[a-z][a-z0-9+.-]*:/i.test(link)) continue;
      const target = join(dirname(page), link);
      if (!packed.includes(target)) dead.push(`${page} -> ${link}`);
    }
  }
  assert.deepEqual(dead, []);
  for (const f of ['package/docs/which-api.md', 'package/examples/log-tailer.mjs']) assert.ok(packed.includes(f), `${f} missing`);
});

test('the packed binaries need at most GLIBC_2.28, only glibc libraries, and are built for their directory’s architecture', () => {
  const out = join(t.dir, 'unpacked');
  mkdirSync(out);
  execFileSync('tar', ['-xzf', tarball, '-C', out, 'package/prebuilds']);
  const r = spawnSync(process.execPath, [join(root, 'scripts', 'check-prebuilds.mjs'), join(out, 'package', 'prebuilds')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `scripts/check-prebuilds.mjs:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stdout, /ok .*linux-arm64\/.*AArch64, newest GLIBC_2\.2[0-8]\b/);
  assert.match(r.stdout, /ok .*linux-x64\/.*X86-64, newest GLIBC_2\.2[0-8]\b/);
});

test('package.json: no dependency, no install or prepare script, gypfile false, Linux on x64 and arm64 with glibc only', () => {
  const pkg = JSON.parse(readFileSync(join(installedApp().installed, 'package.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(pkg.dependencies, undefined);
  const scripts = (pkg.scripts ?? {}) as Record<string, string>;
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(scripts[hook], undefined, `${hook} script`);
  assert.equal(pkg.gypfile, false);
  assert.deepEqual(pkg.os, ['linux']);
  assert.deepEqual(pkg.cpu, ['x64', 'arm64']);
  assert.deepEqual(pkg.libc, ['glibc']);
  assert.equal(pkg.license, 'MIT OR Apache-2.0');
});

test('installed offline from an empty cache, with no compiler and no shell on PATH, npm runs nothing and warns about nothing', () => {
  const { env, installed, output } = installedApp();
  for (const tool of ['cc', 'gcc', 'g++', 'c++', 'make', 'python', 'python3', 'node-gyp', 'sh']) {
    assert.equal(lookup(env, tool), null, `${tool} is on the restricted PATH`);
  }
  assert.ok(lookup(env, 'node') !== null && lookup(env, 'npm') !== null);
  assert.doesNotMatch(output, /install-scripts/, `npm warned about install scripts:\n${output}`);
  assert.doesNotMatch(output, /npm warn|npm error/i, `npm said:\n${output}`);
  assert.equal(existsSync(join(installed, 'build')), false, 'no build/ dir: the prebuild is the only binary');
  const packages = readdirSync(join(installed, '..')).filter((name) => !name.startsWith('.'));
  assert.deepEqual(packages, ['ranged-mmap'], 'it installed something besides ranged-mmap');
  for (const f of ['LICENSE-MIT', 'LICENSE-APACHE']) assert.ok(readFileSync(join(installed, f), 'utf8').length > 900, `${f} is not a full licence text`);
});

test('a second npm install and an npm rebuild in the app print no install-script warning and build nothing', { timeout: 120_000 }, () => {
  const { env } = installedApp();
  const { app } = freshProject('app-twice', env);
  const installed = join(app, 'node_modules', 'ranged-mmap');
  for (const args of [['install'], ['install'], ['rebuild']]) {
    const cache = mkdtempSync(join(t.dir, 'empty-cache-'));
    const r = spawnSync('npm', [...args, '--offline', '--cache', cache, '--no-audit', '--no-fund'], { cwd: app, env, encoding: 'utf8' });
    const output = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `npm ${args.join(' ')} failed:\n${output}`);
    assert.doesNotMatch(output, /install-scripts|node-gyp/, `npm ${args.join(' ')} warned about install scripts:\n${output}`);
    assert.doesNotMatch(output, /npm warn|npm error/i, `npm ${args.join(' ')} said:\n${output}`);
    assert.equal(existsSync(join(installed, 'native', 'build')), false, `npm ${args.join(' ')} built the native core`);
  }
  const report = runScript(app, env, 'after.cjs', `const { MmapFile, RawMmapFile, ALIGNMENT } = require('ranged-mmap');\n${LOADED_BINARIES}${USE_IT}`);
  assertUsed(report, installed, 'after a second install and a rebuild');
});

test('the public types name no internals, carry no maps, and compile under --strict', () => {
  const { app, installed } = installedApp();
  const decls = publicDeclarations(installed);
  assert.ok(decls.size > 5, `only ${[...decls.keys()].join(', ')}`);
  for (const [file, text] of decls) {
    for (const internal of ['MappedViews', 'ThreadMapping', 'toBytes', 'protected views', 'attachShared', '@internal', 'sourceMappingURL']) {
      assert.ok(!text.includes(internal), `${file} mentions ${internal}`);
    }
  }
  for (const file of readdirSync(join(installed, 'dist'), { recursive: true, encoding: 'utf8' })) {
    if (file.endsWith('.js')) assert.ok(!readFileSync(join(installed, 'dist', file), 'utf8').includes('sourceMappingURL'), `${file} points at a map`);
  }
  // A user's strict project type-checks against the shipped .d.ts, with
  // skipLibCheck off so that the declarations themselves are checked too.
  writeFileSync(
    join(app, 'types.mts'),
    `import { MmapFile, RawMmapFile, MmapError, ALIGNMENT, type AllocatedRange } from 'ranged-mmap';
const { file, allocator } = MmapFile.create('typed.bin', 2 * ALIGNMENT);
const range: AllocatedRange | null = allocator.allocate(ALIGNMENT);
if (range !== null) file.flushRange(file.writeRange(range, new Uint8Array(range.length)));
const size: number = file.size;
file.close();
const raw = RawMmapFile.open('typed.bin');
raw.close();
export const report = (e: unknown): string | undefined => (e instanceof MmapError ? e.code : undefined) ?? String(size);
`,
  );
  const r = tsc(app, [
    '--noEmit',
    '--skipLibCheck',
    'false',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--lib',
    'es2023,esnext.disposable',
    'types.mts',
  ]);
  assert.equal(r.status, 0, `tsc on the installed types:\n${r.stdout}\n${r.stderr}`);
});

test('it works from ESM and from CommonJS', { timeout: 60_000 }, () => {
  const { app, installed, env } = installedApp();
  assert.equal(JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')).type, 'commonjs', 'npm init -y makes a CommonJS project');

  const esm = runScript(
    app,
    env,
    'esm.mjs',
    `import { MmapFile, RawMmapFile, ALIGNMENT } from 'ranged-mmap';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${LOADED_BINARIES}${USE_IT}`,
  );
  assertUsed(esm, installed, 'ESM import');

  // require() loads the CommonJS build, a real CommonJS file: every Node 20
  // (before 20.19 too, which cannot require() an ES module).
  const cjs = runScript(
    app,
    env,
    'require.cjs',
    `const { MmapFile, RawMmapFile, ALIGNMENT } = require('ranged-mmap');\nconst entry = require.resolve('ranged-mmap');\n${LOADED_BINARIES}${USE_IT.replace('console.log(JSON.stringify({', 'console.log(JSON.stringify({ entry,')}`,
  );
  assertUsed(cjs, installed, 'CommonJS require');
  assert.equal(cjs.entry, join(realpathSync(installed), 'dist', 'cjs', 'index.js'), 'require() resolves the CommonJS build');

  // Any Node 20: dynamic import() from CommonJS, the README's other form.
  const dyn = runScript(app, env, 'import.cjs', `import('ranged-mmap').then(({ MmapFile, RawMmapFile, ALIGNMENT }) => {\n${LOADED_BINARIES}${USE_IT}});`);
  assertUsed(dyn, installed, 'CommonJS import()');
});

test('require and import give one set of classes: the same MmapError, errors and share handles of one form work with the other', { timeout: 60_000 }, () => {
  const { app, env } = installedApp();
  const report = runScript(
    app,
    env,
    'both.cjs',
    `const viaRequire = require('ranged-mmap');
import('ranged-mmap').then((viaImport) => {
  const names = Object.keys(viaRequire).filter((k) => k !== '__esModule');
  const differ = names.filter((k) => viaImport[k] !== viaRequire[k]);
  let caught = null;
  try {
    viaImport.MmapFile.open('missing.bin');
  } catch (e) {
    caught = { isRequireClass: e instanceof viaRequire.MmapError, code: e.code };
  }
  const { file, allocator } = viaRequire.MmapFile.create('both.bin', 2 * viaRequire.ALIGNMENT, { allocator: 'concurrent' });
  const other = viaImport.MmapFile.fromShared(file.share());
  const range = other.allocator.allocate(viaImport.ALIGNMENT);
  other.file.writeRange(range, new Uint8Array(range.length).fill(9));
  other.file.close();
  const next = allocator.allocate(viaRequire.ALIGNMENT);
  file.syncAll();
  file.close();
  const disk = require('node:fs').readFileSync('both.bin');
  console.log(JSON.stringify({ names: names.length, differ, caught, first: range.start, second: next.start, byte: disk[range.start] }));
});
`,
  );
  assert.ok((report.names as number) > 20, `only ${report.names} exports`);
  assert.deepEqual(report.differ, [], 'exports that differ between require and import');
  assert.deepEqual(report.caught, { isRequireClass: true, code: 'ENOENT' });
  assert.equal(report.byte, 9);
  assert.notEqual(report.first, report.second, 'the allocator handed out through import and the one of require are one allocator');
});

test('a TypeScript project compiled as CommonJS (module node16) type-checks against the package and runs', { timeout: 60_000 }, () => {
  const { app, env } = installedApp();
  const project = join(app, 'ts-cjs');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), '{ "type": "commonjs" }\n');
  writeFileSync(
    join(project, 'main.ts'),
    `import { MmapFile, MmapError, ALIGNMENT } from 'ranged-mmap';
const { file, allocator } = MmapFile.create('ts.bin', ALIGNMENT);
const range = allocator.allocate(ALIGNMENT);
if (range !== null) file.writeRange(range, new Uint8Array(range.length).fill(3));
file.close();
let code: string | undefined;
try {
  MmapFile.open('nowhere.bin');
} catch (e) {
  code = e instanceof MmapError ? e.code : undefined;
}
console.log(JSON.stringify({ code, byte: require('node:fs').readFileSync('ts.bin')[7] }));
`,
  );
  // The declarations themselves are checked by the strict test above; this one is about CommonJS resolution.
  const compiled = tsc(project, ['--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', '--outDir', 'out', 'main.ts']);
  // TS1479 ("the current file is a CommonJS module ... cannot be imported with require") was what an ESM-only package gave.
  assert.equal(compiled.status, 0, `tsc:\n${compiled.stdout}\n${compiled.stderr}`);
  assert.match(readFileSync(join(project, 'out', 'main.js'), 'utf8'), /require\("ranged-mmap"\)/, 'tsc emitted CommonJS');
  const r = spawnSync('node', [join('out', 'main.js')], { cwd: project, env, encoding: 'utf8' });
  assert.equal(r.status, 0, `out/main.js:\n${r.stdout}\n${r.stderr}`);
  assert.deepEqual(JSON.parse(r.stdout), { code: 'ENOENT', byte: 3 });
});

test('it works from a worker thread: the worker loads the same prebuild and writes the shared file', { timeout: 60_000 }, () => {
  const { app, installed, env } = installedApp();
  writeFileSync(
    join(app, 'writer.mjs'),
    `import { MmapFile, ALIGNMENT } from 'ranged-mmap';
import { parentPort, workerData } from 'node:worker_threads';
const { file, allocator } = MmapFile.fromShared(workerData);
const range = allocator.allocate(ALIGNMENT);
file.writeRange(range, new Uint8Array(range.length).fill(0x77));
file.close();
parentPort.postMessage(range.start);
`,
  );
  // A second worker in CommonJS: require() in a worker loads the same build and binary.
  writeFileSync(
    join(app, 'writer.cjs'),
    `const { MmapFile, ALIGNMENT } = require('ranged-mmap');
const { parentPort, workerData } = require('node:worker_threads');
const { file, allocator } = MmapFile.fromShared(workerData);
const range = allocator.allocate(ALIGNMENT);
file.writeRange(range, new Uint8Array(range.length).fill(0x66));
file.close();
parentPort.postMessage(range.start);
`,
  );
  const report = runScript(
    app,
    env,
    'workers.mjs',
    `import { MmapFile, ALIGNMENT } from 'ranged-mmap';
import { Worker } from 'node:worker_threads';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
const { file, allocator } = MmapFile.create('shared.bin', 3 * ALIGNMENT, { allocator: 'concurrent' });
const mine = allocator.allocate(ALIGNMENT);
file.writeRange(mine, new Uint8Array(mine.length).fill(0x11));
const worker = new Worker(new URL('./writer.mjs', import.meta.url), { workerData: file.share() });
const [theirs] = await once(worker, 'message');
await once(worker, 'exit');
const cjsWorker = new Worker(new URL('./writer.cjs', import.meta.url), { workerData: file.share() });
const [cjs] = await once(cjsWorker, 'message');
await once(cjsWorker, 'exit');
file.syncAll();
file.close();
const disk = readFileSync('shared.bin');
const natives = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.slice(l.indexOf('/'))).filter((p) => p.endsWith('.node'));
console.log(JSON.stringify({ mine: mine.start, theirs, cjs, main: disk[mine.start], worker: disk[theirs], cjsWorker: disk[cjs], size: disk.length, natives: [...new Set(natives)] }));
`,
  );
  assert.equal(report.size, 3 * 4096);
  assert.deepEqual(new Set([report.mine, report.theirs, report.cjs]).size, 3, 'three distinct ranges');
  assert.equal(report.main, 0x11);
  assert.equal(report.worker, 0x77, 'the worker’s bytes are in the file');
  assert.equal(report.cjsWorker, 0x66, 'the CommonJS worker’s bytes are in the file');
  const natives = report.natives as string[];
  const dir = join(installed, 'prebuilds', `linux-${process.arch}`);
  assert.deepEqual(natives, [realpathSync(join(dir, readdirSync(dir)[0]!))]);
});

/** What importing the package in `app` throws, as { name, code, message }. */
function importError(app: string, env: NodeJS.ProcessEnv, preload = ''): { name: string; code: string; message: string } {
  const r = runRaw(
    app,
    env,
    'fails.mjs',
    `${preload}
try {
  await import('ranged-mmap');
  console.log(JSON.stringify({ loaded: true }));
} catch (e) {
  console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message }));
}
`,
  );
  assert.equal(r.status, 0, `fails.mjs crashed:\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { loaded?: boolean; name: string; code: string; message: string };
  assert.notEqual(out.loaded, true, 'the import succeeded');
  return out;
}

test('a bundled or moved binary is loaded from RANGED_MMAP_NATIVE_BINDING', { timeout: 60_000 }, () => {
  const { app, installed, env } = installedApp();
  const dir = join(installed, 'prebuilds', `linux-${process.arch}`);
  const vendor = join(app, 'vendor');
  mkdirSync(vendor);
  const moved = join(vendor, 'ranged_mmap.node');
  cpSync(join(dir, readdirSync(dir)[0]!), moved);
  const r = runRaw(
    app,
    { ...env, RANGED_MMAP_NATIVE_BINDING: moved },
    'moved.mjs',
    `import { MmapFile, ALIGNMENT } from 'ranged-mmap';
import { readFileSync } from 'node:fs';
const { file, allocator } = MmapFile.create('moved.bin', ALIGNMENT);
file.writeRange(allocator.allocate(ALIGNMENT), new Uint8Array(ALIGNMENT).fill(5));
file.close();
const natives = readFileSync('/proc/self/maps', 'utf8').split('\\n').map((l) => l.slice(l.indexOf('/'))).filter((p) => p.endsWith('.node'));
console.log(JSON.stringify({ natives: [...new Set(natives)], byte: readFileSync('moved.bin')[100] }));
`,
  );
  assert.equal(r.status, 0, `moved.mjs:\n${r.stdout}\n${r.stderr}`);
  const out = JSON.parse(r.stdout) as { natives: string[]; byte: number };
  assert.deepEqual(out.natives, [realpathSync(moved)]);
  assert.equal(out.byte, 5);
});

test('a missing binary is a clear ERR_MMAP_NATIVE_LOAD_FAILED that names the path and the remedy', { timeout: 60_000 }, () => {
  const { app, installed, env } = installedApp();
  // The variable names a file that is not there.
  const nowhere = join(app, 'no-such-dir', 'ranged_mmap.node');
  const viaEnv = importError(app, { ...env, RANGED_MMAP_NATIVE_BINDING: nowhere });
  assert.equal(viaEnv.name, 'MmapError');
  assert.equal(viaEnv.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
  assert.ok(viaEnv.message.includes(nowhere), viaEnv.message);
  assert.match(viaEnv.message, /RANGED_MMAP_NATIVE_BINDING/);
  assert.match(viaEnv.message, /no such file/i, 'what went wrong is in the message');

  // A copy of the installed package whose prebuild was removed (a bundler
  // that left the .node file behind does the same).
  const broken = join(t.dir, 'app-broken');
  mkdirSync(join(broken, 'node_modules'), { recursive: true });
  writeFileSync(join(broken, 'package.json'), '{"name":"app-broken","version":"1.0.0"}');
  cpSync(installed, join(broken, 'node_modules', 'ranged-mmap'), { recursive: true });
  rmSync(join(broken, 'node_modules', 'ranged-mmap', 'prebuilds'), { recursive: true });
  const missing = importError(broken, env);
  assert.equal(missing.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
  assert.ok(missing.message.includes(join(realpathSync(broken), 'node_modules', 'ranged-mmap', 'prebuilds', `linux-${process.arch}`)), missing.message);
  assert.match(missing.message, /Reinstall ranged-mmap/);
  assert.match(missing.message, /RANGED_MMAP_NATIVE_BINDING/);
  assert.doesNotMatch(missing.message, /npm run build:native/, 'a script users do not have');

  // A file that is there but is not a loadable binary: the loader's own error is kept.
  const junk = join(app, 'junk.node');
  writeFileSync(junk, 'not an ELF file');
  const bad = importError(app, { ...env, RANGED_MMAP_NATIVE_BINDING: junk });
  assert.equal(bad.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
  assert.ok(bad.message.includes(junk), bad.message);
  assert.match(bad.message, /invalid ELF header|too short/i, bad.message);
});

test('an unsupported platform is refused: by npm at install, and with ERR_MMAP_UNSUPPORTED_PLATFORM at import', { timeout: 60_000 }, () => {
  const { app, env } = installedApp();
  const other = join(t.dir, 'app-riscv64');
  mkdirSync(other);
  execFileSync('npm', ['init', '-y'], { cwd: other, env, stdio: 'pipe' });
  // npm checks `cpu` against its own process.arch (its --cpu flag only
  // steers optional dependencies), so npm runs here as if on riscv64.
  const riscv = join(t.dir, 'as-riscv64.cjs');
  writeFileSync(riscv, `Object.defineProperty(process, 'arch', { value: 'riscv64' });\n`);
  const r = npmInstall(other, { ...env, NODE_OPTIONS: `--require ${riscv}` }, []);
  assert.notEqual(r.status, 0, 'npm installed it for riscv64');
  assert.match(r.output, /EBADPLATFORM/);
  assert.match(r.output, /x64,arm64|x64, ?arm64/);

  // An install forced past that check (or a copied node_modules) fails at
  // import with a message, never a crash.
  const e = importError(app, env, `Object.defineProperty(process, 'arch', { value: 'riscv64' });`);
  assert.equal(e.code, 'ERR_MMAP_UNSUPPORTED_PLATFORM');
  assert.match(e.message, /Linux on x64 and arm64/);
  assert.match(e.message, /linux on riscv64/);
});

test('musl is refused by npm at install (libc field), and a prebuild that does not load there says why', { timeout: 60_000 }, () => {
  const { app, installed, env } = installedApp();
  const alpine = join(t.dir, 'app-musl');
  mkdirSync(alpine);
  execFileSync('npm', ['init', '-y'], { cwd: alpine, env, stdio: 'pipe' });
  // npm tells musl from glibc by what /usr/bin/ldd says; this npm reads a musl one.
  const musl = join(t.dir, 'as-musl.cjs');
  writeFileSync(
    musl,
    `const fs = require('node:fs');
const read = fs.readFileSync;
fs.readFileSync = function (file, ...rest) {
  return file === '/usr/bin/ldd' ? 'musl libc (x86_64)' : read.call(this, file, ...rest);
};
`,
  );
  const r = npmInstall(alpine, { ...env, NODE_OPTIONS: `--require ${musl}` }, []);
  assert.notEqual(r.status, 0, 'npm installed it on musl');
  assert.match(r.output, /EBADPLATFORM/);
  assert.match(r.output, /glibc/);

  // A copied node_modules on a musl system: the glibc binary fails to load
  // (here: an unloadable file in its place) and the error names the C library.
  const copy = join(t.dir, 'app-musl-copy');
  mkdirSync(join(copy, 'node_modules'), { recursive: true });
  writeFileSync(join(copy, 'package.json'), '{"name":"app-musl-copy","version":"1.0.0"}');
  cpSync(installed, join(copy, 'node_modules', 'ranged-mmap'), { recursive: true });
  const dir = join(copy, 'node_modules', 'ranged-mmap', 'prebuilds', `linux-${process.arch}`);
  for (const name of readdirSync(dir)) writeFileSync(join(dir, name), 'not an ELF file');
  const noGlibc = `const real = process.report.getReport.bind(process.report);
process.report.getReport = (...a) => { const r = real(...a); delete r.header.glibcVersionRuntime; return r; };`;
  const e = importError(copy, env, noGlibc);
  assert.equal(e.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
  assert.match(e.message, /no glibc \(musl/);
  // On this (glibc) system the same failure does not blame the C library.
  const plain = importError(copy, env);
  assert.equal(plain.code, 'ERR_MMAP_NATIVE_LOAD_FAILED');
  assert.doesNotMatch(plain.message, /likely cause/);
  void app;
});
