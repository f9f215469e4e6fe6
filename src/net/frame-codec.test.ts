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
