/**
 * The daemon's exclusive lock on a home: `daemon.lock` holds the owner's pid.
 * Created with O_EXCL so two daemons cannot both win; a lock left by a dead
 * process (kill -9, power loss) is taken over. A live pid means another daemon
 * runs on this home: ERR_DAEMON_RUNNING.
 */
import { open, readFile, unlink } from 'node:fs/promises';
import { SealsyncError } from '../errors.js';

/** Attempts to take over a stale lock before giving up (another starter may race us). */
const MAX_LOCK_ATTEMPTS = 5;
const MAX_LOCK_FILE_BYTES = 64;

export interface DaemonLock {
  readonly path: string;
  release(): Promise<void>;
}

export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid recorded in a lock file, or null when absent or unreadable. */
export async function readLockPid(path: string): Promise<number | null> {
  try {
    const text = (await readFile(path, 'utf8')).slice(0, MAX_LOCK_FILE_BYTES).trim();
    return /^\d+$/.test(text) ? Number(text) : null;
  } catch {
    return null;
  }
}

export async function acquireLock(path: string, pid = process.pid): Promise<DaemonLock> {
  for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
    try {
      const fh = await open(path, 'wx', 0o600);
      try {
        await fh.writeFile(`${pid}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      return { path, release: () => releaseLock(path, pid) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readLockPid(path);
    if (owner !== null && owner !== pid && isProcessAlive(owner)) {
      throw new SealsyncError('ERR_DAEMON_RUNNING', `a daemon is already running on this home (pid ${owner})`, { pid: owner });
    }
    // Stale (dead owner, or a half-written file from a crash): remove and retry.
    // A half-written file is at most a few ms old; give its writer a moment first.
    if (owner === null) await new Promise((r) => setTimeout(r, 20));
    if (owner === null && (await readLockPid(path)) !== null) continue;
    await unlink(path).catch(() => undefined);
  }
  throw new SealsyncError('ERR_DAEMON_RUNNING', 'could not take the daemon lock (another daemon is starting?)');
}

async function releaseLock(path: string, pid: number): Promise<void> {
  // Only remove the lock if it is still ours.
  if ((await readLockPid(path)) === pid) await unlink(path).catch(() => undefined);
}
