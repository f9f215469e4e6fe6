/**
 * Spots records a peer sends twice: within one index update, or earlier in
 * the same session for the same folder. An honest peer never does either (it
 * sends each record once, from a cursor that only moves forward, and a page
 * of its index holds each record once), so a replayed record is dropped
 * before any work is spent on it, and an update with more than a few is
 * charged (the caller's job).
 *
 * Records are remembered by a 48-bit fingerprint of their bytes (SHA-256
 * prefix; a chance collision needs ~2^24 records per folder per session),
 * at most MAX_REMEMBERED_RECORDS_PER_FOLDER per folder, oldest forgotten
 * first. Leaving or re-joining a folder forgets its records (the peer then
 * resends from its cursor, legitimately).
 */
import { hash } from 'node:crypto';
import { MAX_REMEMBERED_RECORDS_PER_FOLDER } from './limits.js';

export class ReplayGuard {
  private readonly folders = new Map<string, Set<number>>();

  constructor(private readonly maxPerFolder: number = MAX_REMEMBERED_RECORDS_PER_FOLDER) {}

  /** Forgets a folder's records (it was left or joined again). */
  forget(folderKey: string): void {
    this.folders.delete(folderKey);
  }

  /** The records of an update not seen before in this session, in order, and how many were replays. */
  filter(folderKey: string, records: readonly Uint8Array[]): { fresh: Uint8Array[]; replayed: number } {
    let seen = this.folders.get(folderKey);
    if (!seen) this.folders.set(folderKey, (seen = new Set()));
    const fresh: Uint8Array[] = [];
    let replayed = 0;
    for (const bytes of records) {
      const fp = fingerprint(bytes);
      if (seen.has(fp)) {
        replayed++;
        continue;
      }
      seen.add(fp);
      if (seen.size > this.maxPerFolder) {
        const oldest = seen.values().next().value;
        if (oldest !== undefined) seen.delete(oldest);
      }
      fresh.push(bytes);
    }
    return { fresh, replayed };
  }
}

function fingerprint(bytes: Uint8Array): number {
  return hash('sha256', bytes, 'buffer').readUIntBE(0, 6);
}
