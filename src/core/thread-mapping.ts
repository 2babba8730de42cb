/**
 * One thread's window onto one process-wide mapping: the ArrayBuffers the
 * native core made for this thread, the shared status page, and the copy
 * routines every higher layer uses. Callers check bounds; this layer only
 * splits copies at view boundaries and picks the copy route.
 *
 * Not exported from the package.
 */
import { type MmapError, faultError, fromNative, misuse } from '../errors.js';
import { Access, native, type SyncMode, type NativeAttachment, type NativeOpenRequest } from '../native/binding.js';
import { STATUS_FAULTS_I32, STATUS_LARGE_COPIES_I32, STATUS_LARGE_PWRITES_I32 } from '../native/status-page.js';

/** Bytes covered by one view (1 GiB); files larger than that get several. */
export const VIEW_BYTES = native.viewBytes;

/**
 * Writes at least this big take a measured route instead of a plain copy.
 * Below it, one copy into the mapping is the whole cost (a 4 KiB copy into a
 * warm mapping is ~3x cheaper than a 4 KiB pwrite).
 */
export const LARGE_WRITE_BYTES = 256 * 1024;

const EMPTY = new Uint8Array(0);

/**
 * Releases the attachment of a ThreadMapping collected without close(): its
 * descriptor and mapping go once no other thread, pending call or view
 * still holds them (each buffer pins the mapping natively). Registered per
 * thread; the callback runs on the thread that registered it.
 */
const collected = new FinalizationRegistry<number>((token) => {
  native.release(token);
});
let populateSupported = true;
const EINVAL = 22;
const EFAULT = 14;

export class ThreadMapping {
  /** Key of the mapping in the native process-wide table. */
  readonly key: number;
  /** File size in bytes. */
  readonly size: number;
  /** Path the file was opened with. */
  readonly path: string;
  /** The path the mapping was opened with, as the native table keeps it (null if none). */
  readonly nativePath: string | null;
  /** A random number fixed for the mapping's life; share() handles carry it. */
  readonly nonce: number;
  /**
   * How the mapping was made (from the native mapping itself). Anything but
   * ReadWrite is a private mapping: no write route may go through the file.
   */
  readonly access: Access;
  /**
   * Every block of the file is known to be allocated (created without
   * `sparse`, or opened with no hole): a write through the mapping cannot
   * meet a full disk. When false, small writes reserve their pages first.
   */
  readonly reserved: boolean;
  /** True once this thread's attachment is closed. */
  closed = false;
  /** True after {@link keepUntilClosed}: a successor after a resize is kept too. */
  kept = false;
  /** A view of this mapping was handed to user code (a slice, an iteration step, a cursor). */
  exposed = false;
  /** Replaced by a resize and left (see {@link retire}); views user code holds stay mapped until collected. */
  retired = false;
  /**
   * On a file that is not {@link reserved}: one bit per 4 KiB page, set once
   * a write of this thread reserved the page (its block stays allocated),
   * so later small writes to it make no system call. Made on first use.
   */
  #reservedPages: Uint32Array | undefined;
  #closeHooks: (() => void)[] | undefined;
  /** Shared status page: fault counter and allocator state. */
  readonly status: Int32Array;
  readonly statusI64: BigInt64Array;
  /**
   * One view per VIEW_BYTES of the file, made on first use (see view()):
   * a thread that only writes big chunks (pwrite) or syncs never makes any.
   */
  readonly #views: (Uint8Array | undefined)[];
  /**
   * View 0, where most writes land; zero-length until made, which routes the
   * first small write through view(). `firstLength` (what the inline fast
   * paths of every file type test) stays 0 on a file that is not
   * {@link reserved}: every write then goes through {@link write}, which
   * reserves its pages first.
   */
  first: Uint8Array = EMPTY;
  firstLength = 0;
  readonly #token: number;

  constructor(path: string, attachment: NativeAttachment) {
    this.path = path;
    this.key = attachment[0];
    this.size = attachment[1];
    this.#token = attachment[2];
    this.nativePath = attachment[4];
    this.nonce = attachment[5];
    const status = attachment[3];
    this.access = attachment[6];
    this.reserved = attachment[7] === 1;
    this.status = new Int32Array(status);
    this.statusI64 = new BigInt64Array(status);
    this.#views = new Array<Uint8Array | undefined>(Math.ceil(this.size / VIEW_BYTES)).fill(undefined);
    collected.register(this, this.#token, this);
  }

  /**
   * Keeps this thread's attachment until close(), even if this object is
   * collected: a share() handle may be attached by another thread at any
   * later time, and must find the mapping there.
   */
  keepUntilClosed(): void {
    this.kept = true;
    collected.unregister(this);
  }

  /** This thread's view number `index` over the mapping, made on first use. */
  view(index: number): Uint8Array {
    const existing = this.#views[index];
    if (existing !== undefined) return existing;
    let view: Uint8Array;
    try {
      view = new Uint8Array(native.view(this.#token, index));
    } catch (error) {
      throw fromNative(error, this.path);
    }
    this.#views[index] = view;
    if (index === 0) {
      this.first = view;
      this.firstLength = this.reserved ? view.length : 0;
    }
    return view;
  }

  /** {@link view} for a view user code will hold: the mapping must then outlive a resize until the view is collected. */
  expose(index: number): Uint8Array {
    this.exposed = true;
    return this.view(index);
  }

  /** Opens or creates and maps a file; null if it is empty. */
  static open(req: NativeOpenRequest): ThreadMapping | null {
    let attachment: NativeAttachment | null;
    try {
      attachment = native.open(req);
    } catch (error) {
      throw fromNative(error, req.path);
    }
    return attachment === null ? null : new ThreadMapping(req.path, attachment);
  }

  /** {@link open} on the libuv thread pool. */
  static async openAsync(req: NativeOpenRequest): Promise<ThreadMapping | null> {
    let attachment: NativeAttachment | null;
    try {
      attachment = await native.openAsync(req);
    } catch (error) {
      throw fromNative(error, req.path);
    }
    return attachment === null ? null : new ThreadMapping(req.path, attachment);
  }

  /** Attaches this thread to a mapping opened elsewhere in the process. */
  static attach(path: string, key: number): ThreadMapping {
    try {
      return new ThreadMapping(path, native.attach(key));
    } catch (error) {
      throw fromNative(error, path);
    }
  }

  /**
   * As {@link attach} for a share() handle whose mapping may be gone: a
   * resize replaced it, and every thread has left it since. Attaches the
   * newest mapping of the same file (found by the nonce every mapping of a
   * resized file shares).
   */
  static attachNewest(path: string, key: number, nonce: number): ThreadMapping {
    try {
      return new ThreadMapping(path, native.attachNewest(nonce, key));
    } catch (error) {
      throw fromNative(error, path);
    }
  }

  /** True when a guarded fault has hit this mapping (in any thread). */
  get faulted(): boolean {
    return this.status[STATUS_FAULTS_I32] !== 0;
  }

  /** Throws ERR_MMAP_CLOSED or ERR_MMAP_FAULT when the mapping cannot be used. */
  check(): void {
    if (this.closed || this.retired) throw this.closedError();
    if (this.status[STATUS_FAULTS_I32] !== 0) throw this.faultError();
  }

  closedError(): MmapError {
    if (this.retired && !this.closed) {
      return misuse(
        'ERR_MMAP_CLOSED',
        `this handle of '${this.path}' belongs to the mapping before a resize; take a new one from the file (file.cursor(), file.asSlice(...))`,
        this.path,
      );
    }
    return misuse(
      'ERR_MMAP_CLOSED',
      `'${this.path}' is closed in this thread; open it again (or use another thread's handle) to keep working with it`,
      this.path,
    );
  }

  /** The ERR_MMAP_FAULT for this mapping, with what the native core knows of its cause. */
  faultError(): MmapError {
    let info: unknown = null;
    try {
      info = native.faultInfo(this.key);
    } catch {
      // The mapping is gone in every thread: no cause to read.
    }
    const fault = info === null ? { faults: this.status[STATUS_FAULTS_I32] ?? 1, offset: 0, fileSize: -1, mappedSize: this.size } : info;
    return faultError(this.path, fault as Parameters<typeof faultError>[1]);
  }

  /**
   * Copies `data` to `offset`. The caller has checked that the range is in
   * the file. Small writes are one copy into the mapping. Large writes ask
   * the kernel which of their pages are in the page cache: mostly cold pages
   * go through pwrite (the kernel fills fresh page-cache pages straight from
   * `data`, with no zero-fill and no fault per page: a first touch through
   * the mapping costs both), warm pages are populated in one madvise and
   * copied through the mapping (faster than pwrite once pages exist). Both
   * routes write the same page cache, so readers of the mapping see the
   * bytes either way.
   */
  write(offset: number, data: Uint8Array, length: number): void {
    if (length >= LARGE_WRITE_BYTES) {
      this.writeLarge(offset, data, length);
      return;
    }
    // A file with holes: reserve the pages first, so a full disk refuses
    // the whole write instead of landing its first pages only.
    if (!this.reserved) this.reservePages(offset, length);
    if (offset + length <= this.firstLength) {
      this.first.set(data, offset);
      return;
    }
    this.writeSpanning(offset, data, length);
  }

  /**
   * The route of a large write, chosen per call from what the pages are and
   * what other threads of the process are doing with this mapping (two
   * counters in the status page):
   * - mostly cold pages: `pwrite`. The kernel fills fresh page-cache pages
   *   straight from `data`, about 2.5x cheaper per byte than faulting them
   *   in through the mapping. `pwrite` holds the inode lock, so a second
   *   writer waits; copying through the mapping meanwhile (faults take no
   *   inode lock) was measured and is slower still at 2 and 12 workers: the
   *   copier's page faults slow the `pwrite` down more than they add
   *   (`node bench/probes/big-write-routes.mjs`, routes `mix` and `auto`).
   * - mostly cached pages: populate + copy (no pages to fill) when no other
   *   thread is inside a large write of this mapping; otherwise `pwrite`,
   *   which on cached pages is a plain copy: many threads faulting pages
   *   into one mapping slow each other down (populate + copy from 12
   *   workers measured 0.6x of `pwrite`).
   */
  private writeLarge(offset: number, data: Uint8Array, length: number): void {
    const pages = Math.ceil(length / 4096);
    let resident: number;
    try {
      resident = native.residentPages(this.key, offset, length);
    } catch (error) {
      throw fromNative(error, this.path);
    }
    const status = this.status;
    let copy = this.access !== Access.ReadWrite;
    if (!copy) {
      const cold = resident * 2 < pages;
      copy = !cold && Atomics.load(status, STATUS_LARGE_PWRITES_I32) === 0 && Atomics.compareExchange(status, STATUS_LARGE_COPIES_I32, 0, 1) === 0;
      if (!copy) {
        Atomics.add(status, STATUS_LARGE_PWRITES_I32, 1);
        try {
          native.pwrite(this.key, offset, data);
        } catch (error) {
          throw fromNative(error, this.path);
        } finally {
          Atomics.sub(status, STATUS_LARGE_PWRITES_I32, 1);
        }
        return;
      }
    }
    try {
      this.populate(offset, length);
      if (offset + length <= this.firstLength) this.first.set(data, offset);
      else this.writeSpanning(offset, data, length);
    } finally {
      if (this.access === Access.ReadWrite) Atomics.sub(status, STATUS_LARGE_COPIES_I32, 1);
    }
  }

  /**
   * Before a small write into a file with holes: reserves the pages of
   * [offset, offset + length) that no write of this thread reserved yet
   * (MADV_POPULATE_WRITE allocates their blocks), so a full disk refuses
   * the whole write before a byte lands. Throws as {@link populate}.
   */
  private reservePages(offset: number, length: number): void {
    const first = Math.floor(offset / 4096);
    const last = Math.floor((offset + length - 1) / 4096);
    let bits = this.#reservedPages;
    if (bits === undefined) bits = this.#reservedPages = new Uint32Array(Math.ceil(this.size / (4096 * 32)));
    let page = first;
    while (page <= last && (bits[page >>> 5]! & (1 << (page & 31))) !== 0) page++;
    if (page > last) return;
    this.populate(offset, length);
    for (page = first; page <= last; page++) bits[page >>> 5]! |= 1 << (page & 31);
  }

  private writeSpanning(offset: number, data: Uint8Array, length: number): void {
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / VIEW_BYTES);
      const inner = at - index * VIEW_BYTES;
      const view = this.view(index);
      const n = Math.min(length - done, view.length - inner);
      if (n <= 0) throw this.pastEnd(at, length - done);
      view.set(n === length ? data : data.subarray(done, done + n), inner);
      done += n;
    }
  }

  private populate(offset: number, length: number): void {
    if (!populateSupported) return;
    const err = native.populate(this.key, offset, length);
    if (err === 0) return;
    if (err === EINVAL) {
      // Kernel older than 5.14: no MADV_POPULATE_WRITE. Copy straight away.
      populateSupported = false;
      return;
    }
    if (err === EFAULT) {
      // The kernel could not back these pages: the file is now shorter than
      // the mapping, or the disk is full under a sparse file. Nothing has
      // been copied, so the file is as it was.
      throw misuse(
        'ERR_MMAP_FAULT',
        `'${this.path}' has no file pages behind bytes ${offset}..${offset + length}: the file was truncated, ` +
          'or the disk is full under a sparse file. Nothing was written; close the file and open it again once the cause is fixed.',
        this.path,
      );
    }
    throw fromNative({ errno: -err, syscall: 'madvise' }, this.path);
  }

  /**
   * A copy loop found no byte left in the mapping at `at`: its caller's
   * bounds check let a span past the end through. Thrown instead of
   * looping forever; never reached while every caller checks its span.
   */
  private pastEnd(at: number, left: number): MmapError {
    return misuse(
      'ERR_MMAP_INVALID_STATE',
      `internal error: ${left} bytes at offset ${at} of '${this.path}' lie past the end of its mapping (${this.size} bytes); nothing more was copied`,
      this.path,
    );
  }

  /** Copies `length` bytes at `offset` into `target` at `targetOffset`. */
  read(offset: number, length: number, target: Uint8Array, targetOffset: number): void {
    const end = offset + length;
    if (end <= this.firstLength) {
      target.set(this.first.subarray(offset, end), targetOffset);
      return;
    }
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / VIEW_BYTES);
      const inner = at - index * VIEW_BYTES;
      const view = this.view(index);
      const n = Math.min(length - done, view.length - inner);
      if (n <= 0) throw this.pastEnd(at, length - done);
      target.set(view.subarray(inner, inner + n), targetOffset + done);
      done += n;
    }
  }

  /**
   * A view of `length` bytes at `offset`: zero-copy when the bytes lie in one
   * view (always, for files up to 1 GiB), a copy when they straddle views.
   */
  slice(offset: number, length: number): Uint8Array {
    this.exposed = true;
    const end = offset + length;
    if (end <= this.firstLength) return this.first.subarray(offset, end);
    const index = Math.floor(offset / VIEW_BYTES);
    const inner = offset - index * VIEW_BYTES;
    const view = this.view(index);
    if (inner + length <= view.length) return view.subarray(inner, inner + length);
    const copy = new Uint8Array(length);
    this.read(offset, length, copy, 0);
    return copy;
  }

  /** Sets `length` bytes at `offset` to `value`. */
  fill(offset: number, length: number, value: number): void {
    if (length >= LARGE_WRITE_BYTES) this.populate(offset, length);
    else if (!this.reserved) this.reservePages(offset, length);
    let done = 0;
    while (done < length) {
      const at = offset + done;
      const index = Math.floor(at / VIEW_BYTES);
      const inner = at - index * VIEW_BYTES;
      const view = this.view(index);
      const n = Math.min(length - done, view.length - inner);
      if (n <= 0) throw this.pastEnd(at, length - done);
      view.fill(value, inner, inner + n);
      done += n;
    }
  }

  /**
   * Runs a native sync and maps its errors. The native core itself throws
   * ERR_MMAP_FAULT when a fault was recorded, before or during the sync.
   */
  sync(offset: number, length: number, mode: SyncMode): void {
    this.check();
    try {
      native.sync(this.key, offset, length, mode);
    } catch (error) {
      throw fromNative(error, this.path);
    }
  }

  /**
   * {@link sync} on the libuv thread pool. Checks throw synchronously; the
   * fault record is read from the mapping when the work is done, so closing
   * this thread's handle meanwhile changes nothing.
   */
  async syncAsync(offset: number, length: number, mode: SyncMode): Promise<void> {
    this.check();
    try {
      await native.syncAsync(this.key, offset, length, mode);
    } catch (error) {
      throw fromNative(error, this.path);
    }
  }

  /** Runs `hook` when this thread closes the mapping (once; for state this thread holds in shared memory). */
  onClose(hook: () => void): void {
    if (this.#closeHooks === undefined) this.#closeHooks = [hook];
    else this.#closeHooks.push(hook);
  }

  /**
   * After a resize replaced this mapping in this thread: when user code was
   * given a view of it, leaves it without detaching those views (the old
   * mapping maps the same file, so stores through them still reach it):
   * each view buffer pins the mapping natively, so it stays mapped until the
   * last of them is collected, or is detached through {@link RetiredViews}
   * (close(), a shrink). Else closes it now. Returns the buffers left to user
   * code (none when it was closed).
   */
  retire(): ArrayBuffer[] {
    if (this.closed || this.retired) return [];
    const buffers = this.exposed ? this.#views.flatMap((v) => (v === undefined ? [] : [v.buffer as ArrayBuffer])) : [];
    if (buffers.length === 0) {
      this.close();
      return [];
    }
    this.retired = true;
    this.#leave();
    collected.unregister(this);
    native.release(this.#token);
    // Nothing reads the status page of a retired mapping (check() refuses
    // first), and its buffer would pin the mapping (and every successor it
    // references) until collected.
    native.detachView(this.status.buffer as ArrayBuffer);
    return buffers;
  }

  /** Detaches this thread's views (they become zero-length) and drops the reference. A retired mapping was left already. */
  close(): void {
    if (this.closed || this.retired) return;
    this.closed = true;
    this.#leave();
    collected.unregister(this);
    native.detach(this.#token);
  }

  /** What close and retire share: runs the close hooks (once) and drops this object's references to the views. */
  #leave(): void {
    const hooks = this.#closeHooks;
    this.#closeHooks = undefined;
    if (hooks !== undefined) for (const hook of hooks) hook();
    this.first = EMPTY;
    this.firstLength = 0;
    this.#views.fill(undefined);
  }
}

/**
 * The view buffers of mappings a resize replaced in one thread (see
 * {@link ThreadMapping.retire}), held weakly: user code keeps them alive, and
 * each pins its mapping natively until collected. A shrink detaches those of
 * mappings longer than the file (a store there could not reach it), close()
 * every one.
 */
export class RetiredViews {
  #entries: { size: number; buffer: WeakRef<ArrayBuffer> }[] = [];

  /** Takes the buffers a mapping of `size` bytes left to user code. */
  add(size: number, buffers: readonly ArrayBuffer[]): void {
    for (const buffer of buffers) this.#entries.push({ size, buffer: new WeakRef(buffer) });
  }

  /** Detaches the views of every mapping longer than `size` bytes, and forgets the collected ones. */
  detachBeyond(size: number): void {
    this.#entries = this.#entries.filter((e) => {
      const buffer = e.buffer.deref();
      if (buffer === undefined) return false;
      if (e.size <= size) return true;
      native.detachView(buffer);
      return false;
    });
  }

  /** Detaches every view left (the file is closed). */
  detachAll(): void {
    this.detachBeyond(-1);
  }
}
