/**
 * Signed heads (docs/crypto.md, section 5): a writing device's signed
 * statement of which version of every path is current in its view of the
 * folder, so that a relay (the encrypted server) cannot serve an older
 * version, resurrect a deleted file, or mix states without the receiver
 * noticing.
 *
 * A head has a number that its writer never reuses and a time. Its map
 * (locator -> the version vectors held for it) is cut into 2^pageBits pages
 * by the locator's top bits, each signed on its own, so a page stays small
 * however large the folder is and checking one path needs one page. Each
 * page is a complete statement for its locator range: "at head N, these
 * were the current versions of these paths, and no other path of the range
 * existed".
 *
 * Format 3: a writer re-signs only the pages that changed. A page carries the
 * number of the head at which it was last made; each head also has a **root**,
 * which lists, for every page index, the number of that page's current
 * version. So an edit costs one small page and the root (a few KiB), not the
 * whole map, and a receiver that holds a root knows exactly which pages it
 * still lacks: a relay that forwards some changed pages and withholds others
 * is noticed as it was when every page was re-sent. Pages and roots travel
 * and are stored verbatim; an encrypted peer verifies them with the public key
 * and relays them without reading anything it could not read already
 * (locators and version vectors are in every sealed record).
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
import { FOLDER_ID_BYTES, PUBLIC_KEY_BYTES, signingKeyObject, verifyingKeyObject, type FolderKeys } from './keys.js';
import { LOCATOR_BYTES, SIGNATURE_BYTES, SIG_ED25519, VECTOR_ID_BYTES } from './sealed-record.js';


export const SIGNED_HEAD_VERSION = 3;
/** A head's pages are 2^pageBits, at most 65,536. */
export const MAX_HEAD_PAGE_BITS = 16;
/** The largest encoded page or root: the wire's and the store's bound. */
export const MAX_HEAD_PAGE_BYTES = 1024 * 1024;
/**
 * The average page a writer aims at (headPageBits). Small, because a change
 * re-signs, stores and sends its whole page: ~600 paths at ~50 bytes each.
 * Large enough that the root (8 bytes per page) stays small: 16 KiB for a
 * million paths.
 */
export const HEAD_PAGE_TARGET_BYTES = 32 * 1024;
/** Bytes of one entry with a k-counter vector: locator, k, k × (id, counter). */
export const headEntryBytes = (counters: number): number => LOCATOR_BYTES + 2 + 16 * counters;
const HEADER_BYTES = 2 + DEVICE_ID_BYTES + VECTOR_ID_BYTES + 8 + 8 + 1 + 1;
const PAGE_HEADER_BYTES = HEADER_BYTES + 4 + 4;
const MIN_ENTRY_BYTES = headEntryBytes(0);
const KIND_PAGE = 0;
const KIND_ROOT = 1;
const SIGNATURE_LABEL = utf8.encode('sealsync/v3/head\0');
const VECTOR_ID_PATTERN = /^[0-9a-f]{16}$/;

/** One path's current versions at a head (several only while they are concurrent). */
export interface HeadEntry {
  readonly locator: Uint8Array;
  readonly version: VersionVector;
}

/** What a page and a root both start with. */
export interface HeadHeader {
  /** Device id (SHA-256 of the certificate's public key) of the writer. */
  readonly device: Uint8Array;
  /** The writer's vector id (16 hex): the same writer as in version vectors. */
  readonly writer: string;
  /** A page: the head at which it was last made. A root: its head's number (1, 2, 3 … per writer, never reused). */
  readonly number: number;
  /** When the writer made it (ms since the epoch, the writer's clock). */
  readonly timeMs: number;
  readonly pageBits: number;
}

export interface HeadPage extends HeadHeader {
  readonly pageIndex: number;
  /** Sorted by locator, then by the vector's encoding; every locator within this page's range. */
  readonly entries: readonly HeadEntry[];
}

export interface HeadRoot extends HeadHeader {
  /** For each page index, the number of its current version (each <= number, the largest = number). */
  readonly pageNumbers: readonly number[];
}

interface Signed {
  readonly signature: Uint8Array;
  /** The encoded part, verbatim (what is stored and relayed). */
  readonly bytes: Uint8Array;
}

export type SignedHeadPage = HeadPage & Signed & { readonly kind: 'page' };
export type SignedHeadRoot = HeadRoot & Signed & { readonly kind: 'root' };
/** What travels in one Head message: a page or a root. */
export type SignedHeadPart = SignedHeadPage | SignedHeadRoot;

function malformed(message: string): SealsyncError {
  return new SealsyncError('ERR_FORMAT_TRUNCATED', `head: ${message}`);
}

/** The page (of 2^pageBits) that a locator falls in: its top pageBits bits. */
export function headPageOf(locator: Uint8Array, pageBits: number): number {
  if (pageBits === 0) return 0;
  const top = ((locator[0] ?? 0) << 8) | (locator[1] ?? 0);
  return top >>> (16 - pageBits);
}

/**
 * The locators of one page as a range of their first 8 bytes: from `lo`
 * (inclusive) to `hi` (exclusive; null for the last page). What an index
 * query over a locator prefix needs.
 */
export function headPageRange(pageIndex: number, pageBits: number): { lo: Uint8Array; hi: Uint8Array | null } {
  const prefix = (i: number): Uint8Array => {
    const b = new Uint8Array(8);
    const top = pageBits === 0 ? 0 : (i << (16 - pageBits)) & 0xffff;
    b[0] = top >>> 8;
    b[1] = top & 0xff;
    return b;
  };
  return { lo: prefix(pageIndex), hi: pageIndex + 1 >= 2 ** pageBits ? null : prefix(pageIndex + 1) };
}

/**
 * The page bits for a map of `totalBytes` of entries: pages of about
 * HEAD_PAGE_TARGET_BYTES. A writer keeps its `current` bits while its pages
 * average between a quarter and four times the target, so a growing folder
 * does not re-sign every page at each power of two.
 */
export function headPageBits(totalBytes: number, current?: number): number {
  const target = HEAD_PAGE_TARGET_BYTES;
  if (current !== undefined && current >= 0 && current <= MAX_HEAD_PAGE_BITS) {
    const avg = totalBytes / 2 ** current;
    if (avg <= 4 * target && (current === 0 || avg >= target / 4)) return current;
  }
  let bits = 0;
  while (bits < MAX_HEAD_PAGE_BITS && totalBytes / 2 ** bits > target) bits++;
  return bits;
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

function checkHeader(p: HeadHeader): void {
  if (p.device.byteLength !== DEVICE_ID_BYTES) throw malformed('device id must be 32 bytes');
  if (!VECTOR_ID_PATTERN.test(p.writer)) throw malformed('writer must be 16 lowercase hex characters');
  if (!Number.isSafeInteger(p.number) || p.number < 1) throw malformed('number out of range');
  if (!Number.isSafeInteger(p.timeMs) || p.timeMs < 0) throw malformed('time out of range');
  if (!Number.isInteger(p.pageBits) || p.pageBits < 0 || p.pageBits > MAX_HEAD_PAGE_BITS) throw malformed('page bits out of range');
}

/** Page index in range; entries strictly increasing, each in the page's range. */
function checkPage(p: HeadPage): void {
  if (!Number.isInteger(p.pageIndex) || p.pageIndex < 0 || p.pageIndex >= 2 ** p.pageBits) throw malformed('page index out of range');
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

/** One number per page, none above the root's own, and the largest equal to it (a root is made when a page is). */
function checkRoot(r: HeadRoot): void {
  if (r.pageNumbers.length !== 2 ** r.pageBits) throw malformed('a root lists every page');
  let max = 0;
  for (const n of r.pageNumbers) {
    if (!Number.isSafeInteger(n) || n < 1 || n > r.number) throw malformed('page number out of range');
    if (n > max) max = n;
  }
  if (max !== r.number) throw malformed('no page of the root has its number');
}

function encodeHeader(w: ByteWriter, p: HeadHeader, kind: number): void {
  w.u8(SIGNED_HEAD_VERSION).u8(SIG_ED25519).bytes(p.device).bytes(fromHex(p.writer)).u64(p.number).u64(p.timeMs).u8(p.pageBits).u8(kind);
}

function encodeUnsignedPage(p: HeadPage): Uint8Array {
  checkHeader(p);
  checkPage(p);
  const w = new ByteWriter(PAGE_HEADER_BYTES + p.entries.length * 50 + SIGNATURE_BYTES);
  encodeHeader(w, p, KIND_PAGE);
  w.u32(p.pageIndex).u32(p.entries.length);
  for (const e of p.entries) {
    w.bytes(e.locator);
    encodeVector(w, e.version);
  }
  return w.finish();
}

function encodeUnsignedRoot(r: HeadRoot): Uint8Array {
  checkHeader(r);
  checkRoot(r);
  const w = new ByteWriter(HEADER_BYTES + 4 + 8 * r.pageNumbers.length + SIGNATURE_BYTES);
  encodeHeader(w, r, KIND_ROOT);
  w.u32(r.pageNumbers.length);
  for (const n of r.pageNumbers) w.u64(n);
  return w.finish();
}

function signedMessage(folderId: Uint8Array, unsigned: Uint8Array): Uint8Array {
  if (folderId.byteLength !== FOLDER_ID_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'folder id must be 32 bytes');
  return concatBytes([SIGNATURE_LABEL, folderId, unsigned]);
}

function signUnsigned(keys: FolderKeys, unsigned: Uint8Array): Signed {
  if (keys.type !== 'rw' || !keys.signingSeed) throw new SealsyncError('ERR_FOLDER_TYPE', 'only a read-write key can sign heads');
  if (unsigned.byteLength + SIGNATURE_BYTES > MAX_HEAD_PAGE_BYTES) throw malformed('page too large');
  const signature = new Uint8Array(sign(null, signedMessage(keys.folderId, unsigned), signingKeyObject(keys.signingSeed)));
  return { signature, bytes: concatBytes([unsigned, signature]) };
}

/** Signs one page (read-write keys only). Throws ERR_FORMAT_TRUNCATED when it would exceed MAX_HEAD_PAGE_BYTES. */
export function signHeadPage(keys: FolderKeys, page: HeadPage): SignedHeadPage {
  if (keys.type !== 'rw' || !keys.signingSeed) throw new SealsyncError('ERR_FOLDER_TYPE', 'only a read-write key can sign heads');
  return { kind: 'page', ...page, ...signUnsigned(keys, encodeUnsignedPage(page)) };
}

/** Signs a head's root (read-write keys only). */
export function signHeadRoot(keys: FolderKeys, root: HeadRoot): SignedHeadRoot {
  if (keys.type !== 'rw' || !keys.signingSeed) throw new SealsyncError('ERR_FOLDER_TYPE', 'only a read-write key can sign heads');
  return { kind: 'root', ...root, ...signUnsigned(keys, encodeUnsignedRoot(root)) };
}

/**
 * Signs a whole head from scratch: every page of the map (at headPageBits of
 * its size, or more where a page would not fit) and its root, all with one
 * number. `entries` need not be sorted. Returns the pages, then the root.
 */
export function signHead(
  keys: FolderKeys,
  head: Omit<HeadHeader, 'pageBits'>,
  entries: readonly HeadEntry[],
): SignedHeadPart[] {
  const sorted = sortHeadEntries(entries);
  let pageBits = headPageBits(sorted.reduce((n, e) => n + headEntryBytes(e.version.length), 0));
  for (;;) {
    const pages: HeadEntry[][] = Array.from({ length: 2 ** pageBits }, () => []);
    for (const e of sorted) pages[headPageOf(e.locator, pageBits)]!.push(e);
    try {
      const signed: SignedHeadPart[] = pages.map((pageEntries, pageIndex) => signHeadPage(keys, { ...head, pageBits, pageIndex, entries: pageEntries }));
      signed.push(signHeadRoot(keys, { ...head, pageBits, pageNumbers: pages.map(() => head.number) }));
      return signed;
    } catch (err) {
      if (pageBits >= MAX_HEAD_PAGE_BITS || !(err instanceof SealsyncError) || err.code !== 'ERR_FORMAT_TRUNCATED') throw err;
      pageBits++;
    }
  }
}

/** The bytes of a decoded part from its fields (what decodeHeadPage read, re-encoded: the fuzzer's oracle). */
export function encodeHeadPage(part: Omit<SignedHeadPage, 'bytes'> | Omit<SignedHeadRoot, 'bytes'>): Uint8Array {
  if (part.signature.byteLength !== SIGNATURE_BYTES) throw malformed('signature must be 64 bytes');
  const unsigned = part.kind === 'root' ? encodeUnsignedRoot(part) : encodeUnsignedPage(part);
  return concatBytes([unsigned, part.signature]);
}

/** Strict decoder of a page or a root: versions, ids, bounds, order, page range, no trailing bytes. Does not verify the signature. */
export function decodeHeadPage(bytes: Uint8Array): SignedHeadPart {
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
  const kind = r.u8();
  const header: HeadHeader = { device, writer, number, timeMs, pageBits };
  checkHeader(header);
  if (kind === KIND_ROOT) {
    const n = r.u32();
    if (n !== 2 ** pageBits || n * 8 > r.remaining) throw malformed('a root lists every page');
    const pageNumbers: number[] = [];
    for (let i = 0; i < n; i++) pageNumbers.push(r.u64());
    const signature = r.bytes(SIGNATURE_BYTES);
    r.end();
    const root: HeadRoot = { ...header, pageNumbers };
    checkRoot(root);
    return { kind: 'root', ...root, signature, bytes };
  }
  if (kind !== KIND_PAGE) throw malformed(`unknown part kind ${kind}`);
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
  const page: HeadPage = { ...header, pageIndex, entries };
  checkPage(page);
  return { kind: 'page', ...page, signature, bytes };
}

/** Throws ERR_SIGNATURE unless the part was signed by this folder's key (for this folder id). */
export function verifyHeadPage(keys: Pick<FolderKeys, 'publicKey' | 'folderId'>, part: SignedHeadPart): void {
  if (keys.publicKey.byteLength !== PUBLIC_KEY_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'public key must be 32 bytes');
  const unsigned = part.bytes.subarray(0, part.bytes.byteLength - SIGNATURE_BYTES);
  const ok = part.signature.byteLength === SIGNATURE_BYTES && verify(null, signedMessage(keys.folderId, unsigned), verifyingKeyObject(keys.publicKey), part.signature);
  if (!ok) throw new SealsyncError('ERR_SIGNATURE', 'head signature does not verify');
}

/** decodeHeadPage then verifyHeadPage: what every receiver runs on a part from a peer. */
export function checkHeadPage(keys: Pick<FolderKeys, 'publicKey' | 'folderId'>, bytes: Uint8Array): SignedHeadPart {
  const part = decodeHeadPage(bytes);
  verifyHeadPage(keys, part);
  return part;
}

/**
 * The versions a stored page lists for one locator, read from its verified
 * bytes without decoding the rest: an offset per entry, then a binary
 * search. What a receiver keeps of the pages it checks records against
 * (bytes, not objects: ~1/10 of the memory of a decoded page).
 */
export class HeadPageLookup {
  readonly bytes: Uint8Array;
  readonly #offsets: Uint32Array;

  /** `bytes`: a page decodeHeadPage accepted (a root or anything else throws). */
  constructor(bytes: Uint8Array) {
    if (bytes.byteLength < PAGE_HEADER_BYTES + SIGNATURE_BYTES || bytes[HEADER_BYTES - 1] !== KIND_PAGE) throw malformed('not a page');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const count = view.getUint32(HEADER_BYTES + 4);
    const end = bytes.byteLength - SIGNATURE_BYTES;
    const offsets = new Uint32Array(count);
    let off = PAGE_HEADER_BYTES;
    for (let i = 0; i < count; i++) {
      if (off + MIN_ENTRY_BYTES > end) throw malformed('truncated');
      offsets[i] = off;
      off += headEntryBytes(view.getUint16(off + LOCATOR_BYTES));
    }
    if (off !== end) throw malformed('truncated');
    this.bytes = bytes;
    this.#offsets = offsets;
  }

  get entryCount(): number {
    return this.#offsets.length;
  }

  /** Every version the page lists for `locator` (none: the path did not exist in this page's view). */
  versionsOf(locator: Uint8Array): VersionVector[] {
    const offs = this.#offsets;
    const at = (i: number) => this.bytes.subarray(offs[i]!, offs[i]! + LOCATOR_BYTES);
    // First entry whose locator is >= the one sought (entries are sorted by locator, then vector).
    let lo = 0;
    let hi = offs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(at(mid), locator) < 0) lo = mid + 1;
      else hi = mid;
    }
    const out: VersionVector[] = [];
    for (let i = lo; i < offs.length && compareBytes(at(i), locator) === 0; i++) {
      const r = new ByteReader(this.bytes.subarray(offs[i]! + LOCATOR_BYTES), 'head entry');
      const n = r.u16();
      const version: Counter[] = [];
      for (let j = 0; j < n; j++) version.push({ id: toHex(r.bytes(VECTOR_ID_BYTES)), value: r.u64() });
      out.push(version);
    }
    return out;
  }
}
