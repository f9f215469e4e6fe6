/**
 * Framing: every message travels as `[u32 BE length][u8 type][payload]`, where
 * length counts the type byte and the payload. The decoder is streaming: feed
 * it whatever TCP delivers (any split, many frames in one chunk) and it hands
 * back whole frames. A length prefix above MAX_FRAME_BYTES is refused as soon
 * as its four bytes arrive, before a single payload byte is buffered, and
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

export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Length of the frame being collected, once its header has arrived. */
  private expected = -1;

  constructor(private readonly maxFrameBytes: number = MAX_FRAME_BYTES) {}

  /** Bytes held that do not yet form a whole frame. */
  get pendingBytes(): number {
    return this.buffered;
  }

  /**
   * Consumes a chunk and returns every frame it completes. Throws
   * ERR_FRAME_TOO_LARGE or ERR_PROTOCOL; after a throw the decoder is unusable
   * (the stream is out of sync), and the caller closes the connection.
   */
  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < FRAME_HEADER_BYTES) break;
        const length = this.take(FRAME_HEADER_BYTES).readUInt32BE(0);
        if (length === 0) throw new SealsyncError('ERR_PROTOCOL', 'protocol violation: empty frame');
        if (length > this.maxFrameBytes) {
          throw new SealsyncError('ERR_FRAME_TOO_LARGE', undefined, { length, max: this.maxFrameBytes });
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      const body = this.take(this.expected);
      this.expected = -1;
      frames.push({ type: body[0] as number, payload: body.subarray(1) });
    }
    return frames;
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
