/**
 * What an encrypted server's index database holds, read from its file (read
 * only, while or after the daemon runs): every sealed record and every head
 * page, as stored. For the tests that inspect what the server learns and the
 * ones that replay its store as a malicious server would.
 */
import Database from 'better-sqlite3';
import { toHex } from '../../../src/crypto/bytes.js';

export interface ServerState {
  /** Locator (hex) → the sealed records held for it. */
  readonly records: Map<string, Uint8Array[]>;
  readonly heads: ReadonlyArray<{ writer: string; number: number; bytes: Uint8Array }>;
}

export function readServerState(indexPath: string): ServerState {
  const db = new Database(indexPath, { readonly: true, fileMustExist: true });
  try {
    const records = new Map<string, Uint8Array[]>();
    for (const row of db.prepare('SELECT locator, sealed FROM records').all() as Array<{ locator: Buffer; sealed: Buffer }>) {
      const key = toHex(row.locator);
      records.set(key, [...(records.get(key) ?? []), new Uint8Array(row.sealed)]);
    }
    const heads = (db.prepare('SELECT writer, number, bytes FROM heads').all() as Array<{ writer: string; number: number; bytes: Buffer }>)
      .map((r) => ({ writer: r.writer, number: r.number, bytes: new Uint8Array(r.bytes) }));
    return { records, heads };
  } finally {
    db.close();
  }
}

/** The highest head number held (0 when none). */
export function newestHead(state: ServerState): number {
  return Math.max(0, ...state.heads.map((h) => h.number));
}
