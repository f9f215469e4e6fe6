/**
 * The SQL of index.db (sqlite-index.ts): every prepared statement, and the
 * conversion of its rows to the index's types. Kept apart from the methods
 * that use them so each file has one job: this one the text of the queries.
 */
import type Database from 'better-sqlite3';
import type { FileKind, FileRecord } from '../model/types.js';
import { parseVectorKey } from '../model/version-vector.js';
import { decodeBlockList, decodeIdList, toBytes } from './codec.js';
import type { BlockLocation, FileStat, FolderRow, IndexFolderType, LocalFile, ServableBlock, StoredRecord } from './types.js';

/**
 * Keys per statement of the batched lookups (currentRecordsOf, getFiles). The
 * puller plans thousands of paths per pass; one query per path cost ~10 µs of
 * statement overhead each. 64 bound parameters stay far below SQLite's limit.
 */
export const LOOKUP_BATCH = 64;
export interface RecordRow {
  locator: Buffer;
  version_key: string;
  block_ids: Buffer;
  sealed: Buffer;
  seq: number;
  kind: string | null;
  size: number | null;
  mtime_ms: number | null;
  deleted: number | null;
}

export interface FileRow {
  path: string;
  kind: string;
  size: number;
  mtime_ms: number;
  mode: number;
  symlink_target: string | null;
  deleted: number;
  version_key: string;
  blocks: Buffer;
  disk_mtime: number;
  ino: number;
  dev: number;
  seq: number;
  local_change: number;
}

export interface FolderRowDb { id: number; path: string; folder_id: string; type: string; seq: number }
export interface FileStatRow { rowid: number; path: string; kind: string; size: number; mode: number; disk_mtime: number; ino: number; dev: number; deleted: number; local_change: number; withheld: number }
export interface BlockRowDb { folder: number; path: string; offset: number; size: number; hash: Buffer; id: Buffer }
export interface BlockOfFileRow { offset: number; size: number; hash: Buffer; id: Buffer }

export function toFolder(r: FolderRowDb | undefined): FolderRow | undefined {
  return r && { rowId: r.id, path: r.path, folderId: r.folder_id, type: r.type as IndexFolderType, seq: r.seq };
}

export function toFileStat(r: FileStatRow): FileStat {
  return {
    rowid: r.rowid, path: r.path, kind: r.kind as FileKind, size: r.size, mode: r.mode, diskMtimeMs: r.disk_mtime, ino: r.ino, dev: r.dev,
    deleted: r.deleted === 1, localChange: r.local_change === 1, idsWithheld: r.withheld === 1,
  };
}

export function toStoredRecord(r: RecordRow): StoredRecord {
  const base = {
    locator: toBytes(r.locator),
    version: parseVectorKey(r.version_key),
    blockIds: decodeIdList(r.block_ids),
    sealed: toBytes(r.sealed),
    seq: r.seq,
  };
  if (r.kind === null || r.size === null || r.mtime_ms === null || r.deleted === null) return base;
  return { ...base, plain: { kind: r.kind as FileKind, size: r.size, mtimeMs: r.mtime_ms, deleted: r.deleted === 1 } };
}

export function toLocalFile(r: FileRow): LocalFile {
  const record: FileRecord = {
    path: r.path,
    kind: r.kind as FileKind,
    size: r.size,
    mtimeMs: r.mtime_ms,
    mode: r.mode,
    blocks: decodeBlockList(r.blocks),
    ...(r.symlink_target !== null ? { symlinkTarget: r.symlink_target } : {}),
    version: parseVectorKey(r.version_key),
    deleted: r.deleted === 1,
  };
  return { record, diskMtimeMs: r.disk_mtime, ino: r.ino, dev: r.dev, seq: r.seq, localChange: r.local_change === 1 };
}

export interface ServableRowDb {
  path: string;
  offset: number;
  size: number;
  file_size: number;
  disk_mtime: number;
  ino: number;
  dev: number;
}

export function toServable(r: ServableRowDb): ServableBlock {
  return { path: r.path, offset: r.offset, size: r.size, file: { size: r.file_size, diskMtimeMs: r.disk_mtime, ino: r.ino, dev: r.dev } };
}

export function toBlock(r: BlockRowDb | undefined): BlockLocation | undefined {
  return r && { folderRowId: r.folder, path: r.path, offset: r.offset, size: r.size, hash: toBytes(r.hash), id: r.id.byteLength > 0 ? toBytes(r.id) : null };
}

export const RECORD_COLS = 'locator, version_key, block_ids, sealed, seq, kind, size, mtime_ms, deleted';
// `withheld`: the first block's id is the zero placeholder (codec.ts), so the row's record withholds its ids.
export const FILE_STAT_COLS = 'rowid, path, kind, size, mode, disk_mtime, ino, dev, deleted, local_change, substr(blocks, 1, 32) = zeroblob(32) AS withheld';
/** A block row with its file's folder and path (blocks b JOIN files f). */
export const BLOCK_COLS = 'f.folder AS folder, f.path AS path, b.offset AS offset, b.size AS size, b.hash AS hash, b.id AS id';
const BLOCK_FROM = 'blocks b JOIN files f ON f.rowid = b.file';
export const LOOKUP_PARAMS = Array.from({ length: LOOKUP_BATCH }, () => '?').join(', ');
/**
 * Random 32-byte keys (locators, block ids and hashes) are indexed by their
 * first 8 bytes (migrations.ts); a lookup names the indexed expression and
 * then compares the whole value, so each key is bound twice.
 */
const KEY8 = (col: string) => `substr(${col}, 1, 8)`;
const LOOKUP_KEY8_PARAMS = Array.from({ length: LOOKUP_BATCH }, () => KEY8('?')).join(', ');

export function prepareStatements(db: Database.Database) {
  return {
    insertFolder: db.prepare('INSERT INTO folders (path, folder_id, type) VALUES (?, ?, ?)'),
    deleteFolder: db.prepare('DELETE FROM folders WHERE id = ?'),
    folderById: db.prepare('SELECT * FROM folders WHERE id = ?'),
    folderByFolderId: db.prepare('SELECT * FROM folders WHERE folder_id = ?'),
    folderByPath: db.prepare('SELECT id FROM folders WHERE path = ?'),
    listFolders: db.prepare('SELECT * FROM folders ORDER BY id'),
    folderSeq: db.prepare('SELECT seq FROM folders WHERE id = ?'),
    bumpSeq: db.prepare('UPDATE folders SET seq = seq + 1 WHERE id = ? RETURNING seq'),

    versionsForLocator: db.prepare(`SELECT rowid, version_key FROM records WHERE folder = ? AND ${KEY8('locator')} = ${KEY8('?')} AND locator = ?`),
    folderSealsIds: db.prepare('SELECT seal_ids FROM folders WHERE id = ?').pluck(),
    setFolderSealsIds: db.prepare('UPDATE folders SET seal_ids = 1 WHERE id = ? AND seal_ids = 0'),
    recordEnvelope: db.prepare('SELECT substr(sealed, 1, 4) FROM records WHERE rowid = ?').pluck(),
    completeRecord: db.prepare('UPDATE records SET block_ids = ?, sealed = ?, seq = ? WHERE rowid = ?'),
    // '+seq' keeps the planner on records_by_locator: plain 'ORDER BY seq' makes it
    // walk records_by_seq over the whole folder to avoid a (tiny) sort.
    recordsForLocator: db.prepare(`SELECT ${RECORD_COLS} FROM records WHERE folder = ? AND ${KEY8('locator')} = ${KEY8('?')} AND locator = ? ORDER BY +seq`),
    recordsForLocators: db.prepare(
      `SELECT ${RECORD_COLS} FROM records WHERE folder = ? AND ${KEY8('locator')} IN (${LOOKUP_KEY8_PARAMS}) AND locator IN (${LOOKUP_PARAMS}) ORDER BY +seq`,
    ),
    deleteRecord: db.prepare(`DELETE FROM records WHERE folder = ? AND ${KEY8('locator')} = ${KEY8('?')} AND locator = ? AND version_key = ?`),
    insertRecord: db.prepare(
      `INSERT INTO records (folder, locator, version_key, last_writer, block_ids, sealed, seq, kind, size, mtime_ms, deleted)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    recordsSince: db.prepare(`SELECT ${RECORD_COLS} FROM records WHERE folder = ? AND seq > ? ORDER BY seq LIMIT ?`),
    // One winner per locator by the winner rule (src/model/needs.ts); rows held
    // for one locator are always mutually concurrent, so the rule alone decides.
    // Kept by triggers (migration 5); the recount queries below say what they must equal.
    globalStats: db.prepare(`
      SELECT g_records AS records, g_files AS files, g_bytes AS bytes, g_dirs AS dirs,
             g_symlinks AS symlinks, g_deleted AS deleted, g_unknown AS unknown
      FROM folder_totals WHERE folder = ?`),
    globalStatsRecount: db.prepare(`
      SELECT COUNT(*) AS records,
             SUM(kind = 'file' AND deleted = 0) AS files,
             SUM(CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END) AS bytes,
             SUM(kind = 'dir' AND deleted = 0) AS dirs,
             SUM(kind = 'symlink' AND deleted = 0) AS symlinks,
             SUM(deleted = 1) AS deleted,
             SUM(kind IS NULL) AS unknown
      FROM (
        SELECT kind, size, deleted, ROW_NUMBER() OVER (
          PARTITION BY locator ORDER BY COALESCE(deleted, 0) ASC, mtime_ms DESC, last_writer DESC, version_key DESC
        ) AS rn
        FROM records WHERE folder = ?
      ) WHERE rn = 1`),

    fileStats: db.prepare(`SELECT ${FILE_STAT_COLS} FROM files WHERE folder = ?`),
    fileStatsUnder: db.prepare(
      `SELECT ${FILE_STAT_COLS} FROM files WHERE folder = ? AND (path = ? OR (path >= ? AND path < ?))`,
    ),
    // Names one level below a directory: its subtree's range, less the paths with another '/' after the prefix.
    liveChildPaths: db.prepare(
      // length() counts characters as substr() does (a JS length counts UTF-16 units).
      'SELECT path FROM files WHERE folder = @folder AND path >= @prefix AND path < @end AND instr(substr(path, length(@prefix) + 1), \'/\') = 0 AND deleted = 0',
    ).pluck(),
    fileStat: db.prepare(`SELECT ${FILE_STAT_COLS} FROM files WHERE folder = ? AND path = ?`),
    fileStatsOf: db.prepare(`SELECT ${FILE_STAT_COLS} FROM files WHERE folder = ? AND path IN (${LOOKUP_PARAMS})`),
    // Covered by files_by_path (folder, path, rowid): no table row is read.
    filePathsAfter: db.prepare('SELECT rowid, path FROM files WHERE folder = ? AND path > ? ORDER BY path LIMIT ?'),
    lastFileRowId: db.prepare('SELECT COALESCE(MAX(rowid), 0) FROM files').pluck(),
    pathsWithInode: db.prepare('SELECT path FROM files WHERE folder = ? AND ino = ? AND dev = ? AND deleted = 0 AND kind = \'file\' LIMIT ?'),
    getFile: db.prepare('SELECT * FROM files WHERE folder = ? AND path = ?'),
    fileBlocksRow: db.prepare('SELECT rowid, version_key, blocks FROM files WHERE folder = ? AND path = ? AND deleted = 0'),
    setFileBlocks: db.prepare('UPDATE files SET blocks = ? WHERE rowid = ?'),
    setBlockId: db.prepare('UPDATE blocks SET id = ? WHERE file = ? AND offset = ?'),
    getFiles: db.prepare(`SELECT * FROM files WHERE folder = ? AND path IN (${LOOKUP_PARAMS})`),
    // An upsert, not INSERT OR REPLACE: the row keeps its rowid, which its blocks rows point at.
    upsertFile: db.prepare(
      `INSERT INTO files
        (folder, path, kind, size, mtime_ms, mode, symlink_target, deleted, version_key, blocks, disk_mtime, ino, dev, seq, local_change)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (folder, path) DO UPDATE SET
        kind = excluded.kind, size = excluded.size, mtime_ms = excluded.mtime_ms, mode = excluded.mode,
        symlink_target = excluded.symlink_target, deleted = excluded.deleted, version_key = excluded.version_key,
        blocks = excluded.blocks, disk_mtime = excluded.disk_mtime, ino = excluded.ino, dev = excluded.dev,
        seq = excluded.seq, local_change = excluded.local_change
       RETURNING rowid`,
    ).pluck(),
    deleteFile: db.prepare('DELETE FROM files WHERE folder = ? AND path = ? RETURNING rowid').pluck(),
    localChanges: db.prepare('SELECT path FROM files WHERE folder = ? AND local_change = 1 ORDER BY path LIMIT ?'),
    localStats: db.prepare(`
      SELECT l_files AS files, l_bytes AS bytes, l_dirs AS dirs, l_symlinks AS symlinks,
             l_deleted AS deleted, l_changes AS local_changes
      FROM folder_totals WHERE folder = ?`),
    localStatsRecount: db.prepare(`
      SELECT SUM(kind = 'file' AND deleted = 0) AS files,
             SUM(CASE WHEN kind = 'file' AND deleted = 0 THEN size ELSE 0 END) AS bytes,
             SUM(kind = 'dir' AND deleted = 0) AS dirs,
             SUM(kind = 'symlink' AND deleted = 0) AS symlinks,
             SUM(deleted = 1) AS deleted,
             SUM(local_change = 1) AS local_changes
      FROM files WHERE folder = ?`),

    deleteBlocksOfFile: db.prepare('DELETE FROM blocks WHERE file = ?'),
    deleteBlocksOfFolder: db.prepare('DELETE FROM blocks WHERE file IN (SELECT rowid FROM files WHERE folder = ?)'),
    insertBlock: db.prepare('INSERT OR REPLACE INTO blocks (file, offset, size, hash, id) VALUES (?, ?, ?, ?, ?)'),
    blockById: db.prepare(`SELECT ${BLOCK_COLS} FROM ${BLOCK_FROM} WHERE ${KEY8('b.id')} = ${KEY8('?')} AND b.id = ? LIMIT 1`),
    // One query for serving a plaintext block: where it is in this folder, and the stat the scan saw of that file.
    servableByHash: db.prepare(
      `SELECT f.path AS path, b.offset AS offset, b.size AS size, f.size AS file_size, f.disk_mtime AS disk_mtime, f.ino AS ino, f.dev AS dev FROM ${BLOCK_FROM} ` +
      `WHERE ${KEY8('b.hash')} = ${KEY8('?')} AND b.hash = ? AND f.folder = ? AND f.deleted = 0 LIMIT ?`,
    ),
    blockByHash: db.prepare(`SELECT ${BLOCK_COLS} FROM ${BLOCK_FROM} WHERE ${KEY8('b.hash')} = ${KEY8('?')} AND b.hash = ? LIMIT 1`),
    blocksByHash: db.prepare(`SELECT ${BLOCK_COLS} FROM ${BLOCK_FROM} WHERE ${KEY8('b.hash')} = ${KEY8('?')} AND b.hash = ? LIMIT ?`),
    allBlockHashes: db.prepare(`SELECT ${KEY8('hash')} FROM blocks`).pluck(),

    getPeer: db.prepare('SELECT index_id, max_seq FROM peers WHERE folder = ? AND device_id = ?'),
    upsertPeer: db.prepare('INSERT OR REPLACE INTO peers (folder, device_id, index_id, max_seq) VALUES (?, ?, ?, ?)'),
  };
}
