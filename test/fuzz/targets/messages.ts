/**
 * Messages (src/net/messages.ts): the input is a frame's body, `[u8 type][payload]`,
 * decoded with decodeMessage as a session does. Valid samples are every
 * message kind, IndexUpdates raw and deflate-compressed; hostile samples are
 * compressed bodies that inflate past the limit (zip bombs). Oracles: a decoded
 * message re-encodes to the same payload (strict decoding leaves one encoding
 * per message), a Progress never needs more than its totals, device names come out sanitised and bounded, and an index
 * body's records stay within their limits.
 */
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import {
  CloseReason, FrameType, HELLO_MAGIC, INDEX_ID_BYTES, MAX_CLIENT_VERSION_BYTES, MAX_DEVICE_NAME_BYTES, MAX_INDEX_MESSAGE_BYTES,
  MAX_RECORDS_PER_INDEX_MESSAGE, decodeMessage, encodeIndexBody, encodeMessageSync, sanitizeDeviceName,
  type CloseReasonName, type Message,
} from '../../../src/net/messages.js';
import { ByteWriter } from '../../../src/net/byte-codec.js';
import { MAX_SEALED_RECORD_BYTES } from '../../../src/net/limits.js';
import { DEFAULT_BOUNDS, bulkBytes, oracle, type FuzzTarget } from '../target.js';

const id32 = fc.uint8Array({ minLength: 32, maxLength: 32 });
const u32 = fc.nat({ max: 0xffff_ffff });
const seq = fc.oneof(fc.nat({ max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER));

function frameBody(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + payload.length);
  out[0] = type;
  out.set(payload, 1);
  return out;
}

/** Encodes with the real encoder (every kind but IndexUpdate, whose encoder is async). */
function encoded(m: Exclude<Message, { type: 'indexUpdate' }>): Uint8Array {
  const { type, payload } = encodeMessageSync(m);
  return frameBody(type, payload);
}

const hello = fc.record({
  protocolVersion: fc.nat({ max: 0xffff }),
  deviceName: fc.string({ maxLength: 40, unit: 'grapheme' }),
  clientVersion: fc.string({ maxLength: 20 }),
}).map((m) => encoded({ type: 'hello', ...m }));
const join = fc.record({ folderId: id32, proof: id32, readProof: fc.option(id32, { nil: undefined }) })
  .map(({ folderId, proof, readProof }) => encoded(readProof ? { type: 'join', folderId, proof, readProof } : { type: 'join', folderId, proof }));
const joinResult = fc.record({ folderId: id32, ok: fc.boolean(), proof: id32, readProof: fc.option(id32, { nil: undefined }) })
  .map(({ folderId, ok, proof, readProof }) => encoded(ok
    ? (readProof ? { type: 'joinResult', folderId, ok, proof, readProof } : { type: 'joinResult', folderId, ok, proof })
    : { type: 'joinResult', folderId, ok }));
const indexAck = fc.record({ folderId: id32, indexId: fc.uint8Array({ minLength: 8, maxLength: 8 }), seq })
  .map((m) => encoded({ type: 'indexAck', folderId: m.folderId, indexId: Buffer.from(m.indexId).toString('hex'), seq: m.seq }));
const blockRequest = fc.record({ reqId: u32, folderId: id32, blockId: id32, form: fc.constantFrom('sealed' as const, 'plain' as const) })
  .map((m) => encoded({ type: 'blockRequest', ...m }));
const blockResponse = fc.oneof(
  fc.record({ reqId: u32, data: bulkBytes(0, 2048) }).map((m) => encoded({ type: 'blockResponse', reqId: m.reqId, status: 'ok', data: m.data })),
  u32.map((reqId) => encoded({ type: 'blockResponse', reqId, status: 'missing', data: new Uint8Array(0) })),
);
const ping = fc.constant(null).map(() => encoded({ type: 'ping' }));
const head = fc.record({ folderId: id32, page: bulkBytes(1, 600) }).map((m) => encoded({ type: 'head', ...m }));
const count = fc.oneof(fc.nat({ max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER));
const progress = fc.record({ folderId: id32, globalFiles: count, globalBytes: count, needFiles: count, needBytes: count })
  .map((m) => encoded({
    type: 'progress', folderId: m.folderId, globalFiles: Math.max(m.globalFiles, m.needFiles), globalBytes: Math.max(m.globalBytes, m.needBytes),
    needFiles: m.needFiles, needBytes: m.needBytes,
  }));
const close = fc.constantFrom(...(Object.keys(CloseReason) as CloseReasonName[])).map((reason) => encoded({ type: 'close', reason }));

/** A body that inflates to one byte past the limit: a few KiB that would be megabytes. */
const ZIP_BOMB = deflateRawSync(Buffer.alloc(MAX_INDEX_MESSAGE_BYTES + 1));

type IndexEncoding = 'raw' | 'deflate' | 'bomb' | 'overcount';

/**
 * IndexUpdate payloads, written here because the real encoder is async (it
 * compresses on the thread pool). Valid ones must decode, which the harness
 * checks; 'bomb' inflates past the limit and 'overcount' claims one record
 * more than a message may carry, both to be refused.
 */
function indexUpdate(encoding: fc.Arbitrary<IndexEncoding>): fc.Arbitrary<Uint8Array> {
  return fc.record({
    folderId: id32,
    indexId: fc.uint8Array({ minLength: INDEX_ID_BYTES, maxLength: INDEX_ID_BYTES }),
    fromSeq: seq,
    span: fc.nat({ max: 100 }),
    records: fc.array(fc.oneof(fc.uint8Array({ maxLength: 8 }), bulkBytes(100, 400)), { maxLength: 20 }),
    encoding,
  }).map((m) => {
    const raw = encodeIndexBody(m.records);
    const body = m.encoding === 'raw' ? raw
      : m.encoding === 'deflate' ? deflateRawSync(raw)
        : m.encoding === 'bomb' ? ZIP_BOMB
          : new ByteWriter().u32(MAX_RECORDS_PER_INDEX_MESSAGE + 1).rest(new Uint8Array(4 * (MAX_RECORDS_PER_INDEX_MESSAGE + 1))).finish();
    const payload = new ByteWriter()
      .fixed(m.folderId, 32)
      .fixed(m.indexId, INDEX_ID_BYTES)
      .u64(m.fromSeq)
      .u64(Math.min(m.fromSeq + m.span, Number.MAX_SAFE_INTEGER))
      .u8(m.encoding === 'raw' || m.encoding === 'overcount' ? 0 : 1)
      .rest(body)
      .finish();
    return frameBody(FrameType.indexUpdate, payload);
  });
}

/** What a decoded message must satisfy beyond "it decoded". */
function check(m: Message, type: number, payload: Uint8Array): void {
  switch (m.type) {
    case 'hello':
      oracle(sanitizeDeviceName(m.deviceName) === m.deviceName, 'a decoded device name is not sanitised');
      oracle(Buffer.byteLength(m.deviceName) <= MAX_DEVICE_NAME_BYTES, 'a decoded device name is too long');
      oracle(Buffer.byteLength(m.clientVersion) <= MAX_CLIENT_VERSION_BYTES && /^[\x20-\x7e]*$/.test(m.clientVersion), 'a decoded client version is not printable ASCII within its bound');
      oracle(Buffer.from(payload.subarray(0, HELLO_MAGIC.length)).equals(HELLO_MAGIC), 'Hello decoded without its magic');
      return;
    case 'indexUpdate': {
      oracle(m.records.length <= MAX_RECORDS_PER_INDEX_MESSAGE, 'too many records decoded');
      oracle(m.records.every((r) => r.length <= MAX_SEALED_RECORD_BYTES), 'a decoded record is over the limit');
      oracle(m.fromSeq <= m.toSeq, 'toSeq < fromSeq decoded');
      const headerBytes = 32 + INDEX_ID_BYTES + 8 + 8 + 1;
      if (payload[headerBytes - 1] === 0) {
        oracle(Buffer.compare(encodeIndexBody(m.records), payload.subarray(headerBytes)) === 0, 'a raw index body does not re-encode to its bytes');
      }
      return;
    }
    case 'progress':
      oracle(m.needFiles <= m.globalFiles && m.needBytes <= m.globalBytes, 'a progress report that needs more than its folder holds decoded');
      break;
    default:
      break;
  }
  // Every other kind re-encodes to the same bytes (Hello's names are sanitised, IndexUpdate's encoder is async).
  const again = encodeMessageSync(m);
  oracle(again.type === type && Buffer.compare(again.payload, payload) === 0, `a ${m.type} does not re-encode to its bytes`);
}

export const messagesTarget: FuzzTarget = {
  name: 'messages',
  description: 'decodeMessage (src/net/messages.ts) on a frame body: type byte + payload',
  valid: fc.oneof(hello, join, joinResult, indexUpdate(fc.constantFrom('raw', 'deflate')), indexAck, blockRequest, blockResponse, ping, close, head, progress),
  // A bomb costs tens of ms to refuse (8 MiB inflated): a few go a long way.
  hostile: indexUpdate(fc.oneof({ weight: 1, arbitrary: fc.constant('bomb' as const) }, { weight: 19, arbitrary: fc.constant('overcount' as const) })),
  bounds: DEFAULT_BOUNDS,
  open: () => ({
    async decode(input) {
      if (input.length === 0) return null; // a frame always has its type byte (the frame decoder refuses length 0)
      return decodeMessage(input[0] as number, input.subarray(1));
    },
    check(input, m) {
      if (m !== null) check(m as Message, input[0] as number, input.subarray(1));
    },
  }),
};
