/**
 * Safe paths under a folder root. Every path that arrives from a peer is
 * hostile until proven otherwise: this module turns a record's relative path
 * into an absolute one only if it is canonical, stays inside the root and no
 * existing parent component is a symlink (so a remote record can never make
 * us write through a link planted in the folder, locally or by an earlier
 * record). Parents are created one component at a time and re-checked.
 *
 * The check-then-act window between lstat and the final open/rename cannot be
 * closed from Node without openat(2); it is narrowed by opening files with
 * O_NOFOLLOW | O_EXCL and re-checking parents right before each rename.
 */
import { constants as fsConstants, lstatSync, mkdirSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { SealsyncError } from '../errors.js';
import { STATE_DIR_NAME, validateRelativePath } from '../model/path.js';

/** The folder's private directory (archive, temp state): never a sync target. */
export const PRIVATE_DIR_NAME = STATE_DIR_NAME;
/** Mode for directories we create; the umask still applies. */
export const DIR_CREATE_MODE = 0o755;

/** O_NOFOLLOW where the platform has it (0 elsewhere, e.g. Windows). */
export const O_NOFOLLOW: number = fsConstants.O_NOFOLLOW ?? 0;

function unsafe(path: string, why: string): SealsyncError {
  return new SealsyncError('ERR_PATH_UNSAFE', `path is not a safe relative path (${why})`, { path: path.slice(0, 200) });
}

/**
 * Validates a record path with the model's rules (src/model/path.ts) and
 * additionally requires it to be in canonical form already (a record whose
 * path is not NFC was not produced by a sealsync scanner), then returns its
 * segments.
 */
export function checkRelativePath(path: string): string[] {
  const canonical = validateRelativePath(path);
  if (canonical !== path) throw unsafe(path, 'not in canonical (NFC) form');
  return canonical.split('/');
}

/**
 * lstat, or null when the path is missing. A blocking call on purpose: it is
 * one metadata lookup (microseconds from the inode cache), while the async
 * form costs a thread-pool round trip (measured on a 2-core VM: ~30 µs of CPU
 * against ~2 µs), and applying or serving one file takes several of these.
 */
export async function lstatOrNull(abs: string): Promise<Stats | null> {
  return lstatOrNullSync(abs);
}

/** lstat that answers null for a missing path (or a missing directory on the way). */
export function lstatOrNullSync(abs: string): Stats | null {
  try {
    // No exception for a missing path (the usual case for a file being created):
    // building the error cost ~5x the lstat itself.
    return lstatSync(abs, { throwIfNoEntry: false }) ?? null;
  } catch (err) {
    if (isNoEnt(err)) return null;
    throw err;
  }
}

export function isNoEnt(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** A directory's entries; none when it (or a directory on the way) does not exist, or is not a directory. */
export async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isNoEnt(err)) return [];
    throw err;
  }
}

/**
 * Absolute path of `rel` under `root` from the names alone (validated, no
 * file-system access): for callers that check the identity of what they open
 * instead of walking its parents (serving a block from an indexed inode).
 */
export function lexicalPathUnder(root: string, rel: string): string {
  const segments = checkRelativePath(rel);
  const absRoot = resolve(root);
  const abs = join(absRoot, ...segments);
  if (!abs.startsWith(absRoot + sep)) throw unsafe(rel, 'escapes the root');
  return abs;
}

/**
 * Absolute path of `rel` under `root`, after validating it and checking that
 * every existing parent is a real directory (not a symlink, not a file).
 * The final component itself is not inspected: it may be missing, a file, a
 * link (callers replace links, never follow them).
 */
export async function resolveSafe(root: string, rel: string): Promise<string> {
  const segments = checkRelativePath(rel);
  const absRoot = resolve(root);
  let cur = absRoot;
  for (let i = 0; i < segments.length - 1; i++) {
    cur = join(cur, segments[i]!);
    const st = await lstatOrNull(cur);
    if (st === null) break; // the rest does not exist yet: nothing to follow
    if (st.isSymbolicLink()) throw unsafe(rel, 'parent is a symlink');
    if (!st.isDirectory()) throw unsafe(rel, 'parent is not a directory');
  }
  return lexicalPathUnder(root, rel);
}

/**
 * Like resolveSafe, for reading an existing entry: when `rel` (NFC) is not on
 * disk under that spelling, each missing component is looked up among its
 * directory's names by NFC form, so a file a Mac or a user wrote in NFD (the
 * scanner indexes it under its NFC path) can still be opened to serve or
 * reuse its blocks. Components found that way are checked like resolveSafe
 * checks parents. Returns the NFC path when nothing matches.
 */
export async function resolveOnDisk(root: string, rel: string): Promise<string> {
  const abs = await resolveSafe(root, rel);
  if (lstatOrNullSync(abs) !== null) return abs;
  const segments = rel.split('/');
  let cur = resolve(root);
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    let next = join(cur, seg);
    let st = lstatOrNullSync(next);
    if (st === null) {
      const spelled = (await readdirOrEmpty(cur)).find((name) => name !== seg && name.normalize('NFC') === seg);
      if (spelled === undefined) return abs;
      next = join(cur, spelled);
      st = lstatOrNullSync(next);
      if (st === null) return abs;
    }
    if (i < segments.length - 1 && (st.isSymbolicLink() || !st.isDirectory())) throw unsafe(rel, 'parent is not a real directory');
    cur = next;
  }
  return cur;
}

/**
 * Creates the missing parent directories of `rel` one component at a time,
 * refusing symlinks and non-directories on the way. Returns the absolute path
 * of `rel` and the directories it created (outermost first), so a caller can
 * undo them.
 */
export async function mkdirParentsSafe(root: string, rel: string): Promise<{ abs: string; created: string[] }> {
  const segments = checkRelativePath(rel);
  const absRoot = resolve(root);
  const created: string[] = [];
  let cur = absRoot;
  for (let i = 0; i < segments.length - 1; i++) {
    cur = join(cur, segments[i]!);
    let st = await lstatOrNull(cur);
    if (st === null) {
      try {
        mkdirSync(cur, { mode: DIR_CREATE_MODE }); // blocking: see applyDirectory (atomic-apply.ts)
        created.push(cur);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      st = await lstat(cur); // someone may have raced us with a link
    }
    if (st.isSymbolicLink()) throw unsafe(rel, 'parent is a symlink');
    if (!st.isDirectory()) throw unsafe(rel, 'parent is not a directory');
  }
  return { abs: join(absRoot, ...segments), created };
}

/** The parent directory of a validated relative path ('' for the root). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? '' : rel.slice(0, i);
}

/** The last component of a validated relative path. */
export function baseOf(rel: string): string {
  const i = rel.lastIndexOf('/');
  return i < 0 ? rel : rel.slice(i + 1);
}
