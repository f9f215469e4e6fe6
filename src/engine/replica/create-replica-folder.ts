/** The daemon's engine factory for encrypted folders (the daemon's folder runner calls it). */
import { SealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Index } from '../../index/index.js';
import type { FolderKeys } from '../../crypto/keys.js';
import type { RecordChecker } from '../peer/record-check.js';
import { ReplicaFolder } from './replica-folder.js';

/** What the daemon hands a folder engine (a structural subset of its FolderRunnerInit). */
export interface ReplicaFolderInit {
  readonly folder: { readonly path: string };
  readonly keys: FolderKeys;
  readonly index: Index;
  readonly folderRowId: number;
  readonly logger: Logger;
}

/** The daemon's engine factory for encrypted folders: `engines: { encrypted: (init) => createReplicaFolder(init, …) }`. */
export function createReplicaFolder(
  init: ReplicaFolderInit,
  opts: { retentionDays?: number; now?: () => number; recordChecker?: RecordChecker } = {},
): ReplicaFolder {
  if (init.keys.type !== 'encrypted') throw new SealsyncError('ERR_FOLDER_TYPE', 'the replica engine runs only folders added with an encrypted key');
  return new ReplicaFolder({
    path: init.folder.path,
    keys: init.keys,
    index: init.index,
    folderRowId: init.folderRowId,
    logger: init.logger,
    ...(opts.retentionDays !== undefined ? { retentionDays: opts.retentionDays } : {}),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.recordChecker ? { recordChecker: opts.recordChecker } : {}),
  });
}
