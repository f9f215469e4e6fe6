/**
 * The daemon on one device: owns the config, the home lock, the folder
 * runners and the event bus, and implements the DaemonApi the REST routes
 * call (structurally; see src/api/daemon-api.ts).
 *
 * How this works:
 * - start(): take the home lock (one daemon per home), load and validate the
 *   config (a bad config stops here with one line, and is never rewritten),
 *   read the device id, then start one runner per folder. A folder whose
 *   engine fails to start reports state 'error'; the daemon keeps running.
 * - Every change (folder add/remove, peers, settings) runs under one mutex:
 *   validate, build the new config, write it atomically, then apply it. A
 *   validation failure leaves config and runners exactly as they were.
 * - stop(): stop runners, release the lock. `stopRequested` resolves when
 *   someone asked for a stop (REST /api/stop or a signal), so the host can
 *   close the control socket first and then call stop().
 *
 * Why one class of over 400 lines: it is the DaemonApi, one method per REST
 * call, and every change goes through the same mutex, config write and apply
 * step; the parts with a life of their own are apart (the running folders
 * and their engines in running-folders.ts, config-store.ts, the event bus,
 * device-links.ts, lock.ts, identity.ts).
 */
import { formatKey, parseKey, folderIdText } from '../crypto/key-text.js';
import { deriveEncrypted, deriveReadOnly } from '../crypto/keys.js';
import type { FolderStatus } from '../engine/peer/folder-status.js';
import { untilAborted } from './until-aborted.js';
import { STATUS_SCHEMA_VERSION } from '../engine/peer/status-schema.js';
import { offlinePeer, peerStatusOf } from './peer-status.js';
import { SealsyncError, isSealsyncError, listenFailure } from '../errors.js';
import { openIndex, type Index } from '../index/index.js';
import { componentLogger, type Logger } from '../logger.js';
import { formatPeerAddress, parseHostPort, parsePeerAddress, parsePeerSpec, refuseKeyAsAddress } from './address.js';
import { configSchema, DEFAULT_RESCAN_INTERVAL_S, rateLimitOf, type Config, type FolderConfig } from './config-schema.js';
import { loadConfig, saveConfig } from './config-store.js';
import type {
  AddFolderRequest, FolderGcReport, FolderInfo, FolderRetention, FolderVerifyReport, OpOptions, PeerStatus, Settings, SettingsPatch, ShareType, StatusReport,
} from './daemon-types.js';
import { EventBus } from './event-bus.js';
import { settingsView, type StartedWith } from './settings-view.js';
import { DaemonHistory } from './daemon-history.js';
import { DaemonIgnore } from './daemon-ignore.js';
import { checkFolderPath } from './folder-path.js';
import type { FolderRunnerFactories } from './folder-runner.js';
import { RunningFolders } from './running-folders.js';
import { homePaths, type HomePaths } from './home.js';
import { loadDeviceCredentials } from './identity.js';
import { ConnectionManager } from '../net/connection-manager.js';
import type { DeviceCredentials } from '../net/transport.js';
import { DeviceLinks } from './device-links.js';
import type { DevicesApi } from './devices/device-types.js';
import { folderInfoOf, routedFolderDirectory } from './folder-directory.js';
import { FolderSessionRouter } from '../engine/peer/folder-session-router.js';
import { LOOPBACK_HOSTS } from './init-home.js';
import { acquireLock, type DaemonLock } from './lock.js';
import { removeStaleTempFiles } from './atomic-write.js';

export interface DaemonInit {
  readonly home: string;
  readonly logger: Logger;
  /** Engines by folder key type; a type without one runs an idle placeholder. */
  readonly engines?: FolderRunnerFactories;
  /** Shared services the engines use (e.g. the hash pool): started before the first folder, stopped after the last. */
  readonly services?: readonly DaemonService[];
  /** Run the network (listener + dialler); default true. */
  readonly network?: boolean;
  readonly now?: () => number;
}

export interface DaemonService {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export class Daemon {
  readonly paths: HomePaths;
  readonly events: EventBus;
  /** Versions, conflicts, known devices and the event log (daemon-history.ts). */
  readonly history: DaemonHistory;
  readonly ignore: DaemonIgnore;
  readonly stopRequested: Promise<void>;
  private readonly log: Logger;
  private config: Config = configSchema.parse({});
  private deviceId = '';
  private lock: DaemonLock | null = null;
  private index: Index | null = null;
  private readonly startedServices: DaemonService[] = [];
  /** The folders and their engines (running-folders.ts). */
  private readonly folders: RunningFolders;
  private mutex: Promise<unknown> = Promise.resolve();
  private resolveStop: () => void = () => undefined;
  private uiUrl: string | null = null;
  private listenAddresses: string[] | null = null;
  private net: ConnectionManager | null = null;
  /** Binds folder engines to peer sessions (index exchange, block requests by folder id). */
  private router: FolderSessionRouter | null = null;
  /** Linked devices, servers, LAN discovery, pins: who else to dial (device-links.ts). */
  private readonly links: DeviceLinks;
  private started = false;
  /** The settings this run started with that only a restart can change (for Settings.restartRequired). */
  private startedWith: StartedWith | null = null;

  constructor(private readonly init: DaemonInit) {
    this.paths = homePaths(init.home);
    this.log = componentLogger(init.logger, 'daemon');
    this.events = new EventBus(init.now ?? Date.now, (err) => this.log.warn({ err }, 'event listener threw'));
    this.stopRequested = new Promise((r) => { this.resolveStop = r; });
    this.links = new DeviceLinks({
      keyringPath: this.paths.keyring,
      logger: init.logger,
      ...(init.now ? { now: init.now } : {}),
      config: () => this.config,
      folders: () => [...this.folders.all()].map((f) => ({ path: f.config.path, keys: f.keys })),
      addFolder: async (path, key) => { await this.addFolder({ path, key }); },
      updatePeers: (change) => this.exclusive(async () => {
        const peers = change(this.config.peers);
        if (peers !== null) await this.persist({ ...this.config, peers });
      }),
    });
    this.folders = new RunningFolders({
      logger: init.logger,
      log: this.log,
      engines: init.engines,
      config: () => this.config,
      index: () => this.index,
      requireIndex: () => this.requireIndex(),
      router: () => this.router,
      deviceId: () => this.deviceId,
      connectedCount: () => this.net?.connectedCount() ?? 0,
      events: this.events,
      history: { deviceRef: (id) => this.history.deviceRef(id) },
    });
    const folder = async (path: string) => { const f = await this.folders.find(path); return { runner: f.runner, path: f.config.path }; };
    this.ignore = new DaemonIgnore({ folder });
    this.history = new DaemonHistory({
      folder,
      index: () => this.requireIndex(),
      deviceId: () => this.deviceId,
      deviceName: () => this.config.device.name,
      peers: () => this.listPeers(),
    });
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.lock = await acquireLock(this.paths.lock);
    try {
      await removeStaleTempFiles(this.paths.home);
      this.config = await loadConfig(this.paths.config);
      this.startedWith = { listen: this.config.listen, discovery: this.config.discovery, webui: this.config.webui, metrics: this.config.metrics };
      const credentials = await loadDeviceCredentials(this.paths);
      this.deviceId = credentials.deviceId;
      this.index = openIndex(this.paths.index);
      this.events.attachLog(this.index.history);
      this.router = new FolderSessionRouter({ index: this.index, logger: componentLogger(this.init.logger, 'engine:router') });
      for (const service of this.init.services ?? []) {
        await service.start();
        this.startedServices.push(service);
      }
      for (const folder of this.config.folders) await this.folders.start(folder);
      if (this.init.network !== false) await this.startNetwork(credentials);
    } catch (err) {
      await this.stopNetwork();
      this.router?.close();
      this.router = null;
      await this.folders.stopAll();
      await this.stopServices();
      this.index?.close();
      this.index = null;
      await this.lock.release();
      this.lock = null;
      throw err;
    }
    this.started = true;
    this.log.info({ deviceId: this.deviceId, folders: this.folders.size }, 'daemon started');
  }

  async stop(): Promise<void> {
    await this.mutex.catch(() => undefined);
    await this.stopNetwork();
    this.router?.close();
    this.router = null;
    await this.folders.stopAll();
    await this.stopServices();
    this.events.clear();
    this.events.attachLog(null);
    this.index?.close();
    this.index = null;
    if (this.lock) await this.lock.release();
    this.lock = null;
    if (this.started) this.log.info('daemon stopped');
    this.started = false;
  }

  requestStop(): void { this.resolveStop(); }

  /** Set by the host once the dashboard listens (null: off). */
  setUiUrl(url: string | null): void {
    this.uiUrl = url;
  }

  /** Set by the host/network layer with the real bound sync addresses (tcp://…). */
  setListenAddresses(addresses: readonly string[] | null): void {
    this.listenAddresses = addresses ? [...addresses] : null;
  }

  currentConfig(): Config {
    return this.config;
  }

  deviceIdText(): string { return this.deviceId; }

  // ---- DaemonApi ---------------------------------------------------------

  status(): StatusReport {
    const report: StatusReport = {
      schemaVersion: STATUS_SCHEMA_VERSION,
      device: {
        id: this.deviceId,
        name: this.config.device.name,
        listen: this.listenAddresses ?? this.net?.listenAddresses() ?? [`tcp://${this.config.listen}`],
      },
      folders: [...this.folders.all()].map((f) => this.folders.status(f)),
      peers: this.listPeers(),
    };
    return this.uiUrl ? { ...report, ui: { url: this.uiUrl } } : report;
  }

  listFolders(): readonly FolderInfo[] {
    return [...this.folders.all()].map(folderInfoOf);
  }

  addFolder(req: AddFolderRequest, opts: OpOptions = {}): Promise<FolderInfo> {
    return this.exclusive(async () => {
      opts.signal?.throwIfAborted();
      const path = await checkFolderPath(req.path, this.folders.paths(), this.paths.home);
      const keys = parseKey(req.key);
      const folderId = folderIdText(keys.folderId);
      for (const f of this.folders.all()) {
        if (f.folderId === folderId) throw new SealsyncError('ERR_FOLDER_EXISTS', `folder ${folderId} is already shared at ${f.config.path}`);
      }
      const folder: FolderConfig = {
        path,
        key: formatKey(keys),
        rescanIntervalS: req.rescanIntervalS ?? DEFAULT_RESCAN_INTERVAL_S,
        watch: req.watch ?? true,
      };
      opts.signal?.throwIfAborted();
      const before = this.config;
      await this.persist({ ...before, folders: [...before.folders, folder] });
      const failure = await this.folders.start(folder, keys);
      if (failure !== null) {
        // The user is here to read why: a folder that cannot run is not kept
        // (at daemon start the same failure stays listed on the folder instead).
        await this.folders.forget(path);
        await this.persist(before);
        throw failure;
      }
      this.net?.refreshFolders();
      this.links.folderAdded(path, keys);
      this.events.emit({ type: 'folder-changed', path, change: 'added' });
      this.log.info({ path, type: keys.type, folderId }, 'folder added');
      const info = this.listFolders().find((f) => f.path === path);
      if (!info) throw new SealsyncError('ERR_INTERNAL', 'folder vanished after add');
      return info;
    });
  }

  removeFolder(path: string, _opts: OpOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      const f = await this.folders.find(path);
      await this.persist({ ...this.config, folders: this.config.folders.filter((c) => c.path !== f.config.path) });
      await this.folders.forget(f.config.path);
      this.net?.refreshFolders();
      this.links.folderRemoved(f.keys);
      this.events.emit({ type: 'folder-changed', path: f.config.path, change: 'removed' });
      this.log.info({ path: f.config.path }, 'folder removed');
    });
  }

  shareFolder(path: string, type: ShareType): string {
    const f = this.folders.findSync(path);
    if (type === f.keys.type) return formatKey(f.keys);
    if (type === 'rw') throw new SealsyncError('ERR_KEY_DERIVE', `a ${f.keys.type === 'ro' ? 'read-only' : 'encrypted'} folder cannot give a read-write key`);
    return formatKey(type === 'ro' ? deriveReadOnly(f.keys) : deriveEncrypted(f.keys));
  }

  /** `folder gc`: encrypted folders only; runs outside the config mutex (it can take a while). */
  async gcFolder(path: string, opts: OpOptions & { retentionDays?: number } = {}): Promise<FolderGcReport> {
    const f = await this.folders.find(path);
    if (!f.runner.gc) throw new SealsyncError('ERR_FOLDER_TYPE', 'gc applies to folders added with an encrypted key');
    return f.runner.gc(opts);
  }

  /** `folder verify`: encrypted folders only. */
  async verifyFolder(path: string, opts: OpOptions = {}): Promise<FolderVerifyReport> {
    const f = await this.folders.find(path);
    if (!f.runner.verify) throw new SealsyncError('ERR_FOLDER_TYPE', 'verify applies to folders added with an encrypted key');
    return f.runner.verify(opts);
  }

  /**
   * `folder rescan`: full (rw/ro) folders scan the whole tree now. With `wait`
   * it resolves when that scan has finished; `signal` (the client going away)
   * only stops the waiting — the scan the user asked for still completes.
   */
  async rescanFolder(path: string, opts: OpOptions & { wait?: boolean } = {}): Promise<FolderStatus> {
    const f = await this.folders.find(path);
    if (f.keys.type === 'encrypted') throw new SealsyncError('ERR_FOLDER_TYPE', 'an encrypted folder holds no plaintext to scan (rescan applies to rw and ro folders)');
    if (!f.runner.rescan) throw new SealsyncError('ERR_FOLDER_TYPE', 'this folder has no scanning engine');
    const scan = f.runner.rescan({});
    if (!opts.wait) {
      scan.catch((err: unknown) => { if (!isSealsyncError(err, 'ERR_ABORTED')) this.log.warn({ err, path: f.config.path }, 'requested rescan failed'); });
      return this.folders.status(f);
    }
    await untilAborted(scan, opts.signal);
    return this.folders.status(f);
  }

  /** `folder revert`: read-only folders only. */
  async revertFolder(path: string, opts: OpOptions = {}): Promise<void> {
    const f = await this.folders.find(path);
    if (f.keys.type !== 'ro' || !f.runner.revert) throw new SealsyncError('ERR_FOLDER_TYPE', 'revert applies to folders added with a read-only key');
    await f.runner.revert(opts);
  }

  listPeers(): readonly PeerStatus[] {
    if (!this.net) return this.config.peers.map((p) => offlinePeer(p.address));
    const folders = [...this.folders.all()];
    const extra = { seenAt: this.index?.history.deviceSeen() ?? new Map<string, number>(), now: (this.init.now ?? Date.now)() };
    return this.net.peerStatus().map((p) => {
      const shared = p.id ? folders.filter((f) => f.runner.joinedPeers?.().has(p.id)).map((f) => f.config.path) : [];
      return peerStatusOf(p, shared.length, { ...extra, folders: shared });
    });
  }

  /**
   * `peer add`: `ID@HOST:PORT` or `tcp://HOST:PORT#ID` pins that device at
   * the address; a bare `tcp://HOST:PORT` pins the first device that answers
   * there (trust on first use). For the latter this waits up to
   * TOFU_ANSWER_WAIT_MS for the first answer, so the caller can say which
   * device was pinned (the peer's `id`), or that none answered yet.
   */
  addPeer(text: string, opts: OpOptions = {}): Promise<PeerStatus> {
    return this.exclusive(async () => {
      const spec = parsePeerSpec(text);
      const normal = spec.address;
      if (this.config.peers.some((p) => p.address === normal)) throw new SealsyncError('ERR_PEER_EXISTS', `peer ${normal} is already known`);
      if (spec.deviceId === this.deviceId) throw new SealsyncError('ERR_ADDRESS', 'that device id is this device');
      await this.persist({ ...this.config, peers: [...this.config.peers, spec.deviceId === undefined ? { address: normal } : { address: normal, deviceId: spec.deviceId }] });
      this.links.apply();
      this.log.info({ address: normal, deviceId: spec.deviceId ?? null }, 'peer added');
      if (spec.deviceId === undefined) await this.links.waitForPin(normal, opts.signal);
      const peer = this.listPeers().find((p) => p.address === normal);
      if (!peer) throw new SealsyncError('ERR_INTERNAL', 'peer vanished after add');
      return peer;
    });
  }

  /** My devices (src/daemon/devices/): invites, joins, the keyring; runs with the network. */
  devicesApi(): DevicesApi {
    return this.links.api();
  }

  removePeer(idOrAddress: string, _opts: OpOptions = {}): Promise<void> {
    return this.exclusive(async () => {
      refuseKeyAsAddress(idOrAddress); // "no peer <key>" would print it
      let normal = idOrAddress;
      try { normal = formatPeerAddress(parsePeerAddress(idOrAddress)); } catch { /* maybe a device id */ }
      // A device id removes every address that led to that device.
      const before = this.listPeers();
      const byId = new Set(before.filter((p) => p.id !== null && p.id === idOrAddress).map((p) => p.address));
      for (const p of this.config.peers) if (p.deviceId !== undefined && p.deviceId === idOrAddress) byId.add(p.address);
      const remaining = this.config.peers.filter((p) => p.address !== normal && !byId.has(p.address));
      if (remaining.length === this.config.peers.length) throw new SealsyncError('ERR_PEER_UNKNOWN', `no peer ${idOrAddress.slice(0, 100)}`);
      const kept = new Set(remaining.map((p) => p.address));
      const removed = this.config.peers.filter((p) => !kept.has(p.address)).map((p) => p.address);
      await this.persist({ ...this.config, peers: remaining });
      // Forgetting a peer also ends its session (it may still dial us; that is its choice).
      // The network decides which sessions that is *now*: a dial that was still
      // running when `before` was read may have connected during the write above.
      await this.net?.forgetAddresses(removed);
      if (byId.size > 0) await this.net?.disconnect(idOrAddress);
      this.log.info({ peer: idOrAddress.slice(0, 100) }, 'peer removed');
    });
  }

  getSettings(): Settings {
    return settingsView(this.config, this.startedWith);
  }

  /**
   * Validated and persisted. Archive retention, bandwidth limits (open
   * sessions too) and the device name (sent to peers on their next
   * connection) apply at once; listen address, discovery and the dashboard on
   * restart, which getSettings().restartRequired reports.
   */
  patchSettings(patch: SettingsPatch, _opts: OpOptions = {}): Promise<Settings> {
    return this.exclusive(async () => {
      const c = this.config;
      const merged = {
        ...c,
        device: { ...c.device, ...patch.device },
        listen: patch.listen ?? c.listen,
        discovery: patch.discovery ?? c.discovery,
        webui: { ...c.webui, ...patch.webui },
        archive: { ...c.archive, ...patch.archive },
        bandwidth: { ...c.bandwidth, ...patch.bandwidth },
        metrics: { ...c.metrics, ...patch.metrics },
      };
      const r = configSchema.safeParse(merged);
      if (!r.success) {
        const issue = r.error.issues[0];
        throw new SealsyncError('ERR_INVALID_ARGUMENT', `${issue?.path.join('.') ?? 'settings'}: ${issue?.message ?? 'invalid'}`);
      }
      const ui = parseHostPort(r.data.webui.listen);
      if (r.data.webui.enabled && !LOOPBACK_HOSTS.has(ui.host) && (!r.data.webui.https || r.data.webui.passwordHash === null)) {
        throw new SealsyncError('ERR_UI_UNSAFE_LISTEN');
      }
      const retentionChanged = r.data.archive.retentionDays !== c.archive.retentionDays;
      const bandwidthChanged = r.data.bandwidth.maxSendKBps !== c.bandwidth.maxSendKBps || r.data.bandwidth.maxRecvKBps !== c.bandwidth.maxRecvKBps;
      await this.persist(r.data);
      if (retentionChanged) for (const f of this.folders.all()) f.runner.setRetention?.(...this.folders.retentionOf(f.config));
      if (bandwidthChanged) this.net?.setRateLimit(rateLimitOf(r.data.bandwidth));
      if (r.data.device.name !== c.device.name) this.net?.setLocalName(r.data.device.name);
      return this.getSettings();
    });
  }

  /** A folder's own archive retention (`folder retention`); applies at once. */
  setFolderRetention(path: string, retention: FolderRetention): Promise<FolderInfo> {
    return this.exclusive(async () => {
      const f = await this.folders.find(path);
      const archive = { ...(retention.retentionDays !== null ? { retentionDays: retention.retentionDays } : {}), maxMiB: retention.maxMiB };
      const folders = this.config.folders.map((c) => (c.path === f.config.path ? { ...c, archive } : c));
      await this.persist({ ...this.config, folders });
      Object.assign(f, { config: this.config.folders.find((c) => c.path === f.config.path) ?? f.config });
      f.runner.setRetention?.(...this.folders.retentionOf(f.config));
      return this.listFolders().find((i) => i.path === f.config.path) as FolderInfo;
    });
  }

  /** `folder pause|resume`: a paused folder's engine is stopped (nothing scanned, sent or applied) until resumed, across restarts too. */
  setFolderPaused(path: string, paused: boolean): Promise<FolderStatus> {
    return this.exclusive(async () => {
      const f = await this.folders.find(path);
      if ((f.config.paused ?? false) !== paused) {
        await this.persist({ ...this.config, folders: this.config.folders.map((c) => (c.path === f.config.path ? { ...c, paused } : c)) });
        await this.folders.forget(f.config.path, { keepIndex: true });
        await this.folders.start(this.config.folders.find((c) => c.path === f.config.path) ?? f.config, f.keys);
        this.net?.refreshFolders();
        // A peer that dialled us never learns we left, so it would not join again: reconnect (redialled within a second).
        if (!paused) for (const p of this.listPeers()) if (p.connected && p.id) await this.net?.disconnect(p.id);
        this.events.emit({ type: 'folder-changed', path: f.config.path, change: paused ? 'paused' : 'resumed' });
      }
      return this.folders.status(await this.folders.find(path));
    });
  }

  /** For the dashboard's auth module: sets the scrypt password hash (never exposed by getSettings). */
  setPasswordHash(hash: string | null): Promise<void> {
    return this.exclusive(async () => {
      await this.persist({ ...this.config, webui: { ...this.config.webui, passwordHash: hash } });
    });
  }

  // ---- internals ---------------------------------------------------------

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.mutex.then(fn, fn);
    this.mutex = run.catch(() => undefined);
    return run;
  }

  private async persist(next: Config): Promise<void> {
    await saveConfig(this.paths.config, next);
    this.config = configSchema.parse(next);
  }

  /** Folders as the network sees them: access secrets by folder id (for the join proofs). */
  private async startNetwork(identity: DeviceCredentials): Promise<void> {
    const devices = this.links.create(identity);
    const net = new ConnectionManager({
      onLinkConnection: (conn) => devices.handleConnection(conn),
      identity,
      localName: this.config.device.name,
      directory: routedFolderDirectory(() => this.folders.all()),
      listen: this.config.listen,
      addresses: this.links.targets(),
      logger: this.init.logger,
      session: { logger: this.init.logger, rateLimit: rateLimitOf(this.config.bandwidth) },
    });
    const peerOf = (deviceId: string): PeerStatus => this.listPeers().find((p) => p.id === deviceId)
      ?? { ...offlinePeer(''), id: deviceId };
    net.on('session', (session) => {
      this.router?.addSession(session);
      // Registered before it starts: report once it is up, on the next turn.
      setImmediate(() => {
        const peer = peerOf(session.remoteDeviceId);
        this.history.rememberPeer(peer);
        this.events.emit({ type: 'peer-connected', peer });
      });
    });
    net.on('session-closed', (session) => {
      this.history.rememberPeer(peerOf(session.remoteDeviceId));
      this.events.emit({ type: 'peer-disconnected', peer: peerOf(session.remoteDeviceId) });
    });
    try {
      await net.start();
    } catch (err) {
      // The listener cannot know where its address came from: say it here.
      if (!isSealsyncError(err, 'ERR_LISTEN') || err.cause === undefined) throw err;
      throw listenFailure({ address: this.config.listen, hint: `set another port as "listen" in ${this.paths.config}` }, err.cause);
    }
    this.net = net;
    this.log.info({ listen: net.listenAddresses() }, 'network started');
    await this.links.start(net, identity);
  }

  private async stopNetwork(): Promise<void> {
    await this.links.stop();
    const net = this.net;
    this.net = null;
    if (net) {
      try { await net.stop(); } catch (err) { this.log.warn({ err }, 'network stop failed'); }
      net.removeAllListeners();
    }
  }

  private requireIndex(): Index {
    if (!this.index) throw new SealsyncError('ERR_DAEMON_NOT_RUNNING', 'the daemon is not started');
    return this.index;
  }

  private async stopServices(): Promise<void> {
    while (this.startedServices.length > 0) {
      const service = this.startedServices.pop() as DaemonService;
      try { await service.stop(); } catch (err) { this.log.warn({ err }, 'service stop failed'); }
    }
  }
}
