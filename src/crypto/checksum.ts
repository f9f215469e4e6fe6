/**
 * Check characters for key text: a 6-symbol BCH code over GF(32) (the
 * generator polynomial of BIP-173 bech32). The code is cyclic with a generator
 * of degree 6 and a non-zero constant term, so it can never divide a single
 * non-zero symbol error: EVERY one-character change is detected, at any
 * length. Up to 4 changed characters are detected for strings up to 89
 * symbols; any other corruption slips through with probability about 2^-30.
 */

const GENERATOR = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
/** Final xor so a sealsync checksum is never a valid bech32 one (and vice versa). */
const SEALSYNC_CONSTANT = 0x2c3a15e7 & 0x3fffffff;
export const CHECKSUM_SYMBOLS = 6;

function polymod(values: readonly number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = (((chk & 0x1ffffff) << 5) ^ v) >>> 0;
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) chk = (chk ^ (GENERATOR[i] as number)) >>> 0;
    }
  }
  return chk;
}

/** The 6 check symbols for `values` (5-bit symbols). */
export function checksumSymbols(values: readonly number[]): number[] {
  const mod = polymod([...values, 0, 0, 0, 0, 0, 0]) ^ SEALSYNC_CONSTANT;
  const out: number[] = [];
  for (let i = 0; i < CHECKSUM_SYMBOLS; i++) out.push((mod >>> (5 * (CHECKSUM_SYMBOLS - 1 - i))) & 31);
  return out;
}

/** True when `valuesWithChecksum` ends in the right 6 check symbols. */
export function checksumValid(valuesWithChecksum: readonly number[]): boolean {
  return polymod(valuesWithChecksum) === SEALSYNC_CONSTANT;
}
