/**
 * `server setup --invite -`: the step that joins the inviting laptop with a
 * server invite, through the daemon's own join route (`as: 'server'`), so
 * the server gets exactly what `device join --server` would give it: the
 * encrypted keys of the invite's folders, the laptop pinned by id, never a
 * keyring.
 *
 * On the machine (root `/`) the service that setup just restarted does the
 * join: it runs as the service user, so what it writes is the user's. With a
 * test or image tree (`--root DIR`) there is no service: a temporary daemon
 * is started from that home as the current user (the CLI's own `start`),
 * joins, and is stopped; then the folder paths it wrote (inside DIR) are
 * rebased to what the target system sees, and what it wrote is given to the
 * service user. The first start on the target re-indexes those folders (an
 * index row whose path changed is reset: running-folders.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ControlClient } from '../../api/control-client.js';
import type { JoinResult } from '../../api/daemon-api.js';
import { parseInviteCode } from '../../crypto/invite.js';
import { homePaths } from '../../daemon/home.js';
import { describeError, isSealsyncError, SealsyncError } from '../../errors.js';
import { updateConfigOffline } from './config-file.js';
import { JOIN_TIMEOUT_MS } from './device.js';
import type { Step } from './server-setup.js';

/** How long the daemon (the service just restarted, or the temporary one) may take to answer on its socket. */
export const DAEMON_READY_TIMEOUT_MS = 60_000;
const POLL_MS = 200;
/** A temporary daemon gets this long to stop cleanly before it is killed. */
const STOP_TIMEOUT_MS = 30_000;
const STDERR_TAIL_BYTES = 2048;
const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;
/** Files given to the service user after a temporary daemon ran as root (a home and a few fresh stores). */
const MAX_CHOWN_ENTRIES = 100_000;

/** The invite code from stdin or the argument, checked now: a bad one is refused before setup changes anything. */
export function checkServerInvite(text: string): string {
  parseInviteCode(text);
  return text.trim();
}

export interface InviteJoinOptions {
  /** '/' for this machine (the service joins), else a tree where a temporary daemon joins. */
  readonly root: string;
  /** The server's home and store as the target sees them. */
  readonly home: string;
  readonly store: string;
  readonly code: string;
  /** The service user's uid and gid in root's /etc/passwd (a temporary daemon's files go to it). */
  readonly owner: () => Promise<{ uid: number; gid: number }>;
  /** One line for the user (nothing with --json). */
  readonly print: (line: string) => void;
  readonly signal?: AbortSignal;
}

export interface InviteJoin {
  readonly step: Step;
  /** What the join gave, once the step ran. */
  result(): JoinResult | null;
}

export function inviteJoinStep(opts: InviteJoinOptions): InviteJoin {
  let result: JoinResult | null = null;
  const machine = opts.root === '/';
  const say = machine
    ? 'join the inviting device with the server invite (through the service); waits for approval on the laptop'
    : 'join the inviting device with the server invite (through a temporary daemon of this home, as the current user); waits for approval on the laptop';
  return {
    step: { say, run: async () => { result = machine ? await joinThrough(opts, opts.home, opts.store) : await joinWithTemporaryDaemon(opts); } },
    result: () => result,
  };
}

/** Joins through the daemon of `home` (a path on this machine), into `store`. */
async function joinThrough(opts: InviteJoinOptions, home: string, into: string, child?: ChildProcess, stderr?: () => string): Promise<JoinResult> {
  const client = new ControlClient(homePaths(home).controlSocket);
  const hint = `sudo sealsync --home ${home} device join - --server --into ${into}`;
  const selfId = await waitForDaemon(client, hint, opts.signal, child, stderr);
  opts.print(`  This server's device id: ${selfId}`);
  opts.print(`  Unless the invite was made with --auto-approve, approve it on the laptop: sealsync device approve ${selfId}`);
  const { joined } = await client.request<{ joined: JoinResult }>('POST', '/api/devices/join', { code: opts.code, into, as: 'server' }, {
    timeoutMs: JOIN_TIMEOUT_MS, ...(opts.signal ? { signal: opts.signal } : {}),
  });
  return joined;
}

/** Polls the control socket until the daemon answers; its device id. */
async function waitForDaemon(client: ControlClient, hint: string, signal?: AbortSignal, child?: ChildProcess, stderr?: () => string): Promise<string> {
  const deadline = Date.now() + DAEMON_READY_TIMEOUT_MS;
  for (;;) {
    signal?.throwIfAborted();
    if (child && child.exitCode !== null) {
      const why = stderr?.().trim().split('\n').filter((l) => l !== '').pop() ?? `exit ${child.exitCode}`;
      throw new SealsyncError('ERR_DAEMON_NOT_RUNNING', `the temporary daemon for the join stopped: ${why.slice(0, 300)}`);
    }
    try {
      return (await client.status({ timeoutMs: 5_000 })).device.id;
    } catch (err) {
      if (!isSealsyncError(err, 'ERR_DAEMON_NOT_RUNNING')) throw err;
    }
    if (Date.now() >= deadline) {
      throw new SealsyncError('ERR_DAEMON_NOT_RUNNING', `the daemon did not answer on ${client.socketPath} within ${DAEMON_READY_TIMEOUT_MS / 1000} s`
        + (child ? '' : ` (see \`journalctl -u sealsync\`); join later with \`${hint}\``));
    }
    await sleep(POLL_MS, undefined, signal ? { signal } : {});
  }
}

async function joinWithTemporaryDaemon(opts: InviteJoinOptions): Promise<JoinResult> {
  const home = join(opts.root, opts.home);
  const store = join(opts.root, opts.store);
  // The CLI that runs now (with the node flags it runs under), started on the tree's home.
  const entry = process.argv[1];
  if (entry === undefined) throw new SealsyncError('ERR_INTERNAL', 'cannot tell which sealsync CLI is running');
  const child = spawn(process.execPath, [...process.execArgv, entry, '--home', home, 'start'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SEALSYNC_LOG_FORMAT: 'json' },
  });
  let tail = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => { tail = (tail + d).slice(-STDERR_TAIL_BYTES); });
  const exited = new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.once('error', () => resolve()); });
  // Ctrl-C or a TERM while the join waits: the temporary daemon is stopped too, never left behind.
  const interrupted = new AbortController();
  const onSignal = (): void => interrupted.abort(new SealsyncError('ERR_ABORTED', 'interrupted: the temporary daemon was stopped'));
  for (const s of STOP_SIGNALS) process.once(s, onSignal);
  const signal = opts.signal ? AbortSignal.any([opts.signal, interrupted.signal]) : interrupted.signal;
  let joined: JoinResult;
  try {
    joined = await joinThrough({ ...opts, signal }, home, store, child, () => tail);
  } finally {
    for (const s of STOP_SIGNALS) process.off(s, onSignal);
    await stopChild(child, exited);
    await giveToServiceUser(opts, home, store);
  }
  // Seen from the target system, the folders are under the store, not under this tree.
  const rebase = (p: string): string => (p.startsWith(`${store}/`) ? `${opts.store}${p.slice(store.length)}` : p);
  await updateConfigOffline(homePaths(home), (c) => ({ ...c, folders: c.folders.map((f) => ({ ...f, path: rebase(f.path) })) }));
  return { ...joined, folders: joined.folders.map((f) => ({ ...f, path: rebase(f.path) })) };
}

async function stopChild(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** A temporary daemon ran as the current user: what it wrote in the home and the store goes to the service user. */
async function giveToServiceUser(opts: InviteJoinOptions, ...dirs: string[]): Promise<void> {
  const owner = await opts.owner();
  let budget = MAX_CHOWN_ENTRIES;
  const walk = async (path: string): Promise<void> => {
    if (--budget < 0) throw new SealsyncError('ERR_COMMAND_FAILED', `more than ${MAX_CHOWN_ENTRIES} files under ${path}: chown them to the service user by hand`);
    const st = await lstat(path).catch(() => null);
    if (!st) return;
    if (st.uid !== owner.uid || st.gid !== owner.gid) await lchown(path, owner.uid, owner.gid);
    if (st.isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
  };
  try {
    for (const d of dirs) {
      const st = await lstat(d).catch(() => null);
      if (!st?.isDirectory()) continue;
      for (const name of await readdir(d)) await walk(join(d, name));
    }
  } catch (err) {
    throw isSealsyncError(err) ? err : new SealsyncError('ERR_COMMAND_FAILED', `giving the files to the service user: ${describeError(err)}`);
  }
}
