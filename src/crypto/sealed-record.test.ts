import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import type { FileRecord } from '../model/types.js';
import { deriveEncrypted, deriveReadOnly, keysFromSecret } from './keys.js';
import { MAX_PATH_BYTES } from '../model/path.js';
import { MAX_VECTOR_ENTRIES } from '../model/version-vector.js';
import {
  decodeSealedRecord, encodeSealedRecord, locatorFor, openRecord, recordPadding, sealRecord, sealRecordBytes, sealedBlockCount, sealedRecordIsFile,
  sealedRecordWithholdsIds, verifyRecord,
  type SealedRecord,
} from './sealed-record.js';
import { HASH_BLAKE2B_256 } from './hash.js';
import { padmeLength } from './size-buckets.js';
import { recordBodyPlaintext, sealRecordBody } from './testing/record-body.js';

const W = keysFromSecret(new Uint8Array(32).fill(0x42));
const R = deriveReadOnly(W);
const E = deriveEncrypted(W);
const OTHER = keysFromSecret(new Uint8Array(32).fill(0x43));

const record: FileRecord = {
  path: 'Docs/résumé.txt',
  kind: 'file',
  size: 1500,
  mtimeMs: 1_700_000_000_123,
  mode: 0o644,
  blocks: [
    { id: new Uint8Array(32).fill(1), hash: new Uint8Array(32).fill(2), size: 1000 },
    { id: new Uint8Array(32).fill(3), hash: new Uint8Array(32).fill(4), size: 500 },
  ],
  version: [{ id: '00000000000000aa', value: 2 }, { id: 'ffffffffffffff01', value: 7 }],
  deleted: false,
};

function code(f: () => unknown): string {
  try { f(); } catch (err) { return isSealsyncError(err) ? err.code : String(err); }
  return 'ok';
}

test('seal → encode → decode → open round-trips for rw and ro; E can verify', () => {
  const sealed = sealRecord(W, record);
  const decoded = decodeSealedRecord(encodeSealedRecord(sealed));
  assert.deepEqual(decoded, sealed);
  assert.deepEqual(openRecord(W, decoded), record);
  assert.deepEqual(openRecord(R, decoded), record);
  verifyRecord(E, decoded);
  assert.equal(code(() => openRecord(E, decoded)), 'ERR_FOLDER_TYPE');
  assert.equal(code(() => sealRecord(R, record)), 'ERR_FOLDER_TYPE');
});

test('clear fields: locator hides the path, vector and block ids are visible', () => {
  const sealed = sealRecord(W, record);
  assert.deepEqual(sealed.locator, locatorFor(R, record.path));
  assert.deepEqual(sealed.version, record.version);
  assert.deepEqual(sealed.blockIds, record.blocks.map((b) => b.id));
  const bytes = Buffer.from(encodeSealedRecord(sealed));
  assert.equal(bytes.includes(Buffer.from('résumé')), false);
  assert.equal(bytes.includes(Buffer.from('Docs')), false);
});

test('sealing is deterministic; NFD and NFC paths share a locator', () => {
  assert.deepEqual(sealRecord(W, record), sealRecord(W, record));
  assert.deepEqual(locatorFor(W, 'Docs/re\u0301sume\u0301.txt'), locatorFor(W, record.path));
});

test('sealRecordBytes gives exactly encodeSealedRecord(sealRecord(…)), and refuses what sealRecord refuses', () => {
  const tomb: FileRecord = { ...record, blocks: [], size: 0, deleted: true };
  for (const r of [record, tomb]) assert.deepEqual(sealRecordBytes(W, r), encodeSealedRecord(sealRecord(W, r)));
  // With the locator the caller already computed: the same bytes.
  for (const r of [record, tomb]) assert.deepEqual(sealRecordBytes(W, r, locatorFor(W, r.path)), encodeSealedRecord(sealRecord(W, r)));
  assert.equal(code(() => sealRecordBytes(R, record)), 'ERR_FOLDER_TYPE');
  assert.equal(code(() => sealRecordBytes(W, { ...record, path: '../x' })), code(() => sealRecord(W, { ...record, path: '../x' })));
});

test('symlinks, directories and tombstones round-trip', () => {
  const cases: FileRecord[] = [
    { ...record, path: 'link', kind: 'symlink', size: 0, blocks: [], symlinkTarget: '../elsewhere/x' },
    { ...record, path: 'dir/sub', kind: 'dir', size: 0, mode: 0o755, blocks: [] },
    { ...record, deleted: true, blocks: [], size: 0, mtimeMs: -5 },
  ];
  for (const r of cases) assert.deepEqual(openRecord(R, decodeSealedRecord(encodeSealedRecord(sealRecord(W, r)))), r);
});

test('a bit flip in every region (locator, vector, block ids, body, signature) fails verification', () => {
  const bytes = encodeSealedRecord(sealRecord(W, record));
  const regions: Record<string, number[]> = {
    header: [0, 1, 2, 3],
    locator: [4, 21, 35],
    vector: [36, 37, 38, 46, 53, 61],
    blockIds: [70, 74, 101, 137],
  };
  const bodyStart = 4 + 32 + 2 + 2 * 16 + 4 + 2 * 32 + 4;
  regions.body = [bodyStart, bodyStart + 5, bodyStart + 20, bytes.byteLength - 65];
  regions.signature = [bytes.byteLength - 64, bytes.byteLength - 30, bytes.byteLength - 1];
  regions.bodyLength = [bodyStart - 1];
  regions.blockCount = [bodyStart - 4 - 64 - 1];
  let flips = 0;
  for (const [region, positions] of Object.entries(regions)) {
    for (const pos of positions) {
      for (const bit of [0, 7]) {
        const bad = bytes.slice();
        bad[pos] = (bad[pos] as number) ^ (1 << bit);
        const c = code(() => verifyRecord(E, decodeSealedRecord(bad)));
        assert.notEqual(c, 'ok', `flip in ${region} at ${pos} bit ${bit} was accepted`);
        assert.ok(c.startsWith('ERR_'), `flip in ${region}: ${c}`);
        flips++;
      }
    }
  }
  // An exhaustive pass over every byte as well (one bit each), to leave no gap between regions.
  for (let pos = 0; pos < bytes.byteLength; pos++) {
    const bad = bytes.slice();
    bad[pos] = (bad[pos] as number) ^ 0x10;
    assert.notEqual(code(() => openRecord(R, decodeSealedRecord(bad))), 'ok', `flip at ${pos} accepted`);
    flips++;
  }
  assert.ok(flips > 200);
});

test('field tampering of a decoded record fails with ERR_SIGNATURE', () => {
  const s = sealRecord(W, record);
  const tampered: SealedRecord[] = [
    { ...s, version: [{ id: '00000000000000aa', value: 3 }, { id: 'ffffffffffffff01', value: 7 }] },
    { ...s, blockIds: [s.blockIds[1] as Uint8Array, s.blockIds[0] as Uint8Array] },
    { ...s, locator: locatorFor(W, 'other.txt') },
  ];
  for (const t of tampered) assert.equal(code(() => verifyRecord(E, t)), 'ERR_SIGNATURE');
});

test('a record signed by another folder fails, and so does one replayed into another folder', () => {
  const foreign = sealRecord(OTHER, record);
  assert.equal(code(() => verifyRecord(E, foreign)), 'ERR_SIGNATURE');
  assert.equal(code(() => openRecord(R, foreign)), 'ERR_SIGNATURE');
  const mine = sealRecord(W, record);
  assert.equal(code(() => verifyRecord({ publicKey: W.publicKey, folderId: OTHER.folderId }, mine)), 'ERR_SIGNATURE');
});

test('decoder is strict: versions, algorithms, trailing bytes, truncation', () => {
  const bytes = encodeSealedRecord(sealRecord(W, record));
  const set = (pos: number, v: number) => { const b = bytes.slice(); b[pos] = v; return b; };
  assert.equal(code(() => decodeSealedRecord(set(0, 1))), 'ERR_FORMAT_VERSION'); // v1 (unpadded) records are refused
  assert.equal(code(() => decodeSealedRecord(set(1, 2))), 'ERR_FORMAT_ALGORITHM');
  assert.equal(code(() => decodeSealedRecord(set(2, 2))), 'ERR_FORMAT_ALGORITHM');
  const longer = new Uint8Array(bytes.byteLength + 1);
  longer.set(bytes);
  assert.equal(code(() => decodeSealedRecord(longer)), 'ERR_FORMAT_TRUNCATED');
  for (let n = 0; n < bytes.byteLength; n += 7) assert.equal(code(() => decodeSealedRecord(bytes.subarray(0, n))), 'ERR_FORMAT_TRUNCATED');
  // vector entries out of order are malformed even though each is well-formed
  const swapped = bytes.slice();
  swapped.set(bytes.subarray(37, 53), 53);
  swapped.set(bytes.subarray(53, 69), 37);
  assert.equal(code(() => decodeSealedRecord(swapped)), 'ERR_FORMAT_TRUNCATED');
});

// Found by fuzzing (test/fuzz, target record-bodies): a body naming hash algorithm 2
// opened as a record whose block hashes were then taken for SHA-256 digests, and that
// sealed back to another body.
test('a body whose block hashes name another hash algorithm is refused', () => {
  const sealed = sealRecord(W, record);
  const plain = recordBodyPlaintext(W, sealed);
  const outer = { file: sealed.file, locator: sealed.locator, version: sealed.version, blockIds: sealed.blockIds };
  // The helper seals exactly what sealRecord seals, so the altered body below differs in one byte only.
  assert.deepEqual(sealRecordBody(W, plain, outer), sealed);
  const blake = plain.slice();
  blake[3] = HASH_BLAKE2B_256;
  assert.equal(code(() => openRecord(W, sealRecordBody(W, blake, outer))), 'ERR_FORMAT_ALGORITHM');
  assert.equal(code(() => openRecord(R, sealRecordBody(W, blake, outer))), 'ERR_FORMAT_ALGORITHM');
});

test('limits and invalid records are refused when sealing', () => {
  assert.equal(code(() => sealRecord(W, { ...record, path: 'a/'.repeat(MAX_PATH_BYTES) + 'x' })), 'ERR_PATH_UNSAFE');
  for (const path of ['', '/abs', 'a//b', './a', 'a/../b', 'a\0b', 'e\u0301']) {
    assert.equal(code(() => sealRecord(W, { ...record, path })), 'ERR_PATH_UNSAFE', path);
  }
  const manyVector = Array.from({ length: MAX_VECTOR_ENTRIES + 1 }, (_, i) => ({ id: i.toString(16).padStart(16, '0'), value: 1 }));
  assert.equal(code(() => sealRecord(W, { ...record, version: manyVector })), 'ERR_FORMAT_TRUNCATED');
  assert.equal(code(() => sealRecord(W, { ...record, version: [{ id: 'XYZ', value: 1 }] })), 'ERR_FORMAT_TRUNCATED');
  assert.equal(code(() => sealRecord(W, { ...record, version: [{ id: '00000000000000aa', value: 0 }] })), 'ERR_FORMAT_TRUNCATED');
  assert.equal(code(() => sealRecord(W, { ...record, mode: 0o1777 })), 'ERR_INVALID_ARGUMENT');
  assert.equal(code(() => sealRecord(W, { ...record, size: -1 })), 'ERR_INVALID_ARGUMENT');
  assert.equal(code(() => sealRecord(W, { ...record, symlinkTarget: 'x' })), 'ERR_INVALID_ARGUMENT');
});

test('recordPadding: the padded length is what sealing gives; the padding is what the bucket adds to the unpadded record', () => {
  const variants: FileRecord[] = [];
  for (let n = 1; n <= 300; n += 7) variants.push({ ...record, path: `d/${'x'.repeat(n)}.txt` });
  variants.push({ ...record, blocks: [] }, { ...record, deleted: true, blocks: [], size: 0 }, { ...record, version: [{ id: '0000000000000001', value: 1 }] });
  variants.push({ path: 'link', kind: 'symlink', size: 0, mtimeMs: 0, mode: 0o777, blocks: [], version: [{ id: '00000000000000aa', value: 1 }], deleted: false, symlinkTarget: 'a/b/c' });
  for (const r of variants) {
    const p = recordPadding(r);
    assert.equal(p.padded, sealRecordBytes(W, r).byteLength, r.path);
    assert.equal(p.padded, padmeLength(p.unpadded), r.path);
    assert.ok(p.unpadded <= p.padded && p.bodyBytes < p.unpadded, r.path);
    // The padding is exactly the zero bytes after the body: one more byte of path and the record grows only at a bucket edge.
    const longer = recordPadding({ ...r, path: `${r.path}y` });
    assert.equal(longer.unpadded, p.unpadded + 1, r.path);
  }
});

// Issue 14: an encrypted server counted 53 files where its laptop had 54 (the
// empty file has no blocks, like a directory). The envelope says "live file".
test('the envelope flag says "live file", empty files too, and nothing else', () => {
  const base = { ...record, blocks: [], size: 0 };
  const cases: Array<[string, FileRecord, boolean]> = [
    ['a file with blocks', record, true],
    ['an empty file', base, true],
    ['a directory', { ...base, kind: 'dir' }, false],
    ['a symlink', { ...base, kind: 'symlink', symlinkTarget: 'x' }, false],
    ['a deleted file', { ...base, deleted: true }, false],
    ['a deleted directory', { ...base, kind: 'dir', deleted: true }, false],
  ];
  for (const [what, r, file] of cases) {
    const bytes = sealRecordBytes(W, r);
    assert.equal(decodeSealedRecord(bytes).file, file, what);
    assert.equal(sealedRecordIsFile(bytes), file, `${what}: read from the bytes`);
    assert.equal(bytes[3], file ? 1 : 0, `${what}: offset 3`);
    assert.deepEqual(openRecord(R, decodeSealedRecord(bytes)), r, what);
  }
  // An empty file and a directory differ in the flag only (same bucket): that bit is all the server learns.
  const [emptyFile, dir] = [sealRecordBytes(W, base), sealRecordBytes(W, { ...base, kind: 'dir' })];
  assert.equal(emptyFile.byteLength, dir.byteLength);
  assert.equal(sealedRecordIsFile(new Uint8Array(0)), false);
});

test('an envelope flag that is unknown, or says other than the body, is refused', () => {
  const bytes = sealRecordBytes(W, record);
  const unknown = bytes.slice();
  unknown[3] = 5;
  assert.throws(() => decodeSealedRecord(unknown), /unknown envelope flags/);
  const noFlag = bytes.slice();
  noFlag[3] = 0;
  assert.throws(() => decodeSealedRecord(noFlag), /only a live file has blocks/);
  // A W holder that signs a flag its body contradicts: every full peer refuses the record.
  const empty = sealRecord(W, { ...record, blocks: [], size: 0 });
  const plain = recordBodyPlaintext(W, empty);
  const lying = sealRecordBody(W, plain, { file: false, locator: empty.locator, version: empty.version, blockIds: [] }, { pad: false });
  verifyRecord(E, lying);
  assert.throws(() => openRecord(R, lying), /envelope flag does not match its kind/);
  const dir = sealRecord(W, { ...record, kind: 'dir', blocks: [], size: 0 });
  const claimsFile = sealRecordBody(W, recordBodyPlaintext(W, dir), { file: true, locator: dir.locator, version: dir.version, blockIds: [] }, { pad: false });
  assert.throws(() => openRecord(R, claimsFile), /envelope flag does not match its kind/);
  assert.throws(() => encodeSealedRecord({ ...sealRecord(W, record), file: false }), /only a live file has blocks/);
});

test('a record may withhold its block ids: it keeps the count, opens with null ids, and is one encoding', () => {
  const withheld: FileRecord = { ...record, blocks: record.blocks.map((b) => ({ ...b, id: null })) };
  const bytes = sealRecordBytes(W, withheld);
  assert.equal(bytes[3], 3, 'envelope flags: live file, ids withheld');
  assert.equal(sealedRecordWithholdsIds(bytes), true);
  assert.equal(sealedRecordWithholdsIds(sealRecordBytes(W, record)), false);
  const decoded = decodeSealedRecord(bytes);
  assert.deepEqual([decoded.idsWithheld, decoded.blockCount, decoded.blockIds.length], [true, 2, 0]);
  assert.equal(sealedBlockCount(decoded), 2);
  verifyRecord(E, decoded);
  assert.deepEqual(openRecord(R, decoded), withheld);
  assert.deepEqual(encodeSealedRecord(decoded), bytes);
  // Smaller than the complete form by the ids (to within the size bucket).
  assert.ok(bytes.byteLength < sealRecordBytes(W, record).byteLength);
  // The same version with and without ids: two signed forms of one body.
  assert.deepEqual(openRecord(R, decodeSealedRecord(sealRecordBytes(W, record))), record);
  // A mix of known and withheld ids is a caller's bug, refused before anything is signed.
  const mixed: FileRecord = { ...record, blocks: [record.blocks[0]!, { ...record.blocks[1]!, id: null }] };
  assert.equal(code(() => sealRecordBytes(W, mixed)), 'ERR_INVALID_ARGUMENT');
  // The flag without blocks (a directory, a tombstone) is not a form a record can take.
  const dir = sealRecordBytes(W, { ...record, kind: 'dir', blocks: [], size: 0 });
  const flagged = dir.slice();
  flagged[3] = 2;
  assert.throws(() => decodeSealedRecord(flagged), /withheld block ids on a record without blocks/);
  // Flipping the flag on a signed record breaks its signature (and its length).
  const flipped = sealRecordBytes(W, record).slice();
  flipped[3] = 3;
  assert.notEqual(code(() => verifyRecord(E, decodeSealedRecord(flipped))), 'ok');
});
