import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accessProof, verifyAccessProof } from './access-proof.js';
import { deriveEncrypted, keysFromSecret } from './keys.js';

const keys = keysFromSecret(new Uint8Array(32).fill(9));
const other = keysFromSecret(new Uint8Array(32).fill(10));
const exporter = new Uint8Array(32).fill(0xee);

test('a proof verifies for the same secret, session, folder and direction only', () => {
  const A = keys.accessSecret;
  const proof = accessProof(A, exporter, keys.folderId, 'client');
  assert.equal(proof.byteLength, 32);
  assert.equal(verifyAccessProof(deriveEncrypted(keys).accessSecret, exporter, keys.folderId, 'client', proof), true);
  assert.equal(verifyAccessProof(A, exporter, keys.folderId, 'server', proof), false, 'reflected proof');
  assert.equal(verifyAccessProof(A, new Uint8Array(32).fill(0xef), keys.folderId, 'client', proof), false, 'other session');
  assert.equal(verifyAccessProof(A, exporter, other.folderId, 'client', proof), false, 'other folder');
  assert.equal(verifyAccessProof(other.accessSecret, exporter, keys.folderId, 'client', proof), false, 'other secret');
  assert.equal(verifyAccessProof(A, exporter, keys.folderId, 'client', proof.subarray(0, 31)), false, 'short proof');
});

test('too-short exporter values are refused', () => {
  assert.throws(() => accessProof(keys.accessSecret, new Uint8Array(16), keys.folderId, 'client'));
});
