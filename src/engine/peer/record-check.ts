/**
 * Checking the sealed records of one index update from a peer, off the main
 * thread when that pays: shared by the full peer's SyncFolder (verify + open)
 * and the encrypted peer's ReplicaRecordStore (verify only).
 *
 * How this works: the update is cut into chunks of RECORDS_PER_CHECK_JOB.
 * With a RecordChecker (the daemon's hash pool) and at least
 * MIN_OFFLOAD_RECORDS records, each chunk is one worker job (one message each
 * way), and the next chunk is already on the worker while the caller stores
 * the current one, so Ed25519 verification (~100 µs per record) runs on
 * another core in parallel with the SQLite writes. Only one chunk is in flight
 * at a time: that keeps the caller on one worker (each costs ~15 MiB of RSS)
 * and the order of records as they arrived. Smaller updates, or no checker,
 * are checked here, yielding to the event loop between chunks.
 *
 * Both ways run checkRecordBytes (src/crypto/sealed-record.ts), so a record
 * gets the same outcome and the same error code either way. If the worker
 * fails for a reason of its own (pool stopped or broken, queue full, a worker
 * that died), the chunk is checked here instead: a worker problem never counts
 * against the peer, and a record is never stored unchecked.
 */
import { checkRecordBytes, decodeSealedRecord, type RecordCheckKeys, type SealedRecord } from '../../crypto/sealed-record.js';
import { SealsyncError } from '../../errors.js';
import type { RecordCheckResult } from '../../fs/hash-pool.js';
import type { FileRecord } from '../../model/types.js';

/**
 * Records per worker job and per inline slice between two yields. Large enough
 * that the ~200 µs thread hop is <1% of a job (~25 ms of checks); small enough
 * that the main thread starts storing soon after an update arrives.
 */
export const RECORDS_PER_CHECK_JOB = 256;
/**
 * Updates with fewer records are checked inline: the worker's hop, and its
 * start-up when none runs yet, cost more than a handful of checks, and small
 * updates (live edits) are not where the time goes.
 */
export const MIN_OFFLOAD_RECORDS = 16;

/** What checks records on another thread (HashPool satisfies it). */
export interface RecordChecker {
  checkRecords(keys: RecordCheckKeys, records: readonly Uint8Array[], opts: { open: boolean; signal?: AbortSignal }): Promise<readonly RecordCheckResult[]>;
}

/** One record's outcome: decoded (and opened, for full peers), or what checkRecordBytes threw. */
export type CheckedRecord =
  | { readonly ok: true; readonly sealed: SealedRecord; readonly record: FileRecord | null }
  | { readonly ok: false; readonly error: unknown };

export interface CheckRecordsOptions {
  readonly keys: RecordCheckKeys;
  /** Open the body too (full peers); otherwise only decode and verify. */
  readonly open: boolean;
  readonly checker?: RecordChecker | null;
  readonly signal?: AbortSignal;
}

/**
 * Hands the outcomes of `records` to `onChunk`, one chunk at a time and in
 * order (`start` is the index of the chunk's first record). Checked inline,
 * the first chunk is handled before this returns its promise, as a plain loop
 * would (callers' stores then happen in the same turn as the call).
 * `onChunk` returning false stops early (the caller was stopped). Rejects
 * with the signal's reason when it aborts, or with what `onChunk` throws;
 * never for a bad record.
 */
export async function forEachCheckedChunk(
  records: readonly Uint8Array[],
  opts: CheckRecordsOptions,
  onChunk: (start: number, outcomes: readonly CheckedRecord[]) => boolean | void,
): Promise<void> {
  const checker = records.length >= MIN_OFFLOAD_RECORDS ? (opts.checker ?? null) : null;
  const chunk = (start: number) => records.slice(start, start + RECORDS_PER_CHECK_JOB);
  let next: Promise<readonly CheckedRecord[]> | null = checker ? offload(checker, chunk(0), opts) : null;
  for (let start = 0; start < records.length; start += RECORDS_PER_CHECK_JOB) {
    opts.signal?.throwIfAborted();
    let outcomes: readonly CheckedRecord[];
    if (checker && next) {
      outcomes = await next;
      opts.signal?.throwIfAborted();
      const following = start + RECORDS_PER_CHECK_JOB;
      // Out to the worker before this chunk is stored. Left behind on an early end:
      // offload never rejects, so nothing goes unhandled.
      next = following < records.length ? offload(checker, chunk(following), opts) : null;
    } else {
      // Let sockets and timers run between slices of inline checks.
      if (start > 0) await new Promise<void>((r) => setImmediate(r));
      opts.signal?.throwIfAborted();
      outcomes = checkInline(chunk(start), opts);
    }
    if (onChunk(start, outcomes) === false) return;
  }
}

function checkInline(records: readonly Uint8Array[], opts: CheckRecordsOptions): CheckedRecord[] {
  return records.map((bytes) => {
    try {
      return { ok: true, ...checkRecordBytes(opts.keys, bytes, opts.open) };
    } catch (error) {
      return { ok: false, error };
    }
  });
}

/** Never rejects (an abandoned chunk must not become an unhandled rejection): falls back to checking inline. */
async function offload(checker: RecordChecker, records: readonly Uint8Array[], opts: CheckRecordsOptions): Promise<readonly CheckedRecord[]> {
  let results: readonly RecordCheckResult[];
  try {
    results = await checker.checkRecords(opts.keys, records, { open: opts.open, ...(opts.signal ? { signal: opts.signal } : {}) });
    if (results.length !== records.length) throw new SealsyncError('ERR_INTERNAL', 'record checker answered the wrong number of results');
  } catch {
    if (opts.signal?.aborted) return []; // the generator throws ERR_ABORTED before using it
    return checkInline(records, opts);
  }
  return results.map((r, i): CheckedRecord => {
    if (!r.ok) return { ok: false, error: r.error ? SealsyncError.fromJSON(r.error) : new SealsyncError('ERR_INTERNAL', r.message) };
    // Verified on the worker; decoding again here (~10 µs) is what gives the caller the
    // locator, version and block ids without a second copy of each across threads.
    try {
      return { ok: true, sealed: decodeSealedRecord(records[i]!), record: r.record };
    } catch (error) {
      return { ok: false, error };
    }
  });
}
