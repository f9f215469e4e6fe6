/**
 * What size padding (format 2, docs/crypto.md "Size padding") costs, on the
 * sync bench's data sets (bench/sync.ts scenarios a, c, f and g, written by
 * bench/lib/datasets.ts): every file is chunked with the folder's keyed
 * chunker, and each block and record is measured.
 *
 * - bytes: padding over the unpadded sealed size, for blocks
 *   (sealedBlockSize(n) against n + 19) and for records (recordPadding: the
 *   encoded record without and with its zero bytes);
 * - time: what the padding adds to sealing, measured on its own: the cipher
 *   and the hashes run over the padding's zero bytes (a block: AES-256-GCM and
 *   the SHA-256 of the ciphertext that gives its id; a record: the nonce's
 *   HMAC-SHA-256, AES-256-GCM, and Ed25519's two SHA-512 passes over the
 *   signed bytes), against the real sealBlock and sealRecordBytes on the same
 *   blocks and records. sealBlock and sealRecordBytes have no unpadded mode
 *   (padding is the format), and the difference of two whole sealing times
 *   drowns a 1-6 % effect in the noise of a shared machine; the padding's own
 *   work is what a sealer without padding would not do. Each batch is timed
 *   three rounds after a warm-up, the fastest round counting.
 *
 * An internal figure: Syncthing does not pad, so there is no counterpart.
 *
 * `npm run bench -- padding [--scale X]` (default 0.25: scenario a's 1 GiB
 * becomes 256 MiB; the padding ratios hardly depend on the scale).
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import {
  SEALED_BLOCK_OVERHEAD, formatDeviceId, keysFromSecret, recordPadding, sealBlock, sealRecordBytes, sealedBlockSize,
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

/** Cipher and hashes that only ever see padding: per-call setup is not padding's cost, its bytes are. */
const padCipher = createCipheriv('aes-256-gcm', Buffer.alloc(32), Buffer.alloc(12));
const padSha256 = createHash('sha256');
const padHmac = createHmac('sha256', Buffer.alloc(32));
const padSha512 = [createHash('sha512'), createHash('sha512')];

/** The work a block's padding adds to sealBlock: encrypting its zero bytes and hashing their ciphertext into the id. */
function blockPaddingWork(padding: number): void {
  for (let left = padding; left > 0; left -= SLICE) padSha256.update(padCipher.update(ZEROS.subarray(0, Math.min(left, SLICE))));
}

/** The work a record's padding adds to sealRecordBytes: the nonce HMAC, the body cipher and the signature's two SHA-512 passes over its zero bytes. */
function recordPaddingWork(padding: number): void {
  for (let left = padding; left > 0; left -= SLICE) {
    const zeros = ZEROS.subarray(0, Math.min(left, SLICE));
    padHmac.update(zeros);
    padCipher.update(zeros);
    for (const h of padSha512) h.update(zeros);
  }
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
  /** ms: the real sealBlock, and the padding's own work within it. */
  blockMs: number[];
  /** ms: the real sealRecordBytes, and the padding's own work within it. */
  recordMs: number[];
}

function measure(root: string, keys: FolderKeys): Figures {
  const gear = gearTable(keys.chunkKey!);
  const contentKey = keys.contentKey!;
  const f: Figures = { blocks: 0, blockBytes: 0, blockPadding: 0, records: 0, recordBytes: 0, recordPadding: 0, blockMs: [0, 0], recordMs: [0, 0] };
  const version = [{ id: '00000000000000a1', value: 1 }];
  const writer = formatDeviceId(new Uint8Array(32).fill(7));
  let batch: Uint8Array[] = [];
  let batchBytes = 0;
  let records: FileRecord[] = [];
  const flushBlocks = (): void => {
    const b = batch;
    timeInTurn(f.blockMs, [
      () => { for (const c of b) sealBlock(contentKey, c); },
      () => { for (const c of b) blockPaddingWork(sealedBlockSize(c.byteLength) - SEALED_BLOCK_OVERHEAD - c.byteLength); },
    ]);
    batch = [];
    batchBytes = 0;
  };
  const flushRecords = (): void => {
    const rs = records;
    const sizes = rs.map((r) => recordPadding(r));
    timeInTurn(f.recordMs, [
      () => { for (const r of rs) sealRecordBytes(keys, r); },
      () => { for (const p of sizes) recordPaddingWork(p.padded - p.unpadded); },
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
  const [real, padding] = ms as [number, number];
  return `sealing ${real.toFixed(0)} ms, of which padding ${padding.toFixed(1)} ms = ${pct(padding, real)}`;
}

export async function run(args: string[]): Promise<void> {
  const scale = Number(argValue(args, '--scale') ?? 0.25);
  if (!(scale > 0)) throw new Error('--scale must be a positive number');
  console.log(`size padding (Padmé) on the sync bench's data sets, scale ${scale}; an internal figure (Syncthing does not pad)`);
  const keys = keysFromSecret(new Uint8Array(32).fill(0x5a));
  const all: Figures = { blocks: 0, blockBytes: 0, blockPadding: 0, records: 0, recordBytes: 0, recordPadding: 0, blockMs: [0, 0], recordMs: [0, 0] };
  for (const set of DATA_SETS) {
    const dir = mkdtempSync(join(tmpdir(), `sealsync-bench-padding-${set.id}-`));
    try {
      const data = set.prepare(dir, scale);
      const f = measure(dir, keys);
      console.log(`(${set.id}) ${set.title}: ${data.files} files, ${(data.bytes / MiB).toFixed(1)} MiB`);
      console.log(`    blocks:  ${f.blocks} blocks, padding ${(f.blockPadding / MiB).toFixed(2)} MiB over ${(f.blockBytes / MiB).toFixed(1)} MiB unpadded sealed = ${pct(f.blockPadding, f.blockBytes)}; ${costLine(f.blockMs)}`);
      console.log(`    records: ${f.records} records, padding ${f.recordPadding} B over ${f.recordBytes} B unpadded = ${pct(f.recordPadding, f.recordBytes)} (${(f.recordPadding / Math.max(1, f.records)).toFixed(1)} B a record); ${costLine(f.recordMs)}`);
      for (const k of ['blocks', 'blockBytes', 'blockPadding', 'records', 'recordBytes', 'recordPadding'] as const) all[k] += f[k];
      for (let i = 0; i < 2; i++) {
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
