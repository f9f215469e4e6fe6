import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sign, verify } from 'node:crypto';
import { isSealsyncError } from '../errors.js';
import {
  deriveEncrypted,
  deriveReadOnly,
  ed25519PrivateKey,
  ed25519PublicKey,
  keysFromAccessSecret,
  keysFromReadSecret,
  keysFromSecret,
  newFolderSecret,
} from './keys.js';

const S = Uint8Array.from({ length: 32 }, (_, i) => i);

test('rw keys carry everything, ro drops S and the signing seed, encrypted keeps only A and pk', () => {
  const w = keysFromSecret(S);
  assert.equal(w.type, 'rw');
  for (const k of [w.secret, w.signingSeed, w.readSecret, w.contentKey, w.nameKey, w.metadataKey, w.chunkKey, w.accessSecret, w.publicKey, w.folderId]) {
    assert.equal(k?.byteLength, 32);
  }
  const r = deriveReadOnly(w);
  assert.equal(r.type, 'ro');
  assert.equal(r.secret, undefined);
  assert.equal(r.signingSeed, undefined);
  assert.deepEqual(r.contentKey, w.contentKey);
  assert.deepEqual(r.nameKey, w.nameKey);
  assert.deepEqual(r.metadataKey, w.metadataKey);
  assert.deepEqual(r.chunkKey, w.chunkKey);
  const e = deriveEncrypted(w);
  assert.equal(e.type, 'encrypted');
  assert.deepEqual(Object.keys(e).sort(), ['accessSecret', 'folderId', 'publicKey', 'type']);
  assert.deepEqual(e.folderId, w.folderId);
});

test('derive-encrypted(W) == derive-encrypted(derive-read-only(W)); all share one folder id', () => {
  const w = keysFromSecret(newFolderSecret());
  const viaR = deriveEncrypted(deriveReadOnly(w));
  const direct = deriveEncrypted(w);
  assert.deepEqual(viaR, direct);
  assert.deepEqual(deriveReadOnly(w).folderId, w.folderId);
});

test('keys only derive downward: E cannot give R, R cannot give R (or W), E cannot give E', () => {
  const w = keysFromSecret(S);
  const r = deriveReadOnly(w);
  const e = deriveEncrypted(r);
  assert.throws(() => deriveReadOnly(e), (err) => isSealsyncError(err, 'ERR_KEY_DERIVE'));
  assert.throws(() => deriveReadOnly(r), (err) => isSealsyncError(err, 'ERR_KEY_DERIVE'));
  assert.throws(() => deriveEncrypted(e), (err) => isSealsyncError(err, 'ERR_KEY_DERIVE'));
});

test('different secrets give different folders; labels separate every derived key', () => {
  const a = keysFromSecret(S);
  const b = keysFromSecret(newFolderSecret());
  assert.notDeepEqual(a.folderId, b.folderId);
  const derived = [a.signingSeed, a.readSecret, a.contentKey, a.nameKey, a.metadataKey, a.chunkKey, a.accessSecret].map((k) => Buffer.from(k as Uint8Array).toString('hex'));
  assert.equal(new Set(derived).size, derived.length);
});

test('the signing seed makes an Ed25519 key whose public half is pk', () => {
  const w = keysFromSecret(S);
  const msg = Buffer.from('hello');
  const sig = sign(null, msg, ed25519PrivateKey(w.signingSeed as Uint8Array));
  assert.ok(verify(null, msg, ed25519PublicKey(w.publicKey), sig));
});

test('constructors reject wrong lengths', () => {
  assert.throws(() => keysFromSecret(new Uint8Array(31)), (err) => isSealsyncError(err, 'ERR_KEY_LENGTH'));
  assert.throws(() => keysFromReadSecret(new Uint8Array(32), new Uint8Array(33)), (err) => isSealsyncError(err, 'ERR_KEY_LENGTH'));
  assert.throws(() => keysFromAccessSecret(new Uint8Array(0), new Uint8Array(32)), (err) => isSealsyncError(err, 'ERR_KEY_LENGTH'));
});
