/**
 * Reads one block of a local file for serving a peer's block request: sealed
 * (readAndSealBlock, for any peer) or as padded plaintext (readPlainBlock, for
 * a peer that proved R; docs/crypto.md §3.1).
 *
 * readAndSealBlock: One block is at most MAX_CHUNK_SIZE, so this runs on the main
 * thread. The file may have changed since it was indexed: the sealed id is
 * checked against what the index says (see sealChecked), and a mismatch is
 * ERR_FILE_CHANGED (the caller drops the block location and answers "not
 * found"), never a wrong block.
 *
 * Blocks up to SYNC_READ_MAX_BYTES are read with synchronous calls: the block
 * is sealed on this thread right after anyway, and each async fs call costs a
 * thread-pool round trip (measured on a 2-core VM: ~30 µs of CPU per call,
 * against ~2 µs for the sync call), which made serving many small files
 * CPU-bound. Larger blocks keep async reads so a cold disk cannot stall the
 * event loop for long.
 */
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SealsyncError } from '../errors.js';
import { bytesEqual } from '../crypto/bytes.js';
import { sealBlock, sealedBlockSize } from '../crypto/sealed-block.js';
import { acquireBlockBuffer, releaseBlockBuffer } from '../memory/block-buffer-pool.js';
import { MAX_CHUNK_SIZE } from './chunker.js';
import { fsErrorToSealsync } from './hash-file-sync.js';
import { noteBlockBytes } from '../memory/young-gc.js';

const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);
/** Largest block read with blocking calls (see the header). */
export const SYNC_READ_MAX_BYTES = 1024 * 1024;

/**
 * One read buffer per thread for blocks up to SYNC_READ_MAX_BYTES: the
 * plaintext is sealed into a new buffer right after the blocking read and
 * never escapes, so reusing it saves a block-sized allocation (and its share
 * of GC: ~0.35 s per 256 MiB served in bench (a)) per block.
 */
let scratch: Buffer | null = null;

function scratchFor(size: number): Buffer {
  if (size > SYNC_READ_MAX_BYTES) return Buffer.allocUnsafe(size);
  if (!scratch || scratch.byteLength < size) scratch = Buffer.allocUnsafeSlow(Math.max(size, 256 * 1024));
  return scratch.subarray(0, size);
}

/**
 * Reads `size` bytes at `offset` with blocking calls into the thread's scratch
 * buffer (valid until the next call); ERR_FILE_CHANGED when the file is shorter.
 */
function readBlockSync(absPath: string, offset: number, size: number, into?: Buffer, expect?: IndexedStat): Buffer {
  let fd: number;
  try {
    fd = openSync(absPath, OPEN_FLAGS);
  } catch (err) {
    throw fsErrorToSealsync(err, absPath);
  }
  const plain = into ?? scratchFor(size);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new SealsyncError('ERR_PATH_UNSAFE', `not a regular file: ${absPath}`, { path: absPath });
    checkIndexedStat(absPath, st, expect);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, plain, got, size - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    if (got !== size) throw new SealsyncError('ERR_FILE_CHANGED', `file is shorter than the indexed block: ${absPath}`, { path: absPath });
  } catch (err) {
    throw fsErrorToSealsync(err, absPath);
  } finally {
    closeSync(fd);
  }
  return plain;
}

/** The async form of readBlockSync, for blocks past SYNC_READ_MAX_BYTES. */
async function readBlock(absPath: string, offset: number, size: number, into?: Buffer, expect?: IndexedStat): Promise<Buffer> {
  let fh;
  try {
    fh = await open(absPath, OPEN_FLAGS);
  } catch (err) {
    throw fsErrorToSealsync(err, absPath);
  }
  const plain = into ?? Buffer.allocUnsafe(size);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SealsyncError('ERR_PATH_UNSAFE', `not a regular file: ${absPath}`, { path: absPath });
    checkIndexedStat(absPath, st, expect);
    let got = 0;
    while (got < size) {
      const { bytesRead } = await fh.read(plain, got, size - got, offset + got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    if (got !== size) throw new SealsyncError('ERR_FILE_CHANGED', `file is shorter than the indexed block: ${absPath}`, { path: absPath });
  } catch (err) {
    throw fsErrorToSealsync(err, absPath);
  } finally {
    await fh.close();
  }
  return plain;
}

/**
 * What the index last saw of the file (size, mtime, device and inode): a
 * plaintext block is served only from that very file. The identity is what
 * lets a server skip re-checking the path's parents (SyncFolder.servePlain):
 * the scan reached this inode through real directories inside the folder.
 */
export interface IndexedStat {
  readonly size: number;
  readonly diskMtimeMs: number;
  readonly ino: number;
  readonly dev: number;
}

/**
 * A plaintext block is not re-hashed by the sender (the receiver checks it
 * against the signed record), so the sender makes sure the file is the one it
 * indexed: an edit since the scan is ERR_FILE_CHANGED ("missing" to the peer)
 * instead of a block the receiver would refuse and charge to us. Same rule as
 * the rescan's "unchanged" test (engine/local/scan-diff.ts isUnchanged).
 */
function checkIndexedStat(absPath: string, st: { size: number; mtimeMs: number; ino: number; dev: number }, expect: IndexedStat | undefined): void {
  if (!expect) return;
  if (st.size !== expect.size || Math.floor(st.mtimeMs) !== Math.floor(expect.diskMtimeMs) || st.ino !== expect.ino || st.dev !== expect.dev) {
    throw new SealsyncError('ERR_FILE_CHANGED', `file changed since it was indexed: ${absPath}`, { path: absPath });
  }
}

function checkRange(offset: number, size: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', `'offset' must be a non-negative integer`);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_CHUNK_SIZE) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'size' must be an integer from 0 to ${MAX_CHUNK_SIZE}`);
  }
}

/**
 * Seals a block just read under the indexed plaintext hash and checks the
 * id. The plaintext is not hashed again: with the key and nonce fixed by the
 * indexed hash, GCM's ciphertext is the plaintext XOR a fixed key stream, so
 * any change to the bytes on disk changes the ciphertext and therefore the id
 * (SHA-256 of it). One id comparison covers "the file changed since the
 * scan" and "another key or format", and saves one SHA-256 per served block.
 * Either way the block is refused, never served wrong.
 */
function sealChecked(
  absPath: string,
  offset: number,
  plain: Uint8Array,
  contentKey: Uint8Array,
  expected: { readonly id: Uint8Array; readonly hash: Uint8Array },
  output?: Uint8Array,
): Uint8Array {
  const sealed = sealBlock(contentKey, plain, expected.hash, output);
  if (!bytesEqual(sealed.id, expected.id)) {
    if (output) releaseBlockBuffer(output);
    throw new SealsyncError('ERR_FILE_CHANGED', `block content changed on disk: ${absPath}`, { path: absPath, offset });
  }
  return sealed.sealed;
}

export async function readAndSealBlock(
  absPath: string,
  offset: number,
  size: number,
  contentKey: Uint8Array,
  expected: { readonly id: Uint8Array; readonly hash: Uint8Array },
  opts: { signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  checkRange(offset, size);
  if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
  const plain = size <= SYNC_READ_MAX_BYTES ? readBlockSync(absPath, offset, size) : await readBlock(absPath, offset, size);
  if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
  // Sealed into a pooled buffer (fs/block-buffer-pool.ts): the peer session gives it
  // back once the socket has taken the bytes, so serving allocates no block-sized
  // buffer that V8 would count as new external memory.
  const sealed = sealChecked(absPath, offset, plain, contentKey, expected, acquireBlockBuffer(sealedBlockSize(size)));
  noteBlockBytes(size);
  return sealed;
}

/**
 * The block as plaintext padded with zeros to its sealed size (what a peer
 * that proved R asks for; it checks the plaintext against the signed record's
 * hash). No cryptography here: the bytes go into a pooled buffer straight
 * from the file and out through TLS. `indexed` is what the index holds for
 * the file: a file changed since is ERR_FILE_CHANGED, never a wrong block.
 */
export async function readPlainBlock(
  absPath: string,
  offset: number,
  size: number,
  indexed: IndexedStat,
  opts: { signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  checkRange(offset, size);
  if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
  const padded = acquireBlockBuffer(sealedBlockSize(size));
  try {
    const into = padded.subarray(0, size);
    if (size <= SYNC_READ_MAX_BYTES) readBlockSync(absPath, offset, size, into, indexed);
    else await readBlock(absPath, offset, size, into, indexed);
    if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
  } catch (err) {
    releaseBlockBuffer(padded);
    throw err;
  }
  padded.fill(0, size);
  noteBlockBytes(size);
  return padded;
}
