// Small parsers shared by the API and the command line: sizes, headers,
// checksums, file names from Content-Disposition or the URL, Retry-After.
import { basename } from 'node:path';
import { getHashes } from 'node:crypto';
import { GetError } from './errors.js';

const UNITS = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * Parses a size such as `4M`, `512k`, `1g` or `65536` (binary units).
 * @param {string | number} text
 * @param {string} what  option name for the message
 * @returns {number}
 */
export function parseSize(text, what) {
  if (typeof text === 'number' && Number.isSafeInteger(text) && text > 0) return text;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(String(text));
  const unit = m === null ? undefined : UNITS[/** @type {keyof UNITS} */ (m[2].toLowerCase())];
  const n = m === null || unit === undefined ? Number.NaN : Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new GetError('ERR_GET_USAGE', `${what} must be a positive size such as 4M, 512k or 1048576 (got ${JSON.stringify(String(text))})`);
  }
  return n;
}

/**
 * Parses a positive (or zero when allowed) integer option.
 * @param {string | number} text
 * @param {string} what
 * @param {number} min
 * @param {number} max
 */
export function parseCount(text, what, min, max) {
  const n = typeof text === 'number' ? text : /^\s*\d+\s*$/.test(String(text)) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new GetError('ERR_GET_USAGE', `${what} must be an integer from ${min} to ${max} (got ${JSON.stringify(String(text))})`);
  }
  return n;
}

/**
 * Parses `Name: value` header lines into an object.
 * @param {string[]} lines
 * @returns {Record<string, string>}
 */
export function parseHeaders(lines) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const line of lines) {
    const i = line.indexOf(':');
    const name = i > 0 ? line.slice(0, i).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new GetError('ERR_GET_USAGE', `--header must look like 'Name: value' (got ${JSON.stringify(line)})`);
    }
    out[name] = line.slice(i + 1).trim();
  }
  return out;
}

const CHECKSUM_ALGORITHMS = ['sha256', 'sha1', 'sha512', 'md5'];

/**
 * Parses `sha256=HEX` (also sha1, sha512, md5).
 * @param {string} text
 * @returns {{ algorithm: string, hex: string }}
 */
export function parseChecksum(text) {
  const m = /^([a-z0-9-]+)[=:]([0-9a-f]+)$/i.exec(String(text).trim());
  const algorithm = m === null ? '' : m[1].toLowerCase();
  const lengths = { sha256: 64, sha1: 40, sha512: 128, md5: 32 };
  const want = lengths[/** @type {keyof typeof lengths} */ (algorithm)];
  if (m === null || want === undefined || !getHashes().includes(algorithm) || m[2].length !== want) {
    throw new GetError(
      'ERR_GET_USAGE',
      `--checksum must be ALGORITHM=HEX with ALGORITHM one of ${CHECKSUM_ALGORITHMS.join(', ')} and the digest's full hex (got ${JSON.stringify(String(text))})`,
    );
  }
  return { algorithm, hex: m[2].toLowerCase() };
}

/**
 * The file name a server suggests in Content-Disposition, or undefined.
 * @param {string | undefined} header
 * @returns {string | undefined}
 */
export function dispositionName(header) {
  if (typeof header !== 'string') return undefined;
  const star = /filename\*\s*=\s*([^']*)'[^']*'([^;]+)/i.exec(header);
  if (star !== null) {
    try {
      return decodeURIComponent(star[2].trim());
    } catch {
      // fall through to the plain form
    }
  }
  const plain = /filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]+))/i.exec(header);
  if (plain === null) return undefined;
  return plain[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain[2].trim();
}

/**
 * The last segment of a URL's path, decoded, or undefined.
 * @param {string} url
 */
export function urlName(url) {
  const path = new URL(url).pathname;
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/**
 * Checks a name that came from the server (or the URL): a plain file name in
 * the current directory, nothing that climbs out of it.
 * @param {string} name
 * @param {string} source  where it came from, for the message
 * @returns {string}
 */
export function safeName(name, source) {
  const bad = name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\\') || name.includes('\0') || basename(name) !== name;
  if (bad) {
    throw new GetError(
      'ERR_GET_USAGE',
      `the ${source} names the file ${JSON.stringify(name)}, which is not a plain name in the current directory; choose the output with -o FILE`,
    );
  }
  return name;
}

/**
 * Milliseconds a Retry-After header asks to wait (seconds or an HTTP date),
 * capped at `cap`; undefined when absent or unreadable.
 * @param {string | undefined} value
 * @param {number} cap
 */
export function retryAfterMs(value, cap) {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  const v = value.trim();
  let ms = /^\d+$/.test(v) ? Number(v) * 1000 : Date.parse(v) - Date.now();
  if (!Number.isFinite(ms)) return undefined;
  if (ms < 0) ms = 0;
  return Math.min(ms, cap);
}

/**
 * Formats bytes for people: 1.5 GiB, 12.0 MiB, 512 B.
 * @param {number} n
 */
export function formatBytes(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
}
