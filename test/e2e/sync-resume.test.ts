/**
 * Crash safety of the apply side: a puller killed with SIGKILL in the middle
 * of a large file leaves no partial file at the target path, and the next run
 * reuses the blocks already written to the temp file instead of fetching them
 * again. Real processes, real index files on disk, real crypto.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { lstat, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { newFolderSecret } from '../../src/crypto/index.js';
import { TEMP_PREFIX } from '../../src/fs/temp-files.js';
import { makeTempDir, REPO_ROOT } from './helpers/harness.js';

const CHILD = join(REPO_ROOT, 'test', 'e2e', 'fixtures', 'sync-resume-child.ts');
const FILE_BYTES = 8 * 1024 * 1024; // 128 blocks of the test scanner's 64 KiB
const TOTAL_BLOCKS = FILE_BYTES / (64 * 1024);
const CHILD_TIMEOUT_MS = 60_000;

function runChild(args: string[], env: Record<string, string>, killAfterFetched?: number): Promise<{ out: string; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let killed = false;
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`child timed out: ${err}`)); }, CHILD_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /fetched (\d+)\n$/.exec(out);
      if (killAfterFetched !== undefined && !killed && m && Number(m[1]) >= killAfterFetched) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { err += d; });
    child.once('close', (code) => {
      clearTimeout(timer);
      if (!killed && code !== 0) reject(new Error(`child exited ${code}: ${err}`));
      else resolve({ out, killed });
    });
  });
}

test('kill -9 in the middle of a large file: no partial file, and the restart fetches only what was missing', async (t) => {
  const dir = await makeTempDir('ss-resume-');
  try {
    const env = { FOLDER_SECRET: Buffer.from(newFolderSecret()).toString('hex'), FILE_BYTES: String(FILE_BYTES) };
    await runChild(['seed', dir], env);
    const half = TOTAL_BLOCKS / 2;
    const first = await runChild(['pull', dir], { ...env, SLOW_MS: '5' }, half);
    assert.equal(first.killed, true, 'the first pull was killed mid-file');
    await assert.rejects(lstat(join(dir, 'b', 'large.bin')), 'no partial file at the target path');
    const temps = (await readdir(join(dir, 'b'))).filter((n) => n.startsWith(TEMP_PREFIX));
    assert.equal(temps.length, 1, 'the temp file of the interrupted transfer is kept');

    const second = await runChild(['pull', dir], env);
    const m = /done (\d+) (.*)\n/.exec(second.out);
    assert.ok(m, second.out);
    assert.equal(m[2], '[]', 'nothing failed');
    const refetched = Number(m[1]);
    t.diagnostic(`killed after ${half} of ${TOTAL_BLOCKS} blocks; the restart fetched ${refetched}`);
    assert.ok(refetched <= TOTAL_BLOCKS - half + 16, `the restart fetched ${refetched} of ${TOTAL_BLOCKS} blocks`);
    assert.ok(refetched > 0);
    assert.deepEqual(await readFile(join(dir, 'b', 'large.bin')), await readFile(join(dir, 'a', 'large.bin')));
    assert.deepEqual((await readdir(join(dir, 'b'))).filter((n) => n.startsWith(TEMP_PREFIX)), [], 'temp file gone after success');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
