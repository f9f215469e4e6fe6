/**
 * The counts a LocalFolder reports (local and global files and bytes, a
 * read-only folder's local changes) and when they are recomputed. The index
 * keeps the counts as running totals (one row to read, migration 5); a
 * read-only folder's list of local changes is still a query over its rows, so
 * refreshes stay spaced by STATS_COST_FACTOR times their own cost, and only
 * the local counts move while a scan runs.
 */
import { describeError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Index } from '../../index/index.js';

/** Local changes of a read-only folder listed in the status. */
export const MAX_LOCAL_CHANGES_LISTED = 100;
/** Least time between recomputing the folder's counts during a scan. */
export const SCAN_STATS_REFRESH_MS = 1000;
/** Counts older than this are recomputed when the status is read while idle. */
export const STATS_MAX_AGE_MS = 5000;
/** Refreshes during a scan are spaced by this many times their own cost. */
export const STATS_COST_FACTOR = 10;

export interface Counts {
  localFiles: number;
  localBytes: number;
  globalFiles: number;
  globalBytes: number;
  localChanges: string[];
}

export interface LocalFolderCountsDeps {
  readonly index: Index;
  readonly folder: number;
  readonly readOnly: boolean;
  readonly now: () => number;
  readonly log: Logger;
}

export class LocalFolderCounts {
  current: Counts = { localFiles: 0, localBytes: 0, globalFiles: 0, globalBytes: 0, localChanges: [] };
  /** A scan committed index rows since the counts were last all computed. */
  committedSinceAll = false;
  private statsAt = 0;
  private gapMs = SCAN_STATS_REFRESH_MS;

  constructor(private readonly deps: LocalFolderCountsDeps) {}

  /** Time for a refresh during a scan or a sync burst. */
  due(): boolean {
    return this.deps.now() - this.statsAt >= this.gapMs;
  }

  /** Old enough to recompute when the status is read while idle (peers' records change the global counts). */
  staleWhenIdle(): boolean {
    return this.deps.now() - this.statsAt >= Math.max(STATS_MAX_AGE_MS, this.gapMs);
  }

  /** Recomputes every count from the index now. */
  refreshAll(): void {
    const { index, folder } = this.deps;
    const started = performance.now();
    const local = index.localStats(folder);
    const global = index.globalStats(folder);
    this.current = {
      localFiles: local.files,
      localBytes: local.bytes,
      globalFiles: global.files,
      globalBytes: global.bytes,
      localChanges: this.deps.readOnly ? index.localChangePaths(folder, MAX_LOCAL_CHANGES_LISTED) : [],
    };
    this.statsAt = this.deps.now();
    this.committedSinceAll = false;
    // Keep a refresh's share of a scan's time near 10% by spacing refreshes by 10× its cost.
    this.gapMs = Math.max(SCAN_STATS_REFRESH_MS, Math.ceil((performance.now() - started) * STATS_COST_FACTOR));
  }

  refreshAllSafe(): void {
    try {
      this.refreshAll();
    } catch (err) {
      this.deps.log.warn({ err: describeError(err) }, 'reading folder counts failed');
    }
  }

  /** The local counts only. */
  refreshLocalSafe(): void {
    try {
      const started = performance.now();
      const local = this.deps.index.localStats(this.deps.folder);
      this.current = { ...this.current, localFiles: local.files, localBytes: local.bytes };
      this.statsAt = this.deps.now();
      this.gapMs = Math.max(SCAN_STATS_REFRESH_MS, Math.ceil((performance.now() - started) * STATS_COST_FACTOR));
    } catch (err) {
      this.deps.log.warn({ err: describeError(err) }, 'reading folder counts failed');
    }
  }
}
