/**
 * Entry point of one block-crypto worker thread (see block-crypto-pool.ts).
 * Takes a batch of jobs per message: "seal" reads a block of a local file,
 * checks its plaintext hash, seals it and checks the id (what serving a peer
 * needs); "open" checks a received sealed block's id and decrypts it. Replies
 * with one result per job, transferring every output buffer.
 *
 * Memory: like hash-worker.ts, a minor GC every GC_EVERY_BYTES frees the dead
 * block buffers (they live off the JS heap and barely fill the young
 * generation).
 */
import { loadMinorGc } from '../memory/young-gc.js';
import { parentPort } from 'node:worker_threads';
import { SealsyncError, type SealsyncErrorJSON } from '../errors.js';
import { openBlock } from '../crypto/sealed-block.js';
import { readAndSealBlockSync } from './block-reader.js';
import { ownedView } from './block-crypto-pool.js';

export type BlockCryptoJob =
  | {
    readonly kind: 'seal';
    readonly path: string;
    readonly offset: number;
    readonly size: number;
    readonly contentKey: Uint8Array;
    readonly id: Uint8Array;
    readonly hash: Uint8Array;
  }
  | {
    readonly kind: 'open';
    readonly sealed: Uint8Array;
    readonly contentKey: Uint8Array;
    readonly id: Uint8Array;
    readonly hash: Uint8Array;
    readonly verifyPlaintextHash: boolean;
  };

export interface BlockCryptoBatchMessage {
  readonly batchId: number;
  readonly jobs: readonly BlockCryptoJob[];
}

export type BlockCryptoResult =
  | { readonly ok: true; readonly data: Uint8Array }
  | { readonly ok: false; readonly error: SealsyncErrorJSON };

export interface BlockCryptoReplyMessage {
  readonly batchId: number;
  readonly results: readonly BlockCryptoResult[];
}

/** Block bytes handled between two minor GCs. */
const GC_EVERY_BYTES = 8 * 1024 * 1024;

const port = parentPort;
if (!port) throw new Error('block-crypto-worker must run as a worker thread');
const minorGc = loadMinorGc() ?? undefined;
let sinceGc = 0;

function runJob(job: BlockCryptoJob): Uint8Array {
  if (job.kind === 'seal') {
    return readAndSealBlockSync(job.path, job.offset, job.size, job.contentKey, { id: job.id, hash: job.hash });
  }
  return openBlock(job.contentKey, job.sealed, job, { verifyPlaintextHash: job.verifyPlaintextHash });
}

port.on('message', (msg: BlockCryptoBatchMessage) => {
  const results: BlockCryptoResult[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const job of msg.jobs) {
    try {
      const data = ownedView(runJob(job));
      results.push({ ok: true, data });
      transfer.push(data.buffer as ArrayBuffer);
      sinceGc += data.byteLength;
    } catch (err) {
      const e = err instanceof SealsyncError ? err : new SealsyncError('ERR_INTERNAL', String((err as Error)?.message ?? err));
      results.push({ ok: false, error: e.toJSON() });
    }
  }
  port.postMessage({ batchId: msg.batchId, results } satisfies BlockCryptoReplyMessage, transfer);
  if (sinceGc >= GC_EVERY_BYTES) {
    sinceGc = 0;
    minorGc?.();
  }
});
