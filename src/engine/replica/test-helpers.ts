/**
 * Test helpers for the replica modules: a stand-in block verifier (id = SHA-256
 * of the ciphertext) so the store can be tested without the crypto module, and
 * temp-dir stores. Not imported by production code.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SealsyncError } from '../../errors.js';
import { BlockStore, type BlockVerifier } from './block-store.js';

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
