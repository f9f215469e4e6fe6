/**
 * The local pack files of the block store (<root>/packs/<n>.pack): the
 * PackBackend (pack-backend.ts) of a store on a local disk. Sealed blocks
 * appended back to back, nothing else (no names, no lengths, no plaintext).
 * Which bytes of a pack are a block is only in the store's database
 * (src/index/block-store-db.ts); this module knows files, offsets and
 * descriptors, and nothing of rows or batches (the store decides what is
 * written and committed when).
 *
 * - `create` makes a new pack 0600 (O_EXCL: a number is never reused within
 *   an open); `openForAppend` reopens the newest one after a restart.
 * - `writeAt` / `read` are positional, blocking for small blocks (see
 *   STORE_SYNC_WRITE_MAX_BYTES, and SYNC_READ_MAX_BYTES in fs/block-reader.ts:
 *   the same thread-pool cost as there) and in the thread pool
 *   for large ones; `sync` is an fdatasync.
 * - Read descriptors are cached per pack, least recently used closed first.
 */
import {
  closeSync, constants as fsConstants, fdatasync, fstatSync, ftruncateSync, openSync, read, readSync, write, writeSync,
} from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fsyncDir } from '../fs/atomic-apply.js';
import { SYNC_READ_MAX_BYTES } from '../fs/block-reader.js';
import { readdirOrEmpty } from '../fs/safe-fs.js';
import type { PackAppender, PackBackend } from './pack-backend.js';

/** Directory and file modes: the store is the replica's private data. */
export const STORE_DIR_MODE = 0o700;
export const STORE_FILE_MODE = 0o600;
/** Directory of the pack files under the store root. */
export const PACKS_DIR = 'packs';
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
const fdatasyncFd = promisify(fdatasync);

export interface PackFilesOptions {
  /** fdatasync of a pack; tests hold or fail it to check what a crash mid-batch leaves. */
  readonly syncFd?: (fd: number) => Promise<void>;
}

export class PackFiles implements PackBackend {
  readonly dir: string;
  private readonly syncFd: (fd: number) => Promise<void>;
  /** Read descriptors by pack, least recently used first. */
  private readonly readFds = new Map<number, number>();

  private constructor(root: string, opts: PackFilesOptions) {
    this.dir = join(root, PACKS_DIR);
    this.syncFd = opts.syncFd ?? fdatasyncFd;
  }

  /** The packs under `root` (the directory is created 0700 when missing). */
  static async open(root: string, opts: PackFilesOptions = {}): Promise<PackFiles> {
    const packs = new PackFiles(root, opts);
    await mkdir(packs.dir, { recursive: true, mode: STORE_DIR_MODE });
    return packs;
  }

  locationOf(n: number): string {
    return join(this.dir, `${n}.pack`);
  }

  create(n: number): PackAppender {
    return this.appender(openSync(this.locationOf(n), NEW_PACK_FLAGS, STORE_FILE_MODE));
  }

  openForAppend(n: number): PackAppender {
    return this.appender(openSync(this.locationOf(n), fsConstants.O_RDWR));
  }

  private appender(fd: number): PackAppender {
    return {
      writeAt: (data, position) => writeAllAt(fd, data, position),
      sync: () => this.syncFd(fd),
      close: () => closeSync(fd),
    };
  }

  syncCreated(): Promise<void> {
    return fsyncDir(this.dir);
  }

  async list(): Promise<number[]> {
    const found: number[] = [];
    for (const name of await readdirOrEmpty(this.dir)) {
      const m = PACK_RE.exec(name);
      if (m !== null) found.push(Number(m[1]));
    }
    return found;
  }

  async truncate(n: number, length: number): Promise<boolean> {
    const fd = openSync(this.locationOf(n), fsConstants.O_RDWR);
    try {
      if (fstatSync(fd).size <= length) return false;
      ftruncateSync(fd, length);
      return true;
    } finally {
      closeSync(fd);
    }
  }

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
    const fd = openSync(this.locationOf(n), fsConstants.O_RDONLY);
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
    const fd = openSync(this.locationOf(pack), fsConstants.O_RDONLY);
    this.readFds.set(pack, fd);
    if (this.readFds.size > MAX_OPEN_READ_PACKS) {
      const [oldest, oldFd] = this.readFds.entries().next().value as [number, number];
      this.readFds.delete(oldest);
      closeSync(oldFd);
    }
    return fd;
  }

  async remove(n: number): Promise<void> {
    const fd = this.readFds.get(n);
    if (fd !== undefined) {
      this.readFds.delete(n);
      closeSync(fd);
    }
    await rm(this.locationOf(n), { force: true });
  }

  close(): void {
    for (const fd of this.readFds.values()) closeSync(fd);
    this.readFds.clear();
  }
}

/** Writes all of `data` at `position` of the file open as `fd`. */
async function writeAllAt(fd: number, data: Uint8Array, position: number): Promise<void> {
  let off = 0;
  while (off < data.byteLength) {
    const n = data.byteLength <= STORE_SYNC_WRITE_MAX_BYTES
      ? writeSync(fd, data, off, data.byteLength - off, position + off)
      : (await writeFd(fd, data, off, data.byteLength - off, position + off)).bytesWritten;
    off += n;
  }
}
