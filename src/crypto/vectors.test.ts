/**
 * Recomputes every published vector in test/vectors/ and compares it with the
 * committed JSON (the JSON is the reference; never regenerate it to make this
 * pass without a format version change).
 */
import { gearTableFor } from './chunk-key.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  accessProof, decodeSealedRecord, deriveEncrypted, deriveReadOnly, deviceIdFromCertificate, digest, encodeSealedRecord,
  folderIdText, formatDeviceId, formatKey, fromHex, keyLink, keysFromSecret, openBlock, openRecord, parseDeviceId, parseKey,
  sealBlock, sealRecord, toHex, verifyAccessProof, verifySealedBlock,
} from './index.js';
import { recordFromJson, type RecordJson } from './testing/vector-format.js';

const DIR = join(import.meta.dirname, '..', '..', 'test', 'vectors');
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function load(name: string): any {
  return JSON.parse(readFileSync(join(DIR, name), 'utf8'));
}

test('vectors: key chain', () => {
  const { vectors } = load('keys.json');
  assert.ok(vectors.length >= 3);
  for (const v of vectors) {
    const w = keysFromSecret(fromHex(v.secret));
    for (const field of ['signingSeed', 'publicKey', 'readSecret', 'contentKey', 'nameKey', 'metadataKey', 'chunkKey', 'accessSecret', 'folderId'] as const) {
      assert.equal(toHex(w[field] as Uint8Array), v[field], field);
    }
    const table = Buffer.alloc(1024);
    gearTableFor(w.chunkKey as Uint8Array).forEach((x, i) => table.writeUInt32BE(x, i * 4));
    assert.equal(table.toString('hex'), v.gearTable, 'gear table');
  }
});

test('vectors: key text, links and folder id text (both directions)', () => {
  const { vectors } = load('key-text.json');
  for (const v of vectors) {
    const w = keysFromSecret(fromHex(v.secret));
    assert.equal(formatKey(w), v.w);
    assert.equal(formatKey(deriveReadOnly(w)), v.r);
    assert.equal(formatKey(deriveEncrypted(w)), v.e);
    assert.equal(folderIdText(w.folderId), v.folderIdText);
    assert.equal(keyLink(deriveReadOnly(w), { name: 'Photos 2026' }), v.link);
    assert.deepEqual(parseKey(v.w), w);
    assert.deepEqual(parseKey(v.r), deriveReadOnly(w));
    assert.deepEqual(parseKey(v.e), deriveEncrypted(w));
    assert.deepEqual(parseKey(v.link), deriveReadOnly(w));
  }
});

test('vectors: digests', () => {
  const { vectors } = load('hash.json');
  for (const v of vectors) assert.equal(toHex(digest(fromHex(v.input), v.alg)), v.digest, `alg ${v.alg}`);
});

test('vectors: sealed blocks', () => {
  const { vectors } = load('sealed-block.json');
  for (const v of vectors) {
    const s = sealBlock(fromHex(v.contentKey), fromHex(v.plaintext));
    assert.equal(toHex(s.hash), v.hash);
    assert.equal(toHex(s.id), v.id);
    assert.equal(toHex(s.sealed), v.sealed);
    assert.equal(verifySealedBlock(fromHex(v.sealed), fromHex(v.id)), true);
    assert.equal(toHex(openBlock(fromHex(v.contentKey), fromHex(v.sealed), { id: fromHex(v.id), hash: fromHex(v.hash), size: fromHex(v.plaintext).byteLength })), v.plaintext);
  }
});

test('vectors: sealed records', () => {
  const { vectors } = load('sealed-record.json');
  for (const v of vectors as Array<{ secret: string; record: RecordJson; locator: string; encoded: string }>) {
    const w = keysFromSecret(fromHex(v.secret));
    const record = recordFromJson(v.record);
    const sealed = sealRecord(w, record);
    assert.equal(toHex(sealed.locator), v.locator);
    assert.equal(toHex(encodeSealedRecord(sealed)), v.encoded);
    assert.deepEqual(openRecord(deriveReadOnly(w), decodeSealedRecord(fromHex(v.encoded))), record);
  }
});

test('vectors: device ids and a fixed certificate', () => {
  const data = load('device-id.json');
  for (const v of data.vectors) {
    assert.equal(formatDeviceId(fromHex(v.hash)), v.text);
    assert.equal(toHex(parseDeviceId(v.text)), v.hash);
  }
  assert.equal(deviceIdFromCertificate(data.certificate.pem), data.certificate.deviceId);
});

test('vectors: access proofs', () => {
  const { vectors } = load('access-proof.json');
  for (const v of vectors) {
    const args = [fromHex(v.accessSecret), fromHex(v.exporter), fromHex(v.folderId), v.direction] as const;
    assert.equal(toHex(accessProof(...args)), v.proof);
    assert.equal(verifyAccessProof(...args, fromHex(v.proof)), true);
  }
});
