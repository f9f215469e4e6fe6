/**
 * Temp files that failed transfers kept for resuming, one per path, removed
 * once another version of that path lands. A transfer of a file of at least
 * RESUME_MIN_BYTES that fails with some bytes written keeps its temp file,
 * named after the path and the version (fs/atomic-apply.ts tempNameFor), so
 * a retry of that version costs no transfer. When the path moves on to a
 * newer version instead (a file still being written on the sender), nothing
 * would ever reuse the old temp file: it stayed in the user's folder until
 * the hourly stale-temp sweep. Found by the torture test of a file that grows
 * while it syncs.
 */
import { unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { tempPathFor } from '../../fs/atomic-apply.js';
import type { FileRecord } from '../../model/types.js';

/** Paths remembered at most; past this the oldest is forgotten (the stale-temp sweep still finds its file). */
export const MAX_KEPT_TEMPS = 10_000;

export class KeptTemps {
  /** The target file (absolute) → the temp file a failed transfer to it may have kept. */
  readonly #byTarget = new Map<string, string>();

  /** A transfer of `record` into `root` failed: its temp file may have been kept. */
  failed(root: string, record: FileRecord): void {
    if (record.kind !== 'file' || record.deleted) return;
    const target = targetOf(root, record);
    this.#byTarget.delete(target);
    if (this.#byTarget.size >= MAX_KEPT_TEMPS) this.#byTarget.delete(this.#byTarget.keys().next().value as string);
    this.#byTarget.set(target, tempPathFor(target, record));
  }

  /** `record` was applied or refused without a transfer (never thrown): an older version's temp file goes. */
  async settled(root: string, record: FileRecord): Promise<void> {
    const target = targetOf(root, record);
    const kept = this.#byTarget.get(target);
    if (kept === undefined) return;
    this.#byTarget.delete(target);
    if (record.kind === 'file' && !record.deleted && kept === tempPathFor(target, record)) return;
    await unlink(kept).catch(() => undefined); // never made, or already gone
  }
}

function targetOf(root: string, record: FileRecord): string {
  return join(root, ...record.path.split('/'));
}


