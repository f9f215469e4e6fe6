/**
 * Drives a real Syncthing (the Debian package) for side-by-side benchmarks:
 * loopback only, discovery, relays, NAT and usage reporting off, GUI on
 * loopback with an API key, completion read from its REST API.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from './free-port.js';
import { MeasuredProcess, sleep } from './child.js';
import type { ProcStats } from './proc-stats.js';

const READY_TIMEOUT_MS = 30_000;
const POLL_MS = 100;

export function syncthingAvailable(): boolean {
  return spawnSync('syncthing', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface SyncthingFolderStatus {
  state: string;
  globalFiles: number;
  localFiles: number;
  localBytes: number;
  needFiles: number;
  needBytes: number;
  inSyncBytes: number;
  globalBytes: number;
  receiveOnlyTotalItems?: number;
}

export class SyncthingNode {
  private readonly proc = new MeasuredProcess();
  readonly apiKey = randomBytes(16).toString('hex');
  deviceId = '';
  guiPort = 0;
  listenPort = 0;

  constructor(readonly home: string, readonly name: string) {}

  async init(): Promise<void> {
    mkdirSync(this.home, { recursive: true });
    const gen = spawnSync('syncthing', ['generate', `--home=${this.home}`, '--no-default-folder', '--skip-port-probing'], { encoding: 'utf8' });
    if (gen.status !== 0) throw new Error(`syncthing generate failed: ${gen.stderr}`);
    this.guiPort = await freePort();
    this.listenPort = await freePort();
    const cfgPath = join(this.home, 'config.xml');
    let xml = readFileSync(cfgPath, 'utf8');
    const set = (tag: string, value: string) => {
      xml = xml.replace(new RegExp(`<${tag}>[^<]*</${tag}>`), `<${tag}>${value}</${tag}>`);
    };
    set('listenAddress', `tcp://127.0.0.1:${this.listenPort}`);
    set('globalAnnounceEnabled', 'false');
    set('localAnnounceEnabled', 'false');
    set('relaysEnabled', 'false');
    set('natEnabled', 'false');
    set('startBrowser', 'false');
    set('urAccepted', '-1');
    set('autoUpgradeIntervalH', '0');
    set('crashReportingEnabled', 'false');
    set('setLowPriority', 'false');
    // dial known devices every second, so connection set-up does not dominate the timings
    set('reconnectionIntervalS', '1');
    xml = xml.replace(/(<gui[^>]*>\s*<address>)[^<]*(<\/address>)/, `$1127.0.0.1:${this.guiPort}$2`);
    set('apikey', this.apiKey);
    xml = xml.replace(/(<device id="[^"]+" name=")[^"]*(")/, `$1${this.name}$2`);
    writeFileSync(cfgPath, xml);
    const id = /Device ID: (\S+)/.exec(gen.stdout + gen.stderr);
    this.deviceId = id?.[1] ?? '';
  }

  async start(): Promise<void> {
    this.proc.attach(spawn('syncthing', ['serve', `--home=${this.home}`, '--no-browser', '--no-restart', '--no-upgrade', '--no-default-folder'], {
      stdio: 'ignore',
      env: { ...process.env, STNODEFAULTFOLDER: '1', STNOUPGRADE: '1', STNORESTART: '1' },
    }));
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        const st = await this.get<{ myID: string }>('/rest/system/status');
        this.deviceId = st.myID;
        return;
      } catch {
        await sleep(POLL_MS);
      }
    }
    throw new Error('syncthing did not become ready');
  }

  async get<T>(path: string): Promise<T> {
    const res = await fetch(`http://127.0.0.1:${this.guiPort}${path}`, { headers: { 'X-API-Key': this.apiKey } });
    if (!res.ok) throw new Error(`GET ${path}: ${res.status}`);
    return (await res.json()) as T;
  }

  async send(method: string, path: string, body: unknown): Promise<void> {
    const res = await fetch(`http://127.0.0.1:${this.guiPort}${path}`, {
      method,
      headers: { 'X-API-Key': this.apiKey, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  }

  /**
   * Adds a device. Devices start paused when asked: Syncthing can miss a folder
   * that is configured after the connection came up, so the bench configures
   * everything first and then resumes the devices.
   */
  async addDevice(other: SyncthingNode, opts: { untrusted?: boolean; paused?: boolean } = {}): Promise<void> {
    await this.send('POST', '/rest/config/devices', {
      deviceID: other.deviceId,
      paused: opts.paused ?? false,
      name: other.name,
      addresses: [`tcp://127.0.0.1:${other.listenPort}`],
      untrusted: opts.untrusted ?? false,
      compression: 'metadata',
    });
  }

  async addFolder(
    id: string,
    path: string,
    devices: Array<{ node: SyncthingNode; encryptionPassword?: string }>,
    type: 'sendreceive' | 'receiveencrypted' = 'sendreceive',
  ): Promise<void> {
    await this.send('POST', '/rest/config/folders', {
      id,
      label: id,
      path,
      type,
      rescanIntervalS: 3600,
      fsWatcherEnabled: false,
      devices: [{ deviceID: this.deviceId }, ...devices.map((d) => ({ deviceID: d.node.deviceId, encryptionPassword: d.encryptionPassword ?? '' }))],
    });
  }

  async resumeDevice(other: SyncthingNode): Promise<void> {
    await this.send('PATCH', `/rest/config/devices/${encodeURIComponent(other.deviceId)}`, { paused: false });
  }

  /** Adds a device to an existing folder's share list. */
  async addFolderDevice(id: string, node: SyncthingNode, encryptionPassword?: string): Promise<void> {
    const folder = await this.get<{ devices: Array<{ deviceID: string; encryptionPassword?: string }> }>(`/rest/config/folders/${encodeURIComponent(id)}`);
    if (folder.devices.some((d) => d.deviceID === node.deviceId)) return;
    folder.devices.push({ deviceID: node.deviceId, encryptionPassword: encryptionPassword ?? '' });
    await this.send('PUT', `/rest/config/folders/${encodeURIComponent(id)}`, folder);
  }

  folderStatus(id: string): Promise<SyncthingFolderStatus> {
    return this.get<SyncthingFolderStatus>(`/rest/db/status?folder=${encodeURIComponent(id)}`);
  }

  async rescan(id: string): Promise<void> {
    await this.send('POST', `/rest/db/scan?folder=${encodeURIComponent(id)}`, {});
  }

  async bytes(): Promise<{ inBytes: number; outBytes: number }> {
    const c = await this.get<{ total: { inBytesTotal: number; outBytesTotal: number } }>('/rest/system/connections');
    return { inBytes: c.total.inBytesTotal, outBytes: c.total.outBytesTotal };
  }

  stats(): ProcStats {
    return this.proc.stats();
  }

  stop(): Promise<ProcStats> {
    return this.proc.stop();
  }
}

export { sleep };
