/**
 * The daemon's public data shapes: what status, folder, peer, settings and
 * event calls return. Declared here (daemon layer) so the daemon can use them
 * without importing upward; src/api/daemon-api.ts re-exports them with the
 * DaemonApi interface the routes call.
 *
 * Nothing here ever carries a folder key or the dashboard password hash.
 */
import type { FolderStatus, FolderType } from '../engine/peer/folder-status.js';

export type { FolderStatus };
import type { GcReport } from '../engine/replica/replica-gc.js';
import type { ArchivePruned } from '../engine/sync/archive-keeper.js';
import type { VerifyReport } from '../engine/replica/replica-verify.js';

/** `folder gc` on an encrypted folder: counts and bytes only. */
export type FolderGcReport = GcReport;
/** `folder verify` on an encrypted folder: counts and block ids (hashes of ciphertext) only. */
export type FolderVerifyReport = VerifyReport;
import type { SealsyncErrorJSON } from '../errors.js';
import type { PeerStatus } from '../engine/peer/status-schema.js';

export type { DeviceInfo, PeerProblem, PeerProblemReason, PeerStatus, StatusReport } from '../engine/peer/status-schema.js';
export { STATUS_SCHEMA_VERSION } from '../engine/peer/status-schema.js';

/** A folder as configured (never its key). */
export interface FolderInfo {
  readonly path: string;
  readonly type: FolderType;
  readonly folderId: string;
  readonly rescanIntervalS: number;
  readonly watch: boolean;
  /** Paused with `folder pause` (its engine does not run). */
  readonly paused?: boolean;
  /** The folder's archive retention (rw/ro: replaced versions). */
  readonly retention?: FolderRetention;
}

export interface AddFolderRequest {
  /** Absolute path (or relative to the daemon's working directory; the CLI sends absolute). */
  readonly path: string;
  /** Key text (W…, R… or E…). */
  readonly key: string;
  readonly rescanIntervalS?: number;
  readonly watch?: boolean;
}

export type ShareType = FolderType;

/** Settings as the API exposes them: no password hash, no folder keys. */
export interface Settings {
  readonly device: { readonly name: string };
  readonly listen: string;
  readonly discovery: boolean;
  readonly webui: {
    readonly enabled: boolean;
    readonly listen: string;
    readonly https: boolean;
    /** Whether a password is set (the hash itself never leaves the daemon). */
    readonly passwordSet: boolean;
  };
  readonly archive: { readonly retentionDays: number };
  readonly bandwidth: { readonly maxSendKBps: number; readonly maxRecvKBps: number };
  /** The Prometheus endpoint; whether a token is set (the token itself is read with `sealsync config get`). */
  readonly metrics?: { readonly enabled: boolean; readonly listen: string; readonly tokenSet: boolean };
  /**
   * Saved settings the running daemon does not use yet: they apply on the next
   * start (dotted names: 'listen', 'discovery', 'webui.enabled', 'webui.listen',
   * 'webui.https', 'metrics.enabled', 'metrics.listen', 'metrics.token'). Device name, bandwidth and archive retention apply at once.
   */
  readonly restartRequired?: readonly string[];
}

/** What PATCH /api/settings accepts. Everything optional; validated by the daemon. */
export interface SettingsPatch {
  readonly device?: { readonly name?: string };
  readonly listen?: string;
  readonly discovery?: boolean;
  readonly webui?: { readonly enabled?: boolean; readonly listen?: string; readonly https?: boolean };
  readonly archive?: { readonly retentionDays?: number };
  readonly bandwidth?: { readonly maxSendKBps?: number; readonly maxRecvKBps?: number };
  readonly metrics?: { readonly enabled?: boolean; readonly listen?: string; readonly token?: string | null };
}

/** Events on the daemon's bus, in the order they happened. `seq` increases by one per event. */
export type DaemonEventBody =
  | { readonly type: 'folder-status'; readonly folder: FolderStatus }
  | { readonly type: 'folder-changed'; readonly path: string; readonly change: 'added' | 'removed' | 'paused' | 'resumed' }
  | { readonly type: 'peer-connected'; readonly peer: PeerStatus }
  | { readonly type: 'peer-disconnected'; readonly peer: PeerStatus }
  | { readonly type: 'error'; readonly error: SealsyncErrorJSON; readonly folder?: string }
  | {
      readonly type: 'file-changed';
      readonly folder: string;
      readonly file: string;
      readonly action: 'added' | 'modified' | 'deleted';
      /** 'local': found by this device's scanner; 'peer': the puller applied a peer's change. */
      readonly source: FileChangeSource;
    }
  | ({ readonly type: 'conflict'; readonly folder: string } & FolderConflict)
  | ({ readonly type: 'archive-pruned'; readonly folder: string } & ArchivePruned);

/**
 * archive-pruned: old versions removed from a full folder's archive, oldest
 * first, because it was over its size bound ('size-bound') or the disk was
 * short of space ('disk-space'): `removed` copies up to version `newestRemoved`.
 */
export type { ArchivePruned };

/** Who made a file change: this device (scanner) or a peer (applied by the puller). */
export type FileChangeSource = 'local' | 'peer';

/**
 * A conflict resolved on this device: `file` (folder-relative) got the winning
 * version; the losing one was kept at `conflictFile`. Paths are plain data:
 * show them as text.
 */
export interface FolderConflict {
  readonly file: string;
  readonly conflictFile: string;
  /** The losing version was this device's own edit. */
  readonly thisDevice: boolean;
  /** Vector id (16 hex) of the losing version's last writer; its first 7 characters are in the copy's name. */
  readonly writer: string;
  /** Device id that wrote the losing content (from its sealed record), null when unknown. */
  readonly writerDevice?: string | null;
  /** That device, named (set by the daemon on the event). */
  readonly device?: DeviceRef | null;
}

export type DaemonEvent = DaemonEventBody & { readonly seq: number; readonly time: number };
export type DaemonEventType = DaemonEventBody['type'];

export type EventListener = (event: DaemonEvent) => void;

export interface EventSource {
  /** Returns the unsubscribe function. Listeners must not throw (errors are swallowed). */
  subscribe(listener: EventListener): () => void;
  /** The most recent events (bounded ring), oldest first. */
  recent(): readonly DaemonEvent[];
}

export interface OpOptions {
  readonly signal?: AbortSignal;
}

/** A device as the versions and conflicts views name it. */
export interface DeviceRef {
  readonly id: string;
  /** Its name as last announced; null when this device has never met it. */
  readonly name: string | null;
  readonly thisDevice: boolean;
}

/** One archived version of a file (`folder versions`). */
export interface FileVersionInfo {
  /** Version id: `YYYYMMDD-HHMMSS`, with `-n` when several were archived in one second. */
  readonly version: string;
  readonly archivedAt: number;
  readonly size: number;
  readonly mtimeMs: number;
  /** The device whose change replaced this content; null when unknown. */
  readonly replacedBy: DeviceRef | null;
}

export interface FileVersionsInfo {
  readonly path: string;
  /** No file is at the path now (deleted, or its directory is). */
  readonly deleted: boolean;
  readonly versions: readonly FileVersionInfo[];
}

export interface ConflictSideInfo {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly device: DeviceRef | null;
}

/** A conflict copy and the version it lost to (`folder conflicts`). */
export interface ConflictInfo {
  readonly file: string;
  readonly original: ConflictSideInfo | null;
  readonly copy: ConflictSideInfo;
}

/** Archive retention of one folder: its own setting, or null to follow `archive.retentionDays`. */
export interface FolderRetention {
  readonly retentionDays: number | null;
  /** Size bound of the folder's archive in MiB; 0 = the default, a tenth of the folder's disk. */
  readonly maxMiB: number;
}

/** One event of the persistent log (`sealsync events`). */
export type LoggedDaemonEvent = DaemonEvent;
