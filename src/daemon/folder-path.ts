/**
 * Checks a path a user wants to share: it exists, is a directory we can list,
 * and neither lies inside nor contains another shared folder or the home
 * (syncing the home would sync its keys and index). Compared by realpath so
 * symlinks and `..` cannot sneak an overlap past the check.
 */
import { opendir, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { SealsyncError } from '../errors.js';

/** Returns the folder's realpath, or throws the precise one-line error. */
export async function checkFolderPath(path: string, others: readonly string[], home: string): Promise<string> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new SealsyncError('ERR_PATH_MISSING', `${abs} does not exist`);
    throw new SealsyncError('ERR_PATH_UNREADABLE', `${abs} cannot be read (${code ?? 'error'})`);
  }
  if (!st.isDirectory()) throw new SealsyncError('ERR_PATH_NOT_DIR', `${abs} is not a directory`);
  try {
    // access() says yes to root; actually listing the directory is the honest test.
    const dir = await opendir(abs);
    try { await dir.read(); } finally { await dir.close().catch(() => undefined); }
  } catch (err) {
    throw new SealsyncError('ERR_PATH_UNREADABLE', `${abs} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const real = await realpath(abs);
  const homeReal = await realpath(home).catch(() => resolve(home));
  if (overlaps(real, homeReal)) {
    throw new SealsyncError('ERR_FOLDER_OVERLAP', `${abs} overlaps the sealsync home ${home}`);
  }
  for (const other of others) {
    const otherReal = await realpath(other).catch(() => resolve(other));
    if (otherReal === real) throw new SealsyncError('ERR_FOLDER_EXISTS', `${abs} is already shared`);
    if (overlaps(real, otherReal)) throw new SealsyncError('ERR_FOLDER_OVERLAP', `${abs} overlaps the shared folder ${other}`);
  }
  return real;
}

/** True when one path equals or lies inside the other. */
export function overlaps(a: string, b: string): boolean {
  if (a === b) return true;
  const withSep = (p: string): string => (p.endsWith(sep) ? p : p + sep);
  return a.startsWith(withSep(b)) || b.startsWith(withSep(a));
}

/** Best-effort canonical form of a path naming an existing shared folder (it may be gone from disk). */
export async function canonicalFolderPath(path: string): Promise<string> {
  const abs = resolve(path);
  return realpath(abs).catch(() => abs);
}
