/**
 * Strict little helpers for the wire schema: a ByteWriter that appends
 * big-endian integers and length-prefixed byte strings, and a ByteReader that
 * refuses anything out of bounds. Every decoding failure is ERR_PROTOCOL: a
 * peer that sends a malformed message is misbehaving, whatever the detail.
 */
import { SealsyncError } from '../errors.js';

export function protocolError(message: string): SealsyncError {
  return new SealsyncError('ERR_PROTOCOL', `protocol violation: ${message}`);
}

export class ByteWriter {
  private chunks: Uint8Array[] = [];
  private length = 0;

  u8(v: number): this {
    return this.push(Uint8Array.of(v & 0xff));
  }

  u16(v: number): this {
    const b = Buffer.allocUnsafe(2);
    b.writeUInt16BE(v);
    return this.push(b);
  }

  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v);
    return this.push(b);
  }

  /** Unsigned 64-bit, from a safe integer (sequence numbers never exceed 2^53). */
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', `u64 out of range: ${v}`);
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(v));
    return this.push(b);
  }

  /** Raw bytes of a length both sides know (ids, proofs). */
  fixed(bytes: Uint8Array, length: number): this {
    if (bytes.length !== length) throw new SealsyncError('ERR_INVALID_ARGUMENT', `expected ${length} bytes, got ${bytes.length}`);
    return this.push(bytes);
  }

  /** u8 length + bytes. */
  bytes8(bytes: Uint8Array): this {
    if (bytes.length > 0xff) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'bytes8 too long');
    return this.u8(bytes.length).push(bytes);
  }

  /** u32 length + bytes. */
  bytes32(bytes: Uint8Array): this {
    return this.u32(bytes.length).push(bytes);
  }

  /** Bytes up to the end of the message. */
  rest(bytes: Uint8Array): this {
    return this.push(bytes);
  }

  get size(): number {
    return this.length;
  }

  finish(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }

  private push(b: Uint8Array): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
}

export class ByteReader {
  private pos = 0;
  private readonly buf: Buffer;

  constructor(bytes: Uint8Array, private readonly what: string) {
    this.buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError(`${this.what}: integer too large`);
    return Number(v);
  }

  /** A copy, so a retained id never pins a large frame buffer in memory. */
  fixed(length: number): Uint8Array {
    this.need(length);
    const out = new Uint8Array(this.buf.subarray(this.pos, this.pos + length));
    this.pos += length;
    return out;
  }

  bytes8(max: number): Uint8Array {
    const len = this.u8();
    if (len > max) throw protocolError(`${this.what}: field longer than ${max} bytes`);
    return this.fixed(len);
  }

  bytes32(max: number): Uint8Array {
    const len = this.u32();
    if (len > max) throw protocolError(`${this.what}: field longer than ${max} bytes`);
    return this.fixed(len);
  }

  rest(max: number): Uint8Array {
    if (this.remaining > max) throw protocolError(`${this.what}: field longer than ${max} bytes`);
    return this.fixed(this.remaining);
  }

  /**
   * The rest of the message as a view, without copying: for block data, which
   * is large and owns its frame buffer anyway (a frame is never reused).
   */
  restView(max: number): Uint8Array {
    if (this.remaining > max) throw protocolError(`${this.what}: field longer than ${max} bytes`);
    const out = new Uint8Array(this.buf.buffer, this.buf.byteOffset + this.pos, this.remaining);
    this.pos = this.buf.length;
    return out;
  }

  /** Strict decoding: a message with trailing bytes is malformed. */
  end(): void {
    if (this.remaining !== 0) throw protocolError(`${this.what}: ${this.remaining} trailing bytes`);
  }

  private need(n: number): void {
    if (this.remaining < n) throw protocolError(`${this.what}: truncated`);
  }
}
