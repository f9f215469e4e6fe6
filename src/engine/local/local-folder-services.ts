/**
 * The real file-system services for LocalFolder (src/fs): the walker, ignore
 * rules, the watcher, and a hash pool. The daemon shares one pool between all
 * folders; `createLocalFolderServices` bundles a private one for tools and tests.
 * The same pool's workers check large index updates from peers (`records`,
 * see record-check.ts), so that needs no pool of its own.
 */
import { walkFolder } from '../../fs/walk.js';
import { IgnoreRules } from '../../fs/ignore-rules.js';
import { FolderWatcher } from '../../fs/folder-watcher.js';
import { HashPool } from '../../fs/hash-pool.js';
import type { LocalFolderFs } from './local-folder-fs.js';
import type { RecordChecker } from '../peer/record-check.js';

export function nodeLocalFolderFs(): LocalFolderFs {
  return {
    walk: (root, opts) => walkFolder(root, opts),
    loadIgnore: (root) => IgnoreRules.load(root),
    createWatcher: (root, opts) => new FolderWatcher(root, { debounceMs: opts.debounceMs, onChange: opts.onChange }),
  };
}

export interface LocalFolderServices {
  readonly fs: LocalFolderFs;
  readonly pool: HashPool;
  readonly records: RecordChecker;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function createLocalFolderServices(init: { workers?: number } = {}): LocalFolderServices {
  const pool = new HashPool(init.workers === undefined ? {} : { workers: init.workers });
  return {
    fs: nodeLocalFolderFs(),
    pool,
    records: pool,
    async start() {
      pool.start();
    },
    stop: () => pool.stop(),
  };
}
