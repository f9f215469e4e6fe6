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
 * - Records in. receiveIndex() hands the records to SyncRecordIntake
 *   (sync-record-intake.ts), which decodes, verifies and opens every record
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
import { digest, folderIdText, type FolderKeys } from '../../crypto/index.js';
import { parseDeviceId } from '../../crypto/device-id.js';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import { ArchiveKeeper, type ArchivePruned } from './archive-keeper.js';
import { cleanStaleTemps } from '../../fs/temp-files.js';
import { readAndSealBlock, readPlainBlock } from '../../fs/block-reader.js';
import type { BlockForm } from '../../net/messages.js';
import { trimBlockBuffers } from '../../memory/block-buffer-pool.js';
import { blockOpener } from './block-opener.js';
import { lexicalPathUnder, resolveOnDisk } from '../../fs/safe-fs.js';
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import { BlockAvailability, BlockScheduler, DiskBlockSource } from './block-scheduler.js';
import type { FolderStatus } from '../peer/folder-status.js';
import { IDLE_PULLER_STATUS, Puller, type AppliedAction, type PullerStatus } from './puller.js';
import type { FolderLink, IncomingIndex, ReceiveIndexOptions } from '../peer/folder-link.js';
import { FolderPresence, settledStatus, syncProgress } from '../peer/folder-truth.js';
import { checkFolderRoot } from '../../fs/folder-marker.js';
import { IndexRelay, chargeDominatedUpdate } from '../peer/index-relay.js';
import type { RecordChecker } from '../peer/record-check.js';
import { SyncRecordIntake } from './sync-record-intake.js';
import { HeadBook } from '../peer/head-book.js';
import { HeadExchange } from '../peer/head-exchange.js';
import { withholdsBlockIds } from '../../model/block-ids.js';

/** Bad records from one update that are charged to the sender (more are only logged). */
export const MAX_PENALTIES_PER_UPDATE = 4;
/** How often archived copies past retention are removed. */
export const ARCHIVE_CLEAN_INTERVAL_MS = 60 * 60 * 1000;

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
  /** Records must carry block ids from now on: an encrypted peer joined (LocalFolder.sealBlockIds). */
  sealBlockIds?(): void;
  /** `paths` were just pulled from records that withheld their block ids (LocalFolder.completeBlockIds). */
  completeBlockIds?(paths: readonly string[]): void;
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
  /** Checks and stores peers' records (sync-record-intake.ts). */
  private readonly intake: SyncRecordIntake;
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
    const hashBlock = (d: Uint8Array) => digest(d);
    this.scheduler = new BlockScheduler({
      openBlock: blockOpener(contentKey),
      local: new DiskBlockSource(
        this.path,
        (hash) => this.index.findBlocksByHash(hash).filter((l) => l.folderRowId === this.folder),
        hashBlock,
      ),
      holders: (ref) => this.availability.holders(ref.hash),
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
      onApplied: (path, action, record) => {
        // A file pulled from a record that withheld its block ids: ours must carry them
        // once the folder seals them (LocalFolder.completeBlockIds decides).
        if (action !== 'deleted' && withholdsBlockIds(record)) this.local.completeBlockIds?.([path]);
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
      onConflictCopy: (path, copyPath, writer, writerDevice, kept) => {
        // The copy's record carries the blocks of the version it keeps, ids withheld or not.
        if (withholdsBlockIds(kept)) this.local.completeBlockIds?.([copyPath]);
        this.emitChange({ type: 'conflict', path, copyPath, writer, writerDevice, thisDevice: writer === this.index.vectorId });
      },
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
    this.intake = new SyncRecordIntake({
      index: this.index,
      folder: this.folder,
      keys,
      checker: opts.recordChecker ?? null,
      heads: this.heads,
      isRunning: () => this.running,
      markFromPeer: (peerId, seq) => this.relay.markFromPeer(peerId, seq),
      noteOpened: (locator, record) => this.puller.noteOpened(locator, record),
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
    // Read live: the puller counts each path down as it lands, but reports (onStatus) only when
    // a pass begins or ends, so a status between those showed one pass's numbers for seconds.
    const pull = this.puller.status();
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
    if (link.readsPlaintext !== true && this.keys.type === 'rw') {
      // An encrypted peer: it can take only records that carry their block ids.
      this.local.sealBlockIds?.();
    }
    this.relay.attach(link, opts.since ?? 0);
    this.presence.peerJoined(link.peerId);
    this.headExchange.attached(link);
    if (this.running) this.startLink(link);
    this.emitStatus();
  }

  detachPeer(peerId: string, link?: FolderLink): void {
    if (!this.relay.detach(peerId, link)) return;
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
    // Signature, AEAD, locator and path checks, on the hash workers for a large update (record-check.ts).
    const { stored, announced, dominated, rejected, firstCode, refusedOld, localFailure } = await this.intake.accept(peerId, update.records, opts.signal);
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
    if (localFailure === null) chargeDominatedUpdate(link, update.records.length, dominated);
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
    // A reader names the block by its plaintext hash (block ids may be withheld), anyone else by id.
    if (opts.form === 'plain') return this.servePlain(blockId, opts.signal);
    const loc = this.index.findBlockById(blockId);
    if (!loc || loc.folderRowId !== this.folder) return null;
    try {
      const abs = await resolveOnDisk(this.path, loc.path);
      // Re-hashed and re-sealed: a file changed since the scan is answered "missing", never with a wrong block.
      const expected = { id: blockId, hash: loc.hash };
      return await readAndSealBlock(abs, loc.offset, loc.size, this.keys.contentKey!, expected, opts);
    } catch (err) {
      if (isSealsyncError(err, 'ERR_ABORTED')) throw err;
      return null;
    }
  }

  /**
   * A plaintext block for a reader: no cryptography here, the receiver checks
   * it against the hash in the signed record. It is read only from the very
   * file the scan indexed (device, inode, size and mtime, checked on the open
   * descriptor), so the path's parents are not walked per block (five lstat
   * calls at six levels deep, the biggest cost of serving small files): the
   * scan reached that inode through real directories of the folder, and a
   * parent swapped for a symlink since leads to another inode, refused.
   */
  private async servePlain(hash: Uint8Array, signal: AbortSignal | undefined): Promise<Uint8Array | null> {
    const readOpts = signal ? { signal } : {};
    for (const loc of this.index.findServableBlocks(this.folder, hash)) {
      try {
        try {
          return await readPlainBlock(lexicalPathUnder(this.path, loc.path), loc.offset, loc.size, loc.file, readOpts);
        } catch (err) {
          // Indexed under its NFC name but spelled otherwise on disk (resolveOnDisk finds it).
          if (!isSealsyncError(err, 'ERR_PATH_MISSING')) throw err;
          return await readPlainBlock(await resolveOnDisk(this.path, loc.path), loc.offset, loc.size, loc.file, readOpts);
        }
      } catch (err) {
        if (isSealsyncError(err, 'ERR_ABORTED')) throw err;
        // Changed or gone since the scan: another file may hold the same block.
      }
    }
    return null;
  }

  // ---- internals -------------------------------------------------------------------

  private startLink(link: FolderLink): void {
    const plaintext = link.readsPlaintext === true;
    this.scheduler.addPeer({
      id: link.peerId,
      plaintext,
      // A reader is asked by plaintext hash (the id may be withheld); anyone else by block id.
      requestBlock: (ref, o) => (plaintext ? link.requestBlock(ref.hash, { ...o, form: 'plain' }) : link.requestBlock(ref.id!, o)),
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

