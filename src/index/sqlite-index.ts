/**
 * The device's SQLite index (one index.db per home): folders, the sealed
 * records held (the global view), what is on disk (files, blocks) and how far
 * each remote peer's index has been applied.
 *
 * better-sqlite3 is synchronous: every method here is a short, bounded
 * statement; bulk work goes through `transaction(fn)` so a scan commits
 * hundreds of rows per fsync. All statements are prepared once.
 */
import type Database from 'better-sqlite3';
import { openPrivateDatabase } from './private-database.js';
import { randomBytes } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { MAX_SEALED_RECORD_BYTES, sealedRecordWithholdsIds } from '../crypto/sealed-record.js';
import { compareVectors, lastWriter, parseVectorKey, vectorKey } from '../model/version-vector.js';
import { MIGRATIONS, OLDEST_SUPPORTED_SCHEMA, SCHEMA_VERSION } from './migrations.js';
import { HistoryStore } from './history-store.js';
import { HeadStore } from './head-store.js';
import { type BlockRowDb, type FileRow, type FileStatRow, type FolderRowDb, LOOKUP_BATCH, prepareStatements, type RecordRow, type ServableRowDb, toBlock, toServable, toFileStat, toFolder, toLocalFile, toStoredRecord } from './sqlite-statements.js';
import { ID_BYTES, decodeBlockList, encodeBlockList, encodeIdList } from './codec.js';
import type {
  BlockLocation,
  FileStat,
  FolderRow,
  GlobalStats,
  IndexFolderType,
  LocalFile,
  LocalFileInput,
  LocalStats,
  PeerState,
  PutRecordResult,
  RecordInput,
  ServableBlock,
  StoredRecord,
} from './types.js';
import { bytesEqual, toHex } from '../crypto/bytes.js';
import type { FileRecord } from '../model/types.js';

/** Concurrent versions kept per path; more is abuse by a write-key holder, not editing. */
export const MAX_CONCURRENT_VERSIONS = 32;
/** Largest page `recordsSince` returns. */
export const MAX_RECORDS_PAGE = 10_000;
/** SQLite page cache per connection. Misses are served from the OS page cache (a pread), so a big
 * cache buys little: 64 MiB -> 8 MiB cut a 100k-file initial scan's peak RSS 324 -> 240 MiB at the same speed;
 * 8 -> 4 MiB, bench (b) at scale 1, two runs each: sender peak 118-121 -> 110-113 MiB, receiver 149-155 ->
 * 151-152, CPU within noise (receiver 8.25 -> 8.39 s); (f) at scale 0.5: 1.01 -> 1.04 s, CPU 10.6 -> 10.9 s. */
export const PAGE_CACHE_KIB = 4 * 1024;
/**
 * WAL pages before SQLite copies them back into the database file. Each checkpoint
 * writes and fsyncs the database file on the committing (main) thread; the default
 * (1,000 pages, 4 MiB) made a scan of many small files checkpoint after almost every
 * batch commit. The WAL file may grow to about this many 4 KiB pages (32 MiB).
 */
export const WAL_CHECKPOINT_PAGES = 8192;
/** Milliseconds a writer waits on a locked database before failing. */
export const BUSY_TIMEOUT_MS = 5000;
/**
 * Bits of the in-memory filter of plaintext block hashes in the blocks table
 * (2^23 bits = 1 MiB of RAM). A receiver looks up every block it pulls for a
 * local copy (findBlocksByHash), and in an initial sync nearly every answer
 * is "none": 10,000 SQL lookups took ~0.2 s of the receiver's main thread in
 * bench (b). A clear bit answers "none" without SQL; a set bit (a held hash,
 * or a false positive: ~12% of misses at a million blocks) runs the query.
 */
export const BLOCK_HASH_FILTER_BITS = 1 << 23;

/** What the blocks table holds as the id of a block whose record withholds its ids (never looked up). */
const WITHHELD_ID = new Uint8Array(0);
const HEX16_RE = /^[0-9a-f]{16}$/;
const FOLDER_ID_RE = /^[0-9a-f]{64}$/;


export class SqliteIndex {
  readonly path: string;
  /** This database's id in version vectors (16 hex). */
  readonly vectorId: string;
  /** Identifies this database to peers; a reset database gets a new one. */
  readonly indexId: string;
  private readonly db: Database.Database;
  private readonly s: ReturnType<typeof prepareStatements>;
  /**
   * One bit per hash slot (blockHashSlot) of every hash ever inserted into the
   * blocks table through this connection or present when it was built (lazily,
   * on the first lookup). Bits are never cleared: a deleted or rolled-back row
   * only leaves a false positive. A row written by another connection after
   * the build would be missed; the daemon is the only writer of its index, and
   * a missed local copy costs a transfer, never a wrong byte.
   */
  private blockHashFilter: Uint8Array | null = null;
  /**
   * sealsBlockIds per folder as last read: the puller asks after every file
   * it applies (~17 µs a query, 0.5 s of a 30,000-file sync). A mark or a
   * removal drops the folder's entry, so the next read goes to the database;
   * a read inside a transaction is not kept (it may roll back). The daemon
   * is the only writer.
   */
  private readonly sealsIdsCache = new Map<number, boolean>();
  /** Archive notes and the event log (history-store.ts), on the same connection. */
  readonly history: HistoryStore;
  /** Signed heads (head-store.ts), on the same connection. */
  readonly heads: HeadStore;

  constructor(dbPath: string) {
    this.path = dbPath;
    this.db = openPrivateDatabase(dbPath);
    try {
      this.db.pragma('foreign_keys = ON');
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      // Negative = KiB. Random-keyed indexes (locators, block ids) thrash the 2 MiB default.
      this.db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
      this.db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
      migrate(this.db);
      this.vectorId = ensureMeta(this.db, 'vector_id');
      this.indexId = ensureMeta(this.db, 'index_id');
      this.s = prepareStatements(this.db);
      this.history = new HistoryStore(this.db);
      this.heads = new HeadStore(this.db);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  get isOpen(): boolean {
    return this.db.open;
  }

  get schemaVersion(): number {
    return (this.db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number }).v;
  }

  /** Runs `fn` in one transaction; nested calls join the outer one. */
  transaction<T>(fn: () => T): T {
    // Inside a batch, run directly: a savepoint per row costs more than the row.
    // A throw still aborts the outer transaction, so atomicity is kept.
    if (this.db.inTransaction) return fn();
    return this.db.transaction(fn)();
  }

  // ---- folders ------------------------------------------------------------

  addFolder(folder: { path: string; folderId: string; type: IndexFolderType }): FolderRow {
    if (!FOLDER_ID_RE.test(folder.folderId)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'folderId must be 64 lowercase hex characters');
    const existing = this.s.folderByFolderId.get(folder.folderId) as FolderRowDb | undefined;
    if (existing) throw new SealsyncError('ERR_FOLDER_EXISTS', undefined, { folderId: folder.folderId });
    if (this.s.folderByPath.get(folder.path)) throw new SealsyncError('ERR_FOLDER_EXISTS', undefined, { path: folder.path });
    const info = this.s.insertFolder.run(folder.path, folder.folderId, folder.type);
    return { rowId: Number(info.lastInsertRowid), path: folder.path, folderId: folder.folderId, type: folder.type, seq: 0 };
  }

  /** Removes the folder and everything indexed for it. */
  removeFolder(rowId: number): boolean {
    return this.transaction(() => {
      // Blocks point at file rows, not at the folder: the cascade cannot reach them.
      this.s.deleteBlocksOfFolder.run(rowId);
      this.sealsIdsCache.delete(rowId);
      return this.s.deleteFolder.run(rowId).changes > 0;
    });
  }

  getFolder(rowId: number): FolderRow | undefined {
    return toFolder(this.s.folderById.get(rowId) as FolderRowDb | undefined);
  }

  folderByFolderId(folderId: string): FolderRow | undefined {
    return toFolder(this.s.folderByFolderId.get(folderId) as FolderRowDb | undefined);
  }

  listFolders(): FolderRow[] {
    return (this.s.listFolders.all() as FolderRowDb[]).map((r) => toFolder(r) as FolderRow);
  }

  /**
   * Whether the folder's scans seal blocks for their ids: set for good once an
   * encrypted peer has joined it (docs/crypto.md §4.4).
   */
  sealsBlockIds(rowId: number): boolean {
    let seals = this.sealsIdsCache.get(rowId);
    if (seals === undefined) {
      seals = this.s.folderSealsIds.get(rowId) === 1;
      // Inside a transaction the row may still be rolled back: kept only once committed.
      if (!this.db.inTransaction) this.sealsIdsCache.set(rowId, seals);
    }
    return seals;
  }

  /** Marks the folder as one whose records must carry block ids. Returns true if it was not marked before. */
  markSealsBlockIds(rowId: number): boolean {
    this.sealsIdsCache.delete(rowId);
    return this.s.setFolderSealsIds.run(rowId).changes > 0;
  }

  folderSeq(rowId: number): number {
    const r = this.s.folderSeq.get(rowId) as { seq: number } | undefined;
    if (!r) throw new SealsyncError('ERR_FOLDER_UNKNOWN', undefined, { rowId });
    return r.seq;
  }

  // ---- records (the global view) -----------------------------------------

  /**
   * Stores a sealed record unless a held version equals or dominates it;
   * removes held versions it dominates, all in one transaction. The caller
   * has verified the record (signature, structure).
   */
  putRecord(folder: number, rec: RecordInput): PutRecordResult {
    checkRecordInput(rec);
    return this.transaction(() => {
      const key = vectorKey(rec.version);
      const held = this.s.versionsForLocator.all(folder, rec.locator, rec.locator) as { rowid: number; version_key: string }[];
      const dominated: string[] = [];
      for (const h of held) {
        const order = compareVectors(rec.version, parseVectorKey(h.version_key));
        if (order === 'equal') {
          // The same version with its block ids, where we hold it without them (docs/crypto.md
          // §4.4): the complete form replaces the row, under a new seq, so it is relayed on
          // (encrypted peers take only this form). The caller verified both; one signer made both.
          if (rec.blockIds.length > 0 && !sealedRecordWithholdsIds(rec.sealed) && sealedRecordWithholdsIds(this.s.recordEnvelope.get(h.rowid) as Buffer)) {
            const seq = this.nextSeq(folder);
            this.s.completeRecord.run(encodeIdList(rec.blockIds), rec.sealed, seq, h.rowid);
            return { outcome: 'completed', stored: true, seq, replaced: 0 } as const;
          }
          return { outcome: 'equal', stored: false, seq: null, replaced: 0 } as const;
        }
        if (order === 'lesser') return { outcome: 'dominated', stored: false, seq: null, replaced: 0 } as const;
        if (order === 'greater') dominated.push(h.version_key);
      }
      if (held.length - dominated.length >= MAX_CONCURRENT_VERSIONS) {
        return { outcome: 'too-many-versions', stored: false, seq: null, replaced: 0 } as const;
      }
      for (const k of dominated) this.s.deleteRecord.run(folder, rec.locator, rec.locator, k);
      const seq = this.nextSeq(folder);
      const p = rec.plain;
      this.s.insertRecord.run(
        folder, rec.locator, key, lastWriter(rec.version), encodeIdList(rec.blockIds), rec.sealed, seq,
        p ? p.kind : null, p ? p.size : null, p ? p.mtimeMs : null, p ? (p.deleted ? 1 : 0) : null,
      );
      return { outcome: 'stored', stored: true, seq, replaced: dominated.length } as const;
    });
  }

  /** Same as putRecord; the name the sync engine uses for records from peers. */
  putRemoteRecord(folder: number, rec: RecordInput): PutRecordResult {
    return this.putRecord(folder, rec);
  }

  /** Every version held for one path (more than one only while concurrent), oldest first. */
  currentRecords(folder: number, locator: Uint8Array): StoredRecord[] {
    return (this.s.recordsForLocator.all(folder, locator, locator) as RecordRow[]).map(toStoredRecord);
  }

  /**
   * currentRecords of many paths at once (LOOKUP_BATCH per query): locator as
   * lowercase hex → its versions, oldest first; paths with none are absent.
   */
  currentRecordsOf(folder: number, locators: readonly Uint8Array[]): Map<string, StoredRecord[]> {
    const out = new Map<string, StoredRecord[]>();
    // Distinct keys only: a locator in two batches would list its versions twice.
    const distinct = [...new Map(locators.map((l) => [toHex(l), l])).values()];
    for (const row of batchedAll<RecordRow>(this.s.recordsForLocators, folder, distinct, true)) {
      const rec = toStoredRecord(row);
      const key = toHex(rec.locator);
      const list = out.get(key);
      if (list) list.push(rec);
      else out.set(key, [rec]);
    }
    // Each batch is ordered by seq; a path's versions all come from one batch, so they are too.
    return out;
  }

  /** Records with seq > `since`, ascending, at most `limit` (bounded by MAX_RECORDS_PAGE). */
  recordsSince(folder: number, since: number, limit: number): StoredRecord[] {
    const n = Math.max(0, Math.min(Math.trunc(limit), MAX_RECORDS_PAGE));
    return (this.s.recordsSince.all(folder, since, n) as RecordRow[]).map(toStoredRecord);
  }

  /** Counts by the winner rule (not deleted, newer mtime, larger last writer, larger version key). */
  globalStats(folder: number): GlobalStats {
    return toGlobalStats(this.s.globalStats.get(folder) as Record<string, number | null> | undefined);
  }

  /**
   * globalStats and localStats computed from every row instead of read from
   * the running totals (what the triggers of migration 5 must keep equal).
   */
  recountStats(folder: number): { global: GlobalStats; local: LocalStats } {
    return {
      global: toGlobalStats(this.s.globalStatsRecount.get(folder) as Record<string, number | null>),
      local: toLocalStats(this.s.localStatsRecount.get(folder) as Record<string, number | null>),
    };
  }

  // ---- files (full peers: what is on disk) --------------------------------

  /** The rescan shortcut's view of the whole folder, in one query. */
  loadFileStats(folder: number): Map<string, FileStat> {
    const out = new Map<string, FileStat>();
    for (const r of this.s.fileStats.iterate(folder) as IterableIterator<FileStatRow>) {
      out.set(r.path, toFileStat(r));
    }
    return out;
  }

  /**
   * The rescan view of one path and everything below it (for partial scans of
   * watcher hints). Uses the (folder, path) index: children of `dir` are the
   * range [dir + '/', dir + '0'), since '0' follows '/' in code-unit order.
   */
  loadFileStatsUnder(folder: number, path: string): Map<string, FileStat> {
    const out = new Map<string, FileStat>();
    for (const r of this.s.fileStatsUnder.iterate(folder, path, `${path}/`, `${path}0`) as IterableIterator<FileStatRow>) {
      out.set(r.path, toFileStat(r));
    }
    return out;
  }

  /**
   * Paths of the live rows directly inside directory `dir` (not deeper): what
   * a watcher hint of a directory is checked against (watch-echo.ts). The
   * subtree's range is walked inside SQLite; only the children come out.
   */
  liveChildPaths(folder: number, dir: string): string[] {
    return this.s.liveChildPaths.all({ folder, prefix: `${dir}/`, end: `${dir}0` }) as string[];
  }

  /** getFileStat of many paths at once (LOOKUP_BATCH per query); paths without a row are absent. */
  getFileStats(folder: number, paths: readonly string[]): Map<string, FileStat> {
    const out = new Map<string, FileStat>();
    for (const r of batchedAll<FileStatRow>(this.s.fileStatsOf, folder, paths)) out.set(r.path, toFileStat(r));
    return out;
  }

  /**
   * The folder's paths a page at a time, in path order: at most `limit` with a
   * path after `after` ('' for the first page), each with its rowid (see
   * lastFileRowId). Read from the path index alone. A full scan's deletion
   * pass reads the folder this way instead of holding every row at once.
   */
  filePathsAfter(folder: number, after: string, limit: number): { rowid: number; path: string }[] {
    const n = Math.max(1, Math.min(Math.trunc(limit), MAX_RECORDS_PAGE));
    return this.s.filePathsAfter.all(folder, after, n) as { rowid: number; path: string }[];
  }

  /** The highest files rowid so far (0 for none): every row written later gets a higher one. */
  lastFileRowId(): number {
    return this.s.lastFileRowId.get() as number;
  }

  /** The rescan view of one path (no block list decoded): what a scan compares a stat with. */
  getFileStat(folder: number, path: string): FileStat | undefined {
    const r = this.s.fileStat.get(folder, path) as FileStatRow | undefined;
    return r ? toFileStat(r) : undefined;
  }

  /**
   * Live file paths last seen on disk as inode `ino` of device `dev`: the other
   * names of a hard link (a write through one name changes them all, but the
   * watcher reports only the name written). Scans the folder's rows; callers
   * ask only for files with more than one link.
   */
  pathsWithInode(folder: number, dev: number, ino: number, limit: number): string[] {
    return (this.s.pathsWithInode.all(folder, ino, dev, limit) as { path: string }[]).map((r) => r.path);
  }

  getFile(folder: number, path: string): LocalFile | undefined {
    const r = this.s.getFile.get(folder, path) as FileRow | undefined;
    return r ? toLocalFile(r) : undefined;
  }

  /**
   * Gives a file row whose record withheld its block ids the ids of `record`,
   * the same version now complete (docs/crypto.md §4.4), so blocks can be
   * served sealed to encrypted peers by id. Only when the row holds exactly
   * that version and the same blocks by hash; returns whether it changed.
   */
  completeFileIds(folder: number, record: FileRecord): boolean {
    return this.transaction(() => {
      const row = this.s.fileBlocksRow.get(folder, record.path) as { rowid: number; version_key: string; blocks: Buffer } | undefined;
      if (!row || row.version_key !== vectorKey(record.version)) return false;
      const held = decodeBlockList(row.blocks);
      if (held.length !== record.blocks.length || held.length === 0 || held[0]!.id !== null) return false;
      if (record.blocks.some((b, i) => b.id === null || b.size !== held[i]!.size || !bytesEqual(b.hash, held[i]!.hash))) return false;
      this.s.setFileBlocks.run(encodeBlockList(record.blocks), row.rowid);
      let offset = 0;
      for (const b of record.blocks) {
        this.s.setBlockId.run(b.id, row.rowid, offset);
        offset += b.size;
      }
      return true;
    });
  }

  /** getFile of many paths at once (LOOKUP_BATCH per query); paths without a row are absent. */
  getFiles(folder: number, paths: readonly string[]): Map<string, LocalFile> {
    const out = new Map<string, LocalFile>();
    for (const r of batchedAll<FileRow>(this.s.getFiles, folder, paths)) out.set(r.path, toLocalFile(r));
    return out;
  }

  /** Paths of a read-only folder whose local content differs from the global state. */
  localChangePaths(folder: number, limit: number): string[] {
    return (this.s.localChanges.all(folder, Math.max(0, Math.trunc(limit))) as { path: string }[]).map((r) => r.path);
  }

  /**
   * Writes what is on disk for one path, its block locations and, when given,
   * the sealed record, in one transaction: after a crash the index never has a
   * file row without its record. Returns the record's sequence (0 if none).
   */
  writeLocalFile(folder: number, file: LocalFileInput, sealed?: RecordInput): number {
    return this.transaction(() => {
      let seq = 0;
      if (sealed) {
        const res = this.putRecord(folder, sealed);
        if (!res.stored) {
          throw new SealsyncError('ERR_INTERNAL', `local record for ${file.record.path} was not stored (${res.outcome})`);
        }
        seq = res.seq ?? 0;
      }
      const f = file.record;
      const fileRow = this.s.upsertFile.get(
        folder, f.path, f.kind, f.size, f.mtimeMs, f.mode, f.symlinkTarget ?? null, f.deleted ? 1 : 0,
        vectorKey(f.version), encodeBlockList(f.blocks), file.diskMtimeMs, file.ino, file.dev, seq, file.localChange ? 1 : 0,
      ) as number;
      this.s.deleteBlocksOfFile.run(fileRow);
      if (!f.deleted && f.kind === 'file') {
        let offset = 0;
        for (const b of f.blocks) {
          this.s.insertBlock.run(fileRow, offset, b.size, b.hash, b.id ?? WITHHELD_ID);
          if (this.blockHashFilter) setSlot(this.blockHashFilter, b.hash);
          offset += b.size;
        }
      }
      return seq;
    });
  }

  /** Forgets a path entirely (e.g. an ignored path); tombstones are written with writeLocalFile. */
  forgetFile(folder: number, path: string): void {
    this.transaction(() => {
      const fileRow = this.s.deleteFile.get(folder, path) as number | undefined;
      if (fileRow !== undefined) this.s.deleteBlocksOfFile.run(fileRow);
    });
  }

  localStats(folder: number): LocalStats {
    return toLocalStats(this.s.localStats.get(folder) as Record<string, number | null> | undefined);
  }

  // ---- blocks (full peers) -------------------------------------------------

  findBlockById(id: Uint8Array): BlockLocation | undefined {
    return toBlock(this.s.blockById.get(id, id) as BlockRowDb | undefined);
  }

  findBlockByHash(hash: Uint8Array): BlockLocation | undefined {
    if (!this.mayHoldBlockHash(hash)) return undefined;
    return toBlock(this.s.blockByHash.get(hash, hash) as BlockRowDb | undefined);
  }

  /** All on-disk locations of a plaintext block (a stale one may fail verification; try the next). */
  findBlocksByHash(hash: Uint8Array, limit = 8): BlockLocation[] {
    if (!this.mayHoldBlockHash(hash)) return [];
    return (this.s.blocksByHash.all(hash, hash, limit) as BlockRowDb[]).map((r) => toBlock(r) as BlockLocation);
  }

  /**
   * Live files of `folder` that hold the plaintext block `hash` (at most
   * `limit`), each with the stat its scan recorded: what serving a reader
   * needs, in one query.
   */
  findServableBlocks(folder: number, hash: Uint8Array, limit = 4): ServableBlock[] {
    if (!this.mayHoldBlockHash(hash)) return [];
    return (this.s.servableByHash.all(hash, hash, folder, limit) as ServableRowDb[]).map(toServable);
  }

  /** False only when no row of the blocks table has this hash (see blockHashFilter). */
  private mayHoldBlockHash(hash: Uint8Array): boolean {
    if (!this.blockHashFilter) {
      const filter = new Uint8Array(BLOCK_HASH_FILTER_BITS / 8);
      for (const h of this.s.allBlockHashes.iterate() as IterableIterator<Buffer>) setSlot(filter, h);
      this.blockHashFilter = filter;
    }
    const slot = blockHashSlot(hash);
    return slot < 0 || (this.blockHashFilter[slot >>> 3]! & (1 << (slot & 7))) !== 0;
  }

  // ---- peers ---------------------------------------------------------------

  peerState(folder: number, deviceId: string): PeerState | undefined {
    const r = this.s.getPeer.get(folder, deviceId) as { index_id: string; max_seq: number } | undefined;
    return r ? { indexId: r.index_id, maxSeq: r.max_seq } : undefined;
  }

  setPeerState(folder: number, deviceId: string, state: PeerState): void {
    if (!Number.isSafeInteger(state.maxSeq) || state.maxSeq < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'maxSeq must be a non-negative integer');
    this.s.upsertPeer.run(folder, deviceId, state.indexId, state.maxSeq);
  }

  private nextSeq(folder: number): number {
    const r = this.s.bumpSeq.get(folder) as { seq: number } | undefined;
    if (!r) throw new SealsyncError('ERR_FOLDER_UNKNOWN', undefined, { rowId: folder });
    return r.seq;
  }
}

/** Opens (creating and migrating if needed) the index database at `dbPath`. */
export function openIndex(dbPath: string): SqliteIndex {
  return new SqliteIndex(dbPath);
}

export type Index = SqliteIndex;

// ---- helpers -----------------------------------------------------------------

/** A stats row (a running total or a recount; none for an unknown folder: zeros). */
function toGlobalStats(r: Record<string, number | null> | undefined): GlobalStats {
  const n = (k: string) => Number(r?.[k] ?? 0);
  return {
    records: n('records'), files: n('files'), bytes: n('bytes'), dirs: n('dirs'),
    symlinks: n('symlinks'), deleted: n('deleted'), unknown: n('unknown'),
  };
}

function toLocalStats(r: Record<string, number | null> | undefined): LocalStats {
  const n = (k: string) => Number(r?.[k] ?? 0);
  return {
    files: n('files'), bytes: n('bytes'), dirs: n('dirs'), symlinks: n('symlinks'),
    deleted: n('deleted'), localChanges: n('local_changes'),
  };
}

/**
 * The filter slot of a plaintext block hash: its first four bytes (digests are
 * uniform) modulo the filter size; -1 for a hash too short to have one (then
 * the filter never answers "none").
 */
function blockHashSlot(hash: Uint8Array): number {
  if (hash.byteLength < 4) return -1;
  return (((hash[0]! << 24) | (hash[1]! << 16) | (hash[2]! << 8) | hash[3]!) >>> 0) & (BLOCK_HASH_FILTER_BITS - 1);
}

/**
 * Rows of `stmt` (bound as folder, then LOOKUP_BATCH keys, twice when
 * `twice`: an 8-byte-prefix lookup, sqlite-statements.ts) for every key, one
 * query per LOOKUP_BATCH keys; a short last batch repeats its first key (IN
 * ignores duplicates).
 */
function* batchedAll<R>(stmt: Database.Statement, folder: number, keys: readonly (Uint8Array | string)[], twice = false): Generator<R> {
  for (let i = 0; i < keys.length; i += LOOKUP_BATCH) {
    const batch = keys.slice(i, i + LOOKUP_BATCH);
    while (batch.length < LOOKUP_BATCH) batch.push(batch[0]!);
    yield* (twice ? stmt.all(folder, ...batch, ...batch) : stmt.all(folder, ...batch)) as R[];
  }
}

function setSlot(filter: Uint8Array, hash: Uint8Array): void {
  const slot = blockHashSlot(hash);
  if (slot >= 0) filter[slot >>> 3]! |= 1 << (slot & 7);
}

function migrate(db: Database.Database): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)');
  const current = (db.prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_version').get() as { v: number }).v;
  if (current > SCHEMA_VERSION) {
    throw new SealsyncError('ERR_FORMAT_VERSION', `index.db has schema ${current}, newer than this sealsync (${SCHEMA_VERSION})`);
  }
  if (current > 0 && current < OLDEST_SUPPORTED_SCHEMA) {
    throw new SealsyncError('ERR_FORMAT_VERSION', `index.db has schema ${current} from an older sealsync (this one reads ${OLDEST_SUPPORTED_SCHEMA}): re-create the home with \`sealsync init\``);
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_version (version) VALUES (?)').run(m.version);
    })();
  }
}

function ensureMeta(db: Database.Database, key: string): string {
  const row = db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
  if (row) {
    if (!HEX16_RE.test(row.value)) throw new SealsyncError('ERR_INTERNAL', `index.db meta ${key} is corrupt`);
    return row.value;
  }
  const value = randomBytes(8).toString('hex');
  db.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run(key, value);
  return value;
}

function checkRecordInput(rec: RecordInput): void {
  if (rec.locator.length !== ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `locator must be ${ID_BYTES} bytes`);
  if (rec.sealed.length > MAX_SEALED_RECORD_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'sealed record is too large');
}
