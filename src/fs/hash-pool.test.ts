import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sealBlock } from '../crypto/sealed-block.js';
import { encodeSealedRecord, keysFromSecret, newFolderSecret, sealRecord } from '../crypto/index.js';
import { toHex } from '../crypto/bytes.js';
import { chunkBuffer, chunkParamsForSize } from './chunker.js';
import { gearTable } from './gear-table.js';
import { HashPool, INLINE_HASH_MAX_BYTES, defaultHashWorkers, type HashResult } from './hash-pool.js';
import { ReadBuffer, READ_BYTES, hashFileSync } from './hash-file-sync.js';
import { readAndSealBlock } from './block-reader.js';
import { pseudoRandomBytes } from './testing/test-data.js';

const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'sealsync-hashpool-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const key = pseudoRandomBytes(32, 99);
/** What the pool hashes with: the content key above and a chunk key for the folder's gear table. */
const scanKeys = { contentKey: key, chunkKey: pseudoRandomBytes(32, 98), sealIds: true };

function randomFile(name: string, size: number): string {
  const p = join(dir, name);
  const buf = Buffer.allocUnsafe(size);
  randomFillSync(buf);
  writeFileSync(p, buf);
  return p;
}

/** Single-threaded reference: whole file in memory, chunk, seal. */
function reference(path: string): { id: string; hash: string; size: number }[] {
  const data = readFileSync(path);
  let off = 0;
  return chunkBuffer(data, chunkParamsForSize(data.length), gearTable(scanKeys.chunkKey)).map((len) => {
    const b = sealBlock(key, data.subarray(off, off + len));
    off += len;
    return { id: toHex(b.id), hash: toHex(b.hash), size: len };
  });
}

function asHex(r: HashResult): { id: string | null; hash: string; size: number }[] {
  return r.blocks.map((b) => ({ id: b.id === null ? null : toHex(b.id), hash: toHex(b.hash), size: b.size }));
}

test('pool results equal the single-threaded reference', async () => {
  const files = [
    randomFile('empty', 0),
    randomFile('one', 1),
    randomFile('small', 100_000),
    randomFile('reads', 2 * READ_BYTES + 12_345), // chunks straddle read boundaries
    randomFile('mid', 9 * MiB),
  ];
  const pool = new HashPool({ workers: 2 });
  pool.start();
  try {
    const results = await Promise.all(files.map((f) => pool.hashFile(f, scanKeys)));
    results.forEach((r, i) => {
      const f = files[i]!;
      assert.deepEqual(asHex(r), reference(f), f);
      assert.equal(r.size, readFileSync(f).length);
      assert.equal(r.changed, false);
      assert.equal(Number.isInteger(r.mtimeMs), true);
    });
    assert.equal(results[0]!.blocks.length, 0, 'empty file has no blocks');
    assert.ok(results[4]!.blocks.length > 20, 'a 9 MiB file has many blocks');
  } finally {
    await pool.stop();
  }
});

test('without sealIds the pool gives the same chunks and plaintext hashes and withholds every id', async () => {
  const files = [randomFile('w-one', 1), randomFile('w-small', 100_000), randomFile('w-mid', 3 * MiB + 7)];
  const pool = new HashPool({ workers: 2 });
  pool.start();
  try {
    const results = await Promise.all(files.map((f) => pool.hashFile(f, { ...scanKeys, sealIds: false })));
    results.forEach((r, i) => {
      const f = files[i]!;
      assert.deepEqual(asHex(r), reference(f).map((b) => ({ ...b, id: null })), f);
    });
    // Inline (small files on the calling thread) takes the same path.
    const inline = await pool.hashFile(files[0]!, { ...scanKeys, sealIds: false }, { sizeHint: 1 });
    assert.deepEqual(asHex(inline), reference(files[0]!).map((b) => ({ ...b, id: null })));
  } finally {
    await pool.stop();
  }
});

test('a file that changes while it is read is reported as changed', async () => {
  const buffer = new ReadBuffer();
  const size = 3 * READ_BYTES;
  const cases: Array<[string, (p: string) => void]> = [
    ['grows', (p) => appendFileSync(p, 'more')],
    ['shrinks', (p) => truncateSync(p, READ_BYTES)],
    ['mtime', (p) => utimesSync(p, new Date(), new Date(Date.now() + 5000))],
    ['replaced', (p) => { writeFileSync(`${p}.new`, 'x'); renameSync(`${p}.new`, p); }],
  ];
  for (const [name, mutate] of cases) {
    const p = randomFile(`change-${name}`, size);
    let reads = 0;
    // The cancel hook runs after every read: mutate the file after the first one.
    const r = hashFileSync(p, scanKeys, buffer, () => {
      if (++reads === 1) mutate(p);
      return false;
    });
    assert.equal(r.changed, true, name);
  }
  // And unchanged through the pool while another file is appended to concurrently.
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    const p = randomFile('appending', 48 * MiB);
    let writes = 0;
    const timer = setInterval(() => { if (writes++ < 1000) appendFileSync(p, 'x'); }, 2);
    const r = await pool.hashFile(p, scanKeys).finally(() => clearInterval(timer));
    assert.equal(r.changed, true);
    const still = randomFile('still', 5 * MiB);
    assert.equal((await pool.hashFile(still, scanKeys)).changed, false);
  } finally {
    await pool.stop();
  }
});

test('abort: queued, running and already-aborted jobs reject with ERR_ABORTED', async () => {
  const big = randomFile('big-abort', 96 * MiB);
  const small = randomFile('small-abort', 1000);
  // inlineMaxBytes 0: the small job must really wait in the queue behind the big one
  const pool = new HashPool({ workers: 1, inlineMaxBytes: 0 });
  pool.start();
  try {
    assert.ok(AbortSignal.abort().aborted);
    await assert.rejects(pool.hashFile(small, scanKeys, { signal: AbortSignal.abort() }), { code: 'ERR_ABORTED' });
    const running = new AbortController();
    const queued = new AbortController();
    const t0 = performance.now();
    const first = pool.hashFile(big, scanKeys, { signal: running.signal });
    const second = pool.hashFile(small, scanKeys, { signal: queued.signal });
    queued.abort();
    await assert.rejects(second, { code: 'ERR_ABORTED' });
    setTimeout(() => running.abort(), 30);
    await assert.rejects(first, { code: 'ERR_ABORTED' });
    // The worker lets go of the aborted job and serves the next one.
    const r = await pool.hashFile(small, scanKeys);
    assert.deepEqual(asHex(r), reference(small));
    assert.ok(performance.now() - t0 < 5000);
  } finally {
    await pool.stop();
  }
});

test('small files are hashed inline: same blocks, not stuck behind a busy worker', async () => {
  const big = randomFile('big-inline', 64 * MiB);
  const small = randomFile('small-inline', INLINE_HASH_MAX_BYTES);
  const over = randomFile('over-inline', INLINE_HASH_MAX_BYTES + 1);
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    let bigDone = false;
    const first = pool.hashFile(big, scanKeys).then((r) => {
      bigDone = true;
      return r;
    });
    const r = await pool.hashFile(small, scanKeys);
    assert.equal(bigDone, false, 'the small file did not wait for the worker');
    assert.deepEqual(asHex(r), reference(small));
    assert.equal(pool.queued, 0);
    // one byte over the limit goes to the (busy) worker's queue
    const second = pool.hashFile(over, scanKeys);
    assert.equal(pool.queued, 1);
    assert.deepEqual(asHex(await second), reference(over));
    assert.deepEqual(asHex(await first), reference(big));
    await assert.rejects(pool.hashFile(join(dir, 'missing-inline'), scanKeys), { code: 'ERR_PATH_MISSING' });
  } finally {
    await pool.stop();
  }
});

test('record checks are refused while every worker hashes (the caller checks inline), and taken once one is free', async () => {
  const big = randomFile('big-busy', 64 * MiB);
  const folder = keysFromSecret(newFolderSecret());
  const records = Array.from({ length: 20 }, (_, i) => encodeSealedRecord(sealRecord(folder, {
    path: `f${i}.txt`, kind: 'file', size: 0, mtimeMs: 0, mode: 0o644, blocks: [], version: [{ id: '0123456789abcdef', value: 1 }], deleted: false,
  })));
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    const hashing = pool.hashFile(big, scanKeys);
    // The only worker is on a 64 MiB file: queued behind it, the check would wait for the whole file.
    await assert.rejects(pool.checkRecords(folder, records, { open: false }), { code: 'ERR_QUEUE_FULL' });
    assert.equal(pool.queued, 0, 'the refused check was not queued');
    assert.deepEqual(asHex(await hashing), reference(big));
    const results = await pool.checkRecords(folder, records, { open: false });
    assert.equal(results.length, records.length);
    assert.ok(results.every((r) => r.ok), 'every record verified on the now idle worker');
  } finally {
    await pool.stop();
  }
});

test('workers start on first need: none for an idle pool or small files', async () => {
  const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
  const before = resources();
  const pool = new HashPool({ workers: 2 });
  pool.start();
  try {
    const small = randomFile('small-lazy', 1000);
    assert.deepEqual(asHex(await pool.hashFile(small, scanKeys)), reference(small));
    assert.deepEqual(resources(), before, 'no worker for an idle pool or an inline job');
    const big = randomFile('big-lazy', INLINE_HASH_MAX_BYTES * 4);
    const job = pool.hashFile(big, scanKeys);
    assert.notDeepEqual(resources(), before, 'a worker runs the large file');
    assert.deepEqual(asHex(await job), reference(big));
  } finally {
    await pool.stop();
  }
  assert.deepEqual(resources(), before);
});

test('idle workers are retired after idleMs and spawned again on the next large file', async () => {
  const pool = new HashPool({ workers: 2, idleMs: 50 });
  pool.start();
  try {
    const big = randomFile('big-idle', INLINE_HASH_MAX_BYTES * 4);
    assert.deepEqual(asHex(await pool.hashFile(big, scanKeys)), reference(big));
    assert.equal(pool.liveWorkers, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(pool.liveWorkers, 0, 'retired after the idle time');
    const again = pool.hashFile(big, scanKeys);
    assert.equal(pool.liveWorkers, 1);
    assert.deepEqual(asHex(await again), reference(big));
  } finally {
    await pool.stop();
  }
  assert.equal(pool.liveWorkers, 0);
});

test('sizeHint picks inline vs worker without an lstat; a stale hint still gives the real blocks and errors', async () => {
  const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
  const before = resources();
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    // the file grew past the inline limit after the walk's lstat: hashed inline, all of it
    const grown = randomFile('grown-hint', INLINE_HASH_MAX_BYTES * 3);
    const r = await pool.hashFile(grown, scanKeys, { sizeHint: 10 });
    assert.equal(r.size, INLINE_HASH_MAX_BYTES * 3);
    assert.deepEqual(asHex(r), reference(grown));
    assert.deepEqual(resources(), before, 'a small hint runs inline: no worker');
    const target = randomFile('target-hint', 10);
    symlinkSync(target, join(dir, 'link-hint'));
    await assert.rejects(pool.hashFile(join(dir, 'link-hint'), scanKeys, { sizeHint: 10 }), { code: 'ERR_PATH_UNSAFE' });
    await assert.rejects(pool.hashFile(dir, scanKeys, { sizeHint: 0 }), { code: 'ERR_PATH_UNSAFE' });
    await assert.rejects(pool.hashFile(join(dir, 'gone-hint'), scanKeys, { sizeHint: 5 }), { code: 'ERR_PATH_MISSING' });
  } finally {
    await pool.stop();
  }
});

test('stop rejects pending jobs and leaves no worker behind', async () => {
  const before = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
  const big = randomFile('big-stop', 64 * MiB);
  const pool = new HashPool({ workers: 2, maxQueue: 2 });
  pool.start();
  const jobs = [pool.hashFile(big, scanKeys), pool.hashFile(big, scanKeys), pool.hashFile(big, scanKeys), pool.hashFile(big, scanKeys)];
  await assert.rejects(pool.hashFile(big, scanKeys), { code: 'ERR_QUEUE_FULL' });
  const settled = Promise.allSettled(jobs);
  await pool.stop();
  for (const s of await settled) {
    assert.equal(s.status, 'rejected');
    assert.equal((s as PromiseRejectedResult).reason.code, 'ERR_ABORTED');
  }
  await assert.rejects(pool.hashFile(big, scanKeys), { code: 'ERR_ABORTED' });
  const afterStop = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').sort();
  assert.deepEqual(afterStop, before);
});

test('unreadable, missing and non-regular paths fail with catalog errors', async () => {
  const pool = new HashPool({ workers: 1 });
  pool.start();
  try {
    await assert.rejects(pool.hashFile(join(dir, 'nope'), scanKeys), (e: { code: string; data: { errno: string } }) =>
      e.code === 'ERR_PATH_MISSING' && e.data.errno === 'ENOENT');
    const target = randomFile('target', 10);
    symlinkSync(target, join(dir, 'link'));
    await assert.rejects(pool.hashFile(join(dir, 'link'), scanKeys), { code: 'ERR_PATH_UNSAFE' });
    await assert.rejects(pool.hashFile(dir, scanKeys), { code: 'ERR_PATH_UNSAFE' });
    const fifo = join(dir, 'fifo');
    if (spawnSync('mkfifo', [fifo]).status === 0) {
      // O_NONBLOCK: opening a FIFO with no writer must not hang the worker.
      await assert.rejects(pool.hashFile(fifo, scanKeys), { code: 'ERR_PATH_UNSAFE' });
    }
    assert.equal((await pool.hashFile(target, scanKeys)).size, 10, 'pool still works after errors');
  } finally {
    await pool.stop();
  }
});

test('readAndSealBlock serves a verified block and refuses a changed one', async () => {
  const p = randomFile('serve', 2 * MiB);
  const ref = readFileSync(p);
  const buffer = new ReadBuffer();
  const r = hashFileSync(p, scanKeys, buffer);
  const off = r.sizes[0]!;
  const size = r.sizes[1]!;
  const expected = { id: r.ids.subarray(32, 64), hash: r.hashes.subarray(32, 64) };
  const sealed = await readAndSealBlock(p, off, size, key, expected);
  assert.deepEqual(sealed, sealBlock(key, ref.subarray(off, off + size)).sealed);
  const changed = Buffer.from(ref);
  changed[off + 5] = changed[off + 5]! ^ 1;
  writeFileSync(p, changed);
  await assert.rejects(readAndSealBlock(p, off, size, key, expected), { code: 'ERR_FILE_CHANGED' });
  await assert.rejects(readAndSealBlock(p, ref.length, 10, key, expected), { code: 'ERR_FILE_CHANGED' });
  await assert.rejects(readAndSealBlock(p, 0, -1, key, expected), { code: 'ERR_INVALID_ARGUMENT' });
  await assert.rejects(readAndSealBlock(join(dir, 'gone'), 0, 1, key, expected), { code: 'ERR_PATH_MISSING' });
});

test('the compiled pool (dist layout, plain node, no tsx) gives the same blocks', () => {
  const out = mkdtempSync(join(tmpdir(), 'sealsync-hashpool-dist-'));
  try {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const src = join(here, '..');
    const tsc = join(src, '..', 'node_modules', 'typescript', 'bin', 'tsc');
    const build = spawnSync(process.execPath, [
      tsc, '--outDir', out, '--rootDir', src, '--module', 'NodeNext', '--moduleResolution', 'NodeNext',
      '--target', 'ES2022', '--strict', '--skipLibCheck', '--types', 'node',
      join(here, 'hash-pool.ts'), join(here, 'hash-worker.ts'),
    ], { encoding: 'utf8' });
    assert.equal(build.status, 0, build.stdout + build.stderr);
    writeFileSync(join(out, 'package.json'), '{"type":"module"}');
    const file = randomFile('dist-check', 3 * MiB);
    const script = `
      const { HashPool } = await import(${JSON.stringify(join(out, 'fs', 'hash-pool.js'))});
      const pool = new HashPool({ workers: 1 }); pool.start();
      const keys = { contentKey: new Uint8Array(${JSON.stringify([...key])}), chunkKey: new Uint8Array(${JSON.stringify([...scanKeys.chunkKey])}), sealIds: true };
      const r = await pool.hashFile(${JSON.stringify(file)}, keys);
      await pool.stop();
      console.log(JSON.stringify(r.blocks.map((b) => Buffer.from(b.id).toString('hex'))));`;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), reference(file).map((b) => b.id));
    // A pool nobody stopped must not keep the process alive once idle.
    const forgotten = `
      const { HashPool } = await import(${JSON.stringify(join(out, 'fs', 'hash-pool.js'))});
      const pool = new HashPool({ workers: 2 }); pool.start();
      await pool.hashFile(${JSON.stringify(file)}, { contentKey: new Uint8Array(32), chunkKey: new Uint8Array(32), sealIds: true });`;
    const idle = spawnSync(process.execPath, ['--input-type=module', '-e', forgotten], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(idle.signal, null, 'process exited on its own');
    assert.equal(idle.status, 0, idle.stderr);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test('the default worker count leaves the main thread a core', () => {
  assert.deepEqual([0, 1, 2, 3, 4, 8, 9, 64].map(defaultHashWorkers), [1, 1, 1, 2, 3, 7, 8, 8]);
});
