/**
 * Runs rw/ro folders with the LocalFolder engine. One hash pool is shared by
 * every folder of the daemon: it is a service started before the first folder
 * and stopped after the last (see Daemon `services`).
 */
import type { LocalFolderFs, FileHasher } from '../engine/local-folder-fs.js';
import { LocalFolder } from '../engine/local-folder.js';
import type { FolderStatus } from '../engine/folder-status.js';
import type { FolderRunner, FolderRunnerFactories, FolderRunnerInit } from './folder-runner.js';

export interface LocalFolderServices {
  readonly fs: LocalFolderFs;
  readonly pool: FileHasher;
}

class LocalFolderRunner implements FolderRunner {
  private readonly engine: LocalFolder;

  constructor(services: LocalFolderServices, init: FolderRunnerInit) {
    this.engine = new LocalFolder(
      { index: init.index, pool: services.pool, logger: init.logger, fs: services.fs },
      {
        path: init.folder.path,
        keys: init.keys,
        folderRowId: init.folderRowId,
        rescanIntervalMs: init.folder.rescanIntervalS * 1000,
        watch: init.folder.watch,
      },
    );
  }

  start(): Promise<void> { return this.engine.start(); }
  stop(): Promise<void> { return this.engine.stop(); }
  status(): FolderStatus { return this.engine.status(); }
  onStatus(listener: (status: FolderStatus) => void): void { this.engine.on('status', listener); }
  /** The engine itself, for the sync layer (puller) and tests. */
  get localFolder(): LocalFolder { return this.engine; }
}

/** Engine factories for rw and ro keys; encrypted folders are left to the replica engine. */
export function localFolderEngines(services: LocalFolderServices): FolderRunnerFactories {
  const make = (init: FolderRunnerInit): FolderRunner => new LocalFolderRunner(services, init);
  return { rw: make, ro: make };
}
