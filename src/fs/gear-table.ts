/**
 * The FastCDC "gear" table of a folder: 256 pseudo-random 32-bit values, one
 * per byte value, that the rolling hash adds in as it slides over the data.
 *
 * Cut points — and so block ids, dedup and what an edit re-sends — depend on
 * every value. Version 2 tables are keyed: derived from the folder's chunk
 * key (src/crypto/chunk-key.ts, docs/crypto.md), so boundaries say nothing
 * about a known file to anyone without the folder's read secret. Version 1
 * (one public table for everyone) is gone with format v1.
 *
 * Tables are cached per chunk key (a scan asks for one per file; deriving
 * one is an HKDF, ~10 µs, but the cache also keeps the chunker's table in a
 * stable object). The cache is small and bounded: a daemon has few folders.
 */
import { gearTableFor } from '../crypto/chunk-key.js';

export const GEAR_TABLE_VERSION = 2;
/** Folders whose table stays cached; past this the oldest is dropped (re-derived on need). */
const MAX_CACHED_TABLES = 64;

/** A gear table as the chunker reads it: Int32 values stay small integers (Smis) in V8. */
export type GearTable = Int32Array;

const cache = new Map<string, GearTable>();

/** The gear table for a folder's chunk key. */
export function gearTable(chunkKey: Uint8Array): GearTable {
  const k = Buffer.from(chunkKey.buffer, chunkKey.byteOffset, chunkKey.byteLength).toString('base64');
  let table = cache.get(k);
  if (!table) {
    const t = gearTableFor(chunkKey);
    table = new Int32Array(t.buffer, t.byteOffset, t.length);
    if (cache.size >= MAX_CACHED_TABLES) cache.delete(cache.keys().next().value as string);
    cache.set(k, table);
  }
  return table;
}
