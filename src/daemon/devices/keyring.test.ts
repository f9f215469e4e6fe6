import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDeviceId } from '../../crypto/device-id.js';
import { deriveEncrypted, deriveReadOnly, keysFromSecret, newFolderSecret } from '../../crypto/keys.js';
import { formatKey } from '../../crypto/key-text.js';
import { checkKeyring, emptyKeyring, folderIdOfKey, folderName, mergeKeyrings, type Keyring } from './keyring.js';

const dev = (n: number) => ({ id: formatDeviceId(new Uint8Array(32).fill(n)), name: `d${n}`, addresses: [`tcp://10.0.0.${n}:22000`] });

function ring(over: Partial<Keyring> = {}): Keyring {
  return { ...emptyKeyring(dev(1)), ...over };
}

test('merging keeps every folder once, with the strongest key type, and is commutative and idempotent', () => {
  const w = keysFromSecret(newFolderSecret());
  const other = keysFromSecret(newFolderSecret());
  const a = ring({ folders: [{ name: 'docs', key: formatKey(deriveReadOnly(w)) }] });
  const b = { ...a, devices: [dev(2)], folders: [{ name: 'docs', key: formatKey(w) }, { name: 'pics', key: formatKey(deriveEncrypted(other)) }] };
  const ab = mergeKeyrings(a, b);
  const ba = mergeKeyrings(b, a);
  assert.ok(ab.changed);
  const types = new Map(ab.keyring.folders.map((f) => [folderIdOfKey(f.key), f.key[0]]));
  assert.equal(types.size, 2);
  assert.equal(types.get(folderIdOfKey(formatKey(w))), 'W', 'the read-write key wins over the read-only one');
  assert.equal(types.get(folderIdOfKey(formatKey(other))), 'E');
  const norm = (k: Keyring) => JSON.stringify({ ...k, generation: 0, folders: [...k.folders].sort((x, y) => x.key.localeCompare(y.key)), devices: [...k.devices].sort((x, y) => x.id.localeCompare(y.id)) });
  assert.equal(norm(ab.keyring), norm(ba.keyring));
  assert.equal(mergeKeyrings(ab.keyring, ab.keyring).changed, false);
  assert.equal(mergeKeyrings(ab.keyring, a).changed, false, 'an older keyring adds nothing');
});

test('an unlinked device stays unlinked whatever is merged, and the higher epoch secret wins', () => {
  const a = ring({ devices: [dev(1), dev(2), dev(3)] });
  const unlinked = { ...a, devices: [dev(1), dev(2)], unlinked: [dev(3).id], epoch: 1, secret: 'ab'.repeat(32) };
  const stale = { ...a, devices: [dev(1), dev(2), dev(3)], epoch: 0 };
  const m = mergeKeyrings(stale, unlinked).keyring;
  assert.ok(!m.devices.some((d) => d.id === dev(3).id));
  assert.deepEqual(m.unlinked, [dev(3).id]);
  assert.equal(m.secret, 'ab'.repeat(32));
  const back = mergeKeyrings(m, stale).keyring;
  assert.ok(!back.devices.some((d) => d.id === dev(3).id), 'a stale keyring cannot bring it back');
  assert.equal(back.epoch, 1);
});

test('a keyring from a peer is validated strictly', () => {
  const good = ring();
  assert.equal(typeof checkKeyring(good), 'object');
  for (const bad of [
    { ...good, extra: 1 }, { ...good, version: 2 }, { ...good, secret: 'zz' }, { ...good, devices: [{ ...dev(1), id: 'nope' }] },
    { ...good, folders: [{ name: '..', key: formatKey(keysFromSecret(newFolderSecret())) }] },
    { ...good, folders: [{ name: 'a/b', key: formatKey(keysFromSecret(newFolderSecret())) }] },
    { ...good, folders: [{ name: 'x', key: 'Wnotakey' }] }, { ...good, devices: [{ ...dev(1), addresses: ['http://x'] }] }, null, 'x',
  ]) assert.equal(typeof checkKeyring(bad), 'string', JSON.stringify(bad)?.slice(0, 80));
});

test('a folder travels under its directory name, made one safe segment', () => {
  assert.equal(folderName('/home/u/Documents'), 'Documents');
  assert.equal(folderName('/x/a\u0001b'), 'ab');
  assert.equal(folderName('/'), 'folder');
});
