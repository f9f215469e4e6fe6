/**
 * Torture: the archive fills the receiver's disk (chaos run 4, issue 15: b's
 * 64 MiB tmpfs held 49 MiB of old versions, b parked the next file on ENOSPC
 * and the cluster never converged again).
 *
 * B's folder is an 8 MiB tmpfs mounted by the test (root only; unmounted in
 * `after`; B's home is on the normal disk). B's archive may hold 1 GiB
 * (`folder retention --max-mib 1024`), so only the disk limits it. A
 * rewrites one 512 KiB file round after round; every version it replaces goes
 * into B's archive until the disk is full. Then a 2 MiB file comes.
 *
 * What a careful user expects: old versions never block new data. Every round
 * and the new file arrive, B says up to date, the oldest versions were given
 * up (and the event log says so) and the newest are kept as far as space
 * allows. Before the fix, B parked a file on ENOSPC and stayed 'waiting'.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listArchive } from '../../../src/fs/archive-versions.js';
import type { DaemonEvent } from '../../../src/api/daemon-api.js';
import { pollUntil } from '../helpers/harness.js';
import { CAN_MOUNT, converge, synced, SYNC_TIMEOUT_MS, tmpfsPair, type Pair } from './pair.js';

const TMPFS_MIB = 8;
const BASE_BYTES = 3 * 1024 * 1024;
const VERSION_BYTES = 512 * 1024;
/** 14 versions of 512 KiB replaced: 7 MiB of archive, more than the disk has beside the live files. */
const ROUNDS = 15;
const NEXT_BYTES = 2 * 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('torture: the archive fills the disk', { timeout: 400_000, skip: CAN_MOUNT ? false : 'needs root to mount a tmpfs' }, () => {
  const disk = tmpfsPair(TMPFS_MIB, {
    seedA: async (dir) => {
      await writeFile(join(dir, 'base.bin'), randomBytes(BASE_BYTES));
      await writeFile(join(dir, 'v.bin'), randomBytes(VERSION_BYTES));
    },
  });
  let pair: Pair;
  before(async () => { pair = await disk.start(); });
  after(() => disk.close());

  test('every new version and a new file arrive; the oldest versions give way, the newest stay', async () => {
    await pair.b.cliOk(['folder', 'retention', pair.dirB, '--days', 'default', '--max-mib', '1024']);
    await converge(pair.dirA, pair.dirB, 'the first sync');
    // The content of v.bin in every round: B archives each one when the next arrives.
    const contents: string[] = [sha(await readFile(join(pair.dirA, 'v.bin')))];
    for (let round = 1; round <= ROUNDS; round++) {
      const data = randomBytes(VERSION_BYTES);
      await writeFile(join(pair.dirA, 'v.bin'), data);
      contents.push(sha(data));
      let seen = '';
      await pollUntil(async () => {
        const onB = await readFile(join(pair.dirB, 'v.bin')).catch(() => null);
        if (onB !== null && sha(onB) === contents[round]) return true;
        const f = await pair.folderB();
        seen = `B ${f.state}, needs ${f.needFiles}, parked: ${JSON.stringify(f.parked)}`;
        return undefined;
      }, { timeoutMs: SYNC_TIMEOUT_MS, intervalMs: 200, description: `round ${round}: B has A's v.bin`, last: () => seen });
    }
    const next = randomBytes(NEXT_BYTES);
    await writeFile(join(pair.dirA, 'next.bin'), next);
    await converge(pair.dirA, pair.dirB, 'the new file after the archive filled the disk');
    assert.equal(sha(await readFile(join(pair.dirB, 'next.bin'))), sha(next));
    const fb = await pair.b.waitForFolder(pair.dirB, (f) => synced(f) && f.parkedCount === 0, { timeoutMs: SYNC_TIMEOUT_MS, description: 'B up to date' });
    assert.equal(fb.state, 'idle');

    // What the archive kept: the newest versions, as many as fit; the oldest went.
    const replaced = contents.slice(0, -1); // every content but the current one was archived on B once
    const kept = (await listArchive(pair.dirB)).filter((c) => c.path === 'v.bin');
    const keptDigests = await Promise.all(kept.map(async (c) => sha(await readFile(join(pair.dirB, c.archivePath)))));
    assert.ok(kept.length >= 1, 'the newest replaced version is still in the archive');
    assert.ok(kept.length < replaced.length, `old versions were removed (${kept.length} of ${replaced.length} kept)`);
    assert.deepEqual(new Set(keptDigests), new Set(replaced.slice(replaced.length - kept.length)), 'what is kept is exactly the newest versions');

    // The event log says what went and why.
    const { events } = await pair.b.client.request<{ events: DaemonEvent[] }>('GET', '/api/events/log?limit=1000');
    const pruned = events.filter((e): e is Extract<DaemonEvent, { type: 'archive-pruned' }> => e.type === 'archive-pruned');
    assert.ok(pruned.length >= 1, 'archive-pruned events are logged');
    assert.ok(pruned.some((e) => e.reason === 'disk-space' && e.folder === pair.dirB && e.removed >= 1 && e.freedBytes >= VERSION_BYTES), JSON.stringify(pruned));
    const removed = pruned.reduce((n, e) => n + e.removed, 0);
    assert.equal(removed, replaced.length - kept.length, 'every removal is in the log');
  });
});
