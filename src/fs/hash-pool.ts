/**
 * A pool of worker threads that hash and seal files (DESIGN: the event loop
 * never blocks on a large file).
 *
 * How this works: hashFile() queues a job (bounded: ERR_QUEUE_FULL past
 * `maxQueue`); an idle worker takes the oldest job, reads the file itself
 * (src/fs/hash-file-sync.ts: streaming, one reused buffer) and posts back the
 * block list. Each worker has a shared Int32 "cancel" cell: aborting a running
 * job writes the job id there, the worker notices after its current read and
 * drops the job; the caller's promise is rejected at once with ERR_ABORTED
 * and the worker counts as busy until it has actually let go. A worker that
 * dies fails its job with ERR_INTERNAL and is replaced; after
 * MAX_WORKER_FAILURES deaths in a row without a finished job the pool gives
 * up instead of respawning forever. stop() terminates every worker and
 * rejects every queued or running job with ERR_ABORTED.
 *
 * Workers are unref'ed while idle so a forgotten pool cannot keep the
 * process alive, and ref'ed while they hold a job. They are spawned on first
 * need, not at start(): each costs ~10 MiB of RSS, and a device that only
 * receives, or only has small files (hashed inline, below), never needs one.
 * For the same reason they are retired once the pool has had no job for
 * WORKER_IDLE_MS (a scan is over): a sender that has just scanned large
 * files then serves them without two idle isolates beside it.
 *
 * Small files (up to INLINE_HASH_MAX_BYTES at lstat time) are hashed right
 * here on the calling thread: sealing 64 KiB takes well under 100 µs, less
 * than the two thread hops of a worker job (postMessage + wake-up measured at
 * ~200 µs of main-thread CPU per job on a 2-core VM), so a tree of small files
 * scans several times faster. A file that grows between the lstat and the
 * read is still hashed correctly, only on this thread.
 *
 * checkRecords() gives the same workers a batch of sealed records from a peer
 * to decode, verify (Ed25519, ~100 µs each) and, for full peers, open: one
 * job and one message each way per batch, so the ~200 µs thread hop is
 * shared by the whole batch, and the receiver's main thread stores the
 * previous batch meanwhile (src/engine/sync-folder.ts). It spawns a worker
 * like a hash job does (lazily); a caller that keeps one batch in flight at a
 * time occupies one worker.
 *
 * Running from TypeScript source (tsx in dev and tests) the worker is the .ts
 * file next to this one, loaded with `--import tsx`; from dist/ it is the
 * compiled .js file next to this one.
 */
import { lstatSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { SealsyncError } from '../errors.js';
import { startPoolWorker } from './pool-worker.js';
import type { BlockRef } from '../model/types.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import type { RecordCheckKeys } from '../crypto/sealed-record.js';
import type { HashJobMessage, HashReplyMessage, RecordCheckResult } from './hash-worker.js';
import { ReadBuffer, hashFileSync, type ScanKeys } from './hash-file-sync.js';

export const MAX_HASH_WORKERS = 8;
export const DEFAULT_MAX_QUEUE = 4096;
/**
 * Workers a pool starts when not told: one per core but one, at least one,
 * at most MAX_HASH_WORKERS. The main thread is the other hasher: it hashes
 * every small file inline and seals and signs every record. On this 2-core
 * machine one worker against two (bench g, alternating, three pairs): the
 * folder added while its peer is connected was up to date in 6.42 / 6.82 /
 * 6.97 s against 6.89 / 7.83 / 6.88 s, a scan alone took the same time,
 * 1 GiB in 4 files synced in the same time, and the sender peaked 10 MiB
 * lower (one isolate less).
 */
export function defaultHashWorkers(cores: number): number {
  return Math.min(Math.max(1, Math.floor(cores) - 1), MAX_HASH_WORKERS);
}
/** Consecutive worker deaths (no job finished in between) before the pool gives up. */
export const MAX_WORKER_FAILURES = 3;
/** Files up to this size are hashed on the calling thread (see the header). */
export const INLINE_HASH_MAX_BYTES = 64 * 1024;
/**
 * Idle time after which the workers are terminated (see the header). Long
 * enough that the files of one scan, or a burst of edits, reuse them (a
 * spawn costs ~30 ms of CPU); short against a sync that follows a scan.
 */
export const WORKER_IDLE_MS = 1000;
/**
 * Young generation of a worker's heap. Record checks make many short-lived
 * objects (a decoded and an opened record each): with V8's default the young
 * generation grows to tens of MiB before it is swept. Measured, a worker that
 * checked 2,000 records: +15 MiB of process RSS with 2 MiB, +21 MiB with the
 * default, at the same time (~330 ms). Hashing makes little garbage either way.
 */
export const WORKER_YOUNG_GENERATION_MB = 2;

export interface HashResult {
  readonly blocks: BlockRef[];
  /** Bytes read (the size at open time unless the file shrank). */
  readonly size: number;
  /** Whole milliseconds, as the walker reports them. */
  readonly mtimeMs: number;
  readonly ino: number;
  /** Size, mtime or inode differ between before and after reading: hash again. */
  readonly changed: boolean;
}

export type { RecordCheckResult };

/** What a job resolves with: a hash result, or record checks. */
type JobResult = HashResult | readonly RecordCheckResult[];

/** What a job sends to its worker, less the job id. */
type JobBody = DistributiveOmit<HashJobMessage, 'jobId'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

interface Job {
  readonly id: number;
  readonly body: JobBody;
  /** Buffers moved to the worker with the message. */
  readonly transfer: readonly ArrayBuffer[];
  /** For error data: the file hashed, if any. */
  readonly path: string | undefined;
  /** Gets the reply's `result` (hash) or `records` (records). */
  readonly resolve: (r: JobResult) => void;
  readonly reject: (e: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  settled: boolean;
}

interface Slot {
  worker: Worker;
  readonly cancel: Int32Array;
  job: Job | null;
  /** Why the worker died, for the error the job gets. */
  lastError?: Error;
}

function aborted(message = 'hashing aborted'): SealsyncError {
  return new SealsyncError('ERR_ABORTED', message);
}

export class HashPool {
  readonly workerCount: number;
  readonly maxQueue: number;
  #slots: Slot[] = [];
  #queue: Job[] = [];
  #running = false;
  #broken: SealsyncError | null = null;
  #nextJobId = 1;
  #failures = 0;
  /** Workers the pool may still run (workerCount, less slots given up after repeated deaths). */
  #maxSlots = 0;
  /** Read buffer of inline jobs, made on first use. */
  #inlineBuffer: ReadBuffer | null = null;
  /** Retires idle workers (armed while every worker is idle). */
  #idleTimer: NodeJS.Timeout | null = null;

  /** Files up to this many bytes are hashed inline (0: every file goes to a worker). */
  readonly inlineMaxBytes: number;

  /** Idle time before the workers are retired (WORKER_IDLE_MS unless a test says otherwise). */
  readonly idleMs: number;

  constructor(init: { workers?: number; maxQueue?: number; inlineMaxBytes?: number; idleMs?: number } = {}) {
    const workers = init.workers ?? defaultHashWorkers(availableParallelism());
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_HASH_WORKERS) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'workers' must be an integer from 1 to ${MAX_HASH_WORKERS}`);
    }
    const maxQueue = init.maxQueue ?? DEFAULT_MAX_QUEUE;
    if (!Number.isInteger(maxQueue) || maxQueue < 1) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'maxQueue' must be a positive integer`);
    }
    const inlineMaxBytes = init.inlineMaxBytes ?? INLINE_HASH_MAX_BYTES;
    if (!Number.isInteger(inlineMaxBytes) || inlineMaxBytes < 0 || inlineMaxBytes > INLINE_HASH_MAX_BYTES) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'inlineMaxBytes' must be an integer from 0 to ${INLINE_HASH_MAX_BYTES}`);
    }
    const idleMs = init.idleMs ?? WORKER_IDLE_MS;
    if (!Number.isInteger(idleMs) || idleMs < 0) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'idleMs' must be a non-negative integer`);
    }
    this.idleMs = idleMs;
    this.inlineMaxBytes = inlineMaxBytes;
    this.workerCount = workers;
    this.maxQueue = maxQueue;
  }

  /** Worker threads alive now (spawned on need, retired when idle). */
  get liveWorkers(): number {
    return this.#slots.length;
  }

  /** Jobs waiting for a worker (not counting running ones). */
  get queued(): number {
    return this.#queue.length;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#broken = null;
    this.#failures = 0;
    this.#maxSlots = this.workerCount;
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#disarmIdle();
    const err = aborted('hash pool stopped');
    for (const job of this.#queue.splice(0)) this.#settle(job, err);
    const slots = this.#slots.splice(0);
    for (const slot of slots) if (slot.job) this.#settle(slot.job, err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /**
   * `sizeHint`: the size a walk just read from lstat. It only picks inline vs worker
   * (saving a second lstat per file, ~7 us each on a 100k-file scan); the read itself
   * still checks the file type and reports its real size.
   */
  hashFile(absPath: string, keys: ScanKeys, opts: { signal?: AbortSignal; sizeHint?: number } = {}): Promise<HashResult> {
    const { signal, sizeHint } = opts;
    const refused = this.#refusal(signal);
    if (refused) return Promise.reject(refused);
    const small = sizeHint !== undefined && Number.isSafeInteger(sizeHint) && sizeHint >= 0
      ? sizeHint <= this.inlineMaxBytes
      : isSmallFile(absPath, this.inlineMaxBytes);
    if (this.inlineMaxBytes > 0 && small) {
      try {
        return Promise.resolve(unpack(hashFileSync(absPath, keys, (this.#inlineBuffer ??= new ReadBuffer()))));
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return this.#enqueue<HashResult>({ kind: 'hash', path: absPath, keys: { contentKey: keys.contentKey, chunkKey: keys.chunkKey, sealIds: keys.sealIds } }, [], absPath, signal);
  }

  /**
   * Checks encoded sealed records from a peer on a worker thread, exactly as
   * checkRecordBytes(keys, record, open) would here: one result per record, in
   * order. Rejects only for the pool itself (not running, queue full, aborted,
   * a worker that died, or every worker busy); a bad record is a result, never
   * a rejection.
   *
   * A check is taken only when a worker can start it at once (an idle one, or
   * room to spawn one): queued behind file hashes (a multi-GiB file is one job)
   * it would hold up the peer's whole index exchange, where checking inline
   * costs ~25 ms per 256 records. The caller checks inline on ERR_QUEUE_FULL.
   */
  checkRecords(
    keys: RecordCheckKeys,
    records: readonly Uint8Array[],
    opts: { open: boolean; signal?: AbortSignal },
  ): Promise<readonly RecordCheckResult[]> {
    const { signal } = opts;
    const refused = this.#refusal(signal) ?? (this.#canStartNow() ? null : new SealsyncError('ERR_QUEUE_FULL', 'every hash worker is busy'));
    if (refused) return Promise.reject(refused);
    // One buffer of its own for the batch (records are usually views into a network
    // frame, which must not be detached and would be cloned whole).
    let total = 0;
    for (const r of records) total += r.byteLength;
    const packed = new Uint8Array(total);
    const ends = new Uint32Array(records.length);
    let off = 0;
    records.forEach((r, i) => {
      packed.set(r, off);
      off += r.byteLength;
      ends[i] = off;
    });
    // Only the keys a check uses go to the worker (never the signing seed).
    const sent: RecordCheckKeys = {
      folderId: keys.folderId,
      publicKey: keys.publicKey,
      ...(opts.open && keys.nameKey ? { nameKey: keys.nameKey } : {}),
      ...(opts.open && keys.metadataKey ? { metadataKey: keys.metadataKey } : {}),
    };
    return this.#enqueue<readonly RecordCheckResult[]>(
      { kind: 'records', keys: sent, packed, ends, open: opts.open },
      [packed.buffer as ArrayBuffer, ends.buffer as ArrayBuffer],
      undefined,
      signal,
    );
  }

  /** Whether a job queued now would start at once: nothing waits, and a worker is idle or can be spawned. */
  #canStartNow(): boolean {
    if (this.#queue.length > 0) return false;
    return this.#slots.length < this.#maxSlots || this.#slots.some((slot) => !slot.job);
  }

  /** Why a new job cannot be queued now, or null. */
  #refusal(signal: AbortSignal | undefined): SealsyncError | null {
    if (!this.#running) return aborted('hash pool is not running');
    if (this.#broken) return this.#broken;
    if (signal?.aborted) return aborted();
    if (this.#queue.length >= this.maxQueue) return new SealsyncError('ERR_QUEUE_FULL', undefined, { maxQueue: this.maxQueue });
    return null;
  }

  #enqueue<T extends JobResult>(
    body: JobBody,
    transfer: readonly ArrayBuffer[],
    path: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const job: Job = {
        id: this.#nextJobId++,
        body,
        transfer,
        path,
        resolve: resolve as (r: JobResult) => void,
        reject,
        signal,
        onAbort: () => this.#abort(job),
        settled: false,
      };
      signal?.addEventListener('abort', job.onAbort, { once: true });
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  #spawn(): Slot {
    const cancel = new SharedArrayBuffer(4);
    const worker = startPoolWorker(import.meta.url, 'hash-worker', {
      workerData: { cancel },
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    const slot: Slot = { worker, cancel: new Int32Array(cancel), job: null };
    worker.on('message', (msg: HashReplyMessage) => this.#onReply(slot, msg));
    // 'error' is always followed by 'exit'; handle the death there.
    worker.on('error', (e) => { slot.lastError = e; });
    worker.on('exit', () => this.#onExit(slot));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    worker.unref();
    return slot;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job) continue;
      const job = this.#queue.shift();
      if (!job) return;
      this.#assign(slot, job);
    }
    while (this.#queue.length > 0 && this.#slots.length < this.#maxSlots) {
      const slot = this.#spawn();
      this.#slots.push(slot);
      this.#assign(slot, this.#queue.shift()!);
    }
  }

  #assign(slot: Slot, job: Job): void {
    this.#disarmIdle();
    slot.job = job;
    slot.worker.ref();
    const msg = { ...job.body, jobId: job.id } as HashJobMessage;
    slot.worker.postMessage(msg, job.transfer);
  }

  #onReply(slot: Slot, msg: HashReplyMessage): void {
    const job = slot.job;
    slot.job = null;
    slot.worker.unref();
    if (job && job.id === msg.jobId) {
      if (msg.ok) {
        this.#failures = 0;
        this.#settle(job, null, 'records' in msg ? msg.records : unpack(msg.result));
      } else if (msg.aborted) {
        this.#settle(job, aborted());
      } else {
        this.#failures = 0; // the worker is healthy; the file was the problem
        this.#settle(job, SealsyncError.fromJSON(msg.error));
      }
    }
    this.#dispatch();
    this.#armIdleIfIdle();
  }

  #armIdleIfIdle(): void {
    if (this.#idleTimer || !this.#running || this.#slots.some((s) => s.job)) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      // Taken out of #slots first, so #onExit sees a retired worker, not a death.
      const idle = this.#slots.filter((s) => !s.job);
      this.#slots = this.#slots.filter((s) => s.job);
      for (const slot of idle) void slot.worker.terminate();
    }, this.idleMs);
    this.#idleTimer.unref();
  }

  #disarmIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #onExit(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return; // stopped: slot already removed
    const job = slot.job;
    slot.job = null;
    if (job) {
      const data = job.path === undefined ? undefined : { path: job.path };
      this.#settle(job, new SealsyncError('ERR_INTERNAL', `hash worker died: ${slot.lastError?.message ?? 'exited'}`, data));
    }
    this.#failures++;
    if (this.#failures >= MAX_WORKER_FAILURES) {
      this.#slots.splice(i, 1);
      this.#maxSlots--;
      if (this.#maxSlots === 0) {
        this.#broken = new SealsyncError('ERR_INTERNAL', 'hash workers keep failing');
        for (const q of this.#queue.splice(0)) this.#settle(q, this.#broken);
      }
      return;
    }
    this.#slots[i] = this.#spawn();
    this.#dispatch();
  }

  #abort(job: Job): void {
    if (job.settled) return;
    const qi = this.#queue.indexOf(job);
    if (qi >= 0) {
      this.#queue.splice(qi, 1);
    } else {
      const slot = this.#slots.find((s) => s.job === job);
      if (slot) Atomics.store(slot.cancel, 0, job.id);
    }
    this.#settle(job, aborted());
  }

  #settle(job: Job, err: unknown, result?: JobResult): void {
    if (job.settled) return;
    job.settled = true;
    job.signal?.removeEventListener('abort', job.onAbort);
    if (err) job.reject(err);
    else job.resolve(result as JobResult);
  }
}

/** A regular file small enough to hash inline; false for anything else (the worker reports errors). */
function isSmallFile(absPath: string, maxBytes: number): boolean {
  try {
    const st = lstatSync(absPath);
    return st.isFile() && st.size <= maxBytes;
  } catch {
    return false;
  }
}

function unpack(r: import('./hash-file-sync.js').PackedHashResult): HashResult {
  const blocks: BlockRef[] = r.sizes.map((size, i) => ({
    id: r.ids.byteLength === 0 ? null : r.ids.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
    hash: r.hashes.subarray(i * DIGEST_BYTES, (i + 1) * DIGEST_BYTES),
    size,
  }));
  return { blocks, size: r.size, mtimeMs: r.mtimeMs, ino: r.ino, changed: r.changed };
}
