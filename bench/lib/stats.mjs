// Summaries of repeated measurements. Ratios pair repetition i of the
// subject with repetition i of the peer (they ran back to back), so a slow
// moment of the machine hits both sides of one ratio.

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summary(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Speedup of the subject over the peer, > 1 when the subject is faster.
 * For times: peer / subject. For rates (higher is better): subject / peer.
 */
export function speedups(subject, peer, higherIsBetter = false) {
  const n = Math.min(subject.length, peer.length);
  const out = [];
  for (let i = 0; i < n; i++) out.push(higherIsBetter ? subject[i] / peer[i] : peer[i] / subject[i]);
  return summary(out);
}

/**
 * One result entry (the shape bench/README.md documents). The raw
 * per-repetition values are kept so a later reader can recompute or
 * re-pair them; `verified` needs both sides to have produced right bytes.
 */
export function comparison({ scenario, variant, workers, subject, peer, times, verified, unit, higherIsBetter = false }) {
  return {
    scenario,
    variant,
    workers,
    peer,
    speedup: speedups(times[subject], times[peer], higherIsBetter),
    subject: { ...summary(times[subject]), unit, values: times[subject] },
    peerValue: { ...summary(times[peer]), unit, values: times[peer] },
    verified: verified[subject] && verified[peer],
  };
}
