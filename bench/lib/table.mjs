// The results table printed at the end of a run.
const fmt = (x) => (x === null || x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));

const hostCount = (v) => (v.reportedKiB ? v.reportedKiB.filter((k) => k > 0).length : '-');

export function printTable(results) {
  const rows = [['scenario', 'variant', 'W', 'peer', 'speedup median (min-max)', 'ours', 'peer', 'slow', 'host', 'ok']];
  for (const r of results) {
    rows.push([
      r.scenario,
      r.variant,
      String(r.workers),
      r.peer ?? '-',
      r.speedup ? `${fmt(r.speedup.median)} (${fmt(r.speedup.min)}-${fmt(r.speedup.max)})` : '-',
      `${fmt(r.subject.median)} ${r.subject.unit}`,
      r.peerValue ? `${fmt(r.peerValue.median)} ${r.peerValue.unit}` : '-',
      // repetitions > 1.5x the contender's fastest in this run: ours/peer
      `${r.subject.slow ?? '-'}/${r.peerValue ? (r.peerValue.slow ?? '-') : '-'}`,
      // repetitions during which the kernel reported free pages to the host: ours/peer
      `${hostCount(r.subject)}/${r.peerValue ? hostCount(r.peerValue) : '-'}`,
      r.verified ? 'yes' : 'NO',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const [n, row] of rows.entries()) {
    console.log(row.map((cell, i) => cell.padEnd(widths[i])).join('  '));
    if (n === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
}
