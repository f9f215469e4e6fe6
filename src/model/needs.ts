/**
 * What a full peer must do for one path, given what is on its disk (the local
 * FileRecord, if any) and the winning global record.
 *
 * Winner rule among concurrent versions (fixed and deterministic, so every
 * peer picks the same one without talking):
 *   1. a version that is not deleted beats a deleted one (no write is lost);
 *   2. then the newer mtime;
 *   3. then the larger vector id of the last writer (highest counter);
 *   4. then the larger canonical version key (total order, never a tie
 *      between different vectors).
 * The loser of a true conflict is kept on disk as a sync-conflict copy by the
 * sync engine; this module only names it (`conflictName`).
 */
import { compareVectors, lastWriter, vectorKey } from './version-vector.js';
import { MAX_NAME_BYTES } from './path.js';
import type { FileRecord } from './types.js';

export type NeedAction = 'nothing' | 'fetch' | 'delete' | 'conflict';

/** Longest device tag accepted in a conflict name. */
export const MAX_CONFLICT_DEVICE_CHARS = 16;

/** True when two records describe the same content (ignoring version and mtime). */
export function sameContent(a: FileRecord, b: FileRecord): boolean {
  if (a.deleted || b.deleted) return a.deleted && b.deleted;
  if (a.kind !== b.kind) return false;
  if (a.kind === 'symlink') return a.symlinkTarget === b.symlinkTarget;
  if (a.kind === 'dir') return true;
  if (a.size !== b.size || a.blocks.length !== b.blocks.length) return false;
  for (let i = 0; i < a.blocks.length; i++) {
    const x = a.blocks[i];
    const y = b.blocks[i];
    if (x === undefined || y === undefined || x.size !== y.size || !bytesEqual(x.hash, y.hash)) return false;
  }
  return true;
}

/**
 * Two live files with the same content, whole-millisecond mtime and mode: a
 * file in this state needs no write to take the other's version (e.g. a
 * folder copied by hand to both devices before it was shared).
 */
export function sameFileState(a: FileRecord, b: FileRecord): boolean {
  return a.kind === 'file' && b.kind === 'file' && !a.deleted && !b.deleted && sameContent(a, b)
    && Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs) && (a.mode & 0o777) === (b.mode & 0o777);
}

/**
 * Compares two concurrent candidates by the winner rule: > 0 when `a` wins.
 * Also usable as a sort comparator (descending by preference when negated).
 */
export function compareByWinnerRule(a: FileRecord, b: FileRecord): number {
  if (a.deleted !== b.deleted) return a.deleted ? -1 : 1;
  if (a.mtimeMs !== b.mtimeMs) return a.mtimeMs > b.mtimeMs ? 1 : -1;
  const wa = lastWriter(a.version);
  const wb = lastWriter(b.version);
  if (wa !== wb) return wa > wb ? 1 : -1;
  const ka = vectorKey(a.version);
  const kb = vectorKey(b.version);
  return ka === kb ? 0 : ka > kb ? 1 : -1;
}

/**
 * The global winner among the versions held for one path. Versions dominated
 * by another candidate never win; among the rest the winner rule decides.
 * Returns undefined for an empty list.
 */
export function pickWinner(candidates: readonly FileRecord[]): FileRecord | undefined {
  let best: FileRecord | undefined;
  for (const c of candidates) {
    if (best === undefined) {
      best = c;
      continue;
    }
    const order = compareVectors(c.version, best.version);
    if (order === 'greater') best = c;
    else if (order === 'concurrent' && compareByWinnerRule(c, best) > 0) best = c;
  }
  return best;
}

/**
 * What to do for one path. `local` is what this device has on disk (its index
 * row), `global` the winning global record.
 *  - nothing:  already in sync, or our local version is newer (we publish it);
 *  - fetch:    take the global version (its blocks may be reused from disk);
 *  - delete:   the global version is a tombstone that supersedes ours;
 *  - conflict: concurrent and different; keep ours as a conflict copy if the
 *              global wins, else publish ours merged with the global version.
 */
export function needFor(local: FileRecord | undefined, global: FileRecord | undefined): NeedAction {
  if (global === undefined) return 'nothing';
  if (local === undefined) return global.deleted ? 'nothing' : 'fetch';
  if (local.deleted && global.deleted) return 'nothing';
  const order = compareVectors(local.version, global.version);
  if (order === 'equal' || order === 'greater') return 'nothing';
  if (order === 'lesser') {
    if (global.deleted) return local.deleted ? 'nothing' : 'delete';
    return 'fetch';
  }
  // Concurrent. Identical content is not a conflict: adopt the global version.
  if (sameContent(local, global)) return 'fetch';
  if (global.deleted) return 'nothing'; // our live edit beats a concurrent delete (rule 1): we republish it
  if (local.deleted) return 'fetch'; // a concurrent live version beats our delete
  return 'conflict';
}

/** Calendar parts in UTC, supplied by the caller (this module has no clock). */
export interface ConflictTime {
  readonly year: number;
  readonly month: number; // 1–12
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

/** Splits epoch milliseconds into UTC calendar parts (pure: the caller passes the time). */
export function conflictTimeFromMs(ms: number): ConflictTime {
  const d = new Date(ms);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/**
 * `dir/name.ext` → `dir/name.sync-conflict-YYYYMMDD-HHMMSS-<device>.ext`.
 * The extension is the part after the last dot of the last segment, unless
 * that dot is the first character (`.bashrc` has no extension). The device tag
 * is reduced to [A-Za-z0-9] and bounded; the stem is shortened when the name
 * would exceed MAX_NAME_BYTES.
 */
export function conflictName(path: string, t: ConflictTime, deviceShort: string): string {
  const slash = path.lastIndexOf('/');
  const dir = slash < 0 ? '' : path.slice(0, slash + 1);
  const name = slash < 0 ? path : path.slice(slash + 1);
  const dot = name.lastIndexOf('.');
  const stem = dot > 0 ? name.slice(0, dot) : name;
  const ext = dot > 0 ? name.slice(dot) : '';
  const device = deviceShort.replace(/[^A-Za-z0-9]/g, '').slice(0, MAX_CONFLICT_DEVICE_CHARS) || 'unknown';
  const stamp = `${pad(t.year, 4)}${pad(t.month, 2)}${pad(t.day, 2)}-${pad(t.hour, 2)}${pad(t.minute, 2)}${pad(t.second, 2)}`;
  const suffix = `.sync-conflict-${stamp}-${device}${ext}`;
  return dir + truncateUtf8(stem, MAX_NAME_BYTES - utf8Length(suffix)) + suffix;
}

function pad(n: number, width: number): string {
  return String(Math.trunc(n)).padStart(width, '0');
}

const encoder = new TextEncoder();

function utf8Length(s: string): number {
  return encoder.encode(s).length;
}

/** Longest prefix of `s` (whole code points) that fits in `maxBytes` UTF-8 bytes. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (utf8Length(s) <= maxBytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = utf8Length(ch);
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
