/**
 * The native calls of the vmap family (native/bind_ring.c, native/bind_vmap.c,
 * native/bind_shared_ring.c), typed. They live on the same addon object as
 * the core's; {@link NativeBinding} in binding.ts joins them with the core's,
 * and native/shape.ts checks the loaded module against the whole.
 *
 * Types only; not exported from the package.
 */

export interface VmapNativeBinding {
  /** Maps a ring of at least `hint` bytes (whole pages); the buffer covers both halves (2 * capacity bytes). */
  ringCreate(hint: number): ArrayBuffer;
  /** Detaches the ring's buffer (every view becomes zero-length), then unmaps it. Idempotent. */
  ringClose(buffer: ArrayBuffer): void;
  /** Rings mapped in this process and not yet unmapped. */
  liveRings(): number;
  readonly pageSize: number;
  readonly ringMaxCapacity: number;
}

/** What `mapCreate` takes (native/vmap_map.h, rm_vmap_request). */
export interface NativeMapRequest {
  /** The caller's descriptor, or -1 for anonymous memory. */
  fd: number;
  offset: number;
  length: number;
  /** Also map the shared (writing) half. */
  shared: boolean;
  populate: boolean;
  /** Expose the shared half (MemoryMapMut over a file) rather than the private one. */
  exposeShared: boolean;
}

export interface VmapMapBinding {
  mapCreate(req: NativeMapRequest): ArrayBuffer;
  /** Detaches `buffer` and returns a new buffer over the shared or private half (resetting the private half first if asked). */
  mapExpose(buffer: ArrayBuffer, exposeShared: boolean, resetPrivate: boolean): ArrayBuffer;
  mapClose(buffer: ArrayBuffer): void;
  mapFlush(buffer: ArrayBuffer, fd: number, offset: number, length: number, sync: boolean): void;
  mapFaults(buffer: ArrayBuffer): object | null;
  liveMaps(): number;
  readonly mapMaxLength: number;
}

/** SharedRing calls (native/bind_shared_ring.c). Roles: 1 producer, 2 consumer. */
/** A ring's memory: its table key, the ring (header, data twice, trailer) and its status page. */
export type SharedRingMemory = [number, ArrayBuffer, ArrayBuffer];

/** What srOpen found in a file that is not a whole ring of this version (the `found` of the error it throws). */
export interface SharedRingFound {
  size: number;
  magic: number;
  version: number;
  capacity: number;
  /** The file's last 32-bit word (the trailer's copy of the magic in a whole ring). */
  trailer: number;
}

export interface SharedRingBinding {
  srCreate(hint: number, path: string | null, mode: number): SharedRingMemory;
  srOpen(path: string): SharedRingMemory;
  srAttach(key: number): SharedRingMemory;
  srClaim(buffer: ArrayBuffer, role: 1 | 2): boolean;
  /**
   * The role's state (0 none, 1 live, 2 closed, 3 gone, 4 being claimed by a
   * live process, 5 corrupt words); -1 if a page of the ring was lost.
   */
  srPeer(buffer: ArrayBuffer, role: 1 | 2): number;
  /** Sleeps while header word `index` equals `expected`; true if `timeoutMs` ran out. */
  srWait(buffer: ArrayBuffer, index: number, expected: number, timeoutMs: number): boolean;
  srWake(buffer: ArrayBuffer, index: number): void;
  /** srWait on a thread of its own; resolves true if `timeoutMs` ran out. */
  srWaitAsync(buffer: ArrayBuffer, index: number, expected: number, timeoutMs: number): Promise<boolean>;
  /** Also detaches this thread's status buffer. */
  srClose(buffer: ArrayBuffer): void;
}
