/**
 * Engines for the daemon's folders, by key type:
 * - rw/ro: LocalFolder (scan, watch, index) plus SyncFolder on top (index
 *   exchange, pulling, conflicts). LocalFolder starts first and stops last,
 *   as SyncFolder listens to it. One hash pool is shared by every folder: it
 *   is a service started before the first folder and stopped after the last.
 * - encrypted: ReplicaFolder (sealed records and blocks only).
 */
import type { LocalFolderFs, FileHasher } from '../engine/local-folder-fs.js';
import { LocalFolder } from '../engine/local-folder.js';
import type { FolderStatus } from '../engine/folder-status.js';
import { createReplicaFolder, type ReplicaFolder } from '../engine/replica/replica-folder.js';
import { createSyncFolder, type SyncFolder } from '../engine/sync-folder.js';
import { decodeSealedRecord, openRecord } from '../crypto/index.js';
import { describeError } from '../errors.js';
import type { FolderGcReport, FolderVerifyReport } from './daemon-types.js';
import type { FolderRunner, FolderRunnerFactories, FolderRunnerInit } from './folder-runner.js';

export interface LocalFolderServices {
  readonly fs: LocalFolderFs;
  readonly pool: FileHasher;
}

/**
 * file-changed events per index commit at most; a bigger commit (a first scan,
 * a bulk copy) is reported through folder-status only, not file by file.
 */
export const MAX_FILE_EVENTS_PER_COMMIT = 20;

type FileAction = 'added' | 'modified' | 'deleted';

class LocalFolderRunner implements FolderRunner {
  private readonly local: LocalFolder;
  private readonly sync: SyncFolder;
  private readonly init: FolderRunnerInit;
  private lastSeq = 0;
  private fileListeners: ((file: string, action: FileAction) => void)[] = [];

  constructor(services: LocalFolderServices, init: FolderRunnerInit) {
    this.local = new LocalFolder(
      { index: init.index, pool: services.pool, logger: init.logger, fs: services.fs },
      {
        path: init.folder.path,
        keys: init.keys,
        folderRowId: init.folderRowId,
        rescanIntervalMs: init.folder.rescanIntervalS * 1000,
        watch: init.folder.watch,
      },
    );
    this.sync = createSyncFolder(init, this.local, { archiveRetentionDays: init.retentionDays });
    this.init = init;
    this.local.on('changed', (e: { seq: number }) => this.reportFiles(e.seq));
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
  setRetentionDays(days: number): void { this.sync.setArchiveRetentionDays(days); }
  onStatus(listener: (status: FolderStatus) => void): void { this.sync.onStatus(listener); }
  get routed(): SyncFolder { return this.sync; }

  onFileChanged(listener: (file: string, action: FileAction) => void): void {
    this.fileListeners.push(listener);
  }

  /** Turns the records committed since the last report into file-changed events (bounded). */
  private reportFiles(seq: number): void {
    const since = this.lastSeq;
    this.lastSeq = Math.max(this.lastSeq, seq);
    if (this.fileListeners.length === 0 || seq - since > MAX_FILE_EVENTS_PER_COMMIT) return;
    try {
      for (const rec of this.init.index.recordsSince(this.init.folderRowId, since, MAX_FILE_EVENTS_PER_COMMIT)) {
        const file = openRecord(this.init.keys, decodeSealedRecord(rec.sealed));
        // A path's first version has a single counter at 1.
        const first = file.version.length === 1 && file.version[0]?.value === 1;
        const action: FileAction = file.deleted ? 'deleted' : first ? 'added' : 'modified';
        for (const l of this.fileListeners) l(file.path, action);
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
  constructor(init: FolderRunnerInit) {
    this.replica = createReplicaFolder(init, { retentionDays: init.retentionDays });
  }
  start(): Promise<void> { return this.replica.start(); }
  stop(): Promise<void> { return this.replica.stop(); }
  status(): FolderStatus { return this.replica.status(); }
  onStatus(listener: (status: FolderStatus) => void): void { this.replica.onStatus(listener); }
  gc(opts: { retentionDays?: number; signal?: AbortSignal }): Promise<FolderGcReport> { return this.replica.gc(opts); }
  verify(opts: { signal?: AbortSignal }): Promise<FolderVerifyReport> { return this.replica.verify(opts); }
  setRetentionDays(days: number): void { this.replica.setRetentionDays(days); }
  get routed(): ReplicaFolder { return this.replica; }
}

/** Engine factories for every key type. */
export function folderEngines(services: LocalFolderServices): FolderRunnerFactories {
  const local = (init: FolderRunnerInit): FolderRunner => new LocalFolderRunner(services, init);
  return { rw: local, ro: local, encrypted: (init) => new ReplicaFolderRunner(init) };
}
