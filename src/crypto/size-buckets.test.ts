import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import type { FileRecord } from '../model/types.js';
import { keysFromSecret, deriveReadOnly } from './keys.js';
import { MAX_PATH_BYTES } from '../model/path.js';
import { decodeSealedRecord, encodeSealedRecord, MAX_SEALED_RECORD_BYTES, openRecord, sealRecord, sealRecordBytes } from './sealed-record.js';
import { isBucketLength, padmeLength } from './size-buckets.js';
import { bucketPadding, recordBodyPlaintext, sealRecordBody } from './testing/record-body.js';

const W = keysFromSecret(new Uint8Array(32).fill(0x42));
const R = deriveReadOnly(W);

function code(f: () => unknown): string {
  try { f(); } catch (err) { return isSealsyncError(err) ? err.code : String(err); }
  return 'ok';
}

function fileRecord(path: string, blocks = 1): FileRecord {
  return {
    path,
    kind: 'file',
    size: 1000 * blocks,
    mtimeMs: 1_700_000_000_000,
    mode: 0o644,
    blocks: Array.from({ length: blocks }, (_, i) => ({ id: new Uint8Array(32).fill(i + 1), hash: new Uint8Array(32).fill(i + 100), size: 1000 })),
    version: [{ id: '00000000000000aa', value: 3 }],
    deleted: false,
  };
}

test('Padmé: the published examples, bounded overhead, idempotent, exact near powers of two', () => {
  // From the PURBs paper's definition: 9 keeps 4 bits (E=3, S=2 → multiple of 2); 300 → multiple of 16.
  assert.equal(padmeLength(0), 0);
  assert.equal(padmeLength(9), 10);
  assert.equal(padmeLength(300), 304);
  assert.equal(padmeLength(256), 256);
  assert.equal(padmeLength(257), 272);
  assert.equal(padmeLength(1_000_000), 1_015_808); // E=19, S=5: a multiple of 2^14
  for (const n of [3, 17, 100, 511, 512, 513, 4095, 65_537, 2 ** 31 - 1, 2 ** 31 + 1, 2 ** 52 - 1, 2 ** 52 + 12_345]) {
    const p = padmeLength(n);
    assert.ok(p >= n, `${n}`);
    assert.ok(p - n <= 0.12 * n + 1, `overhead of ${n} is ${p - n}`);
    assert.equal(padmeLength(p), p, `idempotent at ${n}`);
    assert.ok(isBucketLength(p));
  }
  // Just below a power of two Math.log2 rounds up; the exponent is still exact.
  assert.equal(padmeLength(2 ** 50 - 1), 2 ** 50);
  assert.equal(isBucketLength(2 ** 50 - 1), false);
  for (const bad of [-1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1]) assert.equal(code(() => padmeLength(bad)), 'ERR_INVALID_ARGUMENT');
});

test('every sealed record is a bucket length; paths of different lengths within one bucket seal to equal sizes', () => {
  const sizes = new Map<number, string[]>();
  for (let len = 1; len <= 200; len++) {
    const path = 'd/' + 'x'.repeat(len);
    const bytes = sealRecordBytes(W, fileRecord(path));
    assert.ok(isBucketLength(bytes.byteLength), `${len}: ${bytes.byteLength}`);
    assert.equal(openRecord(R, decodeSealedRecord(bytes)).path, path);
    sizes.set(bytes.byteLength, [...(sizes.get(bytes.byteLength) ?? []), path]);
  }
  // 200 path lengths fall into a handful of sizes: a rename by a few bytes mostly changes nothing.
  assert.ok(sizes.size <= 14, `${sizes.size} distinct sizes`);
  const [a, b] = [...sizes.values()].find((paths) => paths.length > 1)!;
  assert.notEqual(a!.length, b!.length);
  assert.equal(sealRecordBytes(W, fileRecord(a!)).byteLength, sealRecordBytes(W, fileRecord(b!)).byteLength);
  // The longest path and the most blocks still fit the format's bound.
  const longest = sealRecordBytes(W, fileRecord('p/'.repeat(MAX_PATH_BYTES / 2 - 1) + 'x', 300));
  assert.ok(isBucketLength(longest.byteLength) && longest.byteLength <= MAX_SEALED_RECORD_BYTES);
  assert.ok(isBucketLength(MAX_SEALED_RECORD_BYTES));
});

test('padding that is not zero, too short or too long is refused; an unpadded record is refused by every peer', () => {
  const sealed = sealRecord(W, fileRecord('docs/a.txt'));
  const outer = { file: sealed.file, locator: sealed.locator, version: sealed.version, blockIds: sealed.blockIds };
  const plain = recordBodyPlaintext(W, sealed);
  const pad = bucketPadding(plain.byteLength - (plain.byteLength - plain.findLastIndex((b) => b !== 0) - 1), outer);
  assert.ok(pad > 0, 'this record carries padding');
  assert.deepEqual(sealRecordBody(W, plain, outer), sealed, 'the helper seals what sealRecord seals');
  const nonZero = plain.slice();
  nonZero[nonZero.length - 1] = 1;
  assert.equal(code(() => openRecord(R, sealRecordBody(W, nonZero, outer, { pad: false }))), 'ERR_FORMAT_TRUNCATED');
  // One more bucket's worth of zeros: a bucket length, but not the record's own bucket.
  const unpadded = plain.subarray(0, plain.byteLength - pad);
  const total = encodeSealedRecord(sealed).byteLength;
  const over = new Uint8Array(plain.byteLength + padmeLength(total + 1) - total);
  over.set(unpadded);
  const overSealed = sealRecordBody(W, over, outer, { pad: false });
  assert.ok(isBucketLength(encodeSealedRecord(overSealed).byteLength));
  assert.equal(code(() => openRecord(R, decodeSealedRecord(encodeSealedRecord(overSealed)))), 'ERR_FORMAT_TRUNCATED');
  // Without padding the length is no bucket: refused at decoding, where an encrypted peer looks too.
  const bare = encodeSealedRecord(sealRecordBody(W, unpadded, outer, { pad: false }));
  assert.equal(isBucketLength(bare.byteLength), false);
  assert.equal(code(() => decodeSealedRecord(bare)), 'ERR_FORMAT_TRUNCATED');
});
