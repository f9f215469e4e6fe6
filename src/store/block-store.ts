/**
 * The encrypted peer's block store: sealed blocks on disk, content-addressed by
 * the hash of their ciphertext.
 *
 * How this works
 * --------------
 * The store root is the PATH the user gave to `folder add PATH --key E…`. It
 * holds only ciphertext and opaque names:
 *
 *   <root>/packs/<n>.pack            sealed blocks, appended back to back
 *   <root>/blocks.db (-wal, -shm)    SQLite: one row per block,
 *                                    blocks(id, pack, offset, length, area, since)
 *   <root>/quarantine/<id>.<rand>    copies of blocks that failed a re-hash
 *
 * `area` is live (referenced by a record) or retained (no longer referenced,
 * kept for the retention period; `since` is the moment it became
 * unreferenced). Retire and revive are row updates; gc deletes rows. A pack
 * holds exactly the sealed bytes of its blocks, nothing else (no names, no
 * lengths, no plaintext): ids, sizes and offsets are in the database, and the
 * ids are hashes of ciphertext, public to every folder member anyway.
 *
 * Modules: this one holds the group commit, compaction, the areas and
 * verification; pack-files.ts the pack files (create 0600, positional
 * append and read, truncate-on-open, read descriptors);
 * src/index/block-store-db.ts the database; legacy-block-layout.ts the
 * migration of the old file-per-block layouts.
 *
 * Why packs: with a file per block, storing a block cost an inode, a temp
 * file, an fsync, a rename and a directory fsync; storing 2,048 blocks of
 * 128 KiB took 1.2-1.4 CPU seconds (bench/store-cpu.ts), against 0.14-0.15 s
 * appended to a pack with one fdatasync and one transaction per batch.
 *
 * The database is the store's own, next to the packs (why, its schema and
 * its SQL: src/index/block-store-db.ts). Only one store instance may have a
 * root open at a time (the daemon opens each folder once). A new database
 * next to existing packs (the database was lost) makes `open` refuse rather
 * than delete the packs.
 *
 * Durability, batched (group commit). `put` appends the block to the current
 * pack (a positional write into the page cache) and joins the open batch;
 * `put` resolves only when its batch is committed:
 *
 *   1. every pack the batch wrote to is fdatasynced (and the packs directory
 *      once when a pack was created, so its name survives a power loss);
 *   2. the batch's rows are inserted in one transaction (the database runs
 *      with `synchronous = NORMAL`: the commit appends to the WAL file and
 *      does not sync it);
 *   3. the WAL file is fdatasynced in the thread pool (BlockStoreDb.syncWal),
 *      which makes that commit (and every earlier one) durable without
 *      holding up the event loop for a disk flush per batch.
 *
 * One batch commits at a time; blocks that arrive meanwhile form the next one.
 * A row is only ever committed after the bytes it points at were made durable,
 * so after a crash (kill -9, power loss) every row names whole bytes, and a
 * block that was not committed is a tail of a pack that no row reaches. `open`
 * truncates each pack to its committed length (the largest offset + length of
 * its rows) and deletes packs without rows (PackFiles.cutToCommitted). The
 * caller (ReplicaFolder) counts a block as held only once `put` resolved.
 * Should a disk lie about fsync, a torn block still never spreads: `get`
 * re-hashes every block it serves and quarantines a mismatch (the replica
 * then fetches it again), and `folder verify` re-hashes the whole store.
 *
 * Space: a removed or quarantined block leaves dead bytes in its pack.
 * `compact` (run after each gc pass) rewrites every pack that is more than
 * COMPACT_DEAD_FRACTION dead: its remaining blocks are appended to the current
 * pack through the same group commit, their rows are moved in one
 * transaction made durable as above, and only then is the old pack deleted.
 * A crash before the commit leaves the rows on the old pack (the copies are
 * dead tails); a crash after it leaves an old pack no row points at, deleted
 * by the next open.
 *
 * Retire, revive and remove are single statements without the WAL sync:
 * durable against a process crash, and a power loss may undo the latest of
 * them (a retired block stays live, a revived one stays retained, a removed
 * one comes back: never a row without its bytes, because packs are only
 * deleted or cut after a WAL sync or a checkpoint, which makes every earlier
 * commit durable too). Rows of a batch are visible (a duplicate put, a get)
 * from the commit on, before its WAL sync: they only ever name durable bytes.
 *
 * Migration: stores made before packs kept a file per block (blocks/ab/<id>,
 * retained/ab/<id>, blocks/ab/cd/<id>). `open` moves them into packs in
 * batches: legacy-block-layout.ts finds, reads and afterwards deletes the
 * files; the store appends each batch and commits it through the same
 * durable commit as a put (see that module for the crash cases).
 *
 * Nothing here ever sees a plaintext name, path or content; logs carry only
 * counts and block ids (hashes of ciphertext, public to every folder member).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SealsyncError, isSealsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { verifySealedBlock } from '../crypto/sealed-block.js';
import { acquirePidLock, type PidLock, type PidLockErrors } from '../fs/pid-lock.js';
import { fsyncDir } from '../fs/atomic-apply.js';
import { acquireBlockBuffer, releaseBlockBuffer } from '../memory/block-buffer-pool.js';
import { AREA_CODE, BLOCK_HEX_ID_RE, BlockStoreDb, STORE_DB_FILE, areaName, type BlockArea, type BlockRow } from '../index/block-store-db.js';
import { migrateLegacyLayout, type LegacyBlock } from './legacy-block-layout.js';
import { PACKS_DIR, PackFiles, STORE_DIR_MODE, STORE_FILE_MODE, containsPacks } from './pack-files.js';

/** Upper bound of one sealed block on disk or on the wire; anything larger is hostile. */
export const MAX_SEALED_BLOCK_BYTES = 32 * 1024 * 1024 + 4096;
/** Block ids are 32-byte hashes. */
export const BLOCK_ID_BYTES = 32;

/**
 * Most blocks written but not yet committed: each delays its caller, and a
 * `put` beyond this waits for the running commit. The replica has at most 64
 * fetches in flight, so this is a bound for other callers.
 */
export const MAX_UNCOMMITTED_BLOCKS = 256;
/**
 * A pack stops taking blocks once it reaches this size and the next one is
 * started. Compaction rewrites at most half a pack's worth of live blocks at a
 * time, so this bounds the work of one rewrite (32 MiB); a 1 TiB store is
 * 16,384 packs, far from any directory or descriptor concern (reads keep at
 * most MAX_OPEN_READ_PACKS open).
 */
export const PACK_TARGET_BYTES = 64 * 1024 * 1024;
/**
 * A pack whose dead bytes (removed or quarantined blocks, uncommitted tails)
 * exceed this fraction of its size is rewritten by `compact`: at one half,
 * rewriting costs at most one byte copied per byte freed.
 */
export const COMPACT_DEAD_FRACTION = 0.5;
/** Rows per query when listing an area (no statement stays open across an await). */
export const LIST_PAGE_ROWS = 1000;

const QUARANTINE_DIR = 'quarantine';
/** Holds the pid of the process that has the store open (fs/pid-lock.ts). */
export const STORE_LOCK_FILE = 'store.lock';

function storeLockErrors(root: string): PidLockErrors {
  return {
    heldBy: (pid) => new SealsyncError('ERR_STORE_IN_USE', `the block store at ${root} is in use by another sealsync process (pid ${pid})`, { pid }),
    busy: () => new SealsyncError('ERR_STORE_IN_USE', `the block store at ${root} is being opened by another sealsync process`),
  };
}

/** Throws ERR_BLOCK_ID when `sealed` is not the block named `id` (src/crypto verifySealedBlock). */
export type BlockVerifier = (sealed: Uint8Array, id: Uint8Array) => void;

/** The production verifier: header check plus id = hash of the ciphertext. */
export const sealedBlockVerifier: BlockVerifier = (sealed, id) => {
  if (!verifySealedBlock(sealed, id)) throw new SealsyncError('ERR_BLOCK_ID');
};

export { STORE_DB_FILE, type BlockArea };
export { MIGRATION_BATCH_BLOCKS } from './legacy-block-layout.js';
export { MAX_OPEN_READ_PACKS, PACKS_DIR, STORE_DIR_MODE, STORE_FILE_MODE, STORE_SYNC_WRITE_MAX_BYTES, SYNC_READ_MAX_BYTES } from './pack-files.js';

export interface StoredBlockInfo {
  readonly id: string;
  readonly size: number;
  /** For retained blocks: when the block became unreferenced (ms since epoch); for live ones, when it was stored. */
  readonly mtimeMs: number;
}

/** Where a block's ciphertext is on disk (tests corrupt it there; diagnostics). */
export interface BlockLocation {
  readonly file: string;
  readonly offset: number;
  readonly length: number;
  readonly area: BlockArea;
}

/** Moments a test can stop the store at to check what a kill -9 there leaves. */
export type StoreCrashPoint = 'compact-committed' | 'migrate-committed';

export interface BlockStoreOptions {
  readonly root: string;
  readonly verifyBlock: BlockVerifier;
  readonly logger?: Logger;
  /** fdatasync of a pack and of the database's WAL file; tests hold or fail it to check what a crash mid-batch leaves. */
  readonly syncFd?: (fd: number) => Promise<void>;
  /** Tests only: awaited at each crash point (never resolving it freezes the store there, as a kill -9 would). */
  readonly crashPoint?: (point: StoreCrashPoint) => Promise<void>;
  /** The clock for `since` of stored blocks (tests). */
  readonly now?: () => number;
  /** Tests only: a smaller PACK_TARGET_BYTES, so packs fill up with a few blocks. */
  readonly packTargetBytes?: number;
}

export type PutResult = 'stored' | 'duplicate' | 'revived';

export interface PutOptions {
  readonly signal?: AbortSignal;
  /** The caller hashed these exact bytes against the id a moment ago (the replica's fetcher does). */
  readonly verified?: boolean;
  /**
   * Called once the bytes are in the pack (the caller's buffer is no longer
   * needed) and the put waits only for its batch's commit. The block is not
   * held yet: that is when put resolves. The replica frees its fetch slot
   * here, so the network window does not wait for fsyncs (bounded by
   * MAX_UNCOMMITTED_BLOCKS). Not called for duplicates and revivals.
   */
  readonly onWritten?: () => void;
}

export interface CompactReport {
  /** Packs rewritten and deleted. */
  readonly packs: number;
  /** Bytes of live blocks copied into the current pack. */
  readonly movedBytes: number;
  /** Disk space given back (size of the deleted packs minus what was copied). */
  readonly freedBytes: number;
}

export function blockIdToHex(id: Uint8Array): string {
  if (id.length !== BLOCK_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `block id must be ${BLOCK_ID_BYTES} bytes`);
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export function blockIdFromHex(hex: string): Uint8Array {
  checkHex(hex);
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function checkHex(hex: string): void {
  if (!BLOCK_HEX_ID_RE.test(hex)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'block id must be 64 lowercase hex characters');
}

const fdatasyncFd = promisify(fdatasync);

/** The pack being appended to (or one retired from that, until its last batch committed). */
interface PackWriter {
  readonly n: number;
  readonly fd: number;
  /** Next append offset (bytes reserved so far, written or being written). */
  end: number;
  /** Blocks appended and not yet committed or failed. */
  refs: number;
  /** Created by this instance and its directory entry not yet fsynced. */
  fresh: boolean;
  /** No more appends (full, or its fdatasync failed): closed once refs is 0. */
  sealed: boolean;
}

/** A block appended to a pack, waiting for its batch's commit. */
interface UncommittedBlock {
  readonly hex: string;
  readonly writer: PackWriter;
  readonly offset: number;
  readonly length: number;
  readonly area: number;
  readonly since: number;
  /** Compaction: the row to move (it must still be at this place). */
  readonly from?: { readonly pack: number; readonly offset: number };
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

/** Per pack: bytes up to the end of its last committed block, and bytes of committed blocks. */
interface PackStats {
  end: number;
  used: number;
}

export class BlockStore {
  readonly root: string;
  private readonly verifyBlock: BlockVerifier;
  private readonly log: Logger | undefined;
  private readonly syncFd: (fd: number) => Promise<void>;
  private readonly crashPoint: ((point: StoreCrashPoint) => Promise<void>) | undefined;
  private readonly now: () => number;
  private readonly packTargetBytes: number;
  private readonly packs: PackFiles;
  private readonly db: BlockStoreDb;
  /** One transaction over a batch's rows; adds the blocks whose row changed to `applied` (the wrapper is made once, not per batch). */
  private readonly applyRows: (blocks: readonly UncommittedBlock[], applied: Set<UncommittedBlock>) => void;
  /** Written, not yet committed (the open batch), by hex id: a second put of one of them waits for it. */
  private readonly uncommitted = new Map<string, UncommittedBlock>();
  private batch: UncommittedBlock[] = [];
  /** The running commit loop, null when no batch is open. */
  private committing: Promise<void> | null = null;
  private writer: PackWriter | null = null;
  /** Packs with an open write descriptor (the current one, and full ones until their last batch committed). */
  private readonly writers = new Map<number, PackWriter>();
  private nextPack = 1;
  private readonly stats = new Map<number, PackStats>();
  private closed = false;
  /** Crash leftovers cleaned by open (old-layout temp files, pack tails, packs without rows). */
  private cleanedAtOpen = 0;
  /** put() calls not yet settled (close() waits for them). */
  private readonly puts = new Set<Promise<PutResult>>();
  /** The running compaction (one at a time). */
  private compacting: Promise<CompactReport> | null = null;

  private constructor(opts: BlockStoreOptions, db: BlockStoreDb, private readonly lock: PidLock) {
    this.root = opts.root;
    this.verifyBlock = opts.verifyBlock;
    this.log = opts.logger;
    this.syncFd = opts.syncFd ?? fdatasyncFd;
    this.crashPoint = opts.crashPoint;
    this.now = opts.now ?? Date.now;
    this.packTargetBytes = opts.packTargetBytes ?? PACK_TARGET_BYTES;
    this.packs = new PackFiles(opts.root);
    this.db = db;
    this.applyRows = db.transaction((blocks: readonly UncommittedBlock[], applied: Set<UncommittedBlock>) => {
      for (const b of blocks) if (this.applyRow(b)) applied.add(b);
    });
  }

  /** Opens (creating if needed) the store under `root`. The root itself must exist or be creatable. */
  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    await mkdir(opts.root, { recursive: true, mode: STORE_DIR_MODE });
    // One process per store: two appending to the same packs would corrupt them
    // (two homes on one machine could both add the same path).
    const lock = await acquirePidLock(join(opts.root, STORE_LOCK_FILE), storeLockErrors(opts.root));
    let db: BlockStoreDb;
    try {
      for (const dir of [join(opts.root, PACKS_DIR), join(opts.root, QUARANTINE_DIR)]) {
        await mkdir(dir, { recursive: true, mode: STORE_DIR_MODE });
      }
      db = await BlockStoreDb.open(join(opts.root, STORE_DB_FILE), {
        beforeSchema: () => refuseOrphanPacks(join(opts.root, PACKS_DIR)),
        ...(opts.syncFd ? { syncFd: opts.syncFd } : {}),
      });
    } catch (err) {
      await lock.release();
      throw err;
    }
    const store = new BlockStore(opts, db, lock);
    try {
      await store.recoverPacks();
      await store.migrateLegacyLayout();
    } catch (err) {
      await store.close();
      throw err;
    }
    return store;
  }

  /**
   * Truncates every pack to its committed length and deletes packs no row
   * points at (crash leftovers: uncommitted tails, a compacted pack whose
   * deletion was interrupted). Rows of a pack that is missing altogether (a
   * disk that lost it) are dropped: the store never claims what it lacks.
   */
  private async recoverPacks(): Promise<void> {
    // What is cut below must stay dead after a power loss too: make every
    // commit read here durable first (retire/remove commit with NORMAL, and a
    // remove lost to a power cut would bring back a row for bytes cut here).
    this.db.checkpointFull();
    for (const r of this.db.packStats()) {
      this.stats.set(r.pack, { end: r.end, used: r.used });
    }
    const { kept: onDisk, highest, cleaned } = await this.packs.cutToCommitted((n) => this.stats.get(n)?.end ?? 0);
    this.nextPack = Math.max(this.nextPack, highest + 1);
    this.cleanedAtOpen += cleaned;
    // Appends go on at the end of the newest pack while it has room (a restart does not start a small pack).
    let newest = 0;
    for (const n of onDisk) newest = Math.max(newest, n);
    const newestEnd = this.stats.get(newest)?.end ?? this.packTargetBytes;
    if (newest > 0 && newestEnd < this.packTargetBytes) {
      this.useWriter({ n: newest, fd: this.packs.openForAppend(newest), end: newestEnd, refs: 0, fresh: false, sealed: false });
    }
    for (const n of [...this.stats.keys()]) {
      this.nextPack = Math.max(this.nextPack, n + 1);
      if (onDisk.has(n)) continue;
      const lost = this.db.deletePack(n);
      this.stats.delete(n);
      this.log?.warn({ pack: n, blocks: lost }, 'block pack missing: its blocks will be fetched again');
    }
  }

  // ---- lookups ------------------------------------------------------------------

  private rowOf(hex: string): BlockRow | undefined {
    return this.db.rowOf(hex);
  }

  /** Where a block's ciphertext is (file, offset, length, area), or null when the store does not hold it. */
  locate(id: Uint8Array | string): BlockLocation | null {
    const hex = typeof id === 'string' ? id : blockIdToHex(id);
    checkHex(hex);
    const row = this.rowOf(hex);
    if (row === undefined) return null;
    return { file: this.packs.path(row.pack), offset: row.offset, length: row.length, area: areaName(row.area) };
  }

  /** Whether a live copy of the block exists (retained copies do not count: they need a revive). */
  async has(id: Uint8Array | string): Promise<boolean> {
    return (await this.sizeOf(id, 'live')) !== null;
  }

  /** Stored ciphertext size in an area, or null when the block is not there. */
  async sizeOf(id: Uint8Array | string, area: BlockArea = 'live'): Promise<number | null> {
    const hex = typeof id === 'string' ? id : blockIdToHex(id);
    checkHex(hex);
    const row = this.rowOf(hex);
    return row !== undefined && row.area === AREA_CODE[area] ? row.length : null;
  }

  // ---- put: append + group commit -------------------------------------------------

  /**
   * Stores a sealed block after checking it is the block named `id`. A block
   * already stored is not rewritten; one in the retained area is revived.
   * Throws ERR_BLOCK_ID (the sender lied) or ERR_FRAME_TOO_LARGE.
   */
  put(id: Uint8Array, sealed: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    // Not async, and the commit is awaited in a callback that does not hold
    // `sealed`: a buffer already in its pack is garbage while its batch is
    // fdatasynced (the replica has up to MAX_UNCOMMITTED_BLOCKS of them).
    const pending = this.stage(id, sealed, opts).then(async ({ result, commit }) => {
      if (commit !== undefined) {
        if (result === 'stored') opts.onWritten?.();
        await commit;
      }
      return result;
    });
    // Tracked so close() waits for puts still before their batch (a large
    // write in the pool): none may write or commit after the folder stopped.
    this.puts.add(pending);
    const untrack = (): void => {
      this.puts.delete(pending);
    };
    pending.then(untrack, untrack);
    return pending;
  }

  /** Checks and writes a block; `commit` (when set) must settle before `result` holds. */
  private async stage(id: Uint8Array, sealed: Uint8Array, opts: PutOptions): Promise<{ result: PutResult; commit?: Promise<void> }> {
    opts.signal?.throwIfAborted();
    const hex = blockIdToHex(id);
    if (sealed.length > MAX_SEALED_BLOCK_BYTES) {
      throw new SealsyncError('ERR_FRAME_TOO_LARGE', `sealed block exceeds ${MAX_SEALED_BLOCK_BYTES} bytes`);
    }
    // A block we already hold was verified when stored: the copy offered now is
    // dropped unread (renamed or copied files cost one lookup per block).
    const pending = this.uncommitted.get(hex);
    if (pending !== undefined) return { result: 'duplicate', commit: pending.done };
    const row = this.rowOf(hex);
    if (row?.area === AREA_CODE.live) return { result: 'duplicate' };
    if (opts.verified !== true) this.verifyBlock(sealed, id);
    if (row !== undefined && (await this.revive(hex))) return { result: 'revived' };
    while (this.uncommitted.size >= MAX_UNCOMMITTED_BLOCKS && this.committing !== null) await this.committing;
    opts.signal?.throwIfAborted();
    // A concurrent put of the same block may have got here first while we waited.
    const raced = this.uncommitted.get(hex);
    if (raced !== undefined) return { result: 'duplicate', commit: raced.done };
    const block = await this.append(hex, sealed, AREA_CODE.live, this.now());
    this.uncommitted.set(hex, block);
    this.enqueue(block);
    return { result: 'stored', commit: block.done };
  }

  private enqueue(block: UncommittedBlock): void {
    this.batch.push(block);
    this.committing ??= this.commitLoop();
  }

  /** Blocks waiting for their batch's commit (tests, diagnostics). */
  uncommittedCount(): number {
    return this.uncommitted.size;
  }

  /** Resolves when every block written so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.committing !== null) await this.committing;
  }

  /** The pack to append `length` bytes to: the current one, or a new one once it is full. */
  private writerFor(length: number): PackWriter {
    const w = this.writer;
    if (w !== null && !w.sealed && (w.end === 0 || w.end + length <= this.packTargetBytes)) return w;
    if (w !== null) this.sealWriter(w);
    const n = this.nextPack++;
    // Numbers are never reused within an open (open deleted any leftover without rows).
    const fd = this.packs.create(n);
    return this.useWriter({ n, fd, end: 0, refs: 0, fresh: true, sealed: false });
  }

  private useWriter(w: PackWriter): PackWriter {
    this.writer = w;
    this.writers.set(w.n, w);
    return w;
  }

  private sealWriter(w: PackWriter): void {
    w.sealed = true;
    if (this.writer === w) this.writer = null;
    if (w.refs === 0) this.closeWriter(w);
  }

  private closeWriter(w: PackWriter): void {
    this.writers.delete(w.n);
    closeSync(w.fd);
  }

  /** Appends `data` to the current pack; the block then waits for a commit (enqueue). */
  private async append(hex: string, data: Uint8Array, area: number, since: number, from?: UncommittedBlock['from']): Promise<UncommittedBlock> {
    const w = this.writerFor(data.byteLength);
    const offset = w.end;
    // Reserved before any await: concurrent appends never overlap.
    w.end += data.byteLength;
    w.refs++;
    try {
      await this.packs.writeAt(w.fd, data, offset);
    } catch (err) {
      // The reserved range stays a dead gap that no row reaches (compaction reclaims it).
      this.release(w, 1);
      throw err;
    }
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // A batch failure is reported to each waiting put; never an unhandled rejection.
    done.catch(() => undefined);
    return { hex, writer: w, offset, length: data.byteLength, area, since, ...(from ? { from } : {}), done, resolve, reject };
  }

  private release(w: PackWriter, blocks: number): void {
    w.refs -= blocks;
    if (w.sealed && w.refs === 0) this.closeWriter(w);
  }

  /**
   * Waits for the puts in flight and commits what was written, then closes the
   * packs and the database. Calling it again does nothing.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.allSettled([...this.puts]);
    await this.compacting?.catch(() => undefined);
    await this.flush();
    if (this.writer !== null) this.sealWriter(this.writer);
    this.packs.close();
    this.db.close();
    await this.lock.release();
  }

  /** Commits batches until none is open. */
  private async commitLoop(): Promise<void> {
    try {
      // Let the blocks that arrived in this turn of the event loop join the first batch.
      await new Promise<void>((res) => setImmediate(res));
      while (this.batch.length > 0) {
        const batch = this.batch;
        this.batch = [];
        await this.commitBatch(batch);
      }
    } finally {
      this.committing = null;
    }
  }

  /** fdatasync the batch's packs, then insert (or move) its rows in one durable transaction. */
  private async commitBatch(batch: UncommittedBlock[]): Promise<void> {
    const writers = [...new Set(batch.map((b) => b.writer))];
    // 1. Data durable before any row points at it.
    const synced = await Promise.allSettled(writers.map((w) => this.syncFd(w.fd)));
    const failed = new Map<PackWriter, unknown>();
    writers.forEach((w, i) => {
      const outcome = synced[i]!;
      if (outcome.status === 'rejected') failed.set(w, outcome.reason);
    });
    const created = writers.filter((w) => w.fresh && !failed.has(w));
    if (created.length > 0) {
      try {
        await fsyncDir(this.packs.dir);
        for (const w of created) w.fresh = false;
      } catch (err) {
        for (const w of created) failed.set(w, err);
      }
    }
    // A pack whose fdatasync failed is in an unknown state: nothing more goes into it.
    for (const w of failed.keys()) if (!w.sealed) this.sealWriter(w);
    const ok = batch.filter((b) => !failed.has(b.writer));
    // 2. The rows, durable when the transaction returns.
    let commitErr: unknown = null;
    const applied = new Set<UncommittedBlock>();
    if (ok.length > 0) {
      try {
        this.applyRows(ok, applied);
      } catch (err) {
        commitErr = err;
        applied.clear();
      }
    }
    for (const b of applied) {
      this.addUsed(b.writer.n, b.offset + b.length, b.length);
      if (b.from !== undefined) this.addUsed(b.from.pack, 0, -b.length);
    }
    // 3. The commit durable. Only then does a put resolve (the caller counts the block as held).
    if (commitErr === null && ok.length > 0) {
      try {
        await this.db.syncWal();
      } catch (err) {
        // The rows stay (they name durable bytes); these puts fail and the caller tries again.
        commitErr = err;
      }
    }
    const counts = new Map<PackWriter, number>();
    for (const b of batch) counts.set(b.writer, (counts.get(b.writer) ?? 0) + 1);
    for (const [w, n] of counts) this.release(w, n);
    for (const b of batch) {
      if (b.from === undefined) this.uncommitted.delete(b.hex);
      const err = failed.has(b.writer) ? failed.get(b.writer) : commitErr;
      if (err !== null && err !== undefined) {
        b.reject(err);
        continue;
      }
      b.resolve();
    }
  }

  /** Inserts a new block's row, or moves a compacted one; false when nothing changed (the bytes stay dead). */
  private applyRow(b: UncommittedBlock): boolean {
    if (b.from === undefined) return this.db.insert(b.hex, b.writer.n, b.offset, b.length, b.area, b.since);
    return this.db.move(b.hex, b.from, b.writer.n, b.offset);
  }

  private addUsed(pack: number, end: number, bytes: number): void {
    const s = this.stats.get(pack) ?? { end: 0, used: 0 };
    s.end = Math.max(s.end, end);
    s.used += bytes;
    this.stats.set(pack, s);
  }

  // ---- reads ------------------------------------------------------------------------

  /**
   * Reads a block for serving. Returns null when absent. A block that no longer
   * matches its id is moved to quarantine and reported absent, so a bad disk
   * never passes corrupt data on (receivers verify too; this saves them the trip).
   * Retained blocks are served as well: a peer that asks still references it.
   * The bytes are in a buffer from fs/block-buffer-pool.ts: the caller may give
   * it back (releaseBlockBuffer) once done with it for good, as the session does
   * after sending a served block, so serving allocates no new memory per block.
   */
  async get(id: Uint8Array | string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    opts.signal?.throwIfAborted();
    const hex = typeof id === 'string' ? id : blockIdToHex(id);
    checkHex(hex);
    const found = await this.readCurrent(hex, true);
    if (found === null) return null;
    const { row, data } = found;
    if (this.matches(data, hex)) return data;
    await this.quarantineRow(hex, row, data);
    releaseBlockBuffer(data);
    this.log?.warn({ block: hex, area: areaName(row.area) }, 'stored block does not match its id: quarantined');
    return null;
  }

  /** Reads the raw bytes of a block in an area without verifying (for the scrub). */
  async readArea(hex: string, area: BlockArea): Promise<Uint8Array | null> {
    checkHex(hex);
    const found = await this.readCurrent(hex);
    if (found === null || found.row.area !== AREA_CODE[area]) return null;
    return found.data;
  }

  /**
   * The row and bytes of a block. A compaction may move the block between the
   * lookup and the read (and delete the old pack): then the lookup is repeated.
   */
  private async readCurrent(hex: string, pooled = false): Promise<{ row: BlockRow; data: Uint8Array } | null> {
    for (let attempt = 0; ; attempt++) {
      const row = this.rowOf(hex);
      if (row === undefined) return null;
      // A length no block can have cannot be read into memory: an empty buffer fails verification.
      if (row.length > MAX_SEALED_BLOCK_BYTES) return { row, data: new Uint8Array(0) };
      try {
        return { row, data: await this.readAt(row, pooled) };
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const again = this.rowOf(hex);
        if (attempt === 0 && (code === 'ENOENT' || code === 'EBADF') && (again?.pack !== row.pack || again.offset !== row.offset)) continue;
        throw err;
      }
    }
  }

  /**
   * Positional read of a row's bytes; a pack shorter than the row gives fewer
   * bytes (which fail verification). `pooled`: into a buffer from the block
   * buffer pool (see get).
   */
  private async readAt(row: BlockRow, pooled = false): Promise<Uint8Array> {
    const data = pooled ? plainView(acquireBlockBuffer(row.length)) : new Uint8Array(row.length);
    return this.packs.read(row.pack, row.offset, data);
  }

  /** Whether `data` is the block named `hex` (never throws). */
  matches(data: Uint8Array, hex: string): boolean {
    try {
      this.verifyBlock(data, blockIdFromHex(hex));
      return true;
    } catch (err) {
      if (isSealsyncError(err)) return false;
      throw err;
    }
  }

  // ---- areas: row updates ---------------------------------------------------------------

  /**
   * Moves a live block to the retained area, stamping the moment it became
   * unreferenced. Returns false when there was no live copy.
   */
  async retire(hex: string, nowMs: number): Promise<boolean> {
    checkHex(hex);
    return this.db.retire(hex, nowMs);
  }

  /** Moves a retained block back to the live area. Returns false when none was retained. */
  async revive(hex: string): Promise<boolean> {
    checkHex(hex);
    return this.db.revive(hex);
  }

  /** Deletes a block from an area. Returns the bytes freed (0 when absent); `compact` gives the space back. */
  async remove(hex: string, area: BlockArea): Promise<number> {
    checkHex(hex);
    const gone = this.db.remove(hex, area);
    if (gone === undefined) return 0;
    this.addUsed(gone.pack, 0, -gone.length);
    return gone.length;
  }

  /** Moves a block that failed verification out of the way; returns its evidence file (relative to the root). */
  async quarantine(hex: string, area: BlockArea): Promise<string | null> {
    checkHex(hex);
    const found = await this.readCurrent(hex);
    if (found === null || found.row.area !== AREA_CODE[area]) return null;
    return this.quarantineRow(hex, found.row, found.data);
  }

  /**
   * Keeps the bad bytes as evidence for the user (quarantine/<id>.<rand>; a
   * suffix keeps several bad copies of one id apart) and drops the row, if it
   * is still the one that was read.
   */
  private async quarantineRow(hex: string, row: BlockRow, data: Uint8Array): Promise<string | null> {
    const name = `${hex}.${randomBytes(4).toString('hex')}`;
    const dir = join(this.root, QUARANTINE_DIR);
    await mkdir(dir, { recursive: true, mode: STORE_DIR_MODE });
    writeFileSync(join(dir, name), data, { mode: STORE_FILE_MODE, flag: 'wx' });
    if (!this.db.deleteAt(hex, row.pack, row.offset)) {
      rmSync(join(dir, name), { force: true });
      return null;
    }
    this.addUsed(row.pack, 0, -row.length);
    return join(QUARANTINE_DIR, name);
  }

  /** Every block in an area with its size and `since`, in id order. */
  async *list(area: BlockArea, opts: { signal?: AbortSignal } = {}): AsyncGenerator<StoredBlockInfo> {
    let after = '';
    for (;;) {
      opts.signal?.throwIfAborted();
      const page = this.db.listPage(area, after, LIST_PAGE_ROWS);
      for (const r of page) yield { id: r.id, size: r.length, mtimeMs: r.since };
      if (page.length < LIST_PAGE_ROWS) return;
      after = page[page.length - 1]!.id;
    }
  }

  /** Count and total size of the blocks in an area. */
  async totals(area: BlockArea, opts: { signal?: AbortSignal } = {}): Promise<{ blocks: number; bytes: number }> {
    opts.signal?.throwIfAborted();
    return this.db.totals(area);
  }

  /**
   * Crash leftovers are cleaned by `open` (temp files of the old layout, pack
   * tails no committed row reaches, packs without rows). Returns how many it
   * cleaned, once (the folder logs it).
   */
  async removeStaleTemps(): Promise<number> {
    const n = this.cleanedAtOpen;
    this.cleanedAtOpen = 0;
    return n;
  }

  // ---- compaction ---------------------------------------------------------------------

  /** Rewrites every pack that is more than COMPACT_DEAD_FRACTION dead (one compaction at a time). */
  compact(opts: { signal?: AbortSignal } = {}): Promise<CompactReport> {
    const run = (this.compacting ?? Promise.resolve()).catch(() => undefined).then(() => this.compactAll(opts));
    const tracked = run.finally(() => {
      if (this.compacting === tracked) this.compacting = null;
    });
    this.compacting = tracked;
    return tracked;
  }

  private async compactAll(opts: { signal?: AbortSignal }): Promise<CompactReport> {
    let packs = 0;
    let movedBytes = 0;
    let freedBytes = 0;
    for (const [n, s] of [...this.stats]) {
      opts.signal?.throwIfAborted();
      if (this.closed) break;
      // Packs still being written to (or with blocks waiting for a commit) are left alone.
      if (this.writers.has(n)) continue;
      // A pack no longer written to is as long as its committed end (open truncates the rest).
      const size = s.end;
      if (size === 0 || size - s.used <= size * COMPACT_DEAD_FRACTION) continue;
      movedBytes += await this.compactPack(n, opts);
      packs++;
      freedBytes += size;
    }
    if (packs > 0) this.log?.info({ packs, movedBytes }, 'block packs compacted');
    return { packs, movedBytes, freedBytes: Math.max(0, freedBytes - movedBytes) };
  }

  /** Copies a pack's blocks into the current pack, moves their rows (durably), then deletes it. */
  private async compactPack(n: number, opts: { signal?: AbortSignal }): Promise<number> {
    const rows = this.db.packRows(n);
    const copies: UncommittedBlock[] = [];
    let moved = 0;
    for (const r of rows) {
      opts.signal?.throwIfAborted();
      const data = await this.readAt({ pack: n, offset: r.offset, length: r.length, area: r.area, since: r.since });
      // Copied as is: bytes are verified where they always are (get, verify); a torn copy is the same torn block.
      const copy = await this.append(r.id, data, r.area, r.since, { pack: n, offset: r.offset });
      copies.push(copy);
      this.enqueue(copy);
      moved += r.length;
    }
    await Promise.all(copies.map((c) => c.done));
    if (this.db.countPack(n) !== 0) return moved;
    // The moves are durable (their batches synced the WAL), but a pack whose
    // blocks were all removed had no batch: its removals must be durable too.
    await this.db.syncWal();
    await this.crashPoint?.('compact-committed');
    this.stats.delete(n);
    await this.packs.remove(n);
    return moved;
  }

  // ---- migration from the file-per-block layout -------------------------------------------

  /** Moves every block file of the old layout into packs (legacy-block-layout.ts), then removes the old directories. */
  private async migrateLegacyLayout(): Promise<void> {
    let announced = false;
    let reported = 0;
    const migrated = await migrateLegacyLayout(this.root, {
      maxBlockBytes: MAX_SEALED_BLOCK_BYTES,
      held: (hex) => this.rowOf(hex) !== undefined,
      commitBatch: async (blocks, area) => {
        // A one-time step that reads and writes the whole store before the folder runs: say so as it goes.
        if (!announced) this.log?.info('moving the block store into packs (one time, after an upgrade)');
        announced = true;
        const n = await this.migrateBatch(blocks, area);
        reported += n;
        if (n > 0) this.log?.info({ blocks: reported }, 'block store: blocks moved into packs so far');
        return n;
      },
      onStaleTemp: () => {
        this.cleanedAtOpen++;
      },
    });
    if (migrated > 0) this.log?.info({ blocks: migrated }, 'block store moved into packs');
  }

  /** One migration batch: append the blocks, then commit their rows after the fdatasync (the files are deleted after). */
  private async migrateBatch(blocks: AsyncIterable<LegacyBlock>, area: BlockArea): Promise<number> {
    const copies: UncommittedBlock[] = [];
    for await (const b of blocks) copies.push(await this.append(b.hex, b.data, AREA_CODE[area], b.since));
    if (copies.length > 0) {
      await this.commitBatch(copies);
      await Promise.all(copies.map((c) => c.done));
      await this.crashPoint?.('migrate-committed');
    }
    return copies.length;
  }
}

/**
 * A new (empty) database next to existing packs means the database was lost
 * (deleted, replaced): recovery would delete every pack as "no row points at
 * it". The packs cannot be read without their rows, but deleting the user's
 * data is not ours to decide: the store refuses to open (before writing a
 * schema, so it keeps refusing) until they are moved away.
 */
async function refuseOrphanPacks(packsDir: string): Promise<void> {
  if (!(await containsPacks(packsDir))) return;
  throw new SealsyncError('ERR_PATH_UNREADABLE',
    `the block store's database (${STORE_DB_FILE}) is missing but ${PACKS_DIR}/ holds packs, which cannot be read without it: move ${PACKS_DIR}/ away to start the store over`);
}

/** A plain Uint8Array over a Buffer's bytes (what get returns, pooled or not). */
function plainView(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
