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
 * Modules: this one holds the areas, reads, quarantine and recovery at
 * open; pack-space.ts the space accounting and compaction; pack-commit.ts the group commit (appenders and batches);
 * pack-backend.ts the interface to where packs live, implemented by the
 * local pack files (pack-files.ts: create 0600, positional append and read,
 * read descriptors) and later by object storage; src/index/block-store-db.ts
 * the database (the index of what is where, kept apart from the packs).
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
 * Durability, batched (group commit, pack-commit.ts). `put` appends the
 * block to the current pack and joins the open batch; `put` resolves only
 * when its batch is committed: the packs synced, then the rows in one
 * transaction, then the WAL file synced.
 *
 * One batch commits at a time; blocks that arrive meanwhile form the next one.
 * A row is only ever committed after the bytes it points at were made durable,
 * so after a crash (kill -9, power loss) every row names whole bytes, and a
 * block that was not committed is a tail of a pack that no row reaches. `open`
 * truncates each pack to its committed length (the largest offset + length of
 * its rows) and deletes packs without rows (recoverPacks). The
 * caller (ReplicaFolder) counts a block as held only once `put` resolved.
 * Should a disk lie about fsync, a torn block still never spreads: `get`
 * re-hashes every block it serves and quarantines a mismatch (the replica
 * then fetches it again), and `folder verify` re-hashes the whole store.
 *
 * Space: a removed or quarantined block leaves dead bytes in its pack;
 * `compact` rewrites packs that are mostly dead (pack-space.ts).
 *
 * Retire, revive and remove are single statements without the WAL sync:
 * durable against a process crash, and a power loss may undo the latest of
 * them (a retired block stays live, a revived one stays retained, a removed
 * one comes back: never a row without its bytes, because packs are only
 * deleted or cut after a WAL sync or a checkpoint, which makes every earlier
 * commit durable too). Rows of a batch are visible (a duplicate put, a get)
 * from the commit on, before its WAL sync: they only ever name durable bytes.
 *
 * Nothing here ever sees a plaintext name, path or content; logs carry only
 * counts and block ids (hashes of ciphertext, public to every folder member).
 */
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { SealsyncError, isSealsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { BLOCK_ID_BYTES, MAX_SEALED_BLOCK_BYTES, verifySealedBlock } from '../crypto/sealed-block.js';
import { acquirePidLock, type PidLock, type PidLockErrors } from '../fs/pid-lock.js';
import { acquireBlockBuffer, releaseBlockBuffer } from '../memory/block-buffer-pool.js';
import { AREA_CODE, BLOCK_HEX_ID_RE, BlockStoreDb, STORE_DB_FILE, areaName, type BlockArea, type BlockRow } from '../index/block-store-db.js';
import type { PackBackend } from './pack-backend.js';
import { PackCommit } from './pack-commit.js';
import { PackSpace, type CompactReport } from './pack-space.js';
import { PACKS_DIR, PackFiles, STORE_DIR_MODE, STORE_FILE_MODE } from './pack-files.js';
import { toHex, fromHex } from '../crypto/bytes.js';


/**
 * A pack stops taking blocks once it reaches this size and the next one is
 * started. Compaction rewrites at most half a pack's worth of live blocks at a
 * time, so this bounds the work of one rewrite (32 MiB); a 1 TiB store is
 * 16,384 packs, far from any directory or descriptor concern (reads keep at
 * most MAX_OPEN_READ_PACKS open).
 */
export const PACK_TARGET_BYTES = 64 * 1024 * 1024;
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
export type { CompactReport } from './pack-space.js';
export { PACKS_DIR, STORE_DIR_MODE, STORE_FILE_MODE, STORE_SYNC_WRITE_MAX_BYTES } from './pack-files.js';

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
export type StoreCrashPoint = 'compact-committed';

export interface BlockStoreOptions {
  readonly root: string;
  readonly verifyBlock: BlockVerifier;
  readonly logger?: Logger;
  /** Where the packs are; the local pack files under `root` when not given. */
  readonly packs?: PackBackend;
  /** fdatasync of a local pack and of the database's WAL file; tests hold or fail it to check what a crash mid-batch leaves. */
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

export function blockIdToHex(id: Uint8Array): string {
  if (id.length !== BLOCK_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `block id must be ${BLOCK_ID_BYTES} bytes`);
  return toHex(id);
}

export function blockIdFromHex(hex: string): Uint8Array {
  checkHex(hex);
  return fromHex(hex);
}

function checkHex(hex: string): void {
  if (!BLOCK_HEX_ID_RE.test(hex)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'block id must be 64 lowercase hex characters');
}

export class BlockStore {
  readonly root: string;
  private readonly verifyBlock: BlockVerifier;
  private readonly log: Logger | undefined;
  private readonly now: () => number;
  private readonly packTargetBytes: number;
  private readonly packs: PackBackend;
  private readonly db: BlockStoreDb;
  private readonly commit: PackCommit;
  private readonly space: PackSpace;
  private closed = false;
  /** Crash leftovers cleaned by open (pack tails, packs without rows). */
  private cleanedAtOpen = 0;
  /** put() calls not yet settled (close() waits for them). */
  private readonly puts = new Set<Promise<PutResult>>();
  /** The running compaction (one at a time). */
  private compacting: Promise<CompactReport> | null = null;

  private constructor(opts: BlockStoreOptions, packs: PackBackend, db: BlockStoreDb, private readonly lock: PidLock) {
    this.root = opts.root;
    this.verifyBlock = opts.verifyBlock;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.packTargetBytes = opts.packTargetBytes ?? PACK_TARGET_BYTES;
    this.packs = packs;
    this.db = db;
    const crashPoint = opts.crashPoint;
    this.space = new PackSpace({ packs, db, log: opts.logger, afterCompactCommit: crashPoint && (() => crashPoint('compact-committed')) });
    this.commit = new PackCommit({
      packs, db, packTargetBytes: this.packTargetBytes,
      onApplied: (b) => {
        this.space.addUsed(b.writer.n, b.offset + b.length, b.length);
        if (b.from !== undefined) this.space.addUsed(b.from.pack, 0, -b.length);
      },
    });
  }

  /** Opens (creating if needed) the store under `root`. The root itself must exist or be creatable. */
  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    await mkdir(opts.root, { recursive: true, mode: STORE_DIR_MODE });
    // One process per store: two appending to the same packs would corrupt them
    // (two homes on one machine could both add the same path).
    const lock = await acquirePidLock(join(opts.root, STORE_LOCK_FILE), storeLockErrors(opts.root));
    let db: BlockStoreDb;
    let packs: PackBackend | undefined;
    try {
      await mkdir(join(opts.root, QUARANTINE_DIR), { recursive: true, mode: STORE_DIR_MODE });
      const opened = opts.packs ?? await PackFiles.open(opts.root, opts.syncFd ? { syncFd: opts.syncFd } : {});
      packs = opened;
      db = await BlockStoreDb.open(join(opts.root, STORE_DB_FILE), {
        beforeSchema: () => refuseOrphanPacks(opened),
        ...(opts.syncFd ? { syncFd: opts.syncFd } : {}),
      });
    } catch (err) {
      packs?.close();
      await lock.release();
      throw err;
    }
    const store = new BlockStore(opts, packs, db, lock);
    try {
      await store.recoverPacks();
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
    this.space.load(this.db.packStats());
    const onDisk = new Set<number>();
    for (const n of await this.packs.list()) {
      this.commit.skipPast(n);
      const end = this.space.committedEnd(n);
      if (end === 0) {
        await this.packs.remove(n);
        this.cleanedAtOpen++;
        continue;
      }
      onDisk.add(n);
      if (await this.packs.truncate(n, end)) this.cleanedAtOpen++;
    }
    // Appends go on at the end of the newest pack while it has room (a restart does not start a small pack).
    let newest = 0;
    for (const n of onDisk) newest = Math.max(newest, n);
    const newestEnd = this.space.committedEnd(newest) || this.packTargetBytes;
    if (newest > 0 && newestEnd < this.packTargetBytes) this.commit.resume(newest, newestEnd);
    for (const n of this.space.knownPacks()) {
      this.commit.skipPast(n);
      if (onDisk.has(n)) continue;
      const lost = this.db.deletePack(n);
      this.space.forget(n);
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
    return { file: this.packs.locationOf(row.pack), offset: row.offset, length: row.length, area: areaName(row.area) };
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
    const pending = this.commit.pending(hex);
    if (pending !== undefined) return { result: 'duplicate', commit: pending.done };
    const row = this.rowOf(hex);
    if (row?.area === AREA_CODE.live) return { result: 'duplicate' };
    if (opts.verified !== true) this.verifyBlock(sealed, id);
    if (row !== undefined && (await this.revive(hex))) return { result: 'revived' };
    await this.commit.waitForRoom();
    opts.signal?.throwIfAborted();
    // A concurrent put of the same block may have got here first while we waited.
    const raced = this.commit.pending(hex);
    if (raced !== undefined) return { result: 'duplicate', commit: raced.done };
    const block = await this.commit.add(hex, sealed, AREA_CODE.live, this.now());
    return { result: 'stored', commit: block.done };
  }

  /** Blocks waiting for their batch's commit (tests, diagnostics). */
  uncommittedCount(): number {
    return this.commit.uncommittedCount();
  }

  /** Resolves when every block written so far is committed (or failed). */
  flush(): Promise<void> {
    return this.commit.flush();
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
    await this.commit.close();
    this.packs.close();
    this.db.close();
    await this.lock.release();
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
    this.space.addUsed(gone.pack, 0, -gone.length);
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
    this.space.addUsed(row.pack, 0, -row.length);
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
   * Crash leftovers are cleaned by `open` (pack tails no committed row
   * reaches, packs without rows). Returns how many it cleaned, once (the
   * folder logs it).
   */
  takeLeftoversCleanedAtOpen(): number {
    const n = this.cleanedAtOpen;
    this.cleanedAtOpen = 0;
    return n;
  }

  // ---- compaction ---------------------------------------------------------------------

  /** Rewrites every pack that is more than COMPACT_DEAD_FRACTION dead (one compaction at a time). */
  compact(opts: { signal?: AbortSignal } = {}): Promise<CompactReport> {
    const run = (this.compacting ?? Promise.resolve()).catch(() => undefined).then(() => this.space.compact(this.commit, () => this.closed, opts));
    const tracked = run.finally(() => {
      if (this.compacting === tracked) this.compacting = null;
    });
    this.compacting = tracked;
    return tracked;
  }
}

/**
 * A new (empty) database next to existing packs means the database was lost
 * (deleted, replaced): recovery would delete every pack as "no row points at
 * it". The packs cannot be read without their rows, but deleting the user's
 * data is not ours to decide: the store refuses to open (before writing a
 * schema, so it keeps refusing) until they are moved away.
 */
async function refuseOrphanPacks(packs: PackBackend): Promise<void> {
  if ((await packs.list()).length === 0) return;
  throw new SealsyncError('ERR_PATH_UNREADABLE',
    `the block store's database (${STORE_DB_FILE}) is missing but ${PACKS_DIR}/ holds packs, which cannot be read without it: move ${PACKS_DIR}/ away to start the store over`);
}

/** A plain Uint8Array over a Buffer's bytes (what get returns, pooled or not). */
function plainView(buf: Buffer): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
