/**
 * Which watcher hints are worth a scan. During a sync most hints are the echo
 * of the puller's own writes: the path on disk is exactly what the puller has
 * just indexed. A partial scan of such a path finds it unchanged and commits
 * nothing, yet it shows the folder as "scanning", walks hinted directories
 * recursively and holds back "up to date". Measured in bench (g) (2,000 files
 * in 2,668 directories, pulled while the sender scans): the receiver's echo
 * scans walked its whole tree three times, one of them for 4.2 s, and
 * committed nothing.
 *
 * A hint is dropped only where the scan's own rule (scan-diff.ts isUnchanged)
 * would find nothing to do, so no local change is lost:
 * - a file or symlink whose lstat matches its row (kind, synced mode, size, mtime, inode);
 * - a path gone from disk that has no live row;
 * - a directory with the inode and mode of its row, only when the watcher
 *   hinted each of its entries (`crawled`, fs/folder-watcher.ts) and every
 *   entry the index holds directly in it is still there: any other directory
 *   hint asks for a recursive look, which only the scan gives. (A name
 *   deleted before the watcher listed the directory gave no hint: the listing
 *   no longer has it, so only the index can tell it is missing.)
 * - a path the puller is writing right now (`isBusy`): the scan leaves those
 *   alone too (folder-scan.ts), since the puller records them itself.
 * Anything that cannot be looked at (EACCES, an unsafe name) stays a hint.
 */
import { join } from 'node:path';
import { readdirSync, type Stats } from 'node:fs';
import { LOOKUP_BATCH, type Index } from '../../index/index.js';
import type { FileStat } from '../../index/types.js';
import { isSafeRelativePath } from '../../model/path.js';
import { lstatOrNullSync } from '../../fs/safe-fs.js';
import { isUnchanged } from './scan-diff.js';
// A symlink's target is not read: its inode and mtime change with it.
import { shallowEntryFromStat } from './scan-entry.js';

export interface WatchEchoDeps {
  readonly root: string;
  readonly index: Index;
  readonly folder: number;
  readonly isBusy: (path: string) => boolean;
}

/** `paths` less those whose scan would change nothing (see the header), in their order. */
export function hintsWorthScanning(paths: readonly string[], crawled: ReadonlySet<string>, deps: WatchEchoDeps): string[] {
  const keep: string[] = [];
  for (let i = 0; i < paths.length; i += LOOKUP_BATCH) {
    const slice = paths.slice(i, i + LOOKUP_BATCH);
    const checkable = slice.filter((p) => p !== '' && isSafeRelativePath(p));
    const rows = deps.index.getFileStats(deps.folder, checkable);
    for (const p of slice) {
      if (p === '' || !isSafeRelativePath(p)) keep.push(p);
      else if (deps.isBusy(p)) continue;
      else if (!isEcho(join(deps.root, p), p, rows.get(p), crawled.has(p), deps)) keep.push(p);
    }
  }
  return keep;
}

function isEcho(abs: string, path: string, row: FileStat | undefined, crawled: boolean, deps: WatchEchoDeps): boolean {
  let st: Stats | null;
  try {
    st = lstatOrNullSync(abs);
  } catch {
    return false;
  }
  if (st === null) return row === undefined || row.deleted;
  if (row === undefined || row.deleted) return false;
  const entry = shallowEntryFromStat(path, st);
  if (entry === null || !isUnchanged(row, entry)) return false;
  // isUnchanged asks a directory only to exist; without its entries hinted, or as another
  // directory (a new inode under the old name), only a recursive scan can say what is in it.
  return entry.kind !== 'dir' || (crawled && row.ino === entry.ino && indexedEntriesPresent(abs, path, deps));
}

/** Whether every live row directly inside directory `path` still has its name on disk. */
function indexedEntriesPresent(abs: string, path: string, deps: WatchEchoDeps): boolean {
  let names: Set<string>;
  try {
    names = new Set(readdirSync(abs).map((n) => n.normalize('NFC')));
  } catch {
    return false;
  }
  const prefixLength = path.length + 1;
  return deps.index.liveChildPaths(deps.folder, path).every((child) => names.has(child.slice(prefixLength)));
}

