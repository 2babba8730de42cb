// node bench/chart.mjs [results.json] [out.svg]
// Draws the speedup medians of a results file as horizontal bars with
// min-max whiskers and a line at 1.0 (no dependency: plain SVG text).
import { readFileSync, writeFileSync } from 'node:fs';

const [input = 'bench/results/reference.json', output = 'docs/bench.svg'] = process.argv.slice(2);
const report = JSON.parse(readFileSync(input, 'utf8'));
const rows = report.results.filter((r) => r.speedup);
const label = (r) => `${r.scenario} ${r.variant}${r.workers > 1 ? ` W=${r.workers}` : ''} vs ${r.peer}`;
const max = Math.max(2, ...rows.map((r) => r.speedup.max));
const left = 330, width = 420, rowH = 22, top = 40;
const x = (v) => left + (v / max) * width;
const height = top + rows.length * rowH + 40;
const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const parts = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 80}" height="${height}" font-family="sans-serif" font-size="12">`,
  `<rect width="100%" height="100%" fill="white"/>`,
  `<text x="10" y="20" font-size="14" font-weight="bold">ranged-mmap speedup over node:fs peers (median, min-max; &gt; 1 = faster)</text>`,
];
rows.forEach((r, i) => {
  const y = top + i * rowH;
  const win = r.speedup.min > 1;
  parts.push(`<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(label(r))}</text>`);
  parts.push(`<rect x="${left}" y="${y + 3}" width="${x(r.speedup.median) - left}" height="${rowH - 8}" fill="${win ? '#3a7d44' : '#c0812c'}"/>`);
  parts.push(`<line x1="${x(r.speedup.min)}" x2="${x(r.speedup.max)}" y1="${y + rowH / 2}" y2="${y + rowH / 2}" stroke="black"/>`);
  parts.push(`<text x="${x(r.speedup.max) + 6}" y="${y + 14}">${r.speedup.median.toFixed(2)}</text>`);
});
const axisY = top + rows.length * rowH + 5;
parts.push(`<line x1="${x(1)}" x2="${x(1)}" y1="${top - 5}" y2="${axisY}" stroke="#444" stroke-dasharray="4 3"/>`);
for (let v = 0; v <= max; v += 0.5) parts.push(`<text x="${x(v)}" y="${axisY + 15}" text-anchor="middle">${v}</text>`);
const m = report.machine ?? {};
parts.push(`<text x="10" y="${height - 8}" font-size="11">${esc(`${m.cpus} x ${m.model}, ${m.memoryGiB} GiB, Linux ${m.kernel}, Node ${m.node}, ${m.fs}; ${report.command}`)}</text>`);
parts.push('</svg>');
writeFileSync(output, parts.join('\n') + '\n');
console.log(`wrote ${output} (${rows.length} bars)`);
