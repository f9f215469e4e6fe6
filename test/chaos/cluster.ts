/**
 * The chaos cluster: five real daemons (spawned processes, real TLS, real
 * SQLite) sharing one folder, every link through a LinkProxy.
 *
 *        a (rw) ──── s1 (encrypted) ──── s2 (encrypted) ──── b (rw, on a small tmpfs)
 *          └────────────── c (read-only) ───────────────────────┘
 *
 * The ring means one cut never partitions the cluster, and a's and b's edits
 * reach each other either through the two encrypted servers (which sync with
 * each other and can read nothing) or through the read-only device. Links are
 * dialed by the first device of each pair, at the proxy's address; the second
 * only listens.
 *
 * b's folder lives on a tmpfs of TMPFS_BYTES (mounted here, unmounted by
 * stop()), so the run can fill its disk; the rest of b's home is on the normal
 * disk (its index stays writable).
 */
import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FolderStatus } from '../../src/engine/peer/folder-status.js';
import { PollGiveUp, TestHome, makeTempDir, pollUntil, type DaemonProcess } from '../e2e/helpers/harness.js';
import { LinkProxy } from './link-proxy.js';

export const TMPFS_BYTES = 64 * 1024 * 1024;
export const DEVICE_NAMES = ['a', 'b', 'c', 's1', 's2'] as const;
export type DeviceName = (typeof DEVICE_NAMES)[number];
export type DeviceKind = 'rw' | 'ro' | 'encrypted';
/** Dialer → listener. */
export const LINKS: readonly (readonly [DeviceName, DeviceName])[] = [
  ['a', 's1'],
  ['s1', 's2'],
  ['b', 's2'],
  ['c', 'a'],
  ['b', 'c'],
];
const KINDS: Record<DeviceName, DeviceKind> = { a: 'rw', b: 'rw', c: 'ro', s1: 'encrypted', s2: 'encrypted' };
const DAEMON_ENV = { SEALSYNC_LOG_LEVEL: 'warn' };
/** A start on a loaded machine (tsx compiles on every start) may take longer than the e2e harness's 20 s. */
const RESTART_TIMEOUT_MS = 90_000;

export interface Device {
  readonly name: DeviceName;
  readonly kind: DeviceKind;
  readonly home: TestHome;
  /** The shared folder (a store of sealed data on encrypted devices). */
  readonly dir: string;
  daemon: DaemonProcess;
  /** tmpfs mount point holding `dir` and room for a filler file (b only). */
  readonly mount?: string;
  id: string;
}

export interface Link {
  readonly from: Device;
  readonly to: Device;
  readonly proxy: LinkProxy;
}

/**
 * Spawns `home`'s daemon and waits until it answers (up to RESTART_TIMEOUT_MS);
 * `spawned` gets the process at once, so a slow start is never started twice.
 */
async function startDaemon(home: TestHome, name: string, spawned: (d: DaemonProcess) => void): Promise<DaemonProcess> {
  const daemon = await home.startDaemon({ env: DAEMON_ENV, waitReady: false });
  spawned(daemon);
  await pollUntil(async () => {
    if (!daemon.running) throw new PollGiveUp(`${name}'s daemon exited while starting: ${daemon.logs().stderr.trim().slice(-500)}`);
    await home.client.status({ timeoutMs: 2000 });
    return true;
  }, { timeoutMs: RESTART_TIMEOUT_MS, intervalMs: 250, description: `${name}'s daemon to answer` });
  return daemon;
}

export class ChaosCluster {
  readonly devices = new Map<DeviceName, Device>();
  readonly links: Link[] = [];
  private readonly mounts: string[] = [];

  private constructor(readonly root: string) {}

  static async create(): Promise<ChaosCluster> {
    const cluster = new ChaosCluster(await makeTempDir('ch-'));
    try {
      await cluster.setUp();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  device(name: DeviceName): Device {
    const d = this.devices.get(name);
    if (!d) throw new Error(`no device ${name}`);
    return d;
  }

  get fullDevices(): Device[] {
    return [...this.devices.values()].filter((d) => d.kind !== 'encrypted');
  }

  get rwDevices(): Device[] {
    return [...this.devices.values()].filter((d) => d.kind === 'rw');
  }

  get encryptedDevices(): Device[] {
    return [...this.devices.values()].filter((d) => d.kind === 'encrypted');
  }

  private async setUp(): Promise<void> {
    for (const name of DEVICE_NAMES) {
      const home = await TestHome.create({ name, root: this.root });
      let mount: string | undefined;
      let dir = join(this.root, `folder-${name}`);
      if (name === 'b') {
        mount = join(this.root, 'b-disk');
        await mkdir(mount);
        execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_BYTES}`, 'tmpfs', mount]);
        this.mounts.push(mount);
        dir = join(mount, 'folder');
      }
      await mkdir(dir);
      const daemon = await startDaemon(home, name, () => undefined);
      const id = (await home.status()).device.id;
      this.devices.set(name, { name, kind: KINDS[name], home, dir, daemon, id, ...(mount ? { mount } : {}) });
    }
    const a = this.device('a');
    const key = await a.home.newKey();
    await a.home.cliOk(['folder', 'add', a.dir, '--key', key]);
    const roKey = (await a.home.cliOk(['folder', 'share', a.dir, '--type', 'ro'])).trim();
    const eKey = (await a.home.cliOk(['folder', 'share', a.dir, '--type', 'encrypted'])).trim();
    for (const d of this.devices.values()) {
      if (d === a) continue;
      const k = d.kind === 'rw' ? key : d.kind === 'ro' ? roKey : eKey;
      await d.home.cliOk(['folder', 'add', d.dir, '--key', k]);
    }
    for (const [from, to] of LINKS) {
      const target = this.device(to);
      const port = Number(/:(\d+)$/.exec(await target.home.listenAddress())?.[1]);
      const proxy = new LinkProxy(`${from}-${to}`, port);
      await proxy.start();
      this.links.push({ from: this.device(from), to: target, proxy });
      await this.device(from).home.client.request('POST', '/api/peers', { address: proxy.address });
    }
  }

  /** Bytes forwarded by every proxy so far. */
  get bytesMoved(): number {
    return this.links.reduce((n, l) => n + l.proxy.bytes, 0);
  }

  /**
   * Starts `d`'s daemon again and waits until it answers; returns how long that took.
   * The new process is `d.daemon` at once, so a slow start is never started twice.
   */
  async restart(d: Device): Promise<number> {
    const started = Date.now();
    await startDaemon(d.home, d.name, (daemon) => { d.daemon = daemon; });
    return Date.now() - started;
  }

  /** Every daemon answers, and every dialer is connected through its proxy. */
  async linksUp(): Promise<string | null> {
    for (const d of this.devices.values()) {
      if (!d.daemon.running) return `${d.name} is not running`;
    }
    for (const l of this.links) {
      const st = await l.from.home.status();
      const p = st.peers.find((x) => x.address === l.proxy.address);
      if (!p?.connected) return `link ${l.proxy.name} is down`;
    }
    return null;
  }

  async folderStatus(d: Device): Promise<FolderStatus | undefined> {
    return (await d.home.status()).folders.find((f) => f.path === d.dir);
  }

  /** A digest of the sealed records `d` holds (locator + version): equal on every device once the global view agrees. */
  recordSet(d: Device): string {
    const db = new Database(d.home.paths.index, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare(
        'SELECT hex(r.locator) AS l, r.version_key AS v FROM records r JOIN folders f ON r.folder = f.id WHERE f.path = ? ORDER BY l, v',
      ).all(d.dir) as { l: string; v: string }[];
      return rows.map((r) => `${r.l}:${r.v}`).join('\n');
    } finally {
      db.close();
    }
  }

  /** Every daemon is back and answering after a fault (restarts whichever died). */
  async ensureRunning(): Promise<void> {
    for (const d of this.devices.values()) if (!d.daemon.running) await this.restart(d);
    await pollUntil(async () => ((await this.linksUp()) === null ? true : undefined), {
      timeoutMs: 60_000, intervalMs: 250, description: 'every link up', last: () => '',
    }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    for (const l of this.links) await l.proxy.stop();
    for (const d of this.devices.values()) await d.home.cleanup().catch(() => undefined);
    for (const mount of this.mounts.splice(0)) {
      try {
        execFileSync('umount', ['-l', mount]);
      } catch {
        // already unmounted
      }
    }
    await rm(this.root, { recursive: true, force: true, maxRetries: 3 });
  }
}
