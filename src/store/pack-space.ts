/**
 * The block store's space accounting and compaction: per pack, how far its
 * committed blocks reach and how many of its bytes are still used, and the
 * rewrite of packs that are mostly dead. A removed or quarantined block
 * leaves dead bytes in its pack; `compact` (run after each gc pass) copies
 * the remaining blocks of every pack more than COMPACT_DEAD_FRACTION dead to
 * the current pack through the group commit (pack-commit.ts), which moves
 * their rows in one durable transaction, and only then deletes the old pack.
 * A crash before the commit leaves the rows on the old pack (the copies are
 * dead tails); a crash after it leaves an old pack no row points at, deleted
 * by the next open.
 */
import type { Logger } from '../logger.js';
import type { BlockStoreDb, PackRowStats } from '../index/block-store-db.js';
import type { PackBackend } from './pack-backend.js';
import type { PackCommit, UncommittedBlock } from './pack-commit.js';

/**
 * A pack whose dead bytes (removed or quarantined blocks, uncommitted tails)
 * exceed this fraction of its size is rewritten by `compact`: at one half,
 * rewriting costs at most one byte copied per byte freed.
 */
export const COMPACT_DEAD_FRACTION = 0.5;

export interface CompactReport {
  /** Packs rewritten and deleted. */
  readonly packs: number;
  /** Bytes of live blocks copied into the current pack. */
  readonly movedBytes: number;
  /** Disk space given back (size of the deleted packs minus what was copied). */
  readonly freedBytes: number;
}

/** Per pack: bytes up to the end of its last committed block, and bytes of committed blocks. */
interface PackStats {
  end: number;
  used: number;
}

export interface PackSpaceDeps {
  readonly packs: PackBackend;
  readonly db: BlockStoreDb;
  readonly log: Logger | undefined;
  /** Tests only: awaited after a compaction's commit, before the old pack is deleted. */
  readonly afterCompactCommit: (() => Promise<void>) | undefined;
}

export class PackSpace {
  private readonly stats = new Map<number, PackStats>();

  constructor(private readonly deps: PackSpaceDeps) {}

  /** Starts from the database's per-pack totals (at open). */
  load(rows: readonly PackRowStats[]): void {
    for (const r of rows) this.stats.set(r.pack, { end: r.end, used: r.used });
  }

  /** Bytes up to the end of pack `n`'s last committed block (0: no row points into it). */
  committedEnd(n: number): number {
    return this.stats.get(n)?.end ?? 0;
  }

  /** Every pack some row points into. */
  knownPacks(): number[] {
    return [...this.stats.keys()];
  }

  forget(n: number): void {
    this.stats.delete(n);
  }

  /** A committed block reaching `end` added `bytes` to pack `n` (negative: a block left it). */
  addUsed(pack: number, end: number, bytes: number): void {
    const s = this.stats.get(pack) ?? { end: 0, used: 0 };
    s.end = Math.max(s.end, end);
    s.used += bytes;
    this.stats.set(pack, s);
  }

  /** Rewrites every pack more than COMPACT_DEAD_FRACTION dead, until `stopped()`. */
  async compact(commit: PackCommit, stopped: () => boolean, opts: { signal?: AbortSignal }): Promise<CompactReport> {
    let packs = 0;
    let movedBytes = 0;
    let freedBytes = 0;
    for (const [n, s] of [...this.stats]) {
      opts.signal?.throwIfAborted();
      if (stopped()) break;
      // Packs still being written to (or with blocks waiting for a commit) are left alone.
      if (commit.isWriting(n)) continue;
      // A pack no longer written to is as long as its committed end (open truncates the rest).
      const size = s.end;
      if (size === 0 || size - s.used <= size * COMPACT_DEAD_FRACTION) continue;
      movedBytes += await this.compactPack(commit, n, opts);
      packs++;
      freedBytes += size;
    }
    if (packs > 0) this.deps.log?.info({ packs, movedBytes }, 'block packs compacted');
    return { packs, movedBytes, freedBytes: Math.max(0, freedBytes - movedBytes) };
  }

  /** Copies a pack's blocks into the current pack, moves their rows (durably), then deletes it. */
  private async compactPack(commit: PackCommit, n: number, opts: { signal?: AbortSignal }): Promise<number> {
    const { db, packs } = this.deps;
    const copies: UncommittedBlock[] = [];
    let moved = 0;
    for (const r of db.packRows(n)) {
      opts.signal?.throwIfAborted();
      const data = await packs.read(n, r.offset, new Uint8Array(r.length));
      // Copied as is: bytes are verified where they always are (get, verify); a torn copy is the same torn block.
      copies.push(await commit.addMove(r.id, data, r.area, r.since, { pack: n, offset: r.offset }));
      moved += r.length;
    }
    await Promise.all(copies.map((c) => c.done));
    if (db.countPack(n) !== 0) return moved;
    // The moves are durable (their batches synced the WAL), but a pack whose
    // blocks were all removed had no batch: its removals must be durable too.
    await db.syncWal();
    await this.deps.afterCompactCommit?.();
    this.stats.delete(n);
    await packs.remove(n);
    return moved;
  }
}
