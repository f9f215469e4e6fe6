/**
 * Torture: a folder that already exists on both devices before it is shared
 * (copied over by hand first: some files with their mtimes, some without),
 * and a copy made by hand while the two already sync. Both folders are added
 * and the peers connected at once, while both still scan.
 *
 * What a careful user expects on Linux:
 * - Identical files (same content, whatever their mtimes) are not conflicts:
 *   no conflict copy, nothing archived, and they are not transferred again —
 *   bytes on the wire stay far below the data both sides already hold.
 *   Files copied with their mtime are not even rewritten (same inode on B).
 * - A file only one side has arrives on the other.
 * - A file whose content differs on the two sides is a real conflict: both
 *   contents survive, one under the name and one as a conflict copy, the same
 *   on both sides.
 * - Copying by hand onto B the files B is pulling from A at that moment: no
 *   conflict copy, no temp file left, the same tree on both sides.
 * - Both end synced, with the same tree and no temp file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { converge, readTree, startPair, type Entry, type Pair } from './pair.js';

const SMALL = 200;
const BIG_BYTES = 8 * 1024 * 1024;
const LATE_FILES = 300;

describe('torture: a folder that exists on both sides before it is shared', () => {
  let p: Pair;
  let beforeB: Map<string, Entry>;

  before(async () => {
    p = await startPair({
      seedA: async (dir) => {
        await mkdir(join(dir, 'kept-mtime'));
        await mkdir(join(dir, 'new-mtime'));
        for (let i = 0; i < SMALL; i++) {
          await writeFile(join(dir, i % 2 ? 'kept-mtime' : 'new-mtime', `f${i}.txt`), `same on both ${i}\n`.repeat(20));
        }
        await writeFile(join(dir, 'kept-mtime', 'big.bin'), randomBytes(BIG_BYTES));
        await writeFile(join(dir, 'only-on-a.txt'), 'A alone');
        await writeFile(join(dir, 'differs.txt'), 'the A version');
      },
      seedB: async (dir) => {
        const dirA = join(dir, '..', 'fa');
        // coreutils cp, as a user would: `cp -a` keeps nanosecond mtimes (Node's cp rounds them to the millisecond).
        execFileSync('cp', ['-a', join(dirA, 'kept-mtime'), join(dir, 'kept-mtime')]);
        execFileSync('cp', ['-r', join(dirA, 'new-mtime'), join(dir, 'new-mtime')]);
        await writeFile(join(dir, 'only-on-b.txt'), 'B alone');
        await writeFile(join(dir, 'differs.txt'), 'the B version, different');
        beforeB = await readTree(dir);
      },
    });
  });
  after(() => p?.cleanup());

  test('identical files are neither conflicts nor transferred again; the rest merges', async () => {
    const treeB = await converge(p.dirA, p.dirB, 'both sides merged');
    await p.bothSynced('merged');
    const paths = [...treeB.keys()];
    const conflicts = paths.filter((k) => k.includes('sync-conflict'));
    assert.equal(conflicts.length, 1, `one conflict copy, for differs.txt only: ${conflicts.join(', ')}`);
    assert.ok(conflicts[0]?.startsWith('differs.sync-conflict-'), conflicts[0]);
    const contents = [await readFile(join(p.dirB, 'differs.txt'), 'utf8'), await readFile(join(p.dirB, conflicts[0]!), 'utf8')].sort();
    assert.deepEqual(contents, ['the A version', 'the B version, different']);
    assert.ok(treeB.has('only-on-a.txt') && treeB.has('only-on-b.txt'));
    // Not rewritten: files copied with their mtimes keep their inode on B.
    const rewritten = [...beforeB].filter(([k, e]) => k.startsWith('kept-mtime/') && e.kind === 'file' && treeB.get(k)?.ino !== e.ino).map(([k]) => k);
    assert.deepEqual(rewritten, [], 'identical files with equal mtimes are not rewritten');
    // Nothing archived for identical files on either side.
    for (const dir of [p.dirA, p.dirB]) {
      const archived = await readdir(join(dir, '.sealsync', 'archive'), { recursive: true }).catch(() => [] as string[]);
      assert.deepEqual(archived.filter((n) => /f\d+~|big~/.test(String(n))), [], `nothing identical archived in ${dir}`);
    }
    // Not transferred again: far less than the 8 MiB both already hold went over the wire.
    const peer = (await p.b.status()).peers[0];
    assert.ok(peer && peer.inBytes + peer.outBytes < BIG_BYTES / 4, `bytes on the wire: in ${peer?.inBytes}, out ${peer?.outBytes}`);
  });

  test('a copy by hand onto B of what B is pulling right then: no conflict copy, no temp file', async () => {
    await mkdir(join(p.dirA, 'late'));
    for (let i = 0; i < LATE_FILES; i++) await writeFile(join(p.dirA, 'late', `l${i}.txt`), `late copy ${i}\n`.repeat(50));
    await cp(join(p.dirA, 'late'), join(p.dirB, 'late'), { recursive: true, force: false, errorOnExist: false });
    const treeB = await converge(p.dirA, p.dirB, 'the late copy settled');
    await p.bothSynced('after the late copy');
    assert.deepEqual([...treeB.keys()].filter((k) => k.startsWith('late/') && k.includes('sync-conflict')), []);
    assert.equal([...treeB.keys()].filter((k) => k.startsWith('late/')).length, LATE_FILES);
  });
});
