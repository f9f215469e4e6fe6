/**
 * Sealed blocks (src/crypto/sealed-block.ts, format v2 with Padmé padding)
 * as a peer serves them. The input is `plaintext hash (32) || plaintext size
 * (u32 BE) || sealed block`: hash and size are what a record says the block
 * holds, and the block's id is taken as the hash of the sealed bytes
 * given (as an encrypted peer that stores whatever it is sent would), so the
 * header and bucket checks, the size and id checks, the AEAD and the padding
 * check all run on fuzzed bytes. Oracle: a
 * block that opens is exactly what sealing its plaintext gives (sealing is
 * deterministic; anything else opening would be a forgery).
 */
import fc from 'fast-check';
import { DIGEST_BYTES, digest, isKnownHash, openBlock, sealBlock, verifySealedBlock } from '../../../src/crypto/index.js';
import { SealsyncError } from '../../../src/errors.js';
import { DEFAULT_BOUNDS, OracleFailure, bulkBytes, oracle, type FuzzTarget } from '../target.js';
import { FUZZ_FOLDER_KEYS } from './folder-fixtures.js';

const CONTENT_KEY = FUZZ_FOLDER_KEYS.contentKey as Uint8Array;
/** The record's side of the input: plaintext hash and plaintext size. */
const PREFIX_BYTES = DIGEST_BYTES + 4;

const plaintext = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 4, arbitrary: bulkBytes(0, 4096) },
  { weight: 1, arbitrary: bulkBytes(64 * 1024, 256 * 1024) },
);

export const sealedBlocksTarget: FuzzTarget = {
  name: 'sealed-blocks',
  description: 'verifySealedBlock + openBlock (src/crypto/sealed-block.ts) on hash || sealed block',
  valid: plaintext.map((p) => {
    const { hash, size, sealed } = sealBlock(CONTENT_KEY, p);
    const out = new Uint8Array(PREFIX_BYTES + sealed.length);
    out.set(hash);
    new DataView(out.buffer).setUint32(DIGEST_BYTES, size);
    out.set(sealed, PREFIX_BYTES);
    return out;
  }),
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: 512 * 1024,
  open: () => ({
    decode(input) {
      if (input.byteLength < PREFIX_BYTES) throw new SealsyncError('ERR_FORMAT_TRUNCATED', 'no hash and size prefix');
      const hash = input.subarray(0, DIGEST_BYTES);
      const size = new DataView(input.buffer, input.byteOffset, input.byteLength).getUint32(DIGEST_BYTES);
      const sealed = input.subarray(PREFIX_BYTES);
      const id = digest(sealed, sealed.length > 1 && isKnownHash(sealed[1] as number) ? (sealed[1] as number) : 1);
      if (!verifySealedBlock(sealed, id)) throw new OracleFailure('a block does not verify against the hash of its own bytes');
      return openBlock(CONTENT_KEY, sealed, { id, hash, size });
    },
    check(input, plain) {
      const again = sealBlock(CONTENT_KEY, plain as Uint8Array);
      oracle(Buffer.compare(again.sealed, input.subarray(PREFIX_BYTES)) === 0, 'a block that opens is not what sealing its plaintext gives');
    },
  }),
};
