/**
 * A small pool of worker threads that seal blocks for serving and open
 * received blocks, so the main thread only does I/O and framing.
 *
 * How this works: seal()/open() queue a job and return a promise. Jobs queued
 * in the same tick go out together as one batch message (a thread round trip
 * costs ~200 µs of main-thread CPU on a 2-core VM, a 128 KiB block's crypto
 * about as much), to the worker with the fewest jobs in flight; a batch is
 * also sent at once when it reaches MAX_BATCH_JOBS or MAX_BATCH_BYTES. Input
 * and output buffers are transferred, not cloned: a received sealed block is
 * copied once into a buffer of its own (it may be a view into a larger
 * network buffer that must not be detached) and that copy is moved. A worker
 * that dies fails its batches with ERR_INTERNAL and is replaced; after
 * MAX_WORKER_FAILURES deaths without a finished batch in between the pool
 * refuses new jobs. Workers start on first use and are unref'ed while idle;
 * stop() terminates them and rejects what is pending with ERR_ABORTED.
 *
 * An aborted signal rejects the caller's promise at once; the worker still
 * finishes the (short) job and its result is dropped.
 *
 * From TypeScript source (tsx) the worker is the .ts next to this file,
 * loaded through a tiny bootstrap that registers tsx (see hash-pool.ts); from
 * dist/ it is the compiled .js next to this file.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { SealsyncError } from '../errors.js';
import { startPoolWorker } from './pool-worker.js';
import type { BlockCryptoBatchMessage, BlockCryptoJob, BlockCryptoReplyMessage } from './block-crypto-worker.js';

export const MAX_BLOCK_CRYPTO_WORKERS = 4;
/** Jobs per batch message. */
export const MAX_BATCH_JOBS = 32;
/** Block bytes per batch message (a batch is one unit of latency). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Consecutive worker deaths (no batch finished in between) before the pool gives up. */
export const MAX_WORKER_FAILURES = 3;

interface PendingJob {
  readonly job: BlockCryptoJob;
  readonly bytes: number;
  readonly resolve: (data: Uint8Array) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
  settled: boolean;
}

interface Slot {
  readonly worker: Worker;
  /** Batches sent and not yet answered, by batch id. */
  readonly batches: Map<number, PendingJob[]>;
  jobs: number;
  lastError?: Error;
}

/**
 * A view that owns its whole ArrayBuffer can be transferred; anything else
 * (a pooled small Buffer, a slice of a larger buffer) is copied first, since
 * transferring or cloning a view moves or copies its entire buffer.
 */
export function ownedView(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data;
  return new Uint8Array(data);
}

function aborted(message = 'block crypto aborted'): SealsyncError {
  return new SealsyncError('ERR_ABORTED', message);
}

export class BlockCryptoPool {
  readonly workerCount: number;
  #slots: Slot[] = [];
  #pending: PendingJob[] = [];
  #pendingBytes = 0;
  #flushScheduled: NodeJS.Immediate | null = null;
  #running = false;
  #broken: SealsyncError | null = null;
  #failures = 0;
  #nextBatchId = 1;

  constructor(init: { workers?: number } = {}) {
    const workers = init.workers ?? Math.min(Math.max(1, availableParallelism() - 1), MAX_BLOCK_CRYPTO_WORKERS);
    if (!Number.isInteger(workers) || workers < 1 || workers > MAX_BLOCK_CRYPTO_WORKERS) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'workers' must be an integer from 1 to ${MAX_BLOCK_CRYPTO_WORKERS}`);
    }
    this.workerCount = workers;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#broken = null;
    this.#failures = 0;
  }

  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#flushScheduled) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = null;
    const err = aborted('block crypto pool stopped');
    for (const p of this.#pending.splice(0)) this.#settle(p, err);
    this.#pendingBytes = 0;
    const slots = this.#slots.splice(0);
    for (const slot of slots) for (const batch of slot.batches.values()) for (const p of batch) this.#settle(p, err);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  /** Reads a block of a local file, checks its plaintext hash, seals it and checks the id (see readAndSealBlockSync). */
  seal(
    absPath: string,
    offset: number,
    size: number,
    contentKey: Uint8Array,
    expected: { readonly id: Uint8Array; readonly hash: Uint8Array },
    opts: { signal?: AbortSignal } = {},
  ): Promise<Uint8Array> {
    return this.#submit({ kind: 'seal', path: absPath, offset, size, contentKey, id: expected.id, hash: expected.hash }, size, opts.signal);
  }

  /** Checks a sealed block's id and decrypts it (see openBlock). `sealed` is copied, never detached. */
  open(
    contentKey: Uint8Array,
    sealed: Uint8Array,
    expected: { readonly id: Uint8Array; readonly hash: Uint8Array },
    opts: { signal?: AbortSignal; verifyPlaintextHash?: boolean } = {},
  ): Promise<Uint8Array> {
    const own = new Uint8Array(sealed); // a copy the worker may take over
    return this.#submit(
      { kind: 'open', sealed: own, contentKey, id: expected.id, hash: expected.hash, verifyPlaintextHash: opts.verifyPlaintextHash !== false },
      sealed.byteLength,
      opts.signal,
    );
  }

  #submit(job: BlockCryptoJob, bytes: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
    if (!this.#running) return Promise.reject(aborted('block crypto pool is not running'));
    if (this.#broken) return Promise.reject(this.#broken);
    if (signal?.aborted) return Promise.reject(aborted());
    return new Promise<Uint8Array>((resolve, reject) => {
      const p: PendingJob = { job, bytes, resolve, reject, signal, onAbort: () => this.#settle(p, aborted()), settled: false };
      signal?.addEventListener('abort', p.onAbort, { once: true });
      this.#pending.push(p);
      this.#pendingBytes += bytes;
      if (this.#pending.length >= MAX_BATCH_JOBS || this.#pendingBytes >= MAX_BATCH_BYTES) this.#flush();
      else this.#flushScheduled ??= setImmediate(() => this.#flush());
    });
  }

  #flush(): void {
    if (this.#flushScheduled) clearImmediate(this.#flushScheduled);
    this.#flushScheduled = null;
    const batch = this.#pending.splice(0).filter((p) => !p.settled);
    this.#pendingBytes = 0;
    if (batch.length === 0 || !this.#running) return;
    const slot = this.#pickSlot();
    const batchId = this.#nextBatchId++;
    slot.batches.set(batchId, batch);
    slot.jobs += batch.length;
    slot.worker.ref();
    const transfer: ArrayBuffer[] = [];
    for (const p of batch) if (p.job.kind === 'open') transfer.push(p.job.sealed.buffer as ArrayBuffer);
    const msg: BlockCryptoBatchMessage = { batchId, jobs: batch.map((p) => p.job) };
    slot.worker.postMessage(msg, transfer);
  }

  /** The least busy worker; a new one while fewer than workerCount run and all are busy. */
  #pickSlot(): Slot {
    let best: Slot | undefined;
    for (const s of this.#slots) if (!best || s.jobs < best.jobs) best = s;
    if (best && (best.jobs === 0 || this.#slots.length >= this.workerCount)) return best;
    const slot = this.#spawn();
    this.#slots.push(slot);
    return slot;
  }

  #spawn(): Slot {
    const worker = startPoolWorker(import.meta.url, 'block-crypto-worker');
    const slot: Slot = { worker, batches: new Map(), jobs: 0 };
    worker.on('message', (msg: BlockCryptoReplyMessage) => this.#onReply(slot, msg));
    // 'error' is always followed by 'exit'; handle the death there.
    worker.on('error', (e) => { slot.lastError = e; });
    worker.on('exit', () => this.#onExit(slot));
    worker.unref();
    return slot;
  }

  #onReply(slot: Slot, msg: BlockCryptoReplyMessage): void {
    const batch = slot.batches.get(msg.batchId);
    if (!batch) return;
    slot.batches.delete(msg.batchId);
    slot.jobs -= batch.length;
    if (slot.jobs === 0) slot.worker.unref();
    this.#failures = 0;
    batch.forEach((p, i) => {
      const r = msg.results[i];
      if (!r) this.#settle(p, new SealsyncError('ERR_INTERNAL', 'block crypto worker sent too few results'));
      else if (r.ok) this.#settle(p, null, r.data);
      else this.#settle(p, SealsyncError.fromJSON(r.error));
    });
  }

  #onExit(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return; // stopped: slot already removed
    this.#slots.splice(i, 1);
    const err = new SealsyncError('ERR_INTERNAL', `block crypto worker died: ${slot.lastError?.message ?? 'exited'}`);
    for (const batch of slot.batches.values()) for (const p of batch) this.#settle(p, err);
    this.#failures++;
    if (this.#failures >= MAX_WORKER_FAILURES) {
      this.#broken = new SealsyncError('ERR_INTERNAL', 'block crypto workers keep failing');
      for (const p of this.#pending.splice(0)) this.#settle(p, this.#broken);
    }
  }

  #settle(p: PendingJob, err: unknown, data?: Uint8Array): void {
    if (p.settled) return;
    p.settled = true;
    p.signal?.removeEventListener('abort', p.onAbort);
    if (err) p.reject(err);
    else p.resolve(data as Uint8Array);
  }
}
