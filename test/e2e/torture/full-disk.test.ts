/**
 * Torture: the receiver's disk fills up. B's folder is a 16 MiB tmpfs mounted
 * by the test (root only; unmounted in `after`); B's home (index) is on the
 * normal disk. A holds small files and a 24 MiB file that cannot fit.
 *
 * What a careful user expects on Linux:
 * - B's daemon keeps running and says why (an error naming the full disk or
 *   the path, needFiles > 0) instead of hanging or crashing.
 * - Nothing half-written under a real name: the big file is either absent on
 *   B or complete; every file B shows under a real name has A's content.
 * - Once there is space again (the tmpfs grows), everything arrives, the
 *   error clears, and no temp file is left behind.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CAN_MOUNT, converge, parkedWith, readTree, synced, SYNC_TIMEOUT_MS, tmpfsPair, type Pair } from './pair.js';

const TMPFS_MIB = 16;
const BIG_BYTES = 24 * 1024 * 1024;
const SMALL = 40;

describe('torture: a full disk on the receiver', { timeout: 300_000, skip: CAN_MOUNT ? false : 'needs root to mount a tmpfs' }, () => {
  const disk = tmpfsPair(TMPFS_MIB, {
    seedA: async (dir) => {
      for (let i = 0; i < SMALL; i++) await writeFile(join(dir, `small-${i}.txt`), `small ${i}\n`.repeat(100));
      await writeFile(join(dir, 'big.bin'), randomBytes(BIG_BYTES));
    },
  });
  let p: Pair;
  before(async () => { p = await disk.start(); });
  after(() => disk.close());

  test('B says the disk is full, shows nothing half-written, and finishes once there is space', async () => {
    const fb = await p.b.waitForFolder(p.dirB, parkedWith(/ENOSPC|no space/i), {
      timeoutMs: SYNC_TIMEOUT_MS, description: 'B reports what it cannot write',
    });
    assert.match(fb.notice ?? '', /big\.bin: ENOSPC/, `the notice names the file and the cause: ${fb.notice}`);
    assert.ok(p.dB.running, 'B keeps running');
    const [treeA, treeB] = await Promise.all([readTree(p.dirA), readTree(p.dirB)]);
    for (const [path, e] of treeB) {
      if (e.kind !== 'file' || path.split('/').pop()!.startsWith('.sealsync-tmp-')) continue;
      assert.equal(e.digest, treeA.get(path)?.digest, `${path} on B is complete`);
    }
    disk.remount(64);
    await converge(p.dirA, p.dirB, 'everything once there is space');
    await p.b.waitForFolder(p.dirB, (f) => synced(f) && f.parkedCount === 0, { timeoutMs: SYNC_TIMEOUT_MS, description: 'B clean' });
  });
});
