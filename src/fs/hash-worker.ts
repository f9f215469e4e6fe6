/**
 * Entry point of one hash worker thread (see hash-pool.ts). Receives jobs,
 * runs hashFileSync and posts the packed result back, transferring its
 * buffers. The main thread cancels a running job by writing its job id into
 * the shared `cancel` cell; the job checks it after every read.
 *
 * Memory: every seal allocates its output off the JS heap, but the loop
 * creates few JS objects, so V8's young generation rarely fills and that
 * garbage waits for V8's external-memory trigger (tens of MiB per thread). A
 * minor GC (a scavenge of a tiny heap: well under a millisecond) every
 * GC_EVERY_BYTES frees it. Measured, 2 workers hashing 512 MiB: peak RSS
 * 160-184 MiB without, 105-113 MiB with, CPU per MB unchanged. Node has no
 * per-worker --expose-gc, so the flag is set at run time and `gc` taken from
 * a fresh context (the flag is process-wide; it only exposes a function to
 * new contexts). If that ever fails the worker simply runs without it.
 */
import { loadMinorGc } from './young-gc.js';
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
const minorGc = loadMinorGc() ?? undefined;

port.on('message', (job: HashJobMessage) => {
  let reply: HashReplyMessage;
  try {
    const result = hashFileSync(job.path, job.contentKey, buffer, () => Atomics.load(cancel, 0) === job.jobId, minorGc);
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
