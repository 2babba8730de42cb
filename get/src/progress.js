// Progress reports for onProgress: at most 10 a second, with the speed over
// the last two seconds.

/**
 * Starts progress reports at most 10 times a second; returns the function
 * that stops them (after one last report).
 * @param {import('./download.js').Ctx} ctx
 * @param {() => { bytes: number, total: number | null, connections: number }} read
 * @returns {() => void}
 */
export function progressTicker(ctx, read) {
  const { onProgress } = ctx.o;
  if (onProgress === undefined) return () => {};
  /** @type {{ t: number, bytes: number }[]} */
  const samples = [];
  let last = Number.NEGATIVE_INFINITY;
  const tick = () => {
    const now = performance.now();
    // At most 10 a second, also counting the last report when it stops.
    if (now - last < 100) return;
    last = now;
    const r = read();
    samples.push({ t: now, bytes: r.bytes });
    while (samples.length > 2 && now - samples[0].t > 2000) samples.shift();
    const first = samples[0];
    const dt = (now - first.t) / 1000;
    const bytesPerSecond = dt > 0 ? (r.bytes - first.bytes) / dt : 0;
    onProgress({ ...r, bytesPerSecond, seconds: (now - ctx.started) / 1000 });
  };
  const timer = setInterval(tick, 100);
  timer.unref();
  tick();
  return () => {
    clearInterval(timer);
    tick();
  };
}
