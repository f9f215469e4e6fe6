/**
 * Concurrent versions: no write is ever lost.
 *
 * When two versions of a path are concurrent and differ, every read-write
 * peer picks the same winner (src/model/needs.ts, fixed rule). The loser is
 * kept as `name.sync-conflict-YYYYMMDD-HHMMSS-<writer>.ext`, a normal file
 * that then syncs, and a version that dominates both (merge + bump) is
 * published for the path with the winner's content.
 *
 * The conflict copy's name is derived from the loser alone — its mtime and
 * the id of its last writer — so two peers that resolve the same conflict on
 * their own produce the same name with the same content: their copies meet as
 * equal content instead of multiplying.
 */
import { conflictName, conflictTimeFromMs, sameContent } from '../../model/needs.js';
import { bumpVector, compareVectors, lastWriter, mergeVectors } from '../../model/version-vector.js';
import type { FileRecord, VersionVector } from '../../model/types.js';

/** Characters of the writer's vector id used in a conflict name. */
export const CONFLICT_WRITER_CHARS = 7;

/** The path of the conflict copy that keeps `loser`. */
export function conflictCopyPath(loser: FileRecord): string {
  const writer = lastWriter(loser.version).slice(0, CONFLICT_WRITER_CHARS).toUpperCase() || 'UNKNOWN';
  return conflictName(loser.path, conflictTimeFromMs(loser.mtimeMs), writer);
}

/** A version that dominates every one of `versions`, written by `vectorId`. */
export function dominatingVersion(versions: readonly VersionVector[], vectorId: string): VersionVector {
  let merged: VersionVector = [];
  for (const v of versions) merged = mergeVectors(merged, v);
  return bumpVector(merged, vectorId);
}

/**
 * The loser's content as a file at its conflict-copy path. `existing` is the
 * version already held for that path (if any), which the copy must dominate.
 */
export function conflictCopyRecord(loser: FileRecord, existing: VersionVector, vectorId: string): FileRecord {
  return { ...loser, path: conflictCopyPath(loser), version: bumpVector(existing, vectorId), deleted: false };
}

/** The record published for the conflicted path: the winner's content, dominating every version held. */
export function resolvedRecord(winner: FileRecord, versions: readonly VersionVector[], vectorId: string): FileRecord {
  return { ...winner, version: dominatingVersion([winner.version, ...versions], vectorId) };
}

/**
 * The versions that lose to `winner` and must be kept as conflict copies:
 * live, concurrent (every held version is, or it would have been dropped),
 * and with different content. Deleted versions lose without a copy.
 */
export function conflictLosers(winner: FileRecord, versions: readonly FileRecord[]): FileRecord[] {
  return versions.filter((v) => v !== winner && !v.deleted && !sameContent(v, winner) && compareVectors(v.version, winner.version) === 'concurrent');
}
