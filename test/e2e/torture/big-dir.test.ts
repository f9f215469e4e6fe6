/**
 * Torture: one directory with very many files. Two real daemons, A → B.
 *
 * What a careful user expects on Linux: every file arrives with its content,
 * both folders end synced with equal counts, in bounded time; then deleting a
 * tenth of them on A removes exactly those on B.
 *
 * Size: SEALSYNC_TORTURE_FILES (default 5,000 — the CI size on a 2-core
 * machine); SEALSYNC_TORTURE_FULL=1 runs the 100,000 (by hand; the
 * timeouts scale with the count).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { scanSettled } from '../helpers/harness.js';
import { converge, startPair, synced, type Pair } from './pair.js';

const FILES = Number(process.env.SEALSYNC_TORTURE_FILES ?? (process.env.SEALSYNC_TORTURE_FULL === '1' ? 100_000 : 5_000));
/** Generous per-file budget on a loaded 2-core machine, plus a fixed minute. */
const TIMEOUT_MS = 60_000 + FILES * 12;

describe(`torture: ${FILES} files in one directory`, () => {
  let p: Pair;

  before(async () => {
    p = await startPair({
      connect: false,
      seedA: async (dir) => {
        await mkdir(join(dir, 'many'));
        // Blocking writes: ~10x faster than awaiting each one, and nothing else runs meanwhile.
        for (let i = 0; i < FILES; i++) writeFileSync(join(dir, 'many', `file-${String(i).padStart(6, '0')}.txt`), `file ${i}\n`);
      },
    });
  });
  after(() => p?.cleanup());

  test('every file arrives and both sides report equal counts; a tenth deleted on A goes on B', async (t) => {
    await p.a.waitForFolder(p.dirA, (f) => scanSettled(f) && f.localFiles === FILES, { timeoutMs: TIMEOUT_MS, description: 'A scanned' });
    const started = Date.now();
    await p.connect();
    const fb = await p.b.waitForFolder(p.dirB, (f) => synced(f) && f.localFiles === FILES, { timeoutMs: TIMEOUT_MS, intervalMs: 500, description: `B has ${FILES} files` });
    t.diagnostic(`${FILES} files A → B: ${Date.now() - started} ms`);
    await converge(p.dirA, p.dirB, 'trees equal', { timeoutMs: TIMEOUT_MS });
    assert.equal(fb.localFiles, (await p.folderA()).localFiles);
    for (let i = 0; i < FILES; i += 10) await rm(join(p.dirA, 'many', `file-${String(i).padStart(6, '0')}.txt`));
    await p.b.waitForFolder(p.dirB, (f) => synced(f) && f.localFiles === FILES - FILES / 10, { timeoutMs: TIMEOUT_MS, intervalMs: 500, description: 'deletes on B' });
    await converge(p.dirA, p.dirB, 'trees equal after the deletes', { timeoutMs: TIMEOUT_MS });
  });
});
