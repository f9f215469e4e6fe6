import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isSealsyncError } from '../errors.js';
import { toHex } from './bytes.js';
import { DEFAULT_HASH, HASH_BLAKE2B_256, HASH_SHA256, createDigest, digest } from './hash.js';

const abc = new TextEncoder().encode('abc');

test('SHA-256 is the default and matches the FIPS 180-2 "abc" vector', () => {
  assert.equal(DEFAULT_HASH, HASH_SHA256);
  assert.equal(toHex(digest(abc)), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('BLAKE2b id is BLAKE2b-512 truncated to 32 bytes (RFC 7693 "abc" vector prefix)', () => {
  assert.equal(toHex(digest(abc, HASH_BLAKE2B_256)), 'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1');
});

test('incremental digest equals one-shot digest for both algorithms', () => {
  const data = Uint8Array.from({ length: 100_000 }, (_, i) => i & 0xff);
  for (const alg of [HASH_SHA256, HASH_BLAKE2B_256]) {
    const h = createDigest(alg);
    h.update(data.subarray(0, 333));
    h.update(data.subarray(333));
    assert.deepEqual(h.digest(), digest(data, alg));
  }
});

test('unknown algorithm id is ERR_FORMAT_ALGORITHM', () => {
  assert.throws(() => digest(abc, 3), (err) => isSealsyncError(err, 'ERR_FORMAT_ALGORITHM'));
  assert.throws(() => digest(abc, 0), (err) => isSealsyncError(err, 'ERR_FORMAT_ALGORITHM'));
});
