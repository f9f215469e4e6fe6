/**
 * Test helpers for the block store and the replica modules: a stand-in block verifier (id = SHA-256
 * of the ciphertext) so the store can be tested without the crypto module, and
 * temp-dir stores. Not imported by production code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealsyncError } from '../../errors.js';
import { areaName } from '../../index/block-store-db.js';
import { forgetBlockRow, readAllBlockRows } from '../../index/testing/block-store-rows.js';
import { BlockStore, PACKS_DIR, STORE_DB_FILE, type BlockLocation, type BlockVerifier } from '../block-store.js';

export const sha256Verifier: BlockVerifier = (sealed, id) => {
  const digest = createHash('sha256').update(sealed).digest();
  if (!digest.equals(Buffer.from(id.buffer, id.byteOffset, id.byteLength))) throw new SealsyncError('ERR_BLOCK_ID');
};

export function fakeBlock(size = 1024): { id: Uint8Array; hex: string; data: Uint8Array } {
  const data = new Uint8Array(randomBytes(size));
  const digest = createHash('sha256').update(data).digest();
  return { id: new Uint8Array(digest), hex: digest.toString('hex'), data };
}

export async function tempStore(): Promise<{ store: BlockStore; root: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sealsync-replica-'));
  const root = join(dir, 'store');
  const store = await BlockStore.open({ root, verifyBlock: sha256Verifier });
  // Close first: the store may still be creating spare temp files in the directory being removed.
  return { store, root, cleanup: async () => { await store.close(); await rm(dir, { recursive: true, force: true }); } };
}

/**
 * A stand-in for the store's fsync that holds every call until `release()`:
 * the window in which blocks are written but not yet durable. `calls` counts
 * the fsyncs asked for so far.
 */
export function fsyncGate(): { syncFd: (fd: number) => Promise<void>; release: () => void; readonly calls: number } {
  let release!: () => void;
  const held = new Promise<void>((res) => {
    release = res;
  });
  let calls = 0;
  return {
    syncFd: async () => {
      calls++;
      await held;
    },
    release: () => release(),
    get calls() {
      return calls;
    },
  };
}

/**
 * Every block a store under `root` holds, read from its database without
 * opening the store (a daemon may have it open: this only reads).
 */
export function storedBlocks(root: string): (BlockLocation & { id: string })[] {
  return readAllBlockRows(join(root, STORE_DB_FILE)).map((r) => ({
    id: r.id,
    file: join(root, PACKS_DIR, `${r.pack}.pack`),
    offset: r.offset,
    length: r.length,
    area: areaName(r.area),
  }));
}

/** Drops a block's row, as a store that lost the block would (the bytes stay, unreachable). */
export function forgetBlock(root: string, id: string): void {
  forgetBlockRow(join(root, STORE_DB_FILE), id);
}

/** XORs one byte of a stored block's ciphertext in place (`at` counts from the block's start). */
export function flipStoredByte(loc: Pick<BlockLocation, 'file' | 'offset' | 'length'>, at: number, mask = 0xff): void {
  if (at < 0 || at >= loc.length) throw new RangeError('outside the block');
  const fd = openSync(loc.file, 'r+');
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, loc.offset + at);
    byte[0] = (byte[0] ?? 0) ^ mask;
    writeSync(fd, byte, 0, 1, loc.offset + at);
  } finally {
    closeSync(fd);
  }
}

/** The ciphertext of a stored block, read at its location. */
export function readStoredBytes(loc: Pick<BlockLocation, 'file' | 'offset' | 'length'>): Uint8Array {
  const fd = openSync(loc.file, 'r');
  try {
    const data = new Uint8Array(loc.length);
    const n = readSync(fd, data, 0, loc.length, loc.offset);
    return data.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}
