/**
 * Padmé size buckets (Nikitin et al., "Reducing Metadata Leakage from
 * Encrypted Files and Communication with PURBs", PETS 2019).
 *
 * padme(L) keeps only the top ⌊log2 E⌋ + 1 bits of L significant, where
 * E = ⌊log2 L⌋, and rounds the rest up: a length of E bits is stored in about
 * log2 E bits, so a padded size reveals O(log log L) bits instead of log L.
 * The overhead is at most 12% (at small sizes) and falls as L grows: below
 * 1/2^(⌊log2 E⌋ + 1) of L, so ≤ 3.2% for every L from 64 KiB to 4 GiB.
 *
 * The rule is part of the sealed block format (crypto/sealed-block.ts): every
 * device pads alike, or block ids, dedup and swarming would break.
 */

/** ⌊log2 n⌋ for a safe integer n ≥ 1, exact (no floating-point log). */
function floorLog2(n: number): number {
  return n >= 2 ** 32 ? 32 + floorLog2(Math.floor(n / 2 ** 32)) : 31 - Math.clz32(n);
}

/** The smallest Padmé value ≥ `length` (a non-negative safe integer). */
export function padme(length: number): number {
  if (length < 2) return length;
  const e = floorLog2(length);
  const lastBits = e - (floorLog2(e) + 1);
  const step = 2 ** lastBits;
  return Math.ceil(length / step) * step;
}

/** True when `length` is a Padmé value (padme(length) === length). */
export function isPadme(length: number): boolean {
  return Number.isSafeInteger(length) && length >= 0 && padme(length) === length;
}
