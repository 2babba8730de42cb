// node bench/compare.mjs A.json B.json
// Speedup medians of two results files side by side, matched by
// scenario/variant/workers/peer.
import { readFileSync } from 'node:fs';

const [a, b] = process.argv.slice(2).map((f) => JSON.parse(readFileSync(f, 'utf8')));
if (!a || !b) {
  console.error('usage: node bench/compare.mjs A.json B.json');
  process.exit(2);
}
const key = (r) => `${r.scenario} ${r.variant} W=${r.workers} vs ${r.peer ?? '-'}`;
const value = (r) => (r.speedup ? r.speedup.median : r.subject.median);
const bMap = new Map(b.results.map((r) => [key(r), r]));
const rows = [['comparison', 'A', 'B', 'B/A']];
for (const r of a.results) {
  const other = bMap.get(key(r));
  const va = value(r);
  const vb = other ? value(other) : NaN;
  rows.push([key(r), va.toFixed(2), other ? vb.toFixed(2) : '-', other ? (vb / va).toFixed(2) : '-']);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const row of rows) console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
