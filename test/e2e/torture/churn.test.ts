/**
 * Torture: folders that change while they sync. Two real daemons, read-write.
 *
 * What a careful user expects on Linux:
 * - A file that grows while it syncs (a log, a download in progress): B never
 *   shows, under the real name, bytes A never had — each state of B's file
 *   is a prefix of A's (A only appends). Once A stops writing, B gets the
 *   final content, and no temp file is left on either side.
 * - Rename and delete storms (hundreds of renames, deletes, a directory
 *   rename and re-creations in a burst on A, while B deletes in another
 *   directory at the same time): both end with the same tree, nothing that
 *   was kept on one side is lost, no conflict copies (no path was edited on
 *   both sides), no temp files, both folders report synced.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { converge, readTree, sleep, startPair, type Pair } from './pair.js';

const GROW_STEPS = 60;
const GROW_STEP_BYTES = 64 * 1024;
const GROW_INTERVAL_MS = 50;
const STORM_FILES = 300;

describe('torture: changes during sync', () => {
  let p: Pair;

  before(async () => {
    p = await startPair({
      seedA: async (dir) => {
        await mkdir(join(dir, 'storm-a'));
        await mkdir(join(dir, 'storm-b'));
        for (let i = 0; i < STORM_FILES; i++) {
          await writeFile(join(dir, 'storm-a', `f${i}.txt`), `a ${i}`);
          await writeFile(join(dir, 'storm-b', `f${i}.txt`), `b ${i}`);
        }
      },
    });
    await converge(p.dirA, p.dirB, 'initial sync');
  });
  after(() => p?.cleanup());

  test('a file that grows while it syncs: B only ever shows a prefix of A, then the final content', async () => {
    const name = 'growing.log';
    let step = 0;
    let writing = true;
    const writer = (async () => {
      for (; step < GROW_STEPS; step++) {
        await appendFile(join(p.dirA, name), Buffer.alloc(GROW_STEP_BYTES, 0x41 + (step % 26)));
        await sleep(GROW_INTERVAL_MS);
      }
      writing = false;
    })();
    let samples = 0;
    let seen = 0;
    while (writing) {
      const b = await readFile(join(p.dirB, name)).catch(() => null);
      samples++;
      if (b !== null) {
        seen++;
        const a = await readFile(join(p.dirA, name));
        assert.ok(b.length <= a.length && a.subarray(0, b.length).equals(b), `B's ${b.length} bytes are a prefix of A's ${a.length}`);
      }
      await sleep(100);
    }
    await writer;
    const treeB = await converge(p.dirA, p.dirB, 'the final content on B');
    assert.equal(treeB.get(name)?.size, GROW_STEPS * GROW_STEP_BYTES);
    assert.ok(samples > 10, `sampled B ${samples} times while A wrote (${seen} with the file present)`);
  });

  test('rename and delete storms on both sides end in one tree, nothing lost, no conflicts', async () => {
    // A: rename every file, delete every third, then rename the directory and re-create some old names.
    const stormA = (async () => {
      for (let i = 0; i < STORM_FILES; i++) {
        if (i % 3 === 0) await rm(join(p.dirA, 'storm-a', `f${i}.txt`));
        else await rename(join(p.dirA, 'storm-a', `f${i}.txt`), join(p.dirA, 'storm-a', `renamed-${i}.txt`));
      }
      await rename(join(p.dirA, 'storm-a'), join(p.dirA, 'storm-a2'));
      await mkdir(join(p.dirA, 'storm-a'));
      for (let i = 0; i < 30; i++) await writeFile(join(p.dirA, 'storm-a', `f${i}.txt`), `a again ${i}`);
    })();
    // B at the same time: delete half of storm-b, rename a quarter.
    const stormB = (async () => {
      for (let i = 0; i < STORM_FILES; i++) {
        if (i % 2 === 0) await rm(join(p.dirB, 'storm-b', `f${i}.txt`));
        else if (i % 4 === 1) await rename(join(p.dirB, 'storm-b', `f${i}.txt`), join(p.dirB, 'storm-b', `moved-${i}.txt`));
      }
    })();
    await Promise.all([stormA, stormB]);
    const treeB = await converge(p.dirA, p.dirB, 'both storms settled', { timeoutMs: 90_000 });
    await p.bothSynced('after the storms');
    const paths = [...treeB.keys()];
    assert.deepEqual(paths.filter((k) => k.includes('sync-conflict')), [], 'no conflict copies');
    // Exactly the expected survivors, with their content.
    for (let i = 0; i < STORM_FILES; i++) {
      assert.equal(treeB.has(`storm-a2/renamed-${i}.txt`), i % 3 !== 0, `storm-a2/renamed-${i}.txt`);
      const bName = i % 2 === 0 ? null : i % 4 === 1 ? `storm-b/moved-${i}.txt` : `storm-b/f${i}.txt`;
      if (bName) assert.ok(treeB.has(bName), bName);
    }
    assert.equal(paths.filter((k) => k.startsWith('storm-a/')).length, 30);
    assert.equal(paths.filter((k) => k.startsWith('storm-b/')).length, STORM_FILES / 2);
    const treeA = await readTree(p.dirA);
    assert.equal(await readFile(join(p.dirA, 'storm-a2', 'renamed-1.txt'), 'utf8'), 'a 1');
    assert.equal(treeA.size, treeB.size);
  });
});
