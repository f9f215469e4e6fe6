/**
 * SyncRecordIntake: how a full (rw or ro) folder takes the records of a
 * peer's index update into its index. Each record is checked (signature,
 * AEAD, locator = HMAC(path), canonical path: record-check.ts, on the hash
 * workers for a large update), refused when a signed head says a newer
 * version is current (a replay or a rollback), and stored in order, a chunk
 * per transaction. SyncFolder decides what follows: penalties, the
 * acknowledgement, the puller. (The encrypted peer's counterpart is
 * ReplicaRecordStore: it cannot open records, so it checks less.)
 */
import type { FolderKeys, SealedRecord } from '../../crypto/index.js';
import { SealsyncError, isSealsyncError } from '../../errors.js';
import type { Index, PutRecordResult } from '../../index/index.js';
import type { FileRecord } from '../../model/types.js';
import type { HeadBook } from '../peer/head-book.js';
import { forEachCheckedChunk, type RecordChecker } from '../peer/record-check.js';

/** A checked record from a peer, on its way into the index. */
interface StoreItem {
  readonly raw: Uint8Array;
  readonly sealed: SealedRecord;
  readonly record: FileRecord;
}

export interface SyncRecordIntakeDeps {
  readonly index: Index;
  readonly folder: number;
  readonly keys: FolderKeys;
  /** Checks large updates off the main thread (the daemon's hash pool); null: inline. */
  readonly checker: RecordChecker | null;
  readonly heads: HeadBook;
  /** The folder is running (a chunk checked after stop is not stored). */
  readonly isRunning: () => boolean;
  /** A record from `peerId` got index seq `seq`: never echoed back to it (IndexRelay.markFromPeer). */
  readonly markFromPeer: (peerId: string, seq: number) => void;
  /** A stored record's opened form, so the puller need not open it again (Puller.noteOpened). */
  readonly noteOpened: (locator: Uint8Array, record: FileRecord) => void;
}

/** What became of one update's records. */
export interface IntakeResult {
  /** Locators of the records stored (the puller's work). */
  readonly stored: Uint8Array[];
  /** Block ids of the records checked and stored or dominated: the sender has those blocks. */
  readonly announced: Uint8Array[];
  /** Records the index already held a newer version of (chargeDominatedUpdate). */
  readonly dominated: number;
  /** Records that failed a check or were refused by the index (the sender's fault). */
  readonly rejected: number;
  /** The error code of the first rejected record. */
  readonly firstCode: string | null;
  /** Records older than a signed head (noted in the head book as a rollback). */
  readonly refusedOld: number;
  /** Our own index failed (disk full, I/O error): not the peer's fault; the rest of the update was not stored. */
  readonly localFailure: unknown;
}

export class SyncRecordIntake {
  constructor(private readonly deps: SyncRecordIntakeDeps) {}

  async accept(peerId: string, records: readonly Uint8Array[], signal?: AbortSignal): Promise<IntakeResult> {
    const stored: Uint8Array[] = [];
    const announced: Uint8Array[] = [];
    const tally = { dominated: 0 };
    let rejected = 0;
    let refusedOld = 0;
    let firstCode: string | null = null;
    let localFailure: unknown = null;
    await forEachCheckedChunk(
      records,
      { keys: this.deps.keys, open: true, checker: this.deps.checker, ...(signal ? { signal } : {}) },
      (start, outcomes) => {
        if (!this.deps.isRunning()) return false;
        const good: StoreItem[] = [];
        outcomes.forEach((outcome, j) => {
          if (!outcome.ok || !outcome.record) {
            rejected++;
            const err = outcome.ok ? new SealsyncError('ERR_INTERNAL', 'record was not opened') : outcome.error;
            firstCode ??= isSealsyncError(err) ? err.code : 'invalid';
            return;
          }
          // Older than what a signed head says is current: a replay, a resurrection or part of a mixed state.
          const newer = this.deps.heads.newerThan(outcome.sealed.locator, outcome.sealed.version);
          if (newer) {
            refusedOld++;
            this.deps.heads.noteRollback(newer);
            return;
          }
          good.push({ raw: records[start + j]!, sealed: outcome.sealed, record: outcome.record });
        });
        const failed = this.store(peerId, good, stored, announced, tally);
        if (failed) {
          rejected += failed.count;
          firstCode ??= failed.code;
          localFailure = failed.localError;
        }
        return localFailure === null;
      },
    );
    return { stored, announced, dominated: tally.dominated, rejected, firstCode, refusedOld, localFailure };
  }

  /**
   * Stores checked records, in order, in one transaction (a commit per record
   * cost ~75 µs of the main thread). putRemoteRecord is atomic only as its own
   * transaction (nested calls join the outer one without a savepoint), so if
   * one throws, the whole batch is rolled back and stored again record by
   * record, each on its own: the outcome is then the same as storing one at a
   * time had been from the start. Side effects (relay marks, the puller's
   * cache, announcements) happen only after the rows are committed, still in
   * the same synchronous turn. Returns how many failed to store, if any; an
   * error that is not a SealsyncError (the records were checked, so it is our
   * own database failing) stops the batch and comes back as `localError`.
   */
  private store(
    peerId: string,
    items: readonly StoreItem[],
    stored: Uint8Array[],
    announced: Uint8Array[],
    tally: { dominated: number },
  ): { count: number; code: string; localError: unknown } | null {
    const { index, folder } = this.deps;
    const put = (it: StoreItem) =>
      index.putRemoteRecord(folder, {
        locator: it.sealed.locator,
        version: it.sealed.version,
        blockIds: it.sealed.blockIds,
        sealed: it.raw,
        plain: { kind: it.record.kind, size: it.record.size, mtimeMs: it.record.mtimeMs, deleted: it.record.deleted },
      });
    const effects = (it: StoreItem, res: PutRecordResult) => {
      if (res.outcome === 'dominated') tally.dominated++;
      if (!res.stored) return;
      if (res.seq !== null) this.deps.markFromPeer(peerId, res.seq);
      // The same version with its block ids: our copy of the file gets them too (nothing to pull).
      if (res.outcome === 'completed') index.completeFileIds(folder, it.record);
      stored.push(it.sealed.locator);
      this.deps.noteOpened(it.sealed.locator, it.record);
    };
    let results: PutRecordResult[] | null = null;
    try {
      results = index.transaction(() => items.map(put));
    } catch {
      results = null; // rolled back: one at a time below
    }
    // Full peers ask each other for blocks by plaintext hash, so that is what a record announces.
    const announce = (it: StoreItem) => {
      for (const b of it.record.blocks) announced.push(b.hash);
    };
    if (results) {
      items.forEach((it, i) => {
        announce(it);
        effects(it, results[i]!);
      });
      return null;
    }
    let count = 0;
    let code: string | null = null;
    for (const it of items) {
      let res: PutRecordResult;
      try {
        res = put(it);
      } catch (err) {
        if (!isSealsyncError(err)) return { count, code: code ?? 'local', localError: err };
        count++;
        code ??= err.code;
        continue;
      }
      announce(it);
      effects(it, res);
    }
    return count > 0 ? { count, code: code ?? 'invalid', localError: null } : null;
  }
}
