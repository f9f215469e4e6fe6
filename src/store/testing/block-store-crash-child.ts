/**
 * Child process for the block store's kill -9 test (block-store.test.ts): stores
 * random blocks in small packs, removes some and compacts, and reports each
 * step on stdout only once it returned, until the parent kills it:
 *   `+<id>` stored (put resolved), `?<id>` remove starting, `-<id>` removed.
 * Not imported by production code.
 */
import { randomInt } from 'node:crypto';
import { writeSync } from 'node:fs';
import { BlockStore } from '../block-store.js';
import { fakeBlock, sha256Verifier } from './store-helpers.js';

/** Small packs, so rotation and compaction happen within a few dozen blocks. */
const CHILD_PACK_BYTES = 256 * 1024;
/** Blocks in flight at once (the replica has up to 64; a few make batches of several). */
const CHILD_WAVE = 6;

const root = process.argv[2];
if (root === undefined) throw new Error('usage: block-store-crash-child ROOT');
const store = await BlockStore.open({ root, verifyBlock: sha256Verifier, packTargetBytes: CHILD_PACK_BYTES });
const say = (line: string): void => {
  writeSync(1, `${line}\n`);
};
const held: string[] = [];
for (let round = 0; ; round++) {
  const wave = Array.from({ length: CHILD_WAVE }, () => fakeBlock(randomInt(1, 64 * 1024)));
  await Promise.all(wave.map(async (b) => {
    await store.put(b.id, b.data);
    held.push(b.hex);
    say(`+${b.hex}`);
  }));
  if (round % 2 === 1) {
    for (let i = 0; i < CHILD_WAVE && held.length > 0; i++) {
      const [hex] = held.splice(randomInt(0, held.length), 1);
      if (hex === undefined) continue;
      say(`?${hex}`);
      await store.remove(hex, 'live');
      say(`-${hex}`);
    }
    await store.compact();
  }
}
