/**
 * Block requests over one session, both ways.
 *
 * Asking: up to maxInflightRequests requests in flight (more wait for a
 * slot), each with a timeout; an answer to a request we gave up on is fine,
 * an answer to nothing costs budget.
 *
 * Serving: the peer's requests for joined folders are queued (at most
 * MAX_PEER_UNANSWERED_REQUESTS unanswered; beyond is misbehaviour) and served
 * SERVE_CONCURRENCY at a time, each answer written (and drained) before the
 * slot is free, so a slow disk read never stalls index exchange and at most
 * SERVE_CONCURRENCY blocks are in memory.
 */
import { SealsyncError } from '../errors.js';
import type { Logger } from '../logger.js';
import { releaseBlockBuffer } from '../memory/block-buffer-pool.js';
import { BLOCK_ID_BYTES, MAX_SEALED_BLOCK_BYTES } from '../crypto/sealed-block.js';
import { MAX_PEER_UNANSWERED_REQUESTS, MAX_REMEMBERED_EXPIRED_REQUESTS, PENALTY, SERVE_CONCURRENCY } from './limits.js';
import { FrameType, type BlockForm, type BlockRequest, type BlockResponse, type IndexUpdate, type Message } from './messages.js';
import { Semaphore } from './semaphore.js';
import type { BlockRequestHandler } from './session-types.js';

/** What the block exchange needs from its session. */
export interface BlockHost {
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  /** Requests may be sent and answers read. */
  isOpen(): boolean;
  /** Started (not held, not closing): requests of the peer may be served. */
  isServing(): boolean;
  closedError(): SealsyncError;
  isJoined(folderId: Uint8Array): boolean;
  /** The peer proved it holds R for this folder (folder-joins.ts): it may ask for plaintext. */
  peerReads(folderId: Uint8Array): boolean;
  /** A message for a folder not joined (free when we left it during the session). */
  notJoined(folderId: Uint8Array, reason: string): void;
  penalize(reason: string, cost: number): void;
  send(msg: Exclude<Message, IndexUpdate>): Promise<void>;
  sendFrame(type: number, payload: Uint8Array, tail?: Uint8Array, onTailWritten?: () => void): Promise<void>;
}

interface PendingRequest {
  resolve: (data: Uint8Array | null) => void;
  reject: (err: unknown) => void;
}

export class BlockExchange {
  private nextReqId = 1;
  private readonly requests = new Map<number, PendingRequest>();
  private readonly expiredRequests = new Set<number>();
  private readonly slots: Semaphore;
  private handler: BlockRequestHandler | null = null;
  private readonly serveQueue: BlockRequest[] = [];
  private serving = 0;
  /** Peer's block requests accepted and not yet answered (queued or being served). */
  private unanswered = 0;

  constructor(private readonly host: BlockHost, maxInflightRequests: number) {
    this.slots = new Semaphore(maxInflightRequests);
  }

  /** True while an answer of ours may still come in (a block-sized frame is legitimate). */
  get awaitsAnswers(): boolean {
    return this.requests.size > 0 || this.expiredRequests.size > 0;
  }

  setHandler(handler: BlockRequestHandler): void {
    this.handler = handler;
  }

  /** Asks for a block (folder joined: the caller checked). Resolves null when the peer does not have it. */
  async request(
    folderId: Uint8Array,
    blockId: Uint8Array,
    opts: { signal?: AbortSignal; timeoutMs?: number; form?: BlockForm } = {},
  ): Promise<Uint8Array | null> {
    if (blockId.byteLength !== BLOCK_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `'blockId' must be ${BLOCK_ID_BYTES} bytes`);
    await this.slots.acquire(opts);
    try {
      if (!this.host.isOpen()) throw this.host.closedError();
      if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
      const reqId = this.allocateReqId();
      const answer = new Promise<Uint8Array | null>((resolve, reject) => {
        const timer = setTimeout(() => expire(new SealsyncError('ERR_TIMEOUT', 'block request timed out')), opts.timeoutMs ?? this.host.requestTimeoutMs);
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
      this.host.send({ type: 'blockRequest', reqId, folderId, blockId, form: opts.form ?? 'sealed' }).catch((err) => this.requests.get(reqId)?.reject(err));
      return await answer;
    } finally {
      this.slots.release();
    }
  }

  onRequest(msg: BlockRequest): void {
    if (!this.host.isJoined(msg.folderId)) {
      this.host.notJoined(msg.folderId, 'block request for a folder not joined');
      void this.respond(msg.reqId, null);
      return;
    }
    if (msg.form === 'plain' && !this.host.peerReads(msg.folderId)) {
      // Plaintext only goes to a peer that proved R; anyone else asking for it is probing.
      this.host.penalize('plaintext block asked without a read proof', PENALTY.notJoined);
      void this.respond(msg.reqId, null);
      return;
    }
    if (this.unanswered >= MAX_PEER_UNANSWERED_REQUESTS) {
      this.host.penalize('too many block requests in flight', PENALTY.tooManyRequests);
      void this.respond(msg.reqId, null);
      return;
    }
    this.unanswered++;
    this.serveQueue.push(msg);
    this.serveNext();
  }

  onResponse(msg: BlockResponse): void {
    const pending = this.requests.get(msg.reqId);
    if (!pending) {
      // A late answer to a request we gave up on is fine; an answer to nothing is not.
      if (!this.expiredRequests.has(msg.reqId)) this.host.penalize('unsolicited block response', PENALTY.unsolicited);
      return;
    }
    pending.resolve(msg.status === 'ok' ? msg.data : null);
  }

  /** Closing: every pending request and slot waiter is rejected, the serve queue dropped. */
  stop(err: SealsyncError): void {
    for (const p of [...this.requests.values()]) p.reject(err);
    this.requests.clear();
    this.slots.destroy(err);
    this.serveQueue.length = 0;
    this.unanswered = 0;
  }

  private serveNext(): void {
    while (this.serving < SERVE_CONCURRENCY && this.serveQueue.length > 0 && this.host.isServing()) {
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
      data = this.handler ? await this.handler(req.folderId, req.blockId, req.form) : null;
    } catch (err) {
      this.host.log.warn({ err: (err as Error).message }, 'block handler failed; answering missing');
    }
    if (data && data.length > MAX_SEALED_BLOCK_BYTES) {
      this.host.log.error({ size: data.length }, 'block larger than the protocol allows; answering missing');
      data = null;
    }
    // Answered as soon as the response is queued: from then on the peer can
    // receive it and send its next request, so it must not count against it.
    this.unanswered = Math.max(0, this.unanswered - 1);
    // Waiting for the write (and drain) keeps at most SERVE_CONCURRENCY blocks in memory.
    await this.respond(req.reqId, data);
  }

  private respond(reqId: number, data: Uint8Array | null): Promise<void> {
    if (!data) return this.host.send({ type: 'blockResponse', reqId, status: 'missing', data: new Uint8Array(0) }).catch(() => undefined);
    // The same bytes encodeBlockResponse makes (u32 reqId, u8 status 0, data), but the
    // block is written after the 5-byte head instead of copied behind it: one block-sized
    // allocation and copy less per served block.
    const head = Buffer.allocUnsafe(5);
    head.writeUInt32BE(reqId, 0);
    head[4] = 0;
    // The handler's block ends here: once the socket has taken it (TLS has encrypted it), a
    // pooled buffer goes back to the pool (memory/block-buffer-pool.ts; other buffers are ignored).
    return this.host.sendFrame(FrameType.blockResponse, head, data, () => releaseBlockBuffer(data)).catch(() => undefined);
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
}
