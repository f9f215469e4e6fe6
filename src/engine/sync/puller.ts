/**
 * The puller: makes the disk of a full (rw or ro) peer match the global state
 * held in the index.
 *
 * How this works (state machine):
 *
 *   idle ──schedule()──► pulling ──pass done, nothing dirty──► idle; more dirty
 *   (records that arrived during the pass): the next pass, at once.
 * - Records that arrive while a pass fetches files join that pass when they
 *   are plain fetches (pull-feed.ts, topUp(), for up to PASS_TOP_UP_MS): a
 *   pass does not end on its slowest file while new paths wait.
 * - schedule(locators) marks paths dirty (records that just arrived); with no
 *   argument the whole folder is re-examined (start, revert). Nothing waits on
 *   a timer that could go now: after MAX_PASSES_PER_RUN passes a run only
 *   yields, and the next run starts right away with what is dirty.
 * - A path that fails (a block no connected peer had) is parked
 *   (pull-parking.ts) with its path and reason and retried with a backoff from
 *   PULL_RETRY_MIN_MS to PULL_RETRY_MAX_MS, at once when a peer joins
 *   (retryFailed), and leaves the list when a pass finds it needs nothing. A
 *   path found changed on disk MAX_LOCAL_CHANGE_PASSES times in a row is
 *   parked as "still changing locally". A run that fails as a whole is
 *   retried in full with the same backoff; its error is the status error.
 * - A pass opens the held versions of each dirty path, picks the global
 *   winner (model/needs.ts) and compares it with the local `files` row:
 *   nothing | fetch | delete | conflict (PullPlanner, pull-planner.ts). Work runs in phases so the tree stays
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
 *   version dominating both is sealed and published (conflict-apply.ts). Read-only
 *   folders never publish: they take the global winner, and leave paths with
 *   local changes alone until revert().
 * - After applying, the files row is written with the disk stat so the
 *   scanner sees the file as known — batched: one fsync per directory, then
 *   up to ROWS_PER_FLUSH rows in one transaction, so the index never claims
 *   a rename a crash could undo. busyPaths lists paths being written until
 *   their row is in, for the scanner to skip.
 * - Memory: fetched plaintext counts against MAX_PULL_BYTES_IN_FLIGHT until on disk.
 *
 * Why one class of over 400 lines: the run loop, the phases of a pass, the
 * busy paths, the batched rows (flushRows) and the byte budget share one abort
 * controller and one set of busy paths, which the scanner reads while a pass
 * writes; splitting the apply steps out would hand that state around. What
 * stands alone lives apart: planning (pull-planner.ts), conflicts
 * (conflict-apply.ts, conflicts.ts), parking and backoff (pull-parking.ts),
 * the small helpers (pull-util.ts) and the types (pull-types.ts).
 */
import { setMaxListeners } from 'node:events';
import type { Stats } from 'node:fs';
import { SealsyncError, describeError, isSealsyncError } from '../../errors.js';
import { KNOWN_MISSING, applyRecord, fsyncDir, type ApplyResult, type KnownLocal } from '../../fs/atomic-apply.js';
import { lstatOrNull, resolveSafe } from '../../fs/safe-fs.js';
import type { LocalFile, LocalFileInput } from '../../index/index.js';
import { sameContent, sameFileState } from '../../model/needs.js';
import type { BlockRef, FileRecord } from '../../model/types.js';
import { toHex } from '../../crypto/bytes.js';
import { RateMeter } from '../../net/rate-meter.js';
import { retryAfterMakingRoom } from './apply-room.js';
import { ConflictApplier } from './conflict-apply.js';
import { PullPlanner } from './pull-planner.js';
import { ParkedPaths, PULL_RETRY_MAX_MS, PULL_RETRY_MIN_MS } from './pull-parking.js';
import type { PathWork, PullerDeps, PullerState, PullerStatus } from './pull-types.js';
import { ByteBudget, depth, diskFields, matchesLocal, OpenedRecords, runLimited } from './pull-util.js';
import { PullFeed } from './pull-feed.js';
import { KeptTemps } from './kept-temps.js';
export { MAX_OPENED_CACHE } from './pull-util.js';

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
/** Passes per run before the run yields to the event loop; a new run takes what is left at once. */
export const MAX_PASSES_PER_RUN = 8;
/**
 * A path that a pass finds changed on disk again (rescanned, examined again)
 * this many times in a row is parked as "still changing locally" and tried
 * again with the backoff: a file written continuously must not spin the puller.
 */
export const MAX_LOCAL_CHANGE_PASSES = 8;
/** Applied paths recorded in the index per transaction. */
export const ROWS_PER_FLUSH = 256;
/**
 * Longest a landed file's row waits for the batch while the pass goes on (a
 * large file still being fetched): the index, and so the folder's local count
 * and the scanner's view of the path, catch up within this.
 */
export const ROWS_FLUSH_MAX_MS = 1000;
/**
 * How long a pass keeps taking in records that arrive while it fetches
 * (pull-feed.ts); then it runs its conflicts and deletes and the next pass
 * takes the rest, so a peer that never stops sending cannot hold them back.
 */
export const PASS_TOP_UP_MS = 30_000;

export { IDLE_PULLER_STATUS, type AppliedAction, type PullerDeps, type PullerState, type PullerStatus } from './pull-types.js';


export class Puller {
  private state: PullerState = 'idle';
  private dirty = new Set<string>(); // locator hex
  private fullPass = false;
  private running: Promise<void> | null = null;
  private stopped = true;
  private controller = new AbortController();
  /** A run that failed as a whole is tried again in full after this (backing off). */
  private runRetryTimer: NodeJS.Timeout | null = null;
  private runFailures = 0;
  /** Why the last run as a whole failed (cleared by a run that completes). */
  private lastRunError: string | null = null;
  private readonly parked: ParkedPaths;
  /** locator hex → passes in a row that found the path changed on disk (MAX_LOCAL_CHANGE_PASSES). */
  private readonly againCount = new Map<string, number>();
  /** Bytes applied since the folder last needed nothing, and their rate. */
  private doneBytes = 0;
  private readonly rate: RateMeter;
  private readonly conflicts: ConflictApplier;
  private readonly busy = new Set<string>();
  private needFiles = 0;
  private needBytes = 0;
  private reverting = false;
  private readonly budget = new ByteBudget(MAX_PULL_BYTES_IN_FLIGHT);
  private idleWaiters: (() => void)[] = [];
  /** Applied but not yet recorded (see flushRows). */
  private pendingRows: LocalFileInput[] = [];
  /** Writes pendingRows ROWS_FLUSH_MAX_MS after the first of them (queueRow). */
  private rowsTimer: NodeJS.Timeout | null = null;
  /** Temp files that failed transfers kept, removed when their path moves on to another version. */
  private readonly keptTemps = new KeptTemps();
  private dirsToSync = new Set<string>();
  private readonly now: () => number;
  private readonly opened: OpenedRecords;
  /** What each dirty path needs (pull-planner.ts). */
  private readonly planner: PullPlanner;
  /** The running pass's files phase, told when records arrive (pull-feed.ts). */
  private readonly feed = new PullFeed<PathWork>();
  constructor(private readonly deps: PullerDeps) {
    if (deps.keys.type === 'encrypted') throw new SealsyncError('ERR_FOLDER_TYPE', 'an encrypted folder has no files to pull');
    this.now = deps.now ?? Date.now;
    this.rate = new RateMeter(this.now);
    this.opened = new OpenedRecords(deps.keys, deps.logger);
    this.planner = new PullPlanner({ deps, opened: this.opened, reverting: () => this.reverting, settled: (lh) => this.settled(lh) });
    this.conflicts = new ConflictApplier({
      deps,
      busy: this.busy,
      now: this.now,
      fetchBlock: this.fetchWithBudget,
      releaseBlock: this.releaseBlock,
      known: (local) => this.known(local),
      applyTo: (root, record, known, signal) => this.applyTo(root, record, known, signal),
      onLocalChange: (w, reason, signal) => this.onLocalChange(w, reason, signal),
    });
    this.parked = new ParkedPaths((due) => this.schedule(due.map((lh) => Buffer.from(lh, 'hex'))), this.now, deps.retryMs ?? PULL_RETRY_MIN_MS);
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
    this.parked.start();
    this.schedule();
  }

  /** Stops pulling; resolves when the current pass has given up. Leaves no timer. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.controller.abort(new SealsyncError('ERR_ABORTED', 'puller stopped'));
    if (this.runRetryTimer) clearTimeout(this.runRetryTimer);
    this.runRetryTimer = null;
    if (this.rowsTimer) clearTimeout(this.rowsTimer);
    this.rowsTimer = null;
    this.parked.stop();
    await this.running?.catch(() => undefined);
    this.setState('idle');
  }

  /** Marks paths (by locator) as changed; no argument re-examines the whole folder. */
  schedule(locators?: Iterable<Uint8Array>): void {
    if (locators === undefined) this.fullPass = true;
    else for (const l of locators) this.dirty.add(toHex(l));
    this.kick();
    this.feed.notify();
  }

  /**
   * A record the caller has just verified and opened (on receipt): the next
   * pass uses it instead of verifying the signature again.
   */
  noteOpened(locator: Uint8Array, record: FileRecord): void {
    this.opened.note(locator, record);
  }

  /** Re-examines the parked paths now (a peer joined: it may have what was missing). */
  retryFailed(): void {
    if (this.parked.size === 0) return;
    this.schedule(this.parked.retryAllNow().map((lh) => Buffer.from(lh, 'hex')));
  }

  status(): PullerStatus {
    return {
      state: this.state,
      needFiles: this.needFiles,
      needBytes: this.needBytes,
      parked: this.parked.report(),
      parkedCount: this.parked.size,
      error: this.lastRunError,
      doneBytes: this.doneBytes,
      rate: this.rate.rate(),
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
        this.armRunRetry();
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

  /** After a run failed as a whole: a full pass later, backing off like a parked path. */
  private armRunRetry(): void {
    if (this.stopped || this.runRetryTimer) return;
    const delay = Math.min(PULL_RETRY_MAX_MS, (this.deps.retryMs ?? PULL_RETRY_MIN_MS) * 2 ** Math.min(this.runFailures++, 30));
    this.runRetryTimer = setTimeout(() => {
      this.runRetryTimer = null;
      this.schedule();
    }, delay);
    this.runRetryTimer.unref?.();
  }

  private async run(): Promise<void> {
    const signal = this.controller.signal;
    // An unmounted or emptied folder: apply nothing into it (the scanner reports it too).
    await this.deps.checkRoot?.();
    let pass = 0;
    for (; pass < MAX_PASSES_PER_RUN && !this.stopped; pass++) {
      const full = this.fullPass;
      const locators = full ? this.planner.allLocators() : [...this.dirty];
      this.fullPass = false;
      this.dirty = new Set();
      if (locators.length === 0) break;
      const work = await this.planner.plan(locators, signal);
      // Syncing before the needs show: a status read in between must not see needs with nothing running.
      if (work.length > 0) this.setState('syncing');
      this.updateNeeds(work);
      if (work.length === 0) break;
      const passStarted = this.now();
      const again = await this.execute(work, signal);
      this.deps.logger?.debug({ paths: work.length, ms: this.now() - passStarted, again: again.length, parked: this.parked.size }, 'pull pass');
      this.examineAgain(again);
      if (this.dirty.size === 0 && !this.fullPass) break;
    }
    // Records that arrived during the last pass stay dirty: kick() starts the
    // next run at once (no timer), after a turn of the event loop.
    this.lastRunError = null;
    this.runFailures = 0;
    this.recountNeeds();
  }

  /**
   * Paths a pass must look at again (the disk changed under the apply, or a
   * delete freed their place). One that keeps changing (a file written
   * continuously) is parked after MAX_LOCAL_CHANGE_PASSES instead of spinning.
   */
  private examineAgain(again: readonly PathWork[]): void {
    for (const w of again) {
      const n = (this.againCount.get(w.locatorHex) ?? 0) + 1;
      if (n > MAX_LOCAL_CHANGE_PASSES) {
        this.againCount.delete(w.locatorHex);
        this.parked.park(w.locatorHex, w.winner.path, 'still changing locally', fetchBytes(w));
      } else {
        this.againCount.set(w.locatorHex, n);
        this.dirty.add(w.locatorHex);
      }
    }
  }

  /** A path that needs nothing now: it is no longer parked (its record was replaced, or it arrived another way). */
  private settled(lh: string): void {
    this.parked.clear(lh);
    this.againCount.delete(lh);
  }

  /** Needs of a pass: its work, and the parked paths it does not cover. */
  private updateNeeds(work: readonly PathWork[]): void {
    const inPass = new Set(work.map((w) => w.locatorHex));
    let parkedFiles = 0;
    let parkedBytes = 0;
    for (const p of this.parked.entries()) {
      if (inPass.has(p.locatorHex)) continue;
      parkedFiles++;
      parkedBytes += p.bytes;
    }
    this.needFiles = work.length + parkedFiles;
    this.needBytes = work.reduce((n, w) => n + fetchBytes(w), 0) + parkedBytes;
    this.deps.onStatus?.(this.status());
  }

  /** After a run: what is parked (and anything that arrived since, not sized yet). */
  private recountNeeds(): void {
    this.needFiles = this.parked.size + this.dirty.size;
    this.needBytes = this.parked.bytes();
    if (this.needFiles === 0) this.doneBytes = 0; // the next sync's progress starts from zero
    this.deps.onStatus?.(this.status());
  }

  /** Runs one pass; returns locators to examine again. */
  private async execute(work: PathWork[], signal: AbortSignal): Promise<PathWork[]> {
    const again: PathWork[] = [];
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
        const retry = w.action === 'conflict' ? await this.conflicts.resolve(w, signal) : await this.applyWinner(w, signal);
        if (retry) again.push(w);
        else this.againCount.delete(w.locatorHex);
        this.parked.clear(w.locatorHex);
        const bytes = fetchBytes(w);
        this.needBytes = Math.max(0, this.needBytes - bytes);
        this.needFiles = Math.max(0, this.needFiles - 1);
        this.doneBytes += bytes;
        this.rate.add(bytes);
      } catch (err) {
        if (signal.aborted || isSealsyncError(err, 'ERR_ABORTED')) return;
        this.parked.park(w.locatorHex, path, describeError(err), fetchBytes(w));
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
      await makeDirs(dirs, one);
      await this.flushRows();
      await this.feed.run(files, PULL_FILES_IN_FLIGHT, one, this.topUp(work, dirs, files, one, signal), signal);
      await this.flushRows();
      for (const w of conflicts) await one(w);
      const failedBefore = this.parked.size;
      let deleted = 0;
      for (const w of deletes) {
        await one(w);
        if (!this.parked.has(w.locatorHex)) deleted++;
      }
      // A directory emptied by these deletes may have blocked a file or link
      // that replaces it: look at what failed once more in the next pass.
      if (deleted > 0 && failedBefore > 0) {
        for (const w of [...dirs, ...files, ...conflicts]) if (this.parked.has(w.locatorHex)) again.push(w);
      }
    } finally {
      await this.flushRows();
    }
    return again;
  }

  /**
   * Where a pass's files phase finds more work: records that arrived since the
   * pass began, planned at once. Only a batch of plain fetches joins the pass
   * (its directories made first, shallow first); one with a delete or conflict,
   * and a path already in the pass, waits for the next pass, so the order of a
   * pass (files, then conflicts, then deletes) still holds for every path in it.
   */
  private topUp(work: readonly PathWork[], dirs: PathWork[], files: PathWork[], one: (w: PathWork) => Promise<void>, signal: AbortSignal) {
    const taken = new Set(work.map((w) => w.locatorHex));
    const until = this.now() + PASS_TOP_UP_MS;
    const fresh = () => [...this.dirty].filter((lh) => !taken.has(lh));
    // Asked each time a worker runs dry: stops at the first untaken locator instead of listing them all.
    const anyFresh = () => {
      for (const lh of this.dirty) if (!taken.has(lh)) return true;
      return false;
    };
    return {
      ready: () => !this.fullPass && !this.stopped && this.dirty.size > 0 && this.now() < until && anyFresh(),
      more: async (): Promise<PathWork[]> => {
        const locators = fresh();
        for (const lh of locators) {
          taken.add(lh);
          this.dirty.delete(lh);
        }
        const more = await this.planner.plan(locators, signal);
        if (more.some((w) => w.action !== 'fetch')) {
          for (const w of more) this.dirty.add(w.locatorHex);
          return [];
        }
        this.needFiles += more.length;
        this.needBytes += more.reduce((n, w) => n + fetchBytes(w), 0);
        this.deps.onStatus?.(this.status());
        const newDirs = more.filter((w) => w.winner.kind === 'dir').sort((a, b) => depth(a.winner.path) - depth(b.winner.path));
        await makeDirs(newDirs, one);
        dirs.push(...newDirs);
        const newFiles = more.filter((w) => w.winner.kind !== 'dir');
        files.push(...newFiles);
        return newFiles;
      },
    };
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
    const makeRoom = this.deps.makeRoom;
    // A full disk: the archive gives up old versions and the write is tried once more (apply-room.ts).
    let res: ApplyResult;
    try {
      res = await retryAfterMakingRoom(() => applyRecord(root, record, {
        known,
        archive,
        fetchBlock: this.fetchWithBudget,
        onBlockWritten: this.releaseBlock,
        hashBlock: this.deps.hashBlock,
        now: () => new Date(this.now()),
        signal,
        // Batched applies leave the directory fsync to flushRows(), once per directory.
        ...(batched ? { syncDir: (dir: string) => void this.dirsToSync.add(dir) } : {}),
      }), makeRoom ? () => makeRoom(record.size) : undefined);
    } catch (err) {
      this.keptTemps.failed(root, record);
      throw err;
    }
    await this.keptTemps.settled(root, record);
    if (res.status === 'applied' && res.archived) this.deps.onArchived?.(res.archived, record);
    return res;
  }

  /** Adds a landed path's row to the batch: written at ROWS_PER_FLUSH rows, or ROWS_FLUSH_MAX_MS after the first. */
  private async queueRow(row: LocalFileInput): Promise<void> {
    this.pendingRows.push(row);
    if (this.pendingRows.length >= ROWS_PER_FLUSH) return this.flushRows();
    this.rowsTimer ??= setTimeout(() => {
      this.rowsTimer = null;
      this.flushRows().catch((err) => this.deps.logger?.warn({ err: describeError(err) }, 'recording pulled files failed'));
    }, ROWS_FLUSH_MAX_MS);
  }

  /**
   * Makes the renames of batched applies durable (one fsync per directory)
   * and then records them in the index in one transaction: the index never
   * claims a state that a crash could still undo.
   */
  private async flushRows(): Promise<void> {
    if (this.rowsTimer) clearTimeout(this.rowsTimer);
    this.rowsTimer = null;
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
        await this.queueRow({ record: w.winner, ...diskFields(st), localChange: false });
        return false;
      }
    }
    // Replacing a file by the same bytes (only its mtime or mode differ) keeps nothing worth archiving.
    const sameBytes = w.local !== undefined && !w.local.record.deleted && w.local.record.kind === 'file' && sameContent(w.local.record, w.winner);
    const res = await this.applyTo(this.deps.root, w.winner, this.known(w.local), signal, true, !sameBytes);
    if (res.status === 'conflict') return this.onLocalChange(w, res.reason, signal);
    const existed = w.local !== undefined && !w.local.record.deleted;
    this.deps.onApplied?.(w.winner.path, w.winner.deleted ? 'deleted' : existed ? 'modified' : 'added', w.winner);
    if (w.versions.length === 0) {
      // revert of a local addition: the path has no global record at all
      this.deps.index.forgetFile(this.deps.folder, w.winner.path);
      return false;
    }
    const record = w.winner;
    let st: Stats | null = res.stat ?? null;
    if (st === null && !record.deleted) st = await lstatOrNull(await resolveSafe(this.deps.root, record.path));
    await this.queueRow({ record, ...diskFields(st), localChange: false });
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

}

/** Directories sorted shallow first: each depth DIRS_IN_FLIGHT at a time, after the one above it. */
async function makeDirs(dirs: readonly PathWork[], one: (w: PathWork) => Promise<void>): Promise<void> {
  for (let i = 0; i < dirs.length; ) {
    let j = i + 1;
    while (j < dirs.length && depth(dirs[j]!.winner.path) === depth(dirs[i]!.winner.path)) j++;
    await runLimited(dirs.slice(i, j), DIRS_IN_FLIGHT, one);
    i = j;
  }
}

/** Bytes a path's work still has to transfer (a file fetched; nothing otherwise). */
function fetchBytes(w: PathWork): number {
  return w.action === 'fetch' && w.winner.kind === 'file' ? w.winner.size : 0;
}
