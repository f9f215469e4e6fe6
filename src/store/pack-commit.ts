/**
 * The block store's group commit: appends sealed blocks to the current pack
 * and commits their rows in batches, so that a row is only ever committed
 * after the bytes it points at were made durable (block-store.ts says why and
 * what a crash leaves). This module owns the pack appenders and the open
 * batch; the store decides what to write (put, compaction) and keeps the
 * per-pack accounting (`onApplied`).
 *
 * A block appended to the current pack (a positional write into the page
 * cache) joins the open batch; its `done` settles once the batch committed:
 *
 *   1. every pack the batch wrote to is synced (and the creation of new packs,
 *      so their names survive a power loss);
 *   2. the batch's rows are inserted (or moved, for compaction) in one
 *      transaction (the database runs with `synchronous = NORMAL`: the commit
 *      appends to the WAL file and does not sync it);
 *   3. the WAL file is fdatasynced in the thread pool (BlockStoreDb.syncWal),
 *      which makes that commit (and every earlier one) durable without
 *      holding up the event loop for a disk flush per batch.
 *
 * One batch commits at a time; blocks that arrive meanwhile form the next one.
 */
import type { BlockStoreDb } from '../index/block-store-db.js';
import type { PackAppender, PackBackend } from './pack-backend.js';

/**
 * Most blocks written but not yet committed: each delays its caller, and a
 * `put` beyond this waits for the running commit. The replica has at most 64
 * fetches in flight, so this is a bound for other callers.
 */
export const MAX_UNCOMMITTED_BLOCKS = 256;

/** The pack being appended to (or one retired from that, until its last batch committed). */
export interface PackWriter {
  readonly n: number;
  readonly appender: PackAppender;
  /** Next append offset (bytes reserved so far, written or being written). */
  end: number;
  /** Blocks appended and not yet committed or failed. */
  refs: number;
  /** Created by this instance and its creation not yet made durable. */
  fresh: boolean;
  /** No more appends (full, or its sync failed): closed once refs is 0. */
  sealed: boolean;
}

/** A block appended to a pack, waiting for its batch's commit. */
export interface UncommittedBlock {
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

export interface PackCommitOptions {
  readonly packs: PackBackend;
  readonly db: BlockStoreDb;
  /** A pack stops taking blocks once it reaches this size. */
  readonly packTargetBytes: number;
  /** A block's row was inserted or moved in a committed transaction. */
  readonly onApplied: (block: UncommittedBlock) => void;
}

export class PackCommit {
  private readonly packs: PackBackend;
  private readonly db: BlockStoreDb;
  private readonly packTargetBytes: number;
  private readonly onApplied: (block: UncommittedBlock) => void;
  /** One transaction over a batch's rows; adds the blocks whose row changed to `applied` (the wrapper is made once, not per batch). */
  private readonly applyRows: (blocks: readonly UncommittedBlock[], applied: Set<UncommittedBlock>) => void;
  /** New blocks written, not yet committed, by hex id: a second put of one of them waits for it. */
  private readonly uncommitted = new Map<string, UncommittedBlock>();
  private batch: UncommittedBlock[] = [];
  /** The running commit loop, null when no batch is open. */
  private committing: Promise<void> | null = null;
  private writer: PackWriter | null = null;
  /** Packs with an open appender (the current one, and full ones until their last batch committed). */
  private readonly writers = new Map<number, PackWriter>();
  private nextPack = 1;

  constructor(opts: PackCommitOptions) {
    this.packs = opts.packs;
    this.db = opts.db;
    this.packTargetBytes = opts.packTargetBytes;
    this.onApplied = opts.onApplied;
    this.applyRows = opts.db.transaction((blocks: readonly UncommittedBlock[], applied: Set<UncommittedBlock>) => {
      for (const b of blocks) if (this.applyRow(b)) applied.add(b);
    });
  }

  /** Pack `n` exists (or existed): new packs get higher numbers. */
  skipPast(n: number): void {
    this.nextPack = Math.max(this.nextPack, n + 1);
  }

  /** Appends go on at `end` of existing pack `n` (the newest one, after a restart). */
  resume(n: number, end: number): void {
    this.useWriter({ n, appender: this.packs.openForAppend(n), end, refs: 0, fresh: false, sealed: false });
  }

  /** Whether pack `n` is being written to (or has blocks waiting for a commit). */
  isWriting(n: number): boolean {
    return this.writers.has(n);
  }

  /** The new block `hex` when it is written and waiting for its commit. */
  pending(hex: string): UncommittedBlock | undefined {
    return this.uncommitted.get(hex);
  }

  /** Blocks waiting for their batch's commit (tests, diagnostics). */
  uncommittedCount(): number {
    return this.uncommitted.size;
  }

  /** Waits while MAX_UNCOMMITTED_BLOCKS are waiting for a running commit. */
  async waitForRoom(): Promise<void> {
    while (this.uncommitted.size >= MAX_UNCOMMITTED_BLOCKS && this.committing !== null) await this.committing;
  }

  /** Appends a new block and enqueues it; its `done` settles with its batch. */
  async add(hex: string, data: Uint8Array, area: number, since: number): Promise<UncommittedBlock> {
    const block = await this.append(hex, data, area, since);
    this.uncommitted.set(hex, block);
    this.enqueue(block);
    return block;
  }

  /** Appends a copy of a committed block (compaction) whose row moves when its batch commits. */
  async addMove(hex: string, data: Uint8Array, area: number, since: number, from: NonNullable<UncommittedBlock['from']>): Promise<UncommittedBlock> {
    const block = await this.append(hex, data, area, since, from);
    this.enqueue(block);
    return block;
  }

  /** Resolves when every block written so far is committed (or failed). */
  async flush(): Promise<void> {
    while (this.committing !== null) await this.committing;
  }

  /** Commits what was written, then closes the current pack's appender (the others close as their batches end). */
  async close(): Promise<void> {
    await this.flush();
    if (this.writer !== null) this.sealWriter(this.writer);
  }

  private enqueue(block: UncommittedBlock): void {
    this.batch.push(block);
    this.committing ??= this.commitLoop();
  }

  /** The pack to append `length` bytes to: the current one, or a new one once it is full. */
  private writerFor(length: number): PackWriter {
    const w = this.writer;
    if (w !== null && !w.sealed && (w.end === 0 || w.end + length <= this.packTargetBytes)) return w;
    if (w !== null) this.sealWriter(w);
    const n = this.nextPack++;
    // Numbers are never reused within an open (open deleted any leftover without rows).
    return this.useWriter({ n, appender: this.packs.create(n), end: 0, refs: 0, fresh: true, sealed: false });
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
    w.appender.close();
  }

  /** Appends `data` to the current pack; the block then waits for a commit (enqueue). */
  private async append(hex: string, data: Uint8Array, area: number, since: number, from?: UncommittedBlock['from']): Promise<UncommittedBlock> {
    const w = this.writerFor(data.byteLength);
    const offset = w.end;
    // Reserved before any await: concurrent appends never overlap.
    w.end += data.byteLength;
    w.refs++;
    try {
      await w.appender.writeAt(data, offset);
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

  /** Syncs the batch's packs, then inserts (or moves) its rows in one durable transaction. */
  private async commitBatch(batch: UncommittedBlock[]): Promise<void> {
    const writers = [...new Set(batch.map((b) => b.writer))];
    // 1. Data durable before any row points at it.
    const synced = await Promise.allSettled(writers.map((w) => w.appender.sync()));
    const failed = new Map<PackWriter, unknown>();
    writers.forEach((w, i) => {
      const outcome = synced[i]!;
      if (outcome.status === 'rejected') failed.set(w, outcome.reason);
    });
    const created = writers.filter((w) => w.fresh && !failed.has(w));
    if (created.length > 0) {
      try {
        await this.packs.syncCreated();
        for (const w of created) w.fresh = false;
      } catch (err) {
        for (const w of created) failed.set(w, err);
      }
    }
    // A pack whose sync failed is in an unknown state: nothing more goes into it.
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
    for (const b of applied) this.onApplied(b);
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
}
