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
 * - A full scan walks the tree once and compares each entry with a map of the
 *   folder's index rows loaded once (size + mtime + inode + mode: stat only,
 *   no SQL per file). Changed files are hashed in the worker pool with at most
 *   2 × workers in flight; a file that changes while hashed is hashed again
 *   (bounded), never indexed half-old. Paths that the walk did not see become
 *   tombstones — unless they are now ignored or lie under a directory the
 *   walker could not read.
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
 * several objects. What stands alone lives apart: how a change is recorded
 * (local-change-recorder.ts), the counts (local-folder-counts.ts), the scan
 * helpers (scan-entry.ts, scan-diff.ts) and the write batch.
 */
import { EventEmitter } from 'node:events';
import type { Stats } from 'node:fs';
import { isAbsolute, join, relative, sep } from 'node:path';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Index } from '../../index/index.js';
import type { FileStat } from '../../index/types.js';
import { isSafeRelativePath, normalizePath } from '../../model/path.js';
import { folderIdText, type FolderKeys } from '../../crypto/index.js';
import type { FolderState, FolderStatus, ScanProgress } from '../peer/folder-status.js';
import { isInternalPath, isUnchanged, isUnder, recordForEntry, type ScanEntry } from './scan-diff.js';
import { LocalChangeRecorder } from './local-change-recorder.js';
import { LocalFolderCounts } from './local-folder-counts.js';
import { NO_PEER_FACTS } from '../peer/folder-truth.js';
import { checkFolderRoot } from '../../fs/folder-marker.js';
import { LocalWriteBatch } from './local-write-batch.js';
import { SeenPaths } from './seen-paths.js';
import { lstatOrNullSync, parentOf } from '../../fs/safe-fs.js';
import { MAX_PENDING_HINTS } from '../../fs/folder-watcher.js';
import { entryFromStat, errnoCode, hasAncestorIn, isAbort, type ScanRun, type Snapshot } from './scan-entry.js';
import type { FileHasher, IgnoreMatcher, LocalFolderFs, SkipNotice, Watcher } from './local-folder-fs.js';

/** Times a file that keeps changing while it is hashed is retried within one scan. */
export const MAX_HASH_RETRIES = 3;
/** Unreadable paths listed in the status (the count beyond is only logged). */
export const MAX_UNREADABLE_LISTED = 100;
/** Least time between two progress 'status' events. */
export const PROGRESS_EVENT_MS = 500;
/** Other names of a hard-linked file rescanned with it (see addLinkSiblings). */
const MAX_LINK_SIBLINGS = 64;
/** Shortest accepted periodic rescan interval. */
export const MIN_RESCAN_INTERVAL_MS = 1000;
/**
 * The folder's watcher debounce when the caller gives none (the folder always
 * passes one; fs/folder-watcher's DEFAULT_DEBOUNCE_MS is for bare watchers).
 */
export const LOCAL_FOLDER_DEBOUNCE_MS = 250;
/** File that holds the folder's ignore rules; a change to it triggers a full scan. */
export const IGNORE_FILE_NAME = '.sealignore';
/**
 * Longest a scan runs before it lets the event loop poll for I/O. Small files
 * are walked, hashed, sealed and signed on the main thread without a real
 * await in between (blocking lstat and reads, inline hashing), so the loop
 * polled only between directories (~100 files, tens of ms). A receiver
 * pulling during our initial scan then waited 100-300 ms per block request
 * (measured in bench (b)): each answer also waits for the socket to drain,
 * and draining advances once per loop turn. With a yield every 5 ms the
 * answers took 40-70 ms, with 1 ms 20-30 ms (twice the files served during
 * the scan). A setImmediate and one epoll_wait cost a few µs: ~1% at 1 ms.
 */
export const SCAN_SLICE_MS = 1;
/** Walked entries whose index rows a full scan reads with one query (the index's LOOKUP_BATCH). */
const LOOKUP_CHUNK = 64;
/** Index rows per page of a full scan's deletion pass. */
const DELETION_PAGE_ROWS = 1000;

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
  private queue: Promise<void> = Promise.resolve();
  private hints = new Set<string>();
  private hintScanQueued = false;
  private hintOverflow = false;
  private busy: { has(path: string): boolean } | null = null;
  private progressAt = 0;
  private run: ScanRun | null = null;
  private unreadable = new Set<string>();
  private unreadableNext = new Set<string>();
  /**
   * Walked files that the scan's snapshot held no row for, with the snapshot's
   * externalWrites count (see LocalChangeRecorder.record). Weak: an entry that is never
   * recorded (unreadable, gone) leaves nothing behind.
   */
  private readonly absentFromSnapshot = new WeakMap<ScanEntry, number>();
  /** The ignore rules as last loaded (start, then every scan), for ignores(). */
  private ignoreRules: IgnoreMatcher | null = null;
  /**
   * Bumped by flush(), which another writer of files rows (the puller) calls
   * right before it writes them. A scan whose snapshot of the rows is older
   * than the last bump re-reads a row before hashing (see triage()).
   */
  private externalWrites = 0;
  private readonly counts: LocalFolderCounts;
  private readonly recorder: LocalChangeRecorder;

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
        const watcher = this.fs.createWatcher(this.root, { debounceMs: this.debounceMs, onChange: (paths) => this.onWatcherChange(paths) });
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
    this.emitStatus();
  }

  status(): FolderStatus {
    // Records from peers change the global counts without a scan: refresh when stale.
    if (this.state === 'idle' && this.counts.staleWhenIdle()) this.counts.refreshAllSafe();
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

  /** A getter, not a field read, so TypeScript does not narrow it across awaits. */
  private get stopped(): boolean {
    return this.state === 'stopped';
  }

  // ---- scheduling ------------------------------------------------------------

  private onWatcherChange(paths: readonly string[]): void {
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
      this.hints.add(norm);
    }
    if (this.hintScanQueued) return;
    this.hintScanQueued = true;
    const job = this.queue.then(() => {
      this.hintScanQueued = false;
      const full = this.hintOverflow;
      const batch = [...this.hints];
      this.hints.clear();
      this.hintOverflow = false;
      if (!full && batch.length === 0) return;
      return this.runScan(full ? null : batch, undefined);
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
    this.unreadableNext = new Set(full ? [] : this.unreadable);
    this.emitStatus();
    try {
      await this.checkRoot();
      const ignore = await this.fs.loadIgnore(this.root);
      this.ignoreRules = ignore;
      if (full) await this.fullScan(ignore, signal);
      else await this.partialScan(paths ?? [], ignore, signal);
      this.batch.flush();
      this.unreadable = this.unreadableNext;
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

  /**
   * Walks the whole folder. Its memory does not grow with the folder: the
   * rows of each chunk of walked entries are read just before comparing, the
   * walked paths are kept as hashes (SeenPaths), and the deletion pass reads
   * the index a page at a time. Rows written after the scan began (rowid
   * above `rowLimit`: the puller's, or this scan's own) are never deletions.
   */
  private async fullScan(ignore: IgnoreMatcher, signal: AbortSignal): Promise<void> {
    const rowLimit = this.index.lastFileRowId();
    const seen = new SeenPaths();
    const skipped: string[] = [];
    await this.scanEntries(this.fs.walk(this.root, { ignore, signal, onSkip: (n) => this.onSkip(n, '', skipped) }), '', null, signal, seen);
    const now = this.now();
    for (let after = ''; ;) {
      signal.throwIfAborted();
      const page = this.index.filePathsAfter(this.folder, after, DELETION_PAGE_ROWS);
      if (page.length === 0) break;
      after = page[page.length - 1]!.path;
      const unseen = page.filter((row) => row.rowid <= rowLimit && !seen.has(row.path)).map((row) => row.path);
      const missing = new Map<string, FileStat>();
      if (unseen.length > 0) for (const [path, st] of this.index.getFileStats(this.folder, unseen)) if (!st.deleted) missing.set(path, st);
      if (missing.size > 0) this.recorder.recordMissing(missing, skipped, ignore, now);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /** Index rows loaded now, tagged with the external-writes count they reflect. */
  private snapshot(rows: Map<string, FileStat>): Snapshot {
    return { rows, externalWrites: this.externalWrites };
  }

  private async partialScan(paths: readonly string[], ignore: IgnoreMatcher, signal: AbortSignal): Promise<void> {
    // Drop hints below another hinted directory: scanning that directory covers them.
    // (A lookup per ancestor, not a comparison with every root: a sync burst hints thousands of files.)
    const hinted = new Set(paths.map((p) => normalizePath(p)));
    this.addLinkSiblings(hinted);
    const roots = [...hinted].sort().filter((p) => !hasAncestorIn(p, hinted));
    for (const rel of roots) {
      signal.throwIfAborted();
      if (isInternalPath(rel) || !isSafeRelativePath(rel)) continue;
      const abs = join(this.root, rel);
      const known = this.snapshot(this.index.loadFileStatsUnder(this.folder, rel));
      const skipped: string[] = [];
      // Looked at again now: what is still unreadable below it is listed again; what became readable goes.
      for (const u of this.unreadableNext) if (isUnder(u, rel)) this.unreadableNext.delete(u);
      let st: Stats | null;
      try {
        st = lstatOrNullSync(abs);
      } catch (err) {
        // EACCES: a directory on the way cannot be searched (a watched directory chmodded
        // 000 reports its own name below itself). List that directory; delete nothing under it.
        const blocked = parentOf(rel) || rel;
        this.onSkip({ path: blocked, reason: 'unreadable', detail: errnoCode(err) ?? describeError(err) }, '', skipped);
        if (!skipped.includes(rel)) skipped.push(rel);
        st = null;
      }
      if (st && !ignore.ignores(rel, st.isDirectory())) {
        const entry = await entryFromStat(rel, abs, st);
        if (entry) {
          // Most hints are single files (often the puller's own writes, which
          // triage() finds unchanged): no walk, no async iteration for them.
          const changed = this.triage(entry, '', known);
          if (changed) await this.hashAndRecord(changed, join(this.root, changed.diskPath ?? changed.path), signal);
          if (entry.kind === 'dir') {
            const sub: IgnoreMatcher = { ignores: (p, isDir) => ignore.ignores(`${rel}/${p}`, isDir) };
            const walk = this.fs.walk(abs, { ignore: sub, signal, onSkip: (n) => this.onSkip(n, rel, skipped) });
            try {
              await this.scanEntries(walk, rel, known, signal);
            } catch (err) {
              // The hinted directory itself cannot be listed: a skipped path, not a folder error.
              if (!isSealsyncError(err, 'ERR_PATH_UNREADABLE')) throw err;
              this.onSkip({ path: rel, reason: 'unreadable', detail: describeError(err) }, '', skipped);
            }
          }
        }
      }
      this.recorder.recordMissing(known.rows, skipped, ignore, this.now());
    }
  }

  /**
   * A write through one name of a hard link changes every name, but the
   * watcher reports only the one written: the other names the index knows
   * for that inode are scanned with it.
   */
  private addLinkSiblings(hinted: Set<string>): void {
    for (const rel of [...hinted]) {
      if (isInternalPath(rel) || !isSafeRelativePath(rel)) continue;
      let st: Stats | null;
      try {
        st = lstatOrNullSync(join(this.root, rel));
      } catch {
        continue; // cannot be looked at (EACCES on the way): partialScan lists it
      }
      if (st === null || !st.isFile() || st.nlink < 2) continue;
      for (const other of this.index.pathsWithInode(this.folder, st.dev, st.ino, MAX_LINK_SIBLINGS)) hinted.add(other);
    }
  }

  /**
   * Compares walked entries with `known` (removing each seen path from it), or,
   * when `known` is null (a full scan), with the rows of each chunk of
   * LOOKUP_CHUNK entries read just then, noting every path in `seen`; hashes
   * what changed with bounded concurrency.
   */
  private async scanEntries(
    entries: AsyncIterable<ScanEntry>,
    prefix: string,
    known: Snapshot | null,
    signal: AbortSignal,
    seen?: SeenPaths,
  ): Promise<void> {
    const maxInFlight = Math.max(1, this.pool.workerCount * 2);
    const inFlight = new Set<Promise<void>>();
    let sliceStart = performance.now();
    const chunk: ScanEntry[] = [];
    const compare = async (raws: readonly ScanEntry[]) => {
      const snap = known ?? { ...this.snapshot(this.index.getFileStats(this.folder, raws.map((r) => normalizePath(r.path)))), seen };
      for (const raw of raws) {
        signal.throwIfAborted();
        if (performance.now() - sliceStart >= SCAN_SLICE_MS) {
          // See SCAN_SLICE_MS: let peers' requests (and timers) in.
          await new Promise<void>((resolve) => setImmediate(resolve));
          signal.throwIfAborted();
          sliceStart = performance.now();
        }
        const entry = this.triage(raw, prefix, snap);
        if (entry === null) continue;
        while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
        const job = this.hashAndRecord(entry, join(this.root, entry.diskPath ?? entry.path), signal).finally(() => inFlight.delete(job));
        inFlight.add(job);
      }
    };
    try {
      for await (const raw of entries) {
        if (known) {
          await compare([raw]);
          continue;
        }
        chunk.push(raw);
        if (chunk.length >= LOOKUP_CHUNK) await compare(chunk.splice(0));
      }
      if (chunk.length > 0) await compare(chunk.splice(0));
    } finally {
      // Let every started job settle before returning (or rethrowing): none may outlive the scan.
      await Promise.allSettled(inFlight);
    }
    signal.throwIfAborted();
  }

  /**
   * One walked entry against the index: records a changed directory or
   * symlink right away and returns a changed file (to hash), or null when
   * there is nothing to read. Takes the entry's path out of `known`.
   */
  private triage(raw: ScanEntry, prefix: string, known: Snapshot): ScanEntry | null {
    const onDisk = raw.diskPath ?? raw.path;
    const diskPath = prefix ? `${prefix}/${onDisk}` : onDisk;
    const path = normalizePath(prefix ? `${prefix}/${raw.path}` : raw.path);
    if (isInternalPath(path)) return null;
    if (!isSafeRelativePath(path)) {
      // Names we cannot sync safely (backslash, control characters, too long) stay local.
      this.noteUnreadable(path, 'name cannot be synced');
      return null;
    }
    // Seen: taken out of `known`, so what is left there afterwards is what the walk did
    // not find (no second set of every path: ~10 MiB on a 100k-file rescan).
    const indexed = known.rows.get(path);
    if (indexed) known.rows.delete(path);
    known.seen?.add(path);
    const absentSince = indexed ? undefined : known.externalWrites;
    if (this.run) this.run.files++;
    if (this.busy?.has(path)) return null;
    this.maybeProgress();
    const entry: ScanEntry = { ...raw, path, diskPath };
    if (isUnchanged(indexed, entry)) return null;
    // `known` was loaded before the walk. If the puller has written rows since, this
    // path may be one it was writing then (busy, so no row yet, or the old one) and has
    // recorded by now with exactly this stat: ask the index again before hashing. In an
    // initial sync nearly every watcher hint is such an echo of the puller's own write.
    // A local edit still differs from the current row, so it is hashed as before.
    if (known.externalWrites !== this.externalWrites && isUnchanged(this.index.getFileStat(this.folder, path), entry)) return null;
    if (entry.kind !== 'file') {
      this.recorder.record(recordForEntry(entry, []), entry, absentSince);
      return null;
    }
    if (absentSince !== undefined) this.absentFromSnapshot.set(entry, absentSince);
    return entry;
  }

  private async hashAndRecord(entry: ScanEntry, absPath: string, signal: AbortSignal): Promise<void> {
    const scanKeys = { contentKey: this.keys.contentKey as Uint8Array, chunkKey: this.keys.chunkKey as Uint8Array };
    for (let attempt = 0; attempt <= MAX_HASH_RETRIES; attempt++) {
      let res;
      try {
        res = await this.pool.hashFile(absPath, scanKeys, { signal, sizeHint: entry.size });
      } catch (err) {
        if (signal.aborted) throw err;
        if (errnoCode(err) === 'ENOENT') return; // gone since the walk: the watcher or next scan records the delete
        this.noteUnreadable(entry.path, describeError(err));
        return;
      }
      if (res.changed) continue;
      if (this.run) this.run.bytes += res.size;
      this.maybeProgress();
      const read: ScanEntry = { ...entry, size: res.size, mtimeMs: res.mtimeMs, ino: res.ino ?? entry.ino };
      this.recorder.record(recordForEntry(read, [], res.blocks), read, this.absentFromSnapshot.get(entry));
      return;
    }
    this.log.info({ path: entry.path }, 'file kept changing while hashed; will retry on the next scan');
  }

  private onSkip(notice: SkipNotice, prefix: string, skipped: string[]): void {
    const rel = normalizePath(prefix ? `${prefix}/${notice.path}` : notice.path);
    const reason = notice.detail ? `${notice.reason}: ${notice.detail}` : notice.reason;
    if (notice.reason === 'case-collision') {
      // Both names are still indexed; only case-insensitive peers will have trouble.
      this.log.info({ path: rel }, 'names differ only in case');
      return;
    }
    // Not read: what the index holds below it must not turn into deletions.
    if (notice.reason === 'unreadable') skipped.push(rel);
    this.noteUnreadable(rel, reason);
  }

  private noteUnreadable(path: string, reason: string): void {
    if (this.unreadableNext.size < MAX_UNREADABLE_LISTED) this.unreadableNext.add(path);
    this.log.warn({ path, reason }, 'path skipped');
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
