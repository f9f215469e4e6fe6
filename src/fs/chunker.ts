/**
 * Content-defined chunking: our own FastCDC (Xia et al., 2016/2020) with
 * normalized chunking and cut-point skipping, streaming, keyed per folder.
 *
 * How this works: a 32-bit "gear" hash rolls over the bytes
 * (fp = (fp << 1) + GEAR[byte], GEAR the folder's keyed table, gear-table.ts); after 32 steps a byte has shifted out, so the
 * hash depends only on the last 32 bytes and boundaries re-synchronise right
 * after an insertion or deletion. A chunk ends after a byte where the masked
 * high bits of fp are all zero. The first `min` bytes of a chunk are skipped
 * unhashed (cut-point skipping, and it bounds the chunk count); until the
 * chunk reaches `avg` a harder mask (1 more bit) is used, after it an easier
 * one (1 bit fewer), which pulls sizes towards `avg` ("normalized chunking",
 * level 1); at `max` the chunk is cut unconditionally. Level 1, not the
 * paper's 2: the mask in force depends on where the chunk started, so after
 * an edit a stronger normalization takes longer to fall back onto the old cut
 * points; measured on 256 MiB with 40 random 1 MiB overwrites, level 2 re-sent
 * up to 2.2 MiB, level 1 at most 1.6 MiB (median 1.2 MiB). The state between
 * push() calls is just (bytes in the current chunk, fp), so the cut points
 * are identical however the input is split into pushes.
 *
 * Sizing (chunkParamsForSize): the mask targets 128 KiB (min 32 KiB, max
 * 512 KiB; real mean ~160 KiB) for every file up to 2 GiB. That keeps
 * per-block overhead (one seal, one index row, one request) small while an
 * edit re-sends little: a 1 MiB overwrite in a 256 MiB file re-sends 1.2 MiB
 * (median; 256 KiB blocks re-sent up to 1.9 MiB, too close to the 2 MiB
 * budget), 100 bytes inserted at the start re-send one block. Bigger files
 * double the average so a file averages at most TARGET_BLOCKS_PER_FILE
 * blocks, up to MAX_CHUNK_AVG (4 MiB avg, 16 MiB max chunk from 64 GiB on;
 * MAX_CHUNK_SIZE is what the wire's largest sealed block allows).
 *
 * Block count: a sealed record holds at most MAX_BLOCKS_PER_FILE (65,536)
 * blocks. Every chunk but the last is >= min, so up to 64 GiB the count is
 * bounded by construction (size / min <= 4 * TARGET_BLOCKS_PER_FILE). Past
 * 64 GiB the mean block stays ~5 MiB, so a 256 GiB file (MAX_FILE_SIZE)
 * averages ~55,000 blocks; content that would need more is refused by the
 * hasher with ERR_FILE_TOO_LARGE rather than producing an unsendable record.
 */
import { SealsyncError } from '../errors.js';
import type { GearTable } from './gear-table.js';

/** Smallest average block size (files up to 2 GiB use it). */
export const MIN_CHUNK_AVG = 128 * 1024;
/** Largest average block size; it bounds memory per hashing worker. */
export const MAX_CHUNK_AVG = 4 * 1024 * 1024;
/** min = avg / CHUNK_SPREAD, max = avg * CHUNK_SPREAD. */
export const CHUNK_SPREAD = 4;
/** Largest block any file can have: the wire and the block store rely on it. */
export const MAX_CHUNK_SIZE = MAX_CHUNK_AVG * CHUNK_SPREAD;
/** Average blocks per file before the average block size starts doubling. */
export const TARGET_BLOCKS_PER_FILE = 16_384;
/** Hard cap on blocks per file: a sealed record's block list limit (crypto MAX_BLOCKS_PER_RECORD). */
export const MAX_BLOCKS_PER_FILE = 65_536;
/** Largest file size for which the block count is bounded by construction (64 GiB). */
export const BOUNDED_FILE_SIZE = MAX_BLOCKS_PER_FILE * (MAX_CHUNK_AVG / CHUNK_SPREAD);
/** Largest file we hash (256 GiB); see the header for the block count above BOUNDED_FILE_SIZE. */
export const MAX_FILE_SIZE = 4 * BOUNDED_FILE_SIZE;
/** Extra mask bits below avg and fewer bits above it (FastCDC normalization level). */
const NORMALIZATION_LEVEL = 1;

export interface ChunkParams {
  readonly min: number;
  readonly avg: number;
  readonly max: number;
}

/** Chunk sizes for a file of `fileSize` bytes (see the header for the reasoning). */
export function chunkParamsForSize(fileSize: number): ChunkParams {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'fileSize' must be a non-negative integer, got ${fileSize}`);
  }
  let avg = MIN_CHUNK_AVG;
  while (avg < MAX_CHUNK_AVG && fileSize / avg > TARGET_BLOCKS_PER_FILE) avg *= 2;
  return { min: avg / CHUNK_SPREAD, avg, max: avg * CHUNK_SPREAD };
}

/** Throws unless min <= avg <= max, avg a power of two >= 64, max <= MAX_CHUNK_SIZE. */
export function validateChunkParams(p: ChunkParams): void {
  const ok =
    Number.isSafeInteger(p.min) && Number.isSafeInteger(p.avg) && Number.isSafeInteger(p.max) &&
    p.min >= 1 && p.min <= p.avg && p.avg <= p.max && p.max <= MAX_CHUNK_SIZE &&
    p.avg >= 64 && (p.avg & (p.avg - 1)) === 0;
  if (!ok) throw new SealsyncError('ERR_INVALID_ARGUMENT', `invalid chunk params ${JSON.stringify(p)}`);
}

/** A mask of the top `bits` bits of a 32-bit word, as a signed int32. */
function highMask(bits: number): number {
  return bits >= 32 ? -1 : (~0 << (32 - bits)) | 0;
}

export class Chunker {
  readonly params: ChunkParams;
  readonly #maskS: number;
  readonly #maskL: number;
  readonly #gear: GearTable;
  /** Bytes in the chunk that is still open. */
  #len = 0;
  /** Rolling hash; reset at each chunk start. */
  #fp = 0;

  /** `gear`: the folder's table (gear-table.ts gearTable(chunk key)). */
  constructor(params: ChunkParams, gear: GearTable) {
    validateChunkParams(params);
    if (!(gear instanceof Int32Array) || gear.length !== 256) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'a gear table has 256 entries');
    this.params = params;
    this.#gear = gear;
    const bits = Math.log2(params.avg);
    this.#maskS = highMask(bits + NORMALIZATION_LEVEL);
    this.#maskL = highMask(Math.max(1, bits - NORMALIZATION_LEVEL));
  }

  /** Feeds bytes; returns the lengths of the chunks that ended inside them. */
  push(data: Uint8Array): number[] {
    const cuts: number[] = [];
    const { min, avg, max } = this.params;
    const maskS = this.#maskS;
    const maskL = this.#maskL;
    const GEAR = this.#gear;
    const n = data.length;
    let len = this.#len;
    let fp = this.#fp;
    let i = 0;
    while (i < n) {
      if (len < min) {
        // Cut-point skipping: the first `min` bytes never end a chunk, so are not hashed.
        const skip = Math.min(min - len, n - i);
        i += skip;
        len += skip;
        continue;
      }
      const mask = len < avg ? maskS : maskL;
      const stop = Math.min(n, i + (len < avg ? avg : max) - len);
      let j = i;
      let found = false;
      while (j < stop) {
        fp = ((fp << 1) + (GEAR[data[j]!] as number)) | 0;
        j++;
        if ((fp & mask) === 0) {
          found = true;
          break;
        }
      }
      len += j - i;
      i = j;
      if (found || len === max) {
        cuts.push(len);
        len = 0;
        fp = 0;
      }
    }
    this.#len = len;
    this.#fp = fp;
    return cuts;
  }

  /** Ends the input; returns the last chunk's length (none if it would be empty). */
  finish(): number[] {
    const last = this.#len;
    this.#len = 0;
    this.#fp = 0;
    return last > 0 ? [last] : [];
  }
}

/** All chunk lengths of an in-memory buffer (tests and small inputs). */
export function chunkBuffer(data: Uint8Array, params: ChunkParams, gear: GearTable): number[] {
  const c = new Chunker(params, gear);
  return [...c.push(data), ...c.finish()];
}
