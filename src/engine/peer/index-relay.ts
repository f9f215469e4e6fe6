/**
 * IndexRelay: the index-exchange half of a folder engine, shared by the full
 * peer's SyncFolder and the encrypted peer's ReplicaFolder (they differ in
 * what they do with records and blocks, not in how records travel).
 *
 * How this works
 * --------------
 * Each joined peer has a link and a cursor `sentSeq` (the highest of our
 * sequence numbers it has). A pump per link sends the records with
 * seq > sentSeq in bounded IndexUpdate batches until it reaches the folder's
 * sequence; wake() restarts every pump after new records. Records the peer
 * itself sent us are marked (markFromPeer, at the moment they are stored) and
 * skipped, never echoed back; a batch made only of skipped records still goes
 * out, empty, so the peer's view of our sequence moves on. One pump per link
 * runs at a time; a wake during a pump makes it go round again.
 *
 * recordProgress() keeps, per peer, how far we hold its index: it only moves
 * over a contiguous range, so after a gap the delta is asked again on the next
 * connection (peerProgress() is what the FolderSessionLink acknowledges).
 */
import { describeError } from '../../errors.js';
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import { MIN_RECORDS_FOR_DOMINATED_CHARGE, PENALTY } from '../../net/limits.js';
import type { FolderLink, IncomingIndex } from './folder-link.js';
import { sealedRecordWithholdsIds } from '../../crypto/sealed-record.js';

/** Largest index message body we send (below the wire limit, with room for framing). */
export const MAX_INDEX_BATCH_BYTES = 4 * 1024 * 1024;
/** Records per index message we send. */
export const MAX_INDEX_BATCH_RECORDS = 2000;

interface LinkState {
  readonly link: FolderLink;
  sentSeq: number;
  /** Our sequence numbers of records this peer sent us: never echoed back to it. */
  readonly fromPeer: Set<number>;
  pumping: boolean;
  again: boolean;
  readonly abort: AbortController;
}

export interface IndexRelayOptions {
  readonly index: Index;
  /** The folder's row (a getter: an engine may learn it only at start). */
  readonly folderRowId: () => number;
  readonly logger: Logger;
  /** Pumps run only while this is true. */
  readonly isRunning: () => boolean;
}

export class IndexRelay {
  private readonly links = new Map<string, LinkState>();

  constructor(private readonly opts: IndexRelayOptions) {}

  get size(): number {
    return this.links.size;
  }

  /** Links of every attached peer. */
  allLinks(): FolderLink[] {
    return [...this.links.values()].map((s) => s.link);
  }

  link(peerId: string): FolderLink | undefined {
    return this.links.get(peerId)?.link;
  }

  /** Adds (or replaces) a peer's link; `since` is what it acknowledged of our index. Does not pump: call wake(). */
  attach(link: FolderLink, since = 0): void {
    this.detach(link.peerId);
    this.links.set(link.peerId, {
      link, sentSeq: Math.max(0, since), fromPeer: new Set(), pumping: false, again: false, abort: new AbortController(),
    });
  }

  /**
   * Removes a peer's link and aborts its pump. Returns false when it was not
   * attached, or when `link` is given and another link of the peer replaced it
   * (a newer session of the same device: it stays).
   */
  detach(peerId: string, link?: FolderLink): boolean {
    const state = this.links.get(peerId);
    if (!state || (link !== undefined && state.link !== link)) return false;
    state.abort.abort();
    this.links.delete(peerId);
    return true;
  }

  /** Detaches every peer (engine stop). */
  clear(): void {
    for (const state of this.links.values()) state.abort.abort();
    this.links.clear();
  }

  /** The peer has everything of ours up to `seq` (an IndexAck). */
  acknowledge(peerId: string, seq: number): void {
    const state = this.links.get(peerId);
    if (state && Number.isSafeInteger(seq) && seq > state.sentSeq && seq <= this.opts.index.folderSeq(this.opts.folderRowId())) {
      state.sentSeq = seq;
    }
  }

  /** Call synchronously when a record from `peerId` got our sequence `seq`, so it is not echoed back. */
  markFromPeer(peerId: string, seq: number): void {
    const state = this.links.get(peerId);
    if (state && seq > state.sentSeq) state.fromPeer.add(seq);
  }

  /** Starts (or re-runs) the pump of one peer, or of every peer. */
  wake(peerId?: string): void {
    if (!this.opts.isRunning()) return;
    if (peerId !== undefined) {
      const state = this.links.get(peerId);
      if (state) void this.pump(state);
      return;
    }
    for (const state of this.links.values()) void this.pump(state);
  }

  /** What we hold of a peer's index (what the FolderSessionLink acknowledges on join). */
  peerProgress(peerId: string): { indexId: string; maxSeq: number } | null {
    return this.opts.index.peerState(this.opts.folderRowId(), peerId) ?? null;
  }

  /** Records that an update from `peerId` was applied. Progress only moves over a contiguous range. */
  recordProgress(peerId: string, update: Pick<IncomingIndex, 'indexId' | 'fromSeq' | 'toSeq'>): void {
    const folder = this.opts.folderRowId();
    const prev = this.opts.index.peerState(folder, peerId);
    const base = prev && prev.indexId === update.indexId ? prev.maxSeq : 0;
    const maxSeq = update.fromSeq <= base ? Math.max(base, update.toSeq) : base;
    this.opts.index.setPeerState(folder, peerId, { indexId: update.indexId, maxSeq });
  }

  private async pump(state: LinkState): Promise<void> {
    if (state.pumping) {
      state.again = true;
      return;
    }
    state.pumping = true;
    const live = () => this.opts.isRunning() && !state.abort.signal.aborted && this.links.get(state.link.peerId) === state;
    try {
      do {
        state.again = false;
        while (live()) {
          const top = this.opts.index.folderSeq(this.opts.folderRowId());
          if (top <= state.sentSeq) break; // nothing past the cursor
          if (allFromPeer(state, top)) {
            // Everything new is what this peer just sent us (an initial sync's receiver relaying
            // back to its only source): move its view on without reading the records again
            // (~65 ms of sealed blobs per 10,000 records in bench (b), all to be skipped anyway).
            await state.link.sendIndex({ fromSeq: state.sentSeq, toSeq: top, records: [] }, { signal: state.abort.signal });
            for (let seq = state.sentSeq + 1; seq <= top; seq++) state.fromPeer.delete(seq);
            state.sentSeq = Math.max(state.sentSeq, top);
            continue;
          }
          const page = this.opts.index.recordsSince(this.opts.folderRowId(), state.sentSeq, MAX_INDEX_BATCH_RECORDS);
          if (page.length === 0) break;
          const batch: Uint8Array[] = [];
          let bytes = 4;
          let toSeq = state.sentSeq;
          // An encrypted peer takes only records that carry their block ids; one that withholds
          // them is skipped here and sent once a writer completes it (a new seq; docs/crypto.md §4.4).
          const needsIds = state.link.readsPlaintext !== true;
          for (const r of page) {
            if (state.fromPeer.delete(r.seq) || (needsIds && sealedRecordWithholdsIds(r.sealed))) {
              toSeq = r.seq; // the peer's own record, or one it cannot take: skip, but move past it
              continue;
            }
            if (batch.length > 0 && bytes + 4 + r.sealed.length > MAX_INDEX_BATCH_BYTES) break;
            batch.push(r.sealed);
            bytes += 4 + r.sealed.length;
            toSeq = r.seq;
          }
          await state.link.sendIndex({ fromSeq: state.sentSeq, toSeq, records: batch }, { signal: state.abort.signal });
          state.sentSeq = toSeq;
        }
      } while (state.again && live());
      for (const seq of state.fromPeer) if (seq <= state.sentSeq) state.fromPeer.delete(seq);
    } catch (err) {
      if (live()) this.opts.logger.warn({ peer: state.link.peerId, err: describeError(err) }, 'sending index failed');
    } finally {
      state.pumping = false;
    }
  }
}

/**
 * True when every sequence number in (sentSeq, top] is one of the peer's own
 * records: the pump would skip them all. A gap (a record of ours, or one
 * replaced since) answers false and the records are read as usual.
 */
function allFromPeer(state: LinkState, top: number): boolean {
  if (state.fromPeer.size < top - state.sentSeq) return false;
  for (let seq = state.sentSeq + 1; seq <= top; seq++) if (!state.fromPeer.has(seq)) return false;
  return true;
}

/**
 * Charges a peer whose index update was mostly records we already hold a
 * newer version of: a replay of old records (which costs us a signature
 * check each), not an honest relay, which sends such a record only when it
 * learned an edit later than we did. Small updates are never charged.
 */
export function chargeDominatedUpdate(link: Pick<FolderLink, 'penalize'> | undefined, received: number, dominated: number): void {
  if (received >= MIN_RECORDS_FOR_DOMINATED_CHARGE && dominated * 2 > received) {
    link?.penalize('index update of mostly dominated records', PENALTY.dominatedRecords);
  }
}
