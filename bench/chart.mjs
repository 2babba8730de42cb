// node bench/chart.mjs [results.json] [out.svg]
// Draws the speedup medians of a results file as horizontal bars with
// min-max whiskers and a dashed line at 1.0 (no dependency: plain SVG
// text, so the README can embed it and git can diff it).
// Colours follow BENCH.md's reading rule: green when the whole min-max
// span is above 1 (a win), red when it is all below 1 (a loss), amber when
// the span crosses 1 (not settled by this run).
import { readFileSync, writeFileSync } from 'node:fs';

const [input = 'bench/results/reference.json', output = 'docs/bench.svg'] = process.argv.slice(2);
const report = JSON.parse(readFileSync(input, 'utf8'));
const rows = (Array.isArray(report) ? report : report.results).filter((r) => r.speedup);
if (rows.length === 0) {
  console.error(`${input} has no entries with a speedup`);
  process.exit(1);
}

// W only where the scenario varies it.
const label = (r) => `${r.scenario} ${r.variant}${['headline', 'random-4k'].includes(r.scenario) ? ` W=${r.workers}` : ''} vs ${r.peer}`;
const colour = (s) => (s.min > 1 ? '#3a7d44' : s.max < 1 ? '#b23b3b' : '#c0812c');

// An axis from 0 to a round number above the largest whisker, with 4 to 8 ticks.
const top = Math.max(1.5, ...rows.map((r) => r.speedup.max));
const step = [0.25, 0.5, 1, 2, 2.5, 5, 10, 20, 25, 50, 100].find((s) => top / s <= 8) ?? Math.ceil(top / 8);
const max = Math.ceil(top / step) * step;

const left = 330;
const width = 440;
const rowH = 22;
const head = 40;
const x = (v) => left + (v / max) * width;
const height = head + rows.length * rowH + 44;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fixed = (v) => (v >= 10 ? v.toFixed(1) : v.toFixed(2));

const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 90}" height="${height}" font-family="sans-serif" font-size="12">`,
  `<rect width="100%" height="100%" fill="white"/>`,
  `<text x="10" y="20" font-size="14" font-weight="bold">ranged-mmap speedup over its peers (median, whiskers min-max; &gt; 1 = ranged-mmap faster)</text>`,
];
rows.forEach((r, i) => {
  const y = head + i * rowH;
  const s = r.speedup;
  parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(label(r))}${r.verified === false ? ' (UNVERIFIED)' : ''}</text>`);
  parts.push(`<rect x="${left}" y="${y + 4}" width="${(x(s.median) - left).toFixed(1)}" height="${rowH - 8}" fill="${colour(s)}"/>`);
  parts.push(`<line x1="${x(s.min).toFixed(1)}" x2="${x(s.max).toFixed(1)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="black"/>`);
  for (const v of [s.min, s.max]) parts.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${y + 7}" y2="${y + rowH - 7}" stroke="black"/>`);
  parts.push(`<text x="${(x(s.max) + 6).toFixed(1)}" y="${y + 14}">${fixed(s.median)}</text>`);
});
const axisY = head + rows.length * rowH + 5;
parts.push(`<line x1="${left}" x2="${left + width}" y1="${axisY}" y2="${axisY}" stroke="#444"/>`);
for (let v = 0; v <= max + 1e-9; v += step) {
  parts.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${axisY}" y2="${axisY + 4}" stroke="#444"/>`);
  parts.push(`<text x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle">${Number(v.toFixed(2))}</text>`);
}
parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${head - 5}" y2="${axisY}" stroke="#444" stroke-dasharray="4 3"/>`);
const m = report.machine ?? {};
const footer = `${m.cpus ?? '?'} x ${m.model ?? '?'}, ${m.memoryGiB ?? '?'} GiB, Linux ${m.kernel ?? '?'}, Node ${m.node ?? '?'}, ${m.fs ?? '?'}; ${report.command ?? ''}${report.date ? `, ${report.date.slice(0, 10)}` : ''}`;
parts.push(`<text x="10" y="${height - 8}" font-size="11">${esc(footer)}</text>`);
parts.push('</svg>');
writeFileSync(output, parts.join('\n') + '\n');
console.log(`wrote ${output} (${rows.length} bars)`);
