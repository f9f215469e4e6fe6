import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { archiveFile } from '../../fs/archive.js';
import { listArchive } from '../../fs/archive-versions.js';
import { diskSpace } from '../../fs/archive-prune.js';
import { silentLogger } from '../../logger.js';
import { ArchiveKeeper, type ArchivePruned } from './archive-keeper.js';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 7, 5, 0, 0);

async function archiveWithCopies(root: string, ages: number[]): Promise<void> {
  for (const [i, ageMs] of ages.entries()) {
    await writeFile(join(root, `f${i}.bin`), Buffer.alloc(1000, i));
    await archiveFile(root, `f${i}.bin`, new Date(NOW - ageMs));
  }
}

test('clean: copies past their age go, then the oldest over the size bound; each removal for size is reported once', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ss-keeper-'));
  const pruned: ArchivePruned[] = [];
  const forgotten: string[] = [];
  const keeper = new ArchiveKeeper({ root, log: silentLogger(), now: () => NOW, onPruned: (p) => pruned.push(p), forget: (paths) => forgotten.push(...paths) }, 30, 2500);
  try {
    await archiveWithCopies(root, [40 * DAY, 3 * DAY, 2 * DAY, DAY, 1000]);
    await keeper.clean();
    const left = (await listArchive(root)).map((c) => c.path);
    assert.deepEqual(left, ['f4.bin', 'f3.bin'], 'f0 past 30 days; f1 and f2 the oldest over 2500 bytes');
    assert.equal(pruned.length, 1);
    assert.deepEqual({ ...pruned[0] }, { removed: 2, freedBytes: 2000, reason: 'size-bound', newestRemoved: '20261205-050000', kept: 2, keptBytes: 2000 });
    assert.equal(forgotten.length, 2, 'their notes in the index go too');
    await keeper.clean();
    assert.equal(pruned.length, 1, 'nothing more to do: no event');
  } finally {
    await keeper.stop();
    await rm(root, { recursive: true, force: true });
  }
});

test('makeRoom: concurrent calls prune once, oldest first; no room to be had says no', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ss-keeper-'));
  const pruned: ArchivePruned[] = [];
  const keeper = new ArchiveKeeper({ root, log: silentLogger(), now: () => NOW, onPruned: (p) => pruned.push(p) }, 30, 1e12);
  try {
    await archiveWithCopies(root, [3000, 2000, 1000]);
    const { total } = await diskSpace(root);
    // More than the disk holds: every copy goes, in one pass, and the write still cannot fit.
    const answers = await Promise.all([keeper.makeRoom(total * 2), keeper.makeRoom(total * 2)]);
    assert.deepEqual(answers, [true, false], 'the first call freed something; the second found nothing to free and no room');
    assert.equal(pruned.length, 1);
    assert.equal(pruned[0]!.reason, 'disk-space');
    assert.equal(pruned[0]!.removed, 3);
    assert.deepEqual(await listArchive(root), []);
    assert.equal(await keeper.makeRoom(1), true, 'room enough already: a retry can succeed');
  } finally {
    await keeper.stop();
    await rm(root, { recursive: true, force: true });
  }
});

test('retention is validated, and stop leaves no timer behind', async () => {
  const root = await mkdtemp(join(tmpdir(), 'ss-keeper-'));
  const keeper = new ArchiveKeeper({ root, log: silentLogger(), now: () => NOW });
  try {
    for (const [days, bytes] of [[-1, 0], [1, -1], [Number.NaN, 0], [1, Infinity]] as const) {
      assert.throws(() => keeper.setRetention(days, bytes), /must be a non-negative number/);
    }
    keeper.setRetention(7, 10);
    assert.deepEqual(keeper.retention, { days: 7, maxBytes: 10 });
    keeper.noteArchived();
    await keeper.stop();
    keeper.noteArchived(); // stopped: arms nothing
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
