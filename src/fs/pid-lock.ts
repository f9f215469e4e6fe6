/**
 * An exclusive lock between processes: a file holding the owner's pid.
 * Created with O_EXCL so two processes cannot both win; a lock left by a dead
 * process (kill -9, power loss) is taken over. A live pid means another
 * process holds it: the caller's `heldBy` error. Used for the daemon's home
 * (`daemon.lock`) and for each encrypted folder's block store (`store.lock`).
 */
import { open, readFile, stat, unlink } from 'node:fs/promises';
import type { SealsyncError } from '../errors.js';

/** Attempts to take over a stale lock before giving up (another starter may race us). */
const MAX_LOCK_ATTEMPTS = 50;
/** A takeover takes milliseconds; a guard this old belongs to a process that died mid-takeover. */
const GUARD_STALE_MS = 10_000;
const GUARD_RETRY_MS = 20;
const MAX_LOCK_FILE_BYTES = 64;

export interface PidLock {
  readonly path: string;
  release(): Promise<void>;
}

export interface PidLockErrors {
  /** Another live process holds the lock. */
  heldBy(pid: number): SealsyncError;
  /** Every takeover attempt lost a race (another process is taking it right now). */
  busy(): SealsyncError;
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

export async function acquirePidLock(path: string, errors: PidLockErrors, pid = process.pid): Promise<PidLock> {
  for (let attempt = 0; attempt < MAX_LOCK_ATTEMPTS; attempt++) {
    if (await tryCreate(path, pid)) return { path, release: () => releaseLock(path, pid) };
    const owner = await readLockPid(path);
    if (owner !== null && owner !== pid && isProcessAlive(owner)) throw errors.heldBy(owner);
    // Stale: dead owner, or a file left half-written by a crash. Two starters
    // may both see it stale; the takeover guard makes them take turns, so the
    // second one finds the first one's live lock instead of deleting it.
    const guard = await takeGuard(`${path}.takeover`);
    if (!guard) continue;
    try {
      const again = await readLockPid(path);
      if (again !== null && again !== pid && isProcessAlive(again)) throw errors.heldBy(again);
      await unlink(path).catch(() => undefined);
      if (await tryCreate(path, pid)) return { path, release: () => releaseLock(path, pid) };
    } finally {
      await unlink(`${path}.takeover`).catch(() => undefined);
    }
  }
  throw errors.busy();
}

async function tryCreate(path: string, pid: number): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    await fh.writeFile(`${pid}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  return true;
}

/** Exclusive takeover guard; a guard older than GUARD_STALE_MS was left by a crash and is removed. */
async function takeGuard(guardPath: string): Promise<boolean> {
  try {
    await (await open(guardPath, 'wx', 0o600)).close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = await stat(guardPath).catch(() => null);
  if (st && Date.now() - st.mtimeMs > GUARD_STALE_MS) await unlink(guardPath).catch(() => undefined);
  await new Promise((r) => setTimeout(r, GUARD_RETRY_MS));
  return false;
}

async function releaseLock(path: string, pid: number): Promise<void> {
  // Only remove the lock if it is still ours.
  if ((await readLockPid(path)) === pid) await unlink(path).catch(() => undefined);
}
