/**
 * Plaintext blocks (format v2, src/crypto/sealed-block.ts openPlainBlock) as
 * a reader peer sends them: the plaintext padded with zeros to the sealed
 * size, checked against what the signed record says. The input is
 * `plaintext size (u32 BE) || padded block`; the record's hash is the
 * SHA-256 of the honest plaintext for valid inputs, so the length, padding
 * and hash checks all run on fuzzed bytes. Oracle: a block that is accepted
 * is exactly the plaintext that hash names, padded as the format says.
 */
import fc from 'fast-check';
import { DIGEST_BYTES, digest, openPlainBlock, sealedBlockSize } from '../../../src/crypto/index.js';
import { SealsyncError } from '../../../src/errors.js';
import { DEFAULT_BOUNDS, bulkBytes, oracle, type FuzzTarget } from '../target.js';

/** Size prefix, then the record's hash of the plaintext, then the padded block. */
const PREFIX_BYTES = 4 + DIGEST_BYTES;

const plaintext = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }) },
  { weight: 4, arbitrary: bulkBytes(0, 4096) },
  { weight: 1, arbitrary: bulkBytes(64 * 1024, 256 * 1024) },
);

export const plainBlocksTarget: FuzzTarget = {
  name: 'plain-blocks',
  description: 'openPlainBlock (src/crypto/sealed-block.ts) on size || hash || padded plaintext block',
  valid: plaintext.map((p) => {
    const out = new Uint8Array(PREFIX_BYTES + sealedBlockSize(p.byteLength));
    new DataView(out.buffer).setUint32(0, p.byteLength);
    out.set(digest(p), 4);
    out.set(p, PREFIX_BYTES);
    return out;
  }),
  bounds: DEFAULT_BOUNDS,
  maxInputBytes: 512 * 1024,
  open: () => ({
    decode(input) {
      if (input.byteLength < PREFIX_BYTES) throw new SealsyncError('ERR_FORMAT_TRUNCATED', 'no size and hash prefix');
      const size = new DataView(input.buffer, input.byteOffset, input.byteLength).getUint32(0);
      return openPlainBlock(input.subarray(PREFIX_BYTES), { hash: input.subarray(4, PREFIX_BYTES), size });
    },
    check(input, plain) {
      const p = plain as Uint8Array;
      const padded = input.subarray(PREFIX_BYTES);
      oracle(padded.byteLength === sealedBlockSize(p.byteLength), 'an accepted block has the wrong length for its plaintext');
      oracle(Buffer.from(digest(p)).equals(Buffer.from(input.subarray(4, PREFIX_BYTES))), 'an accepted block does not have the record hash');
      oracle(padded.subarray(p.byteLength).every((b) => b === 0), 'an accepted block has non-zero padding');
    },
  }),
};
