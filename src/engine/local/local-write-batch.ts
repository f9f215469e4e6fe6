/**
 * Collects the scanner's index writes and commits them in batches (one
 * SQLite transaction per BATCH_MAX_FILES changes or BATCH_MAX_MS), so a scan
 * of many files costs few fsyncs. Each file row is committed together with
 * its sealed record, so a crash never leaves one without the other.
 */
import type { Index } from '../../index/index.js';
import type { LocalFileInput, RecordInput } from '../../index/types.js';

/** Changes committed per transaction during a scan. */
export const BATCH_MAX_FILES = 500;
/** Longest a change waits before its batch is committed. */
export const BATCH_MAX_MS = 200;

export interface PendingWrite {
  readonly file: LocalFileInput;
  readonly sealed?: RecordInput;
}

export class LocalWriteBatch {
  private items: PendingWrite[] = [];
  private readonly paths = new Set<string>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly index: Index,
    private readonly folder: number,
    /**
     * Called after each commit with the last record sequence written (0 if no
     * record was sealed) and the first (one transaction: the range is contiguous).
     */
    private readonly onCommit: (lastSeq: number, count: number, firstSeq: number) => void,
    /** Called when a timer-driven commit fails (the caller's own flush() calls throw instead). */
    private readonly onError: (err: unknown) => void,
    /**
     * Paths another writer (the puller) is replacing right now: a scan result
     * for them is stale by the time it would commit, so it is dropped.
     */
    private readonly isBusy: (path: string) => boolean = () => false,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** True when a write for `path` waits in this batch (commit before computing its next version). */
  has(path: string): boolean {
    return this.paths.has(path);
  }

  add(write: PendingWrite): void {
    this.items.push(write);
    this.paths.add(write.file.record.path);
    if (this.items.length >= BATCH_MAX_FILES) {
      this.flush();
    } else if (this.timer === null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        try {
          this.flush();
        } catch (err) {
          this.onError(err);
        }
      }, BATCH_MAX_MS);
    }
  }

  /** Commits everything pending in one transaction. Synchronous (better-sqlite3). */
  flush(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    if (this.items.length === 0) return;
    const items = this.items.filter((w) => !this.isBusy(w.file.record.path));
    this.items = [];
    this.paths.clear();
    if (items.length === 0) return;
    let lastSeq = 0;
    let firstSeq = 0;
    this.index.transaction(() => {
      for (const w of items) {
        const seq = this.index.writeLocalFile(this.folder, w.file, w.sealed);
        if (seq > lastSeq) lastSeq = seq;
        if (seq > 0 && (firstSeq === 0 || seq < firstSeq)) firstSeq = seq;
      }
    });
    this.onCommit(lastSeq, items.length, firstSeq);
  }

  /** Drops pending writes without committing (used when the engine is torn down). */
  discard(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.items = [];
    this.paths.clear();
  }
}
