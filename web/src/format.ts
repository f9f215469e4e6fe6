/** Plain-words formatting for sizes, rates, times and event descriptions. */
import type { DaemonEvent, PeerStatus } from './api.js';

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function bytes(n: number): string {
  if (!Number.isFinite(n) || n < 0) return '–';
  let v = n;
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) { v /= 1024; i++; }
  return `${i === 0 ? v : v.toFixed(v >= 100 ? 0 : 1)} ${UNITS[i]}`;
}

export function rate(bytesPerSecond: number): string {
  return `${bytes(bytesPerSecond)}/s`;
}

export function count(n: number, one: string, many = `${one}s`): string {
  return `${n.toLocaleString()} ${n === 1 ? one : many}`;
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** Whole seconds as "45 s", "3 min 5 s", "2 h 10 min". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** Plain words for a peer's state, with its problem (status-schema.ts) and the next try. */
export function peerStateWords(p: PeerStatus, now: number): string {
  if (!p.problem) return 'connected';
  const next = p.problem.nextAttemptAt !== null ? `; next try in ${duration((p.problem.nextAttemptAt - now) / 1000)}` : '';
  const last = p.problem.lastAttemptAt !== null ? ` (tried ${time(p.problem.lastAttemptAt)}${next})` : '';
  return `${PROBLEM_WORDS[p.problem.reason]}: ${p.problem.message}${last}`;
}

const PROBLEM_WORDS = {
  'refused': 'refused',
  'unreachable': 'unreachable',
  'tls': 'TLS failed',
  'wrong-device': 'not the pinned device',
  'protocol': 'handshake failed',
  'no-shared-folder': 'shares no folder',
  'other': 'not connected',
} as const;

export const TYPE_NAMES = { rw: 'read-write', ro: 'read-only', encrypted: 'encrypted' } as const;

const ACTION_VERBS = { added: 'Added', modified: 'Changed', deleted: 'Deleted' } as const;

/** Characters of a writer id shown in a conflict line: the same 7 the copy's name carries. */
export const WRITER_ID_SHOWN = 7;

/**
 * Whether an event belongs in the history. Folder status ticks (scanning,
 * syncing, idle: several a second while syncing) are shown live on the folder
 * cards and would push everything else out of the list; only a folder's new
 * error is history. `lastErrors` (folder path -> last error listed) is updated.
 */
export function keepInHistory(e: DaemonEvent, lastErrors: Map<string, string>): boolean {
  if (e.type !== 'folder-status') return true;
  const { path, state, error } = e.folder;
  if (state !== 'error') {
    lastErrors.delete(path);
    return false;
  }
  const text = error ?? 'error';
  if (lastErrors.get(path) === text) return false;
  lastErrors.set(path, text);
  return true;
}

/** One line for the history list. Everything is rendered as text, never markup. */
export function describeEvent(e: DaemonEvent): string {
  switch (e.type) {
    case 'folder-status':
      return e.folder.state === 'error' ? `Problem in ${e.folder.path}: ${e.folder.error ?? 'unknown error'}` : `${e.folder.path}: ${e.folder.state}`;
    case 'folder-changed': return `Folder ${e.change}: ${e.path}`;
    // A peer that never told its name (or was just removed) has '' or null: fall back to its address.
    case 'peer-connected': return `Connected to ${e.peer.name || e.peer.address}`;
    case 'peer-disconnected': return `Disconnected from ${e.peer.name || e.peer.address}`;
    case 'error': return `Error${e.folder ? ` in ${e.folder}` : ''}: ${e.error.message}`;
    case 'file-changed':
      return e.source === 'peer'
        ? `${ACTION_VERBS[e.action]} by a peer: ${e.file} in ${e.folder}`
        : `${ACTION_VERBS[e.action]} on this device: ${e.file} in ${e.folder}`;
    case 'conflict':
      return e.thisDevice
        ? `Conflict on ${e.file} in ${e.folder}: another device's edit won; this device's own edit was kept as ${e.conflictFile}`
        : `Conflict on ${e.file} in ${e.folder}: another device's edit (${e.device?.name ?? e.writer.slice(0, WRITER_ID_SHOWN)}) lost and was kept as ${e.conflictFile}; ${e.file} holds the winning version`;
    case 'archive-pruned':
      return `${e.removed} old version(s) removed from the archive of ${e.folder} (${e.reason === 'disk-space' ? 'the disk needed the space' : 'over its size bound'})`;
    default: return 'event';
  }
}
