/**
 * Sealed blocks: deterministic encryption of one content chunk (format v2).
 *
 *   hash     = digest(plaintext, hashAlg)
 *   blockKey = HMAC-SHA256(contentKey, hash)
 *   padded   = plaintext || zeros, so that the sealed size is padmeLength(n + 19)
 *   sealed   = [version=2][hashAlg][aeadAlg=1] || AES-256-GCM(blockKey, nonce=0^12, aad=header)(padded) || tag(16)
 *   id       = digest(sealed, hashAlg)
 *
 * The padding (crypto/size-buckets.ts, shared with records) makes every sealed size a Padmé bucket, so
 * a store sees a few bits of each chunk's size instead of all of them. The
 * rule is fixed here, so every device seals alike (same ids, same dedup). The
 * plaintext length n is not in the block: the opener takes it from the signed
 * record (BlockRef.size) and refuses a sealed size other than padmeLength(n + 19).
 *
 * The all-zero nonce is safe because each key encrypts exactly one plaintext
 * (the key is bound to the plaintext's hash). Same data in the same folder
 * gives the same sealed bytes on every peer, so an encrypted peer can verify
 * (id = hash of what it stores) and deduplicate without any key.
 *
 * This is the scan hot path: one allocation for the output, and the id is
 * hashed piecewise as ciphertext is produced, while it is still in cache.
 */
import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { SealsyncError } from '../errors.js';
import { asBuffer, bytesEqual } from './bytes.js';
import { DEFAULT_HASH, DIGEST_BYTES, createDigest, digest, isKnownHash } from './hash.js';
import { isBucketLength, padmeLength } from './size-buckets.js';

export const SEALED_BLOCK_VERSION = 2;
export const AEAD_AES_256_GCM = 1;
export const SEALED_BLOCK_HEADER_BYTES = 3;
export const GCM_TAG_BYTES = 16;
export const GCM_NONCE_BYTES = 12;
/** Header and tag: the least a sealed block adds to its plaintext (padding comes on top). */
export const SEALED_BLOCK_OVERHEAD = SEALED_BLOCK_HEADER_BYTES + GCM_TAG_BYTES;
/** A block's id is the hash of its sealed bytes. */
export const BLOCK_ID_BYTES = DIGEST_BYTES;
/**
 * Largest sealed block anyone sends, stores or accepts: the sealed size of the
 * largest chunk (16 MiB, fs/chunker.ts MAX_CHUNK_SIZE), padmeLength(16 MiB + 19) =
 * 16.5 MiB. Anything larger is hostile.
 */
export const MAX_SEALED_BLOCK_BYTES = 16.5 * 1024 * 1024;
/** Largest plaintext a sealed block may carry (fs/chunker.ts MAX_CHUNK_SIZE is the same value). */
export const MAX_BLOCK_PLAINTEXT_BYTES = 16 * 1024 * 1024;

/** The sealed size of an n-byte plaintext: a Padmé value, the same on every device. */
export function sealedBlockSize(plaintextBytes: number): number {
  return padmeLength(plaintextBytes + SEALED_BLOCK_OVERHEAD);
}

/** Zeros fed to the cipher as padding, in pieces of at most this size. */
const ZERO_PAD = Buffer.alloc(256 * 1024);
/** Pieces in which ciphertext is produced and hashed (fits in L2 cache). */
const SEAL_SLICE_BYTES = 256 * 1024;
/** Slices for sealedBlockId: small enough that the dropped ciphertext is recycled, not retained. */
const ID_SLICE_BYTES = 32 * 1024;
const ZERO_NONCE = Buffer.alloc(GCM_NONCE_BYTES);

function blockKey(contentKey: Uint8Array, hash: Uint8Array): Buffer {
  return createHmac('sha256', contentKey).update(hash).digest();
}

/** Reads and checks the 3-byte header; returns the hash algorithm id. */
function readHeader(sealed: Uint8Array): number {
  if (sealed.byteLength < SEALED_BLOCK_OVERHEAD) throw new SealsyncError('ERR_FORMAT_TRUNCATED', 'sealed block is too short');
  if (sealed[0] !== SEALED_BLOCK_VERSION) {
    throw new SealsyncError('ERR_FORMAT_VERSION', `unsupported sealed block version ${sealed[0]}`);
  }
  const hashAlg = sealed[1] as number;
  if (!isKnownHash(hashAlg)) throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unknown hash algorithm id ${hashAlg}`);
  if (sealed[2] !== AEAD_AES_256_GCM) throw new SealsyncError('ERR_FORMAT_ALGORITHM', `unknown AEAD algorithm id ${sealed[2]}`);
  // Every honest sealed size is a bucket; anything else was not made by sealBlock.
  if (!isBucketLength(sealed.byteLength)) throw new SealsyncError('ERR_FORMAT_TRUNCATED', `sealed block size ${sealed.byteLength} is not a padding bucket`);
  return hashAlg;
}

function checkPlaintextSize(n: number): void {
  if (n > MAX_BLOCK_PLAINTEXT_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', `a block holds at most ${MAX_BLOCK_PLAINTEXT_BYTES} bytes`);
}

/**
 * Seals one block. `plainHash`, when the caller already has it, must be the
 * DEFAULT_HASH digest of `plaintext` (it is trusted, not recomputed).
 * `output`, when given, receives the sealed bytes (exactly
 * sealedBlockSize(plaintext length)): a caller's reused buffer instead of a new one.
 */
export function sealBlock(
  contentKey: Uint8Array,
  plaintext: Uint8Array,
  plainHash?: Uint8Array,
  output?: Uint8Array,
): { id: Uint8Array; hash: Uint8Array; size: number; sealed: Uint8Array } {
  checkPlaintextSize(plaintext.byteLength);
  const hash = plainHash ?? digest(plaintext, DEFAULT_HASH);
  if (hash.byteLength !== DIGEST_BYTES) throw new SealsyncError('ERR_INVALID_ARGUMENT', 'plainHash must be 32 bytes');
  const sealedSize = sealedBlockSize(plaintext.byteLength);
  if (output && output.byteLength !== sealedSize) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', 'output buffer does not match the sealed length');
  }
  const sealed = output ? asBuffer(output) : Buffer.allocUnsafe(sealedSize);
  writeHeader(sealed);
  let off = SEALED_BLOCK_HEADER_BYTES;
  const id = encryptBlock(contentKey, plaintext, hash, sealed.subarray(0, SEALED_BLOCK_HEADER_BYTES), SEAL_SLICE_BYTES, (piece) => {
    piece.copy(sealed, off);
    off += piece.byteLength;
  });
  return { id, hash, size: plaintext.byteLength, sealed: new Uint8Array(sealed.buffer, sealed.byteOffset, sealed.byteLength) };
}

/**
 * The id and hash sealBlock would give, without keeping the sealed bytes: what a
 * scan needs. Ciphertext goes to the id hash in small slices and is dropped, so
 * hashing a large file allocates no block-sized buffers (their churn kept several
 * MiB of freed memory per hash worker thread in its malloc arena).
 */
/** The plaintext hash a record lists for a block (what sealedBlockId returns as `hash`), without sealing it. */
export function plaintextHash(plaintext: Uint8Array): Uint8Array {
  checkPlaintextSize(plaintext.byteLength);
  return digest(plaintext, DEFAULT_HASH);
}

export function sealedBlockId(contentKey: Uint8Array, plaintext: Uint8Array): { id: Uint8Array; hash: Uint8Array } {
  checkPlaintextSize(plaintext.byteLength);
  const hash = digest(plaintext, DEFAULT_HASH);
  const header = Buffer.allocUnsafe(SEALED_BLOCK_HEADER_BYTES);
  writeHeader(header);
  return { id: encryptBlock(contentKey, plaintext, hash, header, ID_SLICE_BYTES), hash };
}

function writeHeader(out: Buffer): void {
  out[0] = SEALED_BLOCK_VERSION;
  out[1] = DEFAULT_HASH;
  out[2] = AEAD_AES_256_GCM;
}

/**
 * AES-256-GCM under HMAC(contentKey, hash) of plaintext || zero padding, with
 * `header` as AAD; the id hashes header || ciphertext || tag. Each ciphertext
 * piece (then the tag) goes to `onPiece`.
 */
function encryptBlock(
  contentKey: Uint8Array,
  plaintext: Uint8Array,
  hash: Uint8Array,
  header: Buffer,
  sliceBytes: number,
  onPiece?: (piece: Buffer) => void,
): Uint8Array {
  const cipher = createCipheriv('aes-256-gcm', blockKey(contentKey, hash), ZERO_NONCE);
  cipher.setAAD(header);
  const idHash = createDigest(DEFAULT_HASH);
  idHash.update(header);
  const input = asBuffer(plaintext);
  for (let p = 0; p < input.byteLength; p += sliceBytes) {
    const ct = cipher.update(input.subarray(p, Math.min(p + sliceBytes, input.byteLength)));
    onPiece?.(ct);
    idHash.update(ct);
  }
  for (let left = sealedBlockSize(input.byteLength) - SEALED_BLOCK_OVERHEAD - input.byteLength; left > 0; left -= ZERO_PAD.byteLength) {
    const ct = cipher.update(ZERO_PAD.subarray(0, Math.min(left, ZERO_PAD.byteLength)));
    onPiece?.(ct);
    idHash.update(ct);
  }
  const rest = cipher.final();
  onPiece?.(rest);
  idHash.update(rest);
  const tag = cipher.getAuthTag();
  onPiece?.(tag);
  idHash.update(tag);
  return idHash.digest();
}

/** Hash check only (what an encrypted peer can do). Throws ERR_FORMAT_* on an unreadable header. */
export function verifySealedBlock(sealed: Uint8Array, id: Uint8Array): boolean {
  const hashAlg = readHeader(sealed);
  return bytesEqual(digest(sealed, hashAlg), id);
}

export interface OpenBlockOptions {
  /**
   * Re-hash the plaintext and compare it with `expected.hash` (default true).
   * A caller whose `expected.id` comes from a record signed with the folder's
   * write key may pass false: the id fixes the ciphertext, and the AEAD tag
   * under HMAC(contentKey, expected.hash) authenticates it, so only a
   * write-key holder could have produced a mismatched plaintext (out of scope
   * in the threat model; see docs/crypto.md). Saves one SHA-256 per block.
   */
  readonly verifyPlaintextHash?: boolean;
  /**
   * Where to put the plaintext (exactly the plaintext's length): the caller's
   * reused buffer instead of a new one. Its contents are undefined if opening fails.
   */
  readonly output?: Uint8Array;
}

/** Refuses a plaintext size a signed record may not carry, before any work. */
function checkExpectedSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_BLOCK_PLAINTEXT_BYTES) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', `'size' must be an integer from 0 to ${MAX_BLOCK_PLAINTEXT_BYTES}`);
  }
}

/**
 * Verifies the size and id, decrypts, checks the padding is zeros and (unless
 * told otherwise) the plaintext hash. `expected.size` is the plaintext length
 * from the signed record; a sealed block of any other bucket is ERR_BLOCK_ID.
 */
export function openBlock(
  contentKey: Uint8Array,
  sealed: Uint8Array,
  expected: { id: Uint8Array | null; hash: Uint8Array; size: number },
  opts: OpenBlockOptions = {},
): Uint8Array {
  checkExpectedSize(expected.size);
  // A record that withholds its block ids cannot vouch for any sealed block.
  if (expected.id === null) throw new SealsyncError('ERR_BLOCK_ID', 'the record withholds its block ids');
  const hashAlg = readHeader(sealed);
  if (sealed.byteLength !== sealedBlockSize(expected.size)) throw new SealsyncError('ERR_BLOCK_ID', 'sealed block size does not match the record');
  if (!bytesEqual(digest(sealed, hashAlg), expected.id)) throw new SealsyncError('ERR_BLOCK_ID');
  const buf = asBuffer(sealed);
  const n = expected.size;
  const ctStart = SEALED_BLOCK_HEADER_BYTES;
  const ctEnd = buf.byteLength - GCM_TAG_BYTES;
  const out = opts.output;
  if (out && out.byteLength !== n) {
    throw new SealsyncError('ERR_INVALID_ARGUMENT', 'output buffer does not match the plaintext length');
  }
  const decipher = createDecipheriv('aes-256-gcm', blockKey(contentKey, expected.hash), ZERO_NONCE);
  decipher.setAAD(buf.subarray(0, SEALED_BLOCK_HEADER_BYTES));
  decipher.setAuthTag(buf.subarray(ctEnd));
  let plain: Buffer;
  try {
    // GCM in Node returns all of update()'s input at once (a stream cipher: final() adds nothing).
    const head = decipher.update(buf.subarray(ctStart, ctStart + n));
    const pad = decipher.update(buf.subarray(ctStart + n, ctEnd));
    decipher.final();
    if (head.byteLength !== n || !isAllZero(pad)) throw new SealsyncError('ERR_DECRYPT', 'block padding is not zeros');
    if (out) {
      head.copy(asBuffer(out), 0);
      plain = asBuffer(out);
    } else {
      plain = head;
    }
  } catch (err) {
    if (err instanceof SealsyncError) throw err;
    throw new SealsyncError('ERR_DECRYPT', undefined, undefined, { cause: err });
  }
  // Defence in depth: the key came from `expected.hash`; make sure the data really has that hash.
  if (opts.verifyPlaintextHash !== false && !bytesEqual(digest(plain, hashAlg), expected.hash)) {
    throw new SealsyncError('ERR_DECRYPT', 'block plaintext does not match its hash');
  }
  return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
}

function isAllZero(bytes: Buffer): boolean {
  for (let p = 0; p < bytes.byteLength; p += ZERO_PAD.byteLength) {
    const piece = bytes.subarray(p, Math.min(p + ZERO_PAD.byteLength, bytes.byteLength));
    if (!piece.equals(ZERO_PAD.subarray(0, piece.byteLength))) return false;
  }
  return true;
}

/**
 * Checks a block a reader peer sent as plaintext (docs/crypto.md §3.1): its
 * length is the sealed size of `expected.size` (a bucket: the wire shows what
 * sealed blocks show), the padding is zeros, and the plaintext has the hash
 * the signed record gives. Returns a view of the plaintext (no copy).
 * Any mismatch is ERR_BLOCK_ID (the data is not the block the record names).
 */
export function openPlainBlock(padded: Uint8Array, expected: { hash: Uint8Array; size: number }): Uint8Array {
  checkExpectedSize(expected.size);
  if (padded.byteLength !== sealedBlockSize(expected.size)) throw new SealsyncError('ERR_BLOCK_ID', 'plaintext block length does not match the record');
  const buf = asBuffer(padded);
  if (!isAllZero(buf.subarray(expected.size))) throw new SealsyncError('ERR_BLOCK_ID', 'plaintext block padding is not zeros');
  const plain = buf.subarray(0, expected.size);
  if (!bytesEqual(digest(plain, DEFAULT_HASH), expected.hash)) throw new SealsyncError('ERR_BLOCK_ID', 'plaintext block does not match its hash');
  return new Uint8Array(plain.buffer, plain.byteOffset, plain.byteLength);
}
