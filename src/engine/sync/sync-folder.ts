/**
 * SyncFolder: the per-folder sync coordinator of a full (rw or ro) peer,
 * between LocalFolder (disk → index), the index, the puller (index → disk)
 * and the connected peers. The daemon creates one per rw/ro folder once the
 * network is up; it has the same link-shaped surface as ReplicaFolder, so the
 * owner of the sessions treats both alike (FolderSessionLink).
 *
 * How this works
 * - Links. attachPeer(link, {since}) when a peer joined the folder (access
 *   proven both ways); `since` is what the peer acknowledged of our index.
 *   The shared IndexRelay (index-relay.ts) keeps a cursor per link and sends
 *   our records with seq > cursor in bounded IndexUpdate batches — our own changes and what we received from others
 *   (full peers relay too; the signature makes a record trustworthy). Records
 *   the peer itself sent are not echoed back. LocalFolder's 'changed' event and
 *   the puller's publications wake every pump.
 * - Records in. receiveIndex() decodes, verifies and opens every record
 *   (signature, AEAD, locator = HMAC(path), canonical path) — on the daemon's
 *   hash workers for a large update, in order (record-check.ts); a bad one is
 *   dropped and the sender penalised. Good ones go to the index, which keeps
 *   only versions nothing dominates. Their block ids are remembered as "this
 *   peer has them" for swarming, the locators stored are handed to the puller,
 *   and the returned toSeq is acknowledged by the binding.
 * - Blocks out. serveBlock(id): where the index says the plaintext lives,
 *   read it, seal it (deterministic) and answer only if the sealed id matches
 *   (the file may have changed since the scan).
 * - Status: LocalFolder's (counts, scanning) with the puller's needs, parked
 *   paths and progress, settled by the "up to date" rule of folder-truth.ts
 *   (joined peers and the time of the last change: FolderPresence).
 * - Housekeeping: every ARCHIVE_CLEAN_INTERVAL_MS archived copies past
 *   retention and temp files of transfers that will never resume are removed.
 */
import { digest, folderIdText, openBlock, openPlainBlock, sealedBlockSize, type FolderKeys, type SealedRecord } from '../../crypto/index.js';
import { parseDeviceId } from '../../crypto/device-id.js';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import { ArchiveKeeper, type ArchivePruned } from './archive-keeper.js';
import { cleanStaleTemps } from '../../fs/temp-files.js';
import { readAndSealBlock, readPlainBlock } from '../../fs/block-reader.js';
import type { BlockForm } from '../../net/messages.js';
import { acquireBlockBuffer, releaseBlockBuffer, trimBlockBuffers } from '../../memory/block-buffer-pool.js';
import { resolveOnDisk } from '../../fs/safe-fs.js';
import type { Index, PutRecordResult } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { BlockRef, FileRecord } from '../../model/types.js';
import { BlockAvailability, BlockScheduler, DiskBlockSource } from './block-scheduler.js';
import type { FolderStatus } from '../peer/folder-status.js';
import { IDLE_PULLER_STATUS, Puller, type AppliedAction, type PullerStatus } from './puller.js';
import type { FolderLink, IncomingIndex, ReceiveIndexOptions } from '../peer/folder-link.js';
import { FolderPresence, settledStatus, syncProgress } from '../peer/folder-truth.js';
import { checkFolderRoot } from '../../fs/folder-marker.js';
import { IndexRelay, chargeDominatedUpdate } from '../peer/index-relay.js';
import { forEachCheckedChunk, type RecordChecker } from '../peer/record-check.js';
import { HeadBook } from '../peer/head-book.js';
import { HeadExchange } from '../peer/head-exchange.js';

/** Bad records from one update that are charged to the sender (more are only logged). */
export const MAX_PENALTIES_PER_UPDATE = 4;
/** How often archived copies past retention are removed. */
export const ARCHIVE_CLEAN_INTERVAL_MS = 60 * 60 * 1000;

/** A checked record from a peer, on its way into the index. */
interface StoreItem {
  readonly raw: Uint8Array;
  readonly sealed: SealedRecord;
  readonly record: FileRecord;
}

/** One joined peer, and one index update from it: the same contract as the replica's (one session binding serves both). */

/** What the puller did on disk for peers' records: a path applied, or a losing version kept as a conflict copy. */
export type RemoteChange =
  | { readonly type: 'applied'; readonly path: string; readonly action: AppliedAction }
  | {
      readonly type: 'conflict';
      readonly path: string;
      readonly copyPath: string;
      /** The losing version was this device's own edit (its last writer is this index's vector id). */
      readonly thisDevice: boolean;
      /** Vector id of the losing version's last writer (its first characters are in the copy's name). */
      readonly writer: string;
      /** Device id that wrote the losing content (sealed in its record), or null when the record does not say. */
      readonly writerDevice: string | null;
    }
  | ({ readonly type: 'archive-pruned' } & ArchivePruned);

/** What SyncFolder needs of LocalFolder (the real class satisfies it). */
export interface LocalFolderHooks {
  scanNow(opts?: { signal?: AbortSignal; paths?: readonly string[] }): Promise<void>;
  status(): FolderStatus;
  refreshStats(): void;
  on(event: 'changed', listener: (e: { seq: number }) => void): unknown;
  on(event: 'status', listener: (s: FolderStatus) => void): unknown;
  removeListener(event: 'changed', listener: (e: { seq: number }) => void): unknown;
  removeListener(event: 'status', listener: (s: FolderStatus) => void): unknown;
  /** Paths the puller is writing: the scanner skips them (they are not local edits). */
  setBusyPaths?(paths: { has(path: string): boolean } | null): void;
  /** Commits scan results still queued, before the puller writes rows. */
  flush?(): void;
  /** This device's ignore rules as last loaded by the scanner (the puller neither writes nor deletes ignored paths). */
  ignores?(path: string, isDir: boolean): boolean;
}

export interface SyncFolderOptions {
  readonly path: string;
  readonly keys: FolderKeys;
  readonly index: Index;
  readonly folderRowId: number;
  readonly localFolder: LocalFolderHooks;
  readonly logger: Logger;
  readonly archiveRetentionDays?: number;
  /** The archive's size bound in bytes (0 = a tenth of the folder's disk): the oldest copies go first. */
  readonly archiveMaxBytes?: number;
  /**
   * This device's id (text): noted as the writer of its losing edits and of
   * what it archives; rw folders sign their heads as this device (without it
   * they make none).
   */
  readonly deviceId?: string;
  /** This device's ignore rules; ignored paths are neither written nor deleted by the puller. */
  readonly isIgnored?: (path: string, isDir: boolean) => boolean;
  readonly now?: () => number;
  /** Timers, for tests. */
  readonly pullRetryMs?: number;
  readonly blockRequestTimeoutMs?: number;
  /** Checks large index updates off the main thread (the daemon's hash pool); without it, inline. */
  readonly recordChecker?: RecordChecker;
  /** How long a known head's versions may take to arrive before withholding is reported (tests shorten it). */
  readonly headGraceMs?: number;
}

export class SyncFolder {
  readonly path: string;
  private readonly keys: FolderKeys;
  private readonly index: Index;
  private readonly folder: number;
  private readonly local: LocalFolderHooks;
  private readonly log: Logger;
  private readonly now: () => number;
  /** The archive's retention: age, size bound, free-space margin (archive-keeper.ts). */
  private readonly archive: ArchiveKeeper;
  private readonly availability = new BlockAvailability();
  /** Index exchange with the joined peers (shared with ReplicaFolder). */
  private readonly relay: IndexRelay;
  private readonly scheduler: BlockScheduler;
  private readonly puller: Puller;
  private readonly recordChecker: RecordChecker | null;
  private readonly listeners: ((s: FolderStatus) => void)[] = [];
  private readonly changeListeners: ((c: RemoteChange) => void)[] = [];
  private running = false;
  private archiveTimer: NodeJS.Timeout | null = null;
  private lastPull: PullerStatus = IDLE_PULLER_STATUS;
  /** Joined peers and the clocks of the "up to date" rule (folder-truth.ts). */
  private readonly presence: FolderPresence;
  /** Signed heads: kept, checked against and forwarded; this device's own when it holds W (head-book.ts). */
  private readonly heads: HeadBook;
  private readonly headExchange: HeadExchange;
  private readonly onLocalChanged = () => {
    this.presence.changed();
    this.wakePumps();
  };
  private readonly onLocalStatus = () => this.emitStatus();

  constructor(opts: SyncFolderOptions) {
    const keys = opts.keys;
    if (keys.type === 'encrypted' || !keys.contentKey) throw new SealsyncError('ERR_FOLDER_TYPE', 'a full sync folder needs a read-write or read-only key');
    this.path = opts.path;
    this.keys = keys;
    this.index = opts.index;
    this.folder = opts.folderRowId;
    this.local = opts.localFolder;
    this.log = opts.logger;
    this.now = opts.now ?? Date.now;
    this.archive = new ArchiveKeeper({
      root: this.path, log: this.log, now: this.now,
      forget: (paths) => this.index.history.forgetArchived(this.folder, paths),
      onPruned: (p) => this.emitChange({ type: 'archive-pruned', ...p }),
    }, opts.archiveRetentionDays, opts.archiveMaxBytes);
    this.presence = new FolderPresence(this.now);
    this.relay = new IndexRelay({ index: this.index, folderRowId: () => this.folder, logger: this.log, isRunning: () => this.running });
    this.heads = new HeadBook({ index: this.index, folderRowId: () => this.folder, keys, now: this.now, ...(opts.headGraceMs !== undefined ? { graceMs: opts.headGraceMs } : {}) });
    const deviceId = opts.deviceId !== undefined ? parseDeviceId(opts.deviceId) : undefined;
    this.headExchange = new HeadExchange({
      book: this.heads,
      links: () => this.relay.allLinks(),
      log: this.log,
      ...(keys.type === 'rw' && deviceId ? { makeOwn: () => this.heads.makeOwn(keys, deviceId, this.index.vectorId) } : {}),
    });
    const contentKey = keys.contentKey;
    this.recordChecker = opts.recordChecker ?? null;
    const hashBlock = (d: Uint8Array) => digest(d);
    this.scheduler = new BlockScheduler({
      // Every ref here comes from a file record signed with the folder's write
      // key, so its id fixes the ciphertext and the AEAD tag covers the rest:
      // the second (plaintext) hash would only catch a write-key holder.
      // Opened on this thread, not on a worker: without the plaintext re-hash an
      // open is one SHA-256 plus AES-GCM (~100 µs per 128 KiB), less than the copy
      // and postMessage a worker needs; in bench (a) on 2 cores a block-crypto worker
      // (since removed, docs/performance.md) was slower (median 4.2 s against 2.8 s).
      //
      // Buffers (fs/block-buffer-pool.ts): the plaintext goes into a pooled buffer, which
      // applyFile gives back once it is written; the sealed frame (pooled by the session's
      // frame decoder) is given back here, as nothing reads it after the open.
      openBlock: (sealed: Uint8Array, ref: BlockRef, form: 'sealed' | 'plain') => {
        // From a peer that proved R: padded plaintext, checked against the signed record's
        // hash. The frame's pooled buffer becomes the plaintext (a view, no copy); applyFile
        // gives it back once written.
        if (form === 'plain') {
          try {
            return openPlainBlock(sealed, ref);
          } catch (err) {
            releaseBlockBuffer(sealed);
            throw err;
          }
        }
        // A size that does not match the record fails the id check or applyFile's size
        // check anyway; it just gets no pooled buffer.
        const output = sealed.byteLength === sealedBlockSize(ref.size) ? acquireBlockBuffer(ref.size) : undefined;
        try {
          return openBlock(contentKey, sealed, ref, output ? { verifyPlaintextHash: false, output } : { verifyPlaintextHash: false });
        } catch (err) {
          if (output) releaseBlockBuffer(output);
          throw err;
        } finally {
          releaseBlockBuffer(sealed);
        }
      },
      local: new DiskBlockSource(
        this.path,
        (hash) => this.index.findBlocksByHash(hash).filter((l) => l.folderRowId === this.folder),
        hashBlock,
      ),
      holders: (id) => this.availability.holders(id),
      ...(opts.blockRequestTimeoutMs !== undefined ? { requestTimeoutMs: opts.blockRequestTimeoutMs } : {}),
    });
    this.puller = new Puller({
      root: this.path,
      folder: this.folder,
      type: keys.type,
      keys,
      index: this.index,
      fetchBlock: (ref, o) => this.scheduler.fetch(ref, o),
      hashBlock,
      localChanged: (path, o) => this.local.scanNow({ paths: [path], ...(o.signal ? { signal: o.signal } : {}) }),
      beforeRecord: () => this.local.flush?.(),
      onPublished: () => this.wakePumps(),
      isIgnored: opts.isIgnored ?? ((path, isDir) => this.local.ignores?.(path, isDir) ?? false),
      onApplied: (path, action) => {
        this.presence.changed();
        this.emitChange({ type: 'applied', path, action });
      },
      checkRoot: () => checkFolderRoot(this.path, () => this.local.status().localFiles > 0),
      onArchived: (archivePath, record) => {
        this.index.history.noteArchived(this.folder, archivePath, { path: record.path, replacedBy: record.writer ?? null, atMs: this.now() });
        this.archive.noteArchived();
      },
      makeRoom: (bytes) => this.archive.makeRoom(bytes),
      ...(opts.deviceId !== undefined ? { deviceId: opts.deviceId } : {}),
      onConflictCopy: (path, copyPath, writer, writerDevice) =>
        this.emitChange({ type: 'conflict', path, copyPath, writer, writerDevice, thisDevice: writer === this.index.vectorId }),
      onStatus: (s) => {
        const wasSyncing = this.lastPull.state === 'syncing';
        this.lastPull = s;
        if (wasSyncing && s.state === 'idle') {
          this.local.refreshStats();
          trimBlockBuffers(); // nothing to receive for now: do not keep the pool's memory
        }
        this.emitStatus();
      },
      now: this.now,
      logger: this.log,
      ...(opts.pullRetryMs !== undefined ? { retryMs: opts.pullRetryMs } : {}),
    });
  }

  // ---- lifecycle ---------------------------------------------------------------

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.local.on('changed', this.onLocalChanged);
    this.local.on('status', this.onLocalStatus);
    this.local.setBusyPaths?.(this.puller.busyPaths);
    for (const link of this.relay.allLinks()) this.startLink(link);
    // Whatever arrived before a restart and was not applied yet.
    this.puller.start();
    this.archive.start();
    this.archive.noteArchived(); // a restart looks at the bound and the margin at once, not only hourly
    this.archiveTimer = setInterval(() => void this.cleanArchive(), ARCHIVE_CLEAN_INTERVAL_MS);
    this.archiveTimer.unref?.();
    this.headExchange.viewChanged();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    if (this.archiveTimer) clearInterval(this.archiveTimer);
    this.archiveTimer = null;
    this.local.removeListener('changed', this.onLocalChanged);
    this.local.removeListener('status', this.onLocalStatus);
    this.local.setBusyPaths?.(null);
    this.relay.clear();
    this.headExchange.stop();
    this.scheduler.stop();
    await this.puller.stop();
    await this.archive.stop();
    trimBlockBuffers();
  }

  /** Device ids of the peers joined to this folder now. */
  get joinedPeers(): ReadonlySet<string> {
    return this.presence.peerIds;
  }

  onStatus(listener: (status: FolderStatus) => void): void {
    this.listeners.push(listener);
  }

  /** Every change the puller makes on disk for peers (the daemon turns them into events). */
  onRemoteChange(listener: (change: RemoteChange) => void): void {
    this.changeListeners.push(listener);
  }

  /**
   * The scanner's counts and state with the puller's needs, parked paths and
   * progress, settled by the one "up to date" rule (folder-truth.ts).
   */
  status(): FolderStatus {
    const base = this.local.status();
    const pull = this.lastPull;
    const error = base.error ?? pull.error;
    const activity = error !== null ? 'error' : base.state === 'scanning' ? 'scanning' : pull.state === 'syncing' ? 'syncing' : 'idle';
    const syncing = pull.state === 'syncing' || pull.needFiles > 0;
    return settledStatus({
      ...base,
      activity,
      needFiles: pull.needFiles,
      needBytes: pull.needBytes,
      error,
      errorCode: base.error !== null ? base.errorCode : null,
      parked: pull.parked,
      parkedCount: pull.parkedCount,
      peers: this.presence.peers(),
      lastChangeAt: this.presence.lastChangeAt,
      ...(syncing ? { progress: syncProgress(pull) } : {}),
      ...this.integrity(),
    });
  }

  /** Paths being written by the puller (LocalFolder should not treat them as local edits). */
  get busyPaths(): ReadonlySet<string> {
    return this.puller.busyPaths;
  }

  setArchiveRetention(days: number, maxBytes = this.archive.retention.maxBytes): void {
    this.archive.setRetention(days, maxBytes);
  }

  async cleanArchive(): Promise<void> {
    await this.archive.clean();
    try {
      const temps = await cleanStaleTemps(this.path, this.now());
      if (temps > 0) this.log.info({ removed: temps }, 'stale temp files removed');
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'archive cleanup failed');
    }
  }

  /** Read-only folders: restore the global state (re-fetch / delete local edits). */
  async revert(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.keys.type !== 'ro') throw new SealsyncError('ERR_FOLDER_TYPE', 'only read-only folders can be reverted');
    await this.local.scanNow(opts.signal ? { signal: opts.signal } : {});
    await this.puller.revert(opts);
    this.local.refreshStats();
    this.emitStatus();
  }

  /** Resolves when the puller has nothing left to do (tests, CLI). */
  whenPulled(opts: { signal?: AbortSignal } = {}): Promise<void> {
    return this.puller.whenIdle(opts);
  }

  // ---- links -------------------------------------------------------------------

  attachPeer(link: FolderLink, opts: { since?: number } = {}): void {
    if (this.relay.link(link.peerId)) this.detachPeer(link.peerId);
    this.relay.attach(link, opts.since ?? 0);
    this.presence.peerJoined(link.peerId);
    this.headExchange.attached(link);
    if (this.running) this.startLink(link);
    this.emitStatus();
  }

  detachPeer(peerId: string): void {
    if (!this.relay.detach(peerId)) return;
    this.presence.peerLeft(peerId);
    this.headExchange.detached(peerId);
    this.emitStatus();
    this.scheduler.removePeer(peerId);
    this.availability.forget(peerId);
  }

  /** The peer has everything of ours up to `seq` (an IndexAck after attach). */
  acknowledge(peerId: string, seq: number): void {
    this.relay.acknowledge(peerId, seq);
  }

  /** What a peer last told us of its index (to ask for the delta on reconnect). */
  peerProgress(peerId: string): { indexId: string; maxSeq: number } | null {
    return this.relay.peerProgress(peerId);
  }

  /**
   * Records from a peer: verify + open each, store the good ones, penalise
   * the sender for bad ones, schedule the puller. Returns the seq to
   * acknowledge, or null when stopped.
   */
  async receiveIndex(peerId: string, update: IncomingIndex, opts: ReceiveIndexOptions = {}): Promise<number | null> {
    if (!this.running) return null;
    const link = { penalize: opts.penalize ?? ((reason: string, cost?: number) => this.relay.link(peerId)?.penalize(reason, cost)) };
    const stored: Uint8Array[] = [];
    const announced: Uint8Array[] = [];
    const tally = { dominated: 0 };
    let rejected = 0;
    let refusedOld = 0;
    let firstCode: string | null = null;
    let localFailure: unknown = null;
    // Signature, AEAD, locator and path checks, on the hash workers for a large update (record-check.ts).
    await forEachCheckedChunk(
      update.records,
      { keys: this.keys, open: true, checker: this.recordChecker, ...(opts.signal ? { signal: opts.signal } : {}) },
      (start, outcomes) => {
        if (!this.running) return false;
        const good: StoreItem[] = [];
        outcomes.forEach((outcome, j) => {
          if (!outcome.ok || !outcome.record) {
            rejected++;
            const err = outcome.ok ? new SealsyncError('ERR_INTERNAL', 'record was not opened') : outcome.error;
            firstCode ??= isSealsyncError(err) ? err.code : 'invalid';
            return;
          }
          // Older than what a signed head says is current: a replay, a resurrection or part of a mixed state.
          const newer = this.heads.newerThan(outcome.sealed.locator, outcome.sealed.version);
          if (newer) {
            refusedOld++;
            this.heads.noteRollback(newer);
            return;
          }
          good.push({ raw: update.records[start + j]!, sealed: outcome.sealed, record: outcome.record });
        });
        const failed = this.storeRemoteRecords(peerId, good, stored, announced, tally);
        if (failed) {
          rejected += failed.count;
          firstCode ??= failed.code;
          localFailure = failed.localError;
        }
        return localFailure === null;
      },
    );
    if (!this.running) return null;
    if (localFailure !== null) {
      // Our own index failed (disk full, I/O error): not the peer's fault, so no
      // penalty, and no acknowledgement or progress either, so the peer sends the
      // rest again later. What was stored before the failure is still pulled.
      this.log.error({ peer: peerId, err: describeError(localFailure) }, 'storing an index update failed');
    } else if (rejected > 0) {
      this.log.warn({ peer: peerId, rejected, code: firstCode }, 'dropped records that failed verification');
      for (let i = 0; i < Math.min(rejected, MAX_PENALTIES_PER_UPDATE); i++) link.penalize(`bad record: ${firstCode}`);
    }
    if (refusedOld > 0) {
      this.log.warn({ peer: peerId, refused: refusedOld }, 'refused records older than a signed head');
      this.emitStatus();
    }
    if (localFailure === null) chargeDominatedUpdate(link, update.records.length, tally.dominated);
    // Progress moves only over a contiguous range; after a gap the delta is asked again.
    if (localFailure === null) this.relay.recordProgress(peerId, update);
    this.availability.announce(peerId, announced);
    if (announced.length > 0) this.scheduler.availabilityChanged();
    this.log.debug({ peer: peerId, records: update.records.length, stored: stored.length, rejected }, 'index update');
    if (stored.length > 0) {
      this.presence.changed();
      this.puller.schedule(stored);
      this.wakePumps();
    }
    return localFailure === null ? update.toSeq : null;
  }

  /**
   * Stores checked records, in order, in one transaction (a commit per record
   * cost ~75 µs of the main thread). putRemoteRecord is atomic only as its own
   * transaction (nested calls join the outer one without a savepoint), so if
   * one throws, the whole batch is rolled back and stored again record by
   * record, each on its own: the outcome is then the same as storing one at a
   * time had been from the start. Side effects (relay marks, the puller's
   * cache, announcements) happen only after the rows are committed, still in
   * the same synchronous turn. Returns how many failed to store, if any; an
   * error that is not a SealsyncError (the records were checked, so it is our
   * own database failing) stops the batch and comes back as `localError`.
   */
  private storeRemoteRecords(
    peerId: string,
    items: readonly StoreItem[],
    stored: Uint8Array[],
    announced: Uint8Array[],
    tally: { dominated: number },
  ): { count: number; code: string; localError: unknown } | null {
    const put = (it: StoreItem) =>
      this.index.putRemoteRecord(this.folder, {
        locator: it.sealed.locator,
        version: it.sealed.version,
        blockIds: it.sealed.blockIds,
        sealed: it.raw,
        plain: { kind: it.record.kind, size: it.record.size, mtimeMs: it.record.mtimeMs, deleted: it.record.deleted },
      });
    const effects = (it: StoreItem, res: PutRecordResult) => {
      if (res.outcome === 'dominated') tally.dominated++;
      if (!res.stored) return;
      stored.push(it.sealed.locator);
      this.puller.noteOpened(it.sealed.locator, it.record);
      if (res.seq !== null) this.relay.markFromPeer(peerId, res.seq);
    };
    let results: PutRecordResult[] | null = null;
    try {
      results = this.index.transaction(() => items.map(put));
    } catch {
      results = null; // rolled back: one at a time below
    }
    if (results) {
      items.forEach((it, i) => {
        announced.push(...it.sealed.blockIds);
        effects(it, results[i]!);
      });
      return null;
    }
    let count = 0;
    let code: string | null = null;
    for (const it of items) {
      let res: PutRecordResult;
      try {
        res = put(it);
      } catch (err) {
        if (!isSealsyncError(err)) return { count, code: code ?? 'local', localError: err };
        count++;
        code ??= err.code;
        continue;
      }
      announced.push(...it.sealed.blockIds);
      effects(it, res);
    }
    return count > 0 ? { count, code: code ?? 'invalid', localError: null } : null;
  }

  /** A page of a signed head from a peer: kept and forwarded when newer, charged when bad. */
  receiveHead(peerId: string, page: Uint8Array, opts: ReceiveIndexOptions = {}): void {
    if (!this.running) return;
    const penalize = opts.penalize ?? ((reason: string, cost?: number) => this.relay.link(peerId)?.penalize(reason, cost));
    if (this.headExchange.receive(peerId, page, penalize)) this.emitStatus();
  }

  /** The status's integrity problems (signed heads), present only when there are some. */
  private integrity(): { integrity?: ReturnType<HeadBook['problems']> } {
    const problems = this.heads.problems(this.index.vectorId);
    return problems.length > 0 ? { integrity: problems } : {};
  }

  /**
   * A peer asks for a block: sealed from the plaintext on disk, or (`form`
   * 'plain', only from a peer that proved R) the padded plaintext, or null.
   */
  async serveBlock(blockId: Uint8Array, opts: { signal?: AbortSignal; form?: BlockForm } = {}): Promise<Uint8Array | null> {
    if (!this.running) return null;
    const loc = this.index.findBlockById(blockId);
    if (!loc || loc.folderRowId !== this.folder) return null;
    try {
      const abs = await resolveOnDisk(this.path, loc.path);
      if (opts.form === 'plain') {
        // No cryptography to serve a reader: the receiver checks the plaintext hash from the
        // signed record; the file's stat must still be the indexed one (else "missing").
        const stat = this.index.getFileStat(this.folder, loc.path);
        if (!stat || stat.deleted) return null;
        return await readPlainBlock(abs, loc.offset, loc.size, stat, opts.signal ? { signal: opts.signal } : {});
      }
      // Re-hashed and re-sealed: a file changed since the scan is answered "missing", never with a wrong block.
      const expected = { id: blockId, hash: loc.hash };
      return await readAndSealBlock(abs, loc.offset, loc.size, this.keys.contentKey!, expected, opts);
    } catch (err) {
      if (isSealsyncError(err, 'ERR_ABORTED')) throw err;
      return null;
    }
  }

  // ---- internals -------------------------------------------------------------------

  private startLink(link: FolderLink): void {
    const plaintext = link.readsPlaintext === true;
    this.scheduler.addPeer({
      id: link.peerId,
      plaintext,
      requestBlock: (id, o) => link.requestBlock(id, plaintext ? { ...o, form: 'plain' } : o),
      penalize: (r) => link.penalize(r),
    });
    // A new peer may have what failed before.
    this.puller.retryFailed();
    this.relay.wake(link.peerId);
  }

  /** Our view changed (a local edit, records stored, the puller published): send it, and sign it in a moment. */
  private wakePumps(): void {
    this.headExchange.viewChanged();
    this.relay.wake();
  }

  private emitChange(change: RemoteChange): void {
    for (const l of this.changeListeners) {
      try {
        l(change);
      } catch (err) {
        // A listener's bug must never fail a pull.
        this.log.warn({ err: describeError(err) }, 'remote change listener failed');
      }
    }
  }

  private emitStatus(): void {
    const s = this.status();
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.log.warn({ err: describeError(err) }, 'status listener failed');
      }
    }
  }

  /** For logs: the folder id text (public). */
  get folderIdText(): string {
    return folderIdText(this.keys.folderId);
  }
}

