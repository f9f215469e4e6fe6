/** What a folder reports in `status --json`, the REST API and the dashboard. */

export type FolderState = 'scanning' | 'idle' | 'syncing' | 'error';
export type FolderType = 'rw' | 'ro' | 'encrypted';

export interface ScanProgress {
  readonly files: number;
  readonly bytes: number;
  /** Bytes per second over the current scan. */
  readonly rate: number;
}

export interface FolderStatus {
  readonly path: string;
  readonly type: FolderType;
  /** Folder id text form (public). */
  readonly folderId: string;
  readonly state: FolderState;
  readonly localFiles: number;
  readonly localBytes: number;
  readonly globalFiles: number;
  readonly globalBytes: number;
  readonly needFiles: number;
  readonly needBytes: number;
  /** Plain-words description of the folder's error, or null. */
  readonly error: string | null;
  /** Present while a scan runs. */
  readonly scan?: ScanProgress;
  /** Paths (relative) that could not be read in the last scan, bounded in count. */
  readonly unreadable?: readonly string[];
  /** Read-only folders: paths whose local content differs from the global state. */
  readonly localChanges?: readonly string[];
}
