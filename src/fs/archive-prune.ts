/**
 * Keeping the archive from crowding out live data: old versions never block
 * new ones.
 *
 * - Size bound: a folder's `archive.maxMiB`, or when that is 0 (the default)
 *   DEFAULT_ARCHIVE_SHARE of the file system the folder is on.
 * - Free-space margin (Syncthing's minDiskFree idea, applied to old versions
 *   only): when the file system has less than ARCHIVE_MIN_FREE_SHARE of its
 *   size free — or less than a write in progress needs plus that margin — the
 *   oldest versions are removed until it has.
 *
 * Removal order is oldest first (by the time in the copy's name, then its
 * collision suffix, then its path), so the newest versions stay as long as
 * space allows. One pass removes at most MAX_PRUNED_PER_PASS copies.
 */
import { rmdir, statfs, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SealsyncError } from '../errors.js';
import { ARCHIVE_REL } from './archive.js';
import { listArchive, type ArchivedCopy } from './archive-versions.js';

/** Without a folder's own bound the archive holds at most this share of its file system. */
export const DEFAULT_ARCHIVE_SHARE = 0.1;
/** Below this share of the file system free, the oldest versions give their space back. */
export const ARCHIVE_MIN_FREE_SHARE = 0.01;
/** Copies one pruning pass removes at most (a huge archive is pruned over several passes). */
export const MAX_PRUNED_PER_PASS = 10_000;

export interface DiskSpace {
  /** Size of the file system, bytes. */
  readonly total: number;
  /** Bytes an unprivileged writer can still use. */
  readonly free: number;
}

/** Size and free space of the file system holding `path`. */
export async function diskSpace(path: string): Promise<DiskSpace> {
  const s = await statfs(path);
  return { total: s.blocks * s.bsize, free: s.bavail * s.bsize };
}

/** The archive's size bound: the folder's own (bytes, > 0) or DEFAULT_ARCHIVE_SHARE of the disk. */
export function archiveBoundBytes(maxBytes: number, disk: DiskSpace): number {
  if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', "'maxBytes' must be a non-negative number");
  return maxBytes > 0 ? maxBytes : Math.floor(disk.total * DEFAULT_ARCHIVE_SHARE);
}

/** The free space the archive leaves on a disk. */
export function minFreeBytes(disk: DiskSpace): number {
  return Math.ceil(disk.total * ARCHIVE_MIN_FREE_SHARE);
}

/** Oldest first: archive time, then collision suffix, then path (the order copies are given up in). */
export function oldestFirst(a: ArchivedCopy, b: ArchivedCopy): number {
  return a.archivedAt - b.archivedAt || compareVersions(a.version, b.version) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** `20261207-010203` < `20261207-010203-2` < `20261207-010203-10`. */
function compareVersions(a: string, b: string): number {
  const n = (v: string) => Number(v.split('-')[2] ?? 0);
  return a.slice(0, 15) < b.slice(0, 15) ? -1 : a.slice(0, 15) > b.slice(0, 15) ? 1 : n(a) - n(b);
}

/**
 * The copies to remove to free `bytes` (pure): oldest first, stopping as soon
 * as enough is freed, at most `max` of them. Free nothing: none.
 */
export function pruneOrder(copies: readonly ArchivedCopy[], bytes: number, max = MAX_PRUNED_PER_PASS): ArchivedCopy[] {
  if (!(bytes > 0)) return [];
  const out: ArchivedCopy[] = [];
  let freed = 0;
  for (const c of [...copies].sort(oldestFirst)) {
    if (freed >= bytes || out.length >= max) break;
    out.push(c);
    freed += c.size;
  }
  return out;
}

export type PruneReason = 'size-bound' | 'disk-space';

export interface PruneResult {
  /** Copies removed, oldest first. */
  readonly removed: readonly ArchivedCopy[];
  readonly freedBytes: number;
  /** Why: over the size bound, or the disk short of free space (this wins when both). */
  readonly reason: PruneReason | null;
  /** What the archive holds afterwards. */
  readonly keptBytes: number;
  readonly kept: number;
}

/**
 * Removes the oldest archived copies of the folder at `root` until the archive
 * is within its bound (`maxBytes`, 0 = the default share of the disk) and the
 * disk has `needBytes` plus the margin free. Never touches anything but
 * archived copies (names that parse as versions, inside the archive).
 */
export async function pruneArchive(root: string, opts: { maxBytes: number; needBytes?: number }): Promise<PruneResult> {
  const copies = await listArchive(root);
  const held = copies.reduce((n, c) => n + c.size, 0);
  if (copies.length === 0) return { removed: [], freedBytes: 0, reason: null, keptBytes: 0, kept: 0 };
  const disk = await diskSpace(root);
  const overBound = held - archiveBoundBytes(opts.maxBytes, disk);
  const short = (opts.needBytes ?? 0) + minFreeBytes(disk) - disk.free;
  const toFree = Math.max(overBound, short, 0);
  const removed: ArchivedCopy[] = [];
  let freedBytes = 0;
  for (const c of pruneOrder(copies, toFree)) {
    try {
      await unlink(join(root, c.archivePath));
    } catch {
      continue; // gone already (restored, cleaned): not ours to count
    }
    removed.push(c);
    freedBytes += c.size;
    await removeEmptyParents(root, c.archivePath);
  }
  const reason: PruneReason | null = removed.length === 0 ? null : short > 0 ? 'disk-space' : 'size-bound';
  return { removed, freedBytes, reason, keptBytes: held - freedBytes, kept: copies.length - removed.length };
}

/** Directories of the archive that the removal left empty (never the archive itself). */
async function removeEmptyParents(root: string, archivePath: string): Promise<void> {
  const top = join(root, ARCHIVE_REL);
  for (let dir = dirname(join(root, archivePath)); dir.startsWith(`${top}/`); dir = dirname(dir)) {
    try {
      await rmdir(dir);
    } catch {
      return; // not empty (or raced with a new copy): keep it and its parents
    }
  }
}
