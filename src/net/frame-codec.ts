/**
 * Framing: every message travels as `[u32 BE length][u8 type][payload]`, where
 * length counts the type byte and the payload. The decoder is streaming: feed
 * it whatever TCP delivers (any split, many frames in one chunk) and it hands
 * back whole frames, one at a time (next()), so the limit in force for a frame
 * is the one its reader sets after handling the frames before it. A length
 * prefix above the limit is refused as soon as its header arrives (the four
 * length bytes when no type may be that large, else with the type byte),
 * before a single payload byte is buffered, and
 * memory grows only with bytes actually received (no allocation up front from
 * a claimed length). A frame that arrives in one chunk is a view of it; one
 * spread over several chunks is copied into a buffer from the block-buffer
 * pool (fs/block-buffer-pool.ts), which a consumer done with it may give back.
 */
import { SealsyncError } from '../errors.js';
import { MAX_SEALED_BLOCK_BYTES } from '../crypto/sealed-block.js';
import { acquireBlockBuffer } from '../memory/block-buffer-pool.js';

/** Largest frame (type byte + payload) either side may send: a sealed block and its message header. */
export const MAX_FRAME_BYTES = MAX_SEALED_BLOCK_BYTES + 64 * 1024;
export const FRAME_HEADER_BYTES = 4;

export interface Frame {
  readonly type: number;
  readonly payload: Buffer;
}

/** Encodes one frame. The payload is copied once, into a single buffer. */
export function encodeFrame(type: number, payload: Uint8Array): Buffer {
  const length = 1 + payload.length;
  if (length > MAX_FRAME_BYTES) {
    throw new SealsyncError('ERR_FRAME_TOO_LARGE', undefined, { length, max: MAX_FRAME_BYTES });
  }
  if (!Number.isInteger(type) || type < 0 || type > 0xff) throw new SealsyncError('ERR_INVALID_ARGUMENT', `frame type out of range: ${type}`);
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  out.writeUInt32BE(length, 0);
  out[FRAME_HEADER_BYTES] = type;
  out.set(payload, FRAME_HEADER_BYTES + 1);
  return out;
}

/**
 * The largest frame accepted: a number, or a function of the frame's type byte
 * (`undefined` while only the length has arrived: answer the largest any type
 * may have). Consulted for every frame, when its header arrives, so a session
 * can tighten or widen it between frames.
 */
export type FrameLimit = number | ((type: number | undefined) => number);

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being collected, once its header has arrived. */
  private expected = -1;
  private failed: SealsyncError | null = null;

  constructor(private readonly limit: FrameLimit = MAX_FRAME_BYTES) {}

  /** Bytes held that do not yet form a frame handed out. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /** Buffers a chunk; frames come out of next(). Nothing is parsed here. */
  append(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failed) return;
    this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.buffered += chunk.length;
  }

  /**
   * The next whole frame, or null until more bytes arrive. Throws
   * ERR_FRAME_TOO_LARGE (a length past the limit, as soon as the header shows
   * it) or ERR_PROTOCOL; after a throw the decoder is unusable (the stream is
   * out of sync) and throws the same error again, and the caller closes the
   * connection.
   */
  next(): Frame | null {
    if (this.failed) throw this.failed;
    try {
      return this.nextFrame();
    } catch (err) {
      this.failed = err as SealsyncError;
      this.chunks = [];
      this.buffered = 0;
      throw err;
    }
  }

  /** append() and every frame it completes (the eager form, for simple readers). */
  push(chunk: Uint8Array): Frame[] {
    this.append(chunk);
    const frames: Frame[] = [];
    for (let f = this.next(); f; f = this.next()) frames.push(f);
    return frames;
  }

  private nextFrame(): Frame | null {
    if (this.expected < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return null;
      const length = this.peekLength();
      if (length === 0) throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: empty frame');
      // Refused from the four length bytes alone when no type may be that large.
      this.checkLength(length, undefined);
      if (this.buffered < FRAME_HEADER_BYTES + 1) return null;
      this.checkLength(length, this.peekType());
      this.take(FRAME_HEADER_BYTES);
      this.expected = length;
    }
    if (this.buffered < this.expected) return null;
    const body = this.take(this.expected);
    this.expected = -1;
    return { type: body[0] as number, payload: body.subarray(1) };
  }

  private checkLength(length: number, type: number | undefined): void {
    const max = Math.min(MAX_FRAME_BYTES, typeof this.limit === 'number' ? this.limit : this.limit(type));
    if (length > max) throw new SealsyncError('ERR_FRAME_TOO_LARGE', undefined, { length, max, ...(type !== undefined ? { type } : {}) });
  }

  /** The u32 length at the front (the header may span chunks). */
  private peekLength(): number {
    const first = this.chunks[0] as Buffer;
    if (first.length >= FRAME_HEADER_BYTES) return first.readUInt32BE(0);
    return Buffer.concat(this.chunks, FRAME_HEADER_BYTES).readUInt32BE(0);
  }

  /** The type byte after the length (buffered >= 5). */
  private peekType(): number {
    let at = FRAME_HEADER_BYTES;
    for (const c of this.chunks) {
      if (at < c.length) return c[at] as number;
      at -= c.length;
    }
    throw new SealsyncError('ERR_INTERNAL', 'frame type byte missing');
  }

  /** Removes and returns exactly n bytes from the front (n <= buffered). */
  private take(n: number): Buffer {
    const first = this.chunks[0] as Buffer;
    if (first.length >= n) {
      // No copy: the message decoder copies every field it keeps.
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    // A frame spread over several chunks (every block response: TLS hands over at most
    // 16 KiB at a time) is assembled in a pooled buffer; see block-buffer-pool.ts for why,
    // and for who gives it back (a consumer done with a block, or nobody: then it is GC'd).
    const out = acquireBlockBuffer(n);
    let filled = 0;
    while (filled < n) {
      const head = this.chunks[0] as Buffer;
      const use = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, use);
      filled += use;
      if (use === head.length) this.chunks.shift();
      else this.chunks[0] = head.subarray(use);
    }
    this.buffered -= n;
    return out;
  }
}
