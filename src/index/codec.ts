/**
 * Compact BLOB encodings for the index: block lists and id lists. Fixed-width
 * little-endian so decoding is a bounds check plus slicing.
 */
import { SealsyncError } from '../errors.js';
import type { BlockRef } from '../model/types.js';

export const ID_BYTES = 32;
const BLOCK_ENTRY_BYTES = ID_BYTES * 2 + 8;

/**
 * [id 32][hash 32][size u64le] per block. A withheld id (null: the record
 * does not carry its block ids, docs/crypto.md §4.4) is stored as 32 zero
 * bytes, which no SHA-256 output is in practice.
 */
export function encodeBlockList(blocks: readonly BlockRef[]): Uint8Array {
  const out = new Uint8Array(blocks.length * BLOCK_ENTRY_BYTES);
  const view = new DataView(out.buffer);
  blocks.forEach((b, i) => {
    const at = i * BLOCK_ENTRY_BYTES;
    if (b.id !== null) out.set(checkId(b.id), at);
    out.set(checkId(b.hash), at + ID_BYTES);
    view.setBigUint64(at + ID_BYTES * 2, BigInt(b.size), true);
  });
  return out;
}

export function decodeBlockList(buf: Uint8Array): BlockRef[] {
  if (buf.length % BLOCK_ENTRY_BYTES !== 0) throw new SealsyncError('ERR_INTERNAL', 'corrupt block list in index');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: BlockRef[] = [];
  for (let at = 0; at < buf.length; at += BLOCK_ENTRY_BYTES) {
    out.push({
      id: isZero(buf, at, at + ID_BYTES) ? null : copyOf(buf, at, at + ID_BYTES),
      hash: copyOf(buf, at + ID_BYTES, at + ID_BYTES * 2),
      size: Number(view.getBigUint64(at + ID_BYTES * 2, true)),
    });
  }
  return out;
}

/** Concatenated 32-byte ids. */
export function encodeIdList(ids: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ids.length * ID_BYTES);
  ids.forEach((id, i) => out.set(checkId(id), i * ID_BYTES));
  return out;
}

export function decodeIdList(buf: Uint8Array): Uint8Array[] {
  if (buf.length % ID_BYTES !== 0) throw new SealsyncError('ERR_INTERNAL', 'corrupt id list in index');
  const out: Uint8Array[] = [];
  for (let at = 0; at < buf.length; at += ID_BYTES) out.push(copyOf(buf, at, at + ID_BYTES));
  return out;
}

function isZero(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function checkId(id: Uint8Array): Uint8Array {
  if (id.length !== ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `id must be ${ID_BYTES} bytes`);
  return id;
}

/** better-sqlite3 returns Buffers; callers get plain Uint8Arrays that own their bytes. */
export function toBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** A plain Uint8Array copy of a range (Buffer.slice would return a Buffer view). */
function copyOf(buf: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(buf.subarray(start, end));
}
