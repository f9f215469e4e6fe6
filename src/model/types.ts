/**
 * Core data types shared by every layer. Pure declarations: no I/O.
 *
 * A FileRecord is what one path looks like at one version (DESIGN.md, data
 * model). It is what full peers keep in their index; the sealed form
 * (src/crypto sealed records) is what travels and what encrypted peers store.
 */

export type FileKind = 'file' | 'dir' | 'symlink';

/** One content-defined chunk of a file. Offsets are the running sum of sizes. */
export interface BlockRef {
  /**
   * Hash of the sealed (encrypted) block: what encrypted peers request and
   * store. 32 bytes, or null while the record withholds its block ids (a
   * folder with no encrypted peer yet: docs/crypto.md §4.4); full peers ask
   * each other for blocks by `hash`.
   */
  readonly id: Uint8Array | null;
  /** Digest of the plaintext chunk; with the content key it derives the block key. 32 bytes. */
  readonly hash: Uint8Array;
  /** Plaintext size in bytes. */
  readonly size: number;
}

/**
 * One entry of a version vector: a logical counter keyed by a vector id.
 * Vector ids are 16 lowercase hex characters (64 random bits), chosen per
 * database, so a reset database can never pose as an ancestor of newer data.
 * Counters are logical (1, 2, 3 …), never wall-clock time.
 */
export interface Counter {
  readonly id: string;
  readonly value: number;
}

/** Sorted by id, no duplicate ids, no zero values. */
export type VersionVector = readonly Counter[];

export interface FileRecord {
  /** NFC, '/'-separated, relative to the folder root, no '.', '..' or empty segments. */
  readonly path: string;
  readonly kind: FileKind;
  /** Bytes (0 for directories; target length for symlinks is not counted). */
  readonly size: number;
  /** Modification time in whole milliseconds since the epoch. Sealed: only full peers see it. */
  readonly mtimeMs: number;
  /** Permission bits (0o000 – 0o777). */
  readonly mode: number;
  readonly blocks: readonly BlockRef[];
  /** Only for kind 'symlink'. Stored verbatim, never followed. */
  readonly symlinkTarget?: string;
  readonly version: VersionVector;
  readonly deleted: boolean;
  /**
   * The device id (text form) of the device that wrote this content, sealed
   * inside the record body. A conflict copy keeps its loser's writer; a
   * resolved or restored version keeps the writer of the content it carries.
   * Absent in records written without it (tests, tools).
   */
  readonly writer?: string;
}

/** Ordering of two version vectors. */
export type VectorOrder = 'equal' | 'greater' | 'lesser' | 'concurrent';
