/**
 * Change watching for MemoryMappedFile (mmap-io's `watch`): a poll of the
 * file's metadata and of a hash of every page of the mapping, so changes
 * another process makes through `write()` or through its own mapping
 * (which inotify does not see) are both reported, with where they are.
 */
import { statSync, type BigIntStats } from 'node:fs';
import { argTypeError, fromNative, outOfRange } from '../errors.js';
import { readOptions } from '../core/arguments.js';
import { VIEW_BYTES } from '../core/thread-mapping.js';
import type { WindowCore } from './window-core.js';

/** What changed (the argument of a `watch` callback). */
export interface WatchEvent {
  /**
   * - `'modified'`: bytes changed; `offset` and `length` cover the changed
   *   pages (whole pages, clipped at the end of the file).
   * - `'metadata'`: the size, permissions, owner or link count changed
   *   (`size` is the new size); a resize by another process is reported so.
   * - `'removed'`: the path no longer leads to this file (deleted or
   *   replaced). Reported once; the watcher then stops.
   */
  readonly kind: 'modified' | 'metadata' | 'removed';
  readonly offset?: number;
  readonly length?: number;
  /** With `'metadata'`: the file's size now. */
  readonly size?: number;
}

/** Options of `watch`. */
export interface WatchOptions {
  /** How often to look, in milliseconds (default 1000, at least 1). */
  intervalMs?: number;
}

/** What `watch` returns. */
export interface WatchHandle {
  /** Stops watching; nothing is kept. Calling it twice is harmless. */
  close(): void;
  /** True once closed (by `close()`, by closing the file, or after `'removed'`). */
  readonly closed: boolean;
}

const PAGE = 4096;
/** Above this, pages are not hashed: only metadata changes are reported. */
export const WATCH_HASH_LIMIT = 256 * 1024 * 1024;

function hashPage(words: Int32Array, from: number, to: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ words[i]!, 16777619);
  return h;
}

/** @internal */
export function startWatch(core: WindowCore, callback: unknown, options: unknown): WatchHandle {
  if (typeof callback !== 'function') throw argTypeError('callback', 'of type function', callback);
  const o = readOptions(options, 'options', ['intervalMs'] as const);
  const interval = o.intervalMs === undefined ? 1000 : o.intervalMs; // null is refused below, not a default
  if (typeof interval !== 'number') throw argTypeError('options.intervalMs', 'of type number', interval);
  if (!Number.isInteger(interval) || interval < 1 || interval > 2 ** 31 - 1)
    throw outOfRange('options.intervalMs', 'an integer >= 1 and <= 2^31 - 1', interval);
  core.live();
  const path = core.path;
  const notify = callback as (event: WatchEvent) => void;
  let first: BigIntStats;
  try {
    first = statSync(path, { bigint: true });
  } catch (error) {
    throw fromNative(error, path); // an MmapError with code, errno, syscall 'stat' and path
  }
  let hashes: Int32Array | null = null;
  let closed = false;

  const snapshot = (limit: number): Int32Array | null => {
    const v = core.views;
    const size = Math.min(v.size, limit);
    if (v.size > WATCH_HASH_LIMIT) return null;
    const pages = Math.ceil(size / PAGE);
    const out = new Int32Array(pages);
    for (let index = 0; index * VIEW_BYTES < size; index++) {
      const view = v.view(index);
      const end = Math.min(view.length, size - index * VIEW_BYTES);
      const words = new Int32Array(view.buffer, 0, Math.floor(end / 4));
      const firstPage = (index * VIEW_BYTES) / PAGE;
      for (let p = 0; p * PAGE < end; p++) {
        const from = (p * PAGE) / 4;
        const to = Math.min(words.length, from + PAGE / 4);
        // A last partial word is hashed with the page through its bytes.
        let h = hashPage(words, from, to);
        const tail = Math.min(end, (p + 1) * PAGE);
        for (let b = to * 4; b < tail; b++) h = Math.imul(h ^ view[b]!, 16777619);
        out[firstPage + p] = h;
      }
    }
    return out;
  };

  const stop = (): void => {
    closed = true;
    clearInterval(timer);
    hashes = null;
  };

  const tick = (): void => {
    if (closed) return;
    if (core.views.closed) {
      stop();
      return;
    }
    if (core.moved) {
      try {
        core.live();
      } catch {
        stop();
        return;
      }
    }
    let now: BigIntStats;
    try {
      now = statSync(path, { bigint: true });
    } catch {
      stop();
      notify({ kind: 'removed' });
      return;
    }
    if (now.ino !== first.ino || now.dev !== first.dev || now.nlink === 0n) {
      stop();
      notify({ kind: 'removed' });
      return;
    }
    const events: WatchEvent[] = [];
    if (
      now.size !== first.size ||
      (now.ctimeNs !== first.ctimeNs && now.mtimeNs === first.mtimeNs) ||
      now.mode !== first.mode ||
      now.uid !== first.uid ||
      now.gid !== first.gid
    )
      events.push({ kind: 'metadata', size: Number(now.size) });
    // Hash only what the file still has: reading past its end would fault.
    const fileSize = Number(now.size);
    const next = snapshot(fileSize);
    if (next !== null && hashes !== null) {
      const pages = Math.min(next.length, hashes.length);
      const mappedEnd = Math.min(fileSize, core.views.size);
      for (let p = 0; p < pages; p++) {
        if (next[p] === hashes[p]) continue;
        let q = p + 1;
        while (q < pages && next[q] !== hashes[q]) q++;
        const offset = p * PAGE;
        events.push({ kind: 'modified', offset, length: Math.min(q * PAGE, mappedEnd) - offset });
        p = q;
      }
    } else if (next === null && now.mtimeNs !== first.mtimeNs) {
      events.push({ kind: 'modified' });
    }
    if (next !== null) hashes = next;
    first = now;
    for (const e of events) {
      if (closed) break;
      notify(e);
    }
  };

  hashes = snapshot(Number(first.size));
  const timer = setInterval(tick, interval);
  timer.unref();
  core.watchers.add(stop);
  const handle: WatchHandle = {
    close(): void {
      core.watchers.delete(stop);
      stop();
    },
    get closed(): boolean {
      return closed;
    },
  };
  return handle;
}
