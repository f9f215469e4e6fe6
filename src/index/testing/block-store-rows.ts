/**
 * Test helpers over a block store's database, each on a connection of its own
 * (a store may have the database open): read every row, or drop one as a store
 * that lost the block would. Never imported by production code.
 */
import Database from 'better-sqlite3';
import type { BlockRow } from '../block-store-db.js';

/**
 * Every row of the store database at `path`, in id order, over a connection
 * of its own that only reads (a daemon may have the store open). The file
 * must exist.
 */
export function readAllBlockRows(path: string): ({ id: string } & BlockRow)[] {
  const db = new Database(path, { fileMustExist: true });
  try {
    return db.prepare('SELECT id, pack, pack_offset AS offset, length, area, since FROM blocks ORDER BY id').all() as ({ id: string } & BlockRow)[];
  } finally {
    db.close();
  }
}

/** Drops a block's row over a connection of its own, as a store that lost the block would. */
export function forgetBlockRow(path: string, hex: string): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.prepare('DELETE FROM blocks WHERE id = ?').run(hex);
  } finally {
    db.close();
  }
}
