import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deriveEncrypted, deriveReadOnly, formatDeviceId, formatKey, keyLink, keysFromSecret, newFolderSecret } from '../crypto/index.js';
import { isSealsyncError } from '../errors.js';
import { parseHostPort, parsePeerAddress, refuseKeyAsAddress } from './address.js';

const keys = keysFromSecret(newFolderSecret());
const W = formatKey(keys);
const R = formatKey(deriveReadOnly(keys));
const E = formatKey(deriveEncrypted(keys));

/** Every run of 8 characters of the key body: none may appear in the error. */
function assertNoKeyIn(message: string, key: string): void {
  const body = key.slice(1).toUpperCase();
  for (let i = 0; i + 8 <= body.length; i++) assert.ok(!message.toUpperCase().includes(body.slice(i, i + 8)), `error quotes the key: ${message}`);
}

test('a folder key given as a peer address is refused in one line that does not echo it', () => {
  const mistyped = W.slice(0, 20) + (W[20] === 'A' ? 'B' : 'A') + W.slice(21);
  const spellings = [
    W, R, E, W.toLowerCase(), ` ${W}\n`, W.replace(/(.{4})/g, '$1 ').trim(), W.replace(/(.{5})/g, '$1-'),
    keyLink(keys), keyLink(keys, { name: 'docs' }), mistyped, W.slice(0, 40),
  ];
  for (const text of spellings) {
    for (const parse of [parsePeerAddress, (t: string) => parseHostPort(t), refuseKeyAsAddress]) {
      assert.throws(() => parse(text), (e) => {
        assert.ok(isSealsyncError(e, 'ERR_ADDRESS'));
        assert.match(e.message, /looks like a folder key/);
        assert.ok(!e.message.includes('\n'));
        assertNoKeyIn(e.message, W);
        assertNoKeyIn(e.message, R);
        assertNoKeyIn(e.message, E);
        return true;
      }, JSON.stringify(text.slice(0, 12)));
    }
  }
});

test('addresses and device ids are not taken for keys', () => {
  assert.deepEqual(parsePeerAddress('tcp://127.0.0.1:22000'), { host: '127.0.0.1', port: 22000 });
  assert.deepEqual(parsePeerAddress('tcp://example.com:1'), { host: 'example.com', port: 1 });
  assert.deepEqual(parseHostPort('0.0.0.0:0', { allowZero: true }), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parsePeerAddress('tcp://wrestle-a-very-long-hostname-here-abcdefghijklmnop.example:5').port, 5);
  // Device ids that start with a key letter: `peer remove <device id>` must keep working.
  let seen = 0;
  for (let i = 0; i < 2000 && seen < 20; i++) {
    const id = formatDeviceId(randomBytes(32));
    if (!/^[WRE]/.test(id)) continue;
    seen++;
    assert.doesNotThrow(() => refuseKeyAsAddress(id), id);
    assert.doesNotThrow(() => refuseKeyAsAddress(id.replace(/-/g, '')), id);
  }
  assert.equal(seen, 20);
});
