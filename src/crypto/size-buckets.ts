/**
 * Size buckets: the lengths a padded object may have (docs/crypto.md, "Size
 * padding"). Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted
 * Files and Communication with PURBs", PETS 2019): a length L with
 * E = floor(log2 L) is rounded up to a multiple of 2^(E - floor(log2 E) - 1),
 * so a padded length keeps only its top floor(log2 E) + 1 significant bits.
 * That leaks O(log log L) bits of the length (4 bits for 256..511 bytes,
 * 5 bits up to 64 KiB) and costs at most ~12 % (about 1/(2 log2 L) on average).
 *
 * Fixed in the format: every device of a folder pads the same way, so equal
 * content gives equal bytes (and equal ids where the padded bytes are hashed).
 * Pure, exact on every safe integer (no 32-bit bit operations).
 */
import { SealsyncError } from '../errors.js';

/** The smallest bucket value >= `length` (Padmé). Lengths 0..2 are their own buckets. */
export function padmeLength(length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a padded length must be a non-negative safe integer');
  if (length < 3) return length;
  const e = floorLog2(length);
  const s = floorLog2(e) + 1;
  const step = 2 ** (e - s);
  const padded = Math.ceil(length / step) * step;
  if (!Number.isSafeInteger(padded)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a padded length must be a safe integer');
  return padded;
}

/** floor(log2 n) for a positive safe integer, exact (Math.log2 rounds just below a power of two). */
function floorLog2(n: number): number {
  let e = Math.floor(Math.log2(n));
  if (2 ** e > n) e--;
  else if (2 ** (e + 1) <= n) e++;
  return e;
}

/** True when `length` is a bucket value (padmeLength is idempotent: padmeLength(b) === b for every bucket b). */
export function isBucketLength(length: number): boolean {
  return Number.isSafeInteger(length) && length >= 0 && padmeLength(length) === length;
}
