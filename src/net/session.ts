/**
 * A PeerSession: the sealsync protocol over one authenticated TLS connection.
 *
 * How this works
 * --------------
 * States: handshake → held → open → closing → closed.
 *
 *  - handshake: both sides send Hello at once; the first frame from the peer
 *    must be a Hello with our protocol version, before the handshake deadline
 *    (for an incoming connection it started at the TCP accept: transport.ts).
 *    `PeerSession.open()` resolves here.
 *  - held: frames that arrive stay buffered, not handled, until the owner
 *    calls start(). The owner attaches its listeners in between, so no
 *    'joined' or 'index' event can fire before anyone listens.
 *  - open: folders are joined (folder-joins.ts); index updates, acks and
 *    block requests are only legal for joined folders.
 *  - closing/closed: one Close frame (best effort), end, destroy after a grace
 *    period; every pending request and waiter is rejected, every timer
 *    cleared, then 'closed' fires exactly once.
 *
 * The parts: inbound bytes, frame limits and backpressure (inbound-flow.ts),
 * outbound frames (frame-writer.ts), joins (folder-joins.ts), block requests
 * both ways (block-exchange.ts), and an index update's records before the
 * engine gets them (index-intake.ts, replay-guard.ts). This class is the
 * state machine between them and the owner's API.
 *
 * Why it stays one class of ~420 lines: what remains is the state machine
 * itself. Every method left either moves `state` (open, start, shutdown,
 * finalize), checks it before routing a message or a call to a part, or wires
 * the parts to each other; splitting it further would spread the transitions
 * (and the invariant "nothing is handled after closing") over several files.
 *
 * Inbound frames are handled strictly in order by one pump, which takes them
 * from the buffer one at a time. Until a folder is joined every frame must be
 * small (MAX_UNJOINED_FRAME_BYTES); after, index updates may be up to their
 * wire maximum and block responses too while we await one. An index update is
 * handed to the engine ('index'), which holds it until applied; while
 * MAX_QUEUED_INDEX_UPDATES are held the pump waits and the socket stops being
 * read. Malformed frames or messages close the connection at once
 * (ERR_PROTOCOL); well-formed but wrong ones (a block of a folder not joined,
 * a garbled or replayed record, an unsolicited answer) cost misbehaviour
 * points, and past the budget the session closes with ERR_MISBEHAVIOUR.
 */
import { EventEmitter } from 'node:events';
import type { TLSSocket } from 'node:tls';
import { SealsyncError, isSealsyncError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { MAX_FRAME_BYTES, type Frame } from './frame-codec.js';
import {
  PROTOCOL_VERSION, FrameType, indexIdToBytes, decodeMessage, encodeIndexUpdate,
  type BlockForm, type CloseReasonName, type IndexUpdate, type IndexAck, type Head, type Hello, type Message, type Progress,
} from './messages.js';
import {
  HANDSHAKE_TIMEOUT_MS, KEEPALIVE_MS, IDLE_TIMEOUT_MS, REQUEST_TIMEOUT_MS, MAX_INFLIGHT_REQUESTS, MAX_MISBEHAVIOUR,
  MISBEHAVIOUR_DECAY_MS, CLOSE_GRACE_MS, MAX_UNJOINED_FRAME_BYTES, MAX_INDEX_FRAME_BYTES, MAX_HEAD_FRAME_BYTES, PENALTY,
} from './limits.js';
import { MisbehaviourBudget } from './misbehaviour-budget.js';
import { InboundFlow } from './inbound-flow.js';
import { FrameWriter } from './frame-writer.js';
import { FolderJoins } from './folder-joins.js';
import { BlockExchange } from './block-exchange.js';
import { ReplayGuard } from './replay-guard.js';
import { intakeIndexRecords } from './index-intake.js';
import type { SecureConnection } from './transport.js';
import { toHex } from '../crypto/bytes.js';
import {
  type BlockRequestHandler, type PeerSessionOptions, type ReceivedIndex, type SessionLimits, type SessionStats,
} from './session-types.js';

export type { FolderDirectory, ReceivedIndex, BlockRequestHandler, SessionLimits, PeerSessionOptions, SessionStats } from './session-types.js';

export const ACCESS_EXPORTER_LABEL = 'EXPORTER-sealsync-access-v1';
export const ACCESS_EXPORTER_BYTES = 32;
export const CLIENT_VERSION = '0.1.0';

type State = 'handshake' | 'held' | 'open' | 'closing' | 'closed';

const NORMAL_CLOSES: ReadonlySet<CloseReasonName> = new Set(['normal', 'shutdown', 'duplicate']);

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export declare interface PeerSession {
  on(event: 'joined', listener: (folderId: Uint8Array) => void): this;
  on(event: 'left', listener: (folderId: Uint8Array) => void): this;
  on(event: 'index', listener: (msg: ReceivedIndex) => void): this;
  on(event: 'indexAck', listener: (msg: IndexAck) => void): this;
  on(event: 'head', listener: (msg: Head) => void): this;
  on(event: 'progress', listener: (msg: Progress) => void): this;
  on(event: 'closed', listener: (err?: SealsyncError) => void): this;
  on(event: string, listener: (...args: never[]) => void): this;
}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class PeerSession extends EventEmitter {
  readonly remoteDeviceId: string;
  readonly address: string;
  readonly direction: 'outgoing' | 'incoming';
  remoteName = '';
  remoteClientVersion = '';
  /** Why the session closed (undefined while open or after a normal close). */
  closeError: SealsyncError | undefined;
  /** The reason the peer gave in its Close frame, if it sent one. */
  remoteCloseReason: CloseReasonName | undefined;

  private state: State = 'handshake';
  private readonly conn: SecureConnection;
  private readonly socket: TLSSocket;
  private readonly log: Logger;
  private readonly limits: SessionLimits;
  private readonly inbound: InboundFlow;
  private readonly writer: FrameWriter;
  private readonly joins: FolderJoins;
  private readonly blocks: BlockExchange;
  private readonly replays = new ReplayGuard();
  private readonly budget: MisbehaviourBudget;
  private pumping = false;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private handshakeDone!: { resolve: () => void; reject: (e: unknown) => void };
  private readonly handshake: Promise<void>;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  /** Performs the Hello exchange and resolves with a held session (call start()). */
  static async open(conn: SecureConnection, opts: PeerSessionOptions, { signal }: { signal?: AbortSignal } = {}): Promise<PeerSession> {
    const session = new PeerSession(conn, opts);
    const onAbort = () => void session.shutdown('shutdown', new SealsyncError('ERR_ABORTED'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      await session.handshake;
      return session;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private constructor(conn: SecureConnection, private readonly opts: PeerSessionOptions) {
    super();
    this.conn = conn;
    this.socket = conn.socket;
    this.remoteDeviceId = conn.remoteDeviceId;
    this.address = conn.address;
    this.direction = conn.direction;
    const now = opts.now ?? Date.now;
    this.log = (opts.logger ?? silentLogger()).child({ peer: conn.remoteDeviceId.slice(0, 16), address: conn.address });
    this.limits = {
      handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
      keepaliveMs: KEEPALIVE_MS,
      idleTimeoutMs: IDLE_TIMEOUT_MS,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      maxInflightRequests: MAX_INFLIGHT_REQUESTS,
      maxMisbehaviour: MAX_MISBEHAVIOUR,
      misbehaviourDecayMs: MISBEHAVIOUR_DECAY_MS,
      ...opts.limits,
    };
    const { inBytesPerSec, outBytesPerSec } = opts.rateLimit ?? {};
    this.inbound = new InboundFlow(this.socket, (type) => this.frameLimit(type), now, inBytesPerSec);
    this.writer = new FrameWriter(this.socket, () => this.isOpenish(), () => this.closedError(), now, outBytesPerSec);
    this.budget = new MisbehaviourBudget(this.limits.maxMisbehaviour, this.limits.misbehaviourDecayMs, now);
    this.joins = new FolderJoins({
      direction: this.direction,
      directory: opts.directory,
      log: this.log,
      maxMisbehaviour: this.limits.maxMisbehaviour,
      send: (msg) => void this.writer.send(msg).catch(() => undefined),
      exporter: (folderId) => this.exporter(folderId),
      penalize: (reason, cost) => this.penalize(reason, cost),
      onJoined: (folderId) => this.onFolderJoined(folderId),
      onLeft: (folderId) => {
        this.replays.forget(toHex(folderId));
        this.emit('left', folderId);
      },
    });
    this.blocks = new BlockExchange({
      log: this.log,
      requestTimeoutMs: this.limits.requestTimeoutMs,
      isOpen: () => this.isOpen,
      isServing: () => this.state === 'open',
      closedError: () => this.closedError(),
      isJoined: (folderId) => this.joins.has(folderId),
      peerReads: (folderId) => this.joins.peerReads(folderId),
      notJoined: (folderId, reason) => this.notJoined(folderId, reason),
      penalize: (reason, cost) => this.penalize(reason, cost),
      send: (msg) => this.writer.send(msg),
      sendFrame: (type, payload, tail, onTail) => this.writer.sendFrame(type, payload, tail, onTail),
    }, this.limits.maxInflightRequests);
    this.handshake = new Promise<void>((resolve, reject) => (this.handshakeDone = { resolve, reject }));
    this.handshake.catch(() => undefined);
    this.closedPromise = new Promise<void>((resolve) => (this.resolveClosed = resolve));

    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', (err) => this.log.debug({ err: err.message }, 'socket error'));
    this.socket.on('close', () => this.finalize());
    if (this.socket.destroyed) {
      queueMicrotask(() => this.finalize());
      return;
    }
    // An incoming connection's deadline started at its TCP accept (the TLS handshake used part of it).
    const left = conn.handshakeDeadline === undefined ? this.limits.handshakeTimeoutMs : conn.handshakeDeadline - Date.now();
    this.handshakeTimer = setTimeout(
      () => void this.shutdown('protocol', new SealsyncError('ERR_TIMEOUT', 'peer did not complete the handshake in time')),
      Math.max(0, Math.min(this.limits.handshakeTimeoutMs, left)),
    );
    this.writer.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, deviceName: opts.localName, clientVersion: opts.clientVersion ?? CLIENT_VERSION })
      .catch(() => undefined);
  }

  // -------------------------------------------------------------------------
  // public API

  /** Starts handling frames and (dialler) joins every shared folder. Call after attaching listeners. */
  start(): void {
    if (this.state !== 'held') return;
    this.state = 'open';
    const tick = Math.max(10, Math.floor(Math.min(this.limits.keepaliveMs, this.limits.idleTimeoutMs) / 3));
    this.keepaliveTimer = setInterval(() => this.keepalive(), tick);
    this.keepaliveTimer.unref();
    this.refreshFolders();
    void this.pump();
  }

  /** Folder ids joined both ways (proofs verified in both directions). */
  joinedFolders(): Uint8Array[] {
    return this.joins.ids();
  }

  isJoined(folderId: Uint8Array): boolean {
    return this.joins.has(folderId);
  }

  get isOpen(): boolean {
    return this.state === 'open' || this.state === 'held';
  }

  /** Re-reads the directory after this device added or removed a folder (see FolderJoins.refresh). */
  refreshFolders(): void {
    if (this.state === 'open') this.joins.refresh();
  }

  /** Sends an index delta for a joined folder (compressed when that helps). */
  async sendIndex(msg: Omit<IndexUpdate, 'type'>): Promise<void> {
    this.requireJoined(msg.folderId);
    // Compression is async: take the place in the write order now, so two
    // updates sent back to back can never swap on the wire.
    await this.writer.sendFrame(FrameType.indexUpdate, encodeIndexUpdate(msg));
  }

  /** Sends one page of a signed head for a joined folder. */
  async sendHead(folderId: Uint8Array, page: Uint8Array): Promise<void> {
    this.requireJoined(folderId);
    await this.writer.send({ type: 'head', folderId, page });
  }

  /** Tells the peer how far this device is with a joined folder (best effort, like an ack). */
  sendProgress(msg: Omit<Progress, 'type'>): void {
    this.requireJoined(msg.folderId);
    this.writer.send({ type: 'progress', ...msg }).catch(() => undefined);
  }

  sendIndexAck(msg: Omit<IndexAck, 'type'>): void {
    this.requireJoined(msg.folderId);
    indexIdToBytes(msg.indexId); // a bad id throws here, to the caller, not into the write chain
    this.writer.send({ type: 'indexAck', ...msg }).catch(() => undefined);
  }

  /**
   * Asks the peer for a block, sealed or (`form: 'plain'`, only when
   * peerReads) as padded plaintext. Pipelined: up to maxInflightRequests in
   * flight, further calls wait for a slot. Resolves null when the peer says it
   * does not have the block. The caller verifies the data (id or plaintext hash).
   */
  async requestBlock(
    folderId: Uint8Array,
    blockId: Uint8Array,
    opts: { signal?: AbortSignal; timeoutMs?: number; form?: BlockForm } = {},
  ): Promise<Uint8Array | null> {
    this.requireJoined(folderId);
    if (opts.form === 'plain' && !this.joins.peerReads(folderId)) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', 'plaintext blocks only from a peer that proved it holds R');
    }
    return this.blocks.request(folderId, blockId, opts);
  }

  /** The peer proved it holds R for this joined folder (folder-joins.ts): blocks may travel as plaintext. */
  peerReads(folderId: Uint8Array): boolean {
    return this.joins.peerReads(folderId);
  }

  /** Serves the peer's block requests (only ever called for joined folders). null = missing. */
  onBlockRequest(handler: BlockRequestHandler): void {
    this.blocks.setHandler(handler);
  }

  /**
   * New bandwidth limits for this running session (absent or 0 = unlimited):
   * writes waiting for tokens and a paused inbound side re-check at once.
   */
  setRateLimit(limit: { inBytesPerSec?: number; outBytesPerSec?: number }): void {
    if (this.state === 'closed') return;
    this.inbound.setRate(limit.inBytesPerSec);
    this.writer.setRate(limit.outBytesPerSec);
  }

  stats(): SessionStats {
    const { meter: inMeter } = this.inbound;
    const { meter: outMeter } = this.writer;
    return { inBytes: inMeter.bytes, outBytes: outMeter.bytes, inRate: inMeter.rate(), outRate: outMeter.rate() };
  }

  /** Current misbehaviour score and its reasons (for logs and tests). */
  misbehaviour(): { score: number; reasons: Record<string, number> } {
    return { score: this.budget.current, reasons: this.budget.tally() };
  }

  /** Charges the peer for misbehaviour; past the budget the session closes with ERR_MISBEHAVIOUR. */
  penalize(reason: string, cost = 1): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.log.debug({ reason, cost }, 'peer misbehaved');
    if (this.budget.add(reason, cost)) {
      this.log.warn({ reasons: this.budget.tally() }, 'closing: peer exceeded its misbehaviour budget');
      void this.shutdown('misbehaviour', new SealsyncError('ERR_MISBEHAVIOUR', undefined, { reasons: this.budget.tally() }));
    }
  }

  /** Closes the session (Close frame, then end). Resolves once the socket is closed. */
  close(reason: CloseReasonName = 'normal'): Promise<void> {
    return this.shutdown(reason, NORMAL_CLOSES.has(reason) ? undefined : new SealsyncError('ERR_CONNECTION_CLOSED', `closed: ${reason}`));
  }

  /** Resolves once the session is closed, however that happened. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  // -------------------------------------------------------------------------
  // inbound

  /** Largest frame accepted now (see the header): small until a folder is joined. */
  private frameLimit(type: number | undefined): number {
    if (!this.joins.everJoined) return MAX_UNJOINED_FRAME_BYTES;
    const blockSized = this.blocks.awaitsAnswers;
    if (type === undefined) return blockSized ? MAX_FRAME_BYTES : MAX_INDEX_FRAME_BYTES;
    if (type === FrameType.indexUpdate) return MAX_INDEX_FRAME_BYTES;
    if (type === FrameType.head) return MAX_HEAD_FRAME_BYTES;
    if (type === FrameType.blockResponse && blockSized) return MAX_FRAME_BYTES;
    return MAX_UNJOINED_FRAME_BYTES;
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpenish()) return;
    this.inbound.onData(chunk);
    void this.pump();
  }

  private isOpenish(): boolean {
    return this.state === 'handshake' || this.state === 'held' || this.state === 'open';
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.state === 'handshake' || this.state === 'open') {
        const frame = this.inbound.next();
        if (!frame) break;
        await this.handleFrame(frame);
        this.inbound.maybeResume();
      }
      if (this.isOpenish()) this.inbound.maybeResume();
    } catch (err) {
      const e = isSealsyncError(err) ? err : new SealsyncError('ERR_INTERNAL', (err as Error).message);
      if (e.code === 'ERR_INTERNAL') this.log.error({ err }, 'session failed');
      void this.shutdown(e.code === 'ERR_ACCESS_PROOF' || e.code === 'ERR_PROTOCOL' || e.code === 'ERR_FRAME_TOO_LARGE' ? 'protocol' : 'normal', e);
    } finally {
      this.pumping = false;
    }
  }

  private async handleFrame(frame: Frame): Promise<void> {
    const msg = await decodeMessage(frame.type, frame.payload);
    if (this.state === 'handshake') {
      if (msg.type === 'close') return this.onRemoteClose(msg.reason);
      if (msg.type !== 'hello') throw new SealsyncError('ERR_PROTOCOL', `protocol violation: expected Hello, got ${msg.type}`);
      return this.onHello(msg);
    }
    if (this.state !== 'open') return;
    return this.dispatch(msg);
  }

  private async dispatch(msg: Message): Promise<void> {
    switch (msg.type) {
      case 'hello':
        throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: second Hello');
      case 'join':
        return this.joins.onJoin(msg);
      case 'joinResult':
        return this.joins.onJoinResult(msg);
      case 'indexUpdate':
        this.onIndex(msg);
        // Backpressure: while the engine holds its fill of updates, read nothing more.
        return this.inbound.whenIndexRoom();
      case 'indexAck':
        if (!this.joins.has(msg.folderId)) return this.notJoined(msg.folderId, 'index ack for a folder not joined');
        this.emit('indexAck', msg);
        return;
      case 'blockRequest':
        return this.blocks.onRequest(msg);
      case 'blockResponse':
        return this.blocks.onResponse(msg);
      case 'head':
        if (!this.joins.has(msg.folderId)) return this.notJoined(msg.folderId, 'head for a folder not joined');
        // Verified by the folder's engine (signature, freshness), like a record.
        this.emit('head', msg);
        return;
      case 'progress':
        if (!this.joins.has(msg.folderId)) return this.notJoined(msg.folderId, 'progress for a folder not joined');
        this.emit('progress', msg);
        return;
      case 'ping':
        return;
      case 'close':
        return this.onRemoteClose(msg.reason);
    }
  }

  private onHello(msg: Hello): void {
    if (msg.protocolVersion !== PROTOCOL_VERSION) {
      void this.shutdown('versionMismatch', new SealsyncError('ERR_PROTOCOL', `peer speaks protocol version ${msg.protocolVersion}, we speak ${PROTOCOL_VERSION}`));
      return;
    }
    this.remoteName = msg.deviceName;
    this.remoteClientVersion = msg.clientVersion;
    this.state = 'held';
    this.clearTimer('handshakeTimer');
    this.handshakeDone.resolve();
  }

  private onFolderJoined(folderId: Uint8Array): void {
    this.replays.forget(toHex(folderId));
    // Joined: this connection no longer counts against the caps on unproven ones.
    this.conn.admission?.release();
    this.emit('joined', folderId);
  }

  private onIndex(msg: IndexUpdate): void {
    if (!this.joins.has(msg.folderId)) return this.notJoined(msg.folderId, 'index for a folder not joined');
    const charge = (reason: string, cost: number) => {
      this.penalize(reason, cost);
      return this.state === 'open';
    };
    const intake = intakeIndexRecords(toHex(msg.folderId), msg.records, this.replays, charge);
    if (!intake) return;
    let release: (() => void) | null = null;
    const received: ReceivedIndex = { ...msg, ...intake, hold: () => (release ??= this.inbound.holdIndex()) };
    this.emit('index', received);
  }

  private notJoined(folderId: Uint8Array, reason: string): void {
    // Free for a folder we left during this session: the peer cannot know yet.
    if (!this.joins.wasLeft(folderId)) this.penalize(reason, PENALTY.notJoined);
  }

  private onRemoteClose(reason: CloseReasonName): void {
    this.remoteCloseReason = reason;
    const err = NORMAL_CLOSES.has(reason) ? undefined : new SealsyncError('ERR_CONNECTION_CLOSED', `peer closed the connection: ${reason}`, { reason });
    void this.shutdown(null, err);
  }

  private exporter(folderId: Uint8Array): Uint8Array {
    return new Uint8Array(this.socket.exportKeyingMaterial(ACCESS_EXPORTER_BYTES, ACCESS_EXPORTER_LABEL, Buffer.from(folderId)));
  }

  private requireJoined(folderId: Uint8Array): void {
    if (!this.isOpen) throw this.closedError();
    if (!this.joins.has(folderId)) throw new SealsyncError('ERR_FOLDER_UNKNOWN', 'folder is not joined on this connection');
  }

  private closedError(): SealsyncError {
    return new SealsyncError('ERR_CONNECTION_CLOSED', undefined, this.closeError ? { cause: this.closeError.code } : undefined);
  }

  private keepalive(): void {
    if (this.state !== 'open') return;
    const t = (this.opts.now ?? Date.now)();
    // Not idle while we are the ones not reading (backpressure): count from when we resume.
    if (this.inbound.holdingBack) this.inbound.lastIn = t;
    if (t - this.inbound.lastIn >= this.limits.idleTimeoutMs) {
      void this.shutdown('idleTimeout', new SealsyncError('ERR_TIMEOUT', 'peer sent nothing within the idle timeout'));
      return;
    }
    if (t - this.writer.lastOut >= this.limits.keepaliveMs) this.writer.send({ type: 'ping' }).catch(() => undefined);
  }

  // -------------------------------------------------------------------------
  // closing

  private clearTimer(name: 'handshakeTimer' | 'keepaliveTimer' | 'graceTimer'): void {
    const t = this[name];
    if (t) {
      clearTimeout(t);
      clearInterval(t);
      this[name] = null;
    }
  }

  /** Starts closing: optional Close frame, end, destroy after a grace period. */
  private shutdown(reason: CloseReasonName | null, err: SealsyncError | undefined): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') return this.closedPromise;
    this.state = 'closing';
    this.closeError = err;
    if (err && err.code !== 'ERR_ABORTED') this.log.debug({ code: err.code, msg: err.message }, 'closing session');
    this.releaseEverything();
    if (!this.socket.destroyed) {
      if (reason !== null && this.socket.writable) this.writer.writeCloseNow(reason);
      this.socket.end();
      this.graceTimer = setTimeout(() => this.socket.destroy(), CLOSE_GRACE_MS);
      this.graceTimer.unref();
      // A paused socket would never see the peer's FIN; keep reading (and discarding).
      this.socket.resume();
    } else {
      queueMicrotask(() => this.finalize());
    }
    return this.closedPromise;
  }

  private releaseEverything(): void {
    this.clearTimer('handshakeTimer');
    this.clearTimer('keepaliveTimer');
    const err = this.closedError();
    this.handshakeDone.reject(this.closeError ?? err);
    this.blocks.stop(err);
    this.inbound.stop();
    this.writer.destroy();
  }

  private finalize(): void {
    if (this.state === 'closed') return;
    if (this.state !== 'closing') {
      // The peer vanished without a Close.
      this.state = 'closing';
      this.closeError = new SealsyncError('ERR_CONNECTION_CLOSED', 'connection lost');
      this.releaseEverything();
    }
    this.state = 'closed';
    this.clearTimer('graceTimer');
    this.socket.destroy();
    this.conn.admission?.release();
    const err = this.closeError;
    this.resolveClosed();
    this.emit('closed', err);
  }
}
