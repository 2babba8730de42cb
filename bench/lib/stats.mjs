// Summaries of repeated measurements. Ratios pair repetition i of the
// subject with repetition i of the peer (they ran in the same round), so a
// slow moment of the machine hits both sides of one ratio.

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * How many repetitions were more than 1.5x slower than the fastest of the
 * same contender in the same run: for times, value > 1.5 x min; for rates,
 * value < max / 1.5. A bimodal run (BENCH.md: the host's page reporting)
 * shows up here even when the median hides it.
 */
export function slowCount(values, higherIsBetter = false) {
  if (values.length === 0) return 0;
  if (higherIsBetter) {
    const best = Math.max(...values);
    return values.filter((v) => v * 1.5 < best).length;
  }
  const best = Math.min(...values);
  return values.filter((v) => v > 1.5 * best).length;
}

export function summary(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/**
 * Summary plus unit, raw values and the 1.5x-slow count, as kept in result
 * entries; `reportedKiB` (when given) is, per repetition, what the kernel
 * reported to the host while that repetition ran.
 */
export function measured(values, unit, higherIsBetter = false, reportedKiB = undefined) {
  return { ...summary(values), unit, values, slow: slowCount(values, higherIsBetter), reportedKiB };
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
 * `order` (from alternate()) is each timed round's run order, reduced to
 * this entry's two contenders.
 */
export function comparison({ scenario, variant, workers, subject, peer, times, verified, order, reported, unit, higherIsBetter = false }) {
  return {
    scenario,
    variant,
    workers,
    peer,
    speedup: speedups(times[subject], times[peer], higherIsBetter),
    subject: measured(times[subject], unit, higherIsBetter, reported?.[subject]),
    peerValue: measured(times[peer], unit, higherIsBetter, reported?.[peer]),
    verified: verified[subject] && verified[peer],
    order: order
      ? order.map((round) =>
          round
            .filter((name) => name === subject || name === peer)
            .map((name) => (name === subject ? 'subject' : 'peer'))
            .join('>'),
        )
      : undefined,
  };
}
