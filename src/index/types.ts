/** Public types of the index (src/index). Byte values are Uint8Array; folder ids hex text. */
import type { FileKind, FileRecord, VersionVector } from '../model/types.js';

export type IndexFolderType = 'rw' | 'ro' | 'encrypted';

export interface FolderRow {
  readonly rowId: number;
  readonly path: string;
  /** Lowercase hex of the 32-byte folder id. */
  readonly folderId: string;
  readonly type: IndexFolderType;
  /** Highest local sequence handed out for this folder. */
  readonly seq: number;
}

/** Plaintext facts a full peer learned by opening a sealed record; absent on E peers. */
export interface RecordPlain {
  readonly kind: FileKind;
  readonly size: number;
  readonly mtimeMs: number;
  readonly deleted: boolean;
}

/** A sealed record to store. `sealed` is the opaque encoded SealedRecord. */
export interface RecordInput {
  readonly locator: Uint8Array;
  readonly version: VersionVector;
  readonly blockIds: readonly Uint8Array[];
  readonly sealed: Uint8Array;
  readonly plain?: RecordPlain;
}

export interface StoredRecord extends RecordInput {
  /** This device's local sequence for the folder when the record was stored. */
  readonly seq: number;
}

/** `completed`: the same version as a held row that withheld its block ids, now with them (the row was replaced). */
export type PutRecordOutcome = 'stored' | 'completed' | 'equal' | 'dominated' | 'too-many-versions';

export interface PutRecordResult {
  readonly outcome: PutRecordOutcome;
  readonly stored: boolean;
  /** Sequence given to the new row, or null when not stored. */
  readonly seq: number | null;
  /** Rows removed because the new record dominates them. */
  readonly replaced: number;
}

/** What the rescan shortcut needs per path, loaded once per scan for the whole folder. */
export interface FileStat {
  /** The row's id: unique, kept for the row's life (an upsert keeps it); see lastFileRowId. */
  readonly rowid: number;
  readonly path: string;
  readonly kind: FileKind;
  readonly size: number;
  /** Permission bits as recorded (0o000 – 0o777). */
  readonly mode: number;
  readonly diskMtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  readonly deleted: boolean;
  readonly localChange: boolean;
  /** A file whose row has no block ids (its record withholds them): a sealing scan hashes it again. */
  readonly idsWithheld?: boolean;
}

/** A full peer's row for one path on disk. */
export interface LocalFile {
  readonly record: FileRecord;
  /** Stat mtime as read from disk (may have sub-millisecond precision). */
  readonly diskMtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  /** Sequence of the sealed record written with it, 0 for unsealed local changes. */
  readonly seq: number;
  /** Read-only folders: this path differs from the global state. */
  readonly localChange: boolean;
}

export interface LocalFileInput {
  readonly record: FileRecord;
  readonly diskMtimeMs: number;
  readonly ino: number;
  readonly dev: number;
  readonly localChange?: boolean;
}

export interface BlockLocation {
  readonly folderRowId: number;
  readonly path: string;
  readonly offset: number;
  readonly size: number;
  readonly hash: Uint8Array;
  /** Null while the file's record withholds its block ids. */
  readonly id: Uint8Array | null;
}

/** Where a plaintext block can be read in one folder, with what the scan last saw of that file (served only from it). */
export interface ServableBlock {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
  readonly file: { readonly size: number; readonly diskMtimeMs: number; readonly ino: number; readonly dev: number };
}

export interface PeerState {
  readonly indexId: string;
  readonly maxSeq: number;
}

export interface GlobalStats {
  /** Distinct paths (locators) with at least one record. */
  readonly records: number;
  /** Regular, not deleted files by the winner rule (full peers only). */
  readonly files: number;
  readonly bytes: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly deleted: number;
  /** Locators whose winning row has no plaintext columns (E peers). */
  readonly unknown: number;
}

export interface LocalStats {
  readonly files: number;
  readonly bytes: number;
  readonly dirs: number;
  readonly symlinks: number;
  readonly deleted: number;
  readonly localChanges: number;
}
