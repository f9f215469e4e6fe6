/**
 * How LocalFolder records one changed path in the index: the version a local
 * change gets (bump of the previous version, superseding everything this
 * device wrote before), when no new version is made at all (a touch; content
 * equal to the global winner), and what a read-only folder keeps (the last
 * synced version, flagged as a local change). The write goes into the
 * folder's LocalWriteBatch.
 */
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Index } from '../../index/index.js';
import type { FileStat, LocalFileInput, RecordInput, StoredRecord } from '../../index/types.js';
import { compareVectors, bumpVector, mergeVectors } from '../../model/version-vector.js';
import { sameSyncedMode } from '../../model/file-mode.js';
import { pickWinner, sameContent } from '../../model/needs.js';
import { withholdsBlockIds } from '../../model/block-ids.js';
import type { FileRecord, VersionVector } from '../../model/types.js';
import { decodeSealedRecord, locatorFor, openRecord, sealRecordBytes, type FolderKeys } from '../../crypto/index.js';
import { isUnder, tombstoneFor, type ScanEntry } from './scan-diff.js';
import type { IgnoreMatcher } from './local-folder-fs.js';
import type { LocalWriteBatch } from './local-write-batch.js';

export interface LocalChangeRecorderDeps {
  readonly index: Index;
  readonly folder: number;
  readonly keys: FolderKeys;
  readonly batch: LocalWriteBatch;
  readonly log: Logger;
  /** Another writer (the puller) is replacing `path` right now: the scanner leaves it alone. */
  readonly isBusy: (path: string) => boolean;
  /** LocalFolder's count of flushes by another writer of files rows (see LocalFolder.flush). */
  readonly externalWrites: () => number;
  /** This device's id (text), sealed into every record it writes (FileRecord.writer). */
  readonly writer?: string;
}

export class LocalChangeRecorder {
  constructor(private readonly deps: LocalChangeRecorderDeps) {}

  /** The index row for `path`, after committing a pending write for it (so versions chain). */
  getFileFresh(path: string) {
    if (this.deps.batch.has(path)) this.deps.batch.flush();
    return this.deps.index.getFile(this.deps.folder, path);
  }

  /**
   * Queues the index write for one changed path. `content` carries everything
   * but the version; the version is decided here. `disk` is the stat the
   * content was read under (for the next rescan's shortcut).
   */
  record(content: FileRecord, disk: ScanEntry, absentSince?: number): void {
    const path = content.path;
    if (this.deps.isBusy(path)) return; // hashing took a while; the puller took the path over
    // A path the scan's snapshot had no row for has none now either, unless another
    // writer (the puller) wrote rows since or this scan's own batch holds it: skip the
    // lookup (one query per new file, ~16 µs each: 3-4% of an initial scan's main thread).
    const known = absentSince !== undefined && absentSince === this.deps.externalWrites() && !this.deps.batch.has(path);
    const prev = known ? undefined : this.getFileFresh(path);
    const locator = locatorFor(this.deps.keys, path);
    const held = this.deps.index.currentRecords(this.deps.folder, locator);
    const diskFields = { diskMtimeMs: disk.mtimeMs, ino: disk.ino, dev: disk.dev };

    // Same content as indexed (a touch, an inode change): refresh the stat only, no new version.
    if (prev && !prev.record.deleted && sameState(prev.record, content)) {
      const completed = this.completion(prev.record, content, locator, held);
      if (completed) this.deps.batch.add({ file: { record: { ...prev.record, blocks: content.blocks }, ...diskFields, localChange: prev.localChange }, sealed: completed });
      else this.deps.batch.add({ file: { record: prev.record, ...diskFields, localChange: prev.localChange } });
      return;
    }
    // Identical to the global winner (already synced, copied in by hand, or a delete
    // the sync engine has not applied yet): adopt the winner's version, publish nothing.
    const opened = this.openHeld(held);
    const winner = pickWinner(opened);
    if (winner && sameState(winner, content) && (!prev || compareVectors(winner.version, prev.record.version) !== 'lesser')) {
      this.deps.batch.add({ file: { record: { ...content, version: winner.version }, ...diskFields } });
      return;
    }

    if (this.deps.keys.type === 'ro') {
      // Cannot sign: keep the last synced version and flag the difference.
      const record = { ...content, version: prev?.record.version ?? [] };
      const localChange = !(content.deleted && !winner);
      this.deps.batch.add({ file: { record, ...diskFields, localChange } });
      return;
    }

    const version = this.nextVersion(seenVersion(prev?.record, opened), held);
    const record: FileRecord = { ...content, version, ...(this.deps.writer !== undefined ? { writer: this.deps.writer } : {}) };
    const file: LocalFileInput = { record, ...diskFields };
    this.deps.batch.add({ file, sealed: this.sealed(record, locator) });
  }

  /**
   * The indexed version, unchanged, now with the block ids a sealing scan just
   * computed, when the index holds it without them (docs/crypto.md §4.4): the
   * held record's body (its writer too) re-sealed with the ids, which the
   * index stores in place of the row that withheld them. Null when there is
   * nothing to complete, or the indexed version is not one held (left as it is).
   */
  private completion(prev: FileRecord, content: FileRecord, locator: Uint8Array, held: readonly StoredRecord[]): RecordInput | null {
    if (this.deps.keys.type !== 'rw' || !withholdsBlockIds(prev) || withholdsBlockIds(content)) return null;
    const same = held.filter((h) => compareVectors(h.version, prev.version) === 'equal');
    const opened = this.openHeld(same)[0];
    if (!opened || !sameState(opened, content)) return null;
    return this.sealed({ ...opened, blocks: content.blocks }, locator);
  }

  private sealed(record: FileRecord, locator: Uint8Array): RecordInput {
    return {
      locator,
      version: record.version,
      blockIds: record.blocks.flatMap((b) => (b.id === null ? [] : [b.id])),
      sealed: sealRecordBytes(this.deps.keys, record, locator),
      plain: { kind: record.kind, size: record.size, mtimeMs: record.mtimeMs, deleted: record.deleted },
    };
  }

  /**
   * bump(previous local version). If some held record is not concurrent with
   * or dominated by that (e.g. our own older record for a path whose file row
   * was forgotten), bump the merge of everything held instead, so the new
   * local version always supersedes what this device itself wrote before.
   */
  private nextVersion(base: VersionVector, held: readonly StoredRecord[]): VersionVector {
    const candidate = bumpVector(base, this.deps.index.vectorId);
    const ok = held.every((h) => {
      const order = compareVectors(candidate, h.version);
      return order === 'greater' || order === 'concurrent';
    });
    if (ok) return candidate;
    return bumpVector(held.reduce<VersionVector>((acc, h) => mergeVectors(acc, h.version), base), this.deps.index.vectorId);
  }

  private openHeld(held: readonly StoredRecord[]): FileRecord[] {
    const opened: FileRecord[] = [];
    for (const h of held) {
      try {
        opened.push(openRecord(this.deps.keys, decodeSealedRecord(h.sealed)));
      } catch (err) {
        this.deps.log.warn({ err: describeError(err) }, 'a stored record could not be opened');
      }
    }
    return opened;
  }

  /** Deletions: `known` holds the index rows the scan did not see (FolderScan.scanEntries removes the ones it saw). */
  recordMissing(known: Map<string, FileStat>, skipped: readonly string[], ignore: IgnoreMatcher, now: number): void {
    for (const [path, st] of known) {
      if (st.deleted || this.deps.isBusy(path)) continue;
      if (skipped.some((d) => isUnder(path, d))) continue;
      // A path that is now ignored is left alone, not deleted on every peer.
      if (ignore.ignores(path, st.kind === 'dir')) continue;
      const prev = this.getFileFresh(path);
      if (!prev || prev.record.deleted) continue;
      this.record(tombstoneFor(prev.record, [], now), { path, kind: prev.record.kind, size: 0, mtimeMs: 0, mode: prev.record.mode, ino: 0, dev: 0 });
    }
  }
}

/**
 * The version a local change is made on top of: the indexed one, merged with
 * every held version of the same content. Two devices that resolve the same
 * conflict at once (or get the same file by hand) hold concurrent versions of
 * identical content, and nothing ever merges them; a delete or edit built on
 * the local version alone stayed concurrent with the other, so the other
 * (live) one won and the delete was undone — everywhere but here (found by
 * the chaos run). The user saw that content, so the change supersedes it;
 * versions with other content are left concurrent (they are real conflicts).
 */
function seenVersion(prev: FileRecord | undefined, held: readonly FileRecord[]): VersionVector {
  if (!prev) return [];
  let base = prev.version;
  for (const h of held) if (!prev.deleted && !h.deleted && sameState(h, prev)) base = mergeVectors(base, h.version);
  return base;
}

/** Same content and, for live files, the same exec bit (the only mode bit that is synced). */
function sameState(a: FileRecord, b: FileRecord): boolean {
  return sameContent(a, b) && (a.deleted || sameSyncedMode(a.kind, a.mode, b.mode));
}
