/**
 * Test helpers that reach a sealed record's body: its plaintext, and sealing
 * (encrypting and signing) an arbitrary plaintext as a body, which is what a
 * device holding the folder's write key could send. They restate the format
 * of docs/crypto.md (4.2) on purpose, to build bodies sealRecord never would;
 * tests that seal a body sealRecord also seals prove the two agree.
 */
import { createCipheriv, createDecipheriv, createHmac, sign, type KeyObject } from 'node:crypto';
import { concatBytes, utf8 } from '../bytes.js';
import { ed25519PrivateKey, type FolderKeys } from '../keys.js';
import { GCM_NONCE_BYTES, GCM_TAG_BYTES } from '../sealed-block.js';
import { padmeLength } from '../size-buckets.js';
import { encodeSealedRecord, SIGNATURE_BYTES, type SealedRecord } from '../sealed-record.js';

const SIGNATURE_LABEL = utf8.encode('sealsync/v1/record\0');
/** Building a KeyObject costs more than signing with it (the fuzzer seals thousands). */
const signingKeys = new WeakMap<Uint8Array, KeyObject>();

function signingKeyOf(seed: Uint8Array): KeyObject {
  let key = signingKeys.get(seed);
  if (!key) {
    key = ed25519PrivateKey(seed);
    signingKeys.set(seed, key);
  }
  return key;
}

function metadataKeyOf(keys: FolderKeys): Uint8Array {
  if (!keys.metadataKey) throw new Error('these keys cannot open record bodies');
  return keys.metadataKey;
}

/** The decrypted body of a sealed record (no checks beyond the AEAD tag). */
export function recordBodyPlaintext(keys: FolderKeys, sealed: SealedRecord): Uint8Array {
  const body = Buffer.from(sealed.body);
  const decipher = createDecipheriv('aes-256-gcm', metadataKeyOf(keys), body.subarray(0, GCM_NONCE_BYTES));
  decipher.setAAD(concatBytes([keys.folderId, sealed.locator]));
  decipher.setAuthTag(body.subarray(body.length - GCM_TAG_BYTES));
  return new Uint8Array(Buffer.concat([decipher.update(body.subarray(GCM_NONCE_BYTES, body.length - GCM_TAG_BYTES)), decipher.final()]));
}

/** The zero bytes that make a record with this plaintext body a bucket length (docs/crypto.md 4.3). */
export function bucketPadding(plainBytes: number, outer: Omit<SealedRecord, 'body' | 'signature'>): number {
  const unpadded = 4 + 32 + 2 + 16 * outer.version.length + 4 + 32 * outer.blockIds.length + 4 + GCM_NONCE_BYTES + plainBytes + GCM_TAG_BYTES + SIGNATURE_BYTES;
  return padmeLength(unpadded) - unpadded;
}

/**
 * Encrypts `plain` as a body (synthetic nonce, AAD folder id || locator) and
 * signs the record with W keys. The plaintext gets the zero bytes its bucket
 * needs appended unless `pad` is false (to build a record with other padding).
 */
export function sealRecordBody(
  keys: FolderKeys,
  plainBody: Uint8Array,
  outer: Omit<SealedRecord, 'body' | 'signature'>,
  opts: { pad?: boolean } = {},
): SealedRecord {
  if (!keys.signingSeed) throw new Error('only read-write keys can sign records');
  const plain = opts.pad === false ? plainBody : concatBytes([plainBody, new Uint8Array(bucketPadding(plainBody.byteLength, outer))]);
  const metadataKey = metadataKeyOf(keys);
  const nonce = createHmac('sha256', metadataKey).update(plain).digest().subarray(0, GCM_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', metadataKey, nonce);
  cipher.setAAD(concatBytes([keys.folderId, outer.locator]));
  const body = new Uint8Array(Buffer.concat([nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]));
  const encoded = encodeSealedRecord({ ...outer, body, signature: new Uint8Array(SIGNATURE_BYTES) });
  const unsigned = encoded.subarray(0, encoded.length - SIGNATURE_BYTES);
  const signature = sign(null, concatBytes([SIGNATURE_LABEL, keys.folderId, unsigned]), signingKeyOf(keys.signingSeed));
  return { ...outer, body, signature: new Uint8Array(signature) };
}
