/**
 * What of a file's mode travels between devices: only whether a file is
 * executable. Everything else is this device's business: a peer (any folder
 * member, or whoever holds a W key) must not make files world-writable,
 * setuid, setgid or sticky here, nor choose who can read a directory.
 *
 * - A file from a peer gets 0o666, or 0o777 when the peer's owner-exec bit is
 *   set, masked by the local umask: exactly what a program here creating the
 *   file would get. Setuid, setgid and sticky never come from a peer (sealed
 *   records cannot even carry them: 0o777 is their limit).
 * - A directory from a peer gets the local default, 0o777 masked by the umask;
 *   an existing directory keeps its mode.
 * - So devices compare only the exec bit of files: a local chmod that keeps
 *   the exec bit is not a change to publish, and a device with another umask
 *   does not see every received file as edited (which would bounce versions
 *   between the two forever).
 */
import type { FileKind } from './types.js';

/** The owner-exec bit: what "executable" means for a synced file. */
export const OWNER_EXEC = 0o100;
const ALL_PERMISSIONS = 0o777;
const NON_EXEC_FILE = 0o666;

export function isExecutable(mode: number): boolean {
  return (mode & OWNER_EXEC) !== 0;
}

/** The mode for a file whose record (from any device) says `recordMode`, on a device with `umask`. */
export function localFileMode(recordMode: number, umask: number): number {
  return (isExecutable(recordMode) ? ALL_PERMISSIONS : NON_EXEC_FILE) & ~umask & ALL_PERMISSIONS;
}

/** The mode for a directory created for a record, on a device with `umask`. */
export function localDirMode(umask: number): number {
  return ALL_PERMISSIONS & ~umask;
}

/** True when two modes of an entry of `kind` agree on everything that is synced (files: the exec bit; nothing else). */
export function sameSyncedMode(kind: FileKind, a: number, b: number): boolean {
  return kind !== 'file' || isExecutable(a) === isExecutable(b);
}
