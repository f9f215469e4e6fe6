/**
 * The encrypted body of a sealed record (src/crypto/sealed-record.ts,
 * decodeBody behind openRecord). A mutated sealed record fails its signature
 * long before its body is read, so here the input is the body's plaintext:
 * the target encrypts and signs it with the fixed folder's keys, as a writer
 * would, and opens the result with openRecord. That is what a device holding
 * the folder's write key could send; a full peer must refuse it with an error,
 * never crash. Oracle: an opened record seals back to the same body (one
 * encoding per record).
 *
 * The sealing (src/crypto/testing/record-body.ts) appends the zero padding
 * the record's size bucket needs (none when the input already ends in it).
 * It restates the format: if the
 * format changes, valid samples stop opening and the harness fails on them.
 */
import { locatorFor, openRecord, sealRecord } from '../../../src/crypto/index.js';
import { recordBodyPlaintext, sealRecordBody } from '../../../src/crypto/testing/record-body.js';
import type { FileRecord } from '../../../src/model/types.js';
import { DEFAULT_BOUNDS, oracle, type FuzzTarget } from '../target.js';
import { FUZZ_FOLDER_KEYS, fileRecord } from './folder-fixtures.js';

const KEYS = FUZZ_FOLDER_KEYS;
/** Body offsets (docs/crypto.md 4.2): version, kind, flags, hash alg, u16 path length, path. */
const PATH_LENGTH_OFFSET = 4;
const VERSION = [{ id: '0000000000000001', value: 1 }];

/** Reads what the seal needs (the path for the locator, the block count) without judging the rest. */
function peek(plain: Buffer): { path: string; blocks: number } {
  if (plain.length < PATH_LENGTH_OFFSET + 2) return { path: '', blocks: 0 };
  const pathLength = plain.readUInt16BE(PATH_LENGTH_OFFSET);
  const pathEnd = PATH_LENGTH_OFFSET + 2 + pathLength;
  const path = plain.subarray(PATH_LENGTH_OFFSET + 2, pathEnd).toString('utf8');
  const targetLengthAt = pathEnd + 8 + 8 + 2;
  if (plain.length < targetLengthAt + 2) return { path, blocks: 0 };
  const countAt = targetLengthAt + 2 + plain.readUInt16BE(targetLengthAt);
  const blocks = plain.length >= countAt + 4 ? plain.readUInt32BE(countAt) : 0;
  // A count the bytes cannot hold is refused by the decoder; do not build that many ids.
  return { path, blocks: blocks <= (plain.length - countAt) / 36 ? blocks : 0 };
}

/** Seals `plain` as the body of a record of the fixed folder, with the locator and block count it names. */
function seal(plain: Uint8Array): ReturnType<typeof sealRecordBody> {
  const { path, blocks } = peek(Buffer.from(plain.buffer, plain.byteOffset, plain.byteLength));
  const blockIds = Array.from({ length: blocks }, () => new Uint8Array(32));
  // The envelope says "live file" when the body does (kind 0, deleted bit clear), so the fuzzed body is what openRecord judges.
  const file = plain[1] === 0 && ((plain[2] ?? 0) & 1) === 0;
  return sealRecordBody(KEYS, plain, { file: file || blocks > 0, locator: locatorFor(KEYS, path), version: VERSION, blockIds });
}

export const recordBodiesTarget: FuzzTarget = {
  name: 'record-bodies',
  description: 'openRecord (src/crypto/sealed-record.ts) on a signed record around a fuzzed body plaintext',
  // With the outer version the target seals with: the padding in the plaintext is then the bucket's.
  valid: fileRecord.map((r) => recordBodyPlaintext(KEYS, sealRecord(KEYS, { ...r, version: VERSION }))),
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    decode(input) {
      return openRecord(KEYS, seal(input));
    },
    check(input, record) {
      const again = sealRecord(KEYS, record as FileRecord);
      oracle(Buffer.compare(again.body, seal(input).body) === 0, 'an opened record does not seal back to the same body');
    },
  }),
};
