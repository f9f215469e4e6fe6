/**
 * What the daemon runs for each configured folder, chosen by key type. The
 * registry is pluggable (DaemonInit.engines): the host wires LocalFolder +
 * SyncFolder for rw/ro keys and ReplicaFolder for encrypted keys
 * (local-folder-runner.ts); a key type without an engine runs the
 * placeholder below, which reports zero counts.
 */
import type { FolderKeys } from '../crypto/keys.js';
import type { FolderStatus, FolderType } from '../engine/peer/folder-status.js';
import { NO_PEER_FACTS, settledStatus } from '../engine/peer/folder-truth.js';
import type { RoutedFolder } from '../engine/peer/folder-session-router.js';
import type { Index } from '../index/index.js';
import type { Logger } from '../logger.js';
import type { FolderHistory } from '../engine/sync/folder-history.js';
import type { FolderConfig } from './config-schema.js';
import type { ArchivePruned, FileChangeSource, FolderConflict, FolderGcReport, FolderVerifyReport } from './daemon-types.js';

export interface FolderRunner {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): FolderStatus;
  /** Called with every status change (for the event bus). */
  onStatus(listener: (status: FolderStatus) => void): void;
  /** Called with every file change the engine notices (bounded by the engine), local or applied for a peer. */
  onFileChanged?(listener: (file: string, action: 'added' | 'modified' | 'deleted', source: FileChangeSource) => void): void;
  /** Called when the engine kept a losing concurrent version as a conflict copy. */
  onConflict?(listener: (conflict: FolderConflict) => void): void;
  /** Full folders: old versions were removed from the archive for its size bound or for disk space. */
  onArchivePruned?(listener: (pruned: ArchivePruned) => void): void;
  /** Encrypted folders: drop unreferenced blocks past retention now (`folder gc`). */
  gc?(opts: { retentionDays?: number; signal?: AbortSignal }): Promise<FolderGcReport>;
  /** Encrypted folders: re-hash every stored block (`folder verify`). */
  verify?(opts: { signal?: AbortSignal }): Promise<FolderVerifyReport>;
  /** Applies a new archive retention (days; size bound in bytes, 0 = a tenth of the disk) without a restart. */
  setRetention?(days: number, maxBytes: number): void;
  /** Full (rw/ro) folders: archived versions and conflict copies (folder-history.ts). */
  readonly history?: FolderHistory;
  /** Full (rw/ro) folders: scan the whole folder now; resolves when that scan has finished (`folder rescan`). */
  rescan?(opts: { signal?: AbortSignal }): Promise<void>;
  /** Read-only folders: restore the global state over local edits (`folder revert`). */
  revert?(opts: { signal?: AbortSignal }): Promise<void>;
  /** Device ids of the peers joined to this folder now (access proven both ways). */
  joinedPeers?(): ReadonlySet<string>;
  /** The engine peers talk to (index exchange, block serving); absent: the folder is local only. */
  readonly routed?: RoutedFolder;
}

export interface FolderRunnerInit {
  readonly folder: FolderConfig;
  readonly keys: FolderKeys;
  readonly folderId: string;
  /** The daemon's index (open for the runner's whole life) and this folder's row in it. */
  readonly index: Index;
  readonly folderRowId: number;
  readonly logger: Logger;
  /** config archive.retentionDays or the folder's own (replaced versions, and unreferenced blocks on E peers). */
  readonly retentionDays: number;
  /** The folder's archive size bound in bytes (0 = the default: a tenth of the folder's disk). */
  readonly retentionMaxBytes: number;
  /** This device's id (text): sealed into the records it writes; rw folders sign their heads as this device. */
  readonly deviceId: string;
}

export type FolderRunnerFactory = (init: FolderRunnerInit) => FolderRunner | Promise<FolderRunner>;

export type FolderRunnerFactories = Partial<Record<FolderType, FolderRunnerFactory>>;

/** What a paused folder's status says (its state is 'unshared': nothing moves). */
export const PAUSED_NOTICE = 'paused: nothing is scanned, sent or received until it is resumed';

/** A folder with no engine yet: zero counts, and 'unshared' (no device can have it). */
export class IdleFolderRunner implements FolderRunner {
  constructor(private readonly init: FolderRunnerInit) {}
  async start(): Promise<void> { /* nothing to run */ }
  async stop(): Promise<void> { /* nothing to stop */ }
  onStatus(): void { /* never changes */ }
  status(): FolderStatus {
    return settledStatus({
      path: this.init.folder.path,
      type: this.init.keys.type,
      folderId: this.init.folderId,
      activity: 'idle',
      localFiles: 0, localBytes: 0, globalFiles: 0, globalBytes: 0, needFiles: 0, needBytes: 0,
      error: null,
      ...NO_PEER_FACTS,
    });
  }
}
