/**
 * Reused buffers for block-sized data on the receive path (a sealed block's
 * frame, its plaintext until it is written).
 *
 * Why: V8 counts external memory (Buffers) allocated since its last full GC
 * against the old generation's limit, and the daemons run with a small old
 * generation (cli/daemon-heap.ts), so every ~6-10 MiB of block buffers that a
 * receiver allocated started a mark-compact, although the JS heap barely grew
 * and the buffers were long dead: ~50 mark-compacts per 256 MiB received in
 * bench (a) at scale 0.25, 0.25-0.3 s of the receiver's CPU. A buffer taken
 * from here is allocated once and then reused, so it is not new external
 * memory each time.
 *
 * Contract: `acquireBlockBuffer` hands out a buffer; a consumer that is done
 * with it for good may call `releaseBlockBuffer` with it (or any view of it)
 * exactly once, after its last use: the bytes are then overwritten by a later
 * block. Not releasing is always safe (the buffer is garbage-collected).
 * Releasing a buffer that did not come from here, or releasing twice, is
 * ignored; only a use after release could go wrong, so release only where
 * the code that holds the buffer ends.
 */

/** Larger buffers are allocated as usual: rare (blocks of files over 2 GiB), and one would pin a lot. */
export const POOLED_MAX_BYTES = 1024 * 1024 + 64 * 1024;
/**
 * Capacities are multiples of this: chunk sizes vary (content-defined), so a
 * finer step would rarely find a free buffer, a coarser one wastes memory.
 */
const POOL_STEP_BYTES = 64 * 1024;
/**
 * Free bytes kept for reuse: the puller holds at most MAX_PULL_BYTES_IN_FLIGHT
 * (16 MiB) of plaintext, plus the frames being opened.
 */
export const POOL_MAX_FREE_BYTES = 16 * 1024 * 1024;

const free = new Map<number, ArrayBuffer[]>();
const leased = new WeakSet<ArrayBuffer>();
let freeBytes = 0;

/** A buffer of exactly `size` bytes, contents undefined (pooled when size allows). */
export function acquireBlockBuffer(size: number): Buffer {
  if (size > POOLED_MAX_BYTES || size <= 0) return Buffer.allocUnsafe(size);
  const cap = Math.ceil(size / POOL_STEP_BYTES) * POOL_STEP_BYTES;
  let ab: ArrayBuffer | undefined;
  // Best fit: the smallest free capacity that holds `size`, up to twice the exact one.
  for (let c = cap; c <= 2 * cap && c <= POOLED_MAX_BYTES + POOL_STEP_BYTES && ab === undefined; c += POOL_STEP_BYTES) {
    ab = free.get(c)?.pop();
  }
  if (ab) freeBytes -= ab.byteLength;
  else ab = Buffer.allocUnsafeSlow(cap).buffer as ArrayBuffer; // its own ArrayBuffer, not zero-filled
  leased.add(ab);
  return Buffer.from(ab, 0, size);
}

/** Gives back a buffer (or a view of one) from acquireBlockBuffer; anything else is ignored. */
export function releaseBlockBuffer(view: Uint8Array): void {
  const ab = view.buffer;
  if (!(ab instanceof ArrayBuffer) || !leased.has(ab)) return;
  leased.delete(ab);
  if (freeBytes + ab.byteLength > POOL_MAX_FREE_BYTES) return; // dropped: garbage-collected
  let list = free.get(ab.byteLength);
  if (!list) free.set(ab.byteLength, (list = []));
  list.push(ab);
  freeBytes += ab.byteLength;
}

/** Drops every free buffer (they are garbage-collected); for an idle daemon. */
export function trimBlockBuffers(): void {
  free.clear();
  freeBytes = 0;
}

/** Free bytes held (for tests and stats). */
export function pooledFreeBytes(): number {
  return freeBytes;
}
