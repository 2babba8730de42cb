// The resume state: a small mapped sidecar `<output>.part.state`.
//
// Layout (little-endian; every region starts on a 4 KiB page):
//   0   8 bytes  magic "RMGSTATE"
//   8   u32      format version (1)
//   12  u32      H: bytes before the first bitmap (a multiple of 4096)
//   16  u32      length of the JSON description
//   20  u32      FNV-1a hash of the JSON description
//   24  u32      number of chunks
//   32  36 bytes boot id of the machine that last wrote the live bitmap
//   128 ...      JSON: { url, length, chunkSize, etag, lastModified }
//   H            live bitmap: one bit per chunk, set with an atomic or (the
//                library's AtomicU32 views: a page lost under them throws
//                ERR_MMAP_FAULT rather than dropping the bit) once the
//                chunk's bytes are written and its write-back requested
//   H + B        durable bitmap: a copy of the live bitmap taken before the
//                data file was synced, written after that sync returned
//
// Why two bitmaps: the live one is in the page cache, so a killed process
// (kill -9) loses nothing of it, but after a power cut the kernel may have
// written its page before the data pages it describes. The durable one only
// ever names chunks whose data was on disk first. On open, the same boot id
// means the page cache survived (a kill, not a reboot): the live bitmap is
// trusted; another boot id means the machine restarted: the durable one is.
import { closeSync, fdatasyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { MemoryMappedFile } from 'ranged-mmap';
import { GetError, fileError } from './errors.js';

const MAGIC = 'RMGSTATE';
const VERSION = 1;
const JSON_AT = 128;
const PAGE = 4096;

/** @returns {string} */
function bootId() {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim().slice(0, 36).padEnd(36, ' ');
  } catch {
    return 'unknown-boot'.padEnd(36, ' ');
  }
}

/** @param {Uint8Array} bytes */
function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i];
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** @param {number} n */
const alignPage = (n) => Math.ceil(n / PAGE) * PAGE;

/**
 * @typedef {{ url: string, length: number, chunkSize: number, etag: string | null, lastModified: string | null }} StateInfo
 */

/** The sidecar of one download, mapped. */
export class ResumeState {
  /**
   * @param {MemoryMappedFile} map
   * @param {StateInfo} info
   * @param {number} headerBytes
   * @param {number} chunks
   */
  constructor(map, info, headerBytes, chunks) {
    this.map = map;
    this.info = info;
    this.chunks = chunks;
    const words = Math.ceil(chunks / 32);
    const bitmapBytes = alignPage(words * 4);
    /** Live bitmap, updated with Atomics. */
    this.live = Array.from({ length: words }, (_, i) => map.atomicU32(headerBytes + 4 * i));
    /** Durable bitmap, written only after the data was synced. */
    this.durable = Array.from({ length: words }, (_, i) => map.atomicU32(headerBytes + bitmapBytes + 4 * i));
    this.#saving = null;
  }

  /** @type {Promise<void> | null} */
  #saving;

  /**
   * Creates (or replaces) the sidecar for a new download.
   * @param {string} path
   * @param {StateInfo} info
   */
  static create(path, info) {
    const chunks = Math.max(1, Math.ceil(info.length / info.chunkSize));
    const json = Buffer.from(JSON.stringify(info));
    const headerBytes = alignPage(JSON_AT + json.length);
    const bitmapBytes = alignPage(Math.ceil(chunks / 32) * 4);
    const head = Buffer.alloc(headerBytes + 2 * bitmapBytes);
    head.write(MAGIC, 0, 'latin1');
    head.writeUInt32LE(VERSION, 8);
    head.writeUInt32LE(headerBytes, 12);
    head.writeUInt32LE(json.length, 16);
    head.writeUInt32LE(fnv1a(json), 20);
    head.writeUInt32LE(chunks, 24);
    head.write(bootId(), 32, 'latin1');
    json.copy(head, JSON_AT);
    // Written whole under another name, synced, then renamed: a kill at any
    // moment leaves either no state or a complete one, never a blank file.
    const temp = `${path}.new`;
    const fd = openSync(temp, 'w');
    try {
      writeSync(fd, head);
      fdatasyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    const map = MemoryMappedFile.openRw(path);
    return new ResumeState(map, info, headerBytes, chunks);
  }

  /**
   * Opens an existing sidecar and checks it describes `expected` (same URL,
   * length, validators). Refuses anything else with ERR_GET_STATE. With
   * `requireValidator`, also refuses a state that saved no usable validator
   * (see below): the caller gave no checksum to verify the file with after
   * the resume.
   * @param {string} path
   * @param {Omit<StateInfo, 'chunkSize'>} expected
   * @param {{ requireValidator?: boolean }} [options]
   * @returns {ResumeState}
   */
  static open(path, expected, { requireValidator = false } = {}) {
    const refuse = (/** @type {string} */ why) =>
      new GetError('ERR_GET_STATE', `the resume state ${path} ${why}; run again with --no-resume to start the download over`, { path });
    /** @type {MemoryMappedFile} */
    let map;
    try {
      map = MemoryMappedFile.openRw(path);
    } catch (e) {
      throw refuse(`cannot be opened (${/** @type {Error} */ (e).message})`);
    }
    try {
      if (map.length < JSON_AT) throw refuse('is too short to be a resume state');
      const head = Buffer.from(map.asSlice(0, JSON_AT));
      if (head.toString('latin1', 0, 8) !== MAGIC) throw refuse('is not a ranged-mmap-get resume state');
      const version = head.readUInt32LE(8);
      if (version !== VERSION) throw refuse(`has format version ${version}, this program reads version ${VERSION}`);
      const headerBytes = head.readUInt32LE(12);
      const jsonLength = head.readUInt32LE(16);
      const chunks = head.readUInt32LE(24);
      if (headerBytes % PAGE !== 0 || JSON_AT + jsonLength > headerBytes || headerBytes > map.length) throw refuse('is corrupt (header)');
      const jsonBytes = map.asSlice(JSON_AT, jsonLength);
      if (fnv1a(jsonBytes) !== head.readUInt32LE(20)) throw refuse('is corrupt (its description does not match its hash)');
      /** @type {StateInfo} */
      let info;
      try {
        info = JSON.parse(Buffer.from(jsonBytes).toString('utf8'));
      } catch {
        throw refuse('is corrupt (its description is not JSON)');
      }
      const bitmapBytes = alignPage(Math.ceil(chunks / 32) * 4);
      if (
        !Number.isSafeInteger(info.chunkSize) ||
        info.chunkSize < PAGE ||
        info.chunkSize % PAGE !== 0 ||
        chunks !== Math.max(1, Math.ceil(info.length / info.chunkSize)) ||
        map.length !== headerBytes + 2 * bitmapBytes
      ) {
        throw refuse('is corrupt (sizes do not agree)');
      }
      if (info.url !== expected.url) throw refuse(`belongs to another URL (${info.url})`);
      if (info.length !== expected.length) throw refuse(`is for a file of ${info.length} bytes, the server now has ${expected.length}`);
      if (info.etag !== expected.etag || info.lastModified !== expected.lastModified) {
        throw new GetError(
          'ERR_GET_CHANGED',
          `the file at ${expected.url} changed since the download started (ETag ${info.etag} -> ${expected.etag}, Last-Modified ${info.lastModified} -> ${expected.lastModified}); ` +
            'run again with --no-resume to download the new version',
          { url: expected.url, path },
        );
      }
      // Without a validator the same length is all that ties the .part to
      // the server's file: a file replaced by another of that length would
      // be mixed with the first version's chunks. A weak ETag does not
      // count: it only promises an equivalent representation, not the same
      // bytes (a server may keep it while the bytes change), and the range
      // requests cannot send it as If-Range, so nothing would refuse a
      // change during the resume either. Last-Modified is sent as If-Range.
      // Checked before anything below writes to the state: a refusal leaves
      // it as it was.
      if (requireValidator && info.lastModified === null && (info.etag === null || info.etag.startsWith('W/'))) {
        const sent = info.etag === null ? 'no ETag or Last-Modified' : `only a weak ETag (${info.etag}) and no Last-Modified`;
        throw new GetError(
          'ERR_GET_STATE',
          `cannot resume from ${path}: the server sent ${sent}, so a resume cannot tell whether the file changed since the download started; ` +
            'run again with --no-resume to start over, or with --checksum to resume and verify the whole file',
          { url: expected.url, path },
        );
      }
      const state = new ResumeState(map, info, headerBytes, chunks);
      const tail = chunks % 32;
      if (tail !== 0 && (state.live[state.live.length - 1].load() >>> tail !== 0 || state.durable[state.durable.length - 1].load() >>> tail !== 0)) {
        throw refuse('is corrupt (bits set past the last chunk)');
      }
      const now = bootId();
      if (head.toString('latin1', 32, 68) !== now) {
        // The machine restarted since: only the durable bitmap is known to
        // describe data that reached the disk.
        for (let i = 0; i < state.live.length; i++) state.live[i].store(state.durable[i].load());
        map.updateRegion(32, Buffer.from(now, 'latin1'));
        map.syncAll();
      }
      return state;
    } catch (e) {
      map.close();
      throw e;
    }
  }

  /** @param {number} chunk */
  isDone(chunk) {
    try {
      return (this.live[chunk >>> 5].load() & (1 << (chunk & 31))) !== 0;
    } catch (e) {
      throw fileError(e, 'read the resume state', this.map.path);
    }
  }

  /** Marks a chunk finished (its data written and its write-back requested). @param {number} chunk */
  markDone(chunk) {
    try {
      this.live[chunk >>> 5].or((1 << (chunk & 31)) >>> 0);
    } catch (e) {
      throw fileError(e, 'update the resume state', this.map.path);
    }
  }

  /** Clears a chunk's bit (its write-back failed): the next run fetches it again. @param {number} chunk */
  markUndone(chunk) {
    try {
      this.live[chunk >>> 5].and(~(1 << (chunk & 31)) >>> 0);
    } catch {
      // The state file is gone bad as well: the download stops on the
      // failure that led here, and the next run refuses the state.
    }
  }

  /** Word `i` of the live bitmap; a fault (the file cut short) is a file error. @param {number} i */
  #load(i) {
    try {
      return this.live[i].load();
    } catch (e) {
      throw fileError(e, 'read the resume state', this.map.path);
    }
  }

  /** Number of chunks marked finished. */
  doneCount() {
    let n = 0;
    for (let i = 0; i < this.live.length; i++) {
      let w = this.#load(i);
      while (w !== 0) {
        w &= w - 1;
        n++;
      }
    }
    return n;
  }

  /**
   * Makes the durable bitmap catch up: snapshot the live bitmap, wait for the
   * data file's sync, then store the snapshot and sync the sidecar. One at a
   * time; a call while one runs returns the running one.
   * @param {() => Promise<void>} syncData
   * @returns {Promise<void>}
   */
  save(syncData) {
    if (this.#saving !== null) return this.#saving;
    const snapshot = Uint32Array.from(this.live, (_, i) => this.#load(i));
    this.#saving = (async () => {
      try {
        await syncData();
        for (let i = 0; i < snapshot.length; i++) this.durable[i].store(snapshot[i]);
        await this.map.syncAllAsync();
      } finally {
        this.#saving = null;
      }
    })();
    return this.#saving;
  }

  close() {
    if (!this.map.isClosed) this.map.close();
  }
}
