/**
 * Sealed records: the form of a FileRecord that travels between peers and that
 * encrypted peers store (DESIGN.md, "Data model"; byte layout in docs/crypto.md).
 *
 * In the clear, so untrusted peers can order, dedupe and fetch: the locator
 * (HMAC-SHA256(name key, NFC path)), the version vector and the block ids;
 * and one bit, "a live regular file", so an encrypted peer counts files as
 * full peers do (an empty file has no blocks, like a directory, a symlink or
 * a tombstone, which that bit does not tell apart).
 * Encrypted with the metadata key: everything else (path, kind, size, mtime,
 * mode, deleted, symlink target, per-block plaintext hash and size).
 * Signed with the folder's Ed25519 key over a domain label, the folder id and
 * every byte before the signature, so a record cannot be altered, forged or
 * replayed into another folder.
 *
 * Body encryption is AES-256-GCM with a synthetic nonce (first 12 bytes of
 * HMAC-SHA256(metadata key, plaintext body)): sealing is deterministic, so test
 * vectors are fixed and the same content always seals to the same bytes; a
 * nonce repeats only when the plaintext repeats, which leaks only that equality.
 */
import { createHmac, createDecipheriv, createCipheriv, sign, verify } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import type { BlockRef, Counter, FileKind, FileRecord, VersionVector } from '../model/types.js';
import { bytesEqual, concatBytes, fromHex, toHex, utf8, utf8Strict } from './bytes.js';
import { ByteReader, ByteWriter } from './codec.js';
import { DEFAULT_HASH, DIGEST_BYTES } from './hash.js';
import { FOLDER_ID_BYTES, PUBLIC_KEY_BYTES, signingKeyObject, verifyingKeyObject, type FolderKeys } from './keys.js';
import { MAX_PATH_BYTES } from '../model/path.js';
import { MAX_VECTOR_ENTRIES } from '../model/version-vector.js';
import { AEAD_AES_256_GCM, BLOCK_ID_BYTES, GCM_NONCE_BYTES, GCM_TAG_BYTES } from './sealed-block.js';
import { isBucketLength, padmeLength } from './size-buckets.js';
import { DEVICE_ID_BYTES, formatDeviceId, parseDeviceId } from './device-id.js';

export const SEALED_RECORD_VERSION = 3;
export const RECORD_BODY_VERSION = 2;
export const SIG_ED25519 = 1;
export const LOCATOR_BYTES = 32;
export const SIGNATURE_BYTES = 64;
export const VECTOR_ID_BYTES = 8;
export const MAX_SYMLINK_TARGET_BYTES = 4096;
export const MAX_BLOCKS_PER_RECORD = 65536;
/** Largest plaintext block a record may describe (chunker maximum is far below). */
export const MAX_BLOCK_BYTES = 64 * 1024 * 1024;
export const MAX_MODE = 0o777;
const BODY_FIXED_BYTES = 1 + 1 + 1 + 1 + 2 + 8 + 8 + 2 + 2 + 4;
const BLOCK_ENTRY_BYTES = DIGEST_BYTES + 4;
/** Version, algorithm ids, envelope flags, locator, vector count, block count, body length, signature: the outer bytes besides the lists and the body. */
const OUTER_FIXED_BYTES = 4 + LOCATOR_BYTES + 2 + 4 + 4 + SIGNATURE_BYTES;
/**
 * Envelope flag (in the clear, signed): the record is a live regular file —
 * empty ones too, which have no blocks. The one bit an encrypted peer needs to
 * count files as full peers do; it tells it nothing about records with blocks
 * (only live files have blocks), and for a record without blocks only "empty
 * file" or "not a file" (directory, symlink and tombstone stay alike).
 */
const ENVELOPE_FILE = 1;
/**
 * Envelope flag (in the clear, signed): the block ids are withheld. The record
 * carries its block count but not the ids of its sealed blocks, which only an
 * encrypted peer needs: a writer whose folder has no encrypted peer yet skips
 * sealing every block at scan (AES-GCM and a second SHA-256 per byte) and
 * completes the record, same version, when one appears (docs/crypto.md §4.4).
 * Full peers take either form; encrypted peers refuse this one, and nobody
 * sends it to them.
 */
const ENVELOPE_IDS_WITHHELD = 2;
/** Offset of the envelope flags byte (after the version and the two algorithm ids). */
const ENVELOPE_FLAGS_OFFSET = 3;
const VECTOR_ENTRY_BYTES = VECTOR_ID_BYTES + 8;
const MAX_UNPADDED_BODY_BYTES =
  GCM_NONCE_BYTES + GCM_TAG_BYTES + BODY_FIXED_BYTES + DEVICE_ID_BYTES + MAX_PATH_BYTES + MAX_SYMLINK_TARGET_BYTES + MAX_BLOCKS_PER_RECORD * BLOCK_ENTRY_BYTES;
const MAX_UNPADDED_RECORD_BYTES =
  OUTER_FIXED_BYTES + MAX_VECTOR_ENTRIES * VECTOR_ENTRY_BYTES + MAX_BLOCKS_PER_RECORD * BLOCK_ID_BYTES + MAX_UNPADDED_BODY_BYTES;
/**
 * The largest sealed record the format allows (every field at its maximum,
 * padded to its bucket): the wire's and the index's bound. A record's encoded
 * length is always a bucket value (size-buckets.ts): the body's plaintext ends
 * in zero bytes up to it, so the record's size says little about its path.
 */
export const MAX_SEALED_RECORD_BYTES = padmeLength(MAX_UNPADDED_RECORD_BYTES);
/** The largest body: the unpadded maximum plus the most padding a record can carry. */
export const MAX_BODY_BYTES = MAX_UNPADDED_BODY_BYTES + (MAX_SEALED_RECORD_BYTES - MAX_UNPADDED_RECORD_BYTES);
const SIGNATURE_LABEL = utf8.encode('sealsync/v1/record\0');
const KIND_CODE: Record<FileKind, number> = { file: 0, dir: 1, symlink: 2 };
const KIND_OF_CODE: readonly FileKind[] = ['file', 'dir', 'symlink'];
const FLAG_DELETED = 1;
const FLAG_SYMLINK_TARGET = 2;
/**
 * The body ends with the 32-byte id of the device that wrote this content
 * (FileRecord.writer), so every full peer can name it (conflicts, versions);
 * it is inside the encryption: an encrypted peer never learns it.
 */
const FLAG_WRITER = 4;
const VECTOR_ID_PATTERN = /^[0-9a-f]{16}$/;

export interface SealedRecord {
  /** A live regular file (the envelope flag): what an encrypted peer counts as a file. */
  readonly file: boolean;
  readonly locator: Uint8Array;
  readonly version: VersionVector;
  /** The sealed blocks' ids, in file order; empty when they are withheld. */
  readonly blockIds: readonly Uint8Array[];
  /**
   * Set (with `blockCount`) when the ids are withheld (ENVELOPE_IDS_WITHHELD):
   * the record has blockCount blocks whose ids are not in it. Absent or false: blockIds is complete.
   */
  readonly idsWithheld?: boolean;
  readonly blockCount?: number;
  readonly body: Uint8Array;
  readonly signature: Uint8Array;
}

function malformed(message: string, data?: Record<string, unknown>): SealsyncError {
  return new SealsyncError('ERR_FORMAT_TRUNCATED', message, data);
}

/** NFC, '/'-separated, relative, no empty / '.' / '..' segments, no NUL, bounded. */
export function checkRecordPath(path: string): Uint8Array {
  if (typeof path !== 'string' || path.length === 0 || path.normalize('NFC') !== path || path.includes('\0')) {
    throw new SealsyncError('ERR_PATH_UNSAFE', 'record path is not canonical');
  }
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw new SealsyncError('ERR_PATH_UNSAFE', 'record path is not canonical');
  }
  const bytes = utf8.encode(path);
  if (bytes.byteLength > MAX_PATH_BYTES) throw new SealsyncError('ERR_PATH_UNSAFE', 'record path is too long');
  return bytes;
}

/** The stable, name-hiding id of a path within a folder. */
export function locatorFor(keys: Pick<FolderKeys, 'nameKey'>, path: string): Uint8Array {
  if (!keys.nameKey) throw new SealsyncError('ERR_FOLDER_TYPE', 'an encrypted key cannot compute locators');
  return new Uint8Array(createHmac('sha256', keys.nameKey).update(path.normalize('NFC'), 'utf8').digest());
}

function checkVector(version: VersionVector): void {
  if (!Array.isArray(version) || version.length > MAX_VECTOR_ENTRIES) throw malformed('version vector has too many entries');
  let prev = '';
  for (const c of version as Counter[]) {
    if (typeof c.id !== 'string' || !VECTOR_ID_PATTERN.test(c.id)) throw malformed('version vector id is not 16 lowercase hex characters');
    if (!Number.isSafeInteger(c.value) || c.value < 1) throw malformed('version vector counter out of range');
    if (c.id <= prev) throw malformed('version vector is not sorted by id without duplicates');
    prev = c.id;
  }
}

/** Everything before the signature. Validates every field and limit. */
function encodeUnsigned(sealed: Omit<SealedRecord, 'signature'>): Uint8Array {
  if (sealed.locator.byteLength !== LOCATOR_BYTES) throw malformed('locator must be 32 bytes');
  checkVector(sealed.version);
  const withheld = sealed.idsWithheld === true;
  const blockCount = withheld ? (sealed.blockCount ?? 0) : sealed.blockIds.length;
  if (withheld && (sealed.blockIds.length > 0 || !Number.isInteger(blockCount) || blockCount < 1)) throw malformed('withheld block ids need a block count and no ids');
  if (blockCount > MAX_BLOCKS_PER_RECORD) throw malformed('too many blocks');
  if (!sealed.file && blockCount > 0) throw malformed('only a live file has blocks');
  if (sealed.body.byteLength > MAX_BODY_BYTES || sealed.body.byteLength < GCM_NONCE_BYTES + GCM_TAG_BYTES) {
    throw malformed('record body has an impossible size');
  }
  const w = new ByteWriter(64 + sealed.version.length * 16 + sealed.blockIds.length * BLOCK_ID_BYTES + sealed.body.byteLength + SIGNATURE_BYTES);
  const envelope = (sealed.file ? ENVELOPE_FILE : 0) | (withheld ? ENVELOPE_IDS_WITHHELD : 0);
  w.u8(SEALED_RECORD_VERSION).u8(SIG_ED25519).u8(AEAD_AES_256_GCM).u8(envelope).bytes(sealed.locator);
  w.u16(sealed.version.length);
  for (const c of sealed.version) w.bytes(fromHex(c.id)).u64(c.value);
  w.u32(blockCount);
  for (const id of sealed.blockIds) {
    if (id.byteLength !== BLOCK_ID_BYTES) throw malformed('block id must be 32 bytes');
    w.bytes(id);
  }
  w.u32(sealed.body.byteLength).bytes(sealed.body);
  return w.finish();
}

function signedMessage(folderId: Uint8Array, unsigned: Uint8Array): Uint8Array {
  if (folderId.byteLength !== FOLDER_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'folder id must be 32 bytes');
  return concatBytes([SIGNATURE_LABEL, folderId, unsigned]);
}

export function encodeSealedRecord(sealed: SealedRecord): Uint8Array {
  if (sealed.signature.byteLength !== SIGNATURE_BYTES) throw malformed('signature must be 64 bytes');
  return concatBytes([encodeUnsigned(sealed), sealed.signature]);
}

/** Strict decoder: checks versions, algorithm ids, limits, ordering, and rejects trailing bytes. */
export function decodeSealedRecord(bytes: Uint8Array): SealedRecord {
  const r = new ByteReader(bytes, 'sealed record');
  // Checked first and by every peer (an encrypted one too): an unpadded record would leak its path's length.
  if (!isBucketLength(bytes.byteLength)) throw malformed('sealed record length is not a size bucket', { length: bytes.byteLength });
  const version = r.u8();
  if (version !== SEALED_RECORD_VERSION) throw new SealsyncError('ERR_FORMAT_VERSION', `unsupported sealed record version ${version}`);
  const sigAlg = r.u8();
  const aeadAlg = r.u8();
  if (sigAlg !== SIG_ED25519) throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unknown signature algorithm id ${sigAlg}`);
  if (aeadAlg !== AEAD_AES_256_GCM) throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unknown AEAD algorithm id ${aeadAlg}`);
  const envelope = r.u8();
  if ((envelope & ~(ENVELOPE_FILE | ENVELOPE_IDS_WITHHELD)) !== 0) throw malformed('unknown envelope flags');
  const file = (envelope & ENVELOPE_FILE) !== 0;
  const withheld = (envelope & ENVELOPE_IDS_WITHHELD) !== 0;
  const locator = r.bytes(LOCATOR_BYTES);
  const n = r.u16();
  if (n > MAX_VECTOR_ENTRIES) throw malformed('version vector has too many entries');
  const vector: Counter[] = [];
  for (let i = 0; i < n; i++) vector.push({ id: toHex(r.bytes(VECTOR_ID_BYTES)), value: r.u64() });
  checkVector(vector);
  const m = r.u32();
  if (m > MAX_BLOCKS_PER_RECORD) throw malformed('too many blocks');
  if (!file && m > 0) throw malformed('only a live file has blocks');
  // Withheld ids: one canonical form, so a record has exactly one encoding (no flag on a record without blocks).
  if (withheld && m === 0) throw malformed('withheld block ids on a record without blocks');
  const blockIds: Uint8Array[] = [];
  if (!withheld) {
    if (m * BLOCK_ID_BYTES > r.remaining) throw malformed('sealed record is truncated');
    for (let i = 0; i < m; i++) blockIds.push(r.bytes(BLOCK_ID_BYTES));
  }
  const bodyLength = r.u32();
  if (bodyLength > MAX_BODY_BYTES || bodyLength < GCM_NONCE_BYTES + GCM_TAG_BYTES) throw malformed('record body has an impossible size');
  const body = r.bytes(bodyLength);
  const signature = r.bytes(SIGNATURE_BYTES);
  r.end();
  return withheld
    ? { file, locator, version: vector, blockIds, idsWithheld: true, blockCount: m, body, signature }
    : { file, locator, version: vector, blockIds, body, signature };
}

/** The number of blocks a decoded record describes (its ids may be withheld). */
export function sealedBlockCount(sealed: SealedRecord): number {
  return sealed.idsWithheld ? (sealed.blockCount ?? 0) : sealed.blockIds.length;
}

/**
 * Whether an encoded record that was decoded and verified before withholds
 * its block ids (ENVELOPE_IDS_WITHHELD): one byte read, no decoding. Such a
 * record is never sent to an encrypted peer.
 */
export function sealedRecordWithholdsIds(bytes: Uint8Array): boolean {
  return ((bytes[ENVELOPE_FLAGS_OFFSET] ?? 0) & ENVELOPE_IDS_WITHHELD) !== 0;
}

/**
 * The envelope's "live regular file" flag of an encoded record that was
 * decoded and verified before (an encrypted peer's stored records): one byte
 * read, no decoding. False for anything that is not a current-version record.
 */
export function sealedRecordIsFile(bytes: Uint8Array): boolean {
  return bytes[0] === SEALED_RECORD_VERSION && ((bytes[ENVELOPE_FLAGS_OFFSET] ?? 0) & ENVELOPE_FILE) !== 0;
}

/** Throws ERR_SIGNATURE unless the record was signed by this folder's key (for this folder id). */
export function verifyRecord(keys: Pick<FolderKeys, 'publicKey' | 'folderId'>, sealed: SealedRecord): void {
  if (keys.publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'public key must be 32 bytes');
  const message = signedMessage(keys.folderId, encodeUnsigned(sealed));
  const ok = sealed.signature.byteLength === SIGNATURE_BYTES && verify(null, message, verifyingKeyObject(keys.publicKey), sealed.signature);
  if (!ok) throw new SealsyncError('ERR_SIGNATURE');
}

function bodyAad(keys: Pick<FolderKeys, 'folderId'>, locator: Uint8Array): Uint8Array {
  return concatBytes([keys.folderId, locator]);
}

function encodeBody(record: FileRecord): Uint8Array {
  const path = checkRecordPath(record.path);
  const kind = KIND_CODE[record.kind];
  if (kind === undefined) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'unknown record kind');
  if (!Number.isSafeInteger(record.size) || record.size < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'record size out of range');
  if (!Number.isSafeInteger(record.mtimeMs)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'record mtime out of range');
  if (!Number.isInteger(record.mode) || record.mode < 0 || record.mode > MAX_MODE) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'record mode out of range');
  if (record.blocks.length > MAX_BLOCKS_PER_RECORD) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'too many blocks');
  if (record.blocks.length > 0 && (record.kind !== 'file' || record.deleted)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'only a live file has blocks');
  const hasTarget = record.symlinkTarget !== undefined;
  if (hasTarget && record.kind !== 'symlink') throw new SealsyncError('ERR_INVALID_ARGUMENT', 'only symlinks have a target');
  const target = hasTarget ? utf8.encode(record.symlinkTarget) : new Uint8Array(0);
  if (target.byteLength > MAX_SYMLINK_TARGET_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'symlink target is too long');
  const writer = record.writer !== undefined ? parseDeviceId(record.writer) : null;
  const w = new ByteWriter(BODY_FIXED_BYTES + path.byteLength + target.byteLength + record.blocks.length * BLOCK_ENTRY_BYTES + (writer ? DEVICE_ID_BYTES : 0));
  const flags = (record.deleted ? FLAG_DELETED : 0) | (hasTarget ? FLAG_SYMLINK_TARGET : 0) | (writer ? FLAG_WRITER : 0);
  w.u8(RECORD_BODY_VERSION).u8(kind).u8(flags).u8(DEFAULT_HASH);
  w.u16(path.byteLength).bytes(path).u64(record.size).i64(record.mtimeMs).u16(record.mode);
  w.u16(target.byteLength).bytes(target);
  w.u32(record.blocks.length);
  for (const b of record.blocks) {
    if (b.hash.byteLength !== DIGEST_BYTES || (b.id !== null && b.id.byteLength !== BLOCK_ID_BYTES)) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'block hash and id must be 32 bytes');
    if (!Number.isInteger(b.size) || b.size < 0 || b.size > MAX_BLOCK_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'block size out of range');
    w.bytes(b.hash).u32(b.size);
  }
  if (writer) w.bytes(writer);
  return w.finish();
}

/** The encoded length of a record with these list lengths (`ids`: block ids present) and this body plaintext length. */
function sealedLength(vectorEntries: number, ids: number, plainBytes: number): number {
  return OUTER_FIXED_BYTES + vectorEntries * VECTOR_ENTRY_BYTES + ids * BLOCK_ID_BYTES + GCM_NONCE_BYTES + plainBytes + GCM_TAG_BYTES;
}

/**
 * A record's encoded length without and with its padding (the same rule
 * padBody applies), for the bench's padding figures: `padded` is the length
 * sealRecordBytes gives, `unpadded` what the record would take without the
 * zero bytes, `bodyBytes` its body plaintext before them.
 */
export function recordPadding(record: FileRecord): { unpadded: number; padded: number; bodyBytes: number } {
  const bodyBytes = encodeBody(record).byteLength;
  const unpadded = sealedLength(record.version.length, presentIds(record), bodyBytes);
  return { unpadded, padded: padmeLength(unpadded), bodyBytes };
}

/** The body plaintext followed by the zero bytes that make the whole sealed record a bucket length. */
function padBody(plain: Uint8Array, vectorEntries: number, blocks: number): Uint8Array {
  const unpadded = sealedLength(vectorEntries, blocks, plain.byteLength);
  const padded = new Uint8Array(plain.byteLength + padmeLength(unpadded) - unpadded);
  padded.set(plain);
  return padded;
}

interface DecodedBody {
  path: string;
  kind: FileKind;
  deleted: boolean;
  size: number;
  mtimeMs: number;
  mode: number;
  symlinkTarget?: string;
  blocks: Array<{ hash: Uint8Array; size: number }>;
  /** Zero bytes after the fields. */
  padding: number;
  writer?: string;
}

function decodeBody(plain: Uint8Array): DecodedBody {
  const r = new ByteReader(plain, 'record body');
  const version = r.u8();
  if (version !== RECORD_BODY_VERSION) throw new SealsyncError('ERR_FORMAT_VERSION', `unsupported record body version ${version}`);
  const kind = KIND_OF_CODE[r.u8()];
  if (!kind) throw malformed('unknown record kind');
  const flags = r.u8();
  if ((flags & ~(FLAG_DELETED | FLAG_SYMLINK_TARGET | FLAG_WRITER)) !== 0) throw malformed('unknown record flags');
  const hashAlg = r.u8();
  // A FileRecord keeps no hash algorithm: block hashes are DEFAULT_HASH digests (the
  // chunker's and the reuse lookup's). A body naming another algorithm would open
  // as a record whose hashes mean something else, and seal back differently.
  if (hashAlg !== DEFAULT_HASH) throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unsupported record hash algorithm id ${hashAlg}`);
  const pathLength = r.u16();
  if (pathLength > MAX_PATH_BYTES) throw new SealsyncError('ERR_PATH_UNSAFE', 'record path is too long');
  let path: string;
  try {
    path = utf8Strict.decode(r.bytes(pathLength));
  } catch (err) {
    if (err instanceof SealsyncError) throw err;
    throw new SealsyncError('ERR_PATH_UNSAFE', 'record path is not UTF-8');
  }
  checkRecordPath(path);
  const size = r.u64();
  const mtimeMs = r.i64();
  const mode = r.u16();
  if (mode > MAX_MODE) throw malformed('record mode out of range');
  const targetLength = r.u16();
  if (targetLength > MAX_SYMLINK_TARGET_BYTES) throw malformed('symlink target is too long');
  const targetBytes = r.bytes(targetLength);
  const hasTarget = (flags & FLAG_SYMLINK_TARGET) !== 0;
  if (!hasTarget && targetLength !== 0) throw malformed('symlink target without its flag');
  if (hasTarget && kind !== 'symlink') throw malformed('only symlinks have a target');
  let symlinkTarget: string | undefined;
  if (hasTarget) {
    try {
      symlinkTarget = utf8Strict.decode(targetBytes);
    } catch {
      throw malformed('symlink target is not UTF-8');
    }
  }
  const m = r.u32();
  if (m > MAX_BLOCKS_PER_RECORD || m * BLOCK_ENTRY_BYTES > r.remaining) throw malformed('record body block list is truncated');
  const blocks: Array<{ hash: Uint8Array; size: number }> = [];
  for (let i = 0; i < m; i++) {
    const hash = r.bytes(DIGEST_BYTES);
    const bsize = r.u32();
    if (bsize > MAX_BLOCK_BYTES) throw malformed('block size out of range');
    blocks.push({ hash, size: bsize });
  }
  const writer = (flags & FLAG_WRITER) !== 0 ? formatDeviceId(r.bytes(DEVICE_ID_BYTES)) : undefined;
  // Padding: only zero bytes, and exactly as many as the bucket needs (checked by the caller, which knows the outer length).
  const padding = r.remaining;
  const rest = r.bytes(padding);
  if (rest.some((b) => b !== 0)) throw malformed('record body padding is not zero');
  r.end();
  const out: DecodedBody = { path, kind, deleted: (flags & FLAG_DELETED) !== 0, size, mtimeMs, mode, blocks, padding };
  if (symlinkTarget !== undefined) out.symlinkTarget = symlinkTarget;
  if (writer !== undefined) out.writer = writer;
  return out;
}

function sealUnsigned(keys: FolderKeys, record: FileRecord, knownLocator?: Uint8Array): Omit<SealedRecord, 'signature'> {
  if (keys.type !== 'rw' || !keys.signingSeed || !keys.metadataKey || !keys.nameKey) {
    throw new SealsyncError('ERR_FOLDER_TYPE', 'only a read-write key can seal records');
  }
  checkVector(record.version);
  const ids = presentIds(record);
  const plain = padBody(encodeBody(record), record.version.length, ids);
  const locator = knownLocator ?? locatorFor(keys, record.path);
  const nonce = createHmac('sha256', keys.metadataKey).update(plain).digest().subarray(0, GCM_NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.metadataKey, nonce);
  cipher.setAAD(bodyAad(keys, locator));
  const ct = Buffer.concat([cipher.update(plain), cipher.final()]);
  const body = concatBytes([nonce, ct, cipher.getAuthTag()]);
  const file = record.kind === 'file' && !record.deleted;
  const version = record.version.map((c) => ({ id: c.id, value: c.value }));
  if (ids < record.blocks.length) return { file, locator, version, blockIds: [], idsWithheld: true, blockCount: record.blocks.length, body };
  return { file, locator, version, blockIds: record.blocks.map((b) => new Uint8Array(b.id!)), body };
}

/**
 * How many block ids a record of `record` carries: all of them, or none when
 * they are withheld (every block's id is null). A mix is a bug in the caller.
 */
function presentIds(record: FileRecord): number {
  const known = record.blocks.filter((b) => b.id !== null).length;
  if (known !== 0 && known !== record.blocks.length) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a record has either every block id or none');
  return known;
}

function signUnsigned(keys: FolderKeys, unsigned: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, signedMessage(keys.folderId, unsigned), signingKeyObject(keys.signingSeed!)));
}

/** Seals and signs a record (read-write keys only). Deterministic. */
export function sealRecord(keys: FolderKeys, record: FileRecord): SealedRecord {
  const unsignedRecord = sealUnsigned(keys, record);
  return { ...unsignedRecord, signature: signUnsigned(keys, encodeUnsigned(unsignedRecord)) };
}

/**
 * encodeSealedRecord(sealRecord(keys, record)), byte for byte, with the
 * unsigned part encoded once instead of twice (what a scan stores).
 * `locator` must be locatorFor(keys, record.path) when given: a caller that
 * has just computed it (the scanner looks up held records by it) saves the
 * second HMAC. A wrong one yields a record every receiver refuses (they
 * check the locator against the opened path), never a different file.
 */
export function sealRecordBytes(keys: FolderKeys, record: FileRecord, locator?: Uint8Array): Uint8Array {
  const unsigned = encodeUnsigned(sealUnsigned(keys, record, locator));
  return concatBytes([unsigned, signUnsigned(keys, unsigned)]);
}

/** The keys that verifying (folderId, publicKey) and opening (plus nameKey, metadataKey) a record use. */
export type RecordCheckKeys = Pick<FolderKeys, 'folderId' | 'publicKey' | 'nameKey' | 'metadataKey'>;

/**
 * Everything a receiver checks of one encoded record from a peer: strict
 * decoding and the signature; with `open` (full peers) also the body
 * (openRecord). Returns the decoded record and, opened, its FileRecord; throws
 * what decodeSealedRecord, verifyRecord or openRecord throw. The one
 * definition of that check, whether it runs on the main thread or on a worker
 * (src/engine/record-check.ts), so both give the same outcome and error code.
 */
export function checkRecordBytes(keys: RecordCheckKeys, bytes: Uint8Array, open: boolean): { sealed: SealedRecord; record: FileRecord | null } {
  const sealed = decodeSealedRecord(bytes);
  if (open) return { sealed, record: openRecord(keys, sealed) };
  verifyRecord(keys, sealed);
  return { sealed, record: null };
}

/** Verifies, decrypts and cross-checks a record (read-write or read-only keys). */
export function openRecord(keys: RecordCheckKeys, sealed: SealedRecord): FileRecord {
  if (!keys.metadataKey || !keys.nameKey) throw new SealsyncError('ERR_FOLDER_TYPE', 'an encrypted key cannot open records');
  verifyRecord(keys, sealed);
  const body = sealed.body;
  const nonce = body.subarray(0, GCM_NONCE_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', keys.metadataKey, nonce);
  decipher.setAAD(bodyAad(keys, sealed.locator));
  decipher.setAuthTag(body.subarray(body.byteLength - GCM_TAG_BYTES));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(body.subarray(GCM_NONCE_BYTES, body.byteLength - GCM_TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new SealsyncError('ERR_DECRYPT', undefined, undefined, { cause: err });
  }
  const expectedNonce = createHmac('sha256', keys.metadataKey).update(plain).digest().subarray(0, GCM_NONCE_BYTES);
  if (!bytesEqual(expectedNonce, nonce)) throw malformed('record body nonce is not the synthetic nonce');
  const decoded = decodeBody(plain);
  if (!bytesEqual(locatorFor(keys, decoded.path), sealed.locator)) throw malformed('record locator does not match its path');
  if (decoded.blocks.length !== sealedBlockCount(sealed)) throw malformed('record block list does not match its block ids');
  if (sealed.file !== (decoded.kind === 'file' && !decoded.deleted)) throw malformed('record envelope flag does not match its kind');
  // Canonical padding: the bucket of the unpadded length, not a larger one (a sealer can't choose its size).
  const unpadded = sealedLength(sealed.version.length, sealed.blockIds.length, plain.byteLength - decoded.padding);
  if (padmeLength(unpadded) !== sealedLength(sealed.version.length, sealed.blockIds.length, plain.byteLength)) {
    throw malformed('record body padding is not the size bucket of the record');
  }
  const blocks: BlockRef[] = decoded.blocks.map((b, i) => ({ id: sealed.idsWithheld ? null : new Uint8Array(sealed.blockIds[i] as Uint8Array), hash: b.hash, size: b.size }));
  const record: FileRecord = {
    path: decoded.path,
    kind: decoded.kind,
    size: decoded.size,
    mtimeMs: decoded.mtimeMs,
    mode: decoded.mode,
    blocks,
    version: sealed.version.map((c) => ({ id: c.id, value: c.value })),
    deleted: decoded.deleted,
    ...(decoded.symlinkTarget !== undefined ? { symlinkTarget: decoded.symlinkTarget } : {}),
    ...(decoded.writer !== undefined ? { writer: decoded.writer } : {}),
  };
  return record;
}
