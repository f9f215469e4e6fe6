/**
 * The puller: makes the disk of a full (rw or ro) peer match the global state
 * held in the index.
 *
 * How this works (state machine):
 *
 *   idle ──schedule()──► pulling ──pass done, nothing dirty──► idle
 *                         ▲   │
 *                         └───┘ more became dirty during the pass / progress was
 *                               made and something waits for it (bounded passes)
 *
 * - schedule(locators) marks paths dirty (records that just arrived); with no
 *   argument the whole folder is re-examined (start, revert). retryFailed()
 *   (a peer joined) and a retry timer re-examine paths that failed (a block
 *   no connected peer had); a pass that failed as a whole is retried in full.
 * - A pass opens the held versions of each dirty path, picks the global
 *   winner (model/needs.ts) and compares it with the local `files` row:
 *   nothing | fetch | delete | conflict. Work runs in phases so the tree stays
 *   consistent: directories (shallow first; one depth DIRS_IN_FLIGHT at a
 *   time), then files and symlinks
 *   (PULL_FILES_IN_FLIGHT at a time; their blocks swarm through the block
 *   scheduler, reusing local blocks so renames cost no transfer), then
 *   conflicts, then deletes (deepest first, so directories are empty by then).
 * - Applying is atomic (fs/atomic-apply.ts). If the local file changed since
 *   the last scan, apply refuses ('conflict'): the path is rescanned through
 *   `localChanged` (so the edit becomes a local version) and examined again,
 *   which turns it into a regular conflict — a local edit is never overwritten.
 * - Conflicts (rw only): the loser is kept as a sync-conflict copy and a
 *   version dominating both is sealed and published (conflicts.ts). Read-only
 *   folders never publish: they take the global winner, and leave paths with
 *   local changes alone until revert().
 * - After applying, the files row is written with the disk stat so the
 *   scanner sees the file as known — batched: one fsync per directory, then
 *   up to ROWS_PER_FLUSH rows in one transaction, so the index never claims
 *   a rename a crash could undo. busyPaths lists paths being written until
 *   their row is in, for the scanner to skip.
 * - Memory: fetched plaintext counts against MAX_PULL_BYTES_IN_FLIGHT from the
 *   request until the block is on disk.
 */
import { setMaxListeners } from 'node:events';
import { constants as fsConstants, type Stats } from 'node:fs';
import { copyFile, link, rename } from 'node:fs/promises';
import { decodeSealedRecord, encodeSealedRecord, locatorFor, openRecord, sealRecord, type FolderKeys } from '../../crypto/index.js';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import { KNOWN_MISSING, applyRecord, fsyncDir, type ApplyResult, type KnownLocal } from '../../fs/atomic-apply.js';
import { checkRelativePath, lstatOrNull, mkdirParentsSafe, resolveSafe } from '../../fs/safe-fs.js';
import type { Index, LocalFile, LocalFileInput, RecordInput, StoredRecord } from '../../index/index.js';
import type { Logger } from '../../logger.js';
import { needFor, pickWinner, sameContent, sameFileState, type NeedAction } from '../../model/needs.js';
import { lastWriter, vectorKey } from '../../model/version-vector.js';
import type { BlockRef, FileRecord } from '../../model/types.js';
import { conflictCopyPath, conflictCopyRecord, conflictLosers, resolvedRecord } from './conflicts.js';

/** Files (or symlinks) applied concurrently (small files are latency-bound: many in flight hide the round trips); their blocks share the scheduler's per-peer windows. */
export const PULL_FILES_IN_FLIGHT = 64;
/** Directories of the same depth created concurrently (each is a couple of metadata calls that wait for the disk). */
export const DIRS_IN_FLIGHT = 16;
/**
 * Plaintext bytes of fetched blocks held in memory at once, over all files. 16 MiB is
 * four times a full request window of 128 KiB blocks (block-scheduler.ts: 32 per
 * peer), plenty for loopback and WAN round trips; it was 64 MiB, which let a
 * receiver whose writes lag hold that much on top of its frames (peak RSS).
 */
export const MAX_PULL_BYTES_IN_FLIGHT = 16 * 1024 * 1024;
/** Delay before paths that failed (e.g. no peer had a block) are tried again. */
export const PULL_RETRY_MS = 10_000;
/** Passes per run before yielding; work left over is picked up by the retry timer. */
export const MAX_PASSES_PER_RUN = 8;
/** Paths planned between two yields to the event loop (opening a record costs ~60 µs); their index rows are read in batches. */
const PLAN_SLICE = 256;
/** Records read per page when the whole folder is examined. */
const RECORDS_PAGE = 1000;
/** Records opened on receipt kept for the next pass (saves a second signature check). */
export const MAX_OPENED_CACHE = 50_000;
/** Applied paths recorded in the index per transaction. */
export const ROWS_PER_FLUSH = 256;
/** Failed paths remembered for status. */
export const MAX_FAILED_REPORTED = 100;

export type PullerState = 'idle' | 'syncing';
export type AppliedAction = 'added' | 'modified' | 'deleted';

export interface PullerStatus {
  readonly state: PullerState;
  readonly needFiles: number;
  readonly needBytes: number;
  readonly failed: readonly { readonly path: string; readonly error: string }[];
}

export interface PullerDeps {
  readonly root: string;
  /** Index row id of the folder. */
  readonly folder: number;
  readonly type: 'rw' | 'ro';
  readonly keys: FolderKeys;
  readonly index: Index;
  /** Plaintext of a block (the block scheduler: local reuse, then peers). */
  readonly fetchBlock: (ref: BlockRef, opts: { signal?: AbortSignal }) => Promise<Uint8Array>;
  /** Plaintext digest (re-verifies resumed temp files). */
  readonly hashBlock: (data: Uint8Array) => Uint8Array;
  /** Rescan one path so a local edit becomes a local version (LocalFolder). */
  readonly localChanged?: (path: string, opts: { signal?: AbortSignal }) => Promise<void>;
  /** Paths this device ignores (its .sealignore): never written, never deleted here. */
  readonly isIgnored?: (path: string, isDir: boolean) => boolean;
  /**
   * Called right before the puller writes files rows: the scanner commits what
   * it has queued (LocalFolder.flush), so a stale scan result can never land
   * on top of a row the puller just wrote.
   */
  readonly beforeRecord?: () => void;
  /** Called after the puller stored new local records (conflict resolution), so they go out. */
  readonly onPublished?: () => void;
  /** Called whenever state or need counts change. */
  readonly onStatus?: (status: PullerStatus) => void;
  /** Called after a path was made to match a peer's record on disk (the daemon's file-changed events). */
  readonly onApplied?: (path: string, action: AppliedAction) => void;
  /**
   * Called after a losing concurrent version of `path` was kept at `copyPath`
   * (the daemon's conflict events); `writer` is the vector id of its last writer.
   */
  readonly onConflictCopy?: (path: string, copyPath: string, writer: string) => void;
  readonly now?: () => number;
  readonly logger?: Logger;
  readonly retryMs?: number;
}

interface PathWork {
  readonly locatorHex: string;
  readonly local: LocalFile | undefined;
  readonly winner: FileRecord;
  readonly versions: readonly FileRecord[];
  /** Concurrent live versions that lose to the winner (rw: kept as conflict copies). */
  readonly losers: readonly FileRecord[];
  readonly action: NeedAction;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

function depth(path: string): number {
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}

/** A byte budget for fetched plaintext in memory (fair FIFO). */
class ByteBudget {
  private used = 0;
  private readonly waiters: { n: number; resolve: () => void }[] = [];
  constructor(private readonly limit: number) {}
  async take(n: number): Promise<void> {
    const want = Math.min(n, this.limit); // one huge block may still pass alone
    if (this.used + want <= this.limit && this.waiters.length === 0) {
      this.used += want;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push({ n: want, resolve }));
  }
  give(n: number): void {
    this.used -= Math.min(n, this.limit);
    while (this.waiters.length > 0 && this.used + this.waiters[0]!.n <= this.limit) {
      const w = this.waiters.shift()!;
      this.used += w.n;
      w.resolve();
    }
  }
}

export class Puller {
  private state: PullerState = 'idle';
  private dirty = new Set<string>(); // locator hex
  private fullPass = false;
  private running: Promise<void> | null = null;
  private stopped = true;
  private controller = new AbortController();
  private retryTimer: NodeJS.Timeout | null = null;
  private retryFull = false;
  /** Why the last pass as a whole failed (cleared by a pass that completes). */
  private lastRunError: string | null = null;
  private readonly failed = new Map<string, { path: string; error: string; locatorHex: string }>();
  private readonly busy = new Set<string>();
  private needFiles = 0;
  private needBytes = 0;
  private reverting = false;
  private readonly budget = new ByteBudget(MAX_PULL_BYTES_IN_FLIGHT);
  private idleWaiters: (() => void)[] = [];
  /** Applied but not yet recorded (see flushRows). */
  private pendingRows: LocalFileInput[] = [];
  private dirsToSync = new Set<string>();
  private readonly now: () => number;
  /** locator hex | version key → the record, as opened (verified) on receipt. */
  private opened = new Map<string, FileRecord>();
  /** During revert: locator hex → local path, for local additions that have no record. */
  private readonly revertPaths = new Map<string, string>();

  constructor(private readonly deps: PullerDeps) {
    if (deps.keys.type === 'encrypted') throw new SealsyncError('ERR_FOLDER_TYPE', 'an encrypted folder has no files to pull');
    this.now = deps.now ?? Date.now;
  }

  /** Paths being written right now; the scanner must not treat them as local edits. */
  get busyPaths(): ReadonlySet<string> {
    return this.busy;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.controller = new AbortController();
    // Every block in flight listens on this signal; that is by design, not a leak.
    setMaxListeners(0, this.controller.signal);
    this.schedule();
  }

  /** Stops pulling; resolves when the current pass has given up. Leaves no timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.controller.abort(new SealsyncError('ERR_ABORTED', 'puller stopped'));
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    await this.running?.catch(() => undefined);
    this.setState('idle');
  }

  /** Marks paths (by locator) as changed; no argument re-examines the whole folder. */
  schedule(locators?: Iterable<Uint8Array>): void {
    if (locators === undefined) this.fullPass = true;
    else for (const l of locators) this.dirty.add(hex(l));
    this.kick();
  }

  /**
   * A record the caller has just verified and opened (on receipt): the next
   * pass uses it instead of verifying the signature again.
   */
  noteOpened(locator: Uint8Array, record: FileRecord): void {
    if (this.opened.size >= MAX_OPENED_CACHE) this.opened.clear();
    this.opened.set(`${hex(locator)}|${vectorKey(record.version)}`, record);
  }

  /** Re-examines only the paths that failed (a peer joined: it may have what was missing). */
  retryFailed(): void {
    if (this.failed.size === 0) return;
    this.schedule([...this.failed.values()].map((f) => Buffer.from(f.locatorHex, 'hex')));
  }

  status(): PullerStatus {
    return {
      state: this.state,
      needFiles: this.needFiles,
      needBytes: this.needBytes,
      failed: [
        ...(this.lastRunError !== null ? [{ path: '', error: this.lastRunError }] : []),
        ...[...this.failed.values()].slice(0, MAX_FAILED_REPORTED).map(({ path, error }) => ({ path, error })),
      ],
    };
  }

  /** Resolves when no pass is running and nothing is dirty (tests, revert). */
  async whenIdle(opts: { signal?: AbortSignal } = {}): Promise<void> {
    while (this.running || ((this.dirty.size > 0 || this.fullPass) && !this.stopped)) {
      opts.signal?.throwIfAborted();
      if (this.running) await this.running.catch(() => undefined);
      else await new Promise<void>((r) => this.idleWaiters.push(r));
    }
  }

  /**
   * Read-only folders: undo local edits — re-fetch what differs, delete what
   * the global state does not have — until the folder matches the global state.
   */
  async revert(opts: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.deps.type !== 'ro') throw new SealsyncError('ERR_FOLDER_TYPE', 'only read-only folders can be reverted');
    this.reverting = true;
    try {
      await this.whenIdle(opts);
      this.schedule();
      await this.whenIdle(opts);
    } finally {
      this.reverting = false;
    }
  }

  private kick(): void {
    if (this.stopped || this.running) return;
    this.running = this.run()
      .catch((err: unknown) => {
        if (this.stopped) return;
        this.deps.logger?.error({ err: describeError(err) }, 'pull run failed');
        // Whatever the run was doing is unknown now: look at everything again later.
        this.lastRunError = describeError(err);
        this.armRetry(true);
      })
      .finally(() => {
        this.running = null;
        if (!this.stopped && (this.dirty.size > 0 || this.fullPass)) this.kick();
        else {
          this.setState('idle');
          const w = this.idleWaiters;
          this.idleWaiters = [];
          for (const r of w) r();
        }
      });
  }

  private setState(s: PullerState): void {
    if (this.state === s) return;
    this.state = s;
    this.deps.onStatus?.(this.status());
  }

  private armRetry(full = false): void {
    if (full) this.retryFull = true;
    if (this.stopped || this.retryTimer || (this.failed.size === 0 && !this.retryFull)) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (this.retryFull) {
        this.retryFull = false;
        this.schedule();
        return;
      }
      const locators = [...this.failed.values()].map((f) => Buffer.from(f.locatorHex, 'hex'));
      this.schedule(locators);
    }, this.deps.retryMs ?? PULL_RETRY_MS);
    this.retryTimer.unref?.();
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    let pass = 0;
    for (; pass < MAX_PASSES_PER_RUN && !this.stopped; pass++) {
      const full = this.fullPass;
      const locators = full ? this.allLocators() : [...this.dirty];
      this.fullPass = false;
      this.dirty = new Set();
      if (locators.length === 0) break;
      const work = await this.plan(locators, signal);
      this.updateNeeds(work);
      if (work.length === 0) break;
      this.setState('syncing');
      const passStarted = this.now();
      const again = await this.execute(work, signal);
      this.deps.logger?.debug({ paths: work.length, ms: this.now() - passStarted, again: again.length, failed: this.failed.size }, 'pull pass');
      for (const l of again) this.dirty.add(l);
      if (this.dirty.size === 0 && !this.fullPass) break;
    }
    if (pass === MAX_PASSES_PER_RUN && this.dirty.size > 0) {
      // Paths that keep changing under us (a file being written continuously):
      // leave them to the retry timer instead of spinning.
      for (const lh of this.dirty) {
        if (!this.failed.has(lh)) this.failed.set(lh, { path: '', error: 'still changing locally', locatorHex: lh });
      }
      this.dirty = new Set();
    }
    this.lastRunError = null;
    this.recountNeeds();
    this.armRetry();
  }

  private allLocators(): string[] {
    const out = new Set<string>();
    let since = 0;
    for (;;) {
      const page = this.deps.index.recordsSince(this.deps.folder, since, RECORDS_PAGE);
      for (const r of page) out.add(hex(r.locator));
      if (page.length < RECORDS_PAGE) break;
      since = page[page.length - 1]!.seq;
    }
    this.revertPaths.clear();
    if (this.reverting) {
      // Local additions have no record at all: they must go too.
      for (const path of this.deps.index.loadFileStats(this.deps.folder).keys()) {
        const lh = hex(locatorFor(this.deps.keys, path));
        this.revertPaths.set(lh, path);
        out.add(lh);
      }
    }
    return [...out];
  }

  private openVersions(records: readonly StoredRecord[]): FileRecord[] {
    const out: FileRecord[] = [];
    for (const r of records) {
      const key = `${hex(r.locator)}|${vectorKey(r.version)}`;
      const cached = this.opened.get(key);
      if (cached) {
        this.opened.delete(key);
        out.push(cached);
        continue;
      }
      try {
        out.push(openRecord(this.deps.keys, decodeSealedRecord(r.sealed)));
      } catch (err) {
        // Verified when stored; a failure here means local corruption. Skip it.
        this.deps.logger?.warn({ err: describeError(err) }, 'stored record does not open');
      }
    }
    return out;
  }

  /**
   * What to do for each dirty path. Works in slices of PLAN_SLICE paths: the
   * held versions and the files rows of a slice are read with one query per
   * LOOKUP_BATCH paths (sqlite-index.ts), not two per path, and the event
   * loop gets a turn between slices.
   */
  private async plan(locatorHexes: readonly string[], signal: AbortSignal): Promise<PathWork[]> {
    const work: PathWork[] = [];
    const { index, folder, type } = this.deps;
    for (let start = 0; start < locatorHexes.length; start += PLAN_SLICE) {
      if (start > 0) {
        await new Promise<void>((r) => setImmediate(r));
        if (signal.aborted) return [];
      }
      const slice = locatorHexes.slice(start, start + PLAN_SLICE);
      const held = index.currentRecordsOf(folder, slice.map((lh) => Buffer.from(lh, 'hex')));
      const winners: { lh: string; winner: FileRecord; versions: FileRecord[] }[] = [];
      for (const lh of slice) {
        const versions = this.openVersions(held.get(lh) ?? []);
        const winner = pickWinner(versions);
        if (winner === undefined) {
          if (this.reverting) this.planRevertAddition(lh, work);
          continue;
        }
        if (this.deps.isIgnored?.(winner.path, winner.kind === 'dir')) continue;
        winners.push({ lh, winner, versions });
      }
      const locals = index.getFiles(folder, winners.map((w) => w.winner.path));
      for (const { lh, winner, versions } of winners) {
        const local = locals.get(winner.path);
        let action = needFor(local?.record, winner);
        let losers: FileRecord[] = [];
        if (type === 'ro') {
          // ro peers never resolve (the rw peers publish the resolution) and
          // leave local edits alone until revert().
          if (local?.localChange) action = this.reverting ? (winner.deleted ? 'delete' : 'fetch') : 'nothing';
          else if (action === 'conflict') action = 'fetch';
        } else {
          losers = conflictLosers(winner, versions);
          // A concurrent version that loses must still survive as a copy, even
          // when ours is the winner: resolve it here too (the names are
          // deterministic, so peers that both resolve meet on equal content).
          if (losers.length > 0 && !winner.deleted && (action === 'nothing' || action === 'fetch')) action = 'conflict';
        }
        if (action !== 'nothing') work.push({ locatorHex: lh, local, winner, versions, losers, action });
      }
    }
    return work;
  }

  private planRevertAddition(lh: string, work: PathWork[]): void {
    const path = this.revertPaths.get(lh);
    if (path === undefined) return;
    const local = this.deps.index.getFile(this.deps.folder, path);
    if (!local || local.record.deleted) return;
    const tomb: FileRecord = { ...local.record, deleted: true, blocks: [], size: 0 };
    work.push({ locatorHex: lh, local, winner: tomb, versions: [], losers: [], action: 'delete' });
  }

  private updateNeeds(work: readonly PathWork[]): void {
    this.needFiles = work.length;
    this.needBytes = work.reduce((n, w) => n + (w.action === 'fetch' && w.winner.kind === 'file' ? w.winner.size : 0), 0);
    this.deps.onStatus?.(this.status());
  }

  private recountNeeds(): void {
    this.needFiles = this.failed.size + this.dirty.size;
    if (this.failed.size === 0 && this.dirty.size === 0) this.needBytes = 0;
    this.deps.onStatus?.(this.status());
  }

  /** Runs one pass; returns locators to examine again. */
  private async execute(work: PathWork[], signal: AbortSignal): Promise<string[]> {
    const again: string[] = [];
    const dirs = work.filter((w) => w.action === 'fetch' && w.winner.kind === 'dir').sort((a, b) => depth(a.winner.path) - depth(b.winner.path));
    const files = work.filter((w) => w.action === 'fetch' && w.winner.kind !== 'dir');
    const conflicts = work.filter((w) => w.action === 'conflict');
    const deletes = work
      .filter((w) => w.action === 'delete')
      .sort((a, b) => (a.winner.kind === 'dir' ? 1 : 0) - (b.winner.kind === 'dir' ? 1 : 0) || depth(b.winner.path) - depth(a.winner.path));

    const one = async (w: PathWork) => {
      if (signal.aborted) return;
      const path = w.winner.path;
      this.busy.add(path);
      try {
        const retry = w.action === 'conflict' ? await this.resolveConflict(w, signal) : await this.applyWinner(w, signal);
        if (retry) again.push(w.locatorHex);
        this.failed.delete(w.locatorHex);
        if (w.action === 'fetch' && w.winner.kind === 'file') this.needBytes = Math.max(0, this.needBytes - w.winner.size);
        this.needFiles = Math.max(0, this.needFiles - 1);
      } catch (err) {
        if (signal.aborted || isSealsyncError(err, 'ERR_ABORTED')) return;
        this.failed.set(w.locatorHex, { path, error: describeError(err), locatorHex: w.locatorHex });
        this.deps.logger?.warn({ path, err: describeError(err) }, 'pull failed');
      } finally {
        // A path whose row is still pending stays busy until flushRows() records it.
        if (!this.pendingRows.some((r) => r.record.path === path)) this.busy.delete(path);
      }
    };
    try {
      // Directories of one depth are independent (their parents were made in an earlier
      // group): made DIRS_IN_FLIGHT at a time. One by one, each mkdir and chmod waited
      // for the disk in turn, and an initial sync's 100 directories took 0.35-0.6 s
      // before the first file could start.
      for (let i = 0; i < dirs.length; ) {
        let j = i + 1;
        while (j < dirs.length && depth(dirs[j]!.winner.path) === depth(dirs[i]!.winner.path)) j++;
        await runLimited(dirs.slice(i, j), DIRS_IN_FLIGHT, one);
        i = j;
      }
      await this.flushRows();
      await runLimited(files, PULL_FILES_IN_FLIGHT, one);
      await this.flushRows();
      for (const w of conflicts) await one(w);
      const failedBefore = this.failed.size;
      let deleted = 0;
      for (const w of deletes) {
        await one(w);
        if (!this.failed.has(w.locatorHex)) deleted++;
      }
      // A directory emptied by these deletes may have blocked a file or link
      // that replaces it: look at what failed once more in the next pass.
      if (deleted > 0 && failedBefore > 0) {
        for (const w of [...dirs, ...files, ...conflicts]) if (this.failed.has(w.locatorHex)) again.push(w.locatorHex);
      }
    } finally {
      await this.flushRows();
    }
    return again;
  }

  private known(local: LocalFile | undefined): KnownLocal {
    if (!local || local.record.deleted) return KNOWN_MISSING;
    const r = local.record;
    if (r.kind === 'file') return { kind: 'file', size: r.size, mtimeMs: local.diskMtimeMs };
    if (r.kind === 'symlink') return r.symlinkTarget === undefined ? { kind: 'symlink' } : { kind: 'symlink', symlinkTarget: r.symlinkTarget };
    return { kind: 'dir' };
  }

  private fetchWithBudget = async (ref: BlockRef, _i: number, opts: { signal?: AbortSignal }): Promise<Uint8Array> => {
    // Held from the request until the block is on disk (releaseBlock), so the
    // plaintext in memory over all files stays under MAX_PULL_BYTES_IN_FLIGHT.
    await this.budget.take(ref.size);
    try {
      return await this.deps.fetchBlock(ref, opts);
    } catch (err) {
      this.budget.give(ref.size);
      throw err;
    }
  };

  private releaseBlock = (ref: BlockRef): void => {
    this.budget.give(ref.size);
  };

  private async applyTo(root: string, record: FileRecord, known: KnownLocal, signal: AbortSignal, batched = false, archive = true): Promise<ApplyResult> {
    return applyRecord(root, record, {
      known,
      archive,
      fetchBlock: this.fetchWithBudget,
      onBlockWritten: this.releaseBlock,
      hashBlock: this.deps.hashBlock,
      now: () => new Date(this.now()),
      signal,
      // Batched applies leave the directory fsync to flushRows(), once per directory.
      ...(batched ? { syncDir: (dir: string) => void this.dirsToSync.add(dir) } : {}),
    });
  }

  /**
   * Makes the renames of batched applies durable (one fsync per directory)
   * and then records them in the index in one transaction: the index never
   * claims a state that a crash could still undo.
   */
  private async flushRows(): Promise<void> {
    if (this.pendingRows.length === 0 && this.dirsToSync.size === 0) return;
    const rows = this.pendingRows;
    const dirs = [...this.dirsToSync];
    this.pendingRows = [];
    this.dirsToSync = new Set();
    const { index, folder } = this.deps;
    try {
      for (const d of dirs) await fsyncDir(d);
      this.deps.beforeRecord?.();
      index.transaction(() => {
        for (const r of rows) index.writeLocalFile(folder, r);
      });
    } finally {
      for (const r of rows) this.busy.delete(r.record.path);
    }
  }

  /** fetch or delete; returns true if the path must be examined again. */
  private async applyWinner(w: PathWork, signal: AbortSignal): Promise<boolean> {
    if (w.versions.length > 0 && w.local && sameFileState(w.local.record, w.winner)) {
      // The same bytes, mtime and mode are already here under a concurrent version (a folder
      // copied by hand before it was shared): adopt the version without rewriting the file.
      const st = await lstatOrNull(await resolveSafe(this.deps.root, w.winner.path));
      if (st !== null && matchesLocal(st, w.local) && (st.mode & 0o777) === (w.winner.mode & 0o777)) {
        this.pendingRows.push({ record: w.winner, ...diskFields(st), localChange: false });
        if (this.pendingRows.length >= ROWS_PER_FLUSH) await this.flushRows();
        return false;
      }
    }
    // Replacing a file by the same bytes (only its mtime or mode differ) keeps nothing worth archiving.
    const sameBytes = w.local !== undefined && !w.local.record.deleted && w.local.record.kind === 'file' && sameContent(w.local.record, w.winner);
    const res = await this.applyTo(this.deps.root, w.winner, this.known(w.local), signal, true, !sameBytes);
    if (res.status === 'conflict') return this.onLocalChange(w, res.reason, signal);
    const existed = w.local !== undefined && !w.local.record.deleted;
    this.deps.onApplied?.(w.winner.path, w.winner.deleted ? 'deleted' : existed ? 'modified' : 'added');
    if (w.versions.length === 0) {
      // revert of a local addition: the path has no global record at all
      this.deps.index.forgetFile(this.deps.folder, w.winner.path);
      return false;
    }
    const record = w.winner;
    let st: Stats | null = res.stat ?? null;
    if (st === null && !record.deleted) st = await lstatOrNull(await resolveSafe(this.deps.root, record.path));
    this.pendingRows.push({ record, ...diskFields(st), localChange: false });
    if (this.pendingRows.length >= ROWS_PER_FLUSH) await this.flushRows();
    return false;
  }

  /**
   * Apply found the disk different from the index: rescan so the edit becomes
   * a local version, then look again. Without a rescan hook (or if nothing
   * changes), report it instead of looping.
   */
  private async onLocalChange(w: PathWork, reason: string, signal: AbortSignal): Promise<boolean> {
    const before = w.local;
    if (this.deps.localChanged) {
      // We are not writing the path any more: let the scanner look at it
      // (it skips busy paths). The next pass takes it over again.
      this.busy.delete(w.winner.path);
      await this.deps.localChanged(w.winner.path, { signal });
      const after = this.deps.index.getFile(this.deps.folder, w.winner.path);
      const changed = after !== undefined && (before === undefined || after.diskMtimeMs !== before.diskMtimeMs || after.record.size !== before.record.size || after.record.deleted !== before.record.deleted || after.record.kind !== before.record.kind);
      if (changed) return true;
    }
    throw new SealsyncError('ERR_INTERNAL', `local change in the way (${reason})`, { path: w.winner.path });
  }

  /**
   * Concurrent versions (rw only): keep every loser as a conflict copy — the
   * local file by link/copy, remote losers by fetching them — put the
   * winner's content at the path, and publish a version dominating them all.
   */
  private async resolveConflict(w: PathWork, signal: AbortSignal): Promise<boolean> {
    const { root, index } = this.deps;
    const vectorId = index.vectorId;
    const { winner, local } = w;
    const localLoses =
      local !== undefined && !local.record.deleted && !sameContent(local.record, winner) && needFor(local.record, winner) === 'conflict';
    if (local && !local.record.deleted) {
      const st = await lstatOrNull(await resolveSafe(root, local.record.path));
      if (!matchesLocal(st, local)) return this.onLocalChange(w, 'local file changed', signal);
    }
    const losers = [...w.losers];
    if (localLoses && !losers.some((l) => sameContent(l, local.record))) losers.push(local.record);
    for (const loser of losers) {
      const fromDisk = localLoses && local !== undefined && sameContent(loser, local.record);
      await this.keepConflictCopy(loser, fromDisk ? local : undefined, signal);
    }
    // The path gets the winner's content, with a version dominating everything held.
    const resolved = resolvedRecord(winner, [...w.versions.map((v) => v.version), ...(local ? [local.record.version] : [])], vectorId);
    if (!local || local.record.deleted || !sameContent(local.record, winner)) {
      const known = localLoses && local.record.kind !== 'file' ? KNOWN_MISSING : this.known(local);
      const res = await applyRecord(root, resolved, {
        known,
        fetchBlock: this.fetchWithBudget,
        onBlockWritten: this.releaseBlock,
        hashBlock: this.deps.hashBlock,
        archive: !localLoses, // a losing local file is kept as its conflict copy already
        now: () => new Date(this.now()),
        signal,
      });
      if (res.status === 'conflict') return this.onLocalChange(w, res.reason, signal);
      this.deps.onApplied?.(winner.path, local && !local.record.deleted ? 'modified' : 'added');
    }
    await this.recordLocal(resolved, true);
    this.deps.logger?.info({ path: winner.path, copies: losers.length }, 'conflict resolved');
    return false;
  }

  /** Keeps `loser` at its conflict-copy path (from the local file, or fetched) and publishes it. */
  private async keepConflictCopy(loser: FileRecord, fromLocal: LocalFile | undefined, signal: AbortSignal): Promise<void> {
    const { index, folder } = this.deps;
    const copyPath = conflictCopyPath(loser);
    const existing = index.getFile(folder, copyPath);
    if (existing && !existing.record.deleted && sameContent(existing.record, loser)) return; // kept already (here or by a peer)
    const copy = conflictCopyRecord(loser, existing?.record.version ?? [], index.vectorId);
    this.busy.add(copyPath); // the scanner must not record the copy before we do
    try {
      await this.writeConflictCopy(copy, fromLocal, signal);
    } finally {
      this.busy.delete(copyPath);
    }
    this.deps.onConflictCopy?.(loser.path, copyPath, lastWriter(loser.version));
  }

  private async writeConflictCopy(copy: FileRecord, fromLocal: LocalFile | undefined, signal: AbortSignal): Promise<void> {
    const { root, index, folder } = this.deps;
    const copyPath = copy.path;
    const existing = index.getFile(folder, copyPath);
    const { abs: copyAbs } = await mkdirParentsSafe(root, copyPath);
    if (fromLocal) {
      const localAbs = await resolveSafe(root, fromLocal.record.path);
      if ((await lstatOrNull(copyAbs)) !== null) {
        throw new SealsyncError('ERR_PATH_UNSAFE', 'conflict copy name is taken', { path: copyPath });
      }
      if (fromLocal.record.kind === 'file') {
        // A link keeps the content at the path until the winner atomically replaces it.
        try {
          await link(localAbs, copyAbs);
        } catch {
          await copyFile(localAbs, copyAbs, fsConstants.COPYFILE_EXCL);
        }
      } else {
        await rename(localAbs, copyAbs);
      }
    } else {
      const res = await this.applyTo(root, copy, this.known(existing), signal);
      if (res.status === 'conflict') throw new SealsyncError('ERR_PATH_UNSAFE', `conflict copy path is in use (${res.reason})`, { path: copyPath });
    }
    await this.recordLocal(copy, true);
  }

  /**
   * Writes the files row for a path just applied (disk stat for the rescan
   * shortcut) and, when `publish`, seals the record with the rw key so it goes
   * out like any local change.
   */
  private async recordLocal(record: FileRecord, publish: boolean): Promise<void> {
    const { index, folder, keys, root } = this.deps;
    checkRelativePath(record.path);
    let st: Stats | null = null;
    if (!record.deleted) st = await lstatOrNull(await resolveSafe(root, record.path));
    let sealed: RecordInput | undefined;
    if (publish) {
      if (this.deps.type !== 'rw') throw new SealsyncError('ERR_FOLDER_TYPE', 'a read-only folder never publishes');
      const s = sealRecord(keys, record);
      sealed = {
        locator: s.locator,
        version: s.version,
        blockIds: s.blockIds,
        sealed: encodeSealedRecord(s),
        plain: { kind: record.kind, size: record.size, mtimeMs: record.mtimeMs, deleted: record.deleted },
      };
    }
    this.deps.beforeRecord?.();
    index.writeLocalFile(folder, { record, ...diskFields(st), localChange: false }, sealed);
    if (publish) this.deps.onPublished?.();
  }
}

/**
 * The stat fields of a files row, as the scanner takes them (whole
 * milliseconds, see fs/walk.ts): with the raw sub-millisecond mtime every
 * file the puller wrote looked changed to the next scan and was hashed again.
 */
function diskFields(st: Stats | null): { diskMtimeMs: number; ino: number; dev: number } {
  return { diskMtimeMs: st ? Math.floor(st.mtimeMs) : 0, ino: st?.ino ?? 0, dev: st?.dev ?? 0 };
}

function matchesLocal(st: Stats | null, local: LocalFile): boolean {
  const r = local.record;
  if (st === null) return r.deleted;
  if (r.kind === 'file') return st.isFile() && st.size === r.size && Math.floor(st.mtimeMs) === Math.floor(local.diskMtimeMs);
  if (r.kind === 'dir') return st.isDirectory();
  return st.isSymbolicLink();
}

/** Runs `fn` over `items` with at most `limit` at a time. */
async function runLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

