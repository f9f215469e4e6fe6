/**
 * The body of one hashing job: read a file in fixed-size pieces, chunk it,
 * seal every chunk and return its BlockRefs. Synchronous on purpose: it runs
 * inside a hash worker thread (src/fs/hash-worker.ts), where blocking is the
 * point and sync reads avoid a promise per 4 MiB.
 *
 * Memory: one reusable buffer of READ_BYTES + the largest chunk. Chunks are
 * sealed straight out of that buffer; only the still-open chunk is moved to
 * the front before the next read, so a file is never held whole.
 *
 * Change detection: the file is opened with O_NOFOLLOW (never a symlink) and
 * O_NONBLOCK (a FIFO swapped in cannot hang the worker), fstat'ed, read up to
 * the size it had then, and the path is lstat'ed again at the end. A
 * different size, mtime or inode, or a short read, sets `changed`: the
 * blocks may mix old and new data and the caller hashes the file again.
 */
import { closeSync, constants as fsConstants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { SealsyncError } from '../errors.js';
import { plaintextHash, sealedBlockId } from '../crypto/sealed-block.js';
import { DIGEST_BYTES } from '../crypto/hash.js';
import { Chunker, chunkParamsForSize, MAX_BLOCKS_PER_FILE, MAX_FILE_SIZE } from './chunker.js';
import { gearTable } from './gear-table.js';

/** What hashing a file needs of the folder's keys: sealing (content key) and keyed chunking (chunk key). */
export interface ScanKeys {
  readonly contentKey: Uint8Array;
  readonly chunkKey: Uint8Array;
  /**
   * Seal every block to learn its id (what an encrypted peer needs). False:
   * the plaintext hash only, and the ids stay withheld (PackedHashResult.ids
   * empty): one SHA-256 per byte instead of SHA-256, AES-GCM and a SHA-256 of
   * the ciphertext (docs/crypto.md §4.4).
   */
  readonly sealIds: boolean;
}

/** Bytes per read(2): amortises syscalls (a read is ~0.1% of the time to seal 1 MiB) while keeping
 * the per-worker buffer small (RSS budget: 2 workers within 150 MiB). */
export const READ_BYTES = 1024 * 1024;

/** Sealed bytes between two collectGarbage() calls. */
export const GC_EVERY_BYTES = 4 * 1024 * 1024;

const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

/** Blocks packed flat so they cross a thread boundary as two transferable buffers. */
export interface PackedHashResult {
  readonly ids: Uint8Array; // n * 32, or empty when the ids are withheld (ScanKeys.sealIds false)
  readonly hashes: Uint8Array; // n * 32
  readonly sizes: number[];
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
  readonly changed: boolean;
}

/** Reusable read buffer, grown on demand (one per worker). */
export class ReadBuffer {
  #buf: Buffer = Buffer.alloc(0);
  get(minBytes: number): Buffer {
    if (this.#buf.length < minBytes) this.#buf = Buffer.allocUnsafe(minBytes);
    return this.#buf;
  }
}

/** Thrown by hashFileSync when `isCancelled()` turns true between reads. */
export class HashCancelled extends Error {}

/** Maps a Node fs error to the catalog; keeps the errno code in `data.errno`. */
export function fsErrorToSealsync(err: unknown, path: string): SealsyncError {
  if (err instanceof SealsyncError) return err;
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  const data = { path, errno };
  switch (errno) {
    case 'ENOENT':
    case 'ENOTDIR':
      return new SealsyncError('ERR_PATH_MISSING', `file is gone: ${path}`, data);
    case 'ELOOP':
      return new SealsyncError('ERR_PATH_UNSAFE', `is a symlink, not read: ${path}`, data);
    default:
      return new SealsyncError('ERR_PATH_UNREADABLE', `cannot read ${path}: ${errno ?? String(err)}`, data);
  }
}

/**
 * `collectGarbage`, when given, runs after every GC_EVERY_BYTES sealed (the
 * worker passes a minor GC; see hash-worker.ts for why).
 */
export function hashFileSync(
  absPath: string,
  keys: ScanKeys,
  buffer: ReadBuffer,
  isCancelled: () => boolean = () => false,
  collectGarbage?: () => void,
): PackedHashResult {
  let fd: number;
  try {
    fd = openSync(absPath, OPEN_FLAGS);
  } catch (err) {
    throw fsErrorToSealsync(err, absPath);
  }
  try {
    const before = fstatSync(fd);
    if (!before.isFile()) throw new SealsyncError('ERR_PATH_UNSAFE', `not a regular file: ${absPath}`, { path: absPath });
    if (before.size > MAX_FILE_SIZE) {
      throw new SealsyncError('ERR_FILE_TOO_LARGE', undefined, { path: absPath, size: before.size, max: MAX_FILE_SIZE });
    }
    const params = chunkParamsForSize(before.size);
    const chunker = new Chunker(params, gearTable(keys.chunkKey));
    const contentKey = keys.contentKey;
    const buf = buffer.get(READ_BYTES + params.max);
    const ids: Uint8Array[] = [];
    const hashes: Uint8Array[] = [];
    const sizes: number[] = [];
    let sealedSinceGc = 0;
    const seal = (from: number, len: number): void => {
      if (sizes.length >= MAX_BLOCKS_PER_FILE) {
        // Only content-pathological files past BOUNDED_FILE_SIZE get here (see chunker.ts).
        throw new SealsyncError('ERR_FILE_TOO_LARGE', `file needs more than ${MAX_BLOCKS_PER_FILE} blocks`, { path: absPath, size: before.size });
      }
      const chunk = buf.subarray(from, from + len);
      if (keys.sealIds) {
        const b = sealedBlockId(contentKey, chunk);
        sealedSinceGc += len;
        if (collectGarbage && sealedSinceGc >= GC_EVERY_BYTES) {
          sealedSinceGc = 0;
          collectGarbage();
        }
        ids.push(b.id);
        hashes.push(b.hash);
      } else {
        hashes.push(plaintextHash(chunk));
      }
      sizes.push(len);
    };
    let filled = 0; // bytes of file data in buf
    let open = 0; // start of the chunk that has not ended yet
    let position = 0; // file offset of the next read
    while (position < before.size) {
      if (buf.length - filled < READ_BYTES) {
        // The open chunk is < params.max, so after moving it a full read fits.
        buf.copyWithin(0, open, filled);
        filled -= open;
        open = 0;
      }
      const want = Math.min(READ_BYTES, before.size - position);
      let n: number;
      try {
        n = readSync(fd, buf, filled, want, position);
      } catch (err) {
        throw fsErrorToSealsync(err, absPath);
      }
      if (n === 0) break; // shrank while we read: reported through `changed`
      for (const len of chunker.push(buf.subarray(filled, filled + n))) {
        seal(open, len);
        open += len;
      }
      filled += n;
      position += n;
      if (isCancelled()) throw new HashCancelled();
    }
    for (const len of chunker.finish()) {
      seal(open, len);
      open += len;
    }
    let after: Stats | null = null;
    try {
      after = lstatSync(absPath);
    } catch {
      after = null; // deleted or renamed away: changed
    }
    const changed =
      after === null || position !== before.size || after.size !== before.size ||
      Math.floor(after.mtimeMs) !== Math.floor(before.mtimeMs) || after.ino !== before.ino;
    return {
      ids: concat(ids),
      hashes: concat(hashes),
      sizes,
      size: position,
      mtimeMs: Math.floor(before.mtimeMs),
      ino: before.ino,
      changed,
    };
  } finally {
    closeSync(fd);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.length * DIGEST_BYTES);
  parts.forEach((p, i) => out.set(p, i * DIGEST_BYTES));
  return out;
}
