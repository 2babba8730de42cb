// The source tree keeps the shape docs/DESIGN.md describes: no import loop
// in src/ (type-only imports count: a loop of types is still a loop a
// reader has to untangle), and no source file far above 600 lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const MAX_LINES = 620;

function sources(): string[] {
  return readdirSync(src, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => join(src, f));
}

/** Files under src/ that `file` imports or re-exports from (relative specifiers only). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'";]*?from\s+'(\.[^']+)'/gm)) {
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  }
  for (const m of text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)) {
    out.push(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts')));
  }
  return out;
}

/** One import loop in the graph, as a list of files, or null. */
function findLoop(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | null => {
    state.set(n, 'open');
    stack.push(n);
    for (const next of graph.get(n) ?? []) {
      const s = state.get(next);
      if (s === 'open') return [...stack.slice(stack.indexOf(next)), next];
      if (s === undefined && graph.has(next)) {
        const loop = visit(next);
        if (loop !== null) return loop;
      }
    }
    stack.pop();
    state.set(n, 'done');
    return null;
  };
  for (const n of graph.keys()) {
    if (state.has(n)) continue;
    const loop = visit(n);
    if (loop !== null) return loop;
  }
  return null;
}

test('layout: the loop finder finds a loop (a check that cannot fail is no check)', () => {
  const g = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', []],
  ]);
  assert.deepEqual(findLoop(g), ['a', 'b', 'c', 'a']);
  assert.equal(
    findLoop(
      new Map([
        ['a', ['b']],
        ['b', []],
      ]),
    ),
    null,
  );
});

test('layout: no import loop in src/, type-only imports included', () => {
  const files = sources();
  assert.ok(files.length > 40, `expected the whole src/ tree, found ${files.length} files`);
  const graph = new Map(files.map((f) => [f, importsOf(f)]));
  const edges = [...graph.values()].reduce((n, e) => n + e.length, 0);
  assert.ok(edges > files.length, `expected the import graph to have edges, found ${edges}`);
  const loop = findLoop(graph);
  assert.equal(loop, null, `import loop: ${loop?.map((f) => relative(root, f)).join(' -> ')}`);
});

test(`layout: no file in src/ above ${MAX_LINES} lines`, () => {
  const long = sources()
    .map((f) => ({ f: relative(root, f), n: readFileSync(f, 'utf8').split('\n').length }))
    .filter((x) => x.n > MAX_LINES);
  assert.deepEqual(long, []);
});
