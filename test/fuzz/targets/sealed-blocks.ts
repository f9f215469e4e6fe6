/**
 * Sealed blocks (src/crypto/sealed-block.ts) as a peer serves them. The input
 * is `plaintext hash (32) || sealed block`: the hash is what a record says the
 * block holds, and the block's id is taken as the hash of the sealed bytes
 * given (as an encrypted peer that stores whatever it is sent would), so the
 * header check, the id check and the AEAD all run on fuzzed bytes. Oracle: a
 * block that opens is exactly what sealing its plaintext gives (sealing is
 * deterministic; anything else opening would be a forgery).
 */
import fc from 'fast-check';
import { DIGEST_BYTES, digest, isKnownHash, openBlock, sealBlock, verifySealedBlock } from '../../../src/crypto/index.js';
import { DEFAULT_BOUNDS, OracleFailure, bulkBytes, oracle, type FuzzTarget } from '../target.js';
import { FUZZ_FOLDER_KEYS } from './folder-fixtures.js';

const CONTENT_KEY = FUZZ_FOLDER_KEYS.contentKey as Uint8Array;

const plaintext = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 4, arbitrary: bulkBytes(0, 4096) },
  { weight: 1, arbitrary: bulkBytes(64 * 1024, 256 * 1024) },
);

export const sealedBlocksTarget: FuzzTarget = {
  name: 'sealed-blocks',
  description: 'verifySealedBlock + openBlock (src/crypto/sealed-block.ts) on hash || sealed block',
  valid: plaintext.map((p) => {
    const { hash, sealed } = sealBlock(CONTENT_KEY, p);
    const out = new Uint8Array(DIGEST_BYTES + sealed.length);
    out.set(hash);
    out.set(sealed, DIGEST_BYTES);
    return out;
  }),
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: 512 * 1024,
  open: () => ({
    decode(input) {
      const hash = input.subarray(0, DIGEST_BYTES);
      const sealed = input.subarray(DIGEST_BYTES);
      const id = digest(sealed, sealed.length > 1 && isKnownHash(sealed[1] as number) ? (sealed[1] as number) : 1);
      if (!verifySealedBlock(sealed, id)) throw new OracleFailure('a block does not verify against the hash of its own bytes');
      return openBlock(CONTENT_KEY, sealed, { id, hash });
    },
    check(input, plain) {
      const again = sealBlock(CONTENT_KEY, plain as Uint8Array);
      oracle(Buffer.compare(again.sealed, input.subarray(DIGEST_BYTES)) === 0, 'a block that opens is not what sealing its plaintext gives');
    },
  }),
};
