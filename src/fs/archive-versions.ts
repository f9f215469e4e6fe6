/**
 * Reading the archive back (archive.ts writes it): every archived copy under
 * `.sealsync/archive/` as the path it was archived from, its version id (the
 * stamp in its name, plus the collision suffix) and its size; and putting a
 * copy back at its path. Pruning to a size bound is archive-prune.ts.
 *
 * Archive names are `<stem>~<YYYYMMDD-HHMMSS>[-n]<ext>`; a name that does not
 * parse (something a user dropped there) is not a version and is left alone.
 * Directories are never archived, their files are: restoring a directory is
 * restoring every file archived below it.
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, lstat, readdir, rename, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { ARCHIVE_REL, formatStamp, parseStamp } from './archive.js';
import { PRIVATE_DIR_NAME, checkRelativePath, lstatOrNull, mkdirParentsSafe, resolveSafe } from './safe-fs.js';
import { TEMP_PREFIX } from './temp-files.js';

/** Upper bound on archived copies one listing visits. */
export const MAX_ARCHIVE_LIST_ENTRIES = 100_000;

export interface ArchivedCopy {
  /** The folder-relative path the copy was archived from. */
  readonly path: string;
  /** `YYYYMMDD-HHMMSS` or `YYYYMMDD-HHMMSS-n`: unique among one path's copies. */
  readonly version: string;
  /** The copy's path relative to the folder root (inside the private directory). */
  readonly archivePath: string;
  /** When it was archived (from its name), ms since the epoch. */
  readonly archivedAt: number;
  readonly size: number;
  /** The archived content's own modification time. */
  readonly mtimeMs: number;
}

const ARCHIVED_NAME = /^(.*)~(\d{8}-\d{6})(-\d+)?(\.[^.~]*)?$/;

/** `report~20261126-212424-1.pdf` → `{ name: 'report.pdf', version: '20261126-212424-1' }`; null if not an archive name. */
export function parseArchivedName(name: string): { name: string; version: string; at: number } | null {
  const m = ARCHIVED_NAME.exec(name);
  if (!m || m[1] === '') return null;
  const at = parseStamp(m[2]!);
  // Date.UTC rolls month 13 or second 99 over: only a stamp that formats back to itself is one.
  if (at === null || formatStamp(new Date(at)) !== m[2]) return null;
  return { name: `${m[1]}${m[4] ?? ''}`, version: `${m[2]}${m[3] ?? ''}`, at };
}

/** Every archived copy in the folder at `root`, newest first. Never follows symlinks. */
export async function listArchive(root: string): Promise<ArchivedCopy[]> {
  const out: ArchivedCopy[] = [];
  let visited = 0;
  const walk = async (abs: string, rel: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++visited > MAX_ARCHIVE_LIST_ENTRIES) return;
      const childAbs = join(abs, e.name);
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) { await walk(childAbs, childRel); continue; }
      if (!e.isFile()) continue;
      const parsed = parseArchivedName(e.name);
      if (!parsed) continue;
      const dir = rel === '' ? '' : `${rel}/`;
      const path = `${dir}${parsed.name}`;
      try {
        checkRelativePath(path);
      } catch {
        continue;
      }
      const st = await lstat(childAbs).catch(() => null);
      if (!st?.isFile()) continue;
      out.push({ path, version: parsed.version, archivePath: `${ARCHIVE_REL}/${childRel}`, archivedAt: parsed.at, size: st.size, mtimeMs: Math.floor(st.mtimeMs) });
    }
  };
  await walk(join(root, ARCHIVE_REL), '');
  return out.sort((a, b) => b.archivedAt - a.archivedAt || b.version.localeCompare(a.version) || a.path.localeCompare(b.path));
}

/**
 * Puts the archived `copy` back at `copy.path`: copied to a temp file in the
 * private directory (same file system), given the copy's mtime, then renamed
 * over the path, so the path holds the old or the restored content, never a
 * mix. The caller archives what the path holds first. Returns the directories
 * it had to create (outermost first).
 */
export async function putBackArchived(root: string, copy: ArchivedCopy): Promise<{ created: string[] }> {
  const src = join(root, copy.archivePath);
  const st = await lstatOrNull(src);
  if (!st?.isFile()) throw new SealsyncError('ERR_NOT_FOUND', 'that archived version is gone', { path: copy.path });
  const target = await resolveSafe(root, copy.path);
  const existing = await lstatOrNull(target);
  if (existing?.isDirectory()) throw new SealsyncError('ERR_PATH_UNSAFE', 'a directory is in the way of the restored file', { path: copy.path });
  const { created } = await mkdirParentsSafe(root, copy.path);
  const temp = join(root, PRIVATE_DIR_NAME, `${TEMP_PREFIX}restore-${randomBytes(8).toString('hex')}`);
  try {
    await copyFile(src, temp, fsConstants.COPYFILE_EXCL);
    await utimes(temp, new Date(), new Date(copy.mtimeMs));
    await rename(temp, target);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
  return { created };
}
