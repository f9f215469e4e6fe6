import { test } from 'node:test';
import assert from 'node:assert/strict';
import { deriveEncrypted, encodeSealedRecord, keysFromSecret, newFolderSecret, sealRecord, type FolderKeys } from '../../crypto/index.js';
import { isSealsyncError } from '../../errors.js';
import { HashPool } from '../../fs/hash-pool.js';
import type { FileRecord } from '../../model/types.js';
import { forEachCheckedChunk, MIN_OFFLOAD_RECORDS, RECORDS_PER_CHECK_JOB, type CheckedRecord, type RecordChecker } from './record-check.js';

const keys = keysFromSecret(newFolderSecret());
const other = keysFromSecret(newFolderSecret()); // another folder's write key

function fileRecord(i: number): FileRecord {
  const id = new Uint8Array(32).fill(i % 251);
  const hash = new Uint8Array(32).fill((i + 7) % 251);
  return {
    path: `dir-${i % 7}/file-${i}.txt`, kind: 'file', size: 4096, mtimeMs: 1_700_000_000_000 + i, mode: 0o644,
    blocks: [{ id, hash, size: 4096 }], version: [{ id: '0123456789abcdef', value: i + 1 }], deleted: false,
  };
}

function sealed(k: FolderKeys, i: number): Uint8Array {
  return encodeSealedRecord(sealRecord(k, fileRecord(i)));
}

/**
 * `n` good records with hostile ones mixed in: signed with another folder's key,
 * one signature bit flipped, truncated, and random bytes.
 */
function update(n: number): Uint8Array[] {
  const records = Array.from({ length: n }, (_, i) => sealed(keys, i));
  const flipped = sealed(keys, n + 1);
  flipped[flipped.byteLength - 1]! ^= 1;
  records[3] = sealed(other, 3);
  records[n - 2] = flipped;
  records[n - 5] = sealed(keys, n + 2).subarray(0, 50);
  records[n - 9] = new Uint8Array(120).fill(0xab);
  return records;
}

/** Runs forEachCheckedChunk and lists every outcome with its chunk start. */
async function collect(records: readonly Uint8Array[], open: boolean, checker: RecordChecker | null, k: Pick<FolderKeys, 'folderId' | 'publicKey' | 'nameKey' | 'metadataKey'> = keys) {
  const starts: number[] = [];
  const outcomes: CheckedRecord[] = [];
  await forEachCheckedChunk(records, { keys: k, open, checker }, (start, chunk) => {
    starts.push(start);
    assert.equal(start, outcomes.length, 'chunks arrive in order, without gaps');
    outcomes.push(...chunk);
  });
  return { starts, outcomes };
}

/** Outcomes in a comparable form: the error code (or 'not a SealsyncError'), else the record. */
function comparable(outcomes: readonly CheckedRecord[]) {
  return outcomes.map((o) => {
    if (!o.ok) return { error: isSealsyncError(o.error) ? o.error.code : 'not a SealsyncError' };
    return { record: o.record, locator: Buffer.from(o.sealed.locator).toString('hex'), version: o.sealed.version, blockIds: o.sealed.blockIds.map((b) => Buffer.from(b).toString('hex')) };
  });
}

test('records checked on the hash workers give the same outcomes, errors and order as inline, forged ones included', async () => {
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    const records = update(RECORDS_PER_CHECK_JOB + 40); // two chunks
    for (const open of [true, false]) {
      const inline = await collect(records, open, null);
      const offloaded = await collect(records, open, pool);
      assert.deepEqual(offloaded.starts, [0, RECORDS_PER_CHECK_JOB]);
      assert.deepEqual(comparable(offloaded.outcomes), comparable(inline.outcomes));
      const codes = comparable(offloaded.outcomes).flatMap((o) => ('error' in o ? [o.error] : []));
      // Another folder's key and a flipped bit fail the signature; the rest fail decoding.
      assert.deepEqual(codes.filter((c) => c === 'ERR_SIGNATURE').length, 2);
      assert.equal(codes.length, 4);
      assert.ok(codes.every((c) => String(c).startsWith('ERR_') && c !== 'ERR_INTERNAL'), codes.join());
      if (open) {
        const good = offloaded.outcomes[0]!;
        assert.ok(good.ok);
        assert.deepEqual(good.record, fileRecord(0));
      } else {
        assert.ok(offloaded.outcomes.every((o) => !o.ok || o.record === null));
      }
    }
  } finally {
    await pool.stop();
  }
});

test('an encrypted peer (public keys only) verifies on the workers exactly as inline', async () => {
  const enc = deriveEncrypted(keys);
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    const records = update(60);
    const inline = await collect(records, false, null, enc);
    const offloaded = await collect(records, false, pool, enc);
    assert.deepEqual(comparable(offloaded.outcomes), comparable(inline.outcomes));
    assert.equal(offloaded.outcomes.filter((o) => !o.ok).length, 4);
  } finally {
    await pool.stop();
  }
});

test('small updates stay inline; a failing checker falls back to inline checks, never to accepting', async () => {
  let calls = 0;
  const counting: RecordChecker = { checkRecords: async () => { calls++; return []; } };
  const small = update(MIN_OFFLOAD_RECORDS - 1);
  const smallRun = await collect(small, true, counting);
  assert.equal(calls, 0);
  assert.equal(smallRun.outcomes.filter((o) => !o.ok).length, 4);

  const records = update(RECORDS_PER_CHECK_JOB * 2 + 1);
  const expected = comparable((await collect(records, true, null)).outcomes);
  const broken: RecordChecker = { checkRecords: async () => { throw new Error('worker died'); } };
  assert.deepEqual(comparable((await collect(records, true, broken)).outcomes), expected);
  // A checker that answers too few results is not trusted either.
  assert.deepEqual(comparable((await collect(records, true, counting)).outcomes), expected);
  const stopped = new HashPool({ workers: 1 }); // never started: refuses every job
  assert.deepEqual(comparable((await collect(records, true, stopped)).outcomes), expected);
});

test('the first inline chunk is handled before the call returns; an aborted signal stops the checks', async () => {
  const records = update(20);
  let handled = 0;
  const done = forEachCheckedChunk(records, { keys, open: true }, (_s, chunk) => { handled += chunk.length; });
  assert.equal(handled, 20);
  await done;

  const ac = new AbortController();
  ac.abort();
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    await assert.rejects(forEachCheckedChunk(records, { keys, open: true, checker: pool, signal: ac.signal }, () => undefined));
  } finally {
    await pool.stop();
  }
});
