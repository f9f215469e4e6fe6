import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  Chunker, chunkBuffer, chunkParamsForSize, validateChunkParams,
  BOUNDED_FILE_SIZE, MAX_BLOCKS_PER_FILE, MAX_CHUNK_SIZE, MAX_FILE_SIZE, MIN_CHUNK_AVG, TARGET_BLOCKS_PER_FILE,
} from './chunker.js';
import { MAX_BLOCKS_PER_RECORD } from '../crypto/sealed-record.js';
import { GEAR_TABLE, GEAR_TABLE_VERSION } from './gear-table.js';
import { pseudoRandomBytes } from './testing/test-data.js';

const MiB = 1024 * 1024;

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Map of chunk digest -> length, to count what an edit would re-send. */
function chunkSet(data: Uint8Array, lengths: number[]): Map<string, number> {
  const m = new Map<string, number>();
  let off = 0;
  for (const len of lengths) {
    m.set(sha(data.subarray(off, off + len)), len);
    off += len;
  }
  return m;
}

function resentBytes(before: Map<string, number>, after: Map<string, number>): number {
  let n = 0;
  for (const [h, len] of after) if (!before.has(h)) n += len;
  return n;
}

test('gear table v1 is the documented derivation', () => {
  assert.equal(GEAR_TABLE_VERSION, 1);
  assert.equal(GEAR_TABLE.length, 256);
  assert.deepEqual([...GEAR_TABLE.slice(0, 4)], [0x027ddabb, 0x6fe7b3b7, 0xf27d275c, 0xbbdaeba1]);
  const be = Buffer.alloc(1024);
  GEAR_TABLE.forEach((v, i) => be.writeUInt32BE(v, i * 4));
  assert.equal(sha(be), '635789b8282924d99638c6bd13e8b192451c4b5cf6163dd5f0225752b519a7c5');
});

test('golden cut points, small params', () => {
  const data = pseudoRandomBytes(256 * 1024, 1);
  assert.equal(sha(data).slice(0, 16), '2fba9895600d2cf4', 'test input generator changed');
  assert.deepEqual(chunkBuffer(data, { min: 1024, avg: 4096, max: 16384 }), [
    5374, 5200, 2206, 8455, 8697, 1093, 2694, 5582, 1651, 6931, 5308, 4115, 4709, 3086, 1407, 4191, 4251, 3368,
    2530, 9025, 3165, 4039, 4317, 5129, 6990, 8405, 1788, 6710, 6771, 1090, 2369, 7362, 6734, 4127, 4315, 1856,
    8356, 9382, 3552, 4210, 4963, 8144, 4774, 9595, 4883, 8303, 1257, 6883, 5171, 6688, 1397, 7848, 1698,
  ]);
});

test('golden cut points, default params on 8 MiB', () => {
  const data = pseudoRandomBytes(8 * MiB, 2);
  assert.deepEqual(chunkBuffer(data, chunkParamsForSize(data.length)), [
    183919, 358140, 524288, 380679, 151936, 57449, 143070, 195779, 158205, 160499, 253776, 195412, 36868, 247818,
    193838, 124956, 202691, 141002, 180559, 108160, 179546, 136737, 80388, 167570, 227625, 136557, 155535, 394862,
    191138, 137281, 140487, 69540, 262654, 75373, 100080, 106055, 251587, 135834, 163188, 205865, 203486, 170817,
    149418, 146171, 133706, 172106, 45964, 49994,
  ]);
});

test('cut points do not depend on how the input is split into pushes', () => {
  const data = pseudoRandomBytes(3 * MiB + 17, 3);
  const params = { min: 2048, avg: 8192, max: 32768 };
  const whole = chunkBuffer(data, params);
  const c = new Chunker(params);
  const pieces: number[] = [];
  let seed = 12345;
  for (let off = 0; off < data.length;) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const n = Math.min(data.length - off, seed % 70_000); // includes empty pushes
    pieces.push(...c.push(data.subarray(off, off + n)));
    off += n;
  }
  pieces.push(...c.finish());
  assert.deepEqual(pieces, whole);
});

test('chunk sizes respect min and max, and sum to the input length', () => {
  const params = { min: 1024, avg: 4096, max: 8192 };
  for (const [len, seed] of [[0, 1], [1, 2], [1023, 3], [1024, 4], [8192, 5], [200_000, 6]] as const) {
    const lengths = chunkBuffer(pseudoRandomBytes(len, seed), params);
    assert.equal(lengths.reduce((a, b) => a + b, 0), len);
    lengths.forEach((l, i) => {
      assert.ok(l <= params.max, `chunk ${i} too big: ${l}`);
      if (i < lengths.length - 1) assert.ok(l >= params.min, `chunk ${i} too small: ${l}`);
    });
  }
  // Constant bytes: the rolling hash settles on a fixed value that misses the mask, so only max cuts.
  assert.deepEqual(chunkBuffer(new Uint8Array(20_000), params), [8192, 8192, 3616]);
});

test('100 bytes inserted at the start re-send less than 1 MiB', () => {
  const src = pseudoRandomBytes(32 * MiB, 50);
  const params = chunkParamsForSize(src.length);
  const before = chunkSet(src, chunkBuffer(src, params));
  const edited = new Uint8Array(src.length + 100);
  edited.set(pseudoRandomBytes(100, 9), 0);
  edited.set(src, 100);
  const afterLengths = chunkBuffer(edited, params);
  const resent = resentBytes(before, chunkSet(edited, afterLengths));
  assert.ok(resent < MiB, `re-sent ${resent} bytes`);
  const reused = afterLengths.length - [...chunkSet(edited, afterLengths).keys()].filter((h) => !before.has(h)).length;
  assert.ok(reused >= afterLengths.length - 3, `only ${reused} of ${afterLengths.length} chunks reused`);
});

test('a 1 MiB overwrite inside a 256 MiB file re-sends less than 2 MiB', () => {
  const data = pseudoRandomBytes(256 * MiB, 7);
  const params = chunkParamsForSize(data.length);
  const before = chunkSet(data, chunkBuffer(data, params));
  for (const [offset, seed] of [[100 * MiB + 12345, 101], [200 * MiB + 999, 102]] as const) {
    const edited = data.slice();
    edited.set(pseudoRandomBytes(MiB, seed), offset);
    const resent = resentBytes(before, chunkSet(edited, chunkBuffer(edited, params)));
    assert.ok(resent >= MiB && resent < 2 * MiB, `re-sent ${resent} bytes at offset ${offset}`);
  }
});

test('chunkParamsForSize keeps every file under MAX_BLOCKS_PER_FILE', () => {
  assert.deepEqual(chunkParamsForSize(0), { min: MIN_CHUNK_AVG / 4, avg: MIN_CHUNK_AVG, max: MIN_CHUNK_AVG * 4 });
  assert.deepEqual(chunkParamsForSize(256 * MiB), chunkParamsForSize(0));
  assert.equal(chunkParamsForSize(TARGET_BLOCKS_PER_FILE * MIN_CHUNK_AVG).avg, MIN_CHUNK_AVG);
  assert.equal(chunkParamsForSize(TARGET_BLOCKS_PER_FILE * MIN_CHUNK_AVG + 1).avg, MIN_CHUNK_AVG * 2);
  // A record's block list limit (crypto); the wire (src/net, above us) sizes its largest block for 16 MiB.
  assert.equal(MAX_BLOCKS_PER_FILE, MAX_BLOCKS_PER_RECORD);
  assert.equal(MAX_CHUNK_SIZE, 16 * MiB);
  let prevAvg = 0;
  for (let size = 1; size <= MAX_FILE_SIZE; size = size * 2 + 1) {
    const p = chunkParamsForSize(size);
    validateChunkParams(p);
    assert.ok(p.avg >= prevAvg, 'avg never shrinks as files grow');
    if (size <= BOUNDED_FILE_SIZE) assert.ok(Math.ceil(size / p.min) <= MAX_BLOCKS_PER_FILE, `size ${size}`);
    // The mean chunk is above avg (measured ~1.2x), so the expected count stays under the cap up to MAX_FILE_SIZE.
    assert.ok(size / p.avg <= MAX_BLOCKS_PER_FILE, `size ${size}`);
    assert.ok(p.max <= MAX_CHUNK_SIZE);
    prevAvg = p.avg;
  }
  assert.ok(Math.ceil(BOUNDED_FILE_SIZE / chunkParamsForSize(BOUNDED_FILE_SIZE).min) <= MAX_BLOCKS_PER_FILE);
  assert.throws(() => chunkParamsForSize(-1), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => new Chunker({ min: 10, avg: 1000, max: 2000 }), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => new Chunker({ min: 10, avg: 1024, max: 512 }), { code: 'ERR_INVALID_ARGUMENT' });
});
