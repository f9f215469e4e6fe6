/**
 * Our temp files inside a synced folder: the prefix every part of sealsync
 * recognises (the scanner, the watcher and the ignore rules skip such names),
 * and the cleanup of temp files that no transfer will resume.
 * atomic-apply.ts names and writes them.
 */
import { readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { STATE_DIR_NAME } from '../model/path.js';
import { lstatOrNull } from './safe-fs.js';

/** Prefix of our temp files; the scanner ignores names that start with it. */
export const TEMP_PREFIX = '.sealsync-tmp-';

/** Temp files untouched this long belong to transfers that will not resume (a newer version superseded them). */
export const STALE_TEMP_AGE_MS = 24 * 60 * 60 * 1000;
/** Upper bound on entries visited by one cleanStaleTemps() pass. */
export const MAX_TEMP_CLEAN_ENTRIES = 1_000_000;

/**
 * Removes our temp files older than `maxAgeMs` anywhere under `root` (never
 * following symlinks, skipping the private directory). Returns how many were
 * removed. Interrupted transfers keep their temp file for resuming; this
 * bounds what superseded ones cost on disk.
 */
export async function cleanStaleTemps(root: string, now: number, opts: { maxAgeMs?: number; signal?: AbortSignal } = {}): Promise<number> {
  const maxAge = opts.maxAgeMs ?? STALE_TEMP_AGE_MS;
  let removed = 0;
  let visited = 0;
  const walk = async (dir: string, top: boolean): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      opts.signal?.throwIfAborted();
      if (++visited > MAX_TEMP_CLEAN_ENTRIES) return;
      if (top && e.name === STATE_DIR_NAME) continue;
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full, false);
      else if (e.isFile() && e.name.startsWith(TEMP_PREFIX)) {
        const st = await lstatOrNull(full);
        if (st !== null && now - st.mtimeMs > maxAge) {
          await unlink(full).catch(() => undefined);
          removed++;
        }
      }
    }
  };
  await walk(root, true);
  return removed;
}
