/**
 * The inbound half of a session: bytes from the socket, frames out, and when
 * to stop reading.
 *
 * How this works
 * --------------
 * Bytes are buffered in a FrameDecoder and cut into frames only when the
 * session's pump asks for the next one, so the size limit applied to a frame
 * is the one in force after every frame before it was handled (a Join that
 * was just accepted lifts the pre-join limit for what follows, never for what
 * came with it). The session passes that limit as a function of the frame
 * type (`frameLimit`).
 *
 * Reading stops (the socket is paused, so TCP pushes back on the sender) while
 *  - the buffer holds more than the largest frame allowed now plus
 *    INBOUND_SLACK_BYTES (the pump is behind), until it drains to half;
 *  - MAX_QUEUED_INDEX_UPDATES index updates are held by the engine (the pump
 *    waits in whenIndexRoom(), so the buffer fills and the first rule applies);
 *  - the inbound token bucket is in debt (a rate limit).
 * Memory per session is therefore the buffer bound plus the held updates,
 * whatever the peer sends.
 */
import type { TLSSocket } from 'node:tls';
import { FrameDecoder, type Frame } from './frame-codec.js';
import { INBOUND_SLACK_BYTES, MAX_QUEUED_INDEX_UPDATES } from './limits.js';
import { RateMeter } from './rate-meter.js';
import { retuneBucket, type TokenBucket } from './token-bucket.js';

export class InboundFlow {
  readonly meter: RateMeter;
  /** When the last byte arrived (idle timeout). */
  lastIn: number;
  private decoder: FrameDecoder;
  private bucket: TokenBucket | null;
  private flowPaused = false;
  private ratePaused = false;
  private rateTimer: NodeJS.Timeout | null = null;
  private heldIndex = 0;
  private indexWaiters: (() => void)[] = [];
  private stopped = false;

  constructor(
    private readonly socket: TLSSocket,
    /** Largest frame accepted now, by type (undefined: of any type). */
    private readonly frameLimit: (type: number | undefined) => number,
    private readonly now: () => number,
    bytesPerSec: number | undefined,
  ) {
    this.meter = new RateMeter(now);
    this.lastIn = now();
    this.bucket = retuneBucket(null, bytesPerSec);
    this.decoder = new FrameDecoder(frameLimit);
  }

  /** Bytes read and not yet handed out as frames. */
  get bufferedBytes(): number {
    return this.decoder.pendingBytes;
  }

  /**
   * True while this side holds the peer back (buffer full, engine busy, rate
   * limit): silence from the peer then is ours, not a dead connection.
   */
  get holdingBack(): boolean {
    return this.flowPaused || this.ratePaused || this.heldIndex >= MAX_QUEUED_INDEX_UPDATES;
  }

  /** Index updates held by the engine right now. */
  get heldIndexUpdates(): number {
    return this.heldIndex;
  }

  /** A chunk from the socket: counted, rate-limited, buffered; reading pauses past the bound. */
  onData(chunk: Buffer): void {
    if (this.stopped) return;
    this.lastIn = this.now();
    this.meter.add(chunk.length);
    if (this.bucket) {
      this.bucket.consume(chunk.length);
      const wait = this.bucket.delayMs();
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
    this.decoder.append(chunk);
    if (!this.flowPaused && this.decoder.pendingBytes > this.readAheadBytes()) {
      this.flowPaused = true;
      this.socket.pause();
    }
  }

  /** The next whole frame, or null. Throws ERR_FRAME_TOO_LARGE / ERR_PROTOCOL (close the connection). */
  next(): Frame | null {
    return this.decoder.next();
  }

  /** Call after handling frames: reading resumes once the buffer drained to half its bound. */
  maybeResume(): void {
    if (this.stopped) return;
    if (this.flowPaused && this.decoder.pendingBytes <= this.readAheadBytes() / 2) this.flowPaused = false;
    if (!this.flowPaused && !this.ratePaused) this.socket.resume();
  }

  /** Counts an index update as held by the engine; the returned function (idempotent) releases it. */
  holdIndex(): () => void {
    this.heldIndex++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.heldIndex--;
      if (this.heldIndex < MAX_QUEUED_INDEX_UPDATES) this.wakeIndexWaiters();
    };
  }

  /** Resolves once fewer than MAX_QUEUED_INDEX_UPDATES updates are held (or the flow stopped). */
  whenIndexRoom(): Promise<void> {
    if (this.heldIndex < MAX_QUEUED_INDEX_UPDATES || this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => this.indexWaiters.push(resolve));
  }

  /** New inbound limit; a pause for the old one ends at once. */
  setRate(bytesPerSec: number | undefined): void {
    this.bucket = retuneBucket(this.bucket, bytesPerSec);
    if (this.rateTimer) {
      clearTimeout(this.rateTimer);
      this.rateTimer = null;
      this.ratePaused = false;
      this.maybeResume();
    }
  }

  /** Closing: no timer, no waiter, no buffered byte left; the socket keeps reading (and discarding) to see the FIN. */
  stop(): void {
    this.stopped = true;
    if (this.rateTimer) clearTimeout(this.rateTimer);
    this.rateTimer = null;
    this.bucket?.destroy();
    this.wakeIndexWaiters();
    // Drops what was buffered (a fresh decoder holds nothing; onData ignores bytes from now on).
    this.decoder = new FrameDecoder(0);
  }

  private readAheadBytes(): number {
    return this.frameLimit(undefined) + INBOUND_SLACK_BYTES;
  }

  private wakeIndexWaiters(): void {
    const waiters = this.indexWaiters;
    this.indexWaiters = [];
    for (const w of waiters) w();
  }
}
