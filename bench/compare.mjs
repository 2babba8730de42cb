// node bench/compare.mjs A.json B.json
// Speedup medians of two results files side by side (alloc, which has no
// peer, by its rate), matched by scenario / variant / workers / peer, with
// each side's min-max so a change can be told from noise: if the two
// spans overlap, this pair of runs does not show a difference.
import { readFileSync } from 'node:fs';

const files = process.argv.slice(2);
if (files.length !== 2) {
  console.error('usage: node bench/compare.mjs A.json B.json');
  process.exit(2);
}
const [a, b] = files.map((f) => {
  const report = JSON.parse(readFileSync(f, 'utf8'));
  return Array.isArray(report) ? report : report.results;
});

const key = (r) => `${r.scenario} ${r.variant} W=${r.workers} vs ${r.peer ?? '-'}`;
const span = (r) => (r.speedup ? r.speedup : { median: r.subject.median, min: r.subject.min, max: r.subject.max });
const fmt = (v) => (v >= 1e5 ? v.toExponential(2) : v >= 100 ? v.toFixed(0) : v.toFixed(2));
const cell = (r) => (r ? `${fmt(span(r).median)} (${fmt(span(r).min)}-${fmt(span(r).max)})` : '-');

const bByKey = new Map(b.map((r) => [key(r), r]));
const keys = [...a.map(key), ...b.map(key).filter((k) => !a.some((r) => key(r) === k))];
const aByKey = new Map(a.map((r) => [key(r), r]));
const rows = [['comparison', 'A median (min-max)', 'B median (min-max)', 'B/A', 'spans']];
for (const k of keys) {
  const ra = aByKey.get(k);
  const rb = bByKey.get(k);
  let ratio = '-';
  let spans = '-';
  if (ra && rb) {
    const sa = span(ra);
    const sb = span(rb);
    ratio = (sb.median / sa.median).toFixed(2);
    spans = sb.min > sa.max ? 'B higher' : sb.max < sa.min ? 'B lower' : 'overlap';
  }
  rows.push([k + (ra?.speedup || rb?.speedup ? '' : ' (rate)'), cell(ra), cell(rb), ratio, spans]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
for (const [n, row] of rows.entries()) {
  console.log(row.map((c, i) => c.padEnd(widths[i])).join('  '));
  if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
