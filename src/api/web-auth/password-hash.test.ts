import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword, parseStoredHash, validateNewPassword, SCRYPT_N } from './password-hash.js';
import { isSealsyncError } from '../../errors.js';

const FAST = { N: 1024, r: 8, p: 1 };

test('default parameters produce scrypt$N$r$p$salt$hash that verifies', async () => {
  const stored = await hashPassword('correct horse battery');
  const parts = stored.split('$');
  assert.equal(parts.length, 6);
  assert.deepEqual(parts.slice(0, 4), ['scrypt', String(SCRYPT_N), '8', '1']);
  assert.ok(!stored.includes('correct horse'));
  assert.equal(await verifyPassword('correct horse battery', stored), true);
  assert.equal(await verifyPassword('correct horse batterY', stored), false);
});

test('the same password hashes differently each time (random salt)', async () => {
  const a = await hashPassword('same password', FAST);
  const b = await hashPassword('same password', FAST);
  assert.notEqual(a, b);
  assert.equal(await verifyPassword('same password', a), true);
  assert.equal(await verifyPassword('same password', b), true);
});

test('unicode passwords are normalised (NFC) before hashing', async () => {
  const stored = await hashPassword('caf\u00e9-passw0rd', FAST);
  assert.equal(await verifyPassword('cafe\u0301-passw0rd', stored), true);
});

test('empty, short and oversized passwords are ERR_PASSWORD', async () => {
  for (const bad of ['', 'short', 'x'.repeat(1025), undefined, 42]) {
    assert.throws(() => validateNewPassword(bad), (e) => isSealsyncError(e, 'ERR_PASSWORD'));
  }
  await assert.rejects(hashPassword(''), (e) => isSealsyncError(e, 'ERR_PASSWORD'));
  assert.equal(validateNewPassword('12345678'), '12345678');
});

test('malformed or unbounded stored hashes never verify', async () => {
  const good = await hashPassword('good password', FAST);
  const [, , r, p, salt, hash] = good.split('$');
  const bad = [
    '', 'plaintext', `bcrypt$1024$${r}$${p}$${salt}$${hash}`,
    `scrypt$1000$${r}$${p}$${salt}$${hash}`, // N not a power of two
    `scrypt$${2 ** 24}$${r}$${p}$${salt}$${hash}`, // N beyond the bound: would allocate gigabytes
    `scrypt$1024$999$${p}$${salt}$${hash}`,
    `scrypt$1024$${r}$${p}$${salt}`,
    `scrypt$1024$${r}$${p}$${salt}$not+base64url!`,
  ];
  for (const stored of bad) {
    assert.equal(parseStoredHash(stored), null, stored);
    assert.equal(await verifyPassword('good password', stored), false);
  }
  assert.equal(await verifyPassword('', good), false);
});
