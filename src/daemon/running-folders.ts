/**
 * RunningFolders: the daemon's folders while it runs. Each configured folder
 * has an entry with its parsed keys, its index row and its runner (the engine,
 * or an idle placeholder when paused or when no engine runs that key type).
 * This is where a folder's engine is started, bound to the peer sessions,
 * stopped and forgotten, and where its status is settled for the API.
 *
 * It never touches the config: the Daemon decides (under its mutex, after
 * writing the config) which folders run; this class only makes it so.
 */
import { parseKey, folderIdText } from '../crypto/key-text.js';
import type { FolderKeys } from '../crypto/keys.js';
import { toHex } from '../crypto/bytes.js';
import type { FolderStatus } from '../engine/peer/folder-status.js';
import { withDevicesConnected } from '../engine/peer/folder-truth.js';
import type { FolderSessionRouter } from '../engine/peer/folder-session-router.js';
import { SealsyncError } from '../errors.js';
import type { Index } from '../index/index.js';
import { componentLogger, type Logger } from '../logger.js';
import type { Config, FolderConfig } from './config-schema.js';
import type { DaemonHistory } from './daemon-history.js';
import type { EventBus } from './event-bus.js';
import { canonicalFolderPath } from './folder-path.js';
import { folderDevices } from './folder-devices.js';
import { IdleFolderRunner, PAUSED_NOTICE, type FolderRunner, type FolderRunnerFactories, type FolderRunnerInit } from './folder-runner.js';

export interface RunningFolder {
  readonly config: FolderConfig;
  readonly keys: FolderKeys;
  readonly folderId: string;
  readonly folderRowId: number;
  runner: FolderRunner;
  startError: string | null;
  /** Running and bound to the sessions: only then is it offered to peers. */
  routed: boolean;
}

export interface RunningFoldersDeps {
  /** The daemon's root logger (each engine gets its own component logger). */
  readonly logger: Logger;
  readonly log: Logger;
  /** Engines by folder key type; a type without one runs an idle placeholder. */
  readonly engines: FolderRunnerFactories | undefined;
  readonly config: () => Config;
  /** The open index, or null while the daemon is stopped. */
  readonly index: () => Index | null;
  /** The open index; throws ERR_DAEMON_NOT_RUNNING while stopped. */
  readonly requireIndex: () => Index;
  readonly router: () => FolderSessionRouter | null;
  readonly deviceId: () => string;
  /** Devices connected now (a folder's status is settled with it). */
  readonly connectedCount: () => number;
  /** The name a connected device announced, or null. */
  readonly peerName: (deviceId: string) => string | null;
  readonly events: EventBus;
  readonly history: Pick<DaemonHistory, 'deviceRef'>;
}

export class RunningFolders {
  private readonly folders = new Map<string, RunningFolder>();

  constructor(private readonly deps: RunningFoldersDeps) {}

  get size(): number {
    return this.folders.size;
  }

  all(): IterableIterator<RunningFolder> {
    return this.folders.values();
  }

  paths(): string[] {
    return [...this.folders.keys()];
  }

  /** The folder at `path`, as given or after resolving it (symlinks, relative). */
  async find(path: string): Promise<RunningFolder> {
    const exact = this.folders.get(path);
    if (exact) return exact;
    const canon = await canonicalFolderPath(path);
    const f = this.folders.get(canon);
    if (!f) throw new SealsyncError('ERR_FOLDER_UNKNOWN', `${path.slice(0, 300)} is not a shared folder`);
    return f;
  }

  /** The folder at exactly `path` (the canonical path the config holds). */
  findSync(path: string): RunningFolder {
    const f = this.folders.get(path);
    if (!f) throw new SealsyncError('ERR_FOLDER_UNKNOWN', `${path.slice(0, 300)} is not a shared folder`);
    return f;
  }

  /** [days, bytes] of a folder's archive retention: its own setting, else archive.retentionDays. */
  retentionOf(folder: FolderConfig): [number, number] {
    return [folder.archive?.retentionDays ?? this.deps.config().archive.retentionDays, (folder.archive?.maxMiB ?? 0) * 1024 * 1024];
  }

  /** A folder's status, settled with the number of devices connected at all (folder-truth.ts). */
  status(f: RunningFolder): FolderStatus {
    const s = f.runner.status();
    if (f.startError) return { ...s, state: 'error', error: f.startError, notice: null };
    // Paused: the counts it had when paused (folder-devices.ts), not the idle placeholder's zeros.
    if (f.config.paused) return { ...s, ...f.config.pausedCounts, state: 'unshared', paused: true, notice: PAUSED_NOTICE };
    const settled = withDevicesConnected(s, this.deps.connectedCount());
    const joined = f.runner.joinedPeers?.();
    const router = this.deps.router();
    if (!joined || !router) return settled;
    return { ...settled, devices: folderDevices(joined, router.peerProgress(f.keys.folderId), this.deps.peerName) };
  }

  /** Starts a folder's engine; a failure is kept on the folder (status shows it) and returned. */
  async start(folder: FolderConfig, parsed?: FolderKeys): Promise<SealsyncError | null> {
    const { events } = this.deps;
    const keys = parsed ?? parseKey(folder.key);
    const folderId = folderIdText(keys.folderId);
    const index = this.deps.requireIndex();
    const folderRowId = folderRow(index, folder.path, keys);
    const [retentionDays, retentionMaxBytes] = this.retentionOf(folder);
    const init: FolderRunnerInit = {
      folder, keys, folderId, index, folderRowId,
      logger: componentLogger(this.deps.logger, 'engine:folder').child({ folder: folder.path }),
      retentionDays,
      retentionMaxBytes,
      deviceId: this.deps.deviceId(),
    };
    const entry: RunningFolder = { config: folder, keys, folderId, folderRowId, runner: new IdleFolderRunner(init), startError: null, routed: false };
    this.folders.set(folder.path, entry);
    const factory = this.deps.engines?.[keys.type];
    if (!factory || folder.paused) return null;
    try {
      entry.runner = await factory(init);
      entry.runner.onStatus(() => events.emit({ type: 'folder-status', folder: this.status(entry) }));
      entry.runner.onFileChanged?.((file, action, source) => events.emit({ type: 'file-changed', folder: folder.path, file, action, source }));
      entry.runner.onConflict?.((c) => events.emit({ type: 'conflict', folder: folder.path, ...c, device: this.deps.history.deviceRef(c.writerDevice ?? null) }));
      entry.runner.onArchivePruned?.((p) => events.emit({ type: 'archive-pruned', folder: folder.path, ...p }));
      await entry.runner.start();
      const router = this.deps.router();
      if (entry.runner.routed && router) {
        entry.routed = true;
        router.addFolder(keys.folderId, entry.runner.routed);
      }
      return null;
    } catch (err) {
      entry.startError = err instanceof Error ? err.message.split('\n')[0] ?? 'error' : String(err);
      this.deps.log.error({ err, path: folder.path }, 'folder failed to start');
      const e = err instanceof SealsyncError ? err : new SealsyncError('ERR_INTERNAL', entry.startError);
      events.emit({ type: 'error', error: e.toJSON(), folder: folder.path });
      return e;
    }
  }

  /** Stops a running folder and drops it with its index data (re-adding later rescans from scratch). */
  async forget(path: string, opts: { keepIndex?: boolean } = {}): Promise<void> {
    const f = this.folders.get(path);
    if (f === undefined) return;
    this.folders.delete(path);
    f.routed = false;
    this.deps.router()?.removeFolder(f.keys.folderId);
    await f.runner.stop().catch((err: unknown) => this.deps.log.warn({ err, path }, 'folder stop failed'));
    if (!opts.keepIndex) this.deps.index()?.removeFolder(f.folderRowId);
  }

  /** Stops every folder (their index data stays). */
  async stopAll(): Promise<void> {
    const all = [...this.folders.values()];
    this.folders.clear();
    const router = this.deps.router();
    for (const f of all) {
      f.routed = false;
      router?.removeFolder(f.keys.folderId);
    }
    await Promise.all(all.map((f) => f.runner.stop().catch((err: unknown) => this.deps.log.warn({ err, path: f.config.path }, 'folder stop failed'))));
  }
}

/** The folder's index row; a row left with another path or key type is reset (its data no longer applies). */
function folderRow(index: Index, path: string, keys: FolderKeys): number {
  const hexId = toHex(keys.folderId);
  const row = index.folderByFolderId(hexId);
  if (row && row.path === path && row.type === keys.type) return row.rowId;
  if (row) index.removeFolder(row.rowId);
  // A stale row for this path under another folder id (re-shared with a new key).
  for (const r of index.listFolders()) if (r.path === path) index.removeFolder(r.rowId);
  return index.addFolder({ path, folderId: hexId, type: keys.type }).rowId;
}
