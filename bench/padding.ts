/**
 * What size padding (format 2, docs/crypto.md "Size padding") costs, on the
 * sync bench's data sets (bench/sync.ts scenarios a, c, f and g, written by
 * bench/lib/datasets.ts): every file is chunked with the folder's keyed
 * chunker, and each block and record is measured.
 *
 * - bytes: padding over the unpadded sealed size, for blocks
 *   (sealedBlockSize(n) against n + 19) and for records (recordPadding: the
 *   encoded record without and with its zero bytes);
 * - time: sealing with padding against sealing without. sealBlock and
 *   sealRecordBytes have no unpadded mode (padding is the format), so the
 *   comparison runs the same primitives they run (AES-256-GCM, SHA-256 of the
 *   ciphertext, HMAC, Ed25519), once over the padded and once over the
 *   unpadded lengths; the real functions are timed too, to show the stand-in
 *   does the same work. Each batch of blocks or records is sealed by the
 *   three in turn, three rounds after a warm-up, and the fastest round of
 *   each counts, so load on the machine falls on all three alike.
 *
 * An internal figure: Syncthing does not pad, so there is no counterpart.
 *
 * `npm run bench -- padding [--scale X]` (default 0.25: scenario a's 1 GiB
 * becomes 256 MiB; the padding ratios hardly depend on the scale).
 */
import { createCipheriv, createHash, createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import {
  SEALED_BLOCK_OVERHEAD, digest, formatDeviceId, keysFromSecret, recordPadding, sealBlock, sealRecordBytes, sealedBlockSize,
  type FolderKeys,
} from '../src/crypto/index.js';
import { Chunker, chunkParamsForSize } from '../src/fs/chunker.js';
import { gearTable, type GearTable } from '../src/fs/gear-table.js';
import type { FileRecord } from '../src/model/types.js';
import { argValue } from './lib/args.js';
import { bigFiles, homeMix, smallFiles, type DataSet } from './lib/datasets.js';

const MiB = 1024 * 1024;
const READ_PIECE = 8 * MiB;
/** Blocks are timed in batches of about this many plaintext bytes. */
const BATCH_BYTES = 32 * MiB;
const RECORD_BATCH = 2000;
const SLICE = 256 * 1024;
const ZEROS = Buffer.alloc(SLICE);
const HEADER = Buffer.from([2, 1, 1]);

interface DataSetDef {
  readonly id: string;
  readonly title: string;
  prepare(dir: string, scale: number): DataSet;
}

/** The sync bench's data sets (bench/sync.ts, same ids). */
const DATA_SETS: DataSetDef[] = [
  { id: 'a', title: '4 large files (256 MiB each at scale 1)', prepare: (dir, s) => bigFiles(dir, 4, Math.round(256 * MiB * s)) },
  { id: 'c', title: '10,000 files of 4 KiB', prepare: (dir, s) => smallFiles(dir, Math.round(10_000 * s), 4096, 100) },
  { id: 'f', title: '100,000 files of 16 B', prepare: (dir, s) => smallFiles(dir, Math.round(100_000 * s), 16, 1000) },
  { id: 'g', title: 'home-folder mix, 16 B..64 MiB, 6 deep', prepare: (dir, s) => homeMix(dir, Math.max(1, Math.round(2000 * s))) },
];

/** Sealing work without the copy into an output buffer: the cipher and the id hash over the plaintext and, if `padded`, its zero padding. */
function blockStandIn(contentKey: Uint8Array, plaintext: Uint8Array, padded: boolean): void {
  const hash = digest(plaintext);
  const cipher = createCipheriv('aes-256-gcm', createHmac('sha256', contentKey).update(hash).digest(), Buffer.alloc(12));
  cipher.setAAD(HEADER);
  const id = createHash('sha256');
  id.update(HEADER);
  for (let p = 0; p < plaintext.byteLength; p += SLICE) id.update(cipher.update(plaintext.subarray(p, p + SLICE)));
  const padding = padded ? sealedBlockSize(plaintext.byteLength) - SEALED_BLOCK_OVERHEAD - plaintext.byteLength : 0;
  for (let left = padding; left > 0; left -= SLICE) id.update(cipher.update(ZEROS.subarray(0, Math.min(left, SLICE))));
  id.update(cipher.final());
  id.update(cipher.getAuthTag());
  id.digest();
}

const SIGNER = generateKeyPairSync('ed25519').privateKey;
let recordScratch = Buffer.alloc(64 * 1024);

/** `n` zero bytes to stand for a record's body or its signed bytes. */
function scratch(n: number): Buffer {
  if (recordScratch.byteLength < n) recordScratch = Buffer.alloc(n);
  return recordScratch.subarray(0, n);
}

/** A record's sealing work over `bodyBytes` of body and `recordBytes` signed: the nonce HMAC, the body cipher, the signature. */
function recordStandIn(metadataKey: Uint8Array, bodyBytes: number, recordBytes: number): void {
  const body = scratch(bodyBytes);
  const nonce = createHmac('sha256', metadataKey).update(body).digest().subarray(0, 12);
  const cipher = createCipheriv('aes-256-gcm', metadataKey, nonce);
  cipher.update(body);
  cipher.final();
  cipher.getAuthTag();
  sign(null, scratch(recordBytes), SIGNER);
}

/** Rounds each batch is timed in; the fastest round of each sealer counts (load on a shared machine only adds time). */
const ROUNDS = 3;

/**
 * Runs each of `fns` over the batch ROUNDS times, the order rotating each
 * round, after one untimed warm-up run; adds each one's fastest time to `totals`.
 */
function timeInTurn(totals: number[], fns: Array<() => void>): void {
  for (const fn of fns) fn();
  const best = fns.map(() => Infinity);
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < fns.length; k++) {
      const i = (round + k) % fns.length;
      const t0 = performance.now();
      fns[i]!();
      best[i] = Math.min(best[i]!, performance.now() - t0);
    }
  }
  for (let i = 0; i < fns.length; i++) totals[i]! += best[i]!;
}

/** Every file (and directory) under `root`, as folder-relative paths. */
function entries(root: string): Array<{ path: string; dir: boolean }> {
  return readdirSync(root, { recursive: true, withFileTypes: true }).map((d) => ({
    path: relative(root, join(d.parentPath, d.name)).split(sep).join('/'),
    dir: d.isDirectory(),
  }));
}

/** Yields the chunks of a file as the keyed chunker cuts it, reading it in pieces. */
function* chunksOf(file: string, gear: GearTable, size: number): Generator<Uint8Array> {
  const chunker = new Chunker(chunkParamsForSize(size), gear);
  const fd = openSync(file, 'r');
  try {
    let carry = Buffer.alloc(0);
    const piece = Buffer.allocUnsafe(READ_PIECE);
    for (;;) {
      const n = readSync(fd, piece, 0, piece.length, null);
      const cuts = n > 0 ? chunker.push(piece.subarray(0, n)) : chunker.finish();
      const data = n > 0 ? Buffer.concat([carry, piece.subarray(0, n)]) : carry;
      let off = 0;
      for (const len of cuts) {
        yield new Uint8Array(data.subarray(off, off + len));
        off += len;
      }
      carry = Buffer.from(data.subarray(off));
      if (n === 0) return;
    }
  } finally {
    closeSync(fd);
  }
}

interface Figures {
  blocks: number;
  blockBytes: number;
  blockPadding: number;
  records: number;
  recordBytes: number;
  recordPadding: number;
  /** ms: real sealBlock, stand-in with padding, stand-in without. */
  blockMs: number[];
  /** ms: real sealRecordBytes, stand-in with padding, stand-in without. */
  recordMs: number[];
}

function measure(root: string, keys: FolderKeys): Figures {
  const gear = gearTable(keys.chunkKey!);
  const contentKey = keys.contentKey!;
  const metadataKey = keys.metadataKey!;
  const f: Figures = { blocks: 0, blockBytes: 0, blockPadding: 0, records: 0, recordBytes: 0, recordPadding: 0, blockMs: [0, 0, 0], recordMs: [0, 0, 0] };
  const version = [{ id: '00000000000000a1', value: 1 }];
  const writer = formatDeviceId(new Uint8Array(32).fill(7));
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let records: FileRecord[] = [];
  const flushBlocks = (): void => {
    const b = batch;
    timeInTurn(f.blockMs, [
      () => { for (const c of b) sealBlock(contentKey, c); },
      () => { for (const c of b) blockStandIn(contentKey, c, true); },
      () => { for (const c of b) blockStandIn(contentKey, c, false); },
    ]);
    batch = [];
    batchBytes = 0;
  };
  const flushRecords = (): void => {
    const rs = records;
    const sizes = rs.map((r) => recordPadding(r));
    timeInTurn(f.recordMs, [
      () => { for (const r of rs) sealRecordBytes(keys, r); },
      () => { for (const p of sizes) recordStandIn(metadataKey, p.bodyBytes + p.padded - p.unpadded, p.padded); },
      () => { for (const p of sizes) recordStandIn(metadataKey, p.bodyBytes, p.unpadded); },
    ]);
    for (const p of sizes) {
      f.records++;
      f.recordBytes += p.unpadded;
      f.recordPadding += p.padded - p.unpadded;
    }
    records = [];
  };
  for (const e of entries(root)) {
    const blocks: FileRecord['blocks'][number][] = [];
    let size = 0;
    if (!e.dir) {
      const file = join(root, e.path);
      for (const c of chunksOf(file, gear, statSync(file).size)) {
        f.blocks++;
        f.blockBytes += c.byteLength + SEALED_BLOCK_OVERHEAD;
        f.blockPadding += sealedBlockSize(c.byteLength) - SEALED_BLOCK_OVERHEAD - c.byteLength;
        // The record needs the block's id and hash; their values do not change its size.
        blocks.push({ id: randomBytes(32), hash: randomBytes(32), size: c.byteLength });
        size += c.byteLength;
        batch.push(c);
        batchBytes += c.byteLength;
        if (batchBytes >= BATCH_BYTES) flushBlocks();
      }
    }
    records.push({ path: e.path, kind: e.dir ? 'dir' : 'file', size, mtimeMs: 1_765_000_000_000, mode: 0o644, blocks, version, deleted: false, writer });
    if (records.length >= RECORD_BATCH) flushRecords();
  }
  if (batch.length > 0) flushBlocks();
  if (records.length > 0) flushRecords();
  return f;
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(2)} %` : '-';
}

function costLine(ms: number[]): string {
  const [real, padded, unpadded] = ms as [number, number, number];
  return `sealing ${real.toFixed(0)} ms (stand-in: ${padded.toFixed(0)} ms padded, ${unpadded.toFixed(0)} ms unpadded: padding costs ${pct(padded - unpadded, unpadded)})`;
}

export async function run(args: string[]): Promise<void> {
  const scale = Number(argValue(args, '--scale') ?? 0.25);
  if (!(scale > 0)) throw new Error('--scale must be a positive number');
  console.log(`size padding (Padmé) on the sync bench's data sets, scale ${scale}; an internal figure (Syncthing does not pad)`);
  const keys = keysFromSecret(new Uint8Array(32).fill(0x5a));
  const all: Figures = { blocks: 0, blockBytes: 0, blockPadding: 0, records: 0, recordBytes: 0, recordPadding: 0, blockMs: [0, 0, 0], recordMs: [0, 0, 0] };
  for (const set of DATA_SETS) {
    const dir = mkdtempSync(join(tmpdir(), `sealsync-bench-padding-${set.id}-`));
    try {
      const data = set.prepare(dir, scale);
      const f = measure(dir, keys);
      console.log(`(${set.id}) ${set.title}: ${data.files} files, ${(data.bytes / MiB).toFixed(1)} MiB`);
      console.log(`    blocks:  ${f.blocks} blocks, padding ${(f.blockPadding / MiB).toFixed(2)} MiB over ${(f.blockBytes / MiB).toFixed(1)} MiB unpadded sealed = ${pct(f.blockPadding, f.blockBytes)}; ${costLine(f.blockMs)}`);
      console.log(`    records: ${f.records} records, padding ${f.recordPadding} B over ${f.recordBytes} B unpadded = ${pct(f.recordPadding, f.recordBytes)} (${(f.recordPadding / Math.max(1, f.records)).toFixed(1)} B a record); ${costLine(f.recordMs)}`);
      for (const k of ['blocks', 'blockBytes', 'blockPadding', 'records', 'recordBytes', 'recordPadding'] as const) all[k] += f[k];
      for (let i = 0; i < 3; i++) {
        all.blockMs[i]! += f.blockMs[i]!;
        all.recordMs[i]! += f.recordMs[i]!;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(`all sets: blocks padding ${pct(all.blockPadding, all.blockBytes)}, records padding ${pct(all.recordPadding, all.recordBytes)}`);
  console.log(`    blocks:  ${costLine(all.blockMs)}`);
  console.log(`    records: ${costLine(all.recordMs)}`);
}
