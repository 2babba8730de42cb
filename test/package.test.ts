// Installs everywhere: `npm pack` (which builds dist/ and the N-API
// prebuild), then install the tarball into a fresh project with no
// compiler on PATH and no install script run, and use it from ESM, from
// CommonJS (require of an ES module, Node 20.19+) and from a worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

test('npm pack, install the tarball with no compiler and no scripts, then use it', { timeout: 300_000 }, () => {
  const t = tempDir('ranged-mmap-pkg-');
  try {
    // 1. Pack. prepack builds dist/ and prebuilds/linux-x64/*.node; it runs
    //    on its own first because its compiler output would mix with the
    //    JSON that `npm pack --json` prints.
    execFileSync('npm', ['run', 'prepack'], { cwd: root, stdio: 'ignore' });
    const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', t.dir], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
    const files: string[] = packed[0].files.map((f: { path: string }) => f.path);
    assert.ok(files.some((f) => /^prebuilds\/linux-x64\/.+\.node$/.test(f)), `no prebuild in the tarball: ${files.join(', ')}`);
    assert.ok(files.includes('dist/index.js') && files.includes('dist/index.d.ts'));
    assert.ok(!files.some((f) => f.startsWith('build/') || f.startsWith('test/')), 'build output or tests packed');
    const tarball = join(t.dir, packed[0].filename);

    // 2. A PATH with node and npm only: no cc, gcc, make or python.
    const bin = join(t.dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    symlinkSync(join(process.execPath, '..', '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), join(bin, 'npm'));
    const env = { ...process.env, PATH: bin };
    for (const tool of ['cc', 'gcc', 'make', 'python3']) {
      assert.throws(() => execFileSync('sh', ['-c', `command -v ${tool}`], { env, stdio: 'ignore' }), `${tool} is still on PATH`);
    }

    // 3. A fresh project; install with scripts disabled, from the local cache.
    const app = join(t.dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    execFileSync(join(bin, 'npm'), ['install', '--ignore-scripts', '--offline', '--no-audit', '--no-fund', tarball], { cwd: app, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const installed = join(app, 'node_modules', 'ranged-mmap');
    assert.equal(existsSync(join(installed, 'build')), false, 'nothing was compiled at install');
    assert.ok(readdirSync(join(installed, 'prebuilds', 'linux-x64')).some((f) => f.endsWith('.node')));

    // 4. Use it: ESM with a worker, and CommonJS.
    writeFileSync(
      join(app, 'esm.mjs'),
      `import { MmapFile, ALIGNMENT } from 'ranged-mmap';
import { Worker } from 'node:worker_threads';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
const { file, allocator } = MmapFile.create('esm.bin', 2 * ALIGNMENT, { allocator: 'concurrent' });
file.writeRange(allocator.allocate(ALIGNMENT), Buffer.alloc(ALIGNMENT, 1));
const w = new Worker(\`const { MmapFile } = require('ranged-mmap');
const { workerData } = require('node:worker_threads');
const { file, allocator } = MmapFile.fromShared(workerData);
file.writeRange(allocator.allocate(4096), Buffer.alloc(4096, 2));
file.close();\`, { eval: true, workerData: file.share() });
await once(w, 'exit');
file.syncAll();
file.close();
const disk = readFileSync('esm.bin');
console.log(disk[0], disk[4096], disk.length);
`,
    );
    writeFileSync(
      join(app, 'cjs.cjs'),
      `const { RawMmapFile } = require('ranged-mmap');
const f = RawMmapFile.create('cjs.bin', 100);
f.writeAt(10, Buffer.from('hello'));
console.log(Buffer.from(f.readSlice(10, 5)).toString());
f.close();
`,
    );
    assert.equal(execFileSync(join(bin, 'node'), ['esm.mjs'], { cwd: app, env, encoding: 'utf8' }).trim(), '1 2 8192');
    assert.equal(execFileSync(join(bin, 'node'), ['cjs.cjs'], { cwd: app, env, encoding: 'utf8' }).trim(), 'hello');
  } finally {
    t.cleanup();
  }
});
