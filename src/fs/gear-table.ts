/**
 * The FastCDC "gear" table: 256 fixed pseudo-random 32-bit values, one per
 * byte value, that the rolling hash adds in as it slides over the data.
 *
 * Cut points — and so block ids, dedup and what an edit re-sends — depend on
 * every value here. Changing the table changes every block boundary of every
 * file, so it is versioned: a new table is a new GEAR_TABLE_VERSION, never an
 * edit to this one. The values are derived, not pasted, so anyone can
 * re-create them: value[i] = first 4 bytes (big-endian) of
 * SHA-256("sealsync/v1/gear" || u8(i)).
 */
import { createHash } from 'node:crypto';

export const GEAR_TABLE_VERSION = 1;
const GEAR_LABEL = 'sealsync/v1/gear';

function deriveGearTable(): Uint32Array {
  const table = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    const h = createHash('sha256').update(GEAR_LABEL).update(Uint8Array.of(i)).digest();
    table[i] = h.readUInt32BE(0);
  }
  return table;
}

/** Version 1 table. Frozen in spirit: treat as read-only. */
export const GEAR_TABLE: Uint32Array = deriveGearTable();
