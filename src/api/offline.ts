/**
 * What the CLI may use without a running daemon: the one door from src/cli
 * into the daemon's internals (the CLI talks to a running daemon only over
 * the control socket, api/control-client.ts).
 *
 * - home resolution (`--home`, SEALSYNC_HOME, the default): resolveHome, homePaths;
 * - `init`, and `start` on a fresh machine: loadInitHome;
 * - `start`: applyDaemonHeapFlags (before the daemon's modules load), loadDaemonHost;
 * - `stop`: readLockPid, isProcessAlive (waiting until the daemon let go of the home);
 * - `passwd` and `config set` with no daemon running: acquireLock, loadConfig,
 *   saveConfig (cli/commands/config-file.ts), and the password rules and hash
 *   of the dashboard (web-auth/password-hash.ts).
 *
 * It lives in src/api, not src/daemon, because `start` runs the daemon host
 * (api/daemon-host.ts), which is above the daemon. The loaders are functions:
 * the daemon and its identity code load only for the commands that need them,
 * not for every CLI call.
 */
export { homePaths, resolveHome, type HomePaths } from '../daemon/home.js';
export { acquireLock, isProcessAlive, readLockPid } from '../daemon/lock.js';
export { loadConfig, saveConfig } from '../daemon/config-store.js';
export type { Config } from '../daemon/config-schema.js';
export { applyDaemonHeapFlags } from '../memory/daemon-heap.js';
export { hashPassword, validateNewPassword, MAX_PASSWORD_BYTES } from './web-auth/password-hash.js';

/** init-home.ts (initHome, isInitialised), loaded on use: identity and config schema are heavy for the other commands. */
export function loadInitHome(): Promise<typeof import('../daemon/init-home.js')> {
  return import('../daemon/init-home.js');
}

/** daemon-host.ts (startDaemonHost), loaded on use: every other command would pay for the whole daemon's start-up. */
export function loadDaemonHost(): Promise<typeof import('./daemon-host.js')> {
  return import('./daemon-host.js');
}
