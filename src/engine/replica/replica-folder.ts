/**
 * ReplicaFolder: the engine of an encrypted (`E…`) folder. It holds sealed
 * records and sealed blocks it cannot read, verifies them, relays them, and
 * keeps old blocks for a retention period.
 *
 * How this works
 * --------------
 * Links. Whoever owns the network sessions (the daemon's peer manager) calls
 * `attachPeer(link)` when a peer has joined this folder with a valid access
 * proof, `receiveIndex(peerId, update)` for each index update it sends, and
 * `serveBlock(id)` for each block it asks for. Joining and the proof are the
 * session's job: nothing reaches this class before both sides proved access.
 *
 * Records in. Each update's records are decoded and their signatures checked
 * (ReplicaRecordStore); bad ones are dropped and the sender is penalized. Good
 * ones go to the index, which keeps every version no other version dominates.
 * The block ids of every verified record are remembered as "this peer has it"
 * (BlockAvailability), so blocks are asked from peers that can answer.
 *
 * Records out. The shared IndexRelay (peer/index-relay.ts) keeps a cursor
 * per link and sends deltas in bounded messages; new records (from any peer)
 * wake every link, so the replica relays what it holds to everyone joined.
 * The signature, not the relay, makes a record trustworthy: relaying needs no key.
 *
 * Blocks in. A block referenced by a current record and not live in the
 * store is "needed". A retained copy is revived with a row update; otherwise
 * the block is fetched through the shared BlockScheduler (pipelined, each from
 * a peer that announced it, bad data penalized), at most MAX_PENDING_FETCHES
 * at once, verified (id = hash of ciphertext) and stored. A block no peer can
 * give is parked and retried when a peer joins or announces records, or every
 * RETRY_INTERVAL_MS. That bookkeeping is ReplicaBlockIntake's
 * (replica-block-intake.ts); this class says which blocks are referenced.
 *
 * State: 'syncing' while blocks are being fetched or can be fetched; else the
 * "up to date" rule of folder-truth.ts decides: 'waiting' while needFiles > 0
 * and no connected peer has the data, 'unshared' when no sharing device is
 * connected or seen since the last change, 'idle' only when up to date.
 * 'error' only when the store cannot be used.
 *
 * Nothing here can see a name, a path or content; logs and status carry only
 * counts, sizes, block ids and peer ids.
 *
 * One class of over 400 lines because links, fetches, gc and stop share one
 * lifecycle and one lock; the standalone parts are apart (replica-records,
 * replica-block-intake, replica-gc, replica-verify, replica-counts, the
 * store, the relay).
 */
import type { FolderKeys } from '../../crypto/keys.js';
import type { BlockRef } from '../../model/types.js';
import { folderIdText } from '../../crypto/key-text.js';
import { verifySealedBlock } from '../../crypto/sealed-block.js';
import { SealsyncError, describeError } from '../../errors.js';
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import { noteBlockBytes } from '../../memory/young-gc.js';
import { BlockAvailability, BlockScheduler } from '../sync/block-scheduler.js';
import type { FolderState, FolderStatus } from '../peer/folder-status.js';
import type { FolderLink, IncomingIndex, ReceiveIndexOptions } from '../peer/folder-link.js';
import { IndexRelay, chargeDominatedUpdate } from '../peer/index-relay.js';
import { FolderPresence, settledStatus } from '../peer/folder-truth.js';
import { BlockStore, blockIdToHex, sealedBlockVerifier, type BlockVerifier } from '../../store/block-store.js';
import { countReplica, statsRefreshDelayMs, type ReplicaStats } from './replica-counts.js';
import { collectGarbage, validateRetentionDays, type GcReport } from './replica-gc.js';
import { DEFAULT_RETENTION_DAYS } from '../../model/retention.js';
import { ReplicaRecordStore } from './replica-records.js';
import type { RecordChecker } from '../peer/record-check.js';
import { verifyStore, type VerifyReport } from './replica-verify.js';
import { ReplicaBlockIntake } from './replica-block-intake.js';
import { toHex } from '../../crypto/bytes.js';
import { HeadBook } from '../peer/head-book.js';
import { HeadExchange } from '../peer/head-exchange.js';

/** A parked block (no peer had it) is tried again after this long. */
export const RETRY_INTERVAL_MS = 30_000;
/** Background garbage collection period. */
export const GC_INTERVAL_MS = 60 * 60 * 1000;
/** A GC pass runs this long after records were replaced (batches a burst of edits). */
export const GC_DEBOUNCE_MS = 10_000;

export interface ReplicaFolderOptions {
  /** The store root (the PATH of `folder add PATH --key E…`). */
  readonly path: string;
  /** Encrypted keys: only folderId and publicKey are used. */
  readonly keys: Pick<FolderKeys, 'folderId' | 'publicKey'>;
  readonly index: Index;
  /** The folder's row in the index when the caller (the daemon) made it; otherwise found or added by folder id. */
  readonly folderRowId?: number;
  readonly logger: Logger;
  readonly retentionDays?: number;
  readonly now?: () => number;
  /** Tests inject a stand-in; production uses the sealed-block format check. */
  readonly verifyBlock?: BlockVerifier;
  /** Timer periods, for tests. */
  readonly retryIntervalMs?: number;
  readonly gcIntervalMs?: number;
  /** Verifies large index updates off the main thread (the daemon's hash pool); inline without. */
  readonly recordChecker?: RecordChecker;
  /** The block store's fdatasync of a pack; tests hold it (see BlockStoreOptions.syncFd). */
  readonly storeSyncFd?: (fd: number) => Promise<void>;
}

export class ReplicaFolder {
  readonly path: string;
  readonly folderIdHex: string;
  private readonly folderIdText: string;
  private readonly keys: Pick<FolderKeys, 'folderId' | 'publicKey'>;
  private readonly index: Index;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly verifyBlock: BlockVerifier;
  private readonly recordChecker: RecordChecker | undefined;
  private readonly storeSyncFd: ((fd: number) => Promise<void>) | undefined;
  private retentionDays: number;
  private readonly retryIntervalMs: number;
  private readonly gcIntervalMs: number;

  private store: BlockStore | null = null;
  private records: ReplicaRecordStore | null = null;
  private folderRowId = 0;
  private readonly givenRowId: number | undefined;
  private scheduler: BlockScheduler | null = null;
  private readonly availability = new BlockAvailability();
  private readonly relay: IndexRelay;
  /** Signed heads: kept and forwarded (an encrypted peer can verify them, never make one). */
  private readonly headExchange: HeadExchange;
  /** The blocks held and still needed, and their fetching. */
  private readonly blocks: ReplicaBlockIntake;
  private readonly listeners: ((s: FolderStatus) => void)[] = [];
  private stats: ReplicaStats = { globalFiles: 0, globalBytes: 0, localFiles: 0, localBytes: 0, needFiles: 0, needBytes: 0 };
  private statsTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private gcTimer: NodeJS.Timeout | null = null;
  private gcDebounce: NodeJS.Timeout | null = null;
  private error: string | null = null;
  private errorCode: string | null = null;
  /** Joined peers and the clocks of the "up to date" rule (folder-truth.ts). */
  private readonly presence: FolderPresence;
  private running = false;
  private stopController = new AbortController();
  /** Serializes GC, verify and reconcile: they rewrite the live catalog. */
  private maintenance: Promise<unknown> = Promise.resolve();
  private lastState: FolderState = 'idle';
  /** How long the last status walk over the records took (throttles the next one). */
  private lastWalkMs = 0;

  constructor(opts: ReplicaFolderOptions) {
    this.path = opts.path;
    this.keys = opts.keys;
    this.folderIdHex = toHex(opts.keys.folderId);
    this.folderIdText = folderIdText(opts.keys.folderId);
    this.index = opts.index;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.presence = new FolderPresence(this.now);
    this.verifyBlock = opts.verifyBlock ?? sealedBlockVerifier;
    this.recordChecker = opts.recordChecker;
    this.storeSyncFd = opts.storeSyncFd;
    this.retentionDays = validateRetentionDays(opts.retentionDays ?? DEFAULT_RETENTION_DAYS);
    this.givenRowId = opts.folderRowId;
    this.retryIntervalMs = opts.retryIntervalMs ?? RETRY_INTERVAL_MS;
    this.gcIntervalMs = opts.gcIntervalMs ?? GC_INTERVAL_MS;
    this.relay = new IndexRelay({ index: this.index, folderRowId: () => this.folderRowId, logger: this.log, isRunning: () => this.running });
    const book = new HeadBook({ index: this.index, folderRowId: () => this.folderRowId, keys: this.keys, now: this.now });
    this.headExchange = new HeadExchange({ book, links: () => this.relay.allLinks(), log: this.log });
    this.blocks = new ReplicaBlockIntake({
      log: this.log,
      isRunning: () => this.running,
      store: () => this.store,
      scheduler: () => this.scheduler,
      peerCount: () => this.relay.size,
      signal: () => this.stopController.signal,
      changed: () => this.markDirty(),
    });
  }

  // ---- lifecycle -------------------------------------------------------------

  async start(): Promise<void> {
    if (this.running) return;
    this.stopController = new AbortController();
    try {
      this.store = await BlockStore.open({ root: this.path, verifyBlock: this.verifyBlock, logger: this.log, syncFd: this.storeSyncFd });
      const leftovers = this.store.takeLeftoversCleanedAtOpen();
      if (leftovers > 0) this.log.info({ leftovers }, 'block store: crash leftovers removed at open');
      const row = (this.givenRowId !== undefined ? this.index.getFolder(this.givenRowId) : this.index.folderByFolderId(this.folderIdHex))
        ?? this.index.addFolder({ path: this.path, folderId: this.folderIdHex, type: 'encrypted' });
      if (row.folderId !== this.folderIdHex) throw new SealsyncError('ERR_FOLDER_UNKNOWN', 'the index row belongs to another folder');
      if (row.type !== 'encrypted') throw new SealsyncError('ERR_FOLDER_TYPE', 'this folder is indexed as a full folder on this device');
      this.folderRowId = row.rowId;
      this.records = new ReplicaRecordStore({
        index: this.index,
        folderRowId: row.rowId,
        keys: this.keys,
        ...(this.recordChecker ? { checker: this.recordChecker } : {}),
      });
      this.scheduler = new BlockScheduler({
        // The replica cannot decrypt: "opening" a block is checking its id. The
        // sealed bytes themselves are what it stores.
        openBlock: (sealed, ref) => {
          if (ref.id === null || !verifySealedBlock(sealed, ref.id)) throw new SealsyncError('ERR_BLOCK_ID');
          return sealed;
        },
        // Peers that announced the block are asked first (the scheduler asks
        // anyone connected when none of them is).
        holders: (ref) => (ref.id === null ? undefined : this.availability.holders(ref.id)),
      });
      await this.rebuildLive();
      this.running = true;
      this.error = null;
    } catch (err) {
      this.error = describeError(err);
      this.errorCode = err instanceof SealsyncError ? err.code : null;
      this.log.error({ err: describeError(err) }, 'replica store could not start');
      this.emitStatus();
      throw err;
    }
    for (const link of this.relay.allLinks()) {
      this.scheduler.addPeer(this.blockPeer(link));
      this.headExchange.attached(link);
    }
    this.relay.wake();
    await this.reconcile();
    this.retryTimer = setInterval(() => this.blocks.retryParked(), this.retryIntervalMs);
    this.gcTimer = setInterval(() => { void this.gc().catch((err) => this.logMaintenanceError('gc', err)); }, this.gcIntervalMs);
    this.retryTimer.unref?.();
    this.gcTimer.unref?.();
    this.markDirty();
  }

  async stop(): Promise<void> {
    if (!this.running && this.store === null) return;
    this.running = false;
    this.stopController.abort(new SealsyncError('ERR_ABORTED', 'replica folder stopped'));
    for (const t of [this.retryTimer, this.gcTimer]) if (t) clearInterval(t);
    for (const t of [this.statsTimer, this.gcDebounce]) if (t) clearTimeout(t);
    this.retryTimer = this.gcTimer = this.statsTimer = this.gcDebounce = null;
    this.relay.clear();
    this.headExchange.stop();
    this.scheduler?.stop();
    this.scheduler = null;
    // Let running maintenance (a GC or verify pass) notice the abort and finish,
    // and the store's open batch commit (no fsync or descriptor outlives stop).
    await this.maintenance.catch(() => undefined);
    await this.store?.close();
    // Closed for good (its database too): the next start opens it again.
    this.store = null;
    this.blocks.clear();
  }

  /** Device ids of the peers joined to this folder now. */
  get joinedPeers(): ReadonlySet<string> {
    return this.presence.peerIds;
  }

  onStatus(listener: (status: FolderStatus) => void): void {
    this.listeners.push(listener);
  }

  setRetentionDays(days: number): void {
    this.retentionDays = validateRetentionDays(days);
  }

  status(): FolderStatus {
    const s = this.stats;
    return settledStatus({
      path: this.path,
      type: 'encrypted',
      folderId: this.folderIdText,
      activity: this.activity(),
      localFiles: s.localFiles,
      localBytes: s.localBytes,
      globalFiles: s.globalFiles,
      globalBytes: s.globalBytes,
      needFiles: s.needFiles,
      needBytes: s.needBytes,
      error: this.error,
      errorCode: this.error !== null ? this.errorCode : null,
      // Blocks, not paths, wait here (an encrypted peer cannot name a path): needFiles counts them per file.
      parked: [],
      parkedCount: 0,
      peers: this.presence.peers(),
      lastChangeAt: this.presence.lastChangeAt,
    });
  }

  /** Hex ids of blocks still wanted (needed, in flight or parked). For tests and diagnostics. */
  wantedBlocks(): string[] {
    return this.blocks.wanted();
  }

  // ---- links -----------------------------------------------------------------

  /** A peer joined this folder (access proven both ways). `since`: what it acknowledged of our index. */
  attachPeer(link: FolderLink, opts: { since?: number } = {}): void {
    if (this.relay.link(link.peerId)) this.detachPeer(link.peerId);
    this.relay.attach(link, opts.since ?? 0);
    this.presence.peerJoined(link.peerId);
    if (!this.running) return;
    this.headExchange.attached(link);
    this.scheduler?.addPeer(this.blockPeer(link));
    // Blocks wanted while nobody was connected, and those no one had before.
    this.blocks.retryParked();
    this.blocks.fetchMore();
    this.relay.wake(link.peerId);
  }

  detachPeer(peerId: string, link?: FolderLink): void {
    if (!this.relay.detach(peerId, link)) return;
    this.presence.peerLeft(peerId);
    this.headExchange.detached(peerId);
    this.scheduler?.removePeer(peerId);
    this.availability.forget(peerId);
    this.markDirty();
  }

  /** The peer says it has everything of ours up to `seq` (an IndexAck). */
  acknowledge(peerId: string, seq: number): void {
    if (this.folderRowId !== 0) this.relay.acknowledge(peerId, seq);
  }

  /**
   * Records from a peer. Verifies, stores, relays, and schedules the blocks.
   * Returns the sequence to acknowledge (the update's toSeq), or null when the
   * update was not applied (stopped).
   */
  async receiveIndex(peerId: string, update: IncomingIndex, opts: ReceiveIndexOptions = {}): Promise<number | null> {
    const records = this.records;
    if (!this.running || records === null) return null;
    const link = { penalize: opts.penalize ?? ((reason: string, cost?: number) => this.relay.link(peerId)?.penalize(reason, cost)) };
    const signal = opts.signal ? AbortSignal.any([opts.signal, this.stopController.signal]) : this.stopController.signal;
    const intake = await records.accept(update.records, {
      signal,
      // Mark the sender's own records as it gets them stored, so a relay pump
      // running meanwhile never echoes them back to it.
      onStored: (seq) => this.relay.markFromPeer(peerId, seq),
    });
    if (intake.rejected > 0) {
      this.log.warn({ peer: peerId, rejected: intake.rejected, code: intake.rejectCode }, 'dropped records that failed verification');
      for (let i = 0; i < Math.min(intake.rejected, 4); i++) link.penalize(`bad record: ${intake.rejectCode ?? 'invalid'}`);
    }
    chargeDominatedUpdate(link, update.records.length, intake.dominated);
    this.relay.recordProgress(peerId, update);
    this.availability.announce(peerId, intake.announced);
    if (intake.stored > 0) {
      this.presence.changed();
      this.log.debug({ peer: peerId, stored: intake.stored, ignored: intake.ignored }, 'records stored');
      for (const hex of intake.blockIds) await this.blocks.want(hex);
      this.relay.wake();
    }
    if (intake.replaced > 0) this.scheduleGc();
    // A peer that announced blocks may have the ones parked.
    if (intake.announced.length > 0) this.blocks.retryParked();
    this.markDirty();
    return update.toSeq;
  }

  /** What a peer last told us of its index (to ask for the delta on reconnect). */
  peerProgress(peerId: string): { indexId: string; maxSeq: number } | null {
    return this.folderRowId === 0 ? null : this.relay.peerProgress(peerId);
  }

  /** A page of a signed head: verified, kept when newer and forwarded to the other peers. */
  receiveHead(peerId: string, page: Uint8Array, opts: ReceiveIndexOptions = {}): void {
    if (!this.running || this.folderRowId === 0) return;
    this.headExchange.receive(peerId, page, opts.penalize ?? ((reason: string, cost?: number) => this.relay.link(peerId)?.penalize(reason, cost)));
  }

  /** A peer asks for a block: the sealed bytes if stored and intact, else null. */
  async serveBlock(blockId: Uint8Array, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    const store = this.store;
    if (!this.running || store === null) return null;
    const hex = blockIdToHex(blockId);
    const data = await store.get(hex, opts);
    if (data !== null) noteBlockBytes(data.byteLength); // dead once framed: see young-gc.ts
    // It was live and is gone or was quarantined: the intake fetches a good copy.
    if (data === null && await this.blocks.lost(hex)) this.markDirty();
    return data;
  }

  // ---- maintenance -----------------------------------------------------------

  /** Garbage collection now (`sealsync folder gc`). `retentionDays` overrides the setting for this pass. */
  async gc(opts: { retentionDays?: number; signal?: AbortSignal } = {}): Promise<GcReport> {
    const retentionDays = validateRetentionDays(opts.retentionDays ?? this.retentionDays);
    return this.exclusive(async () => {
      const { store, records } = this.ready();
      const report = await collectGarbage({
        store,
        referenced: records.referencedBlocks(),
        retentionDays,
        nowMs: this.now(),
        signal: this.signal(opts.signal),
      });
      this.log.info({ retired: report.retired, revived: report.revived, deleted: report.deleted, deletedBytes: report.deletedBytes }, 'gc pass');
      await this.rebuildLive();
      await this.reconcileLocked();
      return report;
    });
  }

  /** Scrub now (`sealsync folder verify`): re-hash every block, quarantine bad ones, re-fetch. */
  async verify(opts: { signal?: AbortSignal } = {}): Promise<VerifyReport> {
    return this.exclusive(async () => {
      const { store, records } = this.ready();
      const report = await verifyStore({ store, referenced: records.referencedBlocks(), signal: this.signal(opts.signal) });
      if (report.corruptCount > 0 || report.missingCount > 0) {
        this.log.warn({ corrupt: report.corruptCount, missing: report.missingCount }, 'verify found damaged or missing blocks');
      }
      await this.rebuildLive();
      await this.reconcileLocked();
      return report;
    });
  }

  // ---- internals: blocks -------------------------------------------------------

  private ready(): { store: BlockStore; records: ReplicaRecordStore } {
    if (!this.running || this.store === null || this.records === null) {
      throw new SealsyncError('ERR_FOLDER_UNKNOWN', 'the encrypted folder is not running');
    }
    return { store: this.store, records: this.records };
  }

  private signal(extra?: AbortSignal): AbortSignal {
    return extra ? AbortSignal.any([extra, this.stopController.signal]) : this.stopController.signal;
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.maintenance.catch(() => undefined).then(fn);
    this.maintenance = run.catch(() => undefined);
    return run;
  }

  private async rebuildLive(): Promise<void> {
    const store = this.store;
    if (store === null) return;
    await this.blocks.rebuild(store, this.stopController.signal);
    this.markDirty();
  }

  /** Makes every referenced block live or wanted. */
  private reconcile(): Promise<void> {
    return this.exclusive(() => this.reconcileLocked());
  }

  private async reconcileLocked(): Promise<void> {
    const records = this.records;
    const store = this.store;
    if (records === null || store === null) return;
    await this.blocks.reviveWaiting(store);
    for (const hex of records.referencedBlocks()) {
      if (this.stopController.signal.aborted) return;
      await this.blocks.want(hex);
    }
    this.markDirty();
  }

  private blockPeer(link: FolderLink) {
    return {
      id: link.peerId,
      // Its records all carry their block ids (it refuses any that withholds them).
      requestBlock: (ref: BlockRef, o: { signal?: AbortSignal }) => link.requestBlock(ref.id!, o),
      penalize: (reason: string) => link.penalize(reason),
    };
  }

  // ---- internals: gc scheduling, status -------------------------------------------

  private scheduleGc(): void {
    if (!this.running || this.gcDebounce !== null) return;
    this.gcDebounce = setTimeout(() => {
      this.gcDebounce = null;
      void this.gc().catch((err) => this.logMaintenanceError('gc', err));
    }, GC_DEBOUNCE_MS);
    this.gcDebounce.unref?.();
  }

  private logMaintenanceError(what: string, err: unknown): void {
    if (!this.running) return;
    this.log.warn({ err: describeError(err) }, `${what} failed`);
  }

  /** What the replica is doing; the state the status shows is settled from it (folder-truth.ts). */
  private activity(): 'error' | 'syncing' | 'idle' {
    if (this.error !== null) return 'error';
    if (this.blocks.busy) return 'syncing';
    if (this.blocks.hasNeeded && this.relay.size > 0) return 'syncing';
    return 'idle';
  }

  private state(): FolderState {
    return this.status().state;
  }

  private markDirty(): void {
    if (this.statsTimer !== null || !this.running) {
      if (!this.running) this.emitStatusIfChanged();
      return;
    }
    this.statsTimer = setTimeout(() => {
      this.statsTimer = null;
      this.refreshStats();
    }, statsRefreshDelayMs(this.lastWalkMs));
    this.statsTimer.unref?.();
    this.emitStatusIfChanged();
  }

  /** Recomputes the counts from the records and the live catalog. */
  refreshStats(): void {
    const records = this.records;
    if (records === null) return;
    const started = performance.now();
    const { stats, referenced } = countReplica(records.walk(), this.blocks.live);
    this.stats = stats;
    this.blocks.forgetUnreferenced(referenced);
    this.lastWalkMs = performance.now() - started;
    this.emitStatus();
  }

  private emitStatusIfChanged(): void {
    const state = this.state();
    if (state !== this.lastState) this.emitStatus();
  }

  private emitStatus(): void {
    const status = this.status();
    this.lastState = status.state;
    for (const l of this.listeners) {
      try {
        l(status);
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'status listener threw');
      }
    }
  }
}
