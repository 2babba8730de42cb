// The documentation stands alone: every link in the Markdown files resolves
// to a file (and heading) inside the repository, none points outside it, and
// docs/api/ is what `npm run docs:api` makes from the current JSDoc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
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
