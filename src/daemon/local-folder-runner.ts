/**
 * Engines for the daemon's folders, by key type:
 * - rw/ro: LocalFolder (scan, watch, index) plus SyncFolder on top (index
 *   exchange, pulling, conflicts). LocalFolder starts first and stops last,
 *   as SyncFolder listens to it. One hash pool is shared by every folder: it
 *   is a service started before the first folder and stopped after the last.
 *   Its workers also check large index updates from peers for every folder,
 *   encrypted ones included (src/engine/record-check.ts).
 * - encrypted: ReplicaFolder (sealed records and blocks only).
 */
import type { LocalFolderFs, FileHasher } from '../engine/local/local-folder-fs.js';
import type { RecordChecker } from '../engine/peer/record-check.js';
import { LocalFolder } from '../engine/local/local-folder.js';
import type { FolderStatus } from '../engine/peer/folder-status.js';
import { createReplicaFolder } from '../engine/replica/create-replica-folder.js';
import type { ReplicaFolder } from '../engine/replica/replica-folder.js';
import type { RemoteChange, SyncFolder } from '../engine/sync/sync-folder.js';
import { createSyncFolder } from '../engine/sync/create-sync-folder.js';
import { decodeSealedRecord, openRecord } from '../crypto/index.js';
import { describeError } from '../errors.js';
import { FolderHistory } from '../engine/sync/folder-history.js';
import type { ArchivePruned, FileChangeSource, FolderConflict, FolderGcReport, FolderVerifyReport } from './daemon-types.js';
import type { FolderRunner, FolderRunnerFactories, FolderRunnerInit } from './folder-runner.js';

export interface LocalFolderServices {
  readonly fs: LocalFolderFs;
  readonly pool: FileHasher;
  /** Checks large index updates from peers off the main thread (the same hash pool); inline without. */
  readonly records?: RecordChecker;
}

/**
 * file-changed events per scan (and per commit outside a scan) at most; a
 * bigger change (a first scan, a bulk copy) is reported through folder-status
 * only, not file by file. Counted per scan, not per commit: a slow scan commits
 * a bulk change in many small batches.
 */
export const MAX_FILE_EVENTS_PER_COMMIT = 20;
/**
 * Paths the puller applied, reported per folder per PULL_EVENT_WINDOW_MS at
 * most; beyond that (a first sync, a bulk copy on a peer) folder-status
 * reports the progress, so the event stream and its ring are not flooded.
 */
export const MAX_PULL_EVENTS_PER_WINDOW = 20;
/** Conflict copies are rare and matter more: a larger allowance per window. */
export const MAX_CONFLICT_EVENTS_PER_WINDOW = 100;
export const PULL_EVENT_WINDOW_MS = 1000;

type FileAction = 'added' | 'modified' | 'deleted';

/** At most `limit` per fixed window of `windowMs`. */
class WindowBudget {
  private windowStart = 0;
  private used = 0;
  constructor(private readonly limit: number, private readonly windowMs: number, private readonly now: () => number = Date.now) {}
  take(): boolean {
    const t = this.now();
    if (t - this.windowStart >= this.windowMs) {
      this.windowStart = t;
      this.used = 0;
    }
    if (this.used >= this.limit) return false;
    this.used++;
    return true;
  }
}

/** Shortest and longest SEALSYNC_HEAD_GRACE_MS (tests shorten the wait before withholding is reported). */
const HEAD_GRACE_RANGE_MS = [500, 24 * 60 * 60 * 1000] as const;

/** SEALSYNC_HEAD_GRACE_MS when set to a whole number of ms in range; anything else keeps the default. */
export function headGraceFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.SEALSYNC_HEAD_GRACE_MS;
  if (raw === undefined || !/^[0-9]{1,9}$/.test(raw)) return undefined;
  const ms = Number(raw);
  return ms >= HEAD_GRACE_RANGE_MS[0] && ms <= HEAD_GRACE_RANGE_MS[1] ? ms : undefined;
}

class LocalFolderRunner implements FolderRunner {
  private readonly local: LocalFolder;
  private readonly sync: SyncFolder;
  private readonly init: FolderRunnerInit;
  readonly history: FolderHistory;
  private lastSeq = 0;
  private fileListeners: ((file: string, action: FileAction, source: FileChangeSource) => void)[] = [];
  private conflictListeners: ((conflict: FolderConflict) => void)[] = [];
  private pruneListeners: ((pruned: ArchivePruned) => void)[] = [];
  private readonly pullBudget = new WindowBudget(MAX_PULL_EVENTS_PER_WINDOW, PULL_EVENT_WINDOW_MS);
  private readonly conflictBudget = new WindowBudget(MAX_CONFLICT_EVENTS_PER_WINDOW, PULL_EVENT_WINDOW_MS);

  constructor(services: LocalFolderServices, init: FolderRunnerInit) {
    this.local = new LocalFolder(
      { index: init.index, pool: services.pool, logger: init.logger, fs: services.fs },
      {
        path: init.folder.path,
        keys: init.keys,
        folderRowId: init.folderRowId,
        rescanIntervalMs: init.folder.rescanIntervalS * 1000,
        watch: init.folder.watch,
        writer: init.deviceId,
      },
    );
    const headGraceMs = headGraceFromEnv(process.env);
    this.sync = createSyncFolder(init, this.local, {
      archiveRetentionDays: init.retentionDays,
      archiveMaxBytes: init.retentionMaxBytes,
      deviceId: init.deviceId,
      ...(services.records ? { recordChecker: services.records } : {}),
      ...(headGraceMs !== undefined ? { headGraceMs } : {}),
    });
    this.init = init;
    this.history = new FolderHistory({
      root: init.folder.path, keys: init.keys, index: init.index, folder: init.folderRowId, deviceId: init.deviceId, now: Date.now,
      rescan: (paths, o) => this.local.scanNow({ paths, ...(o.signal ? { signal: o.signal } : {}) }),
    });
    this.local.on('changed', (e: { seq: number; fromSeq?: number; scanCommitted?: number }) => this.reportFiles(e.seq, e.fromSeq, e.scanCommitted));
    this.sync.onRemoteChange((c) => this.reportRemote(c));
  }

  async start(): Promise<void> {
    this.lastSeq = this.init.index.folderSeq(this.init.folderRowId);
    await this.local.start();
    await this.sync.start();
  }

  async stop(): Promise<void> {
    await this.sync.stop();
    await this.local.stop();
  }

  status(): FolderStatus { return this.sync.status(); }
  revert(opts: { signal?: AbortSignal }): Promise<void> { return this.sync.revert(opts); }
  rescan(opts: { signal?: AbortSignal }): Promise<void> { return this.local.scanNow(opts); }
  setRetention(days: number, maxBytes: number): void {
    this.sync.setArchiveRetention(days, maxBytes);
    void this.sync.cleanArchive();
  }
  onStatus(listener: (status: FolderStatus) => void): void { this.sync.onStatus(listener); }
  get routed(): SyncFolder { return this.sync; }
  joinedPeers(): ReadonlySet<string> { return this.sync.joinedPeers; }

  onFileChanged(listener: (file: string, action: FileAction, source: FileChangeSource) => void): void {
    this.fileListeners.push(listener);
  }

  onConflict(listener: (conflict: FolderConflict) => void): void {
    this.conflictListeners.push(listener);
  }

  onArchivePruned(listener: (pruned: ArchivePruned) => void): void {
    this.pruneListeners.push(listener);
  }

  /** What the puller did for peers: applied paths (bounded per window) and conflict copies. */
  private reportRemote(c: RemoteChange): void {
    if (c.type === 'applied') {
      if (this.fileListeners.length === 0 || !this.pullBudget.take()) return;
      for (const l of this.fileListeners) l(c.path, c.action, 'peer');
      return;
    }
    if (c.type === 'archive-pruned') {
      const { type: _type, ...pruned } = c;
      for (const l of this.pruneListeners) l(pruned);
      return;
    }
    if (this.conflictListeners.length === 0 || !this.conflictBudget.take()) return;
    const conflict: FolderConflict = { file: c.path, conflictFile: c.copyPath, thisDevice: c.thisDevice, writer: c.writer, writerDevice: c.writerDevice };
    for (const l of this.conflictListeners) l(conflict);
  }

  /**
   * Turns the records of one local commit into file-changed events (bounded).
   * Only its own range [fromSeq, seq]: records between two commits were
   * stored from peers and are reported by the puller when it applies them.
   */
  private reportFiles(seq: number, fromSeq?: number, scanCommitted?: number): void {
    const since = fromSeq !== undefined && fromSeq > 0 ? Math.max(this.lastSeq, fromSeq - 1) : this.lastSeq;
    this.lastSeq = Math.max(this.lastSeq, seq);
    if (this.fileListeners.length === 0 || seq - since > MAX_FILE_EVENTS_PER_COMMIT) return;
    if (scanCommitted !== undefined && scanCommitted > MAX_FILE_EVENTS_PER_COMMIT) return;
    try {
      for (const rec of this.init.index.recordsSince(this.init.folderRowId, since, MAX_FILE_EVENTS_PER_COMMIT)) {
        const file = openRecord(this.init.keys, decodeSealedRecord(rec.sealed));
        // A path's first version has a single counter at 1.
        const first = file.version.length === 1 && file.version[0]?.value === 1;
        const action: FileAction = file.deleted ? 'deleted' : first ? 'added' : 'modified';
        for (const l of this.fileListeners) l(file.path, action, 'local');
      }
    } catch (err) {
      this.init.logger.debug({ err: describeError(err) }, 'file-changed events skipped');
    }
  }
  /** The scanning engine, for tests and tools. */
  get localFolder(): LocalFolder { return this.local; }
}

class ReplicaFolderRunner implements FolderRunner {
  private readonly replica: ReplicaFolder;
  constructor(init: FolderRunnerInit, records: RecordChecker | undefined) {
    this.replica = createReplicaFolder(init, { retentionDays: init.retentionDays, ...(records ? { recordChecker: records } : {}) });
  }
  start(): Promise<void> { return this.replica.start(); }
  stop(): Promise<void> { return this.replica.stop(); }
  status(): FolderStatus { return this.replica.status(); }
  onStatus(listener: (status: FolderStatus) => void): void { this.replica.onStatus(listener); }
  gc(opts: { retentionDays?: number; signal?: AbortSignal }): Promise<FolderGcReport> { return this.replica.gc(opts); }
  verify(opts: { signal?: AbortSignal }): Promise<FolderVerifyReport> { return this.replica.verify(opts); }
  setRetention(days: number): void { this.replica.setRetentionDays(days); }
  get routed(): ReplicaFolder { return this.replica; }
  joinedPeers(): ReadonlySet<string> { return this.replica.joinedPeers; }
}

/** Engine factories for every key type. */
export function folderEngines(services: LocalFolderServices): FolderRunnerFactories {
  const local = (init: FolderRunnerInit): FolderRunner => new LocalFolderRunner(services, init);
  return { rw: local, ro: local, encrypted: (init) => new ReplicaFolderRunner(init, services.records) };
}
