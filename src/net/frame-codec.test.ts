import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { encodeFrame, FrameDecoder, MAX_FRAME_BYTES, type Frame } from './frame-codec.js';
import { isSealsyncError } from '../errors.js';

function sampleFrames(): { type: number; payload: Buffer }[] {
  return [
    { type: 1, payload: Buffer.alloc(0) },
    { type: 7, payload: randomBytes(1) },
    { type: 4, payload: randomBytes(3000) },
    { type: 255, payload: randomBytes(70_000) },
    { type: 0, payload: randomBytes(5) },
  ];
}

function same(got: Frame[], want: { type: number; payload: Buffer }[]): void {
  assert.equal(got.length, want.length);
  got.forEach((f, i) => {
    assert.equal(f.type, want[i]?.type);
    assert.ok(Buffer.compare(f.payload, want[i]?.payload ?? Buffer.alloc(0)) === 0, `payload ${i}`);
  });
}

test('frames survive being fed in one piece', () => {
  const frames = sampleFrames();
  const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
  const dec = new FrameDecoder();
  same(dec.push(wire), frames);
  assert.equal(dec.pendingBytes, 0);
});

test('frames survive byte-by-byte and random splits', () => {
  const frames = sampleFrames();
  const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type, f.payload)));
  const bytewise = new FrameDecoder();
  const got1: Frame[] = [];
  for (let i = 0; i < Math.min(wire.length, 4000); i++) got1.push(...bytewise.push(wire.subarray(i, i + 1)));
  got1.push(...bytewise.push(wire.subarray(4000)));
  same(got1, frames);
  for (let round = 0; round < 50; round++) {
    const dec = new FrameDecoder();
    const got: Frame[] = [];
    let pos = 0;
    while (pos < wire.length) {
      const n = 1 + Math.floor(Math.random() * 9000);
      got.push(...dec.push(wire.subarray(pos, pos + n)));
      pos += n;
    }
    same(got, frames);
    assert.equal(dec.pendingBytes, 0);
  }
});

test('an oversized length prefix is rejected from its four bytes alone', () => {
  const dec = new FrameDecoder();
  const header = Buffer.alloc(4);
  header.writeUInt32BE(MAX_FRAME_BYTES + 1);
  assert.deepEqual(dec.push(header.subarray(0, 3)), []);
  assert.throws(() => dec.push(header.subarray(3)), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE'));
  const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
  assert.throws(() => new FrameDecoder().push(huge), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE'));
});

test('a zero length frame is a protocol error; a partial frame stays pending', () => {
  assert.throws(() => new FrameDecoder().push(Buffer.alloc(4)), (e) => isSealsyncError(e, 'ERR_PROTOCOL'));
  const dec = new FrameDecoder();
  const f = encodeFrame(3, randomBytes(100));
  assert.deepEqual(dec.push(f.subarray(0, 50)), []);
  assert.equal(dec.pendingBytes, 50 - 4);
});

test('encodeFrame refuses payloads over the maximum', () => {
  assert.throws(() => encodeFrame(1, Buffer.alloc(MAX_FRAME_BYTES)), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE'));
  assert.equal(encodeFrame(1, Buffer.alloc(MAX_FRAME_BYTES - 1)).length, MAX_FRAME_BYTES + 4);
});

test('a limit by type: refused from the length alone when no type may be that large, else at the type byte', () => {
  // Type 7 may be 1000 bytes, any other 10.
  const limit = (type: number | undefined) => (type === undefined || type === 7 ? 1000 : 10);
  const big = Buffer.alloc(4);
  big.writeUInt32BE(1001);
  assert.throws(() => new FrameDecoder(limit).push(big), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE'));
  const dec = new FrameDecoder(limit);
  const small = encodeFrame(3, randomBytes(50));
  assert.deepEqual(dec.push(small.subarray(0, 4)), [], 'the length alone is within what some type may have');
  assert.throws(() => dec.push(small.subarray(4, 5)), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE') && e.data?.type === 3);
  same(new FrameDecoder(limit).push(encodeFrame(7, Buffer.alloc(999))), [{ type: 7, payload: Buffer.alloc(999) }]);
});

test('next() applies the limit in force when each frame is reached; a failed decoder stays failed', () => {
  let max = 10;
  const dec = new FrameDecoder(() => max);
  dec.append(Buffer.concat([encodeFrame(1, Buffer.alloc(5)), encodeFrame(2, Buffer.alloc(500))]));
  assert.equal(dec.next()?.type, 1);
  max = 1000; // the reader widened the limit after handling the first frame
  assert.equal(dec.next()?.payload.length, 500);
  assert.equal(dec.next(), null);
  dec.append(encodeFrame(3, Buffer.alloc(2000)));
  assert.throws(() => dec.next(), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE'));
  assert.equal(dec.pendingBytes, 0, 'nothing kept after a failure');
  dec.append(encodeFrame(1, Buffer.alloc(1)));
  assert.throws(() => dec.next(), (e) => isSealsyncError(e, 'ERR_FRAME_TOO_LARGE'), 'the stream is out of sync for good');
});
