/**
 * The encrypted peer's block store: sealed blocks on disk, content-addressed by
 * the hash of their ciphertext.
 *
 * How this works
 * --------------
 * The store root is the PATH the user gave to `folder add PATH --key E…`. It
 * holds only opaque names:
 *
 *   <root>/blocks/ab/<64 hex id>     live blocks (referenced by a record)
 *   <root>/retained/ab/<64 hex id>   no longer referenced, kept for the
 *                                    retention period; the file's mtime is
 *                                    the moment it became unreferenced
 *   <root>/quarantine/<64 hex id>.<n> blocks that failed a re-hash (scrub)
 *
 * One level of 256 directories (FAN_OUT_HEX_CHARS). Stores made before it
 * used two (blocks/ab/cd/<id>): a fresh store then made a directory for
 * nearly every block it received (65,536 leaf directories before they are
 * reused), one mkdir and one directory fsync per block, and on the benchmark
 * machine creating an inode costs ~0.1-0.3 ms of kernel CPU. 256 directories
 * hold 32,000 blocks each for a 1 TiB store of 128 KiB blocks, which ext4's
 * hashed directories handle well. `open` moves blocks of the old layout up
 * one level (a rename each, safe to interrupt and repeat).
 *
 * A block's file name is its id, so a second copy of the same ciphertext (a
 * renamed or copied file) costs nothing: `put` sees the file and stops. Every
 * block is verified against its id before it is written and again when it is
 * read for serving, so a corrupt disk never spreads.
 *
 * Durability, batched (group commit). `put` writes the block to a temp file
 * in the area's top directory (`blocks/.tmp-…`, created ahead in the thread
 * pool: SPARE_TEMP_FILES) and joins the open batch; `put` resolves only when
 * its batch is committed:
 *
 *   1. every temp file of the batch is fsynced, concurrently (the thread pool;
 *      ext4 serves concurrent fsyncs with one journal commit);
 *   2. each temp file is renamed to its block id in its fan-out directory;
 *   3. every directory the batch renamed into is fsynced once.
 *
 * One batch commits at a time; blocks that arrive meanwhile form the next one,
 * so the batch grows with the disk's latency and the fsync count per block
 * falls as the disk gets slower. A block id only ever names a file whose bytes
 * were made durable before the rename, so after a crash (kill -9, power loss)
 * a block file is whole, and a block that was not committed is a temp file
 * (removed on start) or absent: the store never claims what it does not have.
 * The caller (ReplicaFolder) counts a block as held only once `put` resolved.
 * Should a disk lie about fsync, a torn block still never spreads: `get`
 * re-hashes every block it serves and quarantines a mismatch (the replica
 * then fetches it again), and `folder verify` re-hashes the whole store.
 * Before batching, each block paid two fsyncs and ~10 thread-pool round trips
 * of its own (docs/performance.md, scenario e).
 *
 * Retained blocks are moved aside rather than deleted so that the replica is an
 * archive against accidental deletion or ransomware: a record that references
 * the block again (an undo, a restore) revives it with one rename. Keeping the
 * "unreferenced since" time in the file's mtime means the store needs no
 * database of its own and survives restarts as is.
 *
 * Nothing here ever sees a plaintext name, path or content; logs carry only
 * counts and block ids (hashes of ciphertext, public to every folder member).
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, constants as fsConstants, fsync, mkdirSync, open, openSync, readFileSync, renameSync, rmSync, statSync, write, writeSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { SealsyncError, isSealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { verifySealedBlock } from '../../crypto/sealed-block.js';
import { fsyncDir } from '../../fs/atomic-apply.js';

/** Upper bound of one sealed block on disk or on the wire; anything larger is hostile. */
export const MAX_SEALED_BLOCK_BYTES = 32 * 1024 * 1024 + 4096;
/** Block ids are 32-byte hashes. */
export const BLOCK_ID_BYTES = 32;
/** Directory and file modes: the store is the replica's private data. */
export const STORE_DIR_MODE = 0o700;
export const STORE_FILE_MODE = 0o600;

/**
 * Blocks up to this size are read, and every block is stat'ed, with blocking
 * calls: these run once per block stored or served, and each async fs call
 * costs a thread-pool round trip (measured ~30 µs of event-loop CPU on a
 * 2-core VM against ~2 µs for the blocking call), which made the encrypted
 * peer CPU-bound in the sync benchmark. fsync stays async.
 */
export const SYNC_READ_MAX_BYTES = 1024 * 1024;
/**
 * Blocks up to this size are written to their temp file with blocking calls
 * (open, write into the page cache): the same thread-pool round-trip cost as
 * above, three calls per block. Dirty data stays small because every batch is
 * fsynced within milliseconds. Larger blocks (up to MAX_SEALED_BLOCK_BYTES)
 * are written asynchronously so one never holds up the event loop for long.
 */
export const STORE_SYNC_WRITE_MAX_BYTES = 1024 * 1024;
/**
 * Most blocks written but not yet committed. Each holds an open descriptor
 * until its batch's fsync, and each delays its caller: a `put` beyond this
 * waits for the running commit. The replica has at most 64 fetches in flight,
 * so this is a bound for other callers; 256 descriptors are far below any
 * default limit.
 */
export const MAX_UNCOMMITTED_BLOCKS = 256;
/**
 * Empty temp files kept ready, created in the thread pool. Creating a file
 * (allocating an inode) was the largest cost of storing a block on the
 * encrypted peer's event loop: ~0.2 ms of kernel time per blocking open on the
 * benchmark machine, where ext4 skips recently freed inodes one by one.
 * Blocks arrive in bursts of up to the replica's 64 fetches in flight: with 16
 * spares an eighth of the blocks of a loopback transfer still created their
 * own temp file on the event loop. When none is ready, the block's temp file
 * is created on the spot. Empty files and 64 descriptors cost nothing much.
 */
export const SPARE_TEMP_FILES = 64;
/**
 * Spare temp files created at once: one at a time fell behind a 256 MB/s
 * stream of 128 KiB blocks (a third of the blocks created their own); three
 * leave one of libuv's four pool threads to the batch fsyncs.
 */
export const SPARE_CREATE_CONCURRENCY = 3;
const LIVE_DIR = 'blocks';
const RETAINED_DIR = 'retained';
const QUARANTINE_DIR = 'quarantine';
const TEMP_PREFIX = '.tmp-';
const HEX_ID_RE = /^[0-9a-f]{64}$/;
/** Hex characters of the id that name a block's directory (256 directories per area). */
const FAN_OUT_HEX_CHARS = 2;
const FAN_RE = /^[0-9a-f]{2}$/;

/** Throws ERR_BLOCK_ID when `sealed` is not the block named `id` (src/crypto verifySealedBlock). */
export type BlockVerifier = (sealed: Uint8Array, id: Uint8Array) => void;

/** The production verifier: header check plus id = hash of the ciphertext. */
export const sealedBlockVerifier: BlockVerifier = (sealed, id) => {
  if (!verifySealedBlock(sealed, id)) throw new SealsyncError('ERR_BLOCK_ID');
};

export type BlockArea = 'live' | 'retained';

export interface StoredBlockInfo {
  readonly id: string;
  readonly size: number;
  /** For retained blocks: when the block became unreferenced (ms since epoch). */
  readonly mtimeMs: number;
}

export interface BlockStoreOptions {
  readonly root: string;
  readonly verifyBlock: BlockVerifier;
  readonly logger?: Logger;
  /** fsync of a written temp file; tests hold or fail it to check what a crash mid-batch leaves. */
  readonly syncFd?: (fd: number) => Promise<void>;
}

export type PutResult = 'stored' | 'duplicate' | 'revived';

export interface PutOptions {
  readonly signal?: AbortSignal;
  /** The caller hashed these exact bytes against the id a moment ago (the replica's fetcher does). */
  readonly verified?: boolean;
  /**
   * Called once the bytes are in their temp file (the caller's buffer is no
   * longer needed) and the put waits only for its batch's commit. The block is
   * not held yet: that is when put resolves. The replica frees its fetch slot
   * here, so the network window does not wait for fsyncs (bounded by
   * MAX_UNCOMMITTED_BLOCKS). Not called for duplicates and revivals.
   */
  readonly onWritten?: () => void;
}

export function blockIdToHex(id: Uint8Array): string {
  if (id.length !== BLOCK_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `block id must be ${BLOCK_ID_BYTES} bytes`);
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('hex');
}

export function blockIdFromHex(hex: string): Uint8Array {
  if (!HEX_ID_RE.test(hex)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'block id must be 64 lowercase hex characters');
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

const fsyncFd = promisify(fsync);
const writeFd = promisify(write);
const openFd = promisify(open);
const TEMP_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;

/** A block written to its temp file, waiting for its batch's commit. */
interface UncommittedBlock {
  readonly hex: string;
  readonly temp: string;
  readonly target: string;
  fd: number | null;
  readonly done: Promise<void>;
  resolve(): void;
  reject(err: unknown): void;
}

export class BlockStore {
  readonly root: string;
  private readonly verifyBlock: BlockVerifier;
  private readonly log: Logger | undefined;
  private readonly syncFd: (fd: number) => Promise<void>;
  /** Written, not yet committed (the open batch), by hex id: a second put of one of them waits for it. */
  private readonly uncommitted = new Map<string, UncommittedBlock>();
  private batch: UncommittedBlock[] = [];
  /** The running commit loop, null when no batch is open. */
  private committing: Promise<void> | null = null;
  /**
   * Temp names: a random part per store instance plus a counter (O_EXCL
   * catches the impossible clash). A random name per block cost ~18 µs of
   * randomBytes on the hot path.
   */
  private readonly tempStem = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}-`;
  private tempSeq = 0;
  /** Empty temp files (in the live area's top directory) ready for the next blocks. */
  private readonly spares: { fd: number; path: string }[] = [];
  private refilling: Promise<void> | null = null;
  private closed = false;
  /**
   * False only while the retained area is known to hold no block: set at open
   * (one readdir per fan-out directory until a block is found) and by every
   * retire. While false, revive skips its two failing lookups, which every
   * newly stored block paid (a rename and a stat: put checks for a retained
   * copy before writing). Never set back to false after a retire, so a
   * retained block is never missed.
   */
  private retainedMayHoldBlocks = true;
  /** put() calls not yet settled (close() waits for them). */
  private readonly puts = new Set<Promise<PutResult>>();

  private constructor(opts: BlockStoreOptions) {
    this.root = opts.root;
    this.verifyBlock = opts.verifyBlock;
    this.log = opts.logger;
    this.syncFd = opts.syncFd ?? fsyncFd;
  }

  /** Opens (creating if needed) the store under `root`. The root itself must exist or be creatable. */
  static async open(opts: BlockStoreOptions): Promise<BlockStore> {
    const store = new BlockStore(opts);
    for (const dir of [opts.root, join(opts.root, LIVE_DIR), join(opts.root, RETAINED_DIR), join(opts.root, QUARANTINE_DIR)]) {
      await mkdir(dir, { recursive: true, mode: STORE_DIR_MODE });
    }
    for (const area of [LIVE_DIR, RETAINED_DIR]) await store.migrateTwoLevelLayout(join(opts.root, area));
    store.retainedMayHoldBlocks = await store.areaHoldsBlocks('retained');
    return store;
  }

  /**
   * Moves blocks of the old two-level layout (<area>/ab/cd/<id>) to <area>/ab/<id>.
   * Each move is one rename, so an interrupted migration leaves every block in
   * one of the two places and the next open finishes it. A new-layout store
   * costs one readdir per fan-out directory (its entries are 64-character
   * names; a two-character one can only be an old directory).
   */
  private async migrateTwoLevelLayout(base: string): Promise<void> {
    for (const a of await readdirOrEmpty(base)) {
      if (!FAN_RE.test(a)) continue;
      let moved = false;
      for (const b of await readdirOrEmpty(join(base, a))) {
        if (!FAN_RE.test(b)) continue;
        const legacy = join(base, a, b);
        for (const name of await readdirOrEmpty(legacy)) {
          if (name.startsWith(TEMP_PREFIX)) {
            await rm(join(legacy, name), { force: true });
          } else if (HEX_ID_RE.test(name) && name.startsWith(a + b)) {
            // A copy already at the new place (an interrupted run) is the same block: keep that one.
            if ((await stat(join(base, a, name)).catch(() => null)) !== null) await rm(join(legacy, name), { force: true });
            else await rename(join(legacy, name), join(base, a, name));
            moved = true;
          }
        }
        // Left in place when something else is in it (nothing of ours is lost).
        await rmdir(legacy).catch(() => undefined);
      }
      if (moved) await fsyncDir(join(base, a));
    }
  }

  /** Path of a block in an area, from a validated hex id. */
  pathOf(hex: string, area: BlockArea = 'live'): string {
    if (!HEX_ID_RE.test(hex)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'block id must be 64 lowercase hex characters');
    return join(this.root, area === 'live' ? LIVE_DIR : RETAINED_DIR, hex.slice(0, FAN_OUT_HEX_CHARS), hex);
  }

  /** Whether a live copy of the block exists (retained copies do not count: they need a revive). */
  async has(id: Uint8Array | string): Promise<boolean> {
    return (await this.sizeOf(id, 'live')) !== null;
  }

  /** Stored ciphertext size in an area, or null when the block is not there. */
  async sizeOf(id: Uint8Array | string, area: BlockArea = 'live'): Promise<number | null> {
    const hex = typeof id === 'string' ? id : blockIdToHex(id);
    try {
      // Blocking on purpose (see SYNC_READ_MAX_BYTES): called for every block stored or served.
      const st = statSync(this.pathOf(hex, area));
      return st.isFile() ? st.size : null;
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /**
   * Stores a sealed block after checking it is the block named `id`. A block
   * already stored is not rewritten; one in the retained area is revived.
   * Throws ERR_BLOCK_ID (the sender lied) or ERR_FRAME_TOO_LARGE.
   */
  put(id: Uint8Array, sealed: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    // Not async, and the commit is awaited in a callback that does not hold
    // `sealed`: a buffer already in its temp file is garbage while its batch is
    // fsynced (the replica has up to MAX_UNCOMMITTED_BLOCKS of them).
    const pending = this.stage(id, sealed, opts).then(async ({ result, commit }) => {
      if (commit !== undefined) {
        if (result === 'stored') opts.onWritten?.();
        await commit;
      }
      return result;
    });
    // Tracked so close() waits for puts still before their batch (a stat or a large
    // write in the pool): none may fsync or rename after the folder stopped.
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
    // dropped unread (renamed or copied files cost one stat per block).
    const pending = this.uncommitted.get(hex);
    if (pending !== undefined) return { result: 'duplicate', commit: pending.done };
    if (await this.has(hex)) return { result: 'duplicate' };
    if (opts.verified !== true) this.verifyBlock(sealed, id);
    if (await this.revive(hex)) return { result: 'revived' };
    while (this.uncommitted.size >= MAX_UNCOMMITTED_BLOCKS && this.committing !== null) await this.committing;
    opts.signal?.throwIfAborted();
    // A concurrent put of the same block may have got here first while we waited.
    const raced = this.uncommitted.get(hex);
    if (raced !== undefined) return { result: 'duplicate', commit: raced.done };
    const block = await this.writeTemp(hex, sealed);
    this.uncommitted.set(hex, block);
    this.batch.push(block);
    this.committing ??= this.commitLoop();
    return { result: 'stored', commit: block.done };
  }

  /** Blocks waiting for their batch's commit (tests, diagnostics). */
  uncommittedCount(): number {
    return this.uncommitted.size;
  }

  /** Resolves when every block written so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.committing !== null) await this.committing;
  }

  /** Writes `data` to a new temp file next to the block's final name; the descriptor stays open for the commit's fsync. */
  private async writeTemp(hex: string, data: Uint8Array): Promise<UncommittedBlock> {
    const target = this.pathOf(hex, 'live');
    // Temp files live in the area's top directory; the commit renames them into the fan-out directory.
    const spare = this.spares.pop() ?? null;
    this.refillSpares();
    const temp = spare?.path ?? this.nextTempPath();
    const fd = spare?.fd ?? openSync(temp, TEMP_FLAGS, STORE_FILE_MODE);
    try {
      let off = 0;
      while (off < data.byteLength) {
        const n = data.byteLength <= STORE_SYNC_WRITE_MAX_BYTES
          ? writeSync(fd, data, off, data.byteLength - off)
          : (await writeFd(fd, data, off, data.byteLength - off)).bytesWritten;
        off += n;
      }
    } catch (err) {
      closeSync(fd);
      rmSync(temp, { force: true });
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
    return { hex, temp, target, fd, done, resolve, reject };
  }

  private nextTempPath(): string {
    return join(this.root, LIVE_DIR, `${this.tempStem}${this.tempSeq++}`);
  }

  /** Creates empty temp files in the thread pool until SPARE_TEMP_FILES are ready (one refill at a time). */
  private refillSpares(): void {
    if (this.refilling !== null || this.closed || this.spares.length >= SPARE_TEMP_FILES) return;
    this.refilling = (async () => {
      try {
        while (!this.closed && this.spares.length < SPARE_TEMP_FILES) {
          const n = Math.min(SPARE_CREATE_CONCURRENCY, SPARE_TEMP_FILES - this.spares.length);
          const made = await Promise.allSettled(Array.from({ length: n }, async () => {
            const path = this.nextTempPath();
            return { fd: await openFd(path, TEMP_FLAGS, STORE_FILE_MODE), path };
          }));
          for (const m of made) if (m.status === 'fulfilled') this.spares.push(m.value);
          const failed = made.find((m) => m.status === 'rejected');
          if (failed) throw failed.reason;
        }
      } catch (err) {
        // Puts create their temp files themselves meanwhile; the next put tries again.
        this.log?.warn({ err: (err as Error).message }, 'could not create spare temp files');
      } finally {
        this.refilling = null;
      }
    })();
  }

  /**
   * Waits for the puts in flight, commits what was written, then closes and removes the spare temp files.
   * The store can still be used afterwards (each put then creates its own temp file).
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.puts]);
    await this.refilling;
    await this.flush();
    for (const spare of this.spares.splice(0)) {
      closeSync(spare.fd);
      rmSync(spare.path, { force: true });
    }
  }

  /** Commits batches until none is open: fsync the temps, rename, fsync each directory once. */
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

  private async commitBatch(batch: UncommittedBlock[]): Promise<void> {
    // 1. Data durable before any name points at it.
    const synced = await Promise.allSettled(batch.map((b) => this.syncFd(b.fd as number)));
    const renamed: UncommittedBlock[] = [];
    const dirs = new Set<string>();
    batch.forEach((b, i) => {
      const outcome = synced[i]!;
      try {
        closeSync(b.fd as number);
        b.fd = null;
        if (outcome.status === 'rejected') throw outcome.reason;
        // 2. Publish under the block id.
        const dir = dirname(b.target);
        try {
          renameSync(b.temp, b.target);
        } catch (err) {
          // The fan-out directory is made the first time a block goes there (its entry made durable with the rest).
          if (!isMissing(err) || !existsSync(b.temp)) throw err;
          mkdirSync(dir, { recursive: true, mode: STORE_DIR_MODE });
          dirs.add(dirname(dir));
          renameSync(b.temp, b.target);
        }
        renamed.push(b);
        dirs.add(dir);
      } catch (err) {
        this.fail(b, err);
      }
    });
    // 3. The renames durable. Only then does a put resolve (the caller counts the block as held).
    const dirSynced = await Promise.allSettled([...dirs].map((d) => fsyncDir(d)));
    const badDirs = new Map<string, unknown>();
    [...dirs].forEach((d, i) => {
      const outcome = dirSynced[i]!;
      if (outcome.status === 'rejected') badDirs.set(d, outcome.reason);
    });
    for (const b of renamed) {
      const err = badDirs.get(dirname(b.target));
      this.uncommitted.delete(b.hex);
      if (err === undefined) {
        b.resolve();
      } else {
        // Its name may not survive a crash: take it back, or the next put of this
        // block would find it (has) and count it as held. A later put stores it again.
        try {
          rmSync(b.target, { force: true });
        } catch {
          // The directory is failing anyway; verify or a read re-checks what is there.
        }
        b.reject(err);
      }
    }
  }

  private fail(b: UncommittedBlock, err: unknown): void {
    this.uncommitted.delete(b.hex);
    try {
      rmSync(b.temp, { force: true });
    } catch {
      // Left for removeStaleTemps at the next open; the put must still settle.
    }
    b.reject(err);
  }

  /**
   * Reads a block for serving. Returns null when absent. A block that no longer
   * matches its id is moved to quarantine and reported absent, so a bad disk
   * never passes corrupt data on (receivers verify too; this saves them the trip).
   * Retained blocks are served as well: a peer that asks still references it.
   */
  async get(id: Uint8Array | string, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    opts.signal?.throwIfAborted();
    const hex = typeof id === 'string' ? id : blockIdToHex(id);
    for (const area of ['live', 'retained'] as const) {
      const data = await this.readArea(hex, area);
      if (data === null) continue;
      if (this.matches(data, hex)) return data;
      await this.quarantine(hex, area);
      this.log?.warn({ block: hex, area }, 'stored block does not match its id: quarantined');
      return null;
    }
    return null;
  }

  /** Reads the raw bytes of a block in an area without verifying (for the scrub). */
  async readArea(hex: string, area: BlockArea): Promise<Uint8Array | null> {
    try {
      const st = statSync(this.pathOf(hex, area));
      if (!st.isFile() || st.size > MAX_SEALED_BLOCK_BYTES) return st.isFile() ? new Uint8Array(0) : null;
      if (st.size <= SYNC_READ_MAX_BYTES) return new Uint8Array(readFileSync(this.pathOf(hex, area)));
      return new Uint8Array(await readFile(this.pathOf(hex, area)));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
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

  /**
   * Moves a live block to the retained area, stamping the moment it became
   * unreferenced. Returns false when there was no live copy.
   */
  async retire(hex: string, nowMs: number): Promise<boolean> {
    const from = this.pathOf(hex, 'live');
    const to = this.pathOf(hex, 'retained');
    // Before anything moves: a revive from now on looks in the retained area.
    this.retainedMayHoldBlocks = true;
    try {
      // Stamp first: a crash between the two steps leaves a live block with a
      // fresh mtime (harmless), never a retained one with a stale stamp.
      const when = new Date(nowMs);
      await utimes(from, when, when);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await mkdir(join(to, '..'), { recursive: true, mode: STORE_DIR_MODE });
    await rename(from, to);
    return true;
  }

  /** Moves a retained block back to the live area. Returns false when none was retained. */
  async revive(hex: string): Promise<boolean> {
    if (!this.retainedMayHoldBlocks) return false;
    const from = this.pathOf(hex, 'retained');
    const to = this.pathOf(hex, 'live');
    // Called for every newly stored block: with something retained, a block
    // that is not costs one failed rename and a stat; the target directory is
    // made only when there is something to move.
    try {
      renameSync(from, to); // blocking: in the common case it fails at once with ENOENT
      return true;
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    if ((await this.sizeOf(hex, 'retained')) === null) return false;
    await mkdir(join(to, '..'), { recursive: true, mode: STORE_DIR_MODE });
    try {
      await rename(from, to);
      return true;
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  /** Deletes a block from an area. Returns the bytes freed (0 when absent). */
  async remove(hex: string, area: BlockArea): Promise<number> {
    const path = this.pathOf(hex, area);
    const size = await this.sizeOf(hex, area);
    if (size === null) return 0;
    await rm(path, { force: true });
    return size;
  }

  /** Moves a block that failed verification out of the way; returns its new path (relative to the root). */
  async quarantine(hex: string, area: BlockArea): Promise<string | null> {
    const from = this.pathOf(hex, area);
    const dir = join(this.root, QUARANTINE_DIR);
    await mkdir(dir, { recursive: true, mode: STORE_DIR_MODE });
    // A suffix keeps several bad copies of one id apart (evidence for the user).
    const name = `${hex}.${randomBytes(4).toString('hex')}`;
    try {
      await rename(from, join(dir, name));
      return join(QUARANTINE_DIR, name);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  /** Every block in an area with its size and mtime. Skips anything that is not a well-formed block file. */
  async *list(area: BlockArea, opts: { signal?: AbortSignal } = {}): AsyncGenerator<StoredBlockInfo> {
    const base = join(this.root, area === 'live' ? LIVE_DIR : RETAINED_DIR);
    for (const a of await readdirOrEmpty(base)) {
      if (!FAN_RE.test(a)) continue;
      for (const name of await readdirOrEmpty(join(base, a))) {
        opts.signal?.throwIfAborted();
        if (!HEX_ID_RE.test(name) || name.slice(0, FAN_OUT_HEX_CHARS) !== a) continue;
        try {
          const st = await stat(join(base, a, name));
          if (st.isFile()) yield { id: name, size: st.size, mtimeMs: st.mtimeMs };
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      }
    }
  }

  /** Whether an area holds at least one block (stops at the first one found). */
  private async areaHoldsBlocks(area: BlockArea): Promise<boolean> {
    for await (const block of this.list(area)) {
      void block;
      return true;
    }
    return false;
  }

  /**
   * Removes temp files left by a crash mid-write (in an area's top directory or
   * a fan-out directory; not this instance's own). Returns how many were removed.
   */
  async removeStaleTemps(): Promise<number> {
    let removed = 0;
    const stale = (name: string) => name.startsWith(TEMP_PREFIX) && !name.startsWith(this.tempStem);
    for (const area of [LIVE_DIR, RETAINED_DIR]) {
      const base = join(this.root, area);
      for (const a of await readdirOrEmpty(base)) {
        if (stale(a)) {
          await rm(join(base, a), { force: true });
          removed++;
          continue;
        }
        for (const name of await readdirOrEmpty(join(base, a))) {
          if (stale(name)) {
            await rm(join(base, a, name), { force: true });
            removed++;
          }
        }
      }
    }
    return removed;
  }

  /** Count and total size of the blocks in an area (walks the tree). */
  async totals(area: BlockArea, opts: { signal?: AbortSignal } = {}): Promise<{ blocks: number; bytes: number }> {
    let blocks = 0;
    let bytes = 0;
    for await (const b of this.list(area, opts)) {
      blocks++;
      bytes += b.size;
    }
    return { blocks, bytes };
  }
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isMissing(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
