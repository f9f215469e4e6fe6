/**
 * Reads one block of a local file and seals it, for serving a peer's block
 * request. One block is at most MAX_CHUNK_SIZE, so this runs on the main
 * thread. The file may have changed since it was indexed: the plaintext hash
 * and the sealed id are checked against what the index says, and a mismatch
 * is ERR_FILE_CHANGED (the caller drops the block location and answers "not
 * found"), never a wrong block.
 */
import { constants as fsConstants } from 'node:fs';
import { open } from 'node:fs/promises';
import { SealsyncError } from '../errors.js';
import { bytesEqual } from '../crypto/bytes.js';
import { digest } from '../crypto/hash.js';
import { sealBlock } from '../crypto/sealed-block.js';
import { MAX_CHUNK_SIZE } from './chunker.js';
import { fsErrorToSealsync } from './hash-file-sync.js';

const OPEN_FLAGS = fsConstants.O_RDONLY | (fsConstants.O_NOFOLLOW ?? 0) | (fsConstants.O_NONBLOCK ?? 0);

export async function readAndSealBlock(
  absPath: string,
  offset: number,
  size: number,
  contentKey: Uint8Array,
  expected: { readonly id: Uint8Array; readonly hash: Uint8Array },
  opts: { signal?: AbortSignal } = {},
): Promise<Uint8Array> {
  if (!Number.isSafeInteger(offset) || offset < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', `'offset' must be a non-negative integer`);
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_CHUNK_SIZE) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'size' must be an integer from 0 to ${MAX_CHUNK_SIZE}`);
  }
  if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
  let fh;
  try {
    fh = await open(absPath, OPEN_FLAGS);
  } catch (err) {
    throw fsErrorToSealsync(err, absPath);
  }
  const plain = Buffer.allocUnsafe(size);
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new SealsyncError('ERR_PATH_UNSAFE', `not a regular file: ${absPath}`, { path: absPath });
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
  if (opts.signal?.aborted) throw new SealsyncError('ERR_ABORTED');
  const hash = digest(plain);
  if (!bytesEqual(hash, expected.hash)) {
    throw new SealsyncError('ERR_FILE_CHANGED', `block content changed on disk: ${absPath}`, { path: absPath, offset });
  }
  const sealed = sealBlock(contentKey, plain, hash);
  // Same plaintext hash but another id means another content key or format: refuse, never serve a wrong block.
  if (!bytesEqual(sealed.id, expected.id)) throw new SealsyncError('ERR_BLOCK_ID', 'sealed block does not match the indexed id', { path: absPath, offset });
  return sealed.sealed;
}
