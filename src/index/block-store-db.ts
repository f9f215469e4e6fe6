/**
 * The SQLite database of an encrypted peer's block store (<root>/blocks.db):
 * one row per sealed block, naming where its ciphertext is.
 *
 *   blocks(id, pack, pack_offset, length, area, since)
 *
 * `id` is the block id as 64 lowercase hex (a hash of ciphertext, public to
 * every folder member), `pack`/`pack_offset`/`length` locate the bytes in
 * <root>/packs/<pack>.pack, `area` is live (0) or retained (1) and `since`
 * the moment a retained block became unreferenced (for a live one, when it
 * was stored). The store (src/engine/replica/block-store.ts) decides what is
 * written when; this module only owns the SQL: opening the file, the
 * versioned schema (user_version), the prepared statements behind small typed
 * methods, and making commits durable.
 *
 * Why a database of its own, next to the packs, rather than a table in the
 * home's index: the rows and the bytes they point at live and die together
 * (same directory, same file system, one fsync order between them), so a
 * store that is moved, backed up, or removed and added again stays
 * consistent, and the index knows nothing of the store's layout.
 *
 * Durability: the database runs with `synchronous = NORMAL` (a commit appends
 * to the WAL file and does not sync it). `syncWal` fdatasyncs the WAL file in
 * the thread pool, which makes every commit so far durable, as
 * `synchronous = FULL` would, but without holding up the event loop for a
 * disk flush per commit (FULL syncs inside the commit call, on the main
 * thread). Statements not followed by a `syncWal` are durable against a
 * process crash only.
 *
 * Unlike index.db (src/index/sqlite-index.ts), the store's connection keeps
 * SQLite's default busy timeout, page cache and checkpoint interval: one
 * store instance has a root open at a time (no writer to wait for), its rows
 * are small, and these defaults are what the store was measured with.
 *
 * better-sqlite3 is synchronous: every method is one short statement.
 */
import { closeSync, constants as fsConstants, fdatasync, openSync } from 'node:fs';
import { promisify } from 'node:util';
import type Database from 'better-sqlite3';
import { SealsyncError } from '../errors.js';
import { openPrivateDatabase } from './private-database.js';

/** The store's database file name under the store root. */
export const STORE_DB_FILE = 'blocks.db';
/**
 * The store database's own schema version (user_version); independent of
 * index.db's. 2 = the store holds sealed blocks of format v2 (padded); a
 * version 1 store holds v1 blocks, which no v2 peer accepts, and is refused.
 */
export const BLOCK_STORE_SCHEMA_VERSION = 2;
/** The text form of a block id in the `id` column: 32 bytes as lowercase hex. */
export const BLOCK_HEX_ID_RE = /^[0-9a-f]{64}$/;

export type BlockArea = 'live' | 'retained';
/** How an area is stored in the `area` column. */
export const AREA_CODE: Readonly<Record<BlockArea, number>> = { live: 0, retained: 1 };

export function areaName(code: number): BlockArea {
  return code === AREA_CODE.retained ? 'retained' : 'live';
}

/** A block's row: where its bytes are, its area (AREA_CODE) and `since`. */
export interface BlockRow {
  readonly pack: number;
  readonly offset: number;
  readonly length: number;
  readonly area: number;
  readonly since: number;
}

/** Per pack: bytes up to the end of its last row's block, and bytes of all its rows' blocks. */
export interface PackRowStats {
  readonly pack: number;
  readonly end: number;
  readonly used: number;
}

const fdatasyncFd = promisify(fdatasync);

export class BlockStoreDb {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly s: ReturnType<typeof prepareStatements>;
  /** The WAL file, opened at the first syncWal. */
  private walFd: number | null = null;

  private constructor(path: string, db: Database.Database, private readonly syncFd: (fd: number) => Promise<void>) {
    this.path = path;
    this.db = db;
    this.s = prepareStatements(db);
  }

  /**
   * Opens (creating if needed) the database at `path` (0600, WAL,
   * `synchronous = NORMAL`: openPrivateDatabase), and writes or checks the
   * schema. `beforeSchema` runs first when the
   * database has no schema yet (a new one, or one that lost its content):
   * the store may refuse to go on there, and a throw leaves the database
   * without a schema, so it keeps refusing. `syncFd` replaces fdatasync for
   * the WAL file (tests make it fail).
   */
  static async open(path: string, opts: { beforeSchema?: () => Promise<void>; syncFd?: (fd: number) => Promise<void> } = {}): Promise<BlockStoreDb> {
    const db = openPrivateDatabase(path);
    try {
      if (schemaVersion(db) === 0) await opts.beforeSchema?.();
      migrateSchema(db);
      return new BlockStoreDb(path, db, opts.syncFd ?? fdatasyncFd);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** `fn` wrapped in one transaction (make it once and call it per batch: wrapping has a cost). */
  transaction<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
    return this.db.transaction(fn);
  }

  rowOf(hex: string): BlockRow | undefined {
    return this.s.get.get(hex) as BlockRow | undefined;
  }

  /** Adds a block's row; false when the id has one already. */
  insert(hex: string, pack: number, offset: number, length: number, area: number, since: number): boolean {
    return this.s.insert.run(hex, pack, offset, length, area, since).changes > 0;
  }

  /** Points a row at a new place, if it is still at `from`; false otherwise. */
  move(hex: string, from: { readonly pack: number; readonly offset: number }, pack: number, offset: number): boolean {
    return this.s.move.run(pack, offset, hex, from.pack, from.offset).changes > 0;
  }

  /** Live -> retained, stamping `since`; false when there was no live row. */
  retire(hex: string, since: number): boolean {
    return this.s.setArea.run(AREA_CODE.retained, since, hex, AREA_CODE.live).changes > 0;
  }

  /** Retained -> live; false when there was no retained row. */
  revive(hex: string): boolean {
    return this.s.revive.run(AREA_CODE.live, hex, AREA_CODE.retained).changes > 0;
  }

  /** Deletes a block's row in an area; returns its pack and length, or undefined when there was none. */
  remove(hex: string, area: BlockArea): { pack: number; length: number } | undefined {
    return this.s.remove.get(hex, AREA_CODE[area]) as { pack: number; length: number } | undefined;
  }

  /** Deletes a block's row if it is still at this place; false otherwise. */
  deleteAt(hex: string, pack: number, offset: number): boolean {
    return this.s.deleteAt.run(hex, pack, offset).changes > 0;
  }

  /** Deletes every row of a pack; returns how many. */
  deletePack(pack: number): number {
    return this.s.deletePack.run(pack).changes;
  }

  /** Up to `limit` rows of an area with ids after `after`, in id order. */
  listPage(area: BlockArea, after: string, limit: number): { id: string; length: number; since: number }[] {
    return this.s.listPage.all(AREA_CODE[area], after, limit) as { id: string; length: number; since: number }[];
  }

  /** Count and total length of the rows of an area. */
  totals(area: BlockArea): { blocks: number; bytes: number } {
    const r = this.s.totals.get(AREA_CODE[area]) as { blocks: number; bytes: number };
    return { blocks: r.blocks, bytes: r.bytes };
  }

  /** End and used bytes of every pack that has rows. */
  packStats(): PackRowStats[] {
    return this.s.packStats.all() as PackRowStats[];
  }

  /** A pack's rows in offset order (without the pack number: it is `pack`). */
  packRows(pack: number): ({ id: string } & Omit<BlockRow, 'pack'>)[] {
    return this.s.packRows.all(pack) as ({ id: string } & Omit<BlockRow, 'pack'>)[];
  }

  /** How many rows point into a pack. */
  countPack(pack: number): number {
    return (this.s.countPack.get(pack) as { n: number }).n;
  }

  /**
   * Copies the WAL into the database file and syncs it (blocking): makes every
   * commit so far durable, run once at open before anything on disk is cut.
   */
  checkpointFull(): void {
    this.db.pragma('wal_checkpoint(FULL)');
  }

  /**
   * Makes every commit so far durable: fdatasync of the WAL file, which holds
   * them all (a checkpoint that moved some into the database file synced both
   * itself). SQLite keeps the WAL file while this connection is open.
   */
  async syncWal(): Promise<void> {
    this.walFd ??= openSync(`${this.path}-wal`, fsConstants.O_RDONLY);
    await this.syncFd(this.walFd);
  }

  close(): void {
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
    this.db.close();
  }
}

function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Writes the current schema if the database has none; refuses one written by a newer version. */
function migrateSchema(db: Database.Database): void {
  const version = schemaVersion(db);
  if (version > BLOCK_STORE_SCHEMA_VERSION) throw new SealsyncError('ERR_FORMAT_VERSION', 'the block store was written by a newer sealsync');
  if (version === BLOCK_STORE_SCHEMA_VERSION) return;
  if (version !== 0) {
    throw new SealsyncError('ERR_FORMAT_VERSION', 'the block store holds format v1 blocks, which this sealsync cannot serve: remove the folder and add it again to re-create the store');
  }
  db.exec(`
    CREATE TABLE IF NOT EXISTS blocks (
      id TEXT PRIMARY KEY NOT NULL,
      pack INTEGER NOT NULL,
      pack_offset INTEGER NOT NULL,
      length INTEGER NOT NULL,
      area INTEGER NOT NULL,
      since INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX IF NOT EXISTS blocks_by_pack ON blocks (pack, pack_offset);
    PRAGMA user_version = ${BLOCK_STORE_SCHEMA_VERSION};
  `);
}

function prepareStatements(db: Database.Database) {
  return {
    get: db.prepare('SELECT pack, pack_offset AS offset, length, area, since FROM blocks WHERE id = ?'),
    insert: db.prepare('INSERT INTO blocks (id, pack, pack_offset, length, area, since) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING'),
    move: db.prepare('UPDATE blocks SET pack = ?, pack_offset = ? WHERE id = ? AND pack = ? AND pack_offset = ?'),
    setArea: db.prepare('UPDATE blocks SET area = ?, since = ? WHERE id = ? AND area = ?'),
    revive: db.prepare('UPDATE blocks SET area = ? WHERE id = ? AND area = ?'),
    remove: db.prepare('DELETE FROM blocks WHERE id = ? AND area = ? RETURNING pack, length'),
    deleteAt: db.prepare('DELETE FROM blocks WHERE id = ? AND pack = ? AND pack_offset = ?'),
    deletePack: db.prepare('DELETE FROM blocks WHERE pack = ?'),
    listPage: db.prepare('SELECT id, length, since FROM blocks WHERE area = ? AND id > ? ORDER BY id LIMIT ?'),
    totals: db.prepare('SELECT COUNT(*) AS blocks, COALESCE(SUM(length), 0) AS bytes FROM blocks WHERE area = ?'),
    packStats: db.prepare('SELECT pack, MAX(pack_offset + length) AS end, SUM(length) AS used FROM blocks GROUP BY pack'),
    packRows: db.prepare('SELECT id, pack_offset AS offset, length, area, since FROM blocks WHERE pack = ? ORDER BY pack_offset'),
    countPack: db.prepare('SELECT COUNT(*) AS n FROM blocks WHERE pack = ?'),
  };
}
