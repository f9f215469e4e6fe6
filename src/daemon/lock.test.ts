import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isSealsyncError } from '../errors.js';
import { acquireLock, isProcessAlive } from './lock.js';

/** A pid that is certainly dead: a child that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(r.stdout.toString());
}

test('one holder at a time; release removes the file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-lock-'));
  try {
    const path = join(dir, 'daemon.lock');
    const lock = await acquireLock(path);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    // Another live process (our parent stands in for a second daemon) holds it.
    await writeFile(path, `${process.ppid}\n`);
    await assert.rejects(acquireLock(path), (e: unknown) => isSealsyncError(e, 'ERR_DAEMON_RUNNING'));
    await writeFile(path, `${process.pid}\n`);
    await lock.release();
    await assert.rejects(stat(path));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a lock from a dead pid or with garbage is taken over', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-lock-'));
  try {
    const path = join(dir, 'daemon.lock');
    const dead = deadPid();
    assert.equal(isProcessAlive(dead), false);
    await writeFile(path, `${dead}\n`);
    const lock = await acquireLock(path);
    assert.equal((await readFile(path, 'utf8')).trim(), String(process.pid));
    await lock.release();
    await writeFile(path, 'garbage');
    const lock2 = await acquireLock(path);
    await lock2.release();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('two starters racing over a stale lock: exactly one wins', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'ss-lock-'));
  try {
    const path = join(dir, 'daemon.lock');
    // Stand-ins for two live processes: ours and our parent.
    const dead = deadPid();
    for (let round = 0; round < 20; round++) {
      await writeFile(path, `${dead}\n`);
      const results = await Promise.allSettled([acquireLock(path, process.pid), acquireLock(path, process.ppid)]);
      const won = results.filter((r) => r.status === 'fulfilled');
      assert.equal(won.length, 1, `round ${round}: ${results.map((r) => r.status).join(',')}`);
      const loser = results.find((r) => r.status === 'rejected');
      assert.ok(loser && isSealsyncError(loser.reason, 'ERR_DAEMON_RUNNING'));
      await rm(path);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
