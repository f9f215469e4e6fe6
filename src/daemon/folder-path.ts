/**
 * Checks a path a user wants to share: it exists, is a directory we can list
 * and write (every folder type writes: pulled files, the replica's blocks,
 * `.sealsync`), and neither lies inside nor contains another shared folder or
 * the home (syncing the home would sync its keys and index). Compared by
 * realpath so symlinks and `..` cannot sneak an overlap past the check.
 *
 * Under systemd (contrib/sealsync.service: ProtectSystem=strict, ProtectHome)
 * everything outside the unit's ReadWritePaths is read-only (EROFS) or, under
 * /home, /root and /run/user, not there at all for the daemon (EACCES): the
 * error then names the sandbox instead of blaming the file system or the
 * folder's permissions.
 */
import { constants as fsConstants } from 'node:fs';
import { access, opendir, realpath, stat } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { SealsyncError } from '../errors.js';

/** systemd sets this in the environment of every unit it starts. */
export const SYSTEMD_INVOCATION_ENV = 'INVOCATION_ID';
/** The unit whose ReadWritePaths a folder must be under when the daemon runs as a service. */
export const SERVICE_UNIT_FILE = 'sealsync.service';
/** What ProtectHome= hides from the service. */
const PROTECT_HOME_ROOTS = ['/home', '/root', '/run/user'];

/** Returns the folder's realpath, or throws the precise one-line error. */
export async function checkFolderPath(path: string, others: readonly string[], home: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const abs = resolve(path);
  const sandboxed = (env[SYSTEMD_INVOCATION_ENV] ?? '') !== '';
  const denied = (code: string | undefined, verb: 'read' | 'written'): SealsyncError => {
    if (sandboxed && (code === 'EROFS' || ((code === 'EACCES' || code === 'EPERM') && PROTECT_HOME_ROOTS.some((r) => overlaps(abs, r))))) {
      return new SealsyncError('ERR_PATH_UNWRITABLE', `${abs} is outside the service's writable paths (ReadWritePaths in ${SERVICE_UNIT_FILE})`, { sandbox: SERVICE_UNIT_FILE });
    }
    if (verb === 'read') return new SealsyncError('ERR_PATH_UNREADABLE', `${abs} cannot be read (${code ?? 'error'})`);
    if (code === 'EROFS') return new SealsyncError('ERR_PATH_UNWRITABLE', `${abs} is on a read-only file system`);
    return new SealsyncError('ERR_PATH_UNWRITABLE', `${abs} cannot be written (${code ?? 'error'})`);
  };
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'ENOENT' || code === 'ENOTDIR') && !(sandboxed && PROTECT_HOME_ROOTS.some((r) => overlaps(abs, r)))) {
      throw new SealsyncError('ERR_PATH_MISSING', `${abs} does not exist`);
    }
    throw denied(code, 'read');
  }
  if (!st.isDirectory()) throw new SealsyncError('ERR_PATH_NOT_DIR', `${abs} is not a directory`);
  try {
    // access() says yes to root; actually listing the directory is the honest test.
    const dir = await opendir(abs);
    try { await dir.read(); } finally { await dir.close().catch(() => undefined); }
  } catch (err) {
    throw denied((err as NodeJS.ErrnoException).code, 'read');
  }
  try {
    // For root too, a read-only mount answers EROFS here.
    await access(abs, fsConstants.W_OK);
  } catch (err) {
    throw denied((err as NodeJS.ErrnoException).code, 'written');
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
