// The host page-reporting counters of this kernel, recorded in the results'
// machine section (BENCH.md "Warm the machine"). Read whatever exists:
//  - /sys/module/page_reporting/parameters/*: the free page reporting
//    module's settings and counters (on this VM: reported_kib, passes,
//    walked, page_reporting_order, min_free_ms, max_waiting_mib, ...);
//  - /proc/vmstat lines about the balloon, reporting or free pages;
//  - whether a virtio balloon device offers VIRTIO_BALLOON_F_REPORTING
//    (feature bit 5).
//  - DAMON (kdamond) schemes, when the admin sysfs has any: on this VM a
//    `pageout` scheme reclaims page cache that is unmapped and idle for
//    about a minute, which is then freed and reported to the host. Read
//    only: stats are whatever the kernel last published.
// Sources that are absent are listed under `missing`, so a results file
// from another kernel says what could not be read.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

const MODULE = '/sys/module/page_reporting/parameters';
const VMSTAT = /^(nr_free_pages|nr_free_pages_blocks|nr_balloon_pages|balloon_\w+|\w*report\w*|\w*hint\w*)$/;

function parse(text) {
  const t = text.trim();
  return /^-?\d+$/.test(t) ? Number(t) : t;
}

/** A snapshot: { counters: { 'name': value }, sources: [...], missing: [...] }. */
export function pageReporting() {
  const counters = {};
  const sources = [];
  const missing = [];
  try {
    for (const name of readdirSync(MODULE).sort()) {
      try {
        counters[`page_reporting.${name}`] = parse(readFileSync(`${MODULE}/${name}`, 'utf8'));
      } catch {}
    }
    sources.push(MODULE);
  } catch {
    missing.push(MODULE);
  }
  try {
    let any = false;
    for (const line of readFileSync('/proc/vmstat', 'utf8').split('\n')) {
      const [name, value] = line.split(' ');
      if (name && VMSTAT.test(name)) {
        counters[`vmstat.${name}`] = Number(value);
        any = true;
      }
    }
    sources.push('/proc/vmstat');
    if (!any) missing.push('/proc/vmstat (no balloon/reporting lines)');
  } catch {
    missing.push('/proc/vmstat');
  }
  try {
    let balloon = false;
    for (const dev of readdirSync('/sys/bus/virtio/devices')) {
      const base = `/sys/bus/virtio/devices/${dev}`;
      let driver = '';
      try {
        driver = readlinkSync(`${base}/driver`);
      } catch {}
      if (!driver.endsWith('/virtio_balloon')) continue;
      balloon = true;
      const features = readFileSync(`${base}/features`, 'utf8').trim();
      counters['virtio_balloon.features'] = features;
      counters['virtio_balloon.free_page_reporting'] = features[5] === '1';
      sources.push(`${base}/features`);
    }
    if (!balloon) missing.push('virtio_balloon device');
  } catch {
    missing.push('/sys/bus/virtio/devices');
  }
  const damon = '/sys/kernel/mm/damon/admin/kdamonds';
  try {
    for (const k of readdirSync(damon).filter((d) => /^\d+$/.test(d))) {
      const kd = `${damon}/${k}`;
      counters[`damon.${k}.state`] = parse(readFileSync(`${kd}/state`, 'utf8'));
      for (const c of readdirSync(`${kd}/contexts`).filter((d) => /^\d+$/.test(d))) {
        const ctx = `${kd}/contexts/${c}`;
        counters[`damon.${k}.${c}.operations`] = parse(readFileSync(`${ctx}/operations`, 'utf8'));
        for (const sc of readdirSync(`${ctx}/schemes`).filter((d) => /^\d+$/.test(d))) {
          const base = `${ctx}/schemes/${sc}`;
          const key = `damon.${k}.${c}.scheme${sc}`;
          for (const f of [
            'action',
            'access_pattern/age/min',
            'access_pattern/nr_accesses/max',
            'quotas/bytes',
            'quotas/reset_interval_ms',
            'stats/nr_applied',
            'stats/sz_applied',
          ]) {
            try {
              counters[`${key}.${f.replaceAll('/', '.')}`] = parse(readFileSync(`${base}/${f}`, 'utf8'));
            } catch {}
          }
        }
      }
      sources.push(kd);
    }
  } catch {
    missing.push(damon);
  }
  return { counters, sources, missing };
}

/** Numeric differences end - start (counters that did not change are left out). */
export function counterDelta(start, end) {
  const out = {};
  for (const [k, v] of Object.entries(end.counters)) {
    const s = start.counters[k];
    if (typeof v === 'number' && typeof s === 'number' && v !== s) out[k] = v - s;
  }
  return out;
}

/** KiB reported to the host so far (page_reporting.reported_kib), or NaN where the counter does not exist. */
export function reportedKiB() {
  try {
    return Number(readFileSync(`${MODULE}/reported_kib`, 'utf8'));
  } catch {
    return NaN;
  }
}
