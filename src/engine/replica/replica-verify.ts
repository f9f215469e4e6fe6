/**
 * Scrub: re-hash every stored block of an encrypted peer's store.
 *
 * A block whose ciphertext no longer hashes to its id (bit rot, a bad disk, a
 * meddling admin) is moved to quarantine so it is never served; a block that a
 * current record references but the store lacks is reported missing. Both
 * kinds become "needed" again, so a connected replica fetches them from peers.
 * The report names only block ids (hashes of ciphertext) and counts: never a
 * file name, a path or any content.
 */
import type { BlockStore } from '../../store/block-store.js';

/** Reports list at most this many ids per kind; counts are always exact. */
export const MAX_REPORTED_IDS = 1000;

export interface VerifyOptions {
  readonly store: BlockStore;
  /** Hex ids of every block a current record references (for the missing check). */
  readonly referenced: ReadonlySet<string>;
  readonly signal?: AbortSignal;
  /** Called after each block, for progress display. */
  readonly onProgress?: (checked: number, bytes: number) => void;
}

export interface VerifyReport {
  readonly checkedBlocks: number;
  readonly checkedBytes: number;
  readonly corruptCount: number;
  /** Ids of corrupt blocks (now in quarantine), at most MAX_REPORTED_IDS. */
  readonly corrupt: readonly string[];
  readonly missingCount: number;
  /** Ids of referenced blocks that are neither live nor retained, at most MAX_REPORTED_IDS. */
  readonly missing: readonly string[];
}

export async function verifyStore(opts: VerifyOptions): Promise<VerifyReport> {
  const { store, referenced, signal } = opts;
  let checkedBlocks = 0;
  let checkedBytes = 0;
  const corrupt: string[] = [];
  let corruptCount = 0;
  const present = new Set<string>();

  for (const area of ['live', 'retained'] as const) {
    // Snapshot the listing first: quarantining deletes rows while the listing pages through them.
    const ids: string[] = [];
    for await (const b of store.list(area, { signal })) ids.push(b.id);
    for (const id of ids) {
      signal?.throwIfAborted();
      const data = await store.readArea(id, area);
      if (data === null) continue; // removed meanwhile (gc)
      checkedBlocks++;
      checkedBytes += data.length;
      if (store.matches(data, id)) {
        present.add(id);
      } else {
        await store.quarantine(id, area);
        corruptCount++;
        if (corrupt.length < MAX_REPORTED_IDS) corrupt.push(id);
      }
      opts.onProgress?.(checkedBlocks, checkedBytes);
    }
  }

  const missing: string[] = [];
  let missingCount = 0;
  for (const id of referenced) {
    if (present.has(id)) continue;
    missingCount++;
    if (missing.length < MAX_REPORTED_IDS) missing.push(id);
  }
  return { checkedBlocks, checkedBytes, corruptCount, corrupt, missingCount, missing };
}
