/**
 * The counts an encrypted peer's folder reports. It cannot read names, kinds
 * or sizes (they are sealed): a "file" is a locator whose current record
 * carries the envelope's "live file" flag (sealed-record.ts) — empty files
 * included, as full peers count them — or references blocks; it is held when
 * every block its records reference is in the live area.
 */
import { toHex } from '../../crypto/bytes.js';
import { blockIdToHex } from '../../store/block-store.js';

/** Status counts are recomputed at most this often… */
export const REPLICA_STATS_REFRESH_MS = 500;
/** …and, on a large folder, leave at least this many times the last walk's duration idle between walks. */
export const STATS_WALK_DUTY_FACTOR = 10;

/** How long to wait before the next recount, given how long the last one took. */
export function statsRefreshDelayMs(lastWalkMs: number): number {
  return Math.max(REPLICA_STATS_REFRESH_MS, lastWalkMs * STATS_WALK_DUTY_FACTOR);
}

export interface ReplicaStats {
  globalFiles: number;
  globalBytes: number;
  localFiles: number;
  localBytes: number;
  needFiles: number;
  needBytes: number;
}

/** Counts over the current records; `referenced` is every block id (hex) they reference. */
export function countReplica(
  records: Iterable<{ readonly locator: Uint8Array; readonly blockIds: readonly Uint8Array[]; readonly file: boolean }>,
  live: ReadonlyMap<string, number>,
): { stats: ReplicaStats; referenced: Set<string> } {
  const locators = new Map<string, boolean>(); // locator -> complete
  const blocks = new Set<string>();
  for (const r of records) {
    // A directory, symlink or tombstone: no blocks, no flag (an empty file has the flag).
    if (r.blockIds.length === 0 && !r.file) continue;
    const loc = toHex(r.locator);
    let complete = locators.get(loc) ?? true;
    for (const id of r.blockIds) {
      const hex = blockIdToHex(id);
      blocks.add(hex);
      if (!live.has(hex)) complete = false;
    }
    locators.set(loc, complete);
  }
  let localBytes = 0;
  for (const hex of blocks) localBytes += live.get(hex) ?? 0;
  let needFiles = 0;
  for (const complete of locators.values()) if (!complete) needFiles++;
  const stats = {
    globalFiles: locators.size,
    // Ciphertext sizes of blocks not yet here are unknown (the plaintext size
    // is sealed): they count in needFiles, not in bytes.
    globalBytes: localBytes,
    localFiles: locators.size - needFiles,
    localBytes,
    needFiles,
    needBytes: 0,
  };
  return { stats, referenced: blocks };
}
