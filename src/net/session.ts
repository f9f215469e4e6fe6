/**
 * A PeerSession: the sealsync protocol over one authenticated TLS connection.
 *
 * How this works
 * --------------
 * States: handshake → held → open → closing → closed.
 *
 *  - handshake: both sides send Hello at once; the first frame from the peer
 *    must be a Hello with our protocol version, within the handshake timeout.
 *    `PeerSession.open()` resolves here.
 *  - held: frames that arrive are queued, not handled, until the owner calls
 *    start(). The owner attaches its listeners in between, so no 'joined' or
 *    'index' event can fire before anyone listens.
 *  - open: the dialler (TLS client) sends Join for every folder it shares,
 *    with its 'client' access proof bound to this TLS session (exporter). The
 *    acceptor answers JoinResult ok with its own 'server' proof when it has
 *    the folder and the proof verifies, else JoinResult not-ok — the same
 *    message, after the same work, whether the folder is unknown or the proof
 *    wrong, so a prober learns nothing. The dialler verifies the server proof
 *    (mutual). A refused Join is remembered by the acceptor; if it adds the
 *    folder later, refreshFolders() re-checks the proof and answers ok late.
 *    Index updates, acks and block requests are only legal for joined folders.
 *  - closing/closed: one Close frame (best effort), end, destroy after a grace
 *    period; every pending request and waiter is rejected, every timer
 *    cleared, then 'closed' fires exactly once.
 *
 * Inbound frames are handled strictly in order by one pump; block requests
 * from the peer are served concurrently (bounded) so a slow disk read never
 * stalls index exchange. Malformed frames or messages close the connection at
 * once (ERR_PROTOCOL); well-formed but wrong requests (a block of a folder not
 * joined, a garbled record, an unsolicited answer) cost misbehaviour points,
 * and past the budget the session closes with ERR_MISBEHAVIOUR.
 *
 * Outbound frames go through one ordered write chain that honours the
 * optional token bucket and socket backpressure (write() false → wait for
 * 'drain'), so a stream of 16 MiB blocks never piles up in memory.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { SealsyncError, isSealsyncError } from '../errors.js';
import { accessProof, verifyAccessProof, decodeSealedRecord, type SealedRecord } from '../crypto/index.js';
import { silentLogger, type Logger } from '../logger.js';
import { BLOCK_ID_BYTES, MAX_SEALED_BLOCK_BYTES } from '../crypto/sealed-block.js';
import { FrameDecoder, MAX_FRAME_BYTES, FRAME_HEADER_BYTES, type Frame } from './frame-codec.js';
import {
  PROTOCOL_VERSION, FrameType, indexIdToBytes, decodeMessage, encodeMessageSync, encodeIndexUpdate,
  type CloseReasonName, type IndexUpdate, type IndexAck, type Join, type JoinResult, type BlockRequest,
  type BlockResponse, type Hello, type Message,
} from './messages.js';
import { MisbehaviourBudget, MAX_MISBEHAVIOUR, MISBEHAVIOUR_DECAY_MS } from './misbehaviour-budget.js';
import { RateMeter } from './rate-meter.js';
import { TokenBucket } from './token-bucket.js';
import { Semaphore } from './semaphore.js';
import type { SecureConnection } from './transport.js';
import { releaseBlockBuffer } from '../memory/block-buffer-pool.js';
import { toHex } from '../crypto/bytes.js';

export const HANDSHAKE_TIMEOUT_MS = 10_000;
export const KEEPALIVE_MS = 30_000;
export const IDLE_TIMEOUT_MS = 90_000;
/** A 16 MiB block over a slow, rate-limited link needs time. */
export const REQUEST_TIMEOUT_MS = 120_000;
/** Block requests this side keeps in flight (more wait for a slot). */
export const MAX_INFLIGHT_REQUESTS = 64;
/**
 * Unanswered block requests a peer may have outstanding with us. Part of the
 * protocol contract: generous (peers may be configured differently), and a
 * queued request costs ~100 bytes; beyond it a request is misbehaviour.
 */
export const MAX_PEER_UNANSWERED_REQUESTS = 256;
export const SERVE_CONCURRENCY = 8;
/**
 * Bytes a session may queue on its socket before a write waits for 'drain'.
 * The stream's own mark (16 KiB) made nearly every frame wait, and a drain
 * completes only in a later turn of the event loop: while the sender scanned
 * (a turn every ~1 ms plus the scan's slice) each served 4 KiB block waited
 * 10-40 ms for it, with SERVE_CONCURRENCY answers in flight. 1 MiB is 8
 * blocks of 128 KiB; a block larger than that still waits for its own drain,
 * so memory stays bounded by SERVE_CONCURRENCY blocks plus this.
 */
export const SEND_BUFFER_MAX_BYTES = 1024 * 1024;
export const MAX_JOIN_MESSAGES = 1024;
export const MAX_REMEMBERED_REFUSALS = 256;
export const MAX_REMEMBERED_EXPIRED_REQUESTS = 1024;
/** Inbound frames queued for the pump beyond this pause the socket. */
export const MAX_INBOUND_QUEUE_BYTES = 32 * 1024 * 1024;
export const CLOSE_GRACE_MS = 2_000;
export const ACCESS_EXPORTER_LABEL = 'EXPORTER-sealsync-access-v1';
export const ACCESS_EXPORTER_BYTES = 32;
export const CLIENT_VERSION = '0.1.0';

/** Misbehaviour costs; MAX_MISBEHAVIOUR points (leaking one a minute) are tolerated. */
export const PENALTY = {
  garbledRecord: 1,
  notJoined: 2,
  tooManyRequests: 2,
  unsolicited: 4,
} as const;

/** What the session needs to know about this device's folders. */
export interface FolderDirectory {
  lookup(folderId: Uint8Array): { readonly accessSecret: Uint8Array } | undefined;
  /** Folders this device shares (the dialler offers each one). */
  folderIds(): Iterable<Uint8Array>;
}

/** The 'index' event: an IndexUpdate whose records all decoded strictly. */
export interface ReceivedIndex extends IndexUpdate {
  /** Raw bytes of every record that decoded (same order as `decoded`). */
  readonly records: readonly Uint8Array[];
  readonly decoded: readonly SealedRecord[];
  /** Records that failed to decode: dropped, and charged to the peer. */
  readonly dropped: number;
}

export type BlockRequestHandler = (folderId: Uint8Array, blockId: Uint8Array) => Promise<Uint8Array | null>;

export interface SessionLimits {
  handshakeTimeoutMs: number;
  keepaliveMs: number;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
  maxInflightRequests: number;
  maxMisbehaviour: number;
  misbehaviourDecayMs: number;
}

export interface PeerSessionOptions {
  localName: string;
  directory: FolderDirectory;
  clientVersion?: string;
  logger?: Logger;
  limits?: Partial<SessionLimits>;
  /** Optional bandwidth limits, bytes per second. */
  rateLimit?: { inBytesPerSec?: number; outBytesPerSec?: number };
  now?: () => number;
}

export interface SessionStats {
  inBytes: number;
  outBytes: number;
  inRate: number;
  outRate: number;
}

type State = 'handshake' | 'held' | 'open' | 'closing' | 'closed';

interface PendingRequest {
  resolve: (data: Uint8Array | null) => void;
  reject: (err: unknown) => void;
}

const NORMAL_CLOSES: ReadonlySet<CloseReasonName> = new Set(['normal', 'shutdown', 'duplicate']);

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export declare interface PeerSession {
  on(event: 'joined', listener: (folderId: Uint8Array) => void): this;
  on(event: 'left', listener: (folderId: Uint8Array) => void): this;
  on(event: 'index', listener: (msg: ReceivedIndex) => void): this;
  on(event: 'indexAck', listener: (msg: IndexAck) => void): this;
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
  private readonly socket: TLSSocket;
  private readonly log: Logger;
  private readonly limits: SessionLimits;
  private readonly now: () => number;
  private readonly decoder = new FrameDecoder(MAX_FRAME_BYTES);
  private readonly inbound: Frame[] = [];
  private inboundBytes = 0;
  private pumping = false;
  private flowPaused = false;
  private ratePaused = false;
  private rateTimer: NodeJS.Timeout | null = null;
  private writeChain: Promise<void> = Promise.resolve();
  /** The socket is corked until the next tick, collecting this turn's frames (see writeFrame). */
  private corkedUntilTick = false;
  private readonly inMeter: RateMeter;
  private readonly outMeter: RateMeter;
  private inBucket: TokenBucket | null;
  private outBucket: TokenBucket | null;
  private readonly budget: MisbehaviourBudget;
  private lastIn: number;
  private lastOut: number;
  private keepaliveTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private graceTimer: NodeJS.Timeout | null = null;
  private handshakeDone!: { resolve: () => void; reject: (e: unknown) => void };
  private readonly handshake: Promise<void>;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  // folders
  private readonly joined = new Map<string, Uint8Array>();
  /** Dialler: Joins sent and not yet answered. */
  private readonly pendingJoins = new Set<string>();
  /** Dialler: folders the peer refused (it may accept later, see refreshFolders). */
  private readonly refusedByPeer = new Set<string>();
  /** Acceptor: refused Joins, kept so a folder added later can be accepted without a new Join. */
  private readonly refusals = new Map<string, Join>();
  private joinMessages = 0;
  /** Folders this side left during the session; the peer may still send for them. */
  private readonly leftFolders = new Set<string>();
  /** Used instead of a real secret for unknown folders, so both refusals cost the same work. */
  private readonly decoySecret = new Uint8Array(randomBytes(32));

  // block requests
  private nextReqId = 1;
  private readonly requests = new Map<number, PendingRequest>();
  private readonly expiredRequests = new Set<number>();
  private readonly requestSlots: Semaphore;
  private blockHandler: BlockRequestHandler | null = null;
  private readonly serveQueue: BlockRequest[] = [];
  private serving = 0;
  /** Peer's block requests accepted and not yet answered (queued or being served). */
  private unanswered = 0;

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

  private constructor(conn: SecureConnection, opts: PeerSessionOptions) {
    super();
    this.socket = conn.socket;
    this.remoteDeviceId = conn.remoteDeviceId;
    this.address = conn.address;
    this.direction = conn.direction;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
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
    this.inMeter = new RateMeter(this.now);
    this.outMeter = new RateMeter(this.now);
    const { inBytesPerSec, outBytesPerSec } = opts.rateLimit ?? {};
    this.inBucket = retuneBucket(null, inBytesPerSec);
    this.outBucket = retuneBucket(null, outBytesPerSec);
    this.budget = new MisbehaviourBudget(this.limits.maxMisbehaviour, this.limits.misbehaviourDecayMs, this.now);
    this.requestSlots = new Semaphore(this.limits.maxInflightRequests);
    this.lastIn = this.lastOut = this.now();
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
    this.handshakeTimer = setTimeout(
      () => void this.shutdown('protocol', new SealsyncError('ERR_TIMEOUT', 'peer did not complete the handshake in time')),
      this.limits.handshakeTimeoutMs,
    );
    this.send({ type: 'hello', protocolVersion: PROTOCOL_VERSION, deviceName: opts.localName, clientVersion: opts.clientVersion ?? CLIENT_VERSION })
      .catch(() => undefined);
  }

  private readonly opts: PeerSessionOptions;

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
    return [...this.joined.values()];
  }

  isJoined(folderId: Uint8Array): boolean {
    return this.joined.has(toHex(folderId));
  }

  get isOpen(): boolean {
    return this.state === 'open' || this.state === 'held';
  }

  /**
   * Re-reads the directory after this device added or removed a folder:
   * leaves folders that are gone, the dialler joins new ones, and the acceptor
   * re-checks Joins it refused earlier.
   */
  refreshFolders(): void {
    if (this.state !== 'open') return;
    for (const [key, folderId] of this.joined) {
      if (!this.opts.directory.lookup(folderId)) {
        this.joined.delete(key);
        this.leftFolders.add(key);
        this.emit('left', folderId);
      }
    }
    if (this.direction === 'outgoing') {
      for (const folderId of this.opts.directory.folderIds()) {
        const key = toHex(folderId);
        if (this.joined.has(key) || this.pendingJoins.has(key) || this.refusedByPeer.has(key)) continue;
        const entry = this.opts.directory.lookup(folderId);
        if (!entry) continue;
        this.pendingJoins.add(key);
        const proof = accessProof(entry.accessSecret, this.exporter(folderId), folderId, 'client');
        this.send({ type: 'join', folderId, proof }).catch(() => undefined);
      }
    } else {
      for (const [key, join] of this.refusals) {
        const entry = this.opts.directory.lookup(join.folderId);
        if (!entry) continue;
        const exporter = this.exporter(join.folderId);
        if (!verifyAccessProof(entry.accessSecret, exporter, join.folderId, 'client', join.proof)) continue;
        this.refusals.delete(key);
        this.acceptJoin(key, join.folderId, accessProof(entry.accessSecret, exporter, join.folderId, 'server'));
      }
    }
  }

  /** Sends an index delta for a joined folder (compressed when that helps). */
  async sendIndex(msg: Omit<IndexUpdate, 'type'>): Promise<void> {
    this.requireJoined(msg.folderId);
    // Compression is async: take the place in the write order now, so two
    // updates sent back to back can never swap on the wire.
    await this.sendFrame(FrameType.indexUpdate, encodeIndexUpdate(msg));
  }

  sendIndexAck(msg: Omit<IndexAck, 'type'>): void {
    this.requireJoined(msg.folderId);
    indexIdToBytes(msg.indexId); // a bad id throws here, to the caller, not into the write chain
    this.send({ type: 'indexAck', ...msg }).catch(() => undefined);
  }

  /**
   * Asks the peer for a sealed block. Pipelined: up to maxInflightRequests in
   * flight, further calls wait for a slot. Resolves null when the peer says it
   * does not have the block. The caller verifies the data against the id.
   */
  async requestBlock(
    folderId: Uint8Array,
    blockId: Uint8Array,
    opts: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<Uint8Array | null> {
    this.requireJoined(folderId);
    if (blockId.byteLength !== BLOCK_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `'blockId' must be ${BLOCK_ID_BYTES} bytes`);
    await this.requestSlots.acquire(opts);
    try {
      if (!this.isOpen) throw this.closedError();
      if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
      const reqId = this.allocateReqId();
      const answer = new Promise<Uint8Array | null>((resolve, reject) => {
        const timer = setTimeout(() => expire(new SealsyncError('ERR_TIMEOUT', 'block request timed out')), opts.timeoutMs ?? this.limits.requestTimeoutMs);
        const onAbort = () => expire(new SealsyncError('ERR_ABORTED'));
        const done = () => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          this.requests.delete(reqId);
        };
        const expire = (err: SealsyncError) => {
          done();
          this.rememberExpired(reqId);
          reject(err);
        };
        opts.signal?.addEventListener('abort', onAbort, { once: true });
        this.requests.set(reqId, {
          resolve: (data) => {
            done();
            resolve(data);
          },
          reject: (err) => {
            done();
            reject(err);
          },
        });
      });
      this.send({ type: 'blockRequest', reqId, folderId, blockId }).catch((err) => this.requests.get(reqId)?.reject(err));
      return await answer;
    } finally {
      this.requestSlots.release();
    }
  }

  /** Serves the peer's block requests (only ever called for joined folders). null = missing. */
  onBlockRequest(handler: BlockRequestHandler): void {
    this.blockHandler = handler;
  }

  /**
   * New bandwidth limits for this running session (absent or 0 = unlimited):
   * writes waiting for tokens and a paused inbound side re-check at once.
   */
  setRateLimit(limit: { inBytesPerSec?: number; outBytesPerSec?: number }): void {
    if (this.state === 'closed') return;
    this.inBucket = retuneBucket(this.inBucket, limit.inBytesPerSec);
    this.outBucket = retuneBucket(this.outBucket, limit.outBytesPerSec);
    if (this.rateTimer) {
      clearTimeout(this.rateTimer);
      this.rateTimer = null;
      this.ratePaused = false;
      this.maybeResume();
    }
  }

  stats(): SessionStats {
    return { inBytes: this.inMeter.bytes, outBytes: this.outMeter.bytes, inRate: this.inMeter.rate(), outRate: this.outMeter.rate() };
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

  private onData(chunk: Buffer): void {
    if (this.state === 'closing' || this.state === 'closed') return;
    this.lastIn = this.now();
    this.inMeter.add(chunk.length);
    if (this.inBucket) {
      this.inBucket.consume(chunk.length);
      const wait = this.inBucket.delayMs();
      if (wait > 0 && !this.ratePaused) {
        this.ratePaused = true;
        this.socket.pause();
        this.rateTimer = setTimeout(() => {
          this.rateTimer = null;
          this.ratePaused = false;
          this.maybeResume();
        }, wait);
      }
    }
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      void this.shutdown('protocol', err as SealsyncError);
      return;
    }
    for (const f of frames) {
      this.inbound.push(f);
      this.inboundBytes += f.payload.length;
    }
    if (this.inboundBytes > MAX_INBOUND_QUEUE_BYTES && !this.flowPaused) {
      this.flowPaused = true;
      this.socket.pause();
    }
    void this.pump();
  }

  private maybeResume(): void {
    if (this.flowPaused && this.inboundBytes <= MAX_INBOUND_QUEUE_BYTES / 2) this.flowPaused = false;
    if (!this.flowPaused && !this.ratePaused && this.isOpenish()) this.socket.resume();
  }

  private isOpenish(): boolean {
    return this.state === 'handshake' || this.state === 'held' || this.state === 'open';
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inbound.length > 0 && (this.state === 'handshake' || this.state === 'open')) {
        const frame = this.inbound.shift() as Frame;
        this.inboundBytes -= frame.payload.length;
        await this.handleFrame(frame);
        this.maybeResume();
      }
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
    switch (msg.type) {
      case 'hello':
        throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: second Hello');
      case 'join':
        return this.onJoin(msg);
      case 'joinResult':
        return this.onJoinResult(msg);
      case 'indexUpdate':
        return this.onIndex(msg);
      case 'indexAck':
        if (!this.isJoined(msg.folderId)) return this.notJoined(msg.folderId, 'index ack for a folder not joined');
        this.emit('indexAck', msg);
        return;
      case 'blockRequest':
        return this.onBlockRequestMessage(msg);
      case 'blockResponse':
        return this.onBlockResponse(msg);
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

  private onRemoteClose(reason: CloseReasonName): void {
    this.remoteCloseReason = reason;
    const err = NORMAL_CLOSES.has(reason) ? undefined : new SealsyncError('ERR_CONNECTION_CLOSED', `peer closed the connection: ${reason}`, { reason });
    void this.shutdown(null, err);
  }

  private exporter(folderId: Uint8Array): Uint8Array {
    return new Uint8Array(this.socket.exportKeyingMaterial(ACCESS_EXPORTER_BYTES, ACCESS_EXPORTER_LABEL, Buffer.from(folderId)));
  }

  private onJoin(msg: Join): void {
    if (this.direction !== 'incoming') throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: Join sent by the acceptor');
    if (++this.joinMessages > MAX_JOIN_MESSAGES) {
      this.penalize('too many Join messages', this.limits.maxMisbehaviour + 1);
      return;
    }
    const key = toHex(msg.folderId);
    // A repeated Join is legal (the dialler left the folder and added it again).
    const entry = this.opts.directory.lookup(msg.folderId);
    // Same work and same answer for "unknown folder" and "wrong proof".
    const secret = entry?.accessSecret ?? this.decoySecret;
    const exporter = this.exporter(msg.folderId);
    const valid = verifyAccessProof(secret, exporter, msg.folderId, 'client', msg.proof);
    const serverProof = accessProof(secret, exporter, msg.folderId, 'server');
    if (entry && valid) {
      this.refusals.delete(key);
      this.acceptJoin(key, msg.folderId, serverProof);
      return;
    }
    if (!this.refusals.has(key) && this.refusals.size >= MAX_REMEMBERED_REFUSALS) {
      const oldest = this.refusals.keys().next().value;
      if (oldest !== undefined) this.refusals.delete(oldest);
    }
    this.refusals.set(key, msg);
    this.send({ type: 'joinResult', folderId: msg.folderId, ok: false }).catch(() => undefined);
  }

  private acceptJoin(key: string, folderId: Uint8Array, serverProof: Uint8Array): void {
    // Send before emitting, so anything a listener sends follows the JoinResult.
    this.send({ type: 'joinResult', folderId, ok: true, proof: serverProof }).catch(() => undefined);
    if (this.joined.has(key)) return;
    this.joined.set(key, folderId);
    this.leftFolders.delete(key);
    this.log.debug({ folder: key.slice(0, 16) }, 'folder joined');
    this.emit('joined', folderId);
  }

  private onJoinResult(msg: JoinResult): void {
    if (this.direction !== 'outgoing') throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: JoinResult sent by the dialler');
    const key = toHex(msg.folderId);
    const asked = this.pendingJoins.has(key) || this.refusedByPeer.has(key);
    if (!asked || this.joined.has(key)) return this.penalize('unsolicited JoinResult', PENALTY.unsolicited);
    this.pendingJoins.delete(key);
    if (!msg.ok) {
      this.refusedByPeer.add(key);
      return;
    }
    const entry = this.opts.directory.lookup(msg.folderId);
    if (!entry) return; // we removed the folder meanwhile
    const exporter = this.exporter(msg.folderId);
    if (!msg.proof || !verifyAccessProof(entry.accessSecret, exporter, msg.folderId, 'server', msg.proof)) {
      throw new SealsyncError('ERR_ACCESS_PROOF', 'peer accepted a folder but could not prove it knows the folder key');
    }
    this.refusedByPeer.delete(key);
    this.joined.set(key, msg.folderId);
    this.leftFolders.delete(key);
    this.log.debug({ folder: key.slice(0, 16) }, 'folder joined');
    this.emit('joined', msg.folderId);
  }

  private onIndex(msg: IndexUpdate): void {
    if (!this.isJoined(msg.folderId)) return this.notJoined(msg.folderId, 'index for a folder not joined');
    const records: Uint8Array[] = [];
    const decoded: SealedRecord[] = [];
    let dropped = 0;
    for (const bytes of msg.records) {
      try {
        decoded.push(decodeSealedRecord(bytes));
        records.push(bytes);
      } catch {
        dropped++;
      }
    }
    if (dropped > 0) {
      this.penalize('garbled sealed record', dropped * PENALTY.garbledRecord);
      if (this.state !== 'open') return;
    }
    const received: ReceivedIndex = { ...msg, records, decoded, dropped };
    this.emit('index', received);
  }

  /**
   * A message for a folder that is not joined: misbehaviour, unless we left
   * that folder during this session (the peer cannot know yet).
   */
  private notJoined(folderId: Uint8Array, reason: string): void {
    if (!this.leftFolders.has(toHex(folderId))) this.penalize(reason, PENALTY.notJoined);
  }

  private onBlockRequestMessage(msg: BlockRequest): void {
    if (!this.isJoined(msg.folderId)) {
      this.notJoined(msg.folderId, 'block request for a folder not joined');
      this.respondBlock(msg.reqId, null);
      return;
    }
    if (this.unanswered >= MAX_PEER_UNANSWERED_REQUESTS) {
      this.penalize('too many block requests in flight', PENALTY.tooManyRequests);
      this.respondBlock(msg.reqId, null);
      return;
    }
    this.unanswered++;
    this.serveQueue.push(msg);
    this.serveNext();
  }

  private serveNext(): void {
    while (this.serving < SERVE_CONCURRENCY && this.serveQueue.length > 0 && this.state === 'open') {
      const req = this.serveQueue.shift() as BlockRequest;
      this.serving++;
      void this.serveOne(req).finally(() => {
        this.serving--;
        this.serveNext();
      });
    }
  }

  private async serveOne(req: BlockRequest): Promise<void> {
    let data: Uint8Array | null = null;
    try {
      data = this.blockHandler ? await this.blockHandler(req.folderId, req.blockId) : null;
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'block handler failed; answering missing');
    }
    if (data && data.length > MAX_SEALED_BLOCK_BYTES) {
      this.log.error({ size: data.length }, 'block larger than the protocol allows; answering missing');
      data = null;
    }
    // Answered as soon as the response is queued: from then on the peer can
    // receive it and send its next request, so it must not count against it.
    this.unanswered = Math.max(0, this.unanswered - 1);
    // Waiting for the write (and drain) keeps at most SERVE_CONCURRENCY blocks in memory.
    await this.respondBlock(req.reqId, data);
  }

  private respondBlock(reqId: number, data: Uint8Array | null): Promise<void> {
    if (!data) return this.send({ type: 'blockResponse', reqId, status: 'missing', data: new Uint8Array(0) }).catch(() => undefined);
    // The same bytes encodeBlockResponse makes (u32 reqId, u8 status 0, data), but the
    // block is written after the 5-byte head instead of copied behind it: one block-sized
    // allocation and copy less per served block.
    const head = Buffer.allocUnsafe(5);
    head.writeUInt32BE(reqId, 0);
    head[4] = 0;
    // The handler's block ends here: once the socket has taken it (TLS has encrypted it), a
    // pooled buffer goes back to the pool (fs/block-buffer-pool.ts; other buffers are ignored).
    return this.sendFrame(FrameType.blockResponse, head, data, () => releaseBlockBuffer(data)).catch(() => undefined);
  }

  private onBlockResponse(msg: BlockResponse): void {
    const pending = this.requests.get(msg.reqId);
    if (!pending) {
      // A late answer to a request we gave up on is fine; an answer to nothing is not.
      if (!this.expiredRequests.has(msg.reqId)) this.penalize('unsolicited block response', PENALTY.unsolicited);
      return;
    }
    pending.resolve(msg.status === 'ok' ? msg.data : null);
  }

  private allocateReqId(): number {
    for (;;) {
      const id = this.nextReqId;
      this.nextReqId = id >= 0xffffffff ? 1 : id + 1;
      if (!this.requests.has(id)) {
        this.expiredRequests.delete(id);
        return id;
      }
    }
  }

  private rememberExpired(reqId: number): void {
    this.expiredRequests.add(reqId);
    if (this.expiredRequests.size > MAX_REMEMBERED_EXPIRED_REQUESTS) {
      const oldest = this.expiredRequests.values().next().value;
      if (oldest !== undefined) this.expiredRequests.delete(oldest);
    }
  }

  private requireJoined(folderId: Uint8Array): void {
    if (!this.isOpen) throw this.closedError();
    if (!this.isJoined(folderId)) throw new SealsyncError('ERR_FOLDER_UNKNOWN', 'folder is not joined on this connection');
  }

  private closedError(): SealsyncError {
    return new SealsyncError('ERR_CONNECTION_CLOSED', undefined, this.closeError ? { cause: this.closeError.code } : undefined);
  }

  private keepalive(): void {
    if (this.state !== 'open') return;
    const t = this.now();
    if (t - this.lastIn >= this.limits.idleTimeoutMs) {
      void this.shutdown('idleTimeout', new SealsyncError('ERR_TIMEOUT', 'peer sent nothing within the idle timeout'));
      return;
    }
    if (t - this.lastOut >= this.limits.keepaliveMs) this.send({ type: 'ping' }).catch(() => undefined);
  }

  // -------------------------------------------------------------------------
  // outbound

  private send(msg: Exclude<Message, IndexUpdate>): Promise<void> {
    let frame: { type: number; payload: Buffer };
    try {
      frame = encodeMessageSync(msg);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.sendFrame(frame.type, frame.payload);
  }

  /**
   * `tail`, when given, is written right after `payload` as part of the same frame (no
   * copy); `onTailWritten` runs once the socket has consumed it (not if it never was).
   */
  private sendFrame(type: number, payload: Uint8Array | Promise<Uint8Array>, tail?: Uint8Array, onTailWritten?: () => void): Promise<void> {
    // An encoding failure must reject this send only, not poison the chain.
    if (payload instanceof Promise) payload.catch(() => undefined);
    const p = this.writeChain.then(async () => this.writeFrame(type, await payload, tail, onTailWritten));
    this.writeChain = p.catch(() => undefined);
    return p;
  }

  private async writeFrame(type: number, payload: Uint8Array, tail?: Uint8Array, onTailWritten?: () => void): Promise<void> {
    if (!this.isOpenish() || this.socket.destroyed) throw this.closedError();
    const tailLength = tail?.length ?? 0;
    const length = 1 + payload.length + tailLength;
    if (length > MAX_FRAME_BYTES) throw new SealsyncError('ERR_FRAME_TOO_LARGE');
    if (this.outBucket) await this.outBucket.take(FRAME_HEADER_BYTES + length);
    if (!this.isOpenish() || this.socket.destroyed) throw this.closedError();
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1);
    header.writeUInt32BE(length, 0);
    header[FRAME_HEADER_BYTES] = type;
    // Every frame written in this turn of the event loop goes out in one corked batch: one TLS
    // write and one syscall for a burst of block requests instead of one each (measured: the
    // receiver of a 256 MiB transfer spent ~0.4 s of CPU in per-request socket writes).
    if (!this.corkedUntilTick) {
      this.corkedUntilTick = true;
      this.socket.cork();
      process.nextTick(() => {
        this.corkedUntilTick = false;
        this.socket.uncork();
      });
    }
    this.socket.write(header);
    let flushed = payload.length === 0 ? true : this.socket.write(payload);
    if (tail && tailLength > 0) {
      // The callback runs after the stream handed the bytes to TLS (which encrypts them
      // into its own buffers at once), or with an error if the socket died first; either
      // way nothing reads `tail` afterwards.
      flushed = onTailWritten ? this.socket.write(tail, () => onTailWritten()) : this.socket.write(tail);
    }
    this.outMeter.add(FRAME_HEADER_BYTES + length);
    this.lastOut = this.now();
    // Backpressure: wait for the socket to drain only once SEND_BUFFER_MAX_BYTES are queued
    // (see there), not at the stream's 16 KiB high-water mark.
    if (!flushed && this.socket.writableLength > SEND_BUFFER_MAX_BYTES) await this.waitDrain();
  }

  private waitDrain(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onDrain = () => {
        this.socket.removeListener('close', onClose);
        resolve();
      };
      const onClose = () => {
        this.socket.removeListener('drain', onDrain);
        reject(this.closedError());
      };
      this.socket.once('drain', onDrain);
      this.socket.once('close', onClose);
    });
  }

  // -------------------------------------------------------------------------
  // closing

  private clearTimer(name: 'handshakeTimer' | 'keepaliveTimer' | 'graceTimer' | 'rateTimer'): void {
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
      if (reason !== null && this.socket.writable) {
        // Written directly, between whole frames: the write chain may be stuck on drain.
        const { type, payload } = encodeMessageSync({ type: 'close', reason });
        const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES + 1);
        header.writeUInt32BE(1 + payload.length, 0);
        header[FRAME_HEADER_BYTES] = type;
        this.socket.write(Buffer.concat([header, payload]));
      }
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
    this.clearTimer('rateTimer');
    const err = this.closedError();
    this.handshakeDone.reject(this.closeError ?? err);
    for (const p of [...this.requests.values()]) p.reject(err);
    this.requests.clear();
    this.requestSlots.destroy(err);
    this.inBucket?.destroy();
    this.outBucket?.destroy();
    this.inbound.length = 0;
    this.inboundBytes = 0;
    this.serveQueue.length = 0;
    this.unanswered = 0;
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
    const err = this.closeError;
    this.resolveClosed();
    this.emit('closed', err);
  }
}

/** Burst of a rate-limited session: a second's worth, at least 64 KiB. */
const MIN_RATE_BURST_BYTES = 64 * 1024;

/** The bucket for a (new) rate: created, retuned in place (waiters keep their bucket), or unlimited. */
function retuneBucket(bucket: TokenBucket | null, bytesPerSec: number | undefined): TokenBucket | null {
  if (!bytesPerSec || bytesPerSec <= 0) {
    // Anyone sleeping on the old bucket wakes and passes; no new take reaches it.
    bucket?.setRate(null);
    return null;
  }
  const burst = Math.max(bytesPerSec, MIN_RATE_BURST_BYTES);
  if (!bucket) return new TokenBucket(bytesPerSec, burst);
  bucket.setRate(bytesPerSec, burst);
  return bucket;
}

