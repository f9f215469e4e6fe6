/**
 * Minimal big-endian binary writer/reader for the sealed formats. The reader is
 * strict: every read is bounds-checked and any overrun is ERR_FORMAT_TRUNCATED.
 */
import { SealsyncError } from '../errors.js';

export class ByteWriter {
  private buf: Buffer;
  private off = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private reserve(n: number): void {
    if (this.off + n <= this.buf.byteLength) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.byteLength * 2, this.off + n));
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  u8(v: number): this { this.reserve(1); this.buf.writeUInt8(v, this.off); this.off += 1; return this; }
  u16(v: number): this { this.reserve(2); this.buf.writeUInt16BE(v, this.off); this.off += 2; return this; }
  u32(v: number): this { this.reserve(4); this.buf.writeUInt32BE(v, this.off); this.off += 4; return this; }
  /** Unsigned 64-bit from a safe integer. */
  u64(v: number): this { this.reserve(8); this.buf.writeBigUInt64BE(BigInt(v), this.off); this.off += 8; return this; }
  /** Signed 64-bit from a safe integer. */
  i64(v: number): this { this.reserve(8); this.buf.writeBigInt64BE(BigInt(v), this.off); this.off += 8; return this; }
  bytes(b: Uint8Array): this { this.reserve(b.byteLength); this.buf.set(b, this.off); this.off += b.byteLength; return this; }

  finish(): Uint8Array {
    return new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.off).slice();
  }
}

export class ByteReader {
  private off = 0;
  private readonly view: DataView;

  constructor(private readonly data: Uint8Array, private readonly what: string) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get offset(): number { return this.off; }
  get remaining(): number { return this.data.byteLength - this.off; }

  private need(n: number): void {
    if (this.off + n > this.data.byteLength) throw new SealsyncError('ERR_FORMAT_TRUNCATED', `${this.what} is truncated`);
  }

  u8(): number { this.need(1); return this.view.getUint8(this.off++); }
  u16(): number { this.need(2); const v = this.view.getUint16(this.off); this.off += 2; return v; }
  u32(): number { this.need(4); const v = this.view.getUint32(this.off); this.off += 4; return v; }
  u64(): number {
    this.need(8);
    const v = this.view.getBigUint64(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SealsyncError('ERR_FORMAT_TRUNCATED', `${this.what}: integer out of range`);
    return Number(v);
  }
  i64(): number {
    this.need(8);
    const v = this.view.getBigInt64(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new SealsyncError('ERR_FORMAT_TRUNCATED', `${this.what}: integer out of range`);
    }
    return Number(v);
  }
  /** A copy, so the result does not pin the caller's (maybe large) buffer. */
  bytes(n: number): Uint8Array { this.need(n); const b = new Uint8Array(this.data.subarray(this.off, this.off + n)); this.off += n; return b; }

  end(): void {
    if (this.off !== this.data.byteLength) throw new SealsyncError('ERR_FORMAT_TRUNCATED', `${this.what} has trailing bytes`);
  }
}
