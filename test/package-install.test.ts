// SPEC 5, "installs everywhere": the packed tarball carries a prebuilt
// Node-API binary, so installing it needs no compiler and no install script.
//
// `npm pack` runs in a staged copy of the sources (its prepack script builds
// dist/ and the prebuild there), so the repository's own dist/ and build/
// are left alone while other tests may be using them. The tarball is then
// installed into fresh projects with a PATH that holds node and npm only,
// and used from ESM and from CommonJS (both ways the README documents).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
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

/** A fresh project made by `npm init -y`, with the tarball installed by `npm install ...flags`. */
function freshProject(name: string, env: NodeJS.ProcessEnv, flags: string[]): string {
  const app = join(t.dir, name);
  mkdirSync(app);
  execFileSync('npm', ['init', '-y'], { cwd: app, env, stdio: 'pipe' });
  const r = spawnSync('npm', ['install', '--offline', '--no-audit', '--no-fund', ...flags, tarball], { cwd: app, env, encoding: 'utf8' });
  assert.equal(r.status, 0, `npm install ${flags.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return app;
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
  const prebuilds = realpathSync(join(installed, 'prebuilds', 'linux-x64'));
  assert.equal(natives.length, 1, `${what}: loaded ${natives.join(', ')}`);
  assert.ok(natives[0]!.startsWith(prebuilds + '/'), `${what}: loaded ${natives[0]}, not the prebuild in ${prebuilds}`);
}

before(() => {
  const stage = join(t.dir, 'stage');
  mkdirSync(stage);
  for (const entry of ['package.json', 'tsconfig.json', 'README.md', 'binding.gyp', 'src', 'native']) {
    cpSync(join(root, entry), join(stage, entry), { recursive: true });
  }
  // The dev dependencies prepack needs (typescript, prebuildify).
  symlinkSync(join(root, 'node_modules'), join(stage, 'node_modules'));
  // Not --json: prepack's compiler output goes to the same stdout.
  execFileSync('npm', ['pack', '--pack-destination', t.dir], { cwd: stage, stdio: 'pipe' });
  const tgz = readdirSync(t.dir).filter((f) => f.endsWith('.tgz'));
  assert.equal(tgz.length, 1, `npm pack made ${tgz.join(', ')}`);
  tarball = join(t.dir, tgz[0]!);
  packed = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).trim().split('\n');
});

after(() => t.cleanup());

test('the tarball holds dist/ and a linux-x64 prebuild, and no build output or tests', () => {
  const prebuilds = packed.filter((f) => /^package\/prebuilds\/linux-x64\/[^/]+\.node$/.test(f));
  assert.equal(prebuilds.length, 1, `prebuilds in the tarball: ${prebuilds.join(', ')}`);
  for (const f of ['package/package.json', 'package/dist/index.js', 'package/dist/index.d.ts']) assert.ok(packed.includes(f), `${f} missing`);
  assert.deepEqual(packed.filter((f) => /^package\/(build|test|\.test-dist|node_modules)\//.test(f)), []);
});

test('installed with --ignore-scripts and no compiler on PATH, it works from ESM and from CommonJS', { timeout: 120_000 }, () => {
  const env = restrictedEnv('bin-plain', { node: process.execPath, npm: onPath('npm') });
  for (const tool of ['cc', 'gcc', 'g++', 'c++', 'make', 'python', 'python3', 'node-gyp', 'sh']) {
    assert.equal(lookup(env, tool), null, `${tool} is on the restricted PATH`);
  }
  assert.ok(lookup(env, 'node') !== null && lookup(env, 'npm') !== null);

  const app = freshProject('app-plain', env, ['--ignore-scripts']);
  const installed = join(app, 'node_modules', 'ranged-mmap');
  assert.equal(existsSync(join(installed, 'build')), false, 'no build/ dir: the prebuild is the only binary');
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

  // Node 20.19+: require() of the ES module package, as the README says.
  const cjs = runScript(app, env, 'require.cjs', `const { MmapFile, RawMmapFile, ALIGNMENT } = require('ranged-mmap');\n${LOADED_BINARIES}${USE_IT}`);
  assertUsed(cjs, installed, 'CommonJS require');

  // Any Node 20: dynamic import() from CommonJS, the README's other form.
  const dyn = runScript(
    app,
    env,
    'import.cjs',
    `import('ranged-mmap').then(({ MmapFile, RawMmapFile, ALIGNMENT }) => {\n${LOADED_BINARIES}${USE_IT}});`,
  );
  assertUsed(dyn, installed, 'CommonJS import()');
});

test('installed with its install script allowed and still no compiler, the script finds the prebuild', { timeout: 120_000 }, () => {
  // npm needs a shell to run scripts; a shell is not a compiler.
  const env = restrictedEnv('bin-scripts', { node: process.execPath, npm: onPath('npm'), sh: '/bin/sh' });
  for (const tool of ['cc', 'gcc', 'make', 'python3']) assert.equal(lookup(env, tool), null, `${tool} is on the restricted PATH`);
  const app = freshProject('app-scripts', env, ['--foreground-scripts']);
  const installed = join(app, 'node_modules', 'ranged-mmap');
  // node-gyp-build compiles only when no prebuild fits; it could not have, and did not try.
  assert.equal(existsSync(join(installed, 'build')), false, 'the install script built from source');
  const report = runScript(
    app,
    env,
    'esm.mjs',
    `import { MmapFile, RawMmapFile, ALIGNMENT } from 'ranged-mmap';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
${LOADED_BINARIES}${USE_IT}`,
  );
  assertUsed(report, installed, 'ESM after a scripted install');
});
