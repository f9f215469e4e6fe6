import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import { deriveReadOnly, keysFromSecret } from './keys.js';
import { digest } from './hash.js';
import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { MAX_SEALED_BLOCK_BYTES, SEALED_BLOCK_OVERHEAD, openBlock, sealBlock, sealedBlockId, sealedBlockSize, verifySealedBlock } from './sealed-block.js';
import { isBucketLength, padmeLength } from './size-buckets.js';
import { MAX_CHUNK_SIZE } from '../fs/chunker.js';

const folderA = keysFromSecret(new Uint8Array(32).fill(1));
const folderB = keysFromSecret(new Uint8Array(32).fill(2));
const kA = folderA.contentKey as Uint8Array;
const data = Uint8Array.from({ length: 700_000 }, (_, i) => (i * 7919) & 0xff);

test('sealing is deterministic within a folder and differs across folders', () => {
  const one = sealBlock(kA, data);
  const two = sealBlock(kA, data);
  assert.deepEqual(one.sealed, two.sealed);
  assert.deepEqual(one.id, two.id);
  const other = sealBlock(folderB.contentKey as Uint8Array, data);
  assert.notDeepEqual(other.sealed, one.sealed);
  assert.notDeepEqual(other.id, one.id);
  assert.deepEqual(other.hash, one.hash);
});

test('layout: header, ciphertext, tag; id is the digest of the sealed bytes', () => {
  const { id, hash, sealed } = sealBlock(kA, data);
  assert.equal(sealed.byteLength, padmeLength(data.byteLength + SEALED_BLOCK_OVERHEAD));
  assert.ok(sealed.byteLength > data.byteLength + SEALED_BLOCK_OVERHEAD, 'this size needs padding');
  assert.deepEqual([...sealed.subarray(0, 3)], [2, 1, 1]);
  assert.deepEqual(id, digest(sealed));
  assert.deepEqual(hash, digest(data));
  assert.notDeepEqual(sealed.subarray(3, 3 + 64), data.subarray(0, 64));
});

test('a read-only peer opens what a read-write peer sealed; a supplied hash is used as is', () => {
  const s = sealBlock(kA, data, digest(data));
  assert.deepEqual(s, sealBlock(kA, data));
  assert.deepEqual(openBlock(deriveReadOnly(folderA).contentKey as Uint8Array, s.sealed, s), data);
});

test('empty and tiny blocks work', () => {
  for (const n of [0, 1, 15, 16, 17]) {
    const p = data.subarray(0, n);
    const s = sealBlock(kA, p);
    assert.deepEqual(openBlock(kA, s.sealed, s), p);
  }
});

test('verifySealedBlock: hash check only, catches any flipped bit', () => {
  const s = sealBlock(kA, data.subarray(0, 4096));
  assert.equal(verifySealedBlock(s.sealed, s.id), true);
  for (const pos of [3, 100, s.sealed.byteLength - 1]) {
    const bad = s.sealed.slice();
    bad[pos] = (bad[pos] as number) ^ 1;
    assert.equal(verifySealedBlock(bad, s.id), false);
  }
});

test('openBlock: wrong id, wrong key, wrong hash, tampering and bad headers fail with their codes', () => {
  const s = sealBlock(kA, data.subarray(0, 4096));
  const code = (f: () => unknown) => { try { f(); } catch (err) { return isSealsyncError(err) ? err.code : String(err); } return 'ok'; };
  assert.equal(code(() => openBlock(kA, s.sealed, { id: new Uint8Array(32), hash: s.hash, size: s.size })), 'ERR_BLOCK_ID');
  assert.equal(code(() => openBlock(folderB.contentKey as Uint8Array, s.sealed, s)), 'ERR_DECRYPT');
  assert.equal(code(() => openBlock(kA, s.sealed, { id: s.id, hash: new Uint8Array(32), size: s.size })), 'ERR_DECRYPT');
  const flipped = s.sealed.slice();
  flipped[10] = (flipped[10] as number) ^ 0x80;
  assert.equal(code(() => openBlock(kA, flipped, { id: digest(flipped), hash: s.hash, size: s.size })), 'ERR_DECRYPT');
  const v1 = s.sealed.slice(); v1[0] = 1;
  assert.equal(code(() => openBlock(kA, v1, { id: digest(v1), hash: s.hash, size: s.size })), 'ERR_FORMAT_VERSION');
  const h9 = s.sealed.slice(); h9[1] = 9;
  assert.equal(code(() => verifySealedBlock(h9, s.id)), 'ERR_FORMAT_ALGORITHM');
  const a9 = s.sealed.slice(); a9[2] = 9;
  assert.equal(code(() => verifySealedBlock(a9, s.id)), 'ERR_FORMAT_ALGORITHM');
  assert.equal(code(() => verifySealedBlock(s.sealed.subarray(0, 18), s.id)), 'ERR_FORMAT_TRUNCATED');
});

test('openBlock without the plaintext re-hash still refuses tampering by id or tag', () => {
  const s = sealBlock(kA, data.subarray(0, 4096));
  const fast = { verifyPlaintextHash: false } as const;
  const code = (f: () => unknown) => { try { f(); } catch (err) { return isSealsyncError(err) ? err.code : String(err); } return 'ok'; };
  assert.deepEqual(openBlock(kA, s.sealed, s, fast), data.subarray(0, 4096));
  const flipped = s.sealed.slice();
  flipped[10] = (flipped[10] as number) ^ 0x80;
  // The id from the signed record no longer matches the bytes.
  assert.equal(code(() => openBlock(kA, flipped, s, fast)), 'ERR_BLOCK_ID');
  // Even with an id recomputed over the tampered bytes, the GCM tag fails.
  assert.equal(code(() => openBlock(kA, flipped, { id: digest(flipped), hash: s.hash, size: s.size }, fast)), 'ERR_DECRYPT');
  assert.equal(code(() => openBlock(kA, s.sealed, { id: s.id, hash: new Uint8Array(32), size: s.size }, fast)), 'ERR_DECRYPT');
});

test('only the full check catches a block a key holder sealed under another plaintext hash', () => {
  // What only a holder of the content key can make: plaintext B encrypted under
  // the key derived from A's hash. The fast path accepts it (the threat model
  // leaves write-key holders out); the default full check refuses it.
  const a = data.subarray(0, 1000);
  const b = data.subarray(1000, 2000);
  const forged = sealBlock(kA, b, digest(a));
  assert.deepEqual(openBlock(kA, forged.sealed, forged, { verifyPlaintextHash: false }), b);
  assert.throws(() => openBlock(kA, forged.sealed, forged), (err) => isSealsyncError(err) && err.code === 'ERR_DECRYPT');
});

test('sealedBlockId gives the id and hash of sealBlock for every size (slice edges included)', () => {
  const key = randomBytes(32);
  for (const size of [0, 1, 32 * 1024 - 1, 32 * 1024, 32 * 1024 + 1, 256 * 1024 + 7, 600 * 1024]) {
    const plain = randomBytes(size);
    const full = sealBlock(key, plain);
    const idOnly = sealedBlockId(key, plain);
    assert.deepEqual(Buffer.from(idOnly.id), Buffer.from(full.id), `id, ${size} bytes`);
    assert.deepEqual(Buffer.from(idOnly.hash), Buffer.from(full.hash), `hash, ${size} bytes`);
    assert.ok(verifySealedBlock(full.sealed, idOnly.id));
  }
});

test('openBlock into a caller buffer: same plaintext, same checks, wrong length refused', () => {
  const { id, hash, size, sealed } = sealBlock(kA, data);
  const out = new Uint8Array(data.byteLength).fill(0xee);
  const plain = openBlock(kA, sealed, { id, hash, size }, { output: out, verifyPlaintextHash: false });
  assert.equal(plain.buffer, out.buffer);
  assert.deepEqual(plain, data);
  assert.throws(() => openBlock(kA, sealed, { id, hash, size }, { output: new Uint8Array(data.byteLength - 1) }), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
  const tampered = Uint8Array.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(
    () => openBlock(kA, tampered, { id: digest(tampered), hash, size }, { output: out, verifyPlaintextHash: false }),
    (e) => isSealsyncError(e, 'ERR_DECRYPT'),
  );
  const empty = sealBlock(kA, new Uint8Array(0));
  assert.equal(openBlock(kA, empty.sealed, empty, { output: new Uint8Array(0) }).byteLength, 0);
});

test('sealBlock into a caller buffer gives the same bytes and id; a wrong length is refused', () => {
  const plain = sealBlock(kA, data);
  const out = new Uint8Array(sealedBlockSize(data.byteLength));
  const into = sealBlock(kA, data, undefined, out);
  assert.equal(into.sealed.buffer, out.buffer);
  assert.deepEqual(into.sealed, plain.sealed);
  assert.deepEqual(into.id, plain.id);
  assert.throws(() => sealBlock(kA, data, undefined, new Uint8Array(data.byteLength)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
});

test('v2 padding: every sealed size is a Padmé bucket, for every plaintext size from 0 to 70,000 and at the chunk limits', () => {
  const sizes = [...Array.from({ length: 70_001 }, (_, i) => i), 128 * 1024, 512 * 1024 - 1, MAX_CHUNK_SIZE];
  for (const n of sizes) {
    const bucket = sealedBlockSize(n);
    assert.ok(isBucketLength(bucket), `size ${n} -> ${bucket}`);
    assert.ok(bucket >= n + SEALED_BLOCK_OVERHEAD && bucket <= MAX_SEALED_BLOCK_BYTES);
  }
  assert.equal(sealedBlockSize(MAX_CHUNK_SIZE), MAX_SEALED_BLOCK_BYTES);
  const key = randomBytes(32);
  for (const n of [0, 1, 13, 100, 1000, 4097, 33_333, 131_072, 200_001, 524_288]) {
    const s = sealBlock(key, randomBytes(n));
    assert.ok(isBucketLength(s.sealed.byteLength), `sealed ${n} bytes -> ${s.sealed.byteLength}`);
    assert.equal(s.sealed.byteLength, sealedBlockSize(n));
  }
});

test('v2 padding: distinct plaintext sizes share a sealed size (a bucket hides the exact size)', () => {
  const key = randomBytes(32);
  const sizes = new Set([130_000, 130_500, 131_000].map((n) => sealBlock(key, randomBytes(n)).sealed.byteLength));
  assert.equal(sizes.size, 1);
});

test('v2 padding: the opener refuses a wrong record size, a non-bucket size and non-zero padding', () => {
  const code = (f: () => unknown) => { try { f(); } catch (err) { return isSealsyncError(err) ? err.code : String(err); } return 'ok'; };
  const s = sealBlock(kA, data.subarray(0, 5000));
  assert.equal(s.sealed.byteLength > 5000 + SEALED_BLOCK_OVERHEAD, true);
  // Another size in the same bucket: the id still matches, the AEAD does not let it through.
  assert.equal(code(() => openBlock(kA, s.sealed, { ...s, size: 5001 })), 'ERR_DECRYPT');
  // A size of another bucket.
  assert.equal(code(() => openBlock(kA, s.sealed, { ...s, size: 100 })), 'ERR_BLOCK_ID');
  for (const size of [-1, 1.5, Number.NaN, MAX_CHUNK_SIZE + 1]) assert.equal(code(() => openBlock(kA, s.sealed, { ...s, size })), 'ERR_INVALID_ARGUMENT');
  // Cut to a non-bucket length: refused before hashing, by encrypted peers too.
  const cut = s.sealed.subarray(0, s.sealed.byteLength - 1);
  assert.equal(code(() => verifySealedBlock(cut, digest(cut))), 'ERR_FORMAT_TRUNCATED');
  // A key holder who pads with non-zeros: one plaintext under one key must have one encoding.
  const key = randomBytes(32);
  const plain = randomBytes(5000);
  const honest = sealBlock(key, plain);
  const padLen = honest.sealed.byteLength - SEALED_BLOCK_OVERHEAD - 5000;
  const header = Buffer.from(honest.sealed.subarray(0, 3));
  const cipher = createCipheriv('aes-256-gcm', createHmac('sha256', key).update(honest.hash).digest(), Buffer.alloc(12));
  cipher.setAAD(header);
  const forged = Buffer.concat([header, cipher.update(Buffer.concat([plain, Buffer.alloc(padLen, 7)])), cipher.final(), cipher.getAuthTag()]);
  assert.equal(forged.byteLength, honest.sealed.byteLength);
  assert.equal(code(() => openBlock(key, forged, { id: digest(forged), hash: honest.hash, size: 5000 }, { verifyPlaintextHash: false })), 'ERR_DECRYPT');
  // The same construction with zeros is exactly the honest block (the format check above is the only difference).
  const c2 = createCipheriv('aes-256-gcm', createHmac('sha256', key).update(honest.hash).digest(), Buffer.alloc(12));
  c2.setAAD(header);
  const same = Buffer.concat([header, c2.update(Buffer.concat([plain, Buffer.alloc(padLen)])), c2.final(), c2.getAuthTag()]);
  assert.deepEqual(new Uint8Array(same), honest.sealed);
});

test('v1 blocks (no padding, version 1) are refused with ERR_FORMAT_VERSION', () => {
  const s = sealBlock(kA, data.subarray(0, 4096));
  const v1 = Buffer.concat([Uint8Array.of(1, 1, 1), s.sealed.subarray(3, 3 + 4096 + 16)]);
  assert.throws(() => verifySealedBlock(v1, digest(v1)), (e) => isSealsyncError(e, 'ERR_FORMAT_VERSION'));
});
