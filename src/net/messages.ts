/**
 * The wire schema (protocol version 3). One encode/decode pair per message
 * type; decoders are strict: exact lengths, known enum values, bounded counts
 * and no trailing bytes, or ERR_PROTOCOL. Frame type bytes are fixed forever;
 * a new message gets a new type byte and a new protocol version.
 *
 * Layouts (integers big-endian; ids are raw bytes):
 *   Hello         magic "SEALSYNC" | u16 protocolVersion | u8 len + deviceName | u8 len + clientVersion
 *   Join          folderId[32] | proof[32] | u8 hasReadProof (0|1) | readProof[32] only when 1
 *   JoinResult    folderId[32] | u8 ok (0|1) | only when ok: proof[32] | u8 hasReadProof (0|1) | readProof[32] only when 1
 *   IndexUpdate   folderId[32] | indexId[8] | u64 fromSeq | u64 toSeq | u8 encoding (0 raw, 1 deflate-raw) | body
 *                 body = u32 count | count × (u32 len | sealed record)
 *   IndexAck      folderId[32] | indexId[8] | u64 seq
 *   BlockRequest  u32 reqId | folderId[32] | blockId[32] | u8 form (0 sealed, 1 plain)
 *                 blockId is the sealed block's id for form sealed, the plaintext hash for form plain
 *                 (version 3: records may withhold block ids, docs/crypto.md §4.4)
 *   BlockResponse u32 reqId | u8 status (0 ok, 1 missing) | data (to the end; empty when missing):
 *                 the sealed block, or for form plain the plaintext padded with zeros to the sealed size
 *   Ping          (empty)
 *   Close         u16 reason
 *   Head          folderId[32] | one signed head page (to the end; src/crypto/signed-head.ts)
 *   Progress      folderId[32] | u64 globalFiles | u64 globalBytes | u64 needFiles | u64 needBytes
 *                 (progress-message.ts; added within version 2: nobody ran version 2 before it)
 *
 * IndexUpdate bodies are compressed with deflate-raw when that helps, and
 * inflated with a hard output limit (MAX_INDEX_MESSAGE_BYTES) so a small frame
 * can never expand into a zip bomb.
 */
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw, constants as zlibConstants } from 'node:zlib';
import { SealsyncError } from '../errors.js';
import { FOLDER_ID_BYTES } from '../crypto/keys.js';
import { BLOCK_ID_BYTES, MAX_SEALED_BLOCK_BYTES } from '../crypto/sealed-block.js';
import { MAX_SEALED_RECORD_BYTES } from '../crypto/sealed-record.js';
import { MAX_HEAD_PAGE_BYTES } from '../crypto/signed-head.js';
import { ByteReader, ByteWriter, protocolError } from './byte-codec.js';
import { MAX_FRAME_BYTES } from './frame-codec.js';
import { toHex, fromHex } from '../crypto/bytes.js';
import { decodeProgress, encodeProgress, type Progress } from './progress-message.js';

export type { Progress, ProgressCounts } from './progress-message.js';

export const PROTOCOL_VERSION = 3;
export const HELLO_MAGIC = Buffer.from('SEALSYNC', 'ascii');
export const MAX_DEVICE_NAME_BYTES = 64;
export const MAX_CLIENT_VERSION_BYTES = 32;
export const PROOF_BYTES = 32;
export const INDEX_ID_BYTES = 8;
/** Largest uncompressed IndexUpdate body; it also fits a frame uncompressed. */
export const MAX_INDEX_MESSAGE_BYTES = 8 * 1024 * 1024;
export const MAX_RECORDS_PER_INDEX_MESSAGE = 10_000;
/**
 * Output piece size when inflating an IndexUpdate body. zlib's default (16 KiB)
 * costs one thread-pool round trip and one Buffer per piece: 15-110 ms of CPU to
 * refuse one 8 KiB zip-bomb frame (found by fuzzing); 256 KiB pieces cost a few ms.
 */
const INFLATE_CHUNK_BYTES = 256 * 1024;
/** Bodies smaller than this are sent raw: compressing them costs more than it saves. */
export const INDEX_COMPRESS_MIN_BYTES = 16 * 1024;
const INDEX_HEADER_BYTES = FOLDER_ID_BYTES + INDEX_ID_BYTES + 8 + 8 + 1;

export const FrameType = {
  hello: 1,
  join: 2,
  joinResult: 3,
  indexUpdate: 4,
  indexAck: 5,
  blockRequest: 6,
  blockResponse: 7,
  ping: 8,
  close: 9,
  head: 10,
  progress: 11,
} as const;
export type MessageKind = keyof typeof FrameType;

/** Why a side closes; travels in Close. Unknown values are a protocol error. */
export const CloseReason = {
  normal: 0,
  shutdown: 1,
  protocol: 2,
  misbehaviour: 3,
  duplicate: 4,
  versionMismatch: 5,
  idleTimeout: 6,
  self: 7,
} as const;
export type CloseReasonName = keyof typeof CloseReason;
const CLOSE_REASON_BY_CODE = new Map<number, CloseReasonName>(
  Object.entries(CloseReason).map(([k, v]) => [v, k as CloseReasonName]),
);

export interface Hello {
  readonly type: 'hello';
  readonly protocolVersion: number;
  readonly deviceName: string;
  readonly clientVersion: string;
}
export interface Join {
  readonly type: 'join';
  readonly folderId: Uint8Array;
  readonly proof: Uint8Array;
  /** The dialler's 'client' read proof: present when it holds R (crypto/access-proof.ts). */
  readonly readProof?: Uint8Array;
}
export interface JoinResult {
  readonly type: 'joinResult';
  readonly folderId: Uint8Array;
  readonly ok: boolean;
  /** Present exactly when ok: the acceptor's 'server' access proof. */
  readonly proof?: Uint8Array;
  /** Only when ok, and only when the acceptor holds R: its 'server' read proof. */
  readonly readProof?: Uint8Array;
}
export interface IndexUpdate {
  readonly type: 'indexUpdate';
  readonly folderId: Uint8Array;
  /** The sender's index id: 16 lowercase hex characters (8 bytes on the wire). */
  readonly indexId: string;
  readonly fromSeq: number;
  readonly toSeq: number;
  /** Encoded sealed records, verbatim. */
  readonly records: readonly Uint8Array[];
}
export interface IndexAck {
  readonly type: 'indexAck';
  readonly folderId: Uint8Array;
  readonly indexId: string;
  readonly seq: number;
}
/**
 * How a block travels: 'sealed' (the sealed block, what every peer may ask
 * for) or 'plain' (its plaintext padded with zeros to the sealed size; only
 * between two peers that proved R to each other, docs/crypto.md §3.1).
 */
export type BlockForm = 'sealed' | 'plain';
export interface BlockRequest {
  readonly type: 'blockRequest';
  readonly reqId: number;
  readonly folderId: Uint8Array;
  readonly blockId: Uint8Array;
  readonly form: BlockForm;
}
export interface BlockResponse {
  readonly type: 'blockResponse';
  readonly reqId: number;
  readonly status: 'ok' | 'missing';
  readonly data: Uint8Array;
}
export interface Ping {
  readonly type: 'ping';
}
export interface Close {
  readonly type: 'close';
  readonly reason: CloseReasonName;
}
/** One page of a writer's signed head, relayed verbatim (verified by the engine, like a record). */
export interface Head {
  readonly type: 'head';
  readonly folderId: Uint8Array;
  readonly page: Uint8Array;
}
export type Message = Hello | Join | JoinResult | IndexUpdate | IndexAck | BlockRequest | BlockResponse | Ping | Close | Head | Progress;

// ---------------------------------------------------------------------------
// text fields

const utf8 = new TextDecoder('utf-8', { fatal: true });
// C0/C1 controls, bidi overrides/isolates, zero-width and BOM: nothing a
// device name needs, everything a spoofed name would use.
// eslint-disable-next-line no-control-regex
const UNSAFE_NAME_CHARS = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

/** Cuts a string to at most maxBytes of UTF-8 without splitting a code point. */
function truncateUtf8(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (used + n > maxBytes) break;
    out += ch;
    used += n;
  }
  return out;
}

/** Device names are shown to users: NFC, no control or bidi characters, bounded. */
export function sanitizeDeviceName(name: string): string {
  const clean = name.normalize('NFC').replace(UNSAFE_NAME_CHARS, '').trim();
  return truncateUtf8(clean, MAX_DEVICE_NAME_BYTES).trim();
}

function sanitizeClientVersion(v: string): string {
  return truncateUtf8(v.replace(/[^\x20-\x7e]/g, ''), MAX_CLIENT_VERSION_BYTES);
}

function decodeUtf8(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw protocolError(`${what} is not valid UTF-8`);
  }
}

export function indexIdToBytes(indexId: string): Uint8Array {
  if (!/^[0-9a-f]{16}$/.test(indexId)) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'indexId' must be 16 lowercase hex characters`);
  }
  return fromHex(indexId);
}

function indexIdFromBytes(bytes: Uint8Array): string {
  return toHex(bytes);
}

// ---------------------------------------------------------------------------
// encoders (return the payload; frame-codec adds the type and length)

export function encodeHello(m: Omit<Hello, 'type'>): Buffer {
  return new ByteWriter()
    .fixed(HELLO_MAGIC, HELLO_MAGIC.length)
    .u16(m.protocolVersion)
    .bytes8(Buffer.from(sanitizeDeviceName(m.deviceName)))
    .bytes8(Buffer.from(sanitizeClientVersion(m.clientVersion)))
    .finish();
}

function writeReadProof(w: ByteWriter, readProof: Uint8Array | undefined): ByteWriter {
  return readProof ? w.u8(1).fixed(readProof, PROOF_BYTES) : w.u8(0);
}

function readReadProof(r: ByteReader, what: string): Uint8Array | undefined {
  const has = r.u8();
  if (has > 1) throw protocolError(`${what}: bad read proof flag`);
  return has === 1 ? r.fixed(PROOF_BYTES) : undefined;
}

export function encodeJoin(m: Omit<Join, 'type'>): Buffer {
  return writeReadProof(new ByteWriter().fixed(m.folderId, FOLDER_ID_BYTES).fixed(m.proof, PROOF_BYTES), m.readProof).finish();
}

export function encodeJoinResult(m: Omit<JoinResult, 'type'>): Buffer {
  const w = new ByteWriter().fixed(m.folderId, FOLDER_ID_BYTES).u8(m.ok ? 1 : 0);
  if (m.ok) {
    if (!m.proof) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'JoinResult ok needs a proof');
    writeReadProof(w.fixed(m.proof, PROOF_BYTES), m.readProof);
  } else if (m.readProof) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a refused JoinResult carries no proof');
  }
  return w.finish();
}

export function encodeIndexAck(m: Omit<IndexAck, 'type'>): Buffer {
  return new ByteWriter()
    .fixed(m.folderId, FOLDER_ID_BYTES)
    .fixed(indexIdToBytes(m.indexId), INDEX_ID_BYTES)
    .u64(m.seq)
    .finish();
}

export function encodeHead(m: Omit<Head, 'type'>): Buffer {
  if (m.page.byteLength === 0 || m.page.byteLength > MAX_HEAD_PAGE_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `a head page is 1 to ${MAX_HEAD_PAGE_BYTES} bytes`);
  return new ByteWriter().fixed(m.folderId, FOLDER_ID_BYTES).rest(m.page).finish();
}

export function encodeBlockRequest(m: Omit<BlockRequest, 'type'>): Buffer {
  return new ByteWriter()
    .u32(m.reqId)
    .fixed(m.folderId, FOLDER_ID_BYTES)
    .fixed(m.blockId, BLOCK_ID_BYTES)
    .u8(m.form === 'plain' ? 1 : 0)
    .finish();
}

export function encodeBlockResponse(m: Omit<BlockResponse, 'type'>): Buffer {
  if (m.status === 'missing' && m.data.length !== 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a missing block carries no data');
  if (m.data.length > MAX_SEALED_BLOCK_BYTES) {
    throw new SealsyncError('ERR_FRAME_TOO_LARGE', 'block exceeds the maximum block size');
  }
  return new ByteWriter()
    .u32(m.reqId)
    .u8(m.status === 'ok' ? 0 : 1)
    .rest(m.data)
    .finish();
}

export function encodePing(): Buffer {
  return Buffer.alloc(0);
}

export function encodeClose(m: Omit<Close, 'type'>): Buffer {
  return new ByteWriter().u16(CloseReason[m.reason]).finish();
}

/** Raw body of an IndexUpdate; throws ERR_INVALID_ARGUMENT when it breaks the limits. */
export function encodeIndexBody(records: readonly Uint8Array[]): Buffer {
  if (records.length > MAX_RECORDS_PER_INDEX_MESSAGE) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `at most ${MAX_RECORDS_PER_INDEX_MESSAGE} records per index message`);
  }
  const w = new ByteWriter().u32(records.length);
  for (const r of records) {
    if (r.length > MAX_SEALED_RECORD_BYTES) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `sealed record exceeds ${MAX_SEALED_RECORD_BYTES} bytes`);
    }
    w.bytes32(r);
  }
  if (w.size > MAX_INDEX_MESSAGE_BYTES) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `index message exceeds ${MAX_INDEX_MESSAGE_BYTES} bytes; split it`);
  }
  return w.finish();
}

/** Size an IndexUpdate body would have, for callers that split a batch. */
export function indexBodySize(records: readonly Uint8Array[]): number {
  return 4 + records.reduce((n, r) => n + 4 + r.length, 0);
}

const deflateRawAsync = promisify(deflateRaw);
const inflateRawAsync = promisify(inflateRaw);

export async function encodeIndexUpdate(m: Omit<IndexUpdate, 'type'>): Promise<Buffer> {
  if (!Number.isSafeInteger(m.fromSeq) || !Number.isSafeInteger(m.toSeq) || m.fromSeq < 0 || m.toSeq < m.fromSeq) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'fromSeq'/'toSeq' must be integers with 0 <= fromSeq <= toSeq`);
  }
  const raw = encodeIndexBody(m.records);
  let encoding = 0;
  let body: Buffer = raw;
  if (raw.length >= INDEX_COMPRESS_MIN_BYTES) {
    const packed = await deflateRawAsync(raw, { level: zlibConstants.Z_BEST_SPEED });
    if (packed.length < raw.length) {
      encoding = 1;
      body = packed;
    }
  }
  return new ByteWriter()
    .fixed(m.folderId, FOLDER_ID_BYTES)
    .fixed(indexIdToBytes(m.indexId), INDEX_ID_BYTES)
    .u64(m.fromSeq)
    .u64(m.toSeq)
    .u8(encoding)
    .rest(body)
    .finish();
}

// ---------------------------------------------------------------------------
// decoders

export function decodeHello(payload: Uint8Array): Hello {
  const r = new ByteReader(payload, 'Hello');
  const magic = r.fixed(HELLO_MAGIC.length);
  if (!HELLO_MAGIC.equals(magic)) throw protocolError('Hello: bad magic (not a sealsync peer)');
  const protocolVersion = r.u16();
  const rawName = decodeUtf8(r.bytes8(MAX_DEVICE_NAME_BYTES), 'device name');
  const rawVersion = decodeUtf8(r.bytes8(MAX_CLIENT_VERSION_BYTES), 'client version');
  r.end();
  return {
    type: 'hello',
    protocolVersion,
    deviceName: sanitizeDeviceName(rawName),
    clientVersion: sanitizeClientVersion(rawVersion),
  };
}

export function decodeJoin(payload: Uint8Array): Join {
  const r = new ByteReader(payload, 'Join');
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const proof = r.fixed(PROOF_BYTES);
  const readProof = readReadProof(r, 'Join');
  r.end();
  return readProof ? { type: 'join', folderId, proof, readProof } : { type: 'join', folderId, proof };
}

export function decodeJoinResult(payload: Uint8Array): JoinResult {
  const r = new ByteReader(payload, 'JoinResult');
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const ok = r.u8();
  if (ok > 1) throw protocolError('JoinResult: bad ok flag');
  if (ok === 0) {
    r.end();
    return { type: 'joinResult', folderId, ok: false };
  }
  const proof = r.fixed(PROOF_BYTES);
  const readProof = readReadProof(r, 'JoinResult');
  r.end();
  return readProof ? { type: 'joinResult', folderId, ok: true, proof, readProof } : { type: 'joinResult', folderId, ok: true, proof };
}

export function decodeIndexAck(payload: Uint8Array): IndexAck {
  const r = new ByteReader(payload, 'IndexAck');
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const indexId = indexIdFromBytes(r.fixed(INDEX_ID_BYTES));
  const seq = r.u64();
  r.end();
  return { type: 'indexAck', folderId, indexId, seq };
}

export function decodeHead(payload: Uint8Array): Head {
  const r = new ByteReader(payload, 'Head');
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const page = r.rest(MAX_HEAD_PAGE_BYTES);
  if (page.byteLength === 0) throw protocolError('Head: empty page');
  r.end();
  return { type: 'head', folderId, page };
}

export function decodeBlockRequest(payload: Uint8Array): BlockRequest {
  const r = new ByteReader(payload, 'BlockRequest');
  const reqId = r.u32();
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const blockId = r.fixed(BLOCK_ID_BYTES);
  const form = r.u8();
  if (form > 1) throw protocolError('BlockRequest: bad form');
  r.end();
  return { type: 'blockRequest', reqId, folderId, blockId, form: form === 1 ? 'plain' : 'sealed' };
}

export function decodeBlockResponse(payload: Uint8Array): BlockResponse {
  const r = new ByteReader(payload, 'BlockResponse');
  const reqId = r.u32();
  const status = r.u8();
  if (status > 1) throw protocolError('BlockResponse: bad status');
  const data = r.restView(status === 0 ? MAX_SEALED_BLOCK_BYTES : 0);
  r.end();
  return { type: 'blockResponse', reqId, status: status === 0 ? 'ok' : 'missing', data };
}

export function decodePing(payload: Uint8Array): Ping {
  new ByteReader(payload, 'Ping').end();
  return { type: 'ping' };
}

export function decodeClose(payload: Uint8Array): Close {
  const r = new ByteReader(payload, 'Close');
  const code = r.u16();
  r.end();
  const reason = CLOSE_REASON_BY_CODE.get(code);
  if (!reason) throw protocolError('Close: unknown reason');
  return { type: 'close', reason };
}

export function decodeIndexBody(body: Uint8Array): Uint8Array[] {
  const r = new ByteReader(body, 'IndexUpdate');
  const count = r.u32();
  if (count > MAX_RECORDS_PER_INDEX_MESSAGE) throw protocolError('IndexUpdate: too many records');
  // Each record needs at least its 4-byte length: reject absurd counts before looping.
  if (count * 4 > r.remaining) throw protocolError('IndexUpdate: truncated');
  const records: Uint8Array[] = [];
  for (let i = 0; i < count; i++) records.push(r.bytes32(MAX_SEALED_RECORD_BYTES));
  r.end();
  return records;
}

export async function decodeIndexUpdate(payload: Uint8Array): Promise<IndexUpdate> {
  const r = new ByteReader(payload, 'IndexUpdate');
  const folderId = r.fixed(FOLDER_ID_BYTES);
  const indexId = indexIdFromBytes(r.fixed(INDEX_ID_BYTES));
  const fromSeq = r.u64();
  const toSeq = r.u64();
  if (toSeq < fromSeq) throw protocolError('IndexUpdate: toSeq < fromSeq');
  const encoding = r.u8();
  if (encoding > 1) throw protocolError('IndexUpdate: unknown encoding');
  const packed = r.rest(MAX_FRAME_BYTES - INDEX_HEADER_BYTES);
  let body: Uint8Array = packed;
  if (encoding === 1) {
    try {
      body = await inflateRawAsync(packed, { maxOutputLength: MAX_INDEX_MESSAGE_BYTES, chunkSize: INFLATE_CHUNK_BYTES });
    } catch {
      // Corrupt stream or output past the limit (zip bomb): both are the peer's fault.
      throw protocolError('IndexUpdate: body does not inflate within the limit');
    }
  } else if (body.length > MAX_INDEX_MESSAGE_BYTES) {
    throw protocolError('IndexUpdate: body too large');
  }
  return { type: 'indexUpdate', folderId, indexId, fromSeq, toSeq, records: decodeIndexBody(body) };
}

// ---------------------------------------------------------------------------
// dispatch

/** Encodes any message into a frame payload (IndexUpdate may compress, hence async). */
export async function encodeMessage(m: Message): Promise<{ type: number; payload: Buffer }> {
  return m.type === 'indexUpdate'
    ? { type: FrameType.indexUpdate, payload: await encodeIndexUpdate(m) }
    : encodeMessageSync(m);
}

/** Every message except IndexUpdate, synchronously. */
export function encodeMessageSync(m: Exclude<Message, IndexUpdate>): { type: number; payload: Buffer } {
  switch (m.type) {
    case 'hello':
      return { type: FrameType.hello, payload: encodeHello(m) };
    case 'join':
      return { type: FrameType.join, payload: encodeJoin(m) };
    case 'joinResult':
      return { type: FrameType.joinResult, payload: encodeJoinResult(m) };
    case 'indexAck':
      return { type: FrameType.indexAck, payload: encodeIndexAck(m) };
    case 'blockRequest':
      return { type: FrameType.blockRequest, payload: encodeBlockRequest(m) };
    case 'blockResponse':
      return { type: FrameType.blockResponse, payload: encodeBlockResponse(m) };
    case 'ping':
      return { type: FrameType.ping, payload: encodePing() };
    case 'close':
      return { type: FrameType.close, payload: encodeClose(m) };
    case 'head':
      return { type: FrameType.head, payload: encodeHead(m) };
    case 'progress':
      return { type: FrameType.progress, payload: encodeProgress(m) };
  }
}

/** Decodes a frame; an unknown type byte is ERR_PROTOCOL. */
export async function decodeMessage(type: number, payload: Uint8Array): Promise<Message> {
  switch (type) {
    case FrameType.hello:
      return decodeHello(payload);
    case FrameType.join:
      return decodeJoin(payload);
    case FrameType.joinResult:
      return decodeJoinResult(payload);
    case FrameType.indexUpdate:
      return decodeIndexUpdate(payload);
    case FrameType.indexAck:
      return decodeIndexAck(payload);
    case FrameType.blockRequest:
      return decodeBlockRequest(payload);
    case FrameType.blockResponse:
      return decodeBlockResponse(payload);
    case FrameType.ping:
      return decodePing(payload);
    case FrameType.close:
      return decodeClose(payload);
    case FrameType.head:
      return decodeHead(payload);
    case FrameType.progress:
      return decodeProgress(payload);
    default:
      throw protocolError(`unknown message type ${type}`);
  }
}
