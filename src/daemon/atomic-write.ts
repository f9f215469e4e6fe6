/**
 * Atomic file replacement: write a temp file next to the target, fsync it,
 * rename it over the target, fsync the directory. A crash leaves the old file
 * or the new one, never a torn mix; the temp file is removed on failure.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
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
