/**
 * Watches a folder (chokidar 4: inotify / FSEvents / ReadDirectoryChangesW,
 * never polling) and turns file-system events into debounced hints: the
 * relative paths ('/'-separated, NFC) that may have changed. Hints are only
 * hints — events can be lost (overflowing kernel queues, watch limits), so a
 * periodic full rescan elsewhere remains the source of truth.
 *
 * How this works: every event adds its path to a pending set. The set is
 * flushed to onChange when no event arrived for `debounceMs`, or at the latest
 * `maxWaitMs` after the first pending event (a file written continuously
 * still gets scanned), or at once when it reaches MAX_PENDING_HINTS (the
 * receiver then falls back to a full scan; nothing is dropped here).
 * The `.sealsync/` state directory and our temp files are never watched;
 * with `ignore` set, ignored directories are not watched either (saves
 * inotify watches on e.g. node_modules).
 */
import { relative, sep } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { SealsyncError } from '../errors.js';
import { STATE_DIR_NAME } from '../model/path.js';
import { TEMP_PREFIX } from './atomic-apply.js';

export const DEFAULT_DEBOUNCE_MS = 200;
/** A pending hint waits at most this many debounce periods. */
export const MAX_WAIT_DEBOUNCES = 10;
/** Pending hints that trigger an immediate flush (matches the engine's full-scan fallback). */
export const MAX_PENDING_HINTS = 10_000;

export interface FolderWatcherInit {
  readonly debounceMs?: number;
  readonly onChange: (paths: string[]) => void;
  readonly onError?: (e: Error) => void;
  /** Optional: paths it ignores are not watched and give no hints. */
  readonly ignore?: { ignores(relPath: string, isDir: boolean): boolean };
}

export class FolderWatcher {
  readonly #root: string;
  readonly #init: FolderWatcherInit;
  readonly #debounceMs: number;
  #watcher: FSWatcher | null = null;
  #pending = new Set<string>();
  #timer: NodeJS.Timeout | null = null;
  #firstPendingAt = 0;

  constructor(root: string, init: FolderWatcherInit) {
    const debounceMs = init.debounceMs ?? DEFAULT_DEBOUNCE_MS;
    if (!Number.isFinite(debounceMs) || debounceMs < 0) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'debounceMs' must be a non-negative number`);
    }
    this.#root = root;
    this.#init = init;
    this.#debounceMs = debounceMs;
  }

  /** Resolves once the initial directory crawl is done and events flow. */
  async start(): Promise<void> {
    if (this.#watcher) return;
    const watcher = watch(this.#root, {
      persistent: true,
      ignoreInitial: true,
      followSymlinks: false,
      usePolling: false,
      ignorePermissionErrors: true,
      ignored: (p, stats) => this.#isIgnored(p, stats?.isDirectory()),
    });
    this.#watcher = watcher;
    watcher.on('all', (_event, path) => this.#onEvent(path));
    watcher.on('error', (err) => this.#init.onError?.(err instanceof Error ? err : new Error(String(err))));
    await new Promise<void>((resolve, reject) => {
      const onError = (err: unknown): void => {
        watcher.off('ready', onReady);
        reject(err instanceof Error ? err : new Error(String(err)));
      };
      const onReady = (): void => {
        watcher.off('error', onError);
        resolve();
      };
      watcher.once('ready', onReady);
      watcher.once('error', onError);
    }).catch(async (err: unknown) => {
      await this.stop();
      throw err;
    });
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#pending.clear();
    const w = this.#watcher;
    this.#watcher = null;
    if (w) await w.close();
  }

  #relative(absPath: string): string | null {
    const rel = relative(this.#root, absPath);
    if (rel === '' || rel.startsWith('..')) return null;
    return (sep === '/' ? rel : rel.split(sep).join('/')).normalize('NFC');
  }

  #isIgnored(absPath: string, isDir: boolean | undefined): boolean {
    const rel = this.#relative(absPath);
    if (rel === null) return false;
    if (rel === STATE_DIR_NAME || rel.startsWith(`${STATE_DIR_NAME}/`)) return true;
    if (rel.startsWith(TEMP_PREFIX, rel.lastIndexOf('/') + 1)) return true;
    const ig = this.#init.ignore;
    if (!ig) return false;
    // Without stats (chokidar does not always pass them) only directory rules can hide a directory.
    return isDir === undefined ? ig.ignores(rel, true) && ig.ignores(rel, false) : ig.ignores(rel, isDir);
  }

  #onEvent(absPath: string): void {
    if (!this.#watcher) return;
    const rel = this.#relative(absPath);
    if (rel === null) return;
    const now = Date.now();
    if (this.#pending.size === 0) this.#firstPendingAt = now;
    this.#pending.add(rel);
    if (this.#pending.size >= MAX_PENDING_HINTS) {
      this.#flush();
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    const deadline = this.#firstPendingAt + this.#debounceMs * MAX_WAIT_DEBOUNCES;
    this.#timer = setTimeout(() => this.#flush(), Math.max(0, Math.min(this.#debounceMs, deadline - now)));
  }

  #flush(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#pending.size === 0) return;
    const paths = [...this.#pending].sort();
    this.#pending.clear();
    try {
      this.#init.onChange(paths);
    } catch (err) {
      this.#init.onError?.(err instanceof Error ? err : new Error(String(err)));
    }
  }
}
