/**
 * The pack files of the block store (<root>/packs/<n>.pack): sealed blocks
 * appended back to back, nothing else (no names, no lengths, no plaintext).
 * Which bytes of a pack are a block is only in the store's database
 * (src/index/block-store-db.ts); this module knows files, offsets and
 * descriptors, and nothing of rows or batches (block-store.ts decides what is
 * written and committed when).
 *
 * - `create` makes a new pack 0600 (O_EXCL: a number is never reused within
 *   an open); `openForAppend` reopens the newest one after a restart.
 * - `writeAt` / `read` are positional, blocking for small blocks (see
 *   STORE_SYNC_WRITE_MAX_BYTES, SYNC_READ_MAX_BYTES) and in the thread pool
 *   for large ones.
 * - `cutToCommitted` runs at open: each pack is truncated to its committed
 *   length (the largest offset + length of its rows) and packs without rows
 *   are deleted, so an uncommitted tail never outlives a restart.
 * - Read descriptors are cached per pack, least recently used closed first.
 */
import {
  closeSync, constants as fsConstants, fstatSync, ftruncateSync, openSync, read, readSync, write, writeSync,
} from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readdirOrEmpty } from '../fs/safe-fs.js';

/** Directory and file modes: the store is the replica's private data. */
export const STORE_DIR_MODE = 0o700;
export const STORE_FILE_MODE = 0o600;
/** Directory of the pack files under the store root. */
export const PACKS_DIR = 'packs';
/**
 * Blocks up to this size are read with blocking calls: these run once per
 * block served, and each async fs call costs a thread-pool round trip
 * (measured ~30 µs of event-loop CPU on a 2-core VM against ~2 µs for the
 * blocking call), which made the encrypted peer CPU-bound in the sync
 * benchmark. Larger blocks are read asynchronously.
 */
export const SYNC_READ_MAX_BYTES = 1024 * 1024;
/**
 * Blocks up to this size are appended with a blocking write (into the page
 * cache): the same thread-pool round-trip cost as above. Dirty data stays
 * small because every batch is fdatasynced within milliseconds. Larger blocks
 * (up to MAX_SEALED_BLOCK_BYTES) are written asynchronously so one never
 * holds up the event loop for long.
 */
export const STORE_SYNC_WRITE_MAX_BYTES = 1024 * 1024;
/**
 * Packs kept open for reading, least recently used closed first: a replica
 * serves mostly recent blocks, and 32 descriptors are far below any limit.
 */
export const MAX_OPEN_READ_PACKS = 32;

const PACK_RE = /^([0-9]{1,9})\.pack$/;
const NEW_PACK_FLAGS = fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL;
const writeFd = promisify(write);
const readFd = promisify(read);

/** Whether a packs directory holds any pack. */
export async function containsPacks(dir: string): Promise<boolean> {
  return (await readdirOrEmpty(dir)).some((name) => PACK_RE.test(name));
}

export class PackFiles {
  readonly dir: string;
  /** Read descriptors by pack, least recently used first. */
  private readonly readFds = new Map<number, number>();

  constructor(root: string) {
    this.dir = join(root, PACKS_DIR);
  }

  path(n: number): string {
    return join(this.dir, `${n}.pack`);
  }

  /** Creates pack `n` (which must not exist), 0600; returns a read-write descriptor. */
  create(n: number): number {
    return openSync(this.path(n), NEW_PACK_FLAGS, STORE_FILE_MODE);
  }

  /** A read-write descriptor of an existing pack (appends go on at its committed end). */
  openForAppend(n: number): number {
    return openSync(this.path(n), fsConstants.O_RDWR);
  }

  /**
   * Truncates every pack to `committedEnd(n)` and deletes those whose
   * committed end is 0 (no row points into them). Returns the packs left,
   * the highest pack number seen (0 when none) and how many files it cut or
   * deleted.
   */
  async cutToCommitted(committedEnd: (n: number) => number): Promise<{ kept: Set<number>; highest: number; cleaned: number }> {
    const kept = new Set<number>();
    let highest = 0;
    let cleaned = 0;
    for (const name of await readdirOrEmpty(this.dir)) {
      const m = PACK_RE.exec(name);
      if (m === null) continue;
      const n = Number(m[1]);
      highest = Math.max(highest, n);
      const file = join(this.dir, name);
      const end = committedEnd(n);
      if (end === 0) {
        await rm(file, { force: true });
        cleaned++;
        continue;
      }
      kept.add(n);
      const fd = openSync(file, fsConstants.O_RDWR);
      try {
        if (fstatSync(fd).size > end) {
          ftruncateSync(fd, end);
          cleaned++;
        }
      } finally {
        closeSync(fd);
      }
    }
    return { kept, highest, cleaned };
  }

  /** Writes all of `data` at `position` of the pack open as `fd`. */
  async writeAt(fd: number, data: Uint8Array, position: number): Promise<void> {
    let off = 0;
    while (off < data.byteLength) {
      const n = data.byteLength <= STORE_SYNC_WRITE_MAX_BYTES
        ? writeSync(fd, data, off, data.byteLength - off, position + off)
        : (await writeFd(fd, data, off, data.byteLength - off, position + off)).bytesWritten;
      off += n;
    }
  }

  /**
   * Reads `into.length` bytes of pack `n` at `position` into `into`; a pack
   * shorter than that gives fewer bytes (the returned view is shorter).
   */
  async read(n: number, position: number, into: Uint8Array): Promise<Uint8Array> {
    const length = into.length;
    if (length <= SYNC_READ_MAX_BYTES) {
      const fd = this.readFdOf(n);
      let off = 0;
      while (off < length) {
        const got = readSync(fd, into, off, length - off, position + off);
        if (got === 0) return into.subarray(0, off);
        off += got;
      }
      return into;
    }
    // A read that awaits gets a descriptor of its own: a cached one may be closed
    // meanwhile (LRU, compaction) and its number reused for another file.
    const fd = openSync(this.path(n), fsConstants.O_RDONLY);
    try {
      let off = 0;
      while (off < length) {
        const { bytesRead } = await readFd(fd, into, off, length - off, position + off);
        if (bytesRead === 0) return into.subarray(0, off);
        off += bytesRead;
      }
      return into;
    } finally {
      closeSync(fd);
    }
  }

  private readFdOf(pack: number): number {
    const cached = this.readFds.get(pack);
    if (cached !== undefined) {
      this.readFds.delete(pack);
      this.readFds.set(pack, cached);
      return cached;
    }
    const fd = openSync(this.path(pack), fsConstants.O_RDONLY);
    this.readFds.set(pack, fd);
    if (this.readFds.size > MAX_OPEN_READ_PACKS) {
      const [oldest, oldFd] = this.readFds.entries().next().value as [number, number];
      this.readFds.delete(oldest);
      closeSync(oldFd);
    }
    return fd;
  }

  /** Deletes a pack (closing its cached read descriptor first). */
  async remove(n: number): Promise<void> {
    const fd = this.readFds.get(n);
    if (fd !== undefined) {
      this.readFds.delete(n);
      closeSync(fd);
    }
    await rm(this.path(n), { force: true });
  }

  /** Closes the cached read descriptors. */
  close(): void {
    for (const fd of this.readFds.values()) closeSync(fd);
    this.readFds.clear();
  }
}
