import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import { deriveReadOnly, keysFromSecret } from './keys.js';
import { digest } from './hash.js';
import { randomBytes } from 'node:crypto';
import { SEALED_BLOCK_OVERHEAD, openBlock, sealBlock, sealedBlockId, verifySealedBlock } from './sealed-block.js';

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
  assert.equal(sealed.byteLength, data.byteLength + SEALED_BLOCK_OVERHEAD);
  assert.deepEqual([...sealed.subarray(0, 3)], [1, 1, 1]);
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
  assert.equal(code(() => openBlock(kA, s.sealed, { id: new Uint8Array(32), hash: s.hash })), 'ERR_BLOCK_ID');
  assert.equal(code(() => openBlock(folderB.contentKey as Uint8Array, s.sealed, s)), 'ERR_DECRYPT');
  assert.equal(code(() => openBlock(kA, s.sealed, { id: s.id, hash: new Uint8Array(32) })), 'ERR_DECRYPT');
  const flipped = s.sealed.slice();
  flipped[10] = (flipped[10] as number) ^ 0x80;
  assert.equal(code(() => openBlock(kA, flipped, { id: digest(flipped), hash: s.hash })), 'ERR_DECRYPT');
  const v2 = s.sealed.slice(); v2[0] = 2;
  assert.equal(code(() => openBlock(kA, v2, { id: digest(v2), hash: s.hash })), 'ERR_FORMAT_VERSION');
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
  assert.equal(code(() => openBlock(kA, flipped, { id: digest(flipped), hash: s.hash }, fast)), 'ERR_DECRYPT');
  assert.equal(code(() => openBlock(kA, s.sealed, { id: s.id, hash: new Uint8Array(32) }, fast)), 'ERR_DECRYPT');
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
  const { id, hash, sealed } = sealBlock(kA, data);
  const out = new Uint8Array(data.byteLength).fill(0xee);
  const plain = openBlock(kA, sealed, { id, hash }, { output: out, verifyPlaintextHash: false });
  assert.equal(plain.buffer, out.buffer);
  assert.deepEqual(plain, data);
  assert.throws(() => openBlock(kA, sealed, { id, hash }, { output: new Uint8Array(data.byteLength - 1) }), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
  const tampered = Uint8Array.from(sealed);
  tampered[tampered.length - 1]! ^= 1;
  assert.throws(
    () => openBlock(kA, tampered, { id: digest(tampered), hash }, { output: out, verifyPlaintextHash: false }),
    (e) => isSealsyncError(e, 'ERR_DECRYPT'),
  );
  const empty = sealBlock(kA, new Uint8Array(0));
  assert.equal(openBlock(kA, empty.sealed, empty, { output: new Uint8Array(0) }).byteLength, 0);
});

test('sealBlock into a caller buffer gives the same bytes and id; a wrong length is refused', () => {
  const plain = sealBlock(kA, data);
  const out = new Uint8Array(data.byteLength + SEALED_BLOCK_OVERHEAD);
  const into = sealBlock(kA, data, undefined, out);
  assert.equal(into.sealed.buffer, out.buffer);
  assert.deepEqual(into.sealed, plain.sealed);
  assert.deepEqual(into.id, plain.id);
  assert.throws(() => sealBlock(kA, data, undefined, new Uint8Array(data.byteLength)), (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'));
});
