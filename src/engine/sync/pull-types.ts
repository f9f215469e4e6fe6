/** The puller's dependencies and its unit of work (shared by puller.ts and conflict-apply.ts). */
import type { FolderKeys } from '../../crypto/index.js';
import type { Index, LocalFile } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { NeedAction } from '../../model/needs.js';
import type { BlockRef, FileRecord } from '../../model/types.js';
import type { ParkedPath } from '../peer/status-schema.js';

export type AppliedAction = 'added' | 'modified' | 'deleted';
export type PullerState = 'idle' | 'syncing';

export interface PullerStatus {
  readonly state: PullerState;
  /** Paths still needed (parked ones included). */
  readonly needFiles: number;
  readonly needBytes: number;
  /** Paths waiting for a retry (the first MAX_PARKED_REPORTED) and their number. */
  readonly parked: readonly ParkedPath[];
  readonly parkedCount: number;
  /** Why the last run failed as a whole (cleared by a run that completes). */
  readonly error: string | null;
  /** Bytes of files applied since the folder last needed nothing, and the rate (bytes/s). */
  readonly doneBytes: number;
  readonly rate: number;
}

export const IDLE_PULLER_STATUS: PullerStatus = { state: 'idle', needFiles: 0, needBytes: 0, parked: [], parkedCount: 0, error: null, doneBytes: 0, rate: 0 };


export interface PullerDeps {
  readonly root: string;
  /** Index row id of the folder. */
  readonly folder: number;
  readonly type: 'rw' | 'ro';
  readonly keys: FolderKeys;
  readonly index: Index;
  /** Plaintext of a block (the block scheduler: local reuse, then peers). */
  readonly fetchBlock: (ref: BlockRef, opts: { signal?: AbortSignal }) => Promise<Uint8Array>;
  /** Plaintext digest (re-verifies resumed temp files). */
  readonly hashBlock: (data: Uint8Array) => Uint8Array;
  /** Rescan one path so a local edit becomes a local version (LocalFolder). */
  readonly localChanged?: (path: string, opts: { signal?: AbortSignal }) => Promise<void>;
  /** Paths this device ignores (its .sealignore): never written, never deleted here. */
  readonly isIgnored?: (path: string, isDir: boolean) => boolean;
  /**
   * Called right before the puller writes files rows: the scanner commits what
   * it has queued (LocalFolder.flush), so a stale scan result can never land
   * on top of a row the puller just wrote.
   */
  readonly beforeRecord?: () => void;
  /** Called after the puller stored new local records (conflict resolution), so they go out. */
  readonly onPublished?: () => void;
  /** Called whenever state or need counts change. */
  readonly onStatus?: (status: PullerStatus) => void;
  /**
   * Called after a path was made to match a peer's record on disk (the daemon's
   * file-changed events); `record` is what it now matches.
   */
  readonly onApplied?: (path: string, action: AppliedAction, record: FileRecord) => void;
  /**
   * Called after a losing concurrent version of `path` was kept at `copyPath`
   * (the daemon's conflict events); `writer` is the vector id of its last writer,
   * `kept` the version whose blocks the copy carries.
   */
  readonly onConflictCopy?: (path: string, copyPath: string, writer: string, writerDevice: string | null, kept: FileRecord) => void;
  /** Called after applying `record` moved what its path held to `archivePath` (the versions browser names `record.writer`). */
  readonly onArchived?: (archivePath: string, record: FileRecord) => void;
  /**
   * A write of `bytes` failed for space: free some (the archive's oldest
   * versions). True when trying again can succeed; the write is retried once.
   */
  readonly makeRoom?: (bytes: number) => Promise<boolean>;
  /** This device's id (text): the writer of a losing local edit kept as a conflict copy. */
  readonly deviceId?: string;
  /** Checked before every run: the folder root and its marker are there (folder-marker.ts); a throw stops the run. */
  readonly checkRoot?: () => Promise<void>;
  readonly now?: () => number;
  readonly logger?: Logger;
  /** First retry delay of a failed path (PULL_RETRY_MIN_MS); it doubles per failure up to PULL_RETRY_MAX_MS. */
  readonly retryMs?: number;
}

export interface PathWork {
  readonly locatorHex: string;
  readonly local: LocalFile | undefined;
  readonly winner: FileRecord;
  readonly versions: readonly FileRecord[];
  /** Concurrent live versions that lose to the winner (rw: kept as conflict copies). */
  readonly losers: readonly FileRecord[];
  readonly action: NeedAction;
}
