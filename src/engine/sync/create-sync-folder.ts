/** The daemon's factory for the sync side of a rw/ro folder (kept apart so sync-folder.ts stays one job). */
import type { FolderKeys } from '../../crypto/index.js';
import type { Index } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import type { RecordChecker } from '../peer/record-check.js';
import { SyncFolder, type LocalFolderHooks } from './sync-folder.js';

/** What the daemon hands a folder engine (a structural subset of its FolderRunnerInit). */
export interface SyncFolderInit {
  readonly folder: { readonly path: string };
  readonly keys: FolderKeys;
  readonly index: Index;
  readonly folderRowId: number;
  readonly logger: Logger;
}

/**
 * The daemon's factory for the sync side of a rw/ro folder: one SyncFolder
 * next to the folder's LocalFolder. Start it after the LocalFolder, stop it
 * before; bind it to sessions with FolderSessionLink and route block
 * requests for the folder to serveBlock().
 */
export function createSyncFolder(
  init: SyncFolderInit,
  localFolder: LocalFolderHooks,
  opts: { archiveRetentionDays?: number; archiveMaxBytes?: number; now?: () => number; recordChecker?: RecordChecker; deviceId?: string; headGraceMs?: number } = {},
): SyncFolder {
  return new SyncFolder({
    path: init.folder.path,
    keys: init.keys,
    index: init.index,
    folderRowId: init.folderRowId,
    localFolder,
    logger: init.logger,
    ...(opts.archiveRetentionDays !== undefined ? { archiveRetentionDays: opts.archiveRetentionDays } : {}),
    ...(opts.archiveMaxBytes !== undefined ? { archiveMaxBytes: opts.archiveMaxBytes } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.recordChecker ? { recordChecker: opts.recordChecker } : {}),
    ...(opts.deviceId ? { deviceId: opts.deviceId } : {}),
    ...(opts.headGraceMs !== undefined ? { headGraceMs: opts.headGraceMs } : {}),
  });
}
