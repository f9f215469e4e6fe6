/**
 * Paths the puller could not sync yet ("parked"), with their real path, the
 * reason and when they are tried again.
 *
 * Retries back off per path from fast to slow: PULL_RETRY_MIN_MS after the
 * first failure, doubling up to PULL_RETRY_MAX_MS. One timer is armed for the
 * earliest due path; a new peer (retryAllNow) makes every path due at once. A
 * path leaves the list when it is applied, or when a later pass finds it
 * needs nothing (its record was replaced, the file arrived another way).
 */
import { MAX_PARKED_REPORTED, type ParkedPath } from '../peer/status-schema.js';

/** First retry of a failed path (a block that was not there yet often is a moment later). */
export const PULL_RETRY_MIN_MS = 250;
/** Slowest retry of a path that keeps failing. */
export const PULL_RETRY_MAX_MS = 30_000;

interface Parked {
  readonly locatorHex: string;
  readonly path: string;
  reason: string;
  attempts: number;
  /** Bytes the path still needs (its file size), for needBytes. */
  bytes: number;
  dueAt: number;
}

export class ParkedPaths {
  private readonly byLocator = new Map<string, Parked>();
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;
  private stopped = true;

  /** `onDue` gets the locators whose retry time has come. */
  constructor(
    private readonly onDue: (locatorHexes: string[]) => void,
    private readonly now: () => number,
    private readonly minMs: number = PULL_RETRY_MIN_MS,
    private readonly maxMs: number = PULL_RETRY_MAX_MS,
  ) {}

  start(): void {
    this.stopped = false;
    this.arm();
  }

  /** Leaves no timer; the list stays (a restart of the puller tries it again). */
  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  get size(): number {
    return this.byLocator.size;
  }

  has(locatorHex: string): boolean {
    return this.byLocator.has(locatorHex);
  }

  /** Records one more failure of a path; its next try backs off. */
  park(locatorHex: string, path: string, reason: string, bytes: number): void {
    const old = this.byLocator.get(locatorHex);
    const attempts = (old?.attempts ?? 0) + 1;
    const delay = Math.min(this.maxMs, this.minMs * 2 ** Math.min(attempts - 1, 30));
    this.byLocator.set(locatorHex, { locatorHex, path, reason, attempts, bytes, dueAt: this.now() + delay });
    this.arm();
  }

  /** The path is done (applied, or needs nothing now). */
  clear(locatorHex: string): void {
    if (this.byLocator.delete(locatorHex) && this.byLocator.size === 0) this.disarm();
  }

  /** A peer joined: it may have what was missing, so try everything now (the backoff stays). */
  retryAllNow(): string[] {
    // Being tried now: no timer for them until the pass parks them again.
    for (const p of this.byLocator.values()) p.dueAt = Infinity;
    this.disarm();
    return [...this.byLocator.keys()];
  }

  /** Every parked path's locator and bytes. */
  entries(): IterableIterator<{ readonly locatorHex: string; readonly bytes: number }> {
    return this.byLocator.values();
  }

  bytes(): number {
    let n = 0;
    for (const p of this.byLocator.values()) n += p.bytes;
    return n;
  }

  /** The first MAX_PARKED_REPORTED, for status. */
  report(): ParkedPath[] {
    const out: ParkedPath[] = [];
    for (const p of this.byLocator.values()) {
      if (out.length >= MAX_PARKED_REPORTED) break;
      out.push({ path: p.path, reason: p.reason, attempts: p.attempts, nextAttemptAt: this.stopped || p.dueAt === Infinity ? null : p.dueAt });
    }
    return out;
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private arm(): void {
    if (this.stopped || this.byLocator.size === 0) return;
    let earliest = Infinity;
    for (const p of this.byLocator.values()) earliest = Math.min(earliest, p.dueAt);
    if (earliest === Infinity) return;
    if (this.timer && this.timerAt <= earliest) return;
    this.disarm();
    this.timerAt = earliest;
    this.timer = setTimeout(() => {
      this.timer = null;
      const t = this.now();
      const due = [...this.byLocator.values()].filter((p) => p.dueAt <= t);
      for (const p of due) p.dueAt = Infinity; // being tried: the pass parks it again or clears it
      if (due.length > 0) this.onDue(due.map((p) => p.locatorHex));
      this.arm();
    }, Math.max(0, earliest - this.now()));
    this.timer.unref?.();
  }
}
