/**
 * Block scheduler: gets the plaintext of needed blocks, from local disk when
 * possible, else from connected peers (swarming).
 *
 * How this works:
 * - fetch(ref) first asks the local source (a block with the same plaintext
 *   hash elsewhere on disk, including the old version of the same file):
 *   renames, moves and unchanged parts of an edited file cost no transfer.
 * - Otherwise a job is queued with its candidate peers: those that announced
 *   a record referencing the block id (BlockAvailability), or every connected
 *   peer when availability is unknown. The dispatcher gives each job to the
 *   candidate with the fewest requests in flight (then fewest failures, then
 *   fewest requests overall), at most `maxInFlightPerPeer` per peer, so one
 *   large file pulls from several peers at once. A peer whose window is full
 *   gets new requests again once half of them are answered, as one batch
 *   (REFILL_FRACTION): one socket write for many requests.
 * - A reply is opened by the injected `openBlock`: a sealed block (id hash,
 *   AEAD) or, from a peer that proved R, padded plaintext (plaintext hash). Corrupt data penalises the sender (misbehaviour budget) and
 *   the job moves to another candidate; so do timeouts, "don't have it"
 *   answers and disconnects, without penalty. When no candidate is left the
 *   fetch fails with ERR_NOT_FOUND and the puller retries later.
 * - stop() rejects every queued and running job; nothing keeps running.
 */
import { setMaxListeners } from 'node:events';
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { MAX_TRACKED_BLOCK_IDS_PER_PEER } from '../../net/limits.js';
import { SealsyncError, isSealsyncError } from '../../errors.js';
import { O_NOFOLLOW, resolveOnDisk } from '../../fs/safe-fs.js';
import { readAt } from '../../fs/block-writer.js';
import type { BlockRef } from '../../model/types.js';

/** Requests one peer may have outstanding (pipelining window). */
export const MAX_BLOCKS_IN_FLIGHT = 32;
/**
 * A peer whose window filled up gets new requests only once its requests in
 * flight fall to this fraction of the window, and then as a batch. Refilling
 * one slot per answer sent one block request per answer: one TLS record and
 * one write(2) each (~2,000 per 256 MiB at 128 KiB blocks, which on loopback
 * also run the TCP stack for both ends). A batch goes out corked in one write
 * (see PeerSession.writeFrame), and half a window (2 MiB at 128 KiB blocks)
 * stays in flight meanwhile, so the pipe does not run dry.
 */
export const REFILL_FRACTION = 0.5;
/** How long one block request may take before another peer is tried. */
export const BLOCK_REQUEST_TIMEOUT_MS = 60_000;
/** Upper bound on attempts for one block (over all peers). */
export const MAX_BLOCK_ATTEMPTS = 8;
export { MAX_TRACKED_BLOCK_IDS_PER_PEER };

/** What the scheduler needs from a connected peer (a PeerSession adapter). */
export interface BlockPeer {
  /** Stable id (device id text). */
  readonly id: string;
  /**
   * The block in this peer's form (see `plaintext`), or null if the peer does
   * not have it. A plaintext peer is asked by `ref.hash`, any other by `ref.id`.
   */
  requestBlock(ref: BlockRef, opts: { signal?: AbortSignal }): Promise<Uint8Array | null>;
  /**
   * Its answers are padded plaintext, not sealed blocks (both sides proved R;
   * docs/crypto.md §3.1). Only such a peer is asked for a block whose id is
   * withheld (BlockRef.id null).
   */
  readonly plaintext?: boolean;
  /** Count one misbehaviour (bad block) against the peer's budget. */
  penalize(reason: string): void;
}

/** Plaintext of a block already on local disk (re-hashed by the source), or null. */
export interface LocalBlockSource {
  readLocal(ref: BlockRef, opts: { signal?: AbortSignal }): Promise<Uint8Array | null>;
}

export interface BlockSchedulerOptions {
  /**
   * Verifies a peer's answer and returns the plaintext; throws or rejects on
   * any mismatch. `form` says what the peer sent: a sealed block (check the id,
   * decrypt) or padded plaintext (check the padding and the plaintext hash).
   */
  readonly openBlock: (data: Uint8Array, ref: BlockRef, form: 'sealed' | 'plain') => Uint8Array | Promise<Uint8Array>;
  readonly local?: LocalBlockSource;
  /** Peers that announced a record referencing the block; undefined = unknown (ask anyone). */
  readonly holders?: (ref: BlockRef) => ReadonlySet<string> | undefined;
  readonly maxInFlightPerPeer?: number;
  readonly requestTimeoutMs?: number;
  readonly onBytes?: (peerId: string, bytes: number) => void;
}

export interface PeerBlockStats {
  readonly inFlight: number;
  readonly requested: number;
  readonly received: number;
  readonly bytes: number;
  readonly failures: number;
  readonly penalties: number;
}

export interface SchedulerStats {
  readonly localBlocks: number;
  readonly localBytes: number;
  readonly queued: number;
  readonly peers: Record<string, PeerBlockStats>;
}

const tunedSignals = new WeakSet<AbortSignal>();

interface PeerSlot {
  peer: BlockPeer;
  inFlight: number;
  /** The window filled up: no new request until inFlight is back at refillAt (see REFILL_FRACTION). */
  draining: boolean;
  requested: number;
  received: number;
  bytes: number;
  failures: number;
  penalties: number;
}

interface Job {
  readonly ref: BlockRef;
  readonly tried: Set<string>;
  readonly resolve: (data: Uint8Array) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  attempts: number;
  lastError: unknown;
  done: boolean;
  /** Peers that may have the block (undefined: any), as of `holdersEpoch`. */
  holders: ReadonlySet<string> | undefined;
  holdersEpoch: number;
}

export class BlockScheduler {
  private readonly peers = new Map<string, PeerSlot>();
  private queue: Job[] = [];
  private readonly running = new Set<{ job: Job; controller: AbortController }>();
  private readonly maxInFlight: number;
  /** inFlight at which a draining peer takes new requests again. */
  private readonly refillAt: number;
  private readonly timeoutMs: number;
  private stopped = false;
  /** Bumped when peers come or go or announce blocks: cached job holders are stale. */
  private epoch = 0;
  private localBlocks = 0;
  private localBytes = 0;

  constructor(private readonly opts: BlockSchedulerOptions) {
    this.maxInFlight = opts.maxInFlightPerPeer ?? MAX_BLOCKS_IN_FLIGHT;
    this.refillAt = Math.floor(this.maxInFlight * REFILL_FRACTION);
    this.timeoutMs = opts.requestTimeoutMs ?? BLOCK_REQUEST_TIMEOUT_MS;
    if (!Number.isInteger(this.maxInFlight) || this.maxInFlight < 1) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', "'maxInFlightPerPeer' must be a positive integer");
    }
  }

  addPeer(peer: BlockPeer): void {
    if (this.stopped) return;
    this.epoch++;
    if (!this.peers.has(peer.id)) {
      this.peers.set(peer.id, { peer, inFlight: 0, draining: false, requested: 0, received: 0, bytes: 0, failures: 0, penalties: 0 });
    }
    this.dispatch();
  }

  /** Forgets a peer; its running requests are aborted and move to other peers. */
  removePeer(id: string): void {
    if (!this.peers.delete(id)) return;
    this.epoch++;
    for (const r of this.running) {
      if (r.job.tried.has(id) && !r.job.done) r.controller.abort(new SealsyncError('ERR_CONNECTION_CLOSED'));
    }
    this.dispatch();
  }

  /** A peer announced more blocks: let waiting jobs see it. */
  availabilityChanged(): void {
    this.epoch++;
    this.dispatch();
  }

  peerIds(): string[] {
    return [...this.peers.keys()];
  }

  /** Plaintext of one block: local disk first, then a peer. */
  async fetch(ref: BlockRef, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array> {
    if (this.stopped) throw new SealsyncError('ERR_ABORTED', 'block scheduler stopped');
    opts.signal?.throwIfAborted();
    if (this.opts.local) {
      const data = await this.opts.local.readLocal(ref, opts);
      if (data !== null) {
        this.localBlocks++;
        this.localBytes += data.byteLength;
        return data;
      }
    }
    const signal = opts.signal;
    if (signal && !tunedSignals.has(signal)) {
      // Callers share one signal over many fetches (each adds a listener while
      // it waits): that is by design, not a leak.
      setMaxListeners(0, signal);
      tunedSignals.add(signal);
    }
    return new Promise<Uint8Array>((resolve, reject) => {
      const onAbort = () => this.finish(job, new SealsyncError('ERR_ABORTED', undefined, undefined, { cause: signal?.reason }));
      const job: Job = {
        ref,
        tried: new Set(),
        signal,
        attempts: 0,
        lastError: undefined,
        done: false,
        holders: undefined,
        holdersEpoch: -1,
        resolve: (d) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(d);
        },
        reject: (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(job);
      this.dispatch();
    });
  }

  stats(): SchedulerStats {
    const peers: Record<string, PeerBlockStats> = {};
    for (const [id, s] of this.peers) {
      peers[id] = { inFlight: s.inFlight, requested: s.requested, received: s.received, bytes: s.bytes, failures: s.failures, penalties: s.penalties };
    }
    return { localBlocks: this.localBlocks, localBytes: this.localBytes, queued: this.queue.length, peers };
  }

  /** Rejects every waiting and running fetch; the scheduler accepts no new work. */
  stop(): void {
    this.stopped = true;
    const err = new SealsyncError('ERR_ABORTED', 'block scheduler stopped');
    for (const job of this.queue) this.finish(job, err);
    this.queue = [];
    for (const r of this.running) {
      r.controller.abort(err);
      this.finish(r.job, err);
    }
    this.peers.clear();
  }

  /** `queued: false` when the caller knows the job is not in the queue (it was running): no O(queue) filter. */
  private finish(job: Job, result: Uint8Array | unknown, queued = true): void {
    if (job.done) return;
    job.done = true;
    if (queued) this.queue = this.queue.filter((j) => j !== job);
    if (result instanceof Uint8Array) job.resolve(result);
    else job.reject(result);
  }

  /** Candidate peers for a job that are connected and not yet tried. */
  private candidates(job: Job, retry = true): PeerSlot[] {
    // Holders are looked up once per job and again only when peers or
    // announcements changed, or before giving up (dispatch runs after every
    // completed request, so a lookup per dispatch would cost O(queue) each time).
    if (job.holdersEpoch !== this.epoch) {
      const announced = this.opts.holders?.(job.ref);
      // Announcements are per connection: when no connected peer announced the
      // block (it reconnected and sent only a delta), any connected peer may have it.
      job.holders = announced !== undefined && [...this.peers.keys()].some((id) => announced.has(id)) ? announced : undefined;
      job.holdersEpoch = this.epoch;
    }
    const holders = job.holders;
    const out: PeerSlot[] = [];
    for (const [id, slot] of this.peers) {
      if (job.tried.has(id)) continue;
      if (holders !== undefined && !holders.has(id)) continue;
      if (job.ref.id === null && slot.peer.plaintext !== true) continue; // only a reader can find it by hash
      out.push(slot);
    }
    if (out.length === 0 && retry && holders !== undefined) {
      job.holdersEpoch = -1; // the cached holders may be stale: look again once
      return this.candidates(job, false);
    }
    return out;
  }

  private dispatch(): void {
    if (this.stopped || this.queue.length === 0) return;
    // Every answer calls dispatch; while every connected peer is full or draining no job can
    // start, so skip the walk over the queue (a candidate list per job). Jobs left without any
    // candidate are still settled: each peer's next answer dispatches again, and with no
    // peer at all this shortcut does not apply.
    if (this.peers.size > 0 && !this.anyPeerCanTake()) return;
    const waiting: Job[] = [];
    for (const job of this.queue) {
      if (job.done) continue;
      const cands = this.candidates(job);
      if (cands.length === 0 || job.attempts >= MAX_BLOCK_ATTEMPTS) {
        job.done = true;
        job.reject(
          job.lastError && job.attempts >= MAX_BLOCK_ATTEMPTS
            ? job.lastError
            : new SealsyncError('ERR_NOT_FOUND', 'block is not available from any connected peer', { attempts: job.attempts }),
        );
        continue;
      }
      let best: PeerSlot | undefined;
      for (const c of cands) {
        if (c.inFlight >= this.maxInFlight || c.draining) continue;
        if (
          best === undefined ||
          c.inFlight < best.inFlight ||
          (c.inFlight === best.inFlight && (c.failures < best.failures || (c.failures === best.failures && c.requested < best.requested)))
        ) {
          best = c;
        }
      }
      if (best === undefined) {
        waiting.push(job); // every candidate is busy: wait for a slot
        continue;
      }
      this.start(job, best);
    }
    this.queue = waiting;
  }

  private anyPeerCanTake(): boolean {
    for (const slot of this.peers.values()) if (slot.inFlight < this.maxInFlight && !slot.draining) return true;
    return false;
  }

  private start(job: Job, slot: PeerSlot): void {
    job.tried.add(slot.peer.id);
    job.attempts++;
    slot.inFlight++;
    if (slot.inFlight >= this.maxInFlight) slot.draining = true;
    slot.requested++;
    const controller = new AbortController();
    // An explicit timer (cleared below) rather than AbortSignal.timeout, so
    // nothing outlives the request.
    const timer = setTimeout(() => controller.abort(new SealsyncError('ERR_TIMEOUT', 'block request timed out')), this.timeoutMs);
    // The caller's signal is forwarded by hand rather than combined with
    // AbortSignal.any, which costs ~17 µs of CPU per call here (it tracks its
    // sources with weak references, more work for every GC); one listener,
    // removed when the request settles, does the same for one source.
    const jobSignal = job.signal;
    const forwardAbort = () => controller.abort(jobSignal?.reason);
    if (jobSignal?.aborted) forwardAbort();
    else jobSignal?.addEventListener('abort', forwardAbort, { once: true });
    const signal = controller.signal;
    const entry = { job, controller };
    this.running.add(entry);
    const peerId = slot.peer.id;
    void Promise.resolve()
      .then(() => raceAbort(slot.peer.requestBlock(job.ref, { signal }), signal))
      .then(
        async (sealed) => {
          if (sealed === null) return new SealsyncError('ERR_NOT_FOUND', 'peer does not have the block', { peer: peerId });
          try {
            const plain = await this.opts.openBlock(sealed, job.ref, slot.peer.plaintext === true ? 'plain' : 'sealed');
            slot.received++;
            slot.bytes += sealed.byteLength;
            this.opts.onBytes?.(peerId, sealed.byteLength);
            return plain;
          } catch (err) {
            // Wrong data for an id the sender announced: that is misbehaviour.
            slot.penalties++;
            slot.failures++;
            if (this.peers.get(peerId) === slot) slot.peer.penalize(`bad block: ${isSealsyncError(err) ? err.code : 'error'}`);
            return err;
          }
        },
        (err: unknown) => {
          slot.failures++;
          return err;
        },
      )
      .then((result) => {
        clearTimeout(timer);
        jobSignal?.removeEventListener('abort', forwardAbort);
        slot.inFlight--;
        if (slot.draining && slot.inFlight <= this.refillAt) slot.draining = false;
        this.running.delete(entry);
        if (result instanceof Uint8Array) {
          // Running, hence not queued (dispatch took it out; only a failed attempt re-queues it).
          this.finish(job, result, false);
        } else if (!job.done) {
          if (job.signal?.aborted) this.finish(job, new SealsyncError('ERR_ABORTED'), false);
          else {
            job.lastError = result;
            job.holdersEpoch = -1; // another peer may have announced it meanwhile
            this.queue.push(job); // try another candidate
          }
        }
        this.dispatch();
      });
  }
}

/**
 * Which peer announced a record referencing which block id. Bounded per peer:
 * a peer that announced more than MAX_TRACKED_BLOCK_IDS_PER_PEER ids is
 * treated as "may have anything" (asking costs one round trip at worst).
 */
export class BlockAvailability {
  /** Per peer, the first 48 bits of each block id (a number: ~40 bytes an entry instead of ~130 for hex). */
  private readonly byPeer = new Map<string, Set<number>>();
  private readonly unbounded = new Set<string>();

  constructor(private readonly maxPerPeer = MAX_TRACKED_BLOCK_IDS_PER_PEER) {}

  announce(peerId: string, blockIds: Iterable<Uint8Array>): void {
    if (this.unbounded.has(peerId)) return;
    let set = this.byPeer.get(peerId);
    if (!set) this.byPeer.set(peerId, (set = new Set()));
    for (const id of blockIds) {
      set.add(idPrefix(id));
      if (set.size > this.maxPerPeer) {
        this.byPeer.delete(peerId);
        this.unbounded.add(peerId);
        return;
      }
    }
  }

  forget(peerId: string): void {
    this.byPeer.delete(peerId);
    this.unbounded.delete(peerId);
  }

  /** Peers that may hold the block (a prefix match: a false "may" costs one "missing" answer). */
  holders(blockId: Uint8Array): ReadonlySet<string> {
    const key = idPrefix(blockId);
    const out = new Set(this.unbounded);
    for (const [peer, set] of this.byPeer) if (set.has(key)) out.add(peer);
    return out;
  }
}

/** A block id is a hash: its first 48 bits tell ids apart as well as all of it, for "who may have it". */
function idPrefix(id: Uint8Array): number {
  return id.length >= 6 ? Buffer.from(id.buffer, id.byteOffset, 6).readUIntBE(0, 6) : -1;
}

/** Settles with `p`, or rejects as soon as `signal` aborts (for peers that ignore the signal). */
function raceAbort<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/** Where a plaintext block may live on local disk (from the index's blocks table). */
export interface LocalBlockLocation {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

/**
 * Reads a block from wherever the index says the same plaintext lives in this
 * folder, re-hashing it (the file may have changed since the scan). Never
 * follows symlinks.
 */
export class DiskBlockSource implements LocalBlockSource {
  constructor(
    private readonly root: string,
    private readonly locate: (hash: Uint8Array) => readonly LocalBlockLocation[],
    private readonly hashBlock: (data: Uint8Array) => Uint8Array,
  ) {}

  async readLocal(ref: BlockRef, opts: { signal?: AbortSignal } = {}): Promise<Uint8Array | null> {
    for (const loc of this.locate(ref.hash)) {
      opts.signal?.throwIfAborted();
      if (loc.size !== ref.size) continue;
      const data = await readLocalRange(this.root, loc.path, loc.offset, loc.size);
      if (data !== null && sameBytes(this.hashBlock(data), ref.hash)) return data;
    }
    return null;
  }
}

/** Reads `size` bytes at `offset` of a folder file, never through a symlink; null if that is not possible. */
export async function readLocalRange(root: string, rel: string, offset: number, size: number): Promise<Uint8Array | null> {
  let abs: string;
  try {
    abs = await resolveOnDisk(root, rel);
  } catch {
    return null;
  }
  let fh;
  try {
    fh = await open(abs, fsConstants.O_RDONLY | O_NOFOLLOW);
  } catch {
    return null; // gone, a link, unreadable: fetch it instead
  }
  try {
    return await readAt(fh, offset, size);
  } catch {
    return null;
  } finally {
    await fh.close();
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
