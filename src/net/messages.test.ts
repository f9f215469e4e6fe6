import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SEALED_RECORD_BYTES } from '../crypto/sealed-record.js';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import {
  encodeMessage, decodeMessage, FrameType, type Message, MAX_DEVICE_NAME_BYTES, PROTOCOL_VERSION,
  MAX_INDEX_MESSAGE_BYTES, MAX_RECORDS_PER_INDEX_MESSAGE, sanitizeDeviceName, encodeIndexUpdate, indexBodySize,
} from './messages.js';
import { ByteWriter } from './byte-codec.js';
import { MAX_FRAME_BYTES } from './frame-codec.js';
import { isSealsyncError } from '../errors.js';

const id32 = () => new Uint8Array(randomBytes(32));
const isProtocol = (e: unknown) => isSealsyncError(e, 'ERR_PROTOCOL');

const samples: Message[] = [
  { type: 'hello', protocolVersion: PROTOCOL_VERSION, deviceName: 'laptöp ✓', clientVersion: '0.1.0' },
  { type: 'join', folderId: id32(), proof: id32() },
  { type: 'joinResult', folderId: id32(), ok: true, proof: id32() },
  { type: 'joinResult', folderId: id32(), ok: false },
  { type: 'indexUpdate', folderId: id32(), indexId: '0123456789abcdef', fromSeq: 0, toSeq: 0, records: [] },
  {
    type: 'indexUpdate', folderId: id32(), indexId: 'ffffffffffffffff', fromSeq: 5, toSeq: 2 ** 53 - 1,
    records: [new Uint8Array(randomBytes(10)), new Uint8Array(0), new Uint8Array(randomBytes(300))],
  },
  { type: 'indexAck', folderId: id32(), indexId: '00000000000000aa', seq: 123456789012 },
  { type: 'blockRequest', reqId: 0xffffffff, folderId: id32(), blockId: id32(), form: 'sealed' },
  { type: 'blockRequest', reqId: 1, folderId: id32(), blockId: id32(), form: 'plain' },
  { type: 'blockResponse', reqId: 7, status: 'ok', data: new Uint8Array(randomBytes(1000)) },
  { type: 'blockResponse', reqId: 8, status: 'missing', data: new Uint8Array(0) },
  { type: 'ping' },
  { type: 'close', reason: 'misbehaviour' },
  { type: 'progress', folderId: id32(), globalFiles: 10, globalBytes: 2 ** 53 - 1, needFiles: 3, needBytes: 4096 },
  { type: 'progress', folderId: id32(), globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0 },
];

function normalise(m: unknown): unknown {
  return JSON.parse(JSON.stringify(m, (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v)));
}

test('every message type round-trips', async () => {
  for (const m of samples) {
    const { type, payload } = await encodeMessage(m);
    assert.equal(type, FrameType[m.type]);
    const back = await decodeMessage(type, payload);
    assert.deepEqual(normalise(back), normalise(m), m.type);
  }
});

test('a large, compressible index update is compressed and round-trips', async () => {
  const records = Array.from({ length: 500 }, (_, i) => new Uint8Array(Buffer.alloc(200, i % 7)));
  const m: Message = { type: 'indexUpdate', folderId: id32(), indexId: '0011223344556677', fromSeq: 1, toSeq: 500, records };
  const { type, payload } = await encodeMessage(m);
  assert.ok(payload.length < indexBodySize(records) / 4, `compressed to ${payload.length}`);
  assert.equal(payload[32 + 8 + 16], 1, 'encoding byte says deflate-raw');
  assert.deepEqual(normalise(await decodeMessage(type, payload)), normalise(m));
});

test('any truncation or trailing byte is ERR_PROTOCOL', async () => {
  for (const m of samples) {
    const { type, payload } = await encodeMessage(m);
    // An ok block response's data runs to the end of the frame: an extra byte is data.
    if (!(m.type === 'blockResponse' && m.status === 'ok')) {
      await assert.rejects(decodeMessage(type, Buffer.concat([payload, Buffer.of(0)])), isProtocol, `${m.type} + trailing`);
    }
    // Block responses run to the end of the frame, so only their header can be cut.
    const cuts = m.type === 'blockResponse' ? [0, 4] : [0, payload.length - 1];
    for (const cut of cuts) {
      if (cut < 0 || cut >= payload.length) continue;
      await assert.rejects(decodeMessage(type, payload.subarray(0, cut)), isProtocol, `${m.type} cut ${cut}`);
    }
  }
});

test('unknown types, bad enums and bad magic are rejected', async () => {
  await assert.rejects(decodeMessage(0, Buffer.alloc(0)), isProtocol);
  await assert.rejects(decodeMessage(200, Buffer.alloc(0)), isProtocol);
  await assert.rejects(decodeMessage(FrameType.close, Buffer.of(0, 99)), isProtocol);
  await assert.rejects(decodeMessage(FrameType.joinResult, Buffer.concat([id32(), Buffer.of(2)])), isProtocol);
  await assert.rejects(decodeMessage(FrameType.blockResponse, Buffer.of(0, 0, 0, 1, 5)), isProtocol);
  await assert.rejects(decodeMessage(FrameType.blockResponse, Buffer.of(0, 0, 0, 1, 1, 9)), isProtocol, 'missing with data');
  const hello = (await encodeMessage(samples[0] as Message)).payload;
  hello[0] = 0x58;
  await assert.rejects(decodeMessage(FrameType.hello, hello), isProtocol);
  const badUtf8 = new ByteWriter().rest(Buffer.from('SEALSYNC')).u16(1).bytes8(Buffer.of(0xc3, 0x28)).bytes8(Buffer.alloc(0)).finish();
  await assert.rejects(decodeMessage(FrameType.hello, badUtf8), isProtocol);
  const longName = new ByteWriter().rest(Buffer.from('SEALSYNC')).u16(1).bytes8(Buffer.alloc(65, 0x61)).bytes8(Buffer.alloc(0)).finish();
  await assert.rejects(decodeMessage(FrameType.hello, longName), isProtocol);
});

test('a progress report that needs more than its folder holds is ERR_PROTOCOL', async () => {
  const counts = (gf: number, gb: number, nf: number, nb: number) => new ByteWriter().fixed(id32(), 32).u64(gf).u64(gb).u64(nf).u64(nb).finish();
  await assert.rejects(decodeMessage(FrameType.progress, counts(1, 10, 2, 0)), isProtocol, 'more files needed than held');
  await assert.rejects(decodeMessage(FrameType.progress, counts(1, 10, 1, 11)), isProtocol, 'more bytes needed than held');
  const huge = Buffer.concat([id32(), Buffer.alloc(8, 0xff), Buffer.alloc(24)]);
  await assert.rejects(decodeMessage(FrameType.progress, huge), isProtocol, 'past 2^53');
  assert.deepEqual((await decodeMessage(FrameType.progress, counts(1, 10, 1, 10))).type, 'progress');
});

test('device names are sanitised and bounded', async () => {
  assert.equal(sanitizeDeviceName('  evil\u202etxt.exe\u0000\n '), 'eviltxt.exe');
  const long = 'é'.repeat(100);
  const clean = sanitizeDeviceName(long);
  assert.ok(Buffer.byteLength(clean) <= MAX_DEVICE_NAME_BYTES);
  assert.equal(clean, 'é'.repeat(32));
  const hostile = new ByteWriter().rest(Buffer.from('SEALSYNC')).u16(1).bytes8(Buffer.from('a\u0007b\u200bc')).bytes8(Buffer.from('1\n')).finish();
  const m = await decodeMessage(FrameType.hello, hostile);
  assert.equal(m.type === 'hello' && m.deviceName, 'abc');
  assert.equal(m.type === 'hello' && m.clientVersion, '1');
});

test('index updates: counts, seq order and the inflate limit are enforced', async () => {
  const head = (encoding: number, from = 0, to = 0) =>
    new ByteWriter().rest(id32()).rest(Buffer.alloc(8)).u64(from).u64(to).u8(encoding);
  // count larger than the limit
  await assert.rejects(decodeMessage(FrameType.indexUpdate, head(0).u32(MAX_RECORDS_PER_INDEX_MESSAGE + 1).finish()), isProtocol);
  // count that the bytes cannot hold
  await assert.rejects(decodeMessage(FrameType.indexUpdate, head(0).u32(1000).finish()), isProtocol);
  // toSeq < fromSeq
  await assert.rejects(decodeMessage(FrameType.indexUpdate, head(0, 5, 4).u32(0).finish()), isProtocol);
  // unknown encoding
  await assert.rejects(decodeMessage(FrameType.indexUpdate, head(2).u32(0).finish()), isProtocol);
  // garbage that does not inflate
  await assert.rejects(decodeMessage(FrameType.indexUpdate, head(1).rest(randomBytes(100)).finish()), isProtocol);
  // zip bomb: a small frame that inflates past the limit
  const bomb = deflateRawSync(Buffer.alloc(MAX_INDEX_MESSAGE_BYTES + 1024));
  assert.ok(bomb.length < 64 * 1024);
  await assert.rejects(decodeMessage(FrameType.indexUpdate, head(1).rest(bomb).finish()), isProtocol);
  // sender side refuses oversize batches
  await assert.rejects(
    encodeIndexUpdate({ folderId: id32(), indexId: '0000000000000000', fromSeq: 0, toSeq: 1, records: [Buffer.alloc(MAX_SEALED_RECORD_BYTES + 1)] }),
    (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'),
  );
  await assert.rejects(
    encodeIndexUpdate({ folderId: id32(), indexId: 'XYZ', fromSeq: 0, toSeq: 1, records: [] }),
    (e) => isSealsyncError(e, 'ERR_INVALID_ARGUMENT'),
  );
});

// Found by fuzzing (test/fuzz, target messages): inflating in zlib's default 16 KiB
// pieces cost 15-110 ms of CPU per 8 KiB bomb frame (one thread-pool round trip and
// one Buffer per piece, 512 of them); in 256 KiB pieces it costs a few ms.
test('refusing a zip bomb costs a few ms of CPU, not tens', async () => {
  const head = new ByteWriter().rest(id32()).rest(Buffer.alloc(8)).u64(0).u64(0).u8(1);
  const frame = head.rest(deflateRawSync(Buffer.alloc(MAX_INDEX_MESSAGE_BYTES + 1))).finish();
  let cheapest = Infinity;
  // The first runs pay for fresh pages and JIT; the cheapest of ten is the steady cost
  // (measured: 12-32 ms with 16 KiB pieces, 2-4 ms with 256 KiB, on a loaded 2-core machine).
  for (let i = 0; i < 10; i++) {
    const before = process.cpuUsage();
    await assert.rejects(decodeMessage(FrameType.indexUpdate, frame), isProtocol);
    const used = process.cpuUsage(before);
    cheapest = Math.min(cheapest, (used.user + used.system) / 1000);
  }
  assert.ok(cheapest < 8, `cheapest of 10 refusals took ${cheapest.toFixed(1)} ms of CPU`);
});

test('the largest sealed record fits an index message, and an index message fits a frame', () => {
  assert.ok(MAX_SEALED_RECORD_BYTES > 4 * 1024 * 1024, `max record ${MAX_SEALED_RECORD_BYTES}`);
  assert.ok(4 + 4 + MAX_SEALED_RECORD_BYTES <= MAX_INDEX_MESSAGE_BYTES);
  assert.ok(MAX_INDEX_MESSAGE_BYTES + 64 < MAX_FRAME_BYTES);
});
