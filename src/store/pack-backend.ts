/**
 * Where the block store keeps its packs: the one seam between the store's
 * logic (group commit, areas, compaction, verification: block-store.ts and
 * pack-commit.ts) and the bytes' home. Local pack files implement it today
 * (pack-files.ts); an object-storage backend implements the same methods
 * later without the engine or the store's logic changing.
 *
 * A pack is a numbered sequence of sealed blocks appended back to back,
 * nothing else: which bytes are a block is only in the store's index
 * (src/index/block-store-db.ts), kept apart from the backend. Packs are
 * written by one appender at a time and never rewritten in place; they are
 * read by range, cut to a length, listed and deleted.
 */

/** Appends to one pack. */
export interface PackAppender {
  /** Writes all of `data` at `position` (appends never overlap: the store reserves ranges). */
  writeAt(data: Uint8Array, position: number): Promise<void>;
  /** Makes every byte written so far durable. */
  sync(): Promise<void>;
  /** No more appends; called once. */
  close(): void;
}

export interface PackBackend {
  /** Creates pack `n`, which must not exist (numbers are never reused within an open). */
  create(n: number): PackAppender;
  /** Appends go on to existing pack `n` (the newest one after a restart). */
  openForAppend(n: number): PackAppender;
  /** Makes the existence of the packs created so far durable (a directory fsync for files). */
  syncCreated(): Promise<void>;
  /**
   * Reads `into.length` bytes of pack `n` at `position` into `into`; a pack
   * shorter than that gives fewer bytes (the returned view is shorter).
   */
  read(n: number, position: number, into: Uint8Array): Promise<Uint8Array>;
  /** The numbers of every pack held. */
  list(): Promise<number[]>;
  /** Cuts pack `n` to `length` bytes; true when it was longer. */
  truncate(n: number, length: number): Promise<boolean>;
  /** Deletes pack `n` (nothing when it is gone). */
  remove(n: number): Promise<void>;
  /** Where pack `n` is, for diagnostics and tests (a file path for local packs). */
  locationOf(n: number): string;
  /** Lets go of what the backend holds open. */
  close(): void;
}
