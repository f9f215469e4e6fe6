/**
 * Entry point of one hash worker thread (see hash-pool.ts). Receives jobs,
 * runs hashFileSync and posts the packed result back, transferring its
 * buffers. The main thread cancels a running job by writing its job id into
 * the shared `cancel` cell; the job checks it after every read.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SealsyncError } from '../errors.js';
import { HashCancelled, ReadBuffer, hashFileSync } from './hash-file-sync.js';

export interface HashJobMessage {
  readonly jobId: number;
  readonly path: string;
  readonly contentKey: Uint8Array;
}

export type HashReplyMessage =
  | { readonly jobId: number; readonly ok: true; readonly result: import('./hash-file-sync.js').PackedHashResult }
  | { readonly jobId: number; readonly ok: false; readonly aborted: boolean; readonly error?: unknown };

const port = parentPort;
if (!port) throw new Error('hash-worker must run as a worker thread');
const cancel = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel);
const buffer = new ReadBuffer();

port.on('message', (job: HashJobMessage) => {
  let reply: HashReplyMessage;
  try {
    const result = hashFileSync(job.path, job.contentKey, buffer, () => Atomics.load(cancel, 0) === job.jobId);
    port.postMessage({ jobId: job.jobId, ok: true, result } satisfies HashReplyMessage, [
      result.ids.buffer as ArrayBuffer,
      result.hashes.buffer as ArrayBuffer,
    ]);
    return;
  } catch (err) {
    if (err instanceof HashCancelled) {
      reply = { jobId: job.jobId, ok: false, aborted: true };
    } else {
      const e = err instanceof SealsyncError ? err : new SealsyncError('ERR_INTERNAL', String((err as Error)?.message ?? err));
      reply = { jobId: job.jobId, ok: false, aborted: false, error: e.toJSON() };
    }
  }
  port.postMessage(reply);
});
