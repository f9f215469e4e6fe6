/**
 * Small parts of LocalFolder's scans: what a scan holds (Snapshot, ScanRun),
 * a ScanEntry from one lstat (watcher hints), hint pruning, and reading
 * errors.
 */
import { readlink } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { isSealsyncError } from '../../errors.js';
import type { FileStat } from '../../index/types.js';
import type { ScanEntry } from './scan-diff.js';
import type { SeenRows } from './seen-rows.js';

/**
 * The index's rows for the scanned part of the folder: a partial scan loads
 * the hinted subtree when it begins; a full scan reads the rows of each
 * chunk of walked entries just before comparing them.
 */
export interface Snapshot {
  /** path → row; a scan removes each path it sees. */
  readonly rows: Map<string, FileStat>;
  /** LocalFolder.externalWrites when the rows were read. */
  readonly externalWrites: number;
  /** A full scan: the row of every path the walk reported goes here (its deletion pass asks). */
  readonly seen?: SeenRows;
}

export interface ScanRun {
  files: number;
  bytes: number;
  startedAt: number;
  /** Records committed so far by this scan (a bulk scan commits in many batches). */
  committed: number;
}
/** True when a proper ancestor directory of `path` is in `set`. */
export function hasAncestorIn(path: string, set: ReadonlySet<string>): boolean {
  for (let i = path.indexOf('/'); i > 0; i = path.indexOf('/', i + 1)) if (set.has(path.slice(0, i))) return true;
  return false;
}

/** A ScanEntry for one path from its lstat, or null for sockets, FIFOs and devices. */
export async function entryFromStat(path: string, abs: string, st: Stats): Promise<ScanEntry | null> {
  const entry = shallowEntryFromStat(path, st);
  return entry?.kind === 'symlink' ? { ...entry, size: st.size, symlinkTarget: await readlink(abs) } : entry;
}

/**
 * entryFromStat without reading a symlink's target: a symlink is reported as
 * the walker reports it (size 0, no target; fs/walk.ts), which is all the
 * scan's "unchanged" rule looks at.
 */
export function shallowEntryFromStat(path: string, st: Stats): ScanEntry | null {
  // whole milliseconds, as the walker and the hash pool report them, so a hinted
  // rescan of an unchanged file compares equal and is not re-hashed
  const base = { path, size: st.size, mtimeMs: Math.floor(st.mtimeMs), mode: st.mode, ino: st.ino, dev: st.dev };
  if (st.isFile()) return { ...base, kind: 'file' };
  if (st.isDirectory()) return { ...base, kind: 'dir', size: 0 };
  if (st.isSymbolicLink()) return { ...base, kind: 'symlink', size: 0 };
  return null;
}

/** The errno code of a node error, or of a SealsyncError that wraps one (the hash pool reports ERR_PATH_MISSING with data.errno). */
export function errnoCode(err: unknown): string | undefined {
  if (isSealsyncError(err) && typeof err.data?.errno === 'string') return err.data.errno;
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export function isAbort(err: unknown): boolean {
  return isSealsyncError(err, 'ERR_ABORTED') || (err instanceof Error && err.name === 'AbortError');
}
