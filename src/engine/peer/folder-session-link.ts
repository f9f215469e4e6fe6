/**
 * Binds a folder engine (ReplicaFolder, or any LinkedFolder such as the full
 * peer's SyncFolder) to one PeerSession: the session's events become the
 * folder's attach/receive/detach calls, and the folder's sends go out as
 * frames of this session.
 *
 * How this works (index exchange as seen from the replica)
 * ---------------------------------------------------------
 *  1. joined: we send IndexAck{their index id, seq} with what we hold of the
 *     peer's index (peers table), or {ZERO_INDEX_ID, 0} when we know nothing.
 *     That tells the peer where to resume its deltas.
 *  2. We wait for the peer's own first IndexAck (at most INITIAL_ACK_WAIT_MS)
 *     and start sending our records after the seq it names, when it names our
 *     current index id; otherwise, or when no ack comes, from 0 (receivers
 *     ignore records they already hold, so too early costs bytes, never data).
 *  3. Every IndexUpdate from the peer is verified and stored by the folder,
 *     then acknowledged with its toSeq. Updates from one peer are applied in
 *     order, one at a time, each held (ReceivedIndex.hold) until applied, so
 *     the session stops reading while MAX_QUEUED_INDEX_UPDATES wait here.
 *  4. left/closed: the link is detached (only if it is still the attached one:
 *     a newer session of the same device may have replaced it); its block
 *     requests move elsewhere.
 *
 * Block requests are not bound here: a session has one block handler for all
 * folders, so the owner of the sessions dispatches by folder id to the
 * engine's `serveBlock`.
 */
import { describeError } from '../../errors.js';
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { Head, IndexAck, Progress, ProgressCounts } from '../../net/messages.js';
import type { PeerSession, ReceivedIndex } from '../../net/session.js';
import type { FolderLink, LinkedFolder } from './folder-link.js';
import { toHex } from '../../crypto/bytes.js';
import { ProgressReporter, type PeerProgressBook } from './peer-progress.js';

/** How long to wait for the peer's first IndexAck before sending everything. */
export const INITIAL_ACK_WAIT_MS = 2000;
/** The index id we acknowledge when we hold nothing of a peer's index. */
export const ZERO_INDEX_ID = '0000000000000000';

export interface FolderSessionLinkOptions {
  readonly folder: LinkedFolder;
  readonly session: PeerSession;
  readonly folderId: Uint8Array;
  /** Our index (for our index id). */
  readonly index: Index;
  readonly logger: Logger;
  readonly initialAckWaitMs?: number;
  /** Where the peer's Progress reports for this folder go (peer-progress.ts). */
  readonly progressBook?: PeerProgressBook;
  /** Our own counts for this folder, sent to the peer while attached; null: nothing to say yet. */
  readonly ownProgress?: () => ProgressCounts | null;
}

/** One folder on one session. `close()` removes every listener and detaches the peer. */
export class FolderSessionLink {
  private readonly folder: LinkedFolder;
  private readonly session: PeerSession;
  private readonly folderId: Uint8Array;
  private readonly folderHex: string;
  private readonly index: Index;
  private readonly log: Logger;
  private readonly ackWaitMs: number;
  /** The link this session attached to the folder, while attached. */
  private attached: FolderLink | null = null;
  private closed = false;
  private ackTimer: NodeJS.Timeout | null = null;
  private firstAck: IndexAck | null = null;
  private waitingForAck = false;
  /** Index updates from this peer are applied strictly in order. */
  private applyChain: Promise<void> = Promise.resolve();
  private readonly progressBook: PeerProgressBook | undefined;
  private reporter: ProgressReporter | null = null;
  private readonly onJoined = (folderId: Uint8Array) => { if (this.isOurs(folderId)) this.join(); };
  private readonly onLeft = (folderId: Uint8Array) => { if (this.isOurs(folderId)) this.leave(); };
  private readonly onClosed = () => this.close();
  private readonly onIndex = (msg: ReceivedIndex) => { if (this.isOurs(msg.folderId)) this.enqueueIndex(msg); };
  private readonly onAck = (msg: IndexAck) => { if (this.isOurs(msg.folderId)) this.handleAck(msg); };
  private readonly onHead = (msg: Head) => { if (this.isOurs(msg.folderId)) this.enqueueHead(msg); };
  private readonly onProgress = (msg: Progress) => {
    if (this.isOurs(msg.folderId) && !this.closed) this.progressBook?.set(this.folderHex, this.peerId, msg, this);
  };

  constructor(opts: FolderSessionLinkOptions) {
    this.folder = opts.folder;
    this.session = opts.session;
    this.folderId = opts.folderId;
    this.folderHex = toHex(opts.folderId);
    this.index = opts.index;
    this.log = opts.logger;
    this.ackWaitMs = opts.initialAckWaitMs ?? INITIAL_ACK_WAIT_MS;
    this.progressBook = opts.progressBook;
    const ownProgress = opts.ownProgress;
    if (ownProgress) {
      this.reporter = new ProgressReporter(ownProgress, (counts) => this.session.sendProgress({ folderId: this.folderId, ...counts }));
    }
    this.session.on('joined', this.onJoined);
    this.session.on('left', this.onLeft);
    this.session.on('closed', this.onClosed);
    this.session.on('index', this.onIndex);
    this.session.on('indexAck', this.onAck);
    this.session.on('head', this.onHead);
    this.session.on('progress', this.onProgress);
    if (this.session.isJoined(this.folderId)) this.join();
  }

  get peerId(): string {
    return this.session.remoteDeviceId;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.removeListener('joined', this.onJoined);
    this.session.removeListener('left', this.onLeft);
    this.session.removeListener('closed', this.onClosed);
    this.session.removeListener('index', this.onIndex);
    this.session.removeListener('indexAck', this.onAck);
    this.session.removeListener('head', this.onHead);
    this.session.removeListener('progress', this.onProgress);
    this.leave();
  }

  private isOurs(folderId: Uint8Array): boolean {
    return toHex(folderId) === this.folderHex;
  }

  private join(): void {
    if (this.closed || this.attached !== null || this.waitingForAck) return;
    const known = this.folder.peerProgress(this.peerId);
    try {
      this.session.sendIndexAck({ folderId: this.folderId, indexId: known?.indexId ?? ZERO_INDEX_ID, seq: known?.maxSeq ?? 0 });
    } catch (err) {
      this.log.debug({ err: describeError(err) }, 'could not send the initial index ack');
      return;
    }
    if (this.firstAck !== null) {
      this.attach(this.firstAck);
      return;
    }
    this.waitingForAck = true;
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      this.attach(null);
    }, this.ackWaitMs);
    this.ackTimer.unref?.();
  }

  private handleAck(msg: IndexAck): void {
    if (this.attached !== null) {
      if (msg.indexId === this.index.indexId) this.folder.acknowledge(this.peerId, msg.seq);
      return;
    }
    this.firstAck ??= msg;
    if (this.waitingForAck) this.attach(msg);
  }

  private attach(ack: IndexAck | null): void {
    if (this.closed || this.attached !== null) return;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.waitingForAck = false;
    this.attached = this.link();
    const since = ack !== null && ack.indexId === this.index.indexId ? ack.seq : 0;
    this.folder.attachPeer(this.attached, { since });
    this.reporter?.start();
  }

  private leave(): void {
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.waitingForAck = false;
    this.firstAck = null;
    this.reporter?.stop();
    this.progressBook?.delete(this.folderHex, this.peerId, this);
    if (this.attached !== null) {
      const link = this.attached;
      this.attached = null;
      // Only our own link: when the device's duplicate connections were deduplicated, a newer
      // session may have attached before this one closed, and it stays attached.
      this.folder.detachPeer(this.peerId, link);
    }
  }

  private enqueueIndex(msg: ReceivedIndex): void {
    // Counted against the session's index queue until applied: with the queue full the
    // session stops reading, so a peer cannot pile updates up here faster than we apply them.
    const release = msg.hold();
    this.applyChain = this.applyChain.then(async () => {
      if (this.closed) return;
      try {
        const ack = await this.folder.receiveIndex(this.peerId, msg, { penalize: (reason, cost) => this.session.penalize(reason, cost) });
        if (ack !== null && this.session.isOpen && this.session.isJoined(this.folderId)) {
          this.session.sendIndexAck({ folderId: this.folderId, indexId: msg.indexId, seq: ack });
        }
      } catch (err) {
        this.log.warn({ peer: this.peerId, err: describeError(err) }, 'applying an index update failed');
      }
    }).finally(release);
  }

  /**
   * A head page, applied in order with the peer's index updates: a writer
   * sends its records before the head that lists them, and a head applied
   * ahead of them would count them as missing (or older) for a moment.
   */
  private enqueueHead(msg: Head): void {
    const receive = this.folder.receiveHead?.bind(this.folder);
    if (!receive) return;
    this.applyChain = this.applyChain.then(() => {
      if (this.closed) return;
      try {
        receive(this.peerId, msg.page, { penalize: (reason, cost) => this.session.penalize(reason, cost) });
      } catch (err) {
        this.log.warn({ peer: this.peerId, err: describeError(err) }, 'applying a head failed');
      }
    });
  }

  private link(): FolderLink {
    const session = this.session;
    const folderId = this.folderId;
    const indexId = this.index.indexId;
    return {
      peerId: session.remoteDeviceId,
      readsPlaintext: session.peerReads(folderId),
      sendIndex: (u) => session.sendIndex({ folderId, indexId, fromSeq: u.fromSeq, toSeq: u.toSeq, records: u.records }),
      requestBlock: (blockId, o) => session.requestBlock(folderId, blockId, o),
      penalize: (reason, cost) => session.penalize(reason, cost),
      sendHead: (page) => session.sendHead(folderId, page),
    };
  }
}
