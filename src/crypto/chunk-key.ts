/**
 * The keyed gear table of content-defined chunking (format v2).
 *
 * In v1 the table was public, so anyone could compute where a known file's
 * chunk boundaries fall, and an encrypted store could confirm that it holds
 * a given file from the sequence of block sizes alone. In v2 the 256 values
 * come from the folder's chunk key (HKDF(R, "sealsync/v2/chunk"), keys.ts):
 *
 *   table = HKDF-SHA-256(IKM = chunk key, salt = empty, info = "sealsync/v2/gear", L = 1024)
 *   value[i] = big-endian uint32 at bytes 4i .. 4i+3
 *
 * Every full device of a folder (read-write or read-only: both hold R) has
 * the same table, so they cut alike and dedup within the folder still works;
 * another folder has an unrelated table and other boundaries. Encrypted
 * devices lack R and never chunk (they store what they are sent).
 */
import { hkdfSync } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { utf8 } from './bytes.js';

export const LABEL_GEAR = 'sealsync/v2/gear';
export const GEAR_TABLE_ENTRIES = 256;
export const CHUNK_KEY_BYTES = 32;

/** The folder's gear table (256 values) from its chunk key. */
export function gearTableFor(chunkKey: Uint8Array): Uint32Array {
  if (!(chunkKey instanceof Uint8Array) || chunkKey.byteLength !== CHUNK_KEY_BYTES) {
    throw new SealsyncError('ERR_KEY_LENGTH', `chunk key must be ${CHUNK_KEY_BYTES} bytes`);
  }
  const bytes = Buffer.from(hkdfSync('sha256', chunkKey, new Uint8Array(0), utf8.encode(LABEL_GEAR), GEAR_TABLE_ENTRIES * 4));
  const table = new Uint32Array(GEAR_TABLE_ENTRIES);
  for (let i = 0; i < GEAR_TABLE_ENTRIES; i++) table[i] = bytes.readUInt32BE(i * 4);
  return table;
}
