/**
 * Store-only CPU of the encrypted peer's block store: puts N sealed-block-sized
 * buffers (the caller already verified them, as the replica's fetcher does),
 * then reads every one back through `get` (which verifies it). Prints CPU
 * seconds (user+system) of each phase. Run it on an otherwise idle machine:
 *   npx tsx bench/store-cpu.ts [blocks=2048] [blockKiB=128]
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlockStore } from '../src/store/block-store.js';
import { sha256Verifier } from '../src/store/testing/store-helpers.js';

const count = Number(process.argv[2] ?? 2048);
const size = Number(process.argv[3] ?? 128) * 1024;
const blocks = Array.from({ length: count }, () => {
  const data = new Uint8Array(randomBytes(size));
  return { id: new Uint8Array(createHash('sha256').update(data).digest()), data };
});
const dir = await mkdtemp(join(tmpdir(), 'sealsync-store-cpu-'));
const cpu = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
try {
  const store = await BlockStore.open({ root: join(dir, 'store'), verifyBlock: sha256Verifier });
  let t = cpu();
  let w = performance.now();
  // The replica keeps up to 64 fetches in flight: put in waves of 64.
  for (let i = 0; i < count; i += 64) await Promise.all(blocks.slice(i, i + 64).map((b) => store.put(b.id, b.data, { verified: true })));
  const putCpu = cpu() - t;
  const putWall = performance.now() - w;
  t = cpu();
  w = performance.now();
  for (const b of blocks) if ((await store.get(b.id)) === null) throw new Error('block missing');
  const getCpu = cpu() - t;
  const getWall = performance.now() - w;
  await store.close();
  console.log(JSON.stringify({ blocks: count, blockKiB: size / 1024, putCpuS: +putCpu.toFixed(3), putWallS: +(putWall / 1000).toFixed(3), getVerifyCpuS: +getCpu.toFixed(3), getWallS: +(getWall / 1000).toFixed(3) }));
} finally {
  await rm(dir, { recursive: true, force: true });
}
