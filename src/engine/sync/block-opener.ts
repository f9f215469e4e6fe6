/**
 * How a full (rw or ro) peer opens a block fetched from a peer (the
 * BlockScheduler's openBlock), and whose pooled buffers hold it.
 *
 * Every ref here comes from a file record signed with the folder's write key,
 * so its id fixes the ciphertext and the AEAD tag covers the rest: the second
 * (plaintext) hash would only catch a write-key holder. Opened on this thread,
 * not on a worker: without the plaintext re-hash an open is one SHA-256 plus
 * AES-GCM (~100 µs per 128 KiB), less than the copy and postMessage a worker
 * needs; in bench (a) on 2 cores a block-crypto worker (since removed,
 * docs/performance.md) was slower (median 4.2 s against 2.8 s).
 *
 * Buffers (memory/block-buffer-pool.ts): the plaintext goes into a pooled
 * buffer, which applyFile gives back once it is written; the sealed frame
 * (pooled by the session's frame decoder) is given back here, as nothing reads
 * it after the open.
 */
import { openBlock, openPlainBlock, sealedBlockSize } from '../../crypto/index.js';
import { acquireBlockBuffer, releaseBlockBuffer } from '../../memory/block-buffer-pool.js';
import type { BlockRef } from '../../model/types.js';
import type { BlockForm } from '../../net/messages.js';

/** The BlockScheduler's openBlock for a folder with this content key. */
export function blockOpener(contentKey: Uint8Array): (sealed: Uint8Array, ref: BlockRef, form: BlockForm) => Uint8Array {
  return (sealed, ref, form) => {
    // From a peer that proved R: padded plaintext, checked against the signed record's
    // hash. The frame's pooled buffer becomes the plaintext (a view, no copy); applyFile
    // gives it back once written.
    if (form === 'plain') {
      try {
        return openPlainBlock(sealed, ref);
      } catch (err) {
        releaseBlockBuffer(sealed);
        throw err;
      }
    }
    // A size that does not match the record fails the id check or applyFile's size
    // check anyway; it just gets no pooled buffer.
    const output = sealed.byteLength === sealedBlockSize(ref.size) ? acquireBlockBuffer(ref.size) : undefined;
    try {
      return openBlock(contentKey, sealed, ref, output ? { verifyPlaintextHash: false, output } : { verifyPlaintextHash: false });
    } catch (err) {
      if (output) releaseBlockBuffer(output);
      throw err;
    } finally {
      releaseBlockBuffer(sealed);
    }
  };
}
