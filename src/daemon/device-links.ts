/**
 * The daemon's side of "who to connect to" beyond folders: configured peers
 * (pinned by id, or on first use), linked devices and servers from the
 * keyring (src/daemon/devices/), and devices found by LAN discovery
 * (src/net/lan-discovery.ts). It owns the DeviceManager and the discovery
 * service, turns all three sources into the network's dial targets and
 * refused ids, and saves a pin learned on first use.
 */
import { describeError, SealsyncError } from '../errors.js';
import { componentLogger, type Logger } from '../logger.js';
import type { FolderKeys } from '../crypto/keys.js';
import { MAX_PEER_ADDRESSES, type ConnectionManager, type PeerTarget } from '../net/connection-manager.js';
import { discoveryTimingFromEnv, LanDiscovery } from '../net/lan-discovery.js';
import { DISCOVERY_PERIOD_MS } from '../crypto/discovery.js';
import type { DeviceCredentials } from '../net/transport.js';
import type { Config, PeerConfig } from './config-schema.js';
import { DeviceManager } from './devices/device-manager.js';
import type { DevicesApi } from './devices/device-types.js';
import { discoverySecrets, listenPort, MAX_DISCOVERED_DEVICES } from './devices/discovery-secrets.js';

/** How long `peer add tcp://HOST:PORT` (no device id) waits for the first device to answer, to say which one it pinned. */
export const TOFU_ANSWER_WAIT_MS = 5000;

export interface LinksHost {
  readonly keyringPath: string;
  readonly logger: Logger;
  readonly now?: () => number;
  config(): Config;
  folders(): readonly { path: string; keys: FolderKeys }[];
  addFolder(path: string, key: string): Promise<void>;
  /** Replaces the configured peers (under the daemon's config mutex). */
  updatePeers(change: (peers: readonly PeerConfig[]) => PeerConfig[] | null): Promise<void>;
}

export class DeviceLinks {
  private devices: DeviceManager | null = null;
  private discovery: LanDiscovery | null = null;
  private net: ConnectionManager | null = null;
  /** Devices found on the LAN: id -> address, oldest first. */
  private readonly discovered = new Map<string, string>();
  private readonly log: Logger;

  constructor(private readonly host: LinksHost) {
    this.log = componentLogger(host.logger, 'devices');
  }

  /** The device manager for this identity (before the network starts: it takes the link connections). */
  create(identity: DeviceCredentials): DeviceManager {
    this.devices = new DeviceManager({
      identity,
      keyringPath: this.host.keyringPath,
      log: this.log,
      now: this.host.now ?? Date.now,
      deviceName: () => this.host.config().device.name,
      listenAddresses: () => this.net?.listenAddresses() ?? [],
      folders: () => this.host.folders(),
      addFolder: (path, key) => this.host.addFolder(path, key),
      addPinnedPeers: (peers) => this.host.updatePeers((now) => {
        const fresh = peers.filter((p) => !now.some((c) => c.address === p.address));
        return fresh.length === 0 ? null : [...now, ...fresh];
      }).then(() => this.apply()),
      targetsChanged: () => this.apply(),
      connectedDevices: () => new Set(this.net?.sessions().map((s) => s.remoteDeviceId) ?? []),
    });
    return this.devices;
  }

  /** Once the network listens: the keyring, then discovery when the config allows it. */
  async start(net: ConnectionManager, identity: DeviceCredentials): Promise<void> {
    this.net = net;
    net.on('pinned', (address: string, deviceId: string) => this.rememberPin(address, deviceId));
    net.on('session', (session) => this.devices?.sessionOpened(session.remoteDeviceId));
    await this.devices?.start();
    this.apply();
    if (!this.host.config().discovery) return;
    const timing = discoveryTimingFromEnv();
    if (timing.problem) this.log.warn({}, timing.problem);
    else if (timing.periodMs !== DISCOVERY_PERIOD_MS) this.log.warn({ periodMs: timing.periodMs }, 'LAN discovery period shortened for a test (SEALSYNC_DISCOVERY_PERIOD_MS)');
    const discovery = new LanDiscovery({
      deviceId: identity.deviceId,
      port: () => listenPort(net.listenAddresses()),
      secrets: () => discoverySecrets(this.host.folders().map((f) => f.keys), this.devices?.keyringSecret() ?? null),
      onFound: (address, deviceId) => this.onDiscovered(address, deviceId),
      logger: this.host.logger,
      periodMs: timing.periodMs,
      intervalMs: timing.intervalMs,
      ...(this.host.now ? { now: this.host.now } : {}),
    });
    try {
      await discovery.start();
      this.discovery = discovery;
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'LAN discovery could not start');
    }
  }

  async stop(): Promise<void> {
    await this.discovery?.stop();
    this.discovery = null;
    this.discovered.clear();
    await this.devices?.stop().catch((err: unknown) => this.log.warn({ err }, 'devices stop failed'));
    this.devices = null;
    this.net = null;
  }

  api(): DevicesApi {
    if (!this.devices) throw new SealsyncError('ERR_DAEMON_NOT_RUNNING', 'the network is not running, so devices cannot be linked');
    return this.devices;
  }

  folderAdded(path: string, keys: FolderKeys): void {
    this.devices?.folderAdded(path, keys);
    // Devices on the LAN that hold this folder hear of it now, not at the next interval.
    this.discovery?.announce();
  }

  folderRemoved(keys: FolderKeys): void {
    this.devices?.folderRemoved(keys);
  }

  /** What the network dials: configured peers (pinned when their id is known), then linked devices, servers and devices found on the LAN (always pinned). */
  targets(): PeerTarget[] {
    const out: PeerTarget[] = this.host.config().peers.map((p) => (p.deviceId === undefined ? { address: p.address } : { address: p.address, deviceId: p.deviceId }));
    const seen = new Set(out.map((t) => t.address));
    const found = [...this.discovered].map(([deviceId, address]) => ({ address, deviceId }));
    for (const t of [...(this.devices?.dialTargets() ?? []), ...found]) {
      if (seen.has(t.address) || out.length >= MAX_PEER_ADDRESSES) continue;
      seen.add(t.address);
      out.push(t);
    }
    return out;
  }

  apply(): void {
    if (!this.net) return;
    this.net.setRefusedDevices(this.devices?.refusedDevices() ?? []);
    this.net.setAddresses(this.targets());
  }

  /** Resolves once the network pinned a device at `address`, or after TOFU_ANSWER_WAIT_MS. */
  async waitForPin(address: string, signal?: AbortSignal): Promise<void> {
    const net = this.net;
    if (!net || net.pins().has(address)) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        net.off('pinned', onPinned);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const onPinned = (a: string): void => { if (a === address) done(); };
      const timer = setTimeout(done, TOFU_ANSWER_WAIT_MS);
      net.on('pinned', onPinned);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** A device answered at an address added without an id: keep it pinned in the config. */
  private rememberPin(address: string, deviceId: string): void {
    this.host.updatePeers((peers) => {
      const i = peers.findIndex((p) => p.address === address && p.deviceId === undefined);
      return i < 0 ? null : peers.map((p, j) => (j === i ? { address, deviceId } : p));
    }).then(() => this.log.info({ address, deviceId }, 'pinned the first device that answered (trust on first use)'))
      .catch((err: unknown) => this.log.warn({ err, address }, 'could not save a pinned device id'));
  }

  /** A device found on the LAN that holds one of our secrets: dial it there, pinned to its id. */
  private onDiscovered(address: string, deviceId: string): void {
    if (this.discovered.get(deviceId) === address) return;
    this.discovered.delete(deviceId);
    this.discovered.set(deviceId, address);
    while (this.discovered.size > MAX_DISCOVERED_DEVICES) this.discovered.delete(this.discovered.keys().next().value as string);
    this.apply();
  }
}
