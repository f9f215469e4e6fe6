/**
 * Path rules for names inside a folder. Every path that comes from a peer, a
 * sealed record or the disk walker goes through `validateRelativePath` before
 * it is used: NFC, '/'-separated, relative, bounded, and never inside a
 * `.sealsync/` state directory: at any depth (a folder shared inside another
 * folder has its own) and in any spelling a file system may take for it
 * (`.SEALSYNC` on macOS and Windows, see isStateDirName).
 */
import { SealsyncError } from '../errors.js';

/** Longest relative path accepted, in UTF-8 bytes (Linux PATH_MAX). */
export const MAX_PATH_BYTES = 4096;
/** Longest single name, in UTF-8 bytes (common file system NAME_MAX). */
export const MAX_NAME_BYTES = 255;
/** Deepest nesting accepted; deeper trees are hostile or broken. */
export const MAX_PATH_DEPTH = 256;
/** sealsync's own per-folder state directory: never synced. */
export const STATE_DIR_NAME = '.sealsync';

/**
 * Code points that HFS+ drops when it compares names (Unicode default-ignorable
 * format characters), so `.sea\u200Blsync` is `.sealsync` there.
 */
const HFS_IGNORED = /[\u200b-\u200f\u202a-\u202e\u2060-\u2063\u206a-\u206f\ufeff]/g;
/** Windows drops trailing dots and spaces from a name. */
const WINDOWS_TRAILING = /[. ]+$/;
/** Cheap pre-check: a path that can hold no such name (almost every path) skips the per-name work. */
const STATE_DIR_HINT = /\.[sS\u017f]|[\u0080-\uffff]/;

/**
 * True when some file system would take `name` for the state directory: any
 * case (`.SEALSYNC`, `.ſealsync`, whose long s folds to s), HFS+-ignored code
 * points, Windows' trailing dots and spaces.
 */
export function isStateDirName(name: string): boolean {
  if (name === STATE_DIR_NAME) return true;
  if (name.length < STATE_DIR_NAME.length || !STATE_DIR_HINT.test(name)) return false;
  return caseFoldKey(name.replace(HFS_IGNORED, '')).replace(WINDOWS_TRAILING, '') === STATE_DIR_NAME;
}

/** True when any name along `path` ('/'-separated) is a state directory (see isStateDirName). */
export function isInStateDir(path: string): boolean {
  if (!STATE_DIR_HINT.test(path)) return false;
  for (const name of path.split('/')) if (isStateDirName(name)) return true;
  return false;
}

/**
 * UTF-8 length of a string without encoding it (a lone surrogate counts as
 * U+FFFD, 3 bytes, as TextEncoder writes it). Paths are checked once or more
 * per file applied or scanned; encoding each one cost ~4 µs.
 */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: two code units, four bytes
      i++;
    } else n += 2;
  }
  return n;
}

/** NFC form of a path, so macOS (NFD) and Linux names meet on one locator. */
export function normalizePath(path: string): string {
  return path.normalize('NFC');
}

/**
 * Returns the canonical (NFC) form of `path` or throws ERR_PATH_UNSAFE.
 * Rejected: empty, absolute, backslash, NUL or other C0 control characters,
 * '.', '..' or empty segments, too long, too deep, any name that is
 * `.sealsync` in some spelling (isStateDirName), at any depth.
 */
export function validateRelativePath(path: unknown): string {
  if (typeof path !== 'string') throw unsafe('path must be a string', path);
  // Check a cheap upper bound before normalising, so a hostile megabyte string is not processed.
  if (path.length === 0) throw unsafe('path is empty', path);
  if (path.length > MAX_PATH_BYTES) throw unsafe('path is too long', path);
  const p = normalizePath(path);
  if (utf8Length(p) > MAX_PATH_BYTES) throw unsafe('path is too long', p);
  if (p.startsWith('/')) throw unsafe('path is absolute', p);
  if (p.includes('\\')) throw unsafe('path contains a backslash', p);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(p)) throw unsafe('path contains a control character', p);
  const segments = p.split('/');
  if (segments.length > MAX_PATH_DEPTH) throw unsafe('path is too deep', p);
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') throw unsafe('path has an empty, "." or ".." segment', p);
    if (utf8Length(s) > MAX_NAME_BYTES) throw unsafe('a name in the path is too long', p);
    if (isStateDirName(s)) throw unsafe('path names a .sealsync state directory (in some spelling)', p);
  }
  return p;
}

/** True when `path` passes validateRelativePath. */
export function isSafeRelativePath(path: unknown): boolean {
  try {
    validateRelativePath(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Key under which two names collide on a case-insensitive file system
 * (macOS, Windows): NFC then Unicode default case folding approximated by
 * toLowerCase after toUpperCase (handles ß → SS → ss and similar).
 */
export function caseFoldKey(path: string): string {
  return normalizePath(path).toUpperCase().toLowerCase();
}

function unsafe(message: string, path: unknown): SealsyncError {
  // Bound what goes into the error data: the path may be hostile and huge.
  const shown = typeof path === 'string' ? path.slice(0, 200) : typeof path;
  return new SealsyncError('ERR_PATH_UNSAFE', `${message}: ${JSON.stringify(shown)}`, { path: shown });
}
