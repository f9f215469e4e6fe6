/**
 * End-to-end harness: real homes, the real CLI, real daemons as child
 * processes. Reusable by every multi-daemon test.
 *
 *   const h = await TestHome.create({ init: ['--listen', '127.0.0.1:0', '--no-ui'] });
 *   after(() => h.cleanup());                // kills its daemons (-9), removes the temp dir
 *   const d = await h.startDaemon();         // spawns `sealsync start`, waits until the socket answers
 *   await h.cliOk(['folder', 'add', dir, '--key', key]);
 *   await h.waitForFolder(dir, scanSettled, { description: 'first scan' });
 *   await d.kill9();                         // or: await d.stop() (runs `sealsync stop`, waits for exit)
 *   await other.cliOk(['peer', 'add', await h.listenAddress()]);   // connect two homes
 *
 * - `cli(args)` runs the real entry point, `node bin/sealsync.js --home H …`, on
 *   the current sources (dist-to-src.mjs: no build needed, never a stale one), and returns
 *   { code, stdout, stderr } (never throws on a non-zero exit); `cliOk` throws
 *   with stderr when the exit code is not 0.
 * - `status()` / `waitForStatus()` poll the daemon through the control socket
 *   in-process (same JSON as `status --json`, without a 0.5 s node start per
 *   poll); polling is bounded in time and count and the error says what was
 *   awaited and what the last status was.
 * - `events(ms)` reads the daemon's SSE stream for a while (recent ring + live).
 * - Temp dirs are short (unix socket paths are limited to ~104 bytes).
 * - Chasing a flaky test: `SEALSYNC_LOG_LEVEL=debug SEALSYNC_E2E_LOG_DIR=DIR`
 *   also writes every daemon's output to DIR/<test pid>-<home>-<daemon pid>.log,
 *   which outlives the test's temp dir.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ControlClient } from '../../../src/api/control-client.js';
import { pickFreePort } from '../../../src/daemon/pick-port.js';
import type { DaemonEvent, StatusReport } from '../../../src/api/daemon-api.js';
import type { FolderStatus } from '../../../src/engine/peer/folder-status.js';

/**
 * A folder that finished its scan and needs nothing: up to date ('idle') or,
 * with no device sharing it connected yet, 'unshared'.
 */
export const scanSettled = (f: FolderStatus): boolean => (f.state === 'idle' || f.state === 'unshared') && f.needFiles === 0 && f.error === null;

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const CLI_ENTRY = join(REPO_ROOT, 'bin', 'sealsync.js');
/** Node arguments that run CLI_ENTRY on the sources: tsx, and dist/… resolved to src/…. */
export const CLI_NODE_ARGS: readonly string[] = ['--import', 'tsx', '--import', join(REPO_ROOT, 'test', 'e2e', 'helpers', 'dist-to-src.mjs')];
export const DEFAULT_CLI_TIMEOUT_MS = 30_000;
export const DEFAULT_WAIT_TIMEOUT_MS = 20_000;
export const DEFAULT_POLL_INTERVAL_MS = 100;
export const DAEMON_START_TIMEOUT_MS = 20_000;
export const DAEMON_STOP_TIMEOUT_MS = 15_000;
const MAX_CAPTURED_LOG_BYTES = 4 * 1024 * 1024;

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly input?: string;
  readonly timeoutMs?: number;
  readonly env?: Record<string, string>;
  /** Run as another uid/gid (root only), e.g. to test permission errors. */
  readonly uid?: number;
  readonly gid?: number;
}

export interface WaitOptions {
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** What is awaited, for the timeout error. */
  readonly description?: string;
}

const liveChildren = new Set<ChildProcess>();
process.once('exit', () => { for (const c of liveChildren) c.kill('SIGKILL'); });

/** A short temp directory (unix socket paths must stay short). */
export function makeTempDir(prefix = 'ss-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Runs the CLI with the given arguments (no --home added). */
export function runCli(args: readonly string[], opts: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...CLI_NODE_ARGS, CLI_ENTRY, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, SEALSYNC_LOG_LEVEL: 'warn', ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    liveChildren.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sealsync ${args.join(' ')} timed out after ${opts.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS} ms; stderr: ${stderr}`));
    }, opts.timeoutMs ?? DEFAULT_CLI_TIMEOUT_MS);
    child.once('error', (err) => { clearTimeout(timer); liveChildren.delete(child); reject(err); });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      liveChildren.delete(child);
      resolvePromise({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** Thrown by a probe when waiting longer cannot help (e.g. the daemon exited): ends the poll at once. */
export class PollGiveUp extends Error {}

/** What startDaemon takes (see there). */
export interface StartOptions {
  readonly env?: Record<string, string>;
  readonly waitReady?: boolean;
  readonly wrapper?: readonly string[];
  readonly timeoutMs?: number;
}

/** The daemon's own one-line refusal when its sync port is taken (src/errors.ts EADDRINUSE). */
const SYNC_PORT_TAKEN = /daemon exited early: sealsync: cannot listen on 127\.0\.0\.1:\d+: the port is in use/;
/** Fresh ports startDaemon tries after that race before it gives up. */
const SYNC_PORT_TAKEN_RETRIES = 3;

/** Polls `probe` until it returns a non-undefined value; bounded in time and count. */
export async function pollUntil<T>(probe: () => Promise<T | undefined>, opts: WaitOptions & { last?: () => string } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WAIT_TIMEOUT_MS;
  const intervalMs = opts.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const maxPolls = Math.ceil(timeoutMs / intervalMs) + 1;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let i = 0; i < maxPolls && Date.now() <= deadline; i++) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof PollGiveUp) throw err;
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = opts.last?.() ?? (lastError instanceof Error ? lastError.message : '');
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${opts.description ?? 'a condition'}${detail ? `; last: ${detail}` : ''}`);
}

export class DaemonProcess {
  private stdoutText = '';
  private stderrText = '';
  readonly exited: Promise<number>;

  constructor(readonly child: ChildProcess, private readonly home: TestHome) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => { if (this.stdoutText.length < MAX_CAPTURED_LOG_BYTES) this.stdoutText += d; });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => { if (this.stderrText.length < MAX_CAPTURED_LOG_BYTES) this.stderrText += d; });
    this.exited = new Promise((r) => child.once('close', (code, signal) => { liveChildren.delete(child); r(code ?? (signal ? 128 : 1)); }));
    const keep = process.env.SEALSYNC_E2E_LOG_DIR;
    if (keep) {
      const file = join(keep, `${process.pid}-${basename(home.home)}-${child.pid ?? 0}.log`);
      child.stdout?.on('data', (d: string) => appendFileSync(file, d));
      child.stderr?.on('data', (d: string) => appendFileSync(file, d));
    }
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** JSON log lines (stdout) and anything on stderr. */
  logs(): { stdout: string; stderr: string } {
    return { stdout: this.stdoutText, stderr: this.stderrText };
  }

  /** `sealsync stop`, then waits for the process to exit; returns its exit code. */
  async stop(): Promise<number> {
    const r = await this.home.cli(['stop']);
    if (r.code !== 0) throw new Error(`sealsync stop failed: ${r.stderr}`);
    return this.waitExit();
  }

  /** SIGKILL: no cleanup runs (stale lock and socket stay behind). */
  async kill9(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.waitExit();
  }

  async signal(sig: NodeJS.Signals): Promise<number> {
    this.child.kill(sig);
    return this.waitExit();
  }

  async waitExit(timeoutMs = DAEMON_STOP_TIMEOUT_MS): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`daemon pid ${this.pid} did not exit in ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface TestHomeOptions {
  /** Arguments for `init` (e.g. ['--listen', '127.0.0.1:0', '--no-ui']); null: do not init. */
  readonly init?: readonly string[] | null;
  /** Reuse an existing temp root (several homes side by side). */
  readonly root?: string;
  readonly name?: string;
  /** Run every CLI call and daemon of this home as this user (root only; the temp root is chowned). */
  readonly asUser?: { readonly uid: number; readonly gid: number };
  /** Timeout of each CLI call of this home, `init` included (default DEFAULT_CLI_TIMEOUT_MS). */
  readonly cliTimeoutMs?: number;
}

export class TestHome {
  private readonly daemons = new Set<DaemonProcess>();
  readonly client: ControlClient;

  private constructor(
    readonly root: string,
    readonly home: string,
    private readonly ownsRoot: boolean,
    readonly asUser: { readonly uid: number; readonly gid: number } | undefined,
    private readonly cliTimeoutMs?: number,
  ) {
    this.client = new ControlClient(join(home, 'control.sock'));
  }

  /** A fresh temp root with a home `h` inside, initialised with loopback defaults unless `init: null`. */
  static async create(opts: TestHomeOptions = {}): Promise<TestHome> {
    const root = opts.root ?? (await makeTempDir());
    const home = join(root, opts.name ?? 'h');
    if (opts.asUser) await chown(root, opts.asUser.uid, opts.asUser.gid);
    const h = new TestHome(root, home, opts.root === undefined, opts.asUser, opts.cliTimeoutMs);
    if (opts.init !== null) await h.cliOk(['init', ...(opts.init ?? ['--listen', '127.0.0.1:0', '--no-ui', '--no-discovery'])]);
    return h;
  }

  /** Paths inside the home. */
  get paths(): { config: string; lock: string; socket: string; index: string; deviceKey: string } {
    return {
      config: join(this.home, 'config.json'),
      lock: join(this.home, 'daemon.lock'),
      socket: join(this.home, 'control.sock'),
      index: join(this.home, 'index.db'),
      deviceKey: join(this.home, 'device-key.pem'),
    };
  }

  cli(args: readonly string[], opts?: CliOptions): Promise<CliResult> {
    return runCli(['--home', this.home, ...args], { ...(this.cliTimeoutMs ? { timeoutMs: this.cliTimeoutMs } : {}), ...this.userOpts(), ...opts });
  }

  async cliOk(args: readonly string[], opts?: CliOptions): Promise<string> {
    const r = await this.cli(args, opts);
    if (r.code !== 0) throw new Error(`sealsync ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /**
   * Spawns `sealsync start` and waits until the control socket answers.
   * `wrapper`: an argv the daemon's command line is appended to (it must exec
   * it, so the pid stays the daemon's), e.g. a mount namespace to sandbox it.
   * `timeoutMs`: how long to wait for the socket (default DAEMON_START_TIMEOUT_MS).
   */
  async startDaemon(opts: StartOptions = {}): Promise<DaemonProcess> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.spawnDaemon(opts);
      } catch (err) {
        // `init` picked the sync port at random from a range every test file's homes share, and
        // another home running in parallel can bind the same port before this start: the
        // product's rule (the port is fixed at init) holds, so the test home moves to a port
        // free now and starts again. Only this race: the dashboard's port and any other
        // failure still fail the test.
        if (attempt > SYNC_PORT_TAKEN_RETRIES || !SYNC_PORT_TAKEN.test(err instanceof Error ? err.message : '')) throw err;
        await this.cliOk(['config', 'set', 'listen', `127.0.0.1:${await pickFreePort('127.0.0.1')}`]);
      }
    }
  }

  private async spawnDaemon(opts: StartOptions): Promise<DaemonProcess> {
    const argv = [process.execPath, ...CLI_NODE_ARGS, CLI_ENTRY, '--home', this.home, 'start'];
    const [command, ...args] = [...(opts.wrapper ?? []), ...argv] as [string, ...string[]];
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, SEALSYNC_LOG_LEVEL: process.env.SEALSYNC_LOG_LEVEL ?? 'info', ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...this.userOpts(),
    });
    liveChildren.add(child);
    const d = new DaemonProcess(child, this);
    this.daemons.add(d);
    if (opts.waitReady === false) return d;
    await pollUntil(async () => {
      if (!d.running) throw new PollGiveUp(`daemon exited early: ${d.logs().stderr.trim()}`);
      await this.client.status({ timeoutMs: 2000 });
      return true;
    }, { timeoutMs: opts.timeoutMs ?? DAEMON_START_TIMEOUT_MS, description: 'the daemon to answer on its socket', last: () => d.logs().stderr.trim() });
    return d;
  }

  private userOpts(): { uid?: number; gid?: number } {
    return this.asUser ? { uid: this.asUser.uid, gid: this.asUser.gid } : {};
  }

  /** The daemon's first bound sync address on 127.0.0.1 (for `peer add` in another home). */
  async listenAddress(): Promise<string> {
    const listen = (await this.status()).device.listen;
    const addr = listen.find((a) => a.startsWith('tcp://127.0.0.1:')) ?? listen[0];
    if (!addr) throw new Error('the daemon reports no listen address');
    return addr;
  }

  /** A new read-write key from `sealsync key new`. */
  async newKey(): Promise<string> {
    const key = (await this.cliOk(['key', 'new'])).split('\n')[0]?.trim() ?? '';
    if (!/^W[A-Z2-7]+$/.test(key)) throw new Error(`unexpected key new output: ${key.slice(0, 8)}…`);
    return key;
  }

  /**
   * Reads the daemon's event stream (GET /api/events) for `ms` milliseconds:
   * the recent-events ring first, then whatever happens meanwhile.
   */
  events(ms = 500): Promise<DaemonEvent[]> {
    return new Promise((resolvePromise, reject) => {
      const out: DaemonEvent[] = [];
      let buf = '';
      const req = httpRequest({ socketPath: this.paths.socket, path: '/api/events' }, (res) => {
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          buf += d;
          let end: number;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const data = buf.slice(0, end).split('\n').find((l) => l.startsWith('data: '));
            buf = buf.slice(end + 2);
            if (data) out.push(JSON.parse(data.slice(6)) as DaemonEvent);
          }
        });
      });
      const timer = setTimeout(() => { req.destroy(); resolvePromise(out); }, ms);
      req.on('error', (err) => { clearTimeout(timer); if (out.length === 0) reject(err); else resolvePromise(out); });
      req.end();
    });
  }

  status(): Promise<StatusReport> {
    return this.client.status({ timeoutMs: 5000 });
  }

  /** Polls status until `pred` holds; returns that status. */
  async waitForStatus(pred: (s: StatusReport) => boolean, opts: WaitOptions = {}): Promise<StatusReport> {
    let last: StatusReport | undefined;
    return pollUntil(async () => {
      last = await this.status();
      return pred(last) ? last : undefined;
    }, { ...opts, last: () => JSON.stringify(last ? { folders: last.folders, peers: last.peers } : null) });
  }

  /** Polls until the folder at `path` satisfies `pred`; returns its status. */
  async waitForFolder(path: string, pred: (f: FolderStatus) => boolean, opts: WaitOptions = {}): Promise<FolderStatus> {
    const s = await this.waitForStatus((st) => {
      const f = st.folders.find((x) => x.path === path);
      return f !== undefined && pred(f);
    }, { description: `folder ${path}`, ...opts });
    return s.folders.find((x) => x.path === path) as FolderStatus;
  }

  /** Kills every daemon this home started (SIGKILL) and removes the temp root. */
  async cleanup(): Promise<void> {
    for (const d of this.daemons) if (d.running) await d.kill9().catch(() => undefined);
    this.daemons.clear();
    if (this.ownsRoot) await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
