/**
 * The folder key hierarchy (DESIGN.md, "Key hierarchy"). A one-way HKDF-SHA-256
 * chain, so a holder can hand a key down but never up:
 *
 *   S (read-write secret, 32 random bytes)
 *   ├─ Ed25519 seed = HKDF(S, "sealsync/v1/sign")      -> signing key, public key pk
 *   └─ R = HKDF(S, "sealsync/v1/read")
 *      ├─ content / name / metadata key = HKDF(R, "sealsync/v1/content" | "/name" | "/metadata")
 *      ├─ chunk key = HKDF(R, "sealsync/v2/chunk")   (keys the chunk boundaries, crypto/chunk-key.ts)
 *      ├─ read proof key = HKDF(R, "sealsync/v2/read-proof")   (proves R to a peer, crypto/access-proof.ts)
 *      └─ A = HKDF(R, "sealsync/v1/access")
 *   folder id = SHA-256("sealsync/v1/folder-id" || pk)
 *
 * HKDF here is RFC 5869 with an empty salt, the secret as input keying material
 * and the label (UTF-8) as info, 32 bytes of output.
 *
 * R and E keys carry pk itself (not a fingerprint): they must verify record
 * signatures offline, and a fingerprint would need the key from somewhere else.
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { utf8 } from './bytes.js';

export type KeyType = 'rw' | 'ro' | 'encrypted';

export interface FolderKeys {
  readonly type: KeyType;
  readonly folderId: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly accessSecret: Uint8Array;
  readonly secret?: Uint8Array;
  readonly signingSeed?: Uint8Array;
  readonly readSecret?: Uint8Array;
  readonly contentKey?: Uint8Array;
  readonly nameKey?: Uint8Array;
  readonly metadataKey?: Uint8Array;
  /** Keys content-defined chunking (full peers only: encrypted peers never chunk). */
  readonly chunkKey?: Uint8Array;
  /** Proves to a peer that this device holds R, so it may be sent plaintext blocks (full peers only). */
  readonly readProofKey?: Uint8Array;
}

export const SECRET_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const FOLDER_ID_BYTES = 32;

export const LABEL_SIGN = 'sealsync/v1/sign';
export const LABEL_READ = 'sealsync/v1/read';
export const LABEL_ACCESS = 'sealsync/v1/access';
export const LABEL_CONTENT = 'sealsync/v1/content';
export const LABEL_NAME = 'sealsync/v1/name';
export const LABEL_METADATA = 'sealsync/v1/metadata';
/** v2: derived from R, so read-write and read-only devices chunk alike. */
export const LABEL_CHUNK = 'sealsync/v2/chunk';
export const LABEL_READ_PROOF = 'sealsync/v2/read-proof';
export const LABEL_FOLDER_ID = 'sealsync/v1/folder-id';

// DER prefixes that wrap a raw 32-byte Ed25519 key as PKCS#8 / SubjectPublicKeyInfo.
const ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

function hkdf(secret: Uint8Array, label: string): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', secret, new Uint8Array(0), utf8.encode(label), SECRET_BYTES));
}

function checkLength(bytes: Uint8Array, expected: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.byteLength !== expected) {
    throw new SealsyncError('ERR_KEY_LENGTH', `${what} must be ${expected} bytes`);
  }
}

export function ed25519PrivateKey(seed: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

export function ed25519PublicKey(raw: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

// KeyObject construction is not free (~50 µs); records and head pages are signed and verified by the thousand.
const signingKeys = new WeakMap<Uint8Array, KeyObject>();
const verifyingKeys = new WeakMap<Uint8Array, KeyObject>();

/** ed25519PrivateKey(seed), made once per seed array. */
export function signingKeyObject(seed: Uint8Array): KeyObject {
  return cachedKeyObject(signingKeys, seed, ed25519PrivateKey);
}

/** ed25519PublicKey(raw), made once per key array. */
export function verifyingKeyObject(raw: Uint8Array): KeyObject {
  return cachedKeyObject(verifyingKeys, raw, ed25519PublicKey);
}

function cachedKeyObject(cache: WeakMap<Uint8Array, KeyObject>, bytes: Uint8Array, make: (bytes: Uint8Array) => KeyObject): KeyObject {
  let k = cache.get(bytes);
  if (!k) {
    k = make(bytes);
    cache.set(bytes, k);
  }
  return k;
}

function rawPublicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(ed25519PrivateKey(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.byteLength - PUBLIC_KEY_BYTES));
}

export function folderIdFor(publicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(utf8.encode(LABEL_FOLDER_ID)).update(publicKey).digest());
}

/** 32 fresh random bytes: the read-write secret S of a new folder. */
export function newFolderSecret(): Uint8Array {
  return new Uint8Array(randomBytes(SECRET_BYTES));
}

/** Read-write keys from S. */
export function keysFromSecret(secret: Uint8Array): FolderKeys {
  checkLength(secret, SECRET_BYTES, 'folder secret');
  const signingSeed = hkdf(secret, LABEL_SIGN);
  const publicKey = rawPublicKeyFromSeed(signingSeed);
  const ro = keysFromReadSecret(hkdf(secret, LABEL_READ), publicKey);
  return { ...ro, type: 'rw', secret: new Uint8Array(secret), signingSeed };
}

/** Read-only keys from R and the folder's public key. */
export function keysFromReadSecret(readSecret: Uint8Array, publicKey: Uint8Array): FolderKeys {
  checkLength(readSecret, SECRET_BYTES, 'read secret');
  checkLength(publicKey, PUBLIC_KEY_BYTES, 'public key');
  const enc = keysFromAccessSecret(hkdf(readSecret, LABEL_ACCESS), publicKey);
  return {
    ...enc,
    type: 'ro',
    readSecret: new Uint8Array(readSecret),
    contentKey: hkdf(readSecret, LABEL_CONTENT),
    nameKey: hkdf(readSecret, LABEL_NAME),
    metadataKey: hkdf(readSecret, LABEL_METADATA),
    chunkKey: hkdf(readSecret, LABEL_CHUNK),
    readProofKey: hkdf(readSecret, LABEL_READ_PROOF),
  };
}

/** Encrypted-peer keys from A and the folder's public key. */
export function keysFromAccessSecret(accessSecret: Uint8Array, publicKey: Uint8Array): FolderKeys {
  checkLength(accessSecret, SECRET_BYTES, 'access secret');
  checkLength(publicKey, PUBLIC_KEY_BYTES, 'public key');
  return {
    type: 'encrypted',
    folderId: folderIdFor(publicKey),
    publicKey: new Uint8Array(publicKey),
    accessSecret: new Uint8Array(accessSecret),
  };
}

/** rw -> ro. Anything else cannot go there (ro is already ro; encrypted is below it). */
export function deriveReadOnly(keys: FolderKeys): FolderKeys {
  if (keys.type !== 'rw' || !keys.readSecret) {
    throw new SealsyncError(
      'ERR_KEY_DERIVE',
      keys.type === 'ro'
        ? 'this is already a read-only key (keys derive only downward: read-write > read-only > encrypted)'
        : 'an encrypted key cannot give a read-only key (keys derive only downward: read-write > read-only > encrypted)',
    );
  }
  return keysFromReadSecret(keys.readSecret, keys.publicKey);
}

/** rw | ro -> encrypted. */
export function deriveEncrypted(keys: FolderKeys): FolderKeys {
  if (keys.type === 'encrypted' || (keys.type !== 'rw' && keys.type !== 'ro')) {
    throw new SealsyncError('ERR_KEY_DERIVE', 'this is already an encrypted key');
  }
  return keysFromAccessSecret(keys.accessSecret, keys.publicKey);
}
