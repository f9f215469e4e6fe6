/**
 * Entry point of one hash worker thread (see hash-pool.ts). Receives jobs,
 * runs hashFileSync and posts the packed result back, transferring its
 * buffers. The main thread cancels a running job by writing its job id into
 * the shared `cancel` cell; the job checks it after every read.
 *
 * A "records" job checks a batch of sealed records from a peer with
 * checkRecordBytes (src/crypto/sealed-record.ts: decode, Ed25519 signature
 * and, for full peers, the body) and answers one result per record, in
 * order: the FileRecord, or the error as the main thread would have caught
 * it. The records arrive packed in one transferred buffer (`ends[i]` is where
 * record i ends). Such a job is short (~0.1 ms per record) and ignores the
 * cancel cell.
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
import { loadMinorGc } from '../memory/young-gc.js';
import { parentPort, workerData } from 'node:worker_threads';
import { SealsyncError, type SealsyncErrorJSON } from '../errors.js';
import { checkRecordBytes, type RecordCheckKeys } from '../crypto/sealed-record.js';
import type { FileRecord } from '../model/types.js';
import { HashCancelled, ReadBuffer, hashFileSync, type ScanKeys } from './hash-file-sync.js';

export type HashJobMessage =
  | { readonly kind: 'hash'; readonly jobId: number; readonly path: string; readonly keys: ScanKeys }
  | {
    readonly kind: 'records';
    readonly jobId: number;
    readonly keys: RecordCheckKeys;
    /** The encoded records back to back; record i is packed[ends[i-1] (or 0) .. ends[i]]. */
    readonly packed: Uint8Array;
    readonly ends: Uint32Array;
    /** Full peers open the body too; encrypted peers only verify. */
    readonly open: boolean;
  };

/**
 * One record's outcome. `error` is null when what was thrown was not a
 * SealsyncError (a bug, not the peer's doing): `message` then says what it was.
 */
export type RecordCheckResult =
  | { readonly ok: true; readonly record: FileRecord | null }
  | { readonly ok: false; readonly error: SealsyncErrorJSON | null; readonly message: string };

export type HashReplyMessage =
  | { readonly jobId: number; readonly ok: true; readonly result: import('./hash-file-sync.js').PackedHashResult }
  | { readonly jobId: number; readonly ok: true; readonly records: readonly RecordCheckResult[] }
  | { readonly jobId: number; readonly ok: false; readonly aborted: boolean; readonly error?: unknown };

const port = parentPort;
if (!port) throw new SealsyncError('ERR_INTERNAL', 'hash-worker must run as a worker thread');
const cancel = new Int32Array((workerData as { cancel: SharedArrayBuffer }).cancel);
const buffer = new ReadBuffer();
const minorGc = loadMinorGc() ?? undefined;

function checkRecords(job: Extract<HashJobMessage, { kind: 'records' }>): RecordCheckResult[] {
  const results: RecordCheckResult[] = [];
  let start = 0;
  for (const end of job.ends) {
    try {
      const { record } = checkRecordBytes(job.keys, job.packed.subarray(start, end), job.open);
      results.push({ ok: true, record });
    } catch (err) {
      results.push({ ok: false, error: err instanceof SealsyncError ? err.toJSON() : null, message: String((err as Error)?.message ?? err) });
    }
    start = end;
  }
  return results;
}

port.on('message', (job: HashJobMessage) => {
  let reply: HashReplyMessage;
  if (job.kind === 'records') {
    port.postMessage({ jobId: job.jobId, ok: true, records: checkRecords(job) } satisfies HashReplyMessage);
    return;
  }
  try {
    const result = hashFileSync(job.path, job.keys, buffer, () => Atomics.load(cancel, 0) === job.jobId, minorGc);
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
