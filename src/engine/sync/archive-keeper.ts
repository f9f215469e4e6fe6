/**
 * The archive's retention for one full folder: age (retentionDays), a size
 * bound (the folder's maxMiB, by default a share of its disk) and the
 * free-space margin (fs/archive-prune.ts). Old versions never block new data:
 *
 * - clean(): the periodic pass (and after a retention change): copies past
 *   their age, then the size bound and the margin.
 * - noteArchived(): a copy was just added; the bound and the margin are
 *   checked ARCHIVE_CHECK_DELAY_MS later (one check for a burst), or
 *   ARCHIVE_CHECK_DUTY_FACTOR times the last walk's duration if longer.
 * - makeRoom(bytes): a write failed for space (ENOSPC); the oldest copies go
 *   until `bytes` plus the margin are free. The caller retries once.
 *
 * Passes run one at a time (a burst of failed writes waits for one pruning
 * pass, then finds the space). Every removal by size or space is logged and
 * reported through onPruned (the daemon's event log).
 */
import { describeError, SealsyncError } from '../../errors.js';
import { cleanArchive } from '../../fs/archive.js';
import { DEFAULT_RETENTION_DAYS } from '../../model/retention.js';
import { diskSpace, minFreeBytes, pruneArchive, type PruneReason, type PruneResult } from '../../fs/archive-prune.js';
import type { Logger } from '../../logger.js';

/** How long after a copy was archived the size bound and the margin are checked… */
export const ARCHIVE_CHECK_DELAY_MS = 1000;
/** …and at least this many times the last pass's duration later (a pass walks the whole archive). */
export const ARCHIVE_CHECK_DUTY_FACTOR = 10;

/** What one pruning pass removed, for the event log. */
export interface ArchivePruned {
  readonly removed: number;
  readonly freedBytes: number;
  readonly reason: PruneReason;
  /** Version of the newest copy removed (`YYYYMMDD-HHMMSS[-n]`): everything older of it is gone too. */
  readonly newestRemoved: string;
  /** What the archive still holds. */
  readonly kept: number;
  readonly keptBytes: number;
}

export interface ArchiveKeeperDeps {
  readonly root: string;
  readonly log: Logger;
  readonly now: () => number;
  /** Archive paths of removed copies (their notes in the index go). */
  readonly forget?: (archivePaths: string[]) => void;
  readonly onPruned?: (p: ArchivePruned) => void;
}

export class ArchiveKeeper {
  private days = DEFAULT_RETENTION_DAYS;
  private maxBytes = 0;
  private chain: Promise<unknown> = Promise.resolve();
  private checkTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private lastPassMs = 0;

  constructor(private readonly deps: ArchiveKeeperDeps, days = DEFAULT_RETENTION_DAYS, maxBytes = 0) {
    this.setRetention(days, maxBytes);
  }

  setRetention(days: number, maxBytes: number): void {
    if (!Number.isFinite(days) || days < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', "'retentionDays' must be a non-negative number");
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new SealsyncError('ERR_INVALID_ARGUMENT', "'maxBytes' must be a non-negative number");
    this.days = days;
    this.maxBytes = maxBytes;
  }

  get retention(): { days: number; maxBytes: number } {
    return { days: this.days, maxBytes: this.maxBytes };
  }

  /** Leaves no timer; a pass under way finishes (it only removes archived copies). */
  stop(): Promise<void> {
    this.stopped = true;
    if (this.checkTimer) clearTimeout(this.checkTimer);
    this.checkTimer = null;
    return this.chain.then(() => undefined, () => undefined);
  }

  start(): void {
    this.stopped = false;
  }

  /** Copies past their age, then the size bound and the margin. Never throws. */
  clean(): Promise<void> {
    return this.serial(async () => {
      const aged = await cleanArchive(this.deps.root, new Date(this.deps.now()), this.days);
      if (aged.removed > 0) this.deps.log.info({ removed: aged.removed, days: this.days }, 'archive: copies past retention removed');
      await this.prune(0);
    }, 'archive cleanup failed');
  }

  /** A copy was just archived: check the bound and the margin soon. */
  noteArchived(): void {
    if (this.stopped || this.checkTimer) return;
    this.checkTimer = setTimeout(() => {
      this.checkTimer = null;
      void this.serial(async () => { await this.prune(0); }, 'archive check failed');
    }, Math.max(ARCHIVE_CHECK_DELAY_MS, this.lastPassMs * ARCHIVE_CHECK_DUTY_FACTOR));
    this.checkTimer.unref?.();
  }

  /**
   * A write of `bytes` failed for space: removes the oldest copies until that
   * much plus the margin is free. True when a retry can succeed (something was
   * removed, or another pass already made the room).
   */
  async makeRoom(bytes: number): Promise<boolean> {
    let ok = false;
    await this.serial(async () => {
      // Another pass (a burst of failed writes) may have made the room already: no walk then.
      const disk = await diskSpace(this.deps.root);
      if (disk.free >= bytes + minFreeBytes(disk)) {
        ok = true;
        return;
      }
      const r = await this.prune(Math.max(0, bytes));
      ok = r.freedBytes > 0 || (await diskSpace(this.deps.root)).free >= bytes;
    }, 'archive pruning for space failed');
    return ok;
  }

  private async prune(needBytes: number): Promise<PruneResult> {
    const started = performance.now();
    const r = await pruneArchive(this.deps.root, { maxBytes: this.maxBytes, needBytes });
    this.lastPassMs = performance.now() - started;
    if (r.removed.length > 0 && r.reason !== null) {
      const newest = r.removed[r.removed.length - 1]!;
      const pruned: ArchivePruned = { removed: r.removed.length, freedBytes: r.freedBytes, reason: r.reason, newestRemoved: newest.version, kept: r.kept, keptBytes: r.keptBytes };
      this.deps.log.info({ ...pruned, needBytes }, 'archive: oldest versions removed');
      this.deps.forget?.(r.removed.map((c) => c.archivePath));
      this.deps.onPruned?.(pruned);
    }
    return r;
  }

  /** Runs `fn` after every earlier pass; logs instead of throwing. */
  private serial(fn: () => Promise<void>, what: string): Promise<void> {
    const run = this.chain.then(fn).catch((err: unknown) => this.deps.log.warn({ err: describeError(err) }, what));
    this.chain = run;
    return run;
  }
}
