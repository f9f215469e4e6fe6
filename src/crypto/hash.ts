/**
 * Content digests with an algorithm id, so every format can say which hash it
 * used and a later version can switch without ambiguity.
 *
 * Id 1 = SHA-256 (default: hardware-accelerated on the machines we measured).
 * Id 2 = BLAKE2b-512 truncated to its first 32 bytes (note: this is not the
 * same function as BLAKE2b with a 32-byte output parameter). Supported so that
 * data sealed on machines without SHA extensions can be verified everywhere.
 */
import * as nodeCrypto from 'node:crypto';
import { SealsyncError } from '../errors.js';

export const HASH_SHA256 = 1;
export const HASH_BLAKE2B_256 = 2;
export const DEFAULT_HASH = HASH_SHA256;
export const DIGEST_BYTES = 32;

// crypto.hash (one-shot, no Hash object) exists from Node 20.12; fall back otherwise.
const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

export function isKnownHash(alg: number): boolean {
  return alg === HASH_SHA256 || alg === HASH_BLAKE2B_256;
}

function nodeName(alg: number): string {
  if (alg === HASH_SHA256) return 'sha256';
  if (alg === HASH_BLAKE2B_256) return 'blake2b512';
  throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unknown hash algorithm id ${alg}`, { alg });
}

/** 32-byte digest of `data` with hash algorithm `alg` (default SHA-256). */
export function digest(data: Uint8Array, alg: number = DEFAULT_HASH): Uint8Array {
  const name = nodeName(alg);
  const full = oneShot ? oneShot(name, data, 'buffer') : nodeCrypto.createHash(name).update(data).digest();
  return new Uint8Array(full.buffer, full.byteOffset, DIGEST_BYTES);
}

/** Incremental form of digest(), for hashing data that is produced in pieces. */
export function createDigest(alg: number = DEFAULT_HASH): { update(data: Uint8Array): void; digest(): Uint8Array } {
  const h = nodeCrypto.createHash(nodeName(alg));
  return {
    update: (data) => { h.update(data); },
    digest: () => {
      const full = h.digest();
      return new Uint8Array(full.buffer, full.byteOffset, DIGEST_BYTES);
    },
  };
}
