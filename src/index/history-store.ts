/**
 * What index.db remembers for people rather than for sync: who replaced each
 * archived copy (the versions browser names the device), and the daemon's
 * event log (bounded; the dashboard's history and `sealsync events` read it
 * after a restart). Shares the index's connection, so writes are as durable
 * as the index's own.
 */
import type Database from 'better-sqlite3';
import { MAX_DEVICE_NAME_LENGTH } from '../crypto/device.js';
import { MAX_DEVICE_ID_TEXT_LENGTH } from '../crypto/device-id.js';

/** Events kept in the log; the oldest go first. */
export const MAX_LOGGED_EVENTS = 5000;
/** Largest page of events one read returns. */
export const MAX_EVENTS_PAGE = 1000;
/** A logged event's JSON is at most this long (longer ones are not logged). */
export const MAX_LOGGED_EVENT_CHARS = 16 * 1024;

/** Known devices read back (the most recently seen first). */
export const MAX_KNOWN_DEVICES = 10_000;

export interface ArchiveNote {
  readonly path: string;
  /** Device id (text) whose change replaced the copy; null when unknown. */
  readonly replacedBy: string | null;
  readonly atMs: number;
}

export interface LoggedEvent {
  readonly seq: number;
  readonly timeMs: number;
  /** The event as JSON text (src/daemon/daemon-types.ts DaemonEvent). */
  readonly json: string;
}

export class HistoryStore {
  private readonly s;

  constructor(private readonly db: Database.Database) {
    this.s = {
      note: db.prepare('INSERT OR REPLACE INTO archive_notes (folder, archive_path, path, replaced_by, at_ms) VALUES (?, ?, ?, ?, ?)'),
      notes: db.prepare('SELECT archive_path, path, replaced_by, at_ms FROM archive_notes WHERE folder = ?'),
      forget: db.prepare('DELETE FROM archive_notes WHERE folder = ? AND archive_path = ?'),
      remember: db.prepare('INSERT OR REPLACE INTO known_devices (id, name, seen_ms) VALUES (?, ?, ?)'),
      seen: db.prepare('SELECT id, seen_ms FROM known_devices ORDER BY seen_ms DESC LIMIT ?'),
      devices: db.prepare('SELECT id, name FROM known_devices ORDER BY seen_ms DESC LIMIT ?'),
      append: db.prepare('INSERT INTO event_log (seq, time_ms, event) VALUES (?, ?, ?)'),
      trim: db.prepare('DELETE FROM event_log WHERE seq <= ?'),
      lastSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM event_log'),
      after: db.prepare('SELECT seq, time_ms, event FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?'),
      newest: db.prepare('SELECT seq, time_ms, event FROM (SELECT seq, time_ms, event FROM event_log ORDER BY seq DESC LIMIT ?) ORDER BY seq'),
    };
  }

  noteArchived(folder: number, archivePath: string, note: ArchiveNote): void {
    this.s.note.run(folder, archivePath, note.path, note.replacedBy, Math.floor(note.atMs));
  }

  archiveNotes(folder: number): Map<string, ArchiveNote> {
    const rows = this.s.notes.all(folder) as Array<{ archive_path: string; path: string; replaced_by: string | null; at_ms: number }>;
    return new Map(rows.map((r) => [r.archive_path, { path: r.path, replacedBy: r.replaced_by, atMs: r.at_ms }]));
  }

  /** Drops the notes of copies no longer on disk (cleaned or restored). */
  forgetArchived(folder: number, archivePaths: Iterable<string>): void {
    this.db.transaction(() => { for (const p of archivePaths) this.s.forget.run(folder, p); })();
  }

  /** Keeps the name `id` announced (bounded: MAX_DEVICE_NAME_LENGTH). */
  rememberDevice(id: string, name: string, nowMs: number): void {
    this.s.remember.run(id.slice(0, MAX_DEVICE_ID_TEXT_LENGTH), name.slice(0, MAX_DEVICE_NAME_LENGTH), Math.floor(nowMs));
  }

  /** Device id → last announced name, the most recently seen MAX_KNOWN_DEVICES. */
  deviceNames(): Map<string, string> {
    const rows = this.s.devices.all(MAX_KNOWN_DEVICES) as Array<{ id: string; name: string }>;
    return new Map(rows.map((r) => [r.id, r.name]));
  }

  /** Device id → when it was last connected (ms). */
  deviceSeen(): Map<string, number> {
    const rows = this.s.seen.all(MAX_KNOWN_DEVICES) as Array<{ id: string; seen_ms: number }>;
    return new Map(rows.map((r) => [r.id, r.seen_ms]));
  }

  /** The highest logged sequence number (0 for an empty log). */
  lastEventSeq(): number {
    return (this.s.lastSeq.get() as { seq: number }).seq;
  }

  /** Appends one event and drops what falls beyond MAX_LOGGED_EVENTS. */
  appendEvent(seq: number, timeMs: number, json: string): void {
    if (json.length > MAX_LOGGED_EVENT_CHARS) return;
    this.s.append.run(seq, Math.floor(timeMs), json);
    if (seq % 100 === 0) this.s.trim.run(seq - MAX_LOGGED_EVENTS);
  }

  /** Events after `afterSeq` (oldest first), or with afterSeq null the newest `limit`. */
  events(afterSeq: number | null, limit: number): LoggedEvent[] {
    const n = Math.max(1, Math.min(MAX_EVENTS_PAGE, Math.floor(limit)));
    const rows = (afterSeq === null ? this.s.newest.all(n) : this.s.after.all(afterSeq, n)) as Array<{ seq: number; time_ms: number; event: string }>;
    return rows.map((r) => ({ seq: r.seq, timeMs: r.time_ms, json: r.event }));
  }
}
