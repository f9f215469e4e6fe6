/**
 * Opens a SQLite database that only its owner may read, in WAL mode with
 * `synchronous = NORMAL` (the home's index.db and every block store's
 * blocks.db). The file is created 0600 before SQLite opens it, so it is never
 * readable by others for a moment, and an existing one is tightened; SQLite
 * gives its -wal and -shm files the database file's mode.
 */
import { chmodSync, closeSync, constants as fsConstants, openSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Owner read/write only: nobody else on the machine reads a folder's index or a store's layout. */
export const PRIVATE_DB_FILE_MODE = 0o600;
/** better-sqlite3's in-memory database: no file, no mode. */
const IN_MEMORY = ':memory:';

export function openPrivateDatabase(path: string): Database.Database {
  if (path !== IN_MEMORY) {
    closeSync(openSync(path, fsConstants.O_RDWR | fsConstants.O_CREAT, PRIVATE_DB_FILE_MODE));
    chmodSync(path, PRIVATE_DB_FILE_MODE);
  }
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
