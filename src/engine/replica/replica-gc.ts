/**
 * Garbage collection for the encrypted peer's block store, with retention.
 *
 * Mark and sweep against the set of block ids that the folder's current sealed
 * records reference:
 *  - a live block nobody references moves to the retained area, stamped now;
 *  - a retained block that is referenced again moves back (an undo/restore);
 *  - a retained block stamped at least `retentionDays` ago is deleted.
 * With retentionDays = 0 every unreferenced block is deleted in the same pass.
 *
 * The replica is an archive against accidental deletion or ransomware, so the
 * default keeps old blocks for DEFAULT_RETENTION_DAYS (model/retention.ts).
 * "Became unreferenced" is measured from the first GC pass that saw it
 * unreferenced (the engine runs one after every batch of records and every
 * GC_INTERVAL_MS).
 */
import { SealsyncError } from '../../errors.js';
import type { BlockStore } from '../../store/block-store.js';
import { MAX_RETENTION_DAYS } from '../../model/retention.js';

export const DAY_MS = 24 * 60 * 60 * 1000;

export interface GcOptions {
  readonly store: BlockStore;
  /** Hex ids of every block a current record references. */
  readonly referenced: ReadonlySet<string>;
  readonly retentionDays: number;
  readonly nowMs: number;
  readonly signal?: AbortSignal;
}

export interface GcReport {
  /** Live blocks that became unreferenced in this pass (now retained, or deleted when retention is 0). */
  readonly retired: number;
  /** Retained blocks referenced again and moved back. */
  readonly revived: number;
  /** Blocks deleted in this pass and the bytes freed. */
  readonly deleted: number;
  readonly deletedBytes: number;
  /** What remains retained after the pass. */
  readonly retainedBlocks: number;
  readonly retainedBytes: number;
  /** Live (referenced) blocks and their bytes after the pass. */
  readonly liveBlocks: number;
  readonly liveBytes: number;
}

export function validateRetentionDays(days: unknown): number {
  if (typeof days !== 'number' || !Number.isInteger(days) || days < 0 || days > MAX_RETENTION_DAYS) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'retentionDays' must be an integer from 0 to ${MAX_RETENTION_DAYS}`);
  }
  return days;
}

export async function collectGarbage(opts: GcOptions): Promise<GcReport> {
  const { store, referenced, nowMs, signal } = opts;
  const retentionMs = validateRetentionDays(opts.retentionDays) * DAY_MS;
  let retired = 0;
  let revived = 0;
  let deleted = 0;
  let deletedBytes = 0;
  let liveBlocks = 0;
  let liveBytes = 0;
  let retainedBlocks = 0;
  let retainedBytes = 0;

  // Collect first, act after: renaming while a directory is being listed can
  // make readdir skip or repeat entries.
  const toRetire: { id: string; size: number }[] = [];
  for await (const b of store.list('live', { signal })) {
    if (referenced.has(b.id)) {
      liveBlocks++;
      liveBytes += b.size;
    } else {
      toRetire.push(b);
    }
  }
  const retained = [];
  for await (const b of store.list('retained', { signal })) retained.push(b);

  for (const b of toRetire) {
    signal?.throwIfAborted();
    if (retentionMs === 0) {
      deletedBytes += await store.remove(b.id, 'live');
      deleted++;
      retired++;
    } else if (await store.retire(b.id, nowMs)) {
      retired++;
      retainedBlocks++;
      retainedBytes += b.size;
    }
  }
  for (const b of retained) {
    signal?.throwIfAborted();
    if (referenced.has(b.id)) {
      if (await store.revive(b.id)) {
        revived++;
        liveBlocks++;
        liveBytes += b.size;
      }
    } else if (nowMs - b.mtimeMs >= retentionMs) {
      deletedBytes += await store.remove(b.id, 'retained');
      deleted++;
    } else {
      retainedBlocks++;
      retainedBytes += b.size;
    }
  }
  // Deleted blocks leave dead bytes in their packs: rewrite the packs that are mostly dead.
  if (deleted > 0) await store.compact({ ...(signal ? { signal } : {}) });
  return { retired, revived, deleted, deletedBytes, retainedBlocks, retainedBytes, liveBlocks, liveBytes };
}
