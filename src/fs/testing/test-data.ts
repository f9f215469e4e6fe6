/**
 * Deterministic pseudo-random bytes for tests and benchmarks (xorshift32).
 * Not for anything secret: the point is that the same seed gives the same
 * bytes on every machine, so golden cut points stay comparable.
 */
export function pseudoRandomBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  const words = new Uint32Array(out.buffer, 0, length >>> 2);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  for (let i = words.length * 4; i < length; i++) out[i] = (x >>> ((i & 3) * 8)) & 0xff;
  return out;
}
