/**
 * RFC 4648 base32 (no padding) working on 5-bit symbols, because key text and
 * device ids compute their check characters over symbols, not bytes: that way a
 * change to any character, even one that only touches the unused trailing bits,
 * changes the checksum input.
 */

export const BASE32_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

const SYMBOL_OF = new Map<string, number>();
for (let i = 0; i < BASE32_ALPHABET.length; i++) {
  SYMBOL_OF.set(BASE32_ALPHABET[i] as string, i);
  SYMBOL_OF.set((BASE32_ALPHABET[i] as string).toLowerCase(), i);
}

/** Symbol value of one character (case-insensitive), or undefined when not in the alphabet. */
export function base32Symbol(ch: string): number | undefined {
  return SYMBOL_OF.get(ch);
}

/** Number of base32 characters for `byteLength` bytes without padding. */
export function base32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

export function bytesToSymbols(bytes: Uint8Array): number[] {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = (acc << 8) | b;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out.push((acc >>> bits) & 31);
    }
    acc &= (1 << bits) - 1;
  }
  if (bits > 0) out.push((acc << (5 - bits)) & 31);
  return out;
}

/**
 * Inverse of bytesToSymbols. Returns undefined when the symbol count does not
 * fit `byteLength` or the unused trailing bits are not zero (non-canonical).
 */
export function symbolsToBytes(symbols: readonly number[], byteLength: number): Uint8Array | undefined {
  if (symbols.length !== base32Length(byteLength)) return undefined;
  const out = new Uint8Array(byteLength);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const s of symbols) {
    acc = ((acc << 5) | s) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      if (o < byteLength) out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return undefined;
  return out;
}

export function symbolsToText(symbols: readonly number[]): string {
  let s = '';
  for (const v of symbols) s += BASE32_ALPHABET[v];
  return s;
}

export function base32Encode(bytes: Uint8Array): string {
  return symbolsToText(bytesToSymbols(bytes));
}
