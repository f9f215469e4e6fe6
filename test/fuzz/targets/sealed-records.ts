/**
 * Sealed records (src/crypto/sealed-record.ts) as a peer sends them: the
 * input is one encoded record, checked as a full peer checks it
 * (checkRecordBytes with open: decode, signature, decrypt, cross-checks).
 * Oracle: whatever decodeSealedRecord accepts re-encodes to the same bytes,
 * so a record has exactly one encoding (no malleable copies that dedupe as
 * different records). Mutated records almost never carry a valid signature;
 * the record-bodies target reaches the body decoder behind it.
 */
import fc from 'fast-check';
import { checkRecordBytes, decodeSealedRecord, encodeSealedRecord, sealRecordBytes } from '../../../src/crypto/index.js';
import { MAX_VECTOR_ENTRIES } from '../../../src/model/version-vector.js';
import { SEALED_RECORD_VERSION } from '../../../src/crypto/sealed-record.js';
import { padmeLength } from '../../../src/crypto/size-buckets.js';
import { DEFAULT_BOUNDS, oracle, type FuzzTarget } from '../target.js';
import { FUZZ_FOLDER_KEYS, fileRecord } from './folder-fixtures.js';

/** A header that claims the most of everything, and then stops: what a lying peer sends. */
const overclaiming = fc.record({
  vector: fc.constantFrom(MAX_VECTOR_ENTRIES, MAX_VECTOR_ENTRIES + 1, 0xffff),
  blocks: fc.constantFrom(65536, 65537, 0xffffffff),
  // Envelope flags: a live file with its block ids, or one that withholds them (no ids follow the count).
  envelope: fc.constantFrom(1, 3),
})
  .map(({ vector, blocks, envelope }) => {
    const head = Buffer.alloc(4 + 32 + 2);
    head.set([SEALED_RECORD_VERSION, 1, 1, envelope]);
    head.writeUInt16BE(vector, 36);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(blocks);
    // Padded to a size bucket, so the decoder reads past the length check to the claims.
    const claim = Buffer.concat([head, count]);
    return new Uint8Array(Buffer.concat([claim, Buffer.alloc(padmeLength(claim.length) - claim.length)]));
  });

export const sealedRecordsTarget: FuzzTarget = {
  name: 'sealed-records',
  description: 'checkRecordBytes (src/crypto/sealed-record.ts): decode, verify, open one record from a peer',
  // Both forms a record takes: with its block ids, and withholding them (format 3).
  valid: fc.tuple(fileRecord, fc.boolean()).map(([r, withhold]) =>
    sealRecordBytes(FUZZ_FOLDER_KEYS, withhold ? { ...r, blocks: r.blocks.map((b) => ({ ...b, id: null })) } : r)),
  hostile: overclaiming,
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    decode(input) {
      return checkRecordBytes(FUZZ_FOLDER_KEYS, input, true);
    },
    check(input) {
      oracle(Buffer.compare(encodeSealedRecord(decodeSealedRecord(input)), input) === 0, 'a decoded record does not re-encode to its bytes');
    },
  }),
};
