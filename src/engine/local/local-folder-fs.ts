/**
 * The file-system services LocalFolder uses, as narrow interfaces, so that the
 * engine is testable with fakes and depends on src/fs only through these
 * shapes. `defaultLocalFolderFs()` wires the real implementations.
 */
import type { ScanKeys } from '../../fs/hash-file-sync.js';
import type { BlockRef } from '../../model/types.js';
import type { ScanEntry } from './scan-diff.js';

export interface IgnoreMatcher {
  ignores(relPath: string, isDir: boolean): boolean;
}

/** A path the walker did not report, and why (src/fs/walk.ts). */
export interface SkipNotice {
  readonly path: string;
  /** 'unreadable': the path and its subtree were not read, so absence there is not a deletion. */
  readonly reason: 'unreadable' | 'special' | 'case-collision' | 'invalid-name';
  readonly detail?: string;
}

export interface WalkOptions {
  readonly ignore: IgnoreMatcher;
  readonly signal?: AbortSignal;
  readonly onSkip?: (notice: SkipNotice) => void;
}

export interface HashResult {
  readonly blocks: readonly BlockRef[];
  readonly size: number;
  readonly mtimeMs: number;
  /** Inode the content was read from, when the hasher reports it. */
  readonly ino?: number;
  /** The file changed while it was read: the result mixes old and new data. */
  readonly changed: boolean;
}

export interface FileHasher {
  /** Files up to this size are hashed on the calling thread: they take no worker. */
  readonly inlineMaxBytes: number;
  /** `sizeHint`: the size the walk just saw (saves the pool an lstat per file). */
  hashFile(absPath: string, keys: ScanKeys, opts: { signal?: AbortSignal; sizeHint?: number }): Promise<HashResult>;
}

export interface Watcher {
  start(): Promise<void> | void;
  stop(): Promise<void> | void;
}

export interface LocalFolderFs {
  walk(root: string, opts: WalkOptions): AsyncIterable<ScanEntry>;
  loadIgnore(root: string): Promise<IgnoreMatcher>;
  /** `crawled` (fs/folder-watcher.ts): the hinted directories whose entries were each hinted too. */
  createWatcher(root: string, opts: { debounceMs: number; onChange: (paths: string[], crawled?: ReadonlySet<string>) => void }): Watcher;
}
