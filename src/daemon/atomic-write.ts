/**
 * Atomic file replacement: write a temp file next to the target, fsync it,
 * rename it over the target, fsync the directory. A crash leaves the old file
 * or the new one, never a torn mix; the temp file is removed on failure.
 * Run as root (`sudo sealsync config set …` on a server), the new file keeps
 * the replaced file's owner, so the service user can still read its config.
 */
import { lstat, open, readdir, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

const TEMP_SUFFIX = '.tmp';
const TEMP_RE = /^\..+\.[0-9a-f]{12}\.tmp$/;

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`);
  const replaced = process.getuid?.() === 0 ? await lstat(path).catch(() => null) : null;
  let fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    if (replaced?.isFile()) await fh.chown(replaced.uid, replaced.gid);
    await fh.chmod(mode); // umask may have narrowed or the file may pre-exist: be explicit
    await fh.sync();
    await fh.close();
    fh = undefined as never;
    await rename(tmp, path);
  } catch (err) {
    if (fh) await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  // Directory fsync makes the rename durable; not supported on every platform.
  try {
    const dh = await open(dir, 'r');
    try { await dh.sync(); } finally { await dh.close(); }
  } catch {
    /* best effort (e.g. Windows) */
  }
}

/**
 * Removes temp files a crash left in `dir` (only names writeFileAtomic makes).
 * Call while holding the home lock, so no writer is mid-write.
 */
export async function removeStaleTempFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (TEMP_RE.test(name)) {
      await unlink(join(dir, name)).then(() => { removed++; }, () => undefined);
    }
  }
  return removed;
}
