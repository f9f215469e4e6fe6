/**
 * Regenerates the published crypto test vectors in test/vectors/. Run once
 * when a format is introduced (`npx tsx scripts/gen-vectors.ts`); after that
 * the committed JSON is the reference and src/crypto/vectors.test.ts checks
 * the code against it. Inputs are fixed byte patterns, so the outputs are
 * reproducible (the device certificate is the one random input: it is kept
 * as generated).
 */
import { gearTableFor } from '../src/crypto/chunk-key.js';
import { writeFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  HASH_BLAKE2B_256, HASH_SHA256, accessProof, createDeviceIdentity, deriveEncrypted, deviceIdFromCertificate, deriveReadOnly, digest,
  encodeSealedRecord, folderIdText, formatDeviceId, formatKey, keyLink, keysFromSecret, sealBlock, sealRecord, toHex,
} from '../src/crypto/index.js';
import { recordFromJson, type RecordJson } from '../src/crypto/testing/vector-format.js';

const DIR = join(import.meta.dirname, '..', 'test', 'vectors');
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + 7) & 0xff);
const SECRETS = [new Uint8Array(32), pattern(32, 1), new Uint8Array(32).fill(0xff)];

function write(name: string, value: unknown): void {
  writeFileSync(join(DIR, name), JSON.stringify(value, null, 2) + '\n');
  console.log(`wrote test/vectors/${name}`);
}

/** The folder's gear table as 256 big-endian uint32 values, in hex. */
function gearTableHex(chunkKey: Uint8Array): string {
  const out = Buffer.alloc(1024);
  gearTableFor(chunkKey).forEach((v, i) => out.writeUInt32BE(v, i * 4));
  return out.toString('hex');
}

const keys = SECRETS.map((s) => {
  const w = keysFromSecret(s);
  return {
    secret: toHex(s), signingSeed: toHex(w.signingSeed!), publicKey: toHex(w.publicKey), readSecret: toHex(w.readSecret!),
    contentKey: toHex(w.contentKey!), nameKey: toHex(w.nameKey!), metadataKey: toHex(w.metadataKey!), chunkKey: toHex(w.chunkKey!),
    gearTable: gearTableHex(w.chunkKey!),
    accessSecret: toHex(w.accessSecret), folderId: toHex(w.folderId),
  };
});
write('keys.json', { description: 'HKDF-SHA-256 key chain from the read-write secret S (see docs/crypto.md)', vectors: keys });

write('key-text.json', {
  description: 'text and link forms of W, R and E keys for a secret; folder id text',
  vectors: SECRETS.map((s) => {
    const w = keysFromSecret(s);
    return {
      secret: toHex(s), w: formatKey(w), r: formatKey(deriveReadOnly(w)), e: formatKey(deriveEncrypted(w)),
      folderIdText: folderIdText(w.folderId), link: keyLink(deriveReadOnly(w), { name: 'Photos 2026' }),
    };
  }),
});

const hashInputs = [new Uint8Array(0), new TextEncoder().encode('abc'), pattern(1000, 3)];
write('hash.json', {
  description: 'digest(input, alg): 1 = SHA-256, 2 = BLAKE2b-512 truncated to 32 bytes',
  vectors: hashInputs.flatMap((input) => [HASH_SHA256, HASH_BLAKE2B_256].map((alg) => ({ alg, input: toHex(input), digest: toHex(digest(input, alg)) }))),
});

write('sealed-block.json', {
  description: 'sealBlock(contentKey, plaintext) -> hash, id, sealed (format v2: sealed size = padme(n + 19))',
  vectors: [0, 1, 100, 5000, 70_000].map((n, i) => {
    const contentKey = keysFromSecret(SECRETS[i % SECRETS.length]!).contentKey!;
    const plaintext = pattern(n, i);
    const s = sealBlock(contentKey, plaintext);
    return { contentKey: toHex(contentKey), plaintext: toHex(plaintext), hash: toHex(s.hash), id: toHex(s.id), sealed: toHex(s.sealed) };
  }),
});

const records: RecordJson[] = [
  {
    path: 'Docs/résumé.txt', kind: 'file', size: 1500, mtimeMs: 1767323045123, mode: 0o644,
    blocks: [{ id: toHex(pattern(32, 10)), hash: toHex(pattern(32, 11)), size: 1000 }, { id: toHex(pattern(32, 12)), hash: toHex(pattern(32, 13)), size: 500 }],
    version: [{ id: '0011223344556677', value: 3 }, { id: 'a1b2c3d4e5f60718', value: 12 }], deleted: false,
  },
  { path: 'bin/tool', kind: 'symlink', size: 0, mtimeMs: 1767323045000, mode: 0o777, blocks: [], symlinkTarget: '../opt/tool', version: [{ id: '0011223344556677', value: 1 }], deleted: false },
  { path: 'photos', kind: 'dir', size: 0, mtimeMs: 0, mode: 0o755, blocks: [], version: [{ id: 'ffffffffffffffff', value: 9007199254740991 }], deleted: true },
  // The first record with its block ids withheld (format 3): envelope flags 3, the block count but no ids.
  {
    path: 'Docs/résumé.txt', kind: 'file', size: 1500, mtimeMs: 1767323045123, mode: 0o644,
    blocks: [{ id: null, hash: toHex(pattern(32, 11)), size: 1000 }, { id: null, hash: toHex(pattern(32, 13)), size: 500 }],
    version: [{ id: '0011223344556677', value: 3 }, { id: 'a1b2c3d4e5f60718', value: 12 }], deleted: false,
  },
  // An empty file: no blocks, but the envelope's "live file" flag (offset 3) is set.
  { path: 'empty.txt', kind: 'file', size: 0, mtimeMs: 1767323046000, mode: 0o600, blocks: [], version: [{ id: '0011223344556677', value: 2 }], deleted: false },
];
write('sealed-record.json', {
  description: 'sealRecord(keysFromSecret(secret), record) encoded with encodeSealedRecord (format 3; a block id null: the record withholds its ids)',
  vectors: records.map((record, i) => {
    const w = keysFromSecret(SECRETS[i % SECRETS.length]!);
    const s = sealRecord(w, recordFromJson(record));
    return { secret: toHex(SECRETS[i % SECRETS.length]!), record, locator: toHex(s.locator), encoded: toHex(encodeSealedRecord(s)) };
  }),
});

const certFile = join(DIR, 'device-id.json');
const oldCert = existsSync(certFile) ? (JSON.parse(readFileSync(certFile, 'utf8')) as { certificate?: { pem: string } }).certificate?.pem : undefined;
const certificatePem = oldCert ?? (await createDeviceIdentity('vector', new Date('2026-01-01T00:00:00Z'))).certificatePem;
write('device-id.json', {
  description: 'formatDeviceId(sha256 of SPKI); deviceIdFromCertificate(pem)',
  vectors: [new Uint8Array(32), pattern(32, 5), new Uint8Array(32).fill(0xff)].map((h) => ({ hash: toHex(h), text: formatDeviceId(h) })),
  certificate: { pem: certificatePem, deviceId: deviceIdFromCertificate(certificatePem) },
});

write('access-proof.json', {
  description: 'accessProof(accessSecret, exporter, folderId, direction)',
  vectors: (['client', 'server'] as const).flatMap((direction) => SECRETS.slice(0, 2).map((s) => {
    const w = keysFromSecret(s);
    const exporter = pattern(32, 20);
    return { accessSecret: toHex(w.accessSecret), exporter: toHex(exporter), folderId: toHex(w.folderId), direction, proof: toHex(accessProof(w.accessSecret, exporter, w.folderId, direction)) };
  })),
});
