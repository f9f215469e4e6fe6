/**
 * The archive: a file that a remote change replaces or deletes is first moved
 * to `.sealsync/archive/<dir>/<name>~<YYYYMMDD-HHMMSS>.<ext>` (UTC) so a bad
 * or malicious change from another read-write device can be undone by hand.
 * Archived copies are kept `retentionDays` and removed by cleanArchive(), which
 * the folder coordinator calls periodically. The archive lives inside the
 * folder's private directory, which the scanner ignores and peers can never
 * address (safe-fs rejects it as a record path).
 */
import { constants as fsConstants } from 'node:fs';
import { copyFile, link, lstat, mkdir, readdir, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SealsyncError } from '../errors.js';
import { DEFAULT_RETENTION_DAYS } from '../model/retention.js';
import { PRIVATE_DIR_NAME, baseOf, checkRelativePath, lstatOrNull, mkdirParentsSafe, parentOf, resolveSafe } from './safe-fs.js';

export const ARCHIVE_DIR_NAME = 'archive';
/** Upper bound on entries visited by one cleanArchive() pass (a huge archive is cleaned over several passes). */
export const MAX_ARCHIVE_CLEAN_ENTRIES = 100_000;
/** How many same-second names we try before giving up. */
const MAX_NAME_COLLISIONS = 100;
const DAY_MS = 86_400_000;

/** The archive's relative path inside the folder root. */
export const ARCHIVE_REL = `${PRIVATE_DIR_NAME}/${ARCHIVE_DIR_NAME}`;

/** `YYYYMMDD-HHMMSS` in UTC. */
export function formatStamp(now: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${p(now.getUTCFullYear(), 4)}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-` +
    `${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`
  );
}

/** Parses `YYYYMMDD-HHMMSS` (UTC); null if malformed. */
export function parseStamp(stamp: string): number | null {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(stamp);
  if (!m) return null;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!);
  return Number.isFinite(t) ? t : null;
}

/** Splits `name.ext` into stem and extension (dotfiles have no extension). */
export function splitExtension(name: string): { stem: string; ext: string } {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return { stem: name, ext: '' };
  return { stem: name.slice(0, dot), ext: name.slice(dot) };
}

/** `report.pdf` at `now` → `report~20261126-212424.pdf` (suffix for collisions). */
export function archiveName(name: string, now: Date, collision = 0): string {
  const { stem, ext } = splitExtension(name);
  const extra = collision > 0 ? `-${collision}` : '';
  return `${stem}~${formatStamp(now)}${extra}${ext}`;
}

/** Extracts the archive time from an archived file name; null if it is not one. */
export function archivedAt(name: string): number | null {
  const m = /~(\d{8}-\d{6})(?:-\d+)?(?:\.[^.]*)?$/.exec(name);
  return m ? parseStamp(m[1]!) : null;
}

/**
 * Moves the file or symlink at `rel` into the archive. Returns the archive's
 * relative path, or null if nothing was there. Directories are not archived
 * (their files are, one by one).
 */
export async function archiveFile(
  root: string,
  rel: string,
  now: Date,
  opts: { keepOriginal?: boolean } = {},
): Promise<string | null> {
  checkRelativePath(rel);
  const abs = await resolveSafe(root, rel);
  const st = await lstatOrNull(abs);
  if (st === null) return null;
  if (st.isDirectory()) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'cannot archive a directory', { path: rel });
  const dir = parentOf(rel);
  const archiveDirRel = dir === '' ? ARCHIVE_REL : `${ARCHIVE_REL}/${dir}`;
  for (let i = 0; i < MAX_NAME_COLLISIONS; i++) {
    const targetRel = `${archiveDirRel}/${archiveName(baseOf(rel), now, i)}`;
    const { abs: target } = await mkdirPrivateParents(root, targetRel);
    if ((await lstatOrNull(target)) !== null) continue;
    if (opts.keepOriginal) {
      // A hard link keeps the old content in the archive while the original
      // stays in place until an atomic rename replaces it: a crash in between
      // never leaves the path empty. Copy where links are not supported.
      try {
        await link(abs, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        await copyFile(abs, target, fsConstants.COPYFILE_EXCL);
      }
    } else {
      await rename(abs, target);
    }
    return targetRel;
  }
  throw new SealsyncError('ERR_INTERNAL', 'too many archived copies in the same second', { path: rel });
}

/** mkdirParentsSafe for a path inside the private directory (which checkRelativePath refuses as a record path). */
async function mkdirPrivateParents(root: string, privRel: string): Promise<{ abs: string }> {
  const inner = privRel.slice(PRIVATE_DIR_NAME.length + 1);
  const privAbs = join(root, PRIVATE_DIR_NAME);
  await ensurePrivateDir(privAbs);
  const { abs } = await mkdirParentsSafe(privAbs, inner);
  return { abs };
}

async function ensurePrivateDir(privAbs: string): Promise<void> {
  const st = await lstatOrNull(privAbs);
  if (st === null) {
    try {
      await mkdir(privAbs, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  const again = await lstat(privAbs);
  if (again.isSymbolicLink() || !again.isDirectory()) {
    throw new SealsyncError('ERR_PATH_UNSAFE', 'the folder private directory is not a real directory');
  }
}

export interface CleanArchiveResult {
  readonly removed: number;
  readonly kept: number;
}

/**
 * Deletes archived copies older than `retentionDays` (by the stamp in their
 * name) and the directories they leave empty. Never follows symlinks.
 */
export async function cleanArchive(root: string, now: Date, retentionDays: number = DEFAULT_RETENTION_DAYS): Promise<CleanArchiveResult> {
  if (!Number.isFinite(retentionDays) || retentionDays < 0) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', "'retentionDays' must be a non-negative number");
  }
  const cutoff = now.getTime() - retentionDays * DAY_MS;
  const base = join(root, ARCHIVE_REL);
  const st = await lstatOrNull(base);
  if (st === null || !st.isDirectory()) return { removed: 0, kept: 0 };
  let removed = 0;
  let kept = 0;
  let visited = 0;
  const walk = async (dir: string): Promise<boolean> => {
    // Returns true if the directory is empty afterwards.
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return false;
    }
    let remaining = entries.length;
    for (const e of entries) {
      if (++visited > MAX_ARCHIVE_CLEAN_ENTRIES) return false;
      const full = join(dir, e.name);
      if (e.isDirectory()) {
        if (await walk(full)) {
          try {
            await rmdir(full);
            remaining--;
          } catch {
            // raced with a new archive entry: keep it
          }
        }
        continue;
      }
      const at = archivedAt(e.name);
      if (at !== null && at < cutoff) {
        try {
          await unlink(full);
          removed++;
          remaining--;
        } catch {
          kept++;
        }
      } else {
        kept++;
      }
    }
    return remaining === 0;
  };
  await walk(base);
  return { removed, kept };
}
