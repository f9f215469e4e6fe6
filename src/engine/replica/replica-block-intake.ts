/**
 * ReplicaBlockIntake: which sealed blocks an encrypted folder holds and which
 * it still needs, and how the needed ones are fetched from peers and stored.
 * ReplicaFolder decides which blocks are referenced (its records) and owns the
 * store and the scheduler; this class keeps the per-block bookkeeping:
 *
 *   live (in the store, with its size) ← in flight ← needed ⇄ parked
 *
 * A referenced block that is not live is first looked for in the store's
 * retained area (a GC pass may have moved it there) and revived with a row
 * update; otherwise it is needed and fetched through the BlockScheduler, at
 * most MAX_PENDING_FETCHES at once, verified by the scheduler (id = hash of
 * the ciphertext) and put in the store. A block no peer could give is parked
 * until a peer joins or announces records, or the retry timer fires.
 */
import { describeError, isSealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import { noteBlockBytes } from '../../memory/young-gc.js';
import { releaseBlockBuffer } from '../../memory/block-buffer-pool.js';
import type { BlockScheduler } from '../sync/block-scheduler.js';
import { blockIdFromHex, type BlockStore } from '../../store/block-store.js';

/** Blocks being fetched at once (the scheduler spreads them over peers). */
export const MAX_PENDING_FETCHES = 64;

/** The scheduler asks for a block by id only: the replica knows neither its hash nor its size. */
const ZERO_HASH = new Uint8Array(32);

export interface ReplicaBlockIntakeDeps {
  readonly log: Logger;
  /** The folder is started (its store and scheduler are there). */
  readonly isRunning: () => boolean;
  readonly store: () => BlockStore | null;
  readonly scheduler: () => BlockScheduler | null;
  /** Peers joined now: nothing is fetched while there are none. */
  readonly peerCount: () => number;
  /** Aborts when the folder stops. */
  readonly signal: () => AbortSignal;
  /** A block changed state: the folder refreshes its status (throttled). */
  readonly changed: () => void;
}

export class ReplicaBlockIntake {
  /** Live blocks and their stored sizes (the store's catalog, kept in memory). */
  readonly live = new Map<string, number>();
  /** Needed blocks not yet asked for, in flight, and parked (no peer had them). */
  private readonly needed = new Set<string>();
  private readonly inFlight = new Set<string>();
  private readonly parked = new Set<string>();
  /**
   * Blocks of inFlight still in the network or the store's intake (bounded by
   * MAX_PENDING_FETCHES); the rest of inFlight is written and waits for the
   * store's batch commit (bounded by the store's MAX_UNCOMMITTED_BLOCKS).
   * Holding a fetch slot through the commit made every block wait for the
   * fsyncs of its batch before the next request went out: in bench (e) a put
   * took ~56 ms against ~93 ms for the fetch, and the window was always full.
   */
  private fetching = 0;
  /** Blocks in the retained area (as of the last rebuild or GC pass, minus revivals). */
  private retainedBlocks = 0;

  constructor(private readonly deps: ReplicaBlockIntakeDeps) {}

  /** Blocks are on their way (the folder is syncing). */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Blocks wait to be asked for. */
  get hasNeeded(): boolean {
    return this.needed.size > 0;
  }

  /** Hex ids of blocks still wanted (needed, in flight or parked). */
  wanted(): string[] {
    return [...new Set([...this.needed, ...this.inFlight, ...this.parked])];
  }

  /** Reloads the live catalog and the retained count from the store. */
  async rebuild(store: BlockStore, signal: AbortSignal): Promise<void> {
    this.live.clear();
    for await (const b of store.list('live', { signal })) this.live.set(b.id, b.size);
    this.retainedBlocks = (await store.totals('retained', { signal })).blocks;
  }

  /**
   * Blocks waiting for the network that are in fact retained here (a GC pass
   * moved them while their record arrived): takes them back.
   */
  async reviveWaiting(store: BlockStore): Promise<void> {
    for (const hex of [...this.needed, ...this.parked]) {
      if (this.retainedBlocks === 0) break;
      if (!(await store.revive(hex))) continue;
      this.retainedBlocks--;
      this.needed.delete(hex);
      this.parked.delete(hex);
      const size = await store.sizeOf(hex);
      if (size !== null) this.live.set(hex, size);
    }
  }

  /** A current record references `hex`: make sure it is live, revived, or being fetched. */
  async want(hex: string): Promise<void> {
    const store = this.deps.store();
    if (store === null || this.live.has(hex) || this.inFlight.has(hex) || this.needed.has(hex) || this.parked.has(hex)) return;
    // Only look in the retained area when it holds something (usually it is
    // empty, and a burst of new records would cost one lookup each).
    if (this.retainedBlocks > 0 && await store.revive(hex)) {
      this.retainedBlocks--;
      const size = await store.sizeOf(hex);
      if (size !== null) {
        this.live.set(hex, size);
        return;
      }
    }
    this.needed.add(hex);
    this.fetchMore();
  }

  /** A live block is gone or was quarantined (a read found it bad): fetch a good copy. */
  async lost(hex: string): Promise<boolean> {
    if (!this.live.delete(hex)) return false;
    await this.want(hex);
    return true;
  }

  /** Wanted blocks no current record references any more (replaced before they arrived): stop wanting them. */
  forgetUnreferenced(referenced: ReadonlySet<string>): void {
    for (const hex of [...this.needed]) if (!referenced.has(hex)) this.needed.delete(hex);
    for (const hex of [...this.parked]) if (!referenced.has(hex)) this.parked.delete(hex);
  }

  /** Parked blocks become needed again (a peer joined or announced records). */
  retryParked(): void {
    if (!this.deps.isRunning() || this.parked.size === 0 || this.deps.peerCount() === 0) return;
    for (const hex of this.parked) this.needed.add(hex);
    this.parked.clear();
    this.fetchMore();
  }

  /** Forgets every wanted block (the folder stopped; start reconciles again). */
  clear(): void {
    this.needed.clear();
    this.inFlight.clear();
    this.parked.clear();
  }

  fetchMore(): void {
    const scheduler = this.deps.scheduler();
    if (!this.deps.isRunning() || scheduler === null || this.deps.peerCount() === 0) return;
    for (const hex of this.needed) {
      if (this.fetching >= MAX_PENDING_FETCHES) break;
      this.needed.delete(hex);
      this.inFlight.add(hex);
      this.fetching++;
      void this.fetchOne(scheduler, hex);
    }
    this.deps.changed();
  }

  private async fetchOne(scheduler: BlockScheduler, hex: string): Promise<void> {
    const id = blockIdFromHex(hex);
    let slotHeld = true;
    const releaseSlot = (): void => {
      if (!slotHeld) return;
      slotHeld = false;
      this.fetching--;
    };
    try {
      const onWritten = (): void => {
        releaseSlot();
        this.fetchMore();
      };
      const put = await this.receive(scheduler, id, onWritten);
      if (put === null) return;
      await put.stored;
      // Counted as held only now: the store committed it (see block-store.ts).
      this.live.set(hex, put.size);
      // The frame it arrived in may be pooled (memory/block-buffer-pool.ts): give it back. This
      // relies on put() keeping no reference to the block once it has resolved.
      releaseBlockBuffer(put.sealed);
    } catch (err) {
      if (!this.deps.isRunning()) return;
      if (isSealsyncError(err, 'ERR_ABORTED')) {
        this.needed.add(hex);
      } else {
        // Nobody connected had it (or every copy was bad): wait for a peer that has it.
        this.parked.add(hex);
        this.deps.log.debug({ block: hex, err: describeError(err) }, 'block not available yet');
      }
    } finally {
      releaseSlot();
      this.inFlight.delete(hex);
      this.deps.changed();
      this.fetchMore();
    }
  }

  /**
   * Fetches a block and hands it to the store; `stored` settles with the
   * store's batch commit. Returning frees this frame, so the buffer is held
   * only by the store's intake until it is in its pack, not through the
   * commit.
   */
  private async receive(scheduler: BlockScheduler, id: Uint8Array, onWritten: () => void): Promise<{ size: number; stored: Promise<unknown>; sealed: Uint8Array } | null> {
    const signal = this.deps.signal();
    const sealed = await scheduler.fetch({ id, hash: ZERO_HASH, size: 0 }, { signal });
    const store = this.deps.store();
    if (store === null || !this.deps.isRunning()) return null;
    const size = sealed.byteLength;
    const stored = store.put(id, sealed, { verified: true, signal, onWritten });
    stored.catch(() => undefined); // the caller awaits it next; never an unhandled rejection meanwhile
    // Dead once written to the store: see young-gc.ts. Counted now, the GC that
    // frees it runs after a few more blocks.
    noteBlockBytes(size);
    return { size, stored, sealed };
  }
}

