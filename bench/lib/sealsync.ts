/**
 * Drives real sealsync daemons (the compiled CLI in dist/) for benchmarks and
 * demos. Status is read straight from the control socket, so polling costs no
 * process start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { join, resolve } from 'node:path';
import { openSync, closeSync } from 'node:fs';
import { MeasuredProcess, sleep } from './child.js';
import type { ProcStats } from './proc-stats.js';

const REPO = resolve(import.meta.dirname, '..', '..');
const BIN = join(REPO, 'bin', 'sealsync.js');
const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

export interface SealsyncFolderStatus {
  path: string;
  type: string;
  state: string;
  localFiles: number;
  localBytes: number;
  globalFiles: number;
  globalBytes: number;
  needFiles: number;
  needBytes: number;
  error: string | null;
}

export interface SealsyncStatus {
  device: { id: string; name: string; listen: string[] };
  folders: SealsyncFolderStatus[];
  peers: Array<{ id: string; address: string; connected: boolean; inBytes: number; outBytes: number }>;
}

/** Runs the CLI once and returns stdout; throws with stderr on failure. */
export function cli(home: string, args: string[]): string {
  const res = spawnSync(process.execPath, [BIN, '--home', home, ...args], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`sealsync ${args.join(' ')}: ${res.stderr.trim()}`);
  return res.stdout.trim();
}

/** A new folder's write key as text (what `sealsync key new` prints), made in process. */
export async function newWriteKey(): Promise<string> {
  const { keysFromSecret, newFolderSecret } = await import('../../src/crypto/keys.js');
  const { formatKey } = await import('../../src/crypto/key-text.js');
  return formatKey(keysFromSecret(newFolderSecret()));
}

export function ensureBuilt(): void {
  const res = spawnSync('npm', ['run', 'build', '--silent'], { cwd: REPO, stdio: 'inherit' });
  if (res.status !== 0) throw new Error('build failed');
}

export class SealsyncNode {
  private readonly proc = new MeasuredProcess();

  constructor(readonly home: string, readonly name: string) {}

  init(extra: string[] = []): void {
    cli(this.home, ['init', '--name', this.name, '--listen', '127.0.0.1:0', '--no-ui', '--no-discovery', ...extra]);
  }

  async start(): Promise<void> {
    const log = openSync(join(this.home, 'daemon.log'), 'a');
    // SEALSYNC_BENCH_NODE_OPTIONS reaches the daemons only (not the bench or the CLI), e.g.
    // `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile where a scenario's time goes. They go on
    // the command line, not in NODE_OPTIONS, which refuses --cpu-prof.
    const nodeArgs = (process.env.SEALSYNC_BENCH_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
    const child = this.proc.attach(spawn(process.execPath, [...nodeArgs, BIN, '--home', this.home, 'start'], { stdio: ['ignore', log, log] }));
    closeSync(log);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`sealsync daemon ${this.name} exited (${child.exitCode}); see ${this.home}/daemon.log`);
      try {
        await this.status();
        return;
      } catch {
        await sleep(POLL_MS);
      }
    }
    throw new Error(`sealsync daemon ${this.name} did not become ready`);
  }

  status(): Promise<SealsyncStatus> {
    return new Promise((resolvePromise, reject) => {
      const req = request({ socketPath: join(this.home, 'control.sock'), path: '/api/status', method: 'GET' }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
            resolvePromise(JSON.parse(Buffer.concat(chunks).toString('utf8')) as SealsyncStatus);
          } catch (e) {
            reject(e);
          }
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  /**
   * One REST call over the control socket (what `sealsync` commands send), so
   * configuring a daemon in a timed section costs no Node start-up: the
   * Syncthing side is configured over its REST API the same way.
   */
  api<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    return new Promise((resolvePromise, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string | number> = payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {};
      const req = request({ socketPath: join(this.home, 'control.sock'), path, method, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if ((res.statusCode ?? 500) >= 300) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`));
          else {
            try {
              resolvePromise(JSON.parse(text) as T);
            } catch (e) {
              reject(e);
            }
          }
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  async listenAddress(): Promise<string> {
    const st = await this.status();
    const addr = st.device.listen[0];
    if (!addr) throw new Error('daemon reports no listen address');
    return addr;
  }

  async folder(path: string): Promise<SealsyncFolderStatus | undefined> {
    const st = await this.status();
    return st.folders.find((f) => f.path === path);
  }

  async bytes(): Promise<{ inBytes: number; outBytes: number }> {
    const st = await this.status();
    return st.peers.reduce((a, p) => ({ inBytes: a.inBytes + p.inBytes, outBytes: a.outBytes + p.outBytes }), { inBytes: 0, outBytes: 0 });
  }

  stats(): ProcStats {
    return this.proc.stats();
  }

  stop(): Promise<ProcStats> {
    return this.proc.stop();
  }
}

export { sleep };
