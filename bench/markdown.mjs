// node bench/markdown.mjs [results.json]
// Prints a results file as the Markdown table README "Performance" shows.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2] ?? 'bench/results/reference.json', 'utf8'));
const f = (x) => (x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const rate = (v) => (v.unit === 'allocs/s' ? `${(v.median / 1e6).toFixed(1)} M/s` : `${f(v.median)} ${v.unit}`);
console.log('| scenario | variant | W | peer | speedup median (min-max) | ranged-mmap | peer | verified |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of report.results) {
  const s = r.speedup ? `**${f(r.speedup.median)}** (${f(r.speedup.min)}-${f(r.speedup.max)})` : '-';
  console.log(
    `| ${r.scenario} | ${r.variant} | ${r.workers} | ${r.peer ?? '-'} | ${s} | ${rate(r.subject)} | ${r.peerValue ? rate(r.peerValue) : '-'} | ${r.verified ? 'yes' : 'NO'} |`,
  );
}
const m = report.machine;
console.log(
  `\n${m.cpus} x ${m.model}, ${m.memoryGiB} GiB RAM, Linux ${m.kernel}, Node ${m.node}, ${m.fs}; \`${report.command}\`, ${report.reps ?? 5} repetitions, ${report.seconds} s, ${report.date.slice(0, 10)}.`,
);
