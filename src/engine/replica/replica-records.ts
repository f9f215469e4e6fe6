/**
 * The encrypted peer's record store: sealed records by locator, in the index's
 * `records` table.
 *
 * The replica cannot decrypt a record, so it trusts nothing but the signature:
 * every record is decoded strictly and its Ed25519 signature checked against the
 * folder's public key before it is stored. A record that fails is dropped and
 * counted against the peer that sent it (the caller penalizes the session).
 * A large update is verified on the daemon's hash workers, one chunk ahead of
 * the SQLite writes (../record-check.ts); the outcome is the same either way.
 *
 * Versions: the index keeps every version of a locator that no other held
 * version dominates, so concurrent edits that only met on the replica both
 * survive until a full peer publishes a version that dominates them. A version
 * is dropped only when a signed record that dominates it arrives.
 */
import { isSealsyncError, SealsyncError } from '../../errors.js';
import { sealedRecordIsFile, type SealedRecord } from '../../crypto/sealed-record.js';
import type { FolderKeys } from '../../crypto/keys.js';
import { forEachCheckedChunk, type CheckedRecord, type RecordChecker } from '../peer/record-check.js';
import type { Index } from '../../index/index.js';
import { blockIdToHex } from '../../store/block-store.js';

/** Records read per page when walking the whole folder (GC, verify, status). */
export const RECORD_SCAN_PAGE = 2000;

export interface RecordIntake {
  /** Records stored (new versions). */
  readonly stored: number;
  /** Already held, or dominated by a held version: nothing to do. */
  readonly ignored: number;
  /** Of those, dominated by a held version (an old record). */
  readonly dominated: number;
  /** Failed decoding or the signature check: the sender misbehaved. */
  readonly rejected: number;
  /** The first rejection's code, for the penalty reason. */
  readonly rejectCode: string | null;
  /** Hex ids of blocks referenced by the records just stored. */
  readonly blockIds: readonly string[];
  /** Versions removed because a stored record dominates them (their blocks may now be unreferenced). */
  readonly replaced: number;
  /** Local sequence numbers given to the stored records. */
  readonly storedSeqs: readonly number[];
  /** Block ids of every verified record in the batch: the sender holds or can get them. */
  readonly announced: readonly Uint8Array[];
}

export interface RecordStoreOptions {
  readonly index: Index;
  readonly folderRowId: number;
  /** Only the public parts are used: folderId and publicKey. */
  readonly keys: Pick<FolderKeys, 'folderId' | 'publicKey'>;
  /** Verifies large updates off the main thread (the daemon's hash pool); inline without. */
  readonly checker?: RecordChecker;
}

export class ReplicaRecordStore {
  private readonly index: Index;
  private readonly folder: number;
  private readonly keys: Pick<FolderKeys, 'folderId' | 'publicKey'>;
  private readonly checker: RecordChecker | null;

  constructor(opts: RecordStoreOptions) {
    this.index = opts.index;
    this.folder = opts.folderRowId;
    this.keys = opts.keys;
    this.checker = opts.checker ?? null;
  }

  /**
   * Verifies and stores encoded sealed records from a peer. Never throws for a
   * bad record (it is counted in `rejected`); throws ERR_ABORTED on abort.
   */
  async accept(
    records: readonly Uint8Array[],
    opts: { signal?: AbortSignal; onStored?: (seq: number) => void } = {},
  ): Promise<RecordIntake> {
    let stored = 0;
    let ignored = 0;
    let dominated = 0;
    let rejected = 0;
    let replaced = 0;
    let rejectCode: string | null = null;
    const blockIds = new Set<string>();
    const announced: Uint8Array[] = [];
    const storedSeqs: number[] = [];
    if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
    const store = (start: number, outcomes: readonly CheckedRecord[]): void => {
      const verified: { bytes: Uint8Array; sealed: SealedRecord }[] = [];
      outcomes.forEach((outcome, j) => {
        if (outcome.ok && outcome.sealed.idsWithheld) {
          // Nobody sends us these (IndexRelay): we could neither fetch nor check its blocks.
          rejected++;
          rejectCode ??= 'ERR_FORMAT_TRUNCATED';
          return;
        }
        if (outcome.ok) {
          verified.push({ bytes: records[start + j]!, sealed: outcome.sealed });
          for (const id of outcome.sealed.blockIds) announced.push(id);
          return;
        }
        if (!isSealsyncError(outcome.error)) throw outcome.error;
        rejected++;
        rejectCode ??= outcome.error.code;
      });
      const seqs: number[] = [];
      this.index.transaction(() => {
        for (const { bytes, sealed } of verified) {
          const r = this.index.putRemoteRecord(this.folder, {
            locator: sealed.locator,
            version: sealed.version,
            blockIds: sealed.blockIds,
            sealed: bytes,
          });
          if (r.stored) {
            stored++;
            if (r.seq !== null) seqs.push(r.seq);
            replaced += r.replaced;
            for (const id of sealed.blockIds) blockIds.add(blockIdToHex(id));
          } else {
            ignored++;
            if (r.outcome === 'dominated') dominated++;
          }
        }
      });
      // Only once committed (a rolled-back sequence number is handed out again),
      // and still synchronously, before anything else can read the new rows (the relay).
      for (const seq of seqs) {
        storedSeqs.push(seq);
        opts.onStored?.(seq);
      }
    };
    const keys = { folderId: this.keys.folderId, publicKey: this.keys.publicKey };
    try {
      await forEachCheckedChunk(records, { keys, open: false, checker: this.checker, ...(opts.signal ? { signal: opts.signal } : {}) }, store);
    } catch (err) {
      if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
      throw err;
    }
    return { stored, ignored, dominated, rejected, rejectCode, blockIds: [...blockIds], replaced, storedSeqs, announced };
  }

  /**
   * Every current record's locator, block ids and envelope "live file" flag
   * (read from the stored bytes, verified when they arrived), page by page
   * (bounded memory per page).
   */
  *walk(): Generator<{ locator: Uint8Array; blockIds: readonly Uint8Array[]; file: boolean }> {
    let since = 0;
    for (;;) {
      const page = this.index.recordsSince(this.folder, since, RECORD_SCAN_PAGE);
      for (const r of page) yield { locator: r.locator, blockIds: r.blockIds, file: sealedRecordIsFile(r.sealed) };
      const last = page[page.length - 1];
      if (last === undefined || page.length < RECORD_SCAN_PAGE) return;
      since = last.seq;
    }
  }

  /** Hex ids of every block that a current record references. */
  referencedBlocks(): Set<string> {
    const out = new Set<string>();
    for (const r of this.walk()) for (const id of r.blockIds) out.add(blockIdToHex(id));
    return out;
  }

  /** Highest local sequence of this folder (what peers ask deltas against). */
  get seq(): number {
    return this.index.folderSeq(this.folder);
  }
}
