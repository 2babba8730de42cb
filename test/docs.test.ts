// The documentation stands alone: every link in the Markdown files resolves
// to a file (and heading) inside the repository, none points outside it, and
// docs/api/ is what `npm run docs:api` makes from the current JSDoc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Every .md file under `dir` (recursively). */
function markdownUnder(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(root, dir, f));
}

const documents = [...['README.md', 'CHANGELOG.md', 'bench/README.md'].map((f) => join(root, f)), ...markdownUnder('docs')];

/** Link targets of a Markdown text: inline links and images, outside code. */
function linksOf(text: string): string[] {
  const prose = text.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]!);
}

/** GitHub's anchor for a heading. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** Anchors of a Markdown file's headings. */
function anchorsOf(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  for (const m of text.matchAll(/^#{1,6}\s+(.+?)\s*#*$/gm)) {
    const base = slug(m[1]!.replace(/`/g, ''));
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

test('the documents to check are there', () => {
  for (const f of ['README.md', 'CHANGELOG.md', 'docs/threads.md', 'docs/troubleshooting.md', 'docs/DESIGN.md', 'docs/api/README.md']) {
    assert.ok(existsSync(join(root, f)), `${f} is missing`);
  }
  assert.ok(documents.length > 20, `only ${documents.length} documents`);
});

test('every link in the docs resolves inside the repository, headings included', () => {
  const broken: string[] = [];
  for (const doc of documents) {
    const where = relative(root, doc);
    const text = readFileSync(doc, 'utf8');
    for (const link of linksOf(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) {
        broken.push(`${where}: ${link} points outside the repository`);
        continue;
      }
      const [path, anchor] = link.split('#', 2) as [string, string | undefined];
      const target = path === '' ? doc : resolve(dirname(doc), decodeURIComponent(path));
      if (target !== root.replace(/[\\/]$/, '') && !target.startsWith(root)) {
        broken.push(`${where}: ${link} leaves the repository`);
        continue;
      }
      if (!existsSync(target)) {
        broken.push(`${where}: ${link} does not exist`);
        continue;
      }
      if (anchor && target.endsWith('.md') && statSync(target).isFile() && !anchorsOf(target).has(anchor.toLowerCase())) {
        broken.push(`${where}: ${link} names no heading of ${relative(root, target)}`);
      }
    }
    // Bare addresses are links too, once rendered.
    for (const m of text.replace(/```[\s\S]*?```/g, '').matchAll(/\bhttps?:\/\/\S+/g)) broken.push(`${where}: ${m[0]} points outside the repository`);
  }
  assert.deepEqual(broken, []);
});

test('docs/api is what `npm run docs:api` makes from the current sources', { timeout: 120_000 }, () => {
  const t = tempDir('ranged-mmap-docs-');
  try {
    const typedoc = join(root, 'node_modules', 'typedoc', 'bin', 'typedoc');
    const r = spawnSync(process.execPath, [typedoc, '--out', t.dir, '--logLevel', 'Warn'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `typedoc failed:\n${r.stdout}\n${r.stderr}`);
    const list = (dir: string) =>
      readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => statSync(join(dir, f)).isFile())
        .map((f) => f.split(sep).join('/'))
        .sort();
    const committed = list(join(root, 'docs', 'api'));
    const fresh = list(t.dir);
    assert.deepEqual(committed, fresh, 'docs/api has other files than typedoc makes now: run `npm run docs:api` and commit docs/api');
    const stale = fresh.filter((f) => readFileSync(join(t.dir, f), 'utf8') !== readFileSync(join(root, 'docs', 'api', f), 'utf8'));
    assert.deepEqual(stale, [], 'docs/api is out of date with the JSDoc: run `npm run docs:api` and commit docs/api');
  } finally {
    t.cleanup();
  }
});

/** The fenced blocks of a Markdown text in language `lang`. */
function codeBlocks(text: string, lang: string): string[] {
  return [...text.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);
}

test('docs/which-api.md: one section, with a runnable example, for each of the four APIs, and the table of guarantees', { timeout: 120_000 }, () => {
  const page = join(root, 'docs', 'which-api.md');
  const text = readFileSync(page, 'utf8');
  const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(headings, ['MmapFile', 'RawMmapFile', 'MemoryMappedFile', 'MemoryMap and MemoryMapMut', 'What each one guarantees']);
  const table = text.slice(text.indexOf('## What each one guarantees'));
  assert.match(table.split('\n').find((l) => l.startsWith('|'))!, /`MmapFile`.*`RawMmapFile`.*`MemoryMappedFile`.*`MemoryMap`/);
  const examples = codeBlocks(text, 'js');
  assert.equal(examples.length, 4);
  // Each example runs as it is, as a user would run it: an .mjs file that
  // imports 'ranged-mmap' (resolved to this package by its own name), in an
  // empty directory where it makes its files.
  const t = tempDir('ranged-mmap-which-api-');
  const scratch = join(root, '.test-dist', 'doc-examples');
  mkdirSync(scratch, { recursive: true });
  try {
    const outputs = examples.map((code, i) => {
      const file = join(scratch, `which-api-${i}.mjs`);
      writeFileSync(file, code);
      const r = spawnSync(process.execPath, [file], { cwd: t.dir, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `example ${i + 1} of docs/which-api.md failed:\n${code}\n${r.stderr}`);
      return r.stdout;
    });
    assert.match(outputs[0]!, /wrote 1048576 bytes/);
    assert.equal(outputs[1], 'hello\n');
    assert.equal(outputs[2], 'v1 5n 8192\n');
    assert.equal(readFileSync(join(t.dir, 'window.txt'), 'utf8'), 'this is a TEST');
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    t.cleanup();
  }
});

test('every file the README links to is in the package ("files" of package.json)', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { files: string[]; keywords?: unknown };
  const shipped = (path: string) => ['package.json', 'README.md'].includes(path) || pkg.files.some((f) => (f.endsWith('/') ? path.startsWith(f) : path === f));
  const missing = linksOf(readFileSync(join(root, 'README.md'), 'utf8'))
    .map((l) => decodeURIComponent(l.split('#', 1)[0]!))
    .filter((l) => l !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(l))
    .filter((l) => !shipped(l.replace(/^\.\//, '')));
  assert.deepEqual(missing, [], 'README links to files the tarball would not carry: add them to "files"');
  assert.ok(Array.isArray(pkg.keywords) && pkg.keywords.length > 0, 'package.json has keywords');
});

test('the docs stand alone: no SPEC sections or issue numbers in README, CHANGELOG, docs/ or bench/README', () => {
  const found: string[] = [];
  for (const doc of documents) {
    const text = readFileSync(doc, 'utf8');
    for (const m of text.matchAll(/SPEC\s*(§|section\s*)?\d|\bissues?\s+#?\d|\bBENCH\.md|\bATTACKS\.md/gi)) found.push(`${relative(root, doc)}: ${m[0]}`);
  }
  assert.deepEqual(found, []);
});

test('README says where `using` works, and shows the newer forms (follow, createReadStream, maps that own their descriptor)', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.match(readme, /plain JavaScript on Node 20 and 22 rejects it as a SyntaxError/);
  assert.match(readme, /\{ follow: true/);
  assert.match(readme, /createReadStream\(\{ start, end, highWaterMark, signal \}\)/);
  assert.match(readme, /owns its descriptor/);
});

test('README and docs/vmap.md show the SharedRing forms (typed ends, messages, recovery) and { signal }', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  assert.match(readme, /SharedRing\.producer\(/);
  assert.match(readme, /SharedRing\.consumer\(/);
  assert.match(readme, /writeMessage\(/);
  assert.match(readme, /readMessageAsync\(buf, \{ signal \}\)/);
  assert.match(readme, /\{ replace: true \}/);
  assert.match(readme, /### Cancellation: `\{ signal \}`/);
  assert.match(readme, /'ABORT_ERR'/);
  const vmap = readFileSync(join(root, 'docs', 'vmap.md'), 'utf8');
  for (const heading of ['### Typed ends', '### Messages', '### After a crash: recovery', '### Cancellation']) {
    assert.ok(vmap.includes(`\n${heading}\n`), `docs/vmap.md has a "${heading}" section`);
  }
  assert.match(vmap, /EEXIST/);
  const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
  assert.match(changelog, /SharedRing` typed ends/);
  assert.match(changelog, /\{ signal \}/);
});

test("README's Cancellation section covers MemoryMappedFile: its calls, waitAsync's example, and why creates take no signal", () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('### Cancellation: `{ signal }`');
  assert.ok(start >= 0, 'the section is there');
  const section = readme.slice(start, readme.indexOf('\n### ', start + 1));
  for (const name of ['waitAsync', 'readIntoAsync', 'updateRegionAsync', 'touchPagesAsync', 'lockAsync', 'resizeAsync', 'openRoAsync', 'createRwAsync']) {
    assert.ok(section.includes(`\`${name}\``), `the section names ${name}`);
  }
  assert.match(section, /m\.waitAsync\(0, 0, undefined, \{ signal: AbortSignal\.timeout\(1000\) \}\)/);
  assert.match(section, /take no\s+signal/);
});
