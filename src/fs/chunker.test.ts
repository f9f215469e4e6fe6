import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, hkdfSync } from 'node:crypto';
import {
  Chunker, chunkBuffer, chunkParamsForSize, validateChunkParams,
  BOUNDED_FILE_SIZE, MAX_BLOCKS_PER_FILE, MAX_CHUNK_SIZE, MAX_FILE_SIZE, MIN_CHUNK_AVG, TARGET_BLOCKS_PER_FILE,
} from './chunker.js';
import { MAX_BLOCKS_PER_RECORD } from '../crypto/sealed-record.js';
import { GEAR_TABLE_VERSION, gearTable } from './gear-table.js';
import { gearTableFor } from '../crypto/chunk-key.js';
import { deriveReadOnly, keysFromSecret } from '../crypto/keys.js';
import { pseudoRandomBytes } from './testing/test-data.js';

const MiB = 1024 * 1024;
const GOLDEN_TABLE_SHA = '98ce8e2fce7a33c8b83f813da3d2871a2fb49edb95dee9024d17285fe22ddabb';
/** One folder's keys and gear table: the golden cut points below are for this folder. */
const FOLDER = keysFromSecret(new Uint8Array(32).fill(1));
const GEAR = gearTable(FOLDER.chunkKey as Uint8Array);

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

test('gear table v2 is the documented derivation from the chunk key', () => {
  assert.equal(GEAR_TABLE_VERSION, 2);
  const table = gearTableFor(FOLDER.chunkKey as Uint8Array);
  assert.equal(table.length, 256);
  // HKDF-SHA-256(chunk key, "sealsync/v2/gear", 1024 bytes) read as 256 big-endian uint32.
  const bytes = hkdfSync('sha256', FOLDER.chunkKey as Uint8Array, new Uint8Array(0), 'sealsync/v2/gear', 1024);
  const be = Buffer.alloc(1024);
  table.forEach((v, i) => be.writeUInt32BE(v, i * 4));
  assert.deepEqual(be, Buffer.from(bytes));
  assert.equal(sha(be), GOLDEN_TABLE_SHA);
  assert.deepEqual([...GEAR], [...new Int32Array(table.buffer)]);
  assert.throws(() => gearTableFor(new Uint8Array(31)), { code: 'ERR_KEY_LENGTH' });
  assert.throws(() => new Chunker({ min: 1024, avg: 4096, max: 16384 }, new Int32Array(255)), { code: 'ERR_INVALID_ARGUMENT' });
});

test('keyed chunking: the same file cuts differently in two folders, alike on every device of one folder', () => {
  const data = pseudoRandomBytes(4 * MiB, 7);
  const params = chunkParamsForSize(data.length);
  const other = keysFromSecret(new Uint8Array(32).fill(2));
  const inA = chunkBuffer(data, params, GEAR);
  const inB = chunkBuffer(data, params, gearTable(other.chunkKey as Uint8Array));
  // Boundaries as file offsets: two folders share (almost) none of them.
  const offsets = (lens: number[]) => lens.slice(0, -1).map(((sum) => (l: number) => (sum += l))(0));
  const shared = offsets(inA).filter((o) => offsets(inB).includes(o));
  assert.ok(inA.length > 10 && inB.length > 10);
  assert.ok(shared.length <= 1, `shared boundaries ${shared.length} of ${inA.length}`);
  // A read-only device derives the same chunk key from R, so it cuts exactly like the writer.
  const ro = deriveReadOnly(FOLDER);
  assert.deepEqual(ro.chunkKey, FOLDER.chunkKey);
  assert.deepEqual(chunkBuffer(data, params, gearTable(ro.chunkKey as Uint8Array)), inA);
  // Dedup within the folder still holds: a second copy of the file cuts at the same places.
  assert.deepEqual(chunkBuffer(Uint8Array.from(data), params, GEAR), inA);
});

test('golden cut points (this folder\'s table), small params', () => {
  const data = pseudoRandomBytes(256 * 1024, 1);
  assert.equal(sha(data).slice(0, 16), '2fba9895600d2cf4', 'test input generator changed');
  assert.deepEqual(chunkBuffer(data, { min: 1024, avg: 4096, max: 16384 }, GEAR), [
    6043, 4097, 4742, 1093, 3397, 1589, 4011, 3179, 8573, 4948, 3586, 5546, 1034, 8494, 9112, 3162, 4512, 5504, 5679,
    1397, 4503, 6830, 5270, 10105, 3700, 3418, 4650, 5437, 6717, 4383, 5128, 5792, 9020, 3826, 1134, 5948, 4453, 4146,
    9918, 4276, 4502, 4520, 6791, 6506, 7928, 6036, 1553, 2316, 5941, 2145, 2190, 13364,
  ]);
});

test('golden cut points (this folder\'s table), default params on 8 MiB', () => {
  const data = pseudoRandomBytes(8 * MiB, 2);
  assert.deepEqual(chunkBuffer(data, chunkParamsForSize(data.length), GEAR), [
    244639, 67252, 147880, 76536, 131515, 168647, 78763, 154329, 196278, 112296, 152926, 104040, 167091, 223852,
    69842, 226497, 167508, 134662, 168383, 113930, 133438, 79634, 146167, 71183, 86331, 131854, 241606, 64020, 381545,
    57589, 240868, 166110, 257526, 177212, 170285, 156282, 172646, 207347, 172414, 138779, 155500, 168584, 299735,
    191838, 352709, 142887, 110997, 138759, 174347, 170267, 137266, 39190, 112321, 34506,
  ]);
});

test('cut points do not depend on how the input is split into pushes', () => {
  const data = pseudoRandomBytes(3 * MiB + 17, 3);
  const params = { min: 2048, avg: 8192, max: 32768 };
  const whole = chunkBuffer(data, params, GEAR);
  const c = new Chunker(params, GEAR);
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
    const lengths = chunkBuffer(pseudoRandomBytes(len, seed), params, GEAR);
    assert.equal(lengths.reduce((a, b) => a + b, 0), len);
    lengths.forEach((l, i) => {
      assert.ok(l <= params.max, `chunk ${i} too big: ${l}`);
      if (i < lengths.length - 1) assert.ok(l >= params.min, `chunk ${i} too small: ${l}`);
    });
  }
  // Constant bytes: the rolling hash settles on a fixed value that misses the mask, so only max cuts.
  assert.deepEqual(chunkBuffer(new Uint8Array(20_000), params, GEAR), [8192, 8192, 3616]);
});

test('100 bytes inserted at the start re-send less than 1 MiB', () => {
  const src = pseudoRandomBytes(32 * MiB, 50);
  const params = chunkParamsForSize(src.length);
  const before = chunkSet(src, chunkBuffer(src, params, GEAR));
  const edited = new Uint8Array(src.length + 100);
  edited.set(pseudoRandomBytes(100, 9), 0);
  edited.set(src, 100);
  const afterLengths = chunkBuffer(edited, params, GEAR);
  const resent = resentBytes(before, chunkSet(edited, afterLengths));
  assert.ok(resent < MiB, `re-sent ${resent} bytes`);
  const reused = afterLengths.length - [...chunkSet(edited, afterLengths).keys()].filter((h) => !before.has(h)).length;
  assert.ok(reused >= afterLengths.length - 3, `only ${reused} of ${afterLengths.length} chunks reused`);
});

test('a 1 MiB overwrite inside a 256 MiB file re-sends less than 2 MiB', () => {
  const data = pseudoRandomBytes(256 * MiB, 7);
  const params = chunkParamsForSize(data.length);
  const before = chunkSet(data, chunkBuffer(data, params, GEAR));
  for (const [offset, seed] of [[100 * MiB + 12345, 101], [200 * MiB + 999, 102]] as const) {
    const edited = data.slice();
    edited.set(pseudoRandomBytes(MiB, seed), offset);
    const resent = resentBytes(before, chunkSet(edited, chunkBuffer(edited, params, GEAR)));
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
  assert.throws(() => new Chunker({ min: 10, avg: 1000, max: 2000 }, GEAR), { code: 'ERR_INVALID_ARGUMENT' });
  assert.throws(() => new Chunker({ min: 10, avg: 1024, max: 512 }, GEAR), { code: 'ERR_INVALID_ARGUMENT' });
});
