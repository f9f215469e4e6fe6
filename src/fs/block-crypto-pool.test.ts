import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealsyncError } from '../errors.js';
import { sealBlock } from '../crypto/sealed-block.js';
import { BlockCryptoPool, MAX_BATCH_JOBS, ownedView } from './block-crypto-pool.js';
import { pseudoRandomBytes } from './test-data.js';

const dir = mkdtempSync(join(tmpdir(), 'sealsync-blockcrypto-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = pseudoRandomBytes(32, 7);
const BLOCK = 100_000;
const BLOCKS = MAX_BATCH_JOBS + 5; // more than one batch
const data = pseudoRandomBytes(BLOCK * BLOCKS, 3);
const file = join(dir, 'f');
writeFileSync(file, data);
const refs = Array.from({ length: BLOCKS }, (_, i) => sealBlock(key, data.subarray(i * BLOCK, (i + 1) * BLOCK)));
const code = (err: unknown) => (isSealsyncError(err) ? err.code : String(err));

test('seals blocks of a file and opens them again, many per batch, results in order', async () => {
  const pool = new BlockCryptoPool({ workers: 2 });
  pool.start();
  try {
    const sealed = await Promise.all(refs.map((r, i) => pool.seal(file, i * BLOCK, BLOCK, key, r)));
    sealed.forEach((s, i) => assert.deepEqual(s, refs[i]!.sealed));
    // A view into a larger buffer is copied, not detached.
    const big = new Uint8Array(sealed[0]!.byteLength + 10);
    big.set(sealed[0]!, 5);
    const view = big.subarray(5, 5 + sealed[0]!.byteLength);
    const opened = await Promise.all([pool.open(key, view, refs[0]!), ...sealed.slice(1).map((s, i) => pool.open(key, s, refs[i + 1]!, { verifyPlaintextHash: false }))]);
    assert.equal(view.byteLength, sealed[0]!.byteLength, 'caller buffer still usable');
    opened.forEach((p, i) => assert.deepEqual(p, data.subarray(i * BLOCK, (i + 1) * BLOCK)));
  } finally {
    await pool.stop();
  }
});

test('errors come back per job with their codes; one bad job does not fail its batch', async () => {
  const pool = new BlockCryptoPool({ workers: 1 });
  pool.start();
  try {
    const r0 = refs[0]!;
    const flipped = r0.sealed.slice();
    flipped[50] = (flipped[50] as number) ^ 1;
    const results = await Promise.allSettled([
      pool.open(key, flipped, r0),
      pool.open(key, r0.sealed, r0),
      pool.seal(file, BLOCK, BLOCK, key, r0), // another block's hash: the file "changed"
      pool.seal(join(dir, 'missing'), 0, BLOCK, key, r0),
      pool.seal(file, data.byteLength - 10, BLOCK, key, r0), // past the end
    ]);
    assert.equal(results[0].status === 'rejected' && code(results[0].reason), 'ERR_BLOCK_ID');
    assert.equal(results[1].status, 'fulfilled');
    assert.equal(results[2].status === 'rejected' && code(results[2].reason), 'ERR_FILE_CHANGED');
    assert.equal(results[3].status, 'rejected');
    assert.equal(results[4].status === 'rejected' && code(results[4].reason), 'ERR_FILE_CHANGED');
  } finally {
    await pool.stop();
  }
});

test('abort, stop and use before start reject with ERR_ABORTED', async () => {
  const pool = new BlockCryptoPool({ workers: 1 });
  await assert.rejects(pool.open(key, refs[0]!.sealed, refs[0]!), (e) => code(e) === 'ERR_ABORTED');
  pool.start();
  const ac = new AbortController();
  const p = pool.seal(file, 0, BLOCK, key, refs[0]!, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e) => code(e) === 'ERR_ABORTED');
  const pending = pool.seal(file, 0, BLOCK, key, refs[0]!);
  await pool.stop();
  await assert.rejects(pending, (e) => code(e) === 'ERR_ABORTED');
});

test('ownedView keeps a whole buffer and copies a slice', () => {
  const whole = new Uint8Array(16);
  assert.equal(ownedView(whole), whole);
  const slice = whole.subarray(4, 8);
  const own = ownedView(slice);
  assert.notEqual(own.buffer, whole.buffer);
  assert.equal(own.byteLength, 4);
});
