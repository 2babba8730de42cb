// Builds the native core from source with node-gyp when native/build/Release
// has no binary or it is older than native/*.c, native/*.h, native/platform/*
// or native/binding.gyp (node-gyp runs in native/: the package root has no
// binding.gyp, so npm never infers an install script from it).
// `npm test`, `npm run demo` and `npm run bench` run this, so a clone needs
// only `npm install` (or `npm ci`) and then `npm test`. The published package
// never runs it: users load the prebuild shipped in prebuilds/linux-<arch>/.
//
// node-gyp comes with npm: inside an npm script npm names it in
// npm_config_node_gyp and puts it on PATH. `npm run build:native` is the
// explicit, unconditional build.
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..');
const dir = join(root, 'native');
const gypFile = join(dir, 'binding.gyp');
const binary = join(dir, 'build', 'Release', 'ranged_mmap.node');
const sources = [
  gypFile,
  ...readdirSync(join(root, 'native'))
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .map((f) => join(root, 'native', f)),
  ...readdirSync(join(root, 'native', 'platform'))
    .filter((f) => f.endsWith('.c') || f.endsWith('.h'))
    .map((f) => join(root, 'native', 'platform', f)),
];

const newest = Math.max(...sources.map((f) => statSync(f).mtimeMs));
const reason = !existsSync(binary) ? 'no native/build/Release/ranged_mmap.node' : statSync(binary).mtimeMs < newest ? 'native sources changed' : null;
if (reason === null) process.exit(0);

// An incremental `build` when node-gyp has configured this tree for the
// current binding.gyp; a full `rebuild` otherwise.
const configured = join(dir, 'build', 'config.gypi');
const verb = existsSync(configured) && statSync(configured).mtimeMs >= statSync(gypFile).mtimeMs ? 'build' : 'rebuild';
console.error(`ranged-mmap: building the native core (${reason}): node-gyp ${verb} -C native`);

const gyp = process.env.npm_config_node_gyp;
const [command, args] = gyp ? [process.execPath, [gyp, verb, '-C', dir]] : ['node-gyp', [verb, '-C', dir]];
const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
if (result.error) {
  console.error(`ranged-mmap: could not run node-gyp (${result.error.message}); run this through npm (npm test, npm run build:dev)`);
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status ?? 1);
if (!existsSync(binary)) {
  console.error(`ranged-mmap: node-gyp finished but ${binary} is missing`);
  process.exit(1);
}
// make leaves the binary alone when nothing it tracks changed (a touched
// binding.gyp, say); mark it current so the next run does not build again.
const now = new Date();
utimesSync(binary, now, now);
