/**
 * Signed heads (docs/crypto.md, section 5): a writing device's signed
 * statement of which version of every path is current in its view of the
 * folder, so that a relay (the encrypted server) cannot serve an older
 * version, resurrect a deleted file, or mix states without the receiver
 * noticing.
 *
 * A head has a number that its writer never reuses and a time. Its map
 * (locator -> the version vectors held for it) is cut into 2^pageBits pages
 * by the locator's top bits, each signed on its own, so a page stays bounded
 * however large the folder is, and checking one path needs one page. Each
 * page is a complete statement for its locator range: "at head N, these
 * were the current versions of these paths, and no other path of the range
 * existed". Pages travel and are stored verbatim; an encrypted peer verifies
 * them with the public key and relays them without reading anything it could
 * not read already (locators and version vectors are in every sealed record).
 *
 * Signed with the folder's Ed25519 key over a domain label, the folder id and
 * every byte before the signature (like a sealed record).
 */
import { sign, verify } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import type { Counter, VersionVector } from '../model/types.js';
import { MAX_VECTOR_ENTRIES } from '../model/version-vector.js';
import { concatBytes, fromHex, toHex, utf8 } from './bytes.js';
import { DEVICE_ID_BYTES } from './device-id.js';
import { ByteReader, ByteWriter } from './codec.js';
import { FOLDER_ID_BYTES, PUBLIC_KEY_BYTES, ed25519PrivateKey, ed25519PublicKey, type FolderKeys } from './keys.js';
import { LOCATOR_BYTES, SIGNATURE_BYTES, SIG_ED25519, VECTOR_ID_BYTES } from './sealed-record.js';

export const SIGNED_HEAD_VERSION = 2;
/** A head's pages are 2^pageBits, at most 65,536. */
export const MAX_HEAD_PAGE_BITS = 16;
/** The largest encoded page: the wire's and the store's bound (a writer cuts more pages instead). */
export const MAX_HEAD_PAGE_BYTES = 1024 * 1024;
const HEADER_BYTES = 2 + DEVICE_ID_BYTES + VECTOR_ID_BYTES + 8 + 8 + 1 + 4 + 4;
const MIN_ENTRY_BYTES = LOCATOR_BYTES + 2;
const SIGNATURE_LABEL = utf8.encode('sealsync/v2/head\0');
const VECTOR_ID_PATTERN = /^[0-9a-f]{16}$/;

/** One path's current versions at a head (several only while they are concurrent). */
export interface HeadEntry {
  readonly locator: Uint8Array;
  readonly version: VersionVector;
}

export interface HeadPage {
  /** Device id (SHA-256 of the certificate's public key) of the writer. */
  readonly device: Uint8Array;
  /** The writer's vector id (16 hex): the same writer as in version vectors. */
  readonly writer: string;
  /** The head's number: 1, 2, 3 … per writer, never reused. */
  readonly number: number;
  /** When the writer made the head (ms since the epoch, the writer's clock). */
  readonly timeMs: number;
  readonly pageBits: number;
  readonly pageIndex: number;
  /** Sorted by locator, then by the vector's encoding; every locator within this page's range. */
  readonly entries: readonly HeadEntry[];
}

export interface SignedHeadPage extends HeadPage {
  readonly signature: Uint8Array;
  /** The encoded page, verbatim (what is stored and relayed). */
  readonly bytes: Uint8Array;
}

function malformed(message: string): SealsyncError {
  return new SealsyncError('ERR_FORMAT_TRUNCATED', `head: ${message}`);
}

/** The page (of 2^pageBits) that a locator falls in: its top pageBits bits. */
export function headPageOf(locator: Uint8Array, pageBits: number): number {
  if (pageBits === 0) return 0;
  const top = ((locator[0] ?? 0) << 8) | (locator[1] ?? 0);
  return top >>> (16 - pageBits);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return Buffer.compare(a, b);
}

function encodeVector(w: ByteWriter, version: VersionVector): void {
  w.u16(version.length);
  for (const c of version) w.bytes(fromHex(c.id)).u64(c.value);
}

function checkVector(version: VersionVector): void {
  if (version.length > MAX_VECTOR_ENTRIES) throw malformed('version vector has too many entries');
  let prev = '';
  for (const c of version) {
    if (!VECTOR_ID_PATTERN.test(c.id) || !Number.isSafeInteger(c.value) || c.value < 1 || c.id <= prev) throw malformed('invalid version vector');
    prev = c.id;
  }
}

function vectorBytes(version: VersionVector): Uint8Array {
  const w = new ByteWriter(2 + 16 * version.length);
  encodeVector(w, version);
  return w.finish();
}

/** Sorts entries into the page order (locator, then vector bytes). */
export function sortHeadEntries(entries: readonly HeadEntry[]): HeadEntry[] {
  const keyed = entries.map((e) => ({ e, v: vectorBytes(e.version) }));
  keyed.sort((a, b) => compareBytes(a.e.locator, b.e.locator) || compareBytes(a.v, b.v));
  return keyed.map((k) => k.e);
}

function checkHeader(p: HeadPage): void {
  if (p.device.byteLength !== DEVICE_ID_BYTES) throw malformed('device id must be 32 bytes');
  if (!VECTOR_ID_PATTERN.test(p.writer)) throw malformed('writer must be 16 lowercase hex characters');
  if (!Number.isSafeInteger(p.number) || p.number < 1) throw malformed('number out of range');
  if (!Number.isSafeInteger(p.timeMs) || p.timeMs < 0) throw malformed('time out of range');
  if (!Number.isInteger(p.pageBits) || p.pageBits < 0 || p.pageBits > MAX_HEAD_PAGE_BITS) throw malformed('page bits out of range');
  if (!Number.isInteger(p.pageIndex) || p.pageIndex < 0 || p.pageIndex >= 2 ** p.pageBits) throw malformed('page index out of range');
}

/** Entries strictly increasing, each in the page's range. */
function checkEntries(p: HeadPage): void {
  let prev: { locator: Uint8Array; v: Uint8Array } | null = null;
  for (const e of p.entries) {
    if (e.locator.byteLength !== LOCATOR_BYTES) throw malformed('locator must be 32 bytes');
    checkVector(e.version);
    if (headPageOf(e.locator, p.pageBits) !== p.pageIndex) throw malformed('entry outside its page');
    const v = vectorBytes(e.version);
    if (prev && (compareBytes(prev.locator, e.locator) || compareBytes(prev.v, v)) >= 0) throw malformed('entries not sorted or duplicated');
    prev = { locator: e.locator, v };
  }
}

function encodeUnsigned(p: HeadPage): Uint8Array {
  checkHeader(p);
  checkEntries(p);
  const w = new ByteWriter(HEADER_BYTES + p.entries.length * 50 + SIGNATURE_BYTES);
  w.u8(SIGNED_HEAD_VERSION).u8(SIG_ED25519).bytes(p.device).bytes(fromHex(p.writer)).u64(p.number).u64(p.timeMs);
  w.u8(p.pageBits).u32(p.pageIndex).u32(p.entries.length);
  for (const e of p.entries) {
    w.bytes(e.locator);
    encodeVector(w, e.version);
  }
  return w.finish();
}

function signedMessage(folderId: Uint8Array, unsigned: Uint8Array): Uint8Array {
  if (folderId.byteLength !== FOLDER_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'folder id must be 32 bytes');
  return concatBytes([SIGNATURE_LABEL, folderId, unsigned]);
}

/** Signs one page (read-write keys only). Throws ERR_FORMAT_TRUNCATED when it would exceed MAX_HEAD_PAGE_BYTES. */
export function signHeadPage(keys: FolderKeys, page: HeadPage): SignedHeadPage {
  if (keys.type !== 'rw' || !keys.signingSeed) throw new SealsyncError('ERR_FOLDER_TYPE', 'only a read-write key can sign heads');
  const unsigned = encodeUnsigned(page);
  if (unsigned.byteLength + SIGNATURE_BYTES > MAX_HEAD_PAGE_BYTES) throw malformed('page too large');
  const signature = new Uint8Array(sign(null, signedMessage(keys.folderId, unsigned), ed25519PrivateKey(keys.signingSeed)));
  return { ...page, signature, bytes: concatBytes([unsigned, signature]) };
}

/**
 * Signs a whole head: the map cut into the fewest pages (a power of two) that
 * each fit MAX_HEAD_PAGE_BYTES. `entries` need not be sorted.
 */
export function signHead(
  keys: FolderKeys,
  head: Omit<HeadPage, 'pageBits' | 'pageIndex' | 'entries'>,
  entries: readonly HeadEntry[],
): SignedHeadPage[] {
  const sorted = sortHeadEntries(entries);
  const bytes = sorted.reduce((n, e) => n + MIN_ENTRY_BYTES + 16 * e.version.length, 0);
  // Locators are uniform (HMAC outputs): pages twice the average size leave room for the unlucky one.
  let pageBits = 0;
  while (pageBits < MAX_HEAD_PAGE_BITS && HEADER_BYTES + SIGNATURE_BYTES + (2 * bytes) / 2 ** pageBits > MAX_HEAD_PAGE_BYTES) pageBits++;
  for (;;) {
    const pages: HeadEntry[][] = Array.from({ length: 2 ** pageBits }, () => []);
    for (const e of sorted) pages[headPageOf(e.locator, pageBits)]!.push(e);
    try {
      return pages.map((pageEntries, pageIndex) => signHeadPage(keys, { ...head, pageBits, pageIndex, entries: pageEntries }));
    } catch (err) {
      if (pageBits >= MAX_HEAD_PAGE_BITS || !(err instanceof SealsyncError) || err.code !== 'ERR_FORMAT_TRUNCATED') throw err;
      pageBits++;
    }
  }
}

/** The bytes of a decoded page from its fields (what decodeHeadPage read, re-encoded: the fuzzer's oracle). */
export function encodeHeadPage(page: Omit<SignedHeadPage, 'bytes'>): Uint8Array {
  if (page.signature.byteLength !== SIGNATURE_BYTES) throw malformed('signature must be 64 bytes');
  return concatBytes([encodeUnsigned(page), page.signature]);
}

/** Strict decoder: versions, ids, bounds, order, page range, no trailing bytes. Does not verify the signature. */
export function decodeHeadPage(bytes: Uint8Array): SignedHeadPage {
  if (bytes.byteLength > MAX_HEAD_PAGE_BYTES) throw malformed('page too large');
  const r = new ByteReader(bytes, 'head page');
  const version = r.u8();
  if (version !== SIGNED_HEAD_VERSION) throw new SealsyncError('ERR_FORMAT_VERSION', `unsupported head version ${version}`);
  const sigAlg = r.u8();
  if (sigAlg !== SIG_ED25519) throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unknown signature algorithm id ${sigAlg}`);
  const device = r.bytes(DEVICE_ID_BYTES);
  const writer = toHex(r.bytes(VECTOR_ID_BYTES));
  const number = r.u64();
  const timeMs = r.u64();
  const pageBits = r.u8();
  const pageIndex = r.u32();
  const count = r.u32();
  if (count * MIN_ENTRY_BYTES > r.remaining) throw malformed('truncated');
  const entries: HeadEntry[] = [];
  for (let i = 0; i < count; i++) {
    const locator = r.bytes(LOCATOR_BYTES);
    const n = r.u16();
    if (n > MAX_VECTOR_ENTRIES) throw malformed('version vector has too many entries');
    const version: Counter[] = [];
    for (let j = 0; j < n; j++) version.push({ id: toHex(r.bytes(VECTOR_ID_BYTES)), value: r.u64() });
    entries.push({ locator, version });
  }
  const signature = r.bytes(SIGNATURE_BYTES);
  r.end();
  const page: HeadPage = { device, writer, number, timeMs, pageBits, pageIndex, entries };
  checkHeader(page);
  checkEntries(page);
  return { ...page, signature, bytes };
}

/** Throws ERR_SIGNATURE unless the page was signed by this folder's key (for this folder id). */
export function verifyHeadPage(keys: Pick<FolderKeys, 'publicKey' | 'folderId'>, page: SignedHeadPage): void {
  if (keys.publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'public key must be 32 bytes');
  const unsigned = page.bytes.subarray(0, page.bytes.byteLength - SIGNATURE_BYTES);
  const ok = page.signature.byteLength === SIGNATURE_BYTES && verify(null, signedMessage(keys.folderId, unsigned), ed25519PublicKey(keys.publicKey), page.signature);
  if (!ok) throw new SealsyncError('ERR_SIGNATURE', 'head signature does not verify');
}

/** decodeHeadPage then verifyHeadPage: what every receiver runs on a page from a peer. */
export function checkHeadPage(keys: Pick<FolderKeys, 'publicKey' | 'folderId'>, bytes: Uint8Array): SignedHeadPage {
  const page = decodeHeadPage(bytes);
  verifyHeadPage(keys, page);
  return page;
}
