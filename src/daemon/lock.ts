/**
 * The daemon's exclusive lock on a home: `daemon.lock` holds the owner's pid
 * (fs/pid-lock.ts). A live pid means another daemon runs on this home:
 * ERR_DAEMON_RUNNING.
 */
import { SealsyncError } from '../errors.js';
import { acquirePidLock, type PidLock } from '../fs/pid-lock.js';

export { isProcessAlive, readLockPid } from '../fs/pid-lock.js';
export type DaemonLock = PidLock;

const DAEMON_LOCK_ERRORS = {
  heldBy: (pid: number) => new SealsyncError('ERR_DAEMON_RUNNING', `a daemon is already running on this home (pid ${pid})`, { pid }),
  busy: () => new SealsyncError('ERR_DAEMON_RUNNING', 'could not take the daemon lock (another daemon is starting?)'),
};

export function acquireLock(path: string, pid = process.pid): Promise<DaemonLock> {
  return acquirePidLock(path, DAEMON_LOCK_ERRORS, pid);
}
