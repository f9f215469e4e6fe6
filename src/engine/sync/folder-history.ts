/**
 * A full folder's past, for people: archived versions (list, restore) and
 * the conflict copies in the index (list, keep one side).
 *
 * How this works:
 * - Versions are what `.sealsync/archive/` holds (fs/archive-versions.ts);
 *   the index's archive notes add who replaced each copy. A path whose file
 *   is gone from disk shows as deleted, and a directory is restored by
 *   restoring the newest copy of every missing file archived below it.
 * - Every change here is made on disk and then handed to the scanner for the
 *   paths touched (`rescan`), so it becomes a local version like any edit:
 *   signed, written by this device, sent to every peer. What a restore or a
 *   "keep" replaces is archived first (noted as replaced by this device).
 * - Conflicts are the copies named `….sync-conflict-<stamp>-<writer>….` in
 *   the files table, whichever device made them; each pairs with the path it
 *   was cut from. Who wrote each side comes from the sealed record's body
 *   (FileRecord.writer).
 */
import { rename } from 'node:fs/promises';
import { decodeSealedRecord, locatorFor, openRecord, type FolderKeys } from '../../crypto/index.js';
import { SealsyncError } from '../../errors.js';
import { archiveFile } from '../../fs/archive.js';
import { listArchive, putBackArchived, type ArchivedCopy } from '../../fs/archive-versions.js';
import { lstatOrNull, mkdirParentsSafe, resolveSafe } from '../../fs/safe-fs.js';
import type { Index } from '../../index/index.js';
import { compareVectors } from '../../model/version-vector.js';
import type { FileRecord } from '../../model/types.js';

/** Largest number of conflict copies one listing returns. */
export const MAX_CONFLICTS_LISTED = 1000;

export interface FileVersion {
  readonly version: string;
  readonly archivedAt: number;
  readonly size: number;
  readonly mtimeMs: number;
  /** Device id whose change replaced this content; null when unknown. */
  readonly replacedBy: string | null;
}

export interface FileVersions {
  readonly path: string;
  /** The path has no file on disk now (deleted, or its directory is). */
  readonly deleted: boolean;
  /** Newest first. */
  readonly versions: readonly FileVersion[];
}

export interface ConflictSide {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** Device id that wrote this content; null when the record does not say. */
  readonly writer: string | null;
}

export interface ConflictEntry {
  /** The path both versions were for (the winner sits there). */
  readonly file: string;
  readonly original: ConflictSide | null;
  readonly copy: ConflictSide;
}

export interface FolderHistoryDeps {
  readonly root: string;
  readonly keys: FolderKeys;
  readonly index: Index;
  readonly folder: number;
  /** This device's id (text): what a restore or a keep is noted as replaced by. */
  readonly deviceId: string;
  /** Scans `paths` now so the change becomes a local version. */
  readonly rescan: (paths: readonly string[], opts: { signal?: AbortSignal }) => Promise<void>;
  readonly now: () => number;
}

const CONFLICT_NAME = /^(.*)\.sync-conflict-\d{8}-\d{6}-[A-Za-z0-9]+(\.[^./]*)?$/;

/** The path a conflict copy was cut from, or null when `path` is not a conflict copy. */
export function conflictOriginal(path: string): string | null {
  const slash = path.lastIndexOf('/');
  const m = CONFLICT_NAME.exec(path.slice(slash + 1));
  if (!m || m[1] === '') return null;
  return `${path.slice(0, slash + 1)}${m[1]}${m[2] ?? ''}`;
}

function isUnder(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

export class FolderHistory {
  constructor(private readonly deps: FolderHistoryDeps) {}

  /** Archived versions grouped by path (of `under` and below when given), newest first. */
  async versions(under = ''): Promise<FileVersions[]> {
    const copies = (await listArchive(this.deps.root)).filter((c) => isUnder(c.path, under));
    const notes = this.deps.index.history.archiveNotes(this.deps.folder);
    const byPath = new Map<string, FileVersion[]>();
    for (const c of copies) {
      const list = byPath.get(c.path) ?? [];
      list.push({ version: c.version, archivedAt: c.archivedAt, size: c.size, mtimeMs: c.mtimeMs, replacedBy: notes.get(c.archivePath)?.replacedBy ?? null });
      byPath.set(c.path, list);
    }
    const out: FileVersions[] = [];
    for (const [path, versions] of [...byPath].sort((a, b) => a[0].localeCompare(b[0]))) {
      const st = await lstatOrNull(await resolveSafe(this.deps.root, path).catch(() => ''));
      out.push({ path, deleted: st === null || !st.isFile(), versions });
    }
    return out;
  }

  /**
   * Restores `file` at `version` (default: its newest copy). When `file` has
   * no copies of its own but files below it do, it is a directory: every
   * file below it that is missing now gets its newest copy back. Returns the
   * paths restored.
   */
  async restore(file: string, version: string | undefined, opts: { signal?: AbortSignal } = {}): Promise<string[]> {
    const copies = await listArchive(this.deps.root);
    const own = copies.filter((c) => c.path === file);
    let chosen: ArchivedCopy[];
    if (own.length > 0) {
      const pick = version === undefined ? own[0] : own.find((c) => c.version === version);
      if (!pick) throw new SealsyncError('ERR_NOT_FOUND', `no archived version ${version} of ${file}`, { path: file });
      chosen = [pick];
    } else {
      if (version !== undefined) throw new SealsyncError('ERR_NOT_FOUND', `no archived version ${version} of ${file}`, { path: file });
      const below = copies.filter((c) => isUnder(c.path, file) && c.path !== file);
      const newest = new Map<string, ArchivedCopy>();
      for (const c of below) if (!newest.has(c.path)) newest.set(c.path, c); // copies are newest first
      chosen = [];
      for (const c of newest.values()) {
        if ((await lstatOrNull(await resolveSafe(this.deps.root, c.path))) === null) chosen.push(c);
      }
      if (below.length === 0) throw new SealsyncError('ERR_NOT_FOUND', `nothing of ${file} is in the archive`, { path: file });
    }
    const scanRoots = new Set<string>();
    for (const c of chosen) {
      opts.signal?.throwIfAborted();
      await this.archiveCurrent(c.path);
      const { created } = await putBackArchived(this.deps.root, c);
      // A directory the restore had to create is scanned whole, so it is recorded too.
      const top = created.length > 0 ? outermostCreated(c.path, created.length) : c.path;
      scanRoots.add(top);
    }
    if (scanRoots.size > 0) await this.deps.rescan([...scanRoots], opts);
    return chosen.map((c) => c.path);
  }

  /** The conflict copies in the index (this device's and every other's), each with the version at its path. */
  conflicts(): ConflictEntry[] {
    const out: ConflictEntry[] = [];
    for (const stat of this.deps.index.loadFileStats(this.deps.folder).values()) {
      if (stat.deleted || stat.kind !== 'file') continue;
      const file = conflictOriginal(stat.path);
      if (file === null) continue;
      const copy = this.side(stat.path);
      if (!copy) continue;
      out.push({ file, original: this.side(file), copy });
      if (out.length >= MAX_CONFLICTS_LISTED) break;
    }
    return out.sort((a, b) => a.file.localeCompare(b.file) || a.copy.path.localeCompare(b.copy.path));
  }

  /**
   * Resolves one conflict by hand: `keep: 'copy'` puts the copy's content at
   * the file's path (the path's current content is archived), `'original'`
   * keeps the path and archives the copy. Either way one file remains.
   */
  async keep(copyPath: string, keep: 'copy' | 'original', opts: { signal?: AbortSignal } = {}): Promise<void> {
    const file = conflictOriginal(copyPath);
    const entry = file === null ? undefined : this.conflicts().find((c) => c.copy.path === copyPath);
    if (file === null || !entry) throw new SealsyncError('ERR_NOT_FOUND', 'no such conflict copy', { path: copyPath });
    const copyAbs = await resolveSafe(this.deps.root, copyPath);
    if (!(await lstatOrNull(copyAbs))?.isFile()) throw new SealsyncError('ERR_NOT_FOUND', 'the conflict copy is gone from disk', { path: copyPath });
    if (keep === 'original') {
      await this.archiveCurrent(copyPath);
    } else {
      await this.archiveCurrent(file);
      const { abs } = await mkdirParentsSafe(this.deps.root, file);
      await rename(copyAbs, abs);
    }
    await this.deps.rescan([file, copyPath], opts);
  }

  /** Archives what `path` holds now (a regular file), noting this device as the one that replaced it. */
  private async archiveCurrent(path: string): Promise<void> {
    const now = this.deps.now();
    const archived = await archiveFile(this.deps.root, path, new Date(now), { keepOriginal: true }).catch((err: unknown) => {
      if (err instanceof SealsyncError && err.code === 'ERR_INVALID_ARGUMENT') return null; // a directory: nothing to keep
      throw err;
    });
    if (archived) this.deps.index.history.noteArchived(this.deps.folder, archived, { path, replacedBy: this.deps.deviceId, atMs: now });
  }

  private side(path: string): ConflictSide | null {
    const local = this.deps.index.getFile(this.deps.folder, path);
    if (!local || local.record.deleted) return null;
    return { path, size: local.record.size, mtimeMs: local.record.mtimeMs, writer: this.writerOf(local.record) };
  }

  /** The writer sealed in the held record of `record`'s version (the files table keeps no writer). */
  private writerOf(record: FileRecord): string | null {
    const { keys, index, folder } = this.deps;
    for (const held of index.currentRecords(folder, locatorFor(keys, record.path))) {
      if (compareVectors(held.version, record.version) !== 'equal') continue;
      try {
        return openRecord(keys, decodeSealedRecord(held.sealed)).writer ?? null;
      } catch {
        return null;
      }
    }
    return null;
  }
}

/** The outermost of the `count` directories created above `path` (mkdirParentsSafe creates from the outside in). */
function outermostCreated(path: string, count: number): string {
  const segments = path.split('/');
  const depth = segments.length - 1;
  return segments.slice(0, depth - count + 1).join('/');
}
