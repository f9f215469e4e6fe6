/**
 * Applying a remote record to disk, atomically.
 *
 * How this works:
 * - Files are written into a temp file in the SAME directory as the target,
 *   named deterministically from the target path and the record's version
 *   (tempNameFor), so an interrupted transfer is found again after a restart
 *   and its already-written blocks are reused (re-hashed, not trusted).
 * - Each block comes from the caller's fetchBlock (the block scheduler, which
 *   returns plaintext already verified by openBlock or read and re-hashed from
 *   local disk). Up to FILE_BLOCK_WINDOW blocks of one file are in flight.
 * - The temp file gets its mode (only the exec bit comes from the record, see
 *   model/file-mode.ts) and mtime, is fsynced, and then — right before
 *   the rename — the target is re-stat'ed and compared with what the index
 *   knows (`known`). If the local file changed meanwhile, nothing is
 *   overwritten: the result is 'conflict' and the caller keeps both (the temp
 *   file stays, so the retry costs no transfer).
 * - The old file is hard-linked into the archive, then the temp is renamed
 *   over the target and the directory fsynced. A crash at any point leaves the
 *   old file or the new one at the path, never a mix.
 * - Symlinks are created as links (at a temp name, renamed over): never
 *   written through. Deletes move files to the archive.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, constants as fsConstants, fchmodSync, fstatSync, fsync, ftruncateSync, futimesSync, mkdirSync, open as fsOpen, openSync, renameSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { chmod, lutimes, readlink, rename, rmdir, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { SealsyncError } from '../errors.js';
import { vectorKey } from '../model/version-vector.js';
import { localDirMode, localFileMode } from '../model/file-mode.js';
import type { BlockRef, FileKind, FileRecord, VersionVector } from '../model/types.js';
import { archiveFile } from './archive.js';
import { noteBlockBytes } from '../memory/young-gc.js';
import { releaseBlockBuffer } from '../memory/block-buffer-pool.js';
import { O_NOFOLLOW, lstatOrNull, mkdirParentsSafe, parentOf, resolveSafe } from './safe-fs.js';
import { BlockWriter, readAt } from './block-writer.js';
import { TEMP_PREFIX } from './temp-files.js';
import { bytesEqual } from '../crypto/bytes.js';

/** An interrupted transfer of at least this many bytes keeps its temp file for resuming. */
export const RESUME_MIN_BYTES = 1024 * 1024;
/** Blocks of one file fetched concurrently (the scheduler spreads them over peers). */
export const FILE_BLOCK_WINDOW = 32;
/** Mode of a temp file while it is written (the record's mode is set before rename). */
const TEMP_MODE = 0o600;
/** Added to a record's mtime before utimes (see utimesSeconds): above a double's resolution near the epoch (~0.24 µs), far below 1 ms. */
const MTIME_NUDGE_MS = 0.0005;

/** What the index believes is on disk at a path right now. */
export interface KnownLocal {
  readonly kind: FileKind | 'missing';
  /** Files: size and mtime, as last scanned. */
  readonly size?: number;
  readonly mtimeMs?: number;
  /** Symlinks: the target as last scanned. */
  readonly symlinkTarget?: string;
}

export const KNOWN_MISSING: KnownLocal = { kind: 'missing' };

export type BlockFetcher = (ref: BlockRef, index: number, opts: { signal?: AbortSignal }) => Promise<Uint8Array>;

export interface ApplyOptions {
  /** What the index knows about the target; a different disk state is a conflict. */
  readonly known: KnownLocal;
  /** Plaintext of a block (verified by the caller). Files only. */
  readonly fetchBlock?: BlockFetcher;
  /** Plaintext digest, to re-verify blocks found in a resumed temp file. */
  readonly hashBlock?: (data: Uint8Array) => Uint8Array;
  /** Archive the replaced/deleted file (default true). */
  readonly archive?: boolean;
  /** Clock for archive names. */
  readonly now?: () => Date;
  readonly signal?: AbortSignal;
  /**
   * Called once for every block fetchBlock returned, after it was written (or
   * refused): the caller may then release memory it accounted for the block.
   */
  readonly onBlockWritten?: (ref: BlockRef) => void;
  /** Called with plaintext bytes as they are written (fetched or reused). */
  readonly onBytes?: (n: number) => void;
  /**
   * Makes a rename in `dir` durable. Default: fsync the directory now. A
   * caller applying many files may collect the directories and fsync each
   * once, before it records the new state anywhere.
   */
  readonly syncDir?: (dir: string) => Promise<void> | void;
  /** This device's umask, which masks every mode applied (default: the process's). */
  readonly umask?: number;
}

export type ApplyResult =
  | {
      readonly status: 'applied';
      readonly reusedBytes: number;
      readonly archived: string | null;
      /** Stat of the entry now at the path (files: taken before the rename; same inode and mtime). */
      readonly stat?: Stats;
    }
  | { readonly status: 'conflict'; readonly reason: string };

/**
 * A record's whole-millisecond mtime as the seconds utimes(2) takes. Node
 * passes seconds as a double, which near today's epoch resolves ~0.24 µs, so
 * `new Date(ms)` landed just below the millisecond for about half the values
 * (…987.99992 for …988): the file then read back one millisecond early. Half a
 * microsecond up keeps floor(mtimeMs) equal to the record's.
 *
 * Before 1970 the seconds go as a numeric string: Node's utimes replaces a
 * negative number by "now" (a file from 1938 arrived dated today), while a
 * numeric string is passed through as it is.
 */
export function utimesSeconds(mtimeMs: number): number | string {
  const seconds = (mtimeMs + MTIME_NUDGE_MS) / 1000;
  return seconds < 0 ? String(seconds) : seconds;
}
/** Deterministic temp name for (path, version): a restart finds the same file. */
export function tempNameFor(path: string, version: VersionVector): string {
  const h = createHash('sha256').update(path).update('\0').update(vectorKey(version)).digest('hex');
  return `${TEMP_PREFIX}${h.slice(0, 24)}`;
}

/** The temp file of `record` whose target is `abs`: beside it, under tempNameFor. */
export function tempPathFor(abs: string, record: Pick<FileRecord, 'path' | 'version'>): string {
  return join(dirname(abs), tempNameFor(record.path, record.version));
}

/** True if the on-disk state still matches what the index knows. */
export function matchesKnown(st: Stats | null, known: KnownLocal, linkTarget?: string): boolean {
  if (st === null) return known.kind === 'missing';
  switch (known.kind) {
    case 'missing':
      return false;
    case 'dir':
      return st.isDirectory();
    case 'symlink':
      return st.isSymbolicLink() && (known.symlinkTarget === undefined || linkTarget === known.symlinkTarget);
    case 'file':
      return (
        st.isFile() &&
        (known.size === undefined || st.size === known.size) &&
        (known.mtimeMs === undefined || Math.floor(st.mtimeMs) === Math.floor(known.mtimeMs))
      );
  }
}

async function stillAsKnown(abs: string, known: KnownLocal): Promise<boolean> {
  return matchesKnownAt(abs, await lstatOrNull(abs), known);
}

async function matchesKnownAt(abs: string, st: Stats | null, known: KnownLocal): Promise<boolean> {
  const target = st?.isSymbolicLink() && known.kind === 'symlink' ? await readlink(abs).catch(() => undefined) : undefined;
  return matchesKnown(st, known, target);
}

/**
 * Opens the deterministic temp file: created exclusively (never through a
 * link), or, when a previous transfer left it, reopened for resuming.
 * Returns a raw descriptor the caller closes. The open stays async: creating
 * an inode took ~150 µs of kernel time per file under load, measured as a
 * blocking call in bench (b), against ~30 µs of event-loop CPU async.
 */
async function openTemp(tmpAbs: string, path: string): Promise<{ fd: number; resumed: boolean }> {
  try {
    return { fd: await openFd(tmpAbs, fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW, TEMP_MODE), resumed: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  let fd: number;
  try {
    fd = await openFd(tmpAbs, fsConstants.O_RDWR | O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'EISDIR') throw new SealsyncError('ERR_PATH_UNSAFE', 'temp file name is taken by a non-file', { path });
    throw err;
  }
  if (!fstatSync(fd).isFile()) {
    closeSync(fd);
    throw new SealsyncError('ERR_PATH_UNSAFE', 'temp file name is taken by a non-file', { path });
  }
  return { fd, resumed: true };
}

const openFd = promisify(fsOpen);
const fsyncFd = promisify(fsync);

function aborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new SealsyncError('ERR_ABORTED', undefined, undefined, { cause: signal.reason });
}

/**
 * fsync a directory so a rename in it is durable (best effort where unsupported).
 * Opening and closing a directory are blocking calls (no I/O: a few µs each);
 * only the fsync goes to the thread pool, one round trip instead of three
 * (the encrypted peer's store syncs about one directory per block it stores).
 */
export async function fsyncDir(dir: string): Promise<void> {
  let fd: number | undefined;
  try {
    fd = openSync(dir, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
    await fsyncFd(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT: the directory itself was removed since (a batched delete of its
    // last entry, then of the directory): nothing is left to make durable.
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOENT') throw err;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Applies any record: file, directory, symlink, or a tombstone. A directory
 * synced read-only (e.g. mode 0o555) must still receive its entries: when
 * the parent is ours and lacks owner write/search permission, it is opened up
 * for the one operation and its mode restored afterwards.
 */
export async function applyRecord(root: string, record: FileRecord, opts: ApplyOptions): Promise<ApplyResult> {
  try {
    return await applyOne(root, record, opts);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM') throw err;
    const parentRel = parentOf(record.path);
    const parentAbs = parentRel === '' ? root : await resolveSafe(root, parentRel);
    const st = await lstatOrNull(parentAbs);
    const mine = st !== null && st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid());
    if (!mine || (st.mode & OWNER_WX) === OWNER_WX) throw err;
    await chmod(parentAbs, (st.mode & 0o7777) | OWNER_WX);
    try {
      return await applyOne(root, record, opts);
    } finally {
      await chmod(parentAbs, st.mode & 0o7777).catch(() => undefined);
    }
  }
}

/** Owner write + search: what creating, renaming or removing an entry in a directory needs. */
const OWNER_WX = 0o300;

function applyOne(root: string, record: FileRecord, opts: ApplyOptions): Promise<ApplyResult> {
  if (record.deleted) return applyDelete(root, record, opts);
  switch (record.kind) {
    case 'file':
      return applyFile(root, record, opts);
    case 'dir':
      return applyDirectory(root, record, opts);
    case 'symlink':
      return applySymlink(root, record, opts);
  }
}

/**
 * Makes room at `abs` for a new entry: archives a regular file (hard link, so
 * the path is never empty before the rename), removes an empty directory.
 * Returns the archive path, or a conflict reason.
 */
async function prepareReplace(
  root: string,
  rel: string,
  abs: string,
  newKind: FileKind,
  opts: ApplyOptions,
  /** The target's lstat if the caller has just taken it. */
  current?: Stats | null,
): Promise<{ archived: string | null } | { conflict: string }> {
  const st = current !== undefined ? current : await lstatOrNull(abs);
  if (st === null) return { archived: null };
  if (st.isDirectory()) {
    if (newKind === 'dir') return { archived: null };
    try {
      await rmdir(abs);
    } catch {
      return { conflict: 'a non-empty directory is in the way' };
    }
    return { archived: null };
  }
  if (st.isFile() && opts.archive !== false) {
    const now = opts.now?.() ?? new Date();
    // Directories replace files by rename too, so the old file must leave the path.
    const archived = await archiveFile(root, rel, now, { keepOriginal: newKind !== 'dir' });
    return { archived };
  }
  if (newKind === 'dir') await unlink(abs);
  return { archived: null };
}

/** Writes a file record from its blocks; see the module header. */
export async function applyFile(root: string, record: FileRecord, opts: ApplyOptions): Promise<ApplyResult> {
  const { signal } = opts;
  aborted(signal);
  if (record.kind !== 'file' || record.deleted) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'not a live file record');
  const total = record.blocks.reduce((n, b) => n + b.size, 0);
  if (total !== record.size) throw new SealsyncError('ERR_FORMAT_TRUNCATED', 'block sizes do not add up to the file size', { path: record.path });
  const { abs } = await mkdirParentsSafe(root, record.path);
  // Replacing something: if it already differs from what the index knows, do
  // not spend a transfer on it. (Something new at a missing path is caught by
  // the check before the rename.)
  if (opts.known.kind !== 'missing' && !(await stillAsKnown(abs, opts.known))) return { status: 'conflict', reason: 'local file changed' };

  const tmpAbs = tempPathFor(abs, record);
  // The temp file is closed and renamed with blocking calls (microseconds of
  // kernel time, while the async forms cost the event loop a thread-pool round
  // trip apiece, ~20-30 µs of CPU on a 2-core VM); creating it and fsync,
  // which take real kernel or disk time, stay async.
  const { fd, resumed } = await openTemp(tmpAbs, record.path);
  let keepTemp = false;
  let finalStat: Stats | undefined;
  let reusedBytes = 0;
  let written = 0;
  try {
    // Offsets of each block, and which ones a resumed temp file already holds.
    const offsets: number[] = [];
    let off = 0;
    for (const b of record.blocks) {
      offsets.push(off);
      off += b.size;
    }
    const todo: number[] = [];
    if (resumed && opts.hashBlock) {
      for (let i = 0; i < record.blocks.length; i++) {
        aborted(signal);
        const b = record.blocks[i]!;
        const have = await readAt(fd, offsets[i]!, b.size);
        if (have !== null && bytesEqual(opts.hashBlock(have), b.hash)) {
          reusedBytes += b.size;
          opts.onBytes?.(b.size);
        } else {
          todo.push(i);
        }
      }
    } else {
      for (let i = 0; i < record.blocks.length; i++) todo.push(i);
    }

    if (todo.length > 0) {
      if (!opts.fetchBlock) throw new SealsyncError('ERR_INVALID_ARGUMENT', "'fetchBlock' is required for a file with blocks");
      const fetchBlock = opts.fetchBlock;
      let next = 0;
      // Blocks are fetched FILE_BLOCK_WINDOW at a time but written one write at a time (see BlockWriter).
      const writer = new BlockWriter(fd, todo.length > 1);
      const worker = async (): Promise<void> => {
        while (next < todo.length) {
          aborted(signal);
          const i = todo[next++]!;
          const b = record.blocks[i]!;
          const data = await fetchBlock(b, i, { signal });
          try {
            if (data.byteLength !== b.size) {
              throw new SealsyncError('ERR_BLOCK_ID', 'block has the wrong size', { path: record.path, index: i });
            }
            // A fresh temp file reads zeros wherever nothing was written: skipping all-zero
            // blocks keeps a sparse file's holes (and costs no disk for them).
            if (resumed || !isAllZero(data)) await writer.write(offsets[i]!, data);
          } finally {
            opts.onBlockWritten?.(b);
            releaseBlockBuffer(data);
          }
          written += data.byteLength;
          noteBlockBytes(data.byteLength);
          opts.onBytes?.(data.byteLength);
        }
      };
      const workers = Array.from({ length: Math.min(FILE_BLOCK_WINDOW, todo.length) }, worker);
      const results = await Promise.allSettled(workers);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    // Metadata calls on the open descriptor block on purpose (microseconds each; the async forms
    // cost a thread-pool round trip apiece, which dominated applying many small files). Only
    // fsync, which waits for the disk, stays async.
    ftruncateSync(fd, record.size); // resumed: may be longer; fresh: trailing zero blocks were not written
    fchmodSync(fd, localFileMode(record.mode, opts.umask ?? process.umask()));
    const mtime = utimesSeconds(record.mtimeMs);
    futimesSync(fd, mtime, mtime);
    await fsyncFd(fd);
    finalStat = fstatSync(fd);
  } catch (err) {
    keepTemp = record.size >= RESUME_MIN_BYTES && reusedBytes + written > 0;
    try {
      closeSync(fd);
    } catch {
      // closing is best effort here: the original error is what matters
    }
    if (!keepTemp) await unlink(tmpAbs).catch(() => undefined);
    throw err;
  }
  closeSync(fd);

  // Last look before the rename: a local edit since we started wins a conflict, never an overwrite.
  // A refused temp file goes: the path is rescanned and examined again, and when the local
  // file turns out to hold the same content this version's temp file would never be renamed.
  const current = await lstatOrNull(abs);
  if (!(await matchesKnownAt(abs, current, opts.known))) {
    await unlink(tmpAbs).catch(() => undefined);
    return { status: 'conflict', reason: 'local file changed during transfer' };
  }
  const prep = await prepareReplace(root, record.path, abs, 'file', opts, current);
  if ('conflict' in prep) {
    await unlink(tmpAbs).catch(() => undefined);
    return { status: 'conflict', reason: prep.conflict };
  }
  try {
    renameSync(tmpAbs, abs); // blocking: see openTemp's caller
  } catch (err) {
    await unlink(tmpAbs).catch(() => undefined);
    throw err;
  }
  await (opts.syncDir ?? fsyncDir)(dirname(abs));
  return { status: 'applied', reusedBytes, archived: prep.archived, ...(finalStat ? { stat: finalStat } : {}) };
}

export async function applyDirectory(root: string, record: FileRecord, opts: ApplyOptions): Promise<ApplyResult> {
  aborted(opts.signal);
  const { abs } = await mkdirParentsSafe(root, record.path);
  const st = await lstatOrNull(abs);
  let archived: string | null = null;
  if (st === null || !st.isDirectory()) {
    if (!(await stillAsKnown(abs, opts.known))) return { status: 'conflict', reason: 'local entry changed' };
    const prep = await prepareReplace(root, record.path, abs, 'dir', opts);
    if ('conflict' in prep) return { status: 'conflict', reason: prep.conflict };
    archived = prep.archived;
    // Blocking on purpose, as for files (see applyFile): microseconds of kernel time each,
    // where the async forms cost a thread-pool round trip apiece (a sync of 2,668 directories
    // spent ~0.3 s of the receiver's CPU in them).
    try {
      mkdirSync(abs, { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const again = await lstatOrNull(abs);
    if (again === null || !again.isDirectory()) throw new SealsyncError('ERR_PATH_UNSAFE', 'directory could not be created', { path: record.path });
    // The local default, never the peer's bits (model/file-mode.ts); an existing directory keeps its own.
    chmodSync(abs, localDirMode(opts.umask ?? process.umask()));
  }
  return { status: 'applied', reusedBytes: 0, archived };
}

export async function applySymlink(root: string, record: FileRecord, opts: ApplyOptions): Promise<ApplyResult> {
  aborted(opts.signal);
  const target = record.symlinkTarget;
  if (target === undefined || target.length === 0 || target.includes('\0')) {
    throw new SealsyncError('ERR_FORMAT_TRUNCATED', 'symlink record without a target', { path: record.path });
  }
  const { abs } = await mkdirParentsSafe(root, record.path);
  if (!(await stillAsKnown(abs, opts.known))) return { status: 'conflict', reason: 'local entry changed' };
  // Create the link at a fresh name and rename it over: rename replaces a link
  // itself and never follows it.
  const tmpAbs = join(dirname(abs), `${TEMP_PREFIX}${randomBytes(12).toString('hex')}`);
  await symlink(target, tmpAbs);
  try {
    const mtime = utimesSeconds(record.mtimeMs);
    await lutimes(tmpAbs, mtime, mtime).catch(() => undefined); // not supported everywhere
    const prep = await prepareReplace(root, record.path, abs, 'symlink', opts);
    if ('conflict' in prep) {
      await unlink(tmpAbs);
      return { status: 'conflict', reason: prep.conflict };
    }
    await rename(tmpAbs, abs);
    await (opts.syncDir ?? fsyncDir)(dirname(abs));
    return { status: 'applied', reusedBytes: 0, archived: prep.archived };
  } catch (err) {
    await unlink(tmpAbs).catch(() => undefined);
    throw err;
  }
}

/**
 * Applies a tombstone: files go to the archive, links are removed, directories
 * are removed if empty. A local change since the last scan is a conflict (the
 * local edit survives and will be published).
 */
export async function applyDelete(root: string, record: FileRecord, opts: ApplyOptions): Promise<ApplyResult> {
  aborted(opts.signal);
  // A missing parent means the entry is gone already; a symlinked parent is refused.
  const abs = await resolveSafe(root, record.path);
  const st = await lstatOrNull(abs);
  if (st === null) return { status: 'applied', reusedBytes: 0, archived: null };
  if (!(await stillAsKnown(abs, opts.known))) return { status: 'conflict', reason: 'local entry changed' };
  let archived: string | null = null;
  if (st.isDirectory()) {
    try {
      await rmdir(abs);
    } catch {
      return { status: 'conflict', reason: 'directory is not empty' };
    }
  } else if (st.isFile() && opts.archive !== false) {
    archived = await archiveFile(root, record.path, opts.now?.() ?? new Date());
  } else {
    await unlink(abs);
  }
  await (opts.syncDir ?? fsyncDir)(dirname(abs));
  return { status: 'applied', reusedBytes: 0, archived };
}

let zeros = Buffer.alloc(0);

/** True when every byte is 0 (memcmp against a shared zero buffer, grown as needed). */
export function isAllZero(data: Uint8Array): boolean {
  if (data.byteLength === 0 || data[0] !== 0 || data[data.byteLength - 1] !== 0) return data.byteLength === 0;
  if (zeros.byteLength < data.byteLength) zeros = Buffer.alloc(data.byteLength);
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).equals(zeros.subarray(0, data.byteLength));
}
