/**
 * Pure helpers of the scanner: whether a walked entry differs from what the
 * index holds (the stat-only rescan shortcut), and how a walked entry plus
 * its hash result becomes a FileRecord.
 */
import type { FileStat } from '../../index/types.js';
import { isInStateDir } from '../../model/path.js';
import { sameSyncedMode } from '../../model/file-mode.js';
import { TEMP_PREFIX } from '../../fs/temp-files.js';
import type { WalkEntry } from '../../fs/walk.js';
import type { BlockRef, FileRecord, VersionVector } from '../../model/types.js';

/**
 * The stat fields of one entry that the scanner uses: exactly what the walker
 * yields (a hinted single-path stat builds the same shape; its mode may still
 * carry type bits, which permissionBits() drops).
 */
export type ScanEntry = WalkEntry;

/** Permission bits recorded for a path (records carry 0o000 – 0o777 only). */
export function permissionBits(mode: number): number {
  return mode & 0o777;
}

/**
 * True when `entry` needs no re-read: same kind, size, mtime, inode and
 * exec bit as indexed (the only mode bit that is synced: model/file-mode.ts).
 * Directories only need to exist. The device number is not compared: it can change across a remount
 * without any content change.
 *
 * mtimes are compared in whole milliseconds (floor), the walker's resolution
 * (fs/walk.ts): the index may hold a sub-millisecond stat (the puller records
 * the fstat it took after applying, e.g. 1234.999 for an mtime it set to
 * 1234), and comparing that raw made every received file look changed, so a
 * receiver re-read and re-hashed everything it had just pulled.
 */
export function isUnchanged(prev: FileStat | undefined, entry: ScanEntry): boolean {
  if (prev === undefined || prev.deleted || prev.kind !== entry.kind) return false;
  if (!sameSyncedMode(prev.kind, prev.mode, entry.mode)) return false;
  if (entry.kind === 'dir') return true;
  return prev.size === entry.size && Math.floor(prev.diskMtimeMs) === Math.floor(entry.mtimeMs) && prev.ino === entry.ino;
}

/** The record for a directory or symlink (nothing to hash). */
export function recordForEntry(entry: ScanEntry, version: VersionVector, blocks: readonly BlockRef[] = []): FileRecord {
  const base = {
    path: entry.path,
    kind: entry.kind,
    size: entry.kind === 'file' ? entry.size : 0,
    mtimeMs: Math.floor(entry.mtimeMs),
    mode: permissionBits(entry.mode),
    blocks: entry.kind === 'file' ? blocks : [],
    version,
    deleted: false,
  };
  return entry.kind === 'symlink' ? { ...base, symlinkTarget: entry.symlinkTarget ?? '' } : base;
}

/** A tombstone for a path that disappeared: same kind, no content. */
export function tombstoneFor(prev: FileRecord, version: VersionVector, nowMs: number): FileRecord {
  return { path: prev.path, kind: prev.kind, size: 0, mtimeMs: Math.floor(nowMs), mode: prev.mode, blocks: [], version, deleted: true };
}

/** True when `path` is `dir` itself or lies below it. */
export function isUnder(path: string, dir: string): boolean {
  return path === dir || (path.length > dir.length && path.startsWith(dir) && path.charCodeAt(dir.length) === 47);
}

/**
 * Paths that belong to sealsync itself and are never indexed: the folder's
 * `.sealsync/` state directory (or a nested folder's, in any spelling) and
 * the puller's in-progress temp files (a half-downloaded file must never be
 * published as a local edit).
 */
export function isInternalPath(path: string): boolean {
  if (isInStateDir(path)) return true;
  const slash = path.lastIndexOf('/');
  return path.startsWith(TEMP_PREFIX, slash + 1);
}
