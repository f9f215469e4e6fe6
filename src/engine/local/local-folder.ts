/**
 * LocalFolder: keeps the index in step with one folder on disk (full peers:
 * read-write and read-only keys).
 *
 * How this works
 * - States: stopped → (start) → scanning ⇄ idle, and error when a scan fails
 *   (the folder root vanished, the index refused a write). `stop()` returns
 *   to stopped from anywhere: it aborts the running scan, commits nothing
 *   more, closes the watcher and clears every timer.
 * - Scans never overlap: every scan (initial, periodic, watcher hint, or
 *   `scanNow`) is queued on one promise chain. Watcher hints arriving while a
 *   scan runs accumulate in a set and are scanned next, as one partial scan.
 *   A full scan re-arms the periodic rescan timer when it ends.
 * - How a scan walks, compares with the index, hashes and finds deletions
 *   is FolderScan's job (folder-scan.ts); this class decides when a scan
 *   runs and what it covers.
 * - Every change gets version = bump(previous version, this database's vector
 *   id). Read-write folders seal the record and store it together with the
 *   file row and its block locations in one transaction (batched); read-only
 *   folders cannot sign, so a local edit only updates the file row, flagged as
 *   a local change unless its content equals the global winner.
 * - Emits 'status' (FolderStatus) on every state change and at most every
 *   PROGRESS_EVENT_MS during a scan, and 'changed' ({ seq }) after sealed
 *   records were committed.
 *
 * Why one class of over 400 lines: the state machine, the scan queue, the
 * watcher hints, the rescan timer and stop() share one abort controller and
 * one promise chain, and splitting them would spread that lifecycle over
 * several objects. What stands alone lives apart: one scan pass
 * (folder-scan.ts), how a change is recorded (local-change-recorder.ts), the
 * counts (local-folder-counts.ts), the scan helpers (scan-entry.ts,
 * scan-diff.ts) and the write batch.
 */
import { EventEmitter } from 'node:events';
import { isAbsolute, relative, sep } from 'node:path';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Index } from '../../index/index.js';
import { folderIdText, type FolderKeys } from '../../crypto/index.js';
import type { FolderState, FolderStatus, ScanProgress } from '../peer/folder-status.js';
import { isInternalPath } from './scan-diff.js';
import { LocalChangeRecorder } from './local-change-recorder.js';
import { LocalFolderCounts } from './local-folder-counts.js';
import { NO_PEER_FACTS } from '../peer/folder-truth.js';
import { checkFolderRoot } from '../../fs/folder-marker.js';
import { LocalWriteBatch } from './local-write-batch.js';
import { MAX_PENDING_HINTS } from '../../fs/folder-watcher.js';
import { isAbort, type ScanRun } from './scan-entry.js';
import { FolderScan } from './folder-scan.js';
import { hintsWorthScanning } from './watch-echo.js';
import type { FileHasher, IgnoreMatcher, LocalFolderFs, Watcher } from './local-folder-fs.js';

const NOTHING_CRAWLED: ReadonlySet<string> = new Set();
/** Least time between two progress 'status' events. */
export const PROGRESS_EVENT_MS = 500;
/** Shortest accepted periodic rescan interval. */
export const MIN_RESCAN_INTERVAL_MS = 1000;
/**
 * The folder's watcher debounce when the caller gives none (the folder always
 * passes one; fs/folder-watcher's DEFAULT_DEBOUNCE_MS is for bare watchers).
 */
export const LOCAL_FOLDER_DEBOUNCE_MS = 250;
/** How long files pulled from records that may withhold block ids gather before one scan completes them. */
export const COMPLETE_IDS_DELAY_MS = 1000;
/** File that holds the folder's ignore rules; a change to it triggers a full scan. */
export const IGNORE_FILE_NAME = '.sealignore';
export interface LocalFolderDeps {
  readonly index: Index;
  readonly pool: FileHasher;
  readonly logger: Logger;
  readonly fs: LocalFolderFs;
  readonly now?: () => number;
}

export interface LocalFolderInit {
  readonly path: string;
  readonly keys: FolderKeys;
  readonly folderRowId: number;
  readonly rescanIntervalMs: number;
  readonly watch: boolean;
  readonly debounceMs?: number;
  /** This device's id (text), sealed into the records it writes. */
  readonly writer?: string;
}

export class LocalFolder extends EventEmitter {
  private readonly index: Index;
  private readonly pool: FileHasher;
  private readonly log: Logger;
  private readonly fs: LocalFolderFs;
  private readonly now: () => number;
  private readonly root: string;
  private readonly keys: FolderKeys;
  private readonly folder: number;
  private readonly rescanIntervalMs: number;
  private readonly watch: boolean;
  private readonly debounceMs: number;
  private readonly folderIdText: string;
  private readonly batch: LocalWriteBatch;

  private state: FolderState | 'stopped' = 'stopped';
  private error: string | null = null;
  private errorCode: string | null = null;
  private abort: AbortController | null = null;
  private watcher: Watcher | null = null;
  private rescanTimer: NodeJS.Timeout | null = null;
  /** Paths waiting for the scan that gives their records block ids (completeBlockIds). */
  private readonly idsToComplete = new Set<string>();
  private completeTimer: NodeJS.Timeout | null = null;
  private queue: Promise<void> = Promise.resolve();
  private hints = new Set<string>();
  /** Hinted directories whose entries the watcher hinted one by one (no recursive scan needed). */
  private crawledHints = new Set<string>();
  private hintScanQueued = false;
  private hintOverflow = false;
  private busy: { has(path: string): boolean } | null = null;
  private progressAt = 0;
  private run: ScanRun | null = null;
  private unreadable = new Set<string>();
  /** The ignore rules as last loaded (start, then every scan), for ignores(). */
  private ignoreRules: IgnoreMatcher | null = null;
  /**
   * Bumped by flush(), which another writer of files rows (the puller) calls
   * right before it writes them. A scan whose snapshot of the rows is older
   * than the last bump re-reads a row before hashing (see FolderScan.triage).
   */
  private externalWrites = 0;
  /** externalWrites when status() last looked at the counts. */
  private countedWrites = 0;
  private readonly counts: LocalFolderCounts;
  private readonly recorder: LocalChangeRecorder;
  private readonly scan: FolderScan;

  constructor(deps: LocalFolderDeps, init: LocalFolderInit) {
    super();
    if (init.keys.type === 'encrypted' || !init.keys.contentKey || !init.keys.nameKey || !init.keys.chunkKey) {
      throw new SealsyncError('ERR_FOLDER_TYPE', 'a local folder needs a read-write or read-only key');
    }
    if (init.keys.type === 'rw' && !init.keys.signingSeed) {
      throw new SealsyncError('ERR_FOLDER_TYPE', 'a read-write folder needs its signing key');
    }
    if (!Number.isFinite(init.rescanIntervalMs) || init.rescanIntervalMs < MIN_RESCAN_INTERVAL_MS) {
      throw new SealsyncError('ERR_INVALID_ARGUMENT', `'rescanIntervalMs' must be at least ${MIN_RESCAN_INTERVAL_MS}`);
    }
    this.index = deps.index;
    this.pool = deps.pool;
    this.log = deps.logger;
    this.fs = deps.fs;
    this.now = deps.now ?? Date.now;
    this.root = init.path;
    this.keys = init.keys;
    this.folder = init.folderRowId;
    this.rescanIntervalMs = init.rescanIntervalMs;
    this.watch = init.watch;
    this.debounceMs = init.debounceMs ?? LOCAL_FOLDER_DEBOUNCE_MS;
    this.folderIdText = folderIdText(init.keys.folderId);
    this.batch = new LocalWriteBatch(
      this.index,
      this.folder,
      (seq, count, firstSeq) => this.afterCommit(seq, count, firstSeq),
      (err) => this.fail(err),
      (path) => this.busy?.has(path) === true,
    );
    this.counts = new LocalFolderCounts({ index: this.index, folder: this.folder, readOnly: init.keys.type === 'ro', now: this.now, log: this.log });
    this.recorder = new LocalChangeRecorder({
      index: this.index, folder: this.folder, keys: this.keys, batch: this.batch, log: this.log,
      isBusy: (path) => this.busy?.has(path) === true,
      externalWrites: () => this.externalWrites,
      ...(init.writer !== undefined ? { writer: init.writer } : {}),
    });
    this.scan = new FolderScan({
      index: this.index, pool: this.pool, fs: this.fs, log: this.log, now: this.now,
      root: this.root, folder: this.folder, keys: this.keys, recorder: this.recorder,
      isBusy: (path) => this.busy?.has(path) === true,
      externalWrites: () => this.externalWrites,
      onProgress: () => this.maybeProgress(),
    });
  }

  // ---- lifecycle -----------------------------------------------------------

  /** Loads the counts, starts the watcher and the initial scan (does not wait for it). */
  async start(): Promise<void> {
    if (this.state !== 'stopped') return;
    this.abort = new AbortController();
    this.state = 'idle';
    this.refreshStats();
    // Loaded before anything runs, so the puller never sees "nothing is ignored" before the first scan.
    try { this.ignoreRules = await this.fs.loadIgnore(this.root); } catch { /* the scan reports a missing root */ }
    if (this.watch) {
      try {
        const watcher = this.fs.createWatcher(this.root, { debounceMs: this.debounceMs, onChange: (paths, crawled) => this.onWatcherChange(paths, crawled ?? NOTHING_CRAWLED) });
        await watcher.start();
        if (this.stopped) {
          // stop() ran while the watcher was starting: it could not see this watcher.
          await watcher.stop();
          return;
        }
        this.watcher = watcher;
      } catch (err) {
        // Without a watcher changes are still found by the periodic rescan.
        this.log.warn({ err: describeError(err) }, 'folder watcher unavailable; relying on periodic rescans');
      }
    }
    this.scanNow().catch((err) => {
      if (!isAbort(err)) this.log.warn({ err: describeError(err) }, 'initial scan failed');
    });
  }

  /** Aborts the scan, stops the watcher and timers; waits until the scan has unwound. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.abort?.abort(new SealsyncError('ERR_ABORTED', 'folder stopped'));
    if (this.rescanTimer !== null) clearTimeout(this.rescanTimer);
    this.rescanTimer = null;
    if (this.completeTimer !== null) clearTimeout(this.completeTimer);
    this.completeTimer = null;
    this.idsToComplete.clear();
    const watcher = this.watcher;
    this.watcher = null;
    try {
      await watcher?.stop();
    } catch (err) {
      this.log.warn({ err: describeError(err) }, 'stopping the folder watcher failed');
    }
    await this.queue.catch(() => undefined);
    // What was already hashed is still valid: commit it rather than rehash it next start.
    try {
      this.batch.flush();
    } catch (err) {
      this.batch.discard();
      this.log.warn({ err: describeError(err) }, 'final index commit failed');
    }
    this.hints.clear();
    this.crawledHints.clear();
    this.emitStatus();
  }

  /** Brings the counts up to date for a status read while the scanner is idle. */
  private refreshIdleCounts(): void {
    // Records from peers change the global counts without a scan: refresh when stale.
    if (this.counts.staleWhenIdle()) this.counts.refreshAllSafe();
    // The puller writing rows (flush() is its signal): the cheap local counts follow it at the
    // scan's pace, so "local files" climbs during a sync instead of jumping every few seconds.
    else if (this.externalWrites !== this.countedWrites && this.counts.due()) this.counts.refreshLocalSafe();
    else return;
    this.countedWrites = this.externalWrites;
  }

  status(): FolderStatus {
    if (this.state === 'idle') this.refreshIdleCounts();
    const run = this.run;
    const elapsed = run ? Math.max(1, this.now() - run.startedAt) : 1;
    const scan: ScanProgress | undefined = run ? { files: run.files, bytes: run.bytes, rate: Math.round((run.bytes * 1000) / elapsed) } : undefined;
    const unreadable = [...this.unreadable];
    const counts = this.counts.current;
    return {
      path: this.root,
      type: this.keys.type,
      folderId: this.folderIdText,
      state: this.state === 'stopped' ? 'idle' : this.state,
      localFiles: counts.localFiles,
      localBytes: counts.localBytes,
      globalFiles: counts.globalFiles,
      globalBytes: counts.globalBytes,
      needFiles: 0,
      needBytes: 0,
      error: this.error,
      // The scanner's own state; SyncFolder settles idle into up to date or not (folder-truth.ts).
      ...NO_PEER_FACTS,
      errorCode: this.errorCode,
      ...(scan ? { scan } : {}),
      ...(unreadable.length ? { unreadable } : {}),
      ...(this.keys.type === 'ro' ? { localChanges: counts.localChanges } : {}),
    };
  }

  /**
   * Paths another writer (the puller) is replacing right now (SyncFolder's
   * busyPaths). The scanner neither records nor deletes them while busy; the
   * writer indexes them itself, and the next scan sees them unchanged.
   */
  setBusyPaths(paths: { has(path: string): boolean } | null): void {
    this.busy = paths;
  }

  /**
   * Commits scan results still waiting in the write batch. The puller calls
   * this before it writes a path, so a stale scan result cannot land after it.
   */
  flush(): void {
    this.externalWrites++;
    this.batch.flush();
  }

  /** Recomputes the counts from the index now (the sync engine calls this after applying records). */
  refreshStats(): void {
    this.counts.refreshAll();
  }

  /**
   * This device's ignore rules (.sealignore, local ignores, built-ins) as the
   * last scan loaded them: the puller asks before writing or deleting a path.
   * Read-only; `path` is folder-relative with '/' separators.
   */
  ignores(path: string, isDir: boolean): boolean {
    return this.ignoreRules?.ignores(path, isDir) ?? false;
  }

  /**
   * Scans the whole folder, or only `paths` (relative; each with everything
   * below it). Queued behind any running scan. Rejects with ERR_ABORTED when
   * the folder stops or `signal` aborts.
   */
  scanNow(opts: { signal?: AbortSignal; paths?: readonly string[] } = {}): Promise<void> {
    const paths = opts.paths;
    const job = this.queue.then(() => this.runScan(paths === undefined ? null : [...paths], opts.signal));
    this.queue = job.catch(() => undefined);
    return job;
  }

  /**
   * Records of this folder must carry their block ids from now on: an
   * encrypted peer joined it (docs/crypto.md §4.4). The first time, the
   * folder is marked and a full scan seals the blocks of every file whose
   * record withheld them and completes those records; marked even while
   * stopped (start() scans the whole folder, and that scan seals). Read-only
   * folders cannot sign: nothing to do.
   */
  sealBlockIds(): void {
    if (this.keys.type !== 'rw' || !this.index.markSealsBlockIds(this.folder) || this.state === 'stopped') return;
    this.log.info('an encrypted peer joined: completing records with their block ids');
    this.scanNow().catch((err) => {
      if (!isAbort(err)) this.log.warn({ err: describeError(err) }, 'scan to complete block ids failed');
    });
  }

  /**
   * `paths` were just written by the puller from records that withheld their
   * block ids: in a folder that seals them (sealBlockIds, the index's flag)
   * they are scanned the same way, in one batch a moment later
   * (COMPLETE_IDS_DELAY_MS); elsewhere nothing needs them.
   */
  completeBlockIds(paths: readonly string[]): void {
    if (this.keys.type !== 'rw' || this.state === 'stopped' || !this.index.sealsBlockIds(this.folder)) return;
    for (const p of paths) if (this.idsToComplete.size < MAX_PENDING_HINTS) this.idsToComplete.add(p);
    if (this.idsToComplete.size === 0 || this.completeTimer !== null) return;
    this.completeTimer = setTimeout(() => {
      this.completeTimer = null;
      const batch = [...this.idsToComplete];
      this.idsToComplete.clear();
      this.scanNow({ paths: batch }).catch((err) => {
        if (!isAbort(err)) this.log.warn({ err: describeError(err) }, 'scan to complete block ids failed');
      });
    }, COMPLETE_IDS_DELAY_MS);
  }

  /** A getter, not a field read, so TypeScript does not narrow it across awaits. */
  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  // ---- scheduling ------------------------------------------------------------

  private onWatcherChange(paths: readonly string[], crawled: ReadonlySet<string>): void {
    if (this.state === 'stopped') return;
    for (const p of paths) {
      const rel = isAbsolute(p) ? relative(this.root, p) : p;
      const norm = rel.split(sep).join('/');
      if (norm === '' || norm === '..' || norm.startsWith('../')) continue;
      if (isInternalPath(norm)) continue;
      if (this.hints.size >= MAX_PENDING_HINTS) {
        this.hintOverflow = true;
        break;
      }
      // A directory stays "crawled" only while every hint of it was (see watch-echo.ts).
      if (crawled.has(norm) && (!this.hints.has(norm) || this.crawledHints.has(norm))) this.crawledHints.add(norm);
      else this.crawledHints.delete(norm);
      this.hints.add(norm);
    }
    if (this.hintScanQueued) return;
    this.hintScanQueued = true;
    const job = this.queue.then(() => {
      this.hintScanQueued = false;
      const full = this.hintOverflow;
      const hinted = [...this.hints];
      const crawledHints = this.crawledHints;
      this.hints.clear();
      this.crawledHints = new Set();
      this.hintOverflow = false;
      if (full) return this.runScan(null, undefined);
      // The puller's own writes come back as hints: those a scan would find unchanged go here.
      const batch = this.stopped ? [] : hintsWorthScanning(hinted, crawledHints, {
        root: this.root, index: this.index, folder: this.folder, isBusy: (path) => this.busy?.has(path) === true,
      });
      if (batch.length === 0) return;
      return this.runScan(batch, undefined);
    });
    this.queue = job.catch((err) => {
      if (!isAbort(err)) this.log.warn({ err: describeError(err) }, 'scan of watched changes failed');
    });
  }

  private armRescan(): void {
    if (this.state === 'stopped') return;
    if (this.rescanTimer !== null) clearTimeout(this.rescanTimer);
    this.rescanTimer = setTimeout(() => {
      this.rescanTimer = null;
      this.scanNow().catch((err) => {
        if (!isAbort(err)) this.log.warn({ err: describeError(err) }, 'periodic rescan failed');
      });
    }, this.rescanIntervalMs);
  }

  // ---- scanning ----------------------------------------------------------------

  private async runScan(paths: string[] | null, callerSignal: AbortSignal | undefined): Promise<void> {
    if (this.state === 'stopped' || !this.abort) throw new SealsyncError('ERR_ABORTED', 'folder is stopped');
    const signal = callerSignal ? AbortSignal.any([this.abort.signal, callerSignal]) : this.abort.signal;
    const full = paths === null || paths.some((p) => p === IGNORE_FILE_NAME);
    this.state = 'scanning';
    this.run = { files: 0, bytes: 0, startedAt: this.now(), committed: 0 };
    // A partial scan keeps what is unreadable elsewhere; it re-lists its own paths.
    const unreadable = new Set(full ? [] : this.unreadable);
    this.emitStatus();
    try {
      await this.checkRoot();
      const ignore = await this.fs.loadIgnore(this.root);
      this.ignoreRules = ignore;
      const pass = { run: this.run, unreadable, ignore, signal, sealIds: this.index.sealsBlockIds(this.folder) };
      if (full) await this.scan.full(pass);
      else await this.scan.partial(paths ?? [], pass);
      this.batch.flush();
      this.unreadable = unreadable;
      this.error = null;
      this.errorCode = null;
      if (this.state === 'scanning') this.state = 'idle';
    } catch (err) {
      if (isAbort(err) || signal.aborted) {
        // Keep the hashed work; the next scan skips what was committed.
        this.safeFlush();
        if (this.state === 'scanning') this.state = 'idle';
        throw isSealsyncError(err, 'ERR_ABORTED') ? err : new SealsyncError('ERR_ABORTED', undefined, undefined, { cause: err });
      }
      this.safeFlush();
      this.fail(err);
      throw err;
    } finally {
      this.run = null;
      if (!this.stopped) {
        // A partial scan that committed nothing (the usual watcher echo of the puller's
        // own writes) left the global counts and a read-only folder's local changes as
        // they were (peers' records refresh them when the puller goes idle, and status()
        // when they are old): the local counts suffice. A sync burst's hints run several
        // such scans, and the global count is a window query over every record.
        if (full || this.counts.committedSinceAll) this.counts.refreshAllSafe();
        else this.counts.refreshLocalSafe();
        if (full) this.armRescan();
      }
      this.emitStatus();
    }
  }

  /** A missing or replaced root must never read as "every file was deleted". */
  private checkRoot(): Promise<void> {
    return checkFolderRoot(this.root, () => this.counts.current.localFiles > 0);
  }

  // ---- status plumbing -----------------------------------------------------------

  /**
   * 'changed' carries the commit's record range [fromSeq, seq] (records outside
   * it came from peers) and, during a scan, how many records the scan has
   * committed so far (`scanCommitted`), so listeners can tell a bulk scan
   * whatever size its batches have.
   */
  private afterCommit(seq: number, count: number, fromSeq: number): void {
    if (count > 0) this.counts.committedSinceAll = true;
    if (this.run) this.run.committed += count;
    if (seq > 0) this.emit('changed', { seq, fromSeq, ...(this.run ? { scanCommitted: this.run.committed } : {}) });
    if (this.counts.due()) {
      // While scanning only the local counts move the progress; the global count is a
      // window query over every record (~2 s of a 100k-file initial scan), so it waits
      // for the scan's end (runScan refreshes everything then).
      if (this.state === 'scanning') this.counts.refreshLocalSafe();
      else this.counts.refreshAllSafe();
      this.emitStatus();
    }
  }

  private maybeProgress(): void {
    const t = this.now();
    if (t - this.progressAt < PROGRESS_EVENT_MS) return;
    this.progressAt = t;
    this.emitStatus();
  }

  private safeFlush(): void {
    try {
      this.batch.flush();
    } catch (err) {
      this.batch.discard();
      this.log.error({ err: describeError(err) }, 'index commit failed; the next scan redoes the work');
    }
  }

  private fail(err: unknown): void {
    if (this.state === 'stopped') return;
    this.state = 'error';
    this.error = describeError(err);
    this.errorCode = err instanceof SealsyncError ? err.code : null;
    this.log.error({ err: this.error }, 'folder scan failed');
    this.emitStatus();
  }

  private emitStatus(): void {
    this.emit('status', this.status());
  }
}
